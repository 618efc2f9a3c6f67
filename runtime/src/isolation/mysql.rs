//! MySQL/MariaDB: the tenant column compares exactly.
//!
//! MySQL has no row-level security: confinement is the `WHERE` clause, and a collation that
//! equates `acme` with `ACME` (`*_ci`), `ácme` (`*_ai_*`) or a full-width `ａｃｍｅ` lets one
//! tenant's id select another's rows.

use sqlx::{MySql, MySqlConnection, Pool};

use super::{IsolationFinding, TenantTable};

/// Whether the table (`?`) is in the current database.
const TABLE: &str = "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ?";

/// The column (`?` of table `?`): its name as declared, type, character set, collation and
/// nullability. Cast to CHAR: MySQL 8 reports these columns as binary strings.
const COLUMN: &str = "SELECT CAST(COLUMN_NAME AS CHAR), CAST(COLUMN_TYPE AS CHAR), CAST(CHARACTER_SET_NAME AS CHAR),
        CAST(COLLATION_NAME AS CHAR), CAST(IS_NULLABLE AS CHAR)
   FROM information_schema.COLUMNS
  WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? AND COLUMN_NAME = ?";

type Column = (String, String, Option<String>, Option<String>, String);

pub(crate) async fn audit(pool: &Pool<MySql>, tables: &[TenantTable]) -> Result<Vec<IsolationFinding>, sqlx::Error> {
    let mut conn = pool.acquire().await?;
    let conn: &mut MySqlConnection = &mut conn;
    let mut findings = Vec::new();
    for table in tables {
        let count: i64 = sqlx::query_scalar(TABLE).bind(&table.name).fetch_one(&mut *conn).await?;
        if count == 0 {
            findings.push(IsolationFinding::MissingTable { table: table.name.clone() });
            continue;
        }
        let Some(column) = &table.tenant_column else { continue };
        let found: Option<Column> =
            sqlx::query_as(COLUMN).bind(&table.name).bind(column).fetch_optional(&mut *conn).await?;
        match found {
            None => findings
                .push(IsolationFinding::MissingTenantColumn { table: table.name.clone(), column: column.clone() }),
            Some(found) => findings.extend(check_column(&table.name, found)),
        }
    }
    Ok(findings)
}

/// A finding unless the column's comparison is exact.
fn check_column(table: &str, (column, column_type, charset, collation, nullable): Column) -> Option<IsolationFinding> {
    // No collation: a number, a binary string or another type compared by value.
    let collation = collation?;
    if is_exact(&collation) {
        return None;
    }
    let charset = charset.unwrap_or_else(|| collation.split('_').next().unwrap_or("utf8mb4").to_string());
    let not_null = if nullable.eq_ignore_ascii_case("NO") { " NOT NULL" } else { "" };
    let fix = format!(
        "ALTER TABLE {} MODIFY {} {column_type} CHARACTER SET {charset} COLLATE {charset}_bin{not_null}",
        ident(table),
        ident(&column)
    );
    Some(IsolationFinding::InexactCollation { table: table.into(), column, collation, fix })
}

/// Binary, or accent- and case-sensitive (`utf8mb4_0900_as_cs`, MariaDB's `uca1400_as_cs`).
fn is_exact(collation: &str) -> bool {
    let c = collation.to_ascii_lowercase();
    c == "binary" || c.ends_with("_bin") || c.contains("_as_cs")
}

/// A MySQL identifier, quoted.
fn ident(name: &str) -> String {
    format!("`{}`", name.replace('`', "``"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn column(collation: Option<&str>, nullable: &str) -> Column {
        (
            "tenant_id".into(),
            "varchar(64)".into(),
            collation.map(|_| "utf8mb4".into()),
            collation.map(Into::into),
            nullable.into(),
        )
    }

    #[test]
    fn only_binary_and_accent_and_case_sensitive_collations_are_exact() {
        for exact in ["utf8mb4_bin", "utf8mb4_nopad_bin", "binary", "utf8mb4_0900_as_cs", "uca1400_as_cs"] {
            assert!(check_column("t", column(Some(exact), "NO")).is_none(), "{exact}");
        }
        assert!(check_column("t", column(None, "NO")).is_none(), "a number has no collation");
        for inexact in ["utf8mb4_general_ci", "utf8mb4_unicode_ci", "utf8mb4_uca1400_ai_cs", "utf8mb4_0900_ai_ci"] {
            assert!(check_column("t", column(Some(inexact), "NO")).is_some(), "{inexact}");
        }
    }

    #[test]
    fn the_fix_keeps_the_type_and_nullability() {
        let finding = check_column("my`t", column(Some("utf8mb4_general_ci"), "YES")).unwrap();
        assert_eq!(
            finding.fix(),
            "ALTER TABLE `my``t` MODIFY `tenant_id` varchar(64) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"
        );
        let finding = check_column("t", column(Some("utf8mb4_general_ci"), "NO")).unwrap();
        assert!(finding.fix().ends_with("COLLATE utf8mb4_bin NOT NULL"));
    }
}
