//! PostgreSQL: row-level security on every table, and a role that cannot bypass it.

use sqlx::{PgConnection, Pool, Postgres};

use super::{IsolationFinding, TenantTable, pg_ident};

/// The role the connection runs as: `current_user`, which `SET ROLE` changes (and
/// which row-level security applies to).
const ROLE: &str =
    "SELECT current_user::text, r.rolsuper, r.rolbypassrls FROM pg_roles r WHERE r.rolname = current_user";

/// The table (`$1` its schema, or NULL for the one the `search_path` finds), its flags,
/// its owner and whether the current role has the owner's privileges.
const TABLE: &str = "SELECT c.oid::int8, c.relrowsecurity, c.relforcerowsecurity, pg_get_userbyid(c.relowner)::text,
        pg_has_role(current_user, c.relowner, 'USAGE')
   FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
  WHERE c.relkind IN ('r', 'p') AND c.relname = $2
    AND CASE WHEN $1::text IS NULL THEN pg_table_is_visible(c.oid) ELSE n.nspname = $1 END";

/// The type of the table's column `$2`, as SQL spells it.
const COLUMN: &str = "SELECT format_type(a.atttypid, a.atttypmod) FROM pg_attribute a
  WHERE a.attrelid = $1::int8::oid AND a.attname = $2 AND a.attnum > 0 AND NOT a.attisdropped";

/// The table's policies that apply to the current role (to PUBLIC, or to a role it is a
/// member of), with their expressions.
const POLICIES: &str = "SELECT p.polname::text, p.polpermissive, pg_get_expr(p.polqual, p.polrelid),
        pg_get_expr(p.polwithcheck, p.polrelid)
   FROM pg_policy p
  WHERE p.polrelid = $1::int8::oid
    AND EXISTS (SELECT 1 FROM unnest(p.polroles) AS r(oid)
                 WHERE CASE WHEN r.oid = 0 THEN true ELSE pg_has_role(current_user, r.oid, 'MEMBER') END)
  ORDER BY p.polname";

pub(crate) async fn audit(pool: &Pool<Postgres>, tables: &[TenantTable]) -> Result<Vec<IsolationFinding>, sqlx::Error> {
    // One read-only transaction of unnamed statements: behind a transaction pooler
    // (PgBouncer) every statement then runs on one server connection, and none leaves a
    // prepared statement behind on a server other clients share.
    let mut tx = pool.begin_with("BEGIN READ ONLY").await?;
    let conn: &mut PgConnection = &mut tx;
    let findings = audit_on(conn, tables).await?;
    tx.rollback().await?;
    Ok(findings)
}

async fn audit_on(conn: &mut PgConnection, tables: &[TenantTable]) -> Result<Vec<IsolationFinding>, sqlx::Error> {
    let mut findings = Vec::new();
    let (role, superuser, bypass): (String, bool, bool) =
        sqlx::query_as(ROLE).persistent(false).fetch_one(&mut *conn).await?;
    // A superuser bypasses everything: its BYPASSRLS and ownership are not said again.
    if superuser {
        findings.push(IsolationFinding::Superuser { role: role.clone() });
    } else if bypass {
        findings.push(IsolationFinding::BypassesRowSecurity { role: role.clone() });
    }
    for table in tables {
        let (schema, name) = match table.name.split_once('.') {
            Some((schema, name)) => (Some(schema), name),
            None => (None, table.name.as_str()),
        };
        let found: Option<(i64, bool, bool, String, bool)> =
            sqlx::query_as(TABLE).persistent(false).bind(schema).bind(name).fetch_optional(&mut *conn).await?;
        let Some((oid, enabled, forced, owner, owns)) = found else {
            findings.push(IsolationFinding::MissingTable { table: table.name.clone() });
            continue;
        };
        let column = match &table.tenant_column {
            Some(column) => {
                let ty: Option<String> = sqlx::query_scalar(COLUMN)
                    .persistent(false)
                    .bind(oid)
                    .bind(column)
                    .fetch_optional(&mut *conn)
                    .await?;
                let Some(ty) = ty else {
                    findings.push(IsolationFinding::MissingTenantColumn {
                        table: table.name.clone(),
                        column: column.clone(),
                    });
                    continue;
                };
                Some((column.as_str(), ty))
            }
            None => None,
        };
        if !enabled {
            findings.push(IsolationFinding::RowSecurityDisabled { table: table.name.clone() });
        } else if !forced {
            findings.push(IsolationFinding::RowSecurityNotForced { table: table.name.clone() });
        }
        let policies: Vec<(String, bool, Option<String>, Option<String>)> =
            sqlx::query_as(POLICIES).persistent(false).bind(oid).fetch_all(&mut *conn).await?;
        check_policies(&table.name, column.as_ref().map(|(c, ty)| (*c, ty.as_str())), &policies, &mut findings);
        if owns && !superuser {
            findings.push(IsolationFinding::OwnsTable { table: table.name.clone(), role: role.clone(), owner });
        }
    }
    Ok(findings)
}

/// A table with a tenant column needs a policy confining it, and no permissive one that
/// does not; a child table needs some policy.
fn check_policies(
    table: &str,
    column: Option<(&str, &str)>,
    policies: &[(String, bool, Option<String>, Option<String>)],
    findings: &mut Vec<IsolationFinding>,
) {
    let Some((column, ty)) = column else {
        if policies.is_empty() {
            findings.push(IsolationFinding::MissingPolicy {
                table: table.into(),
                column: None,
                existing: Vec::new(),
                example: format!(
                    "CREATE POLICY tenant_isolation ON {} USING (<owning key> IN (SELECT <key> FROM <parent> \
                     WHERE <tenant column> = current_setting('app.tenant', true)));",
                    pg_ident(table)
                ),
            });
        }
        return;
    };
    let confines = |(_, _, using, check): &(String, bool, Option<String>, Option<String>)| {
        let exprs: Vec<&String> = using.iter().chain(check).collect();
        !exprs.is_empty() && exprs.iter().all(|e| confines(e, column))
    };
    if !policies.iter().any(confines) {
        let cast = if matches!(ty, "text" | "character varying" | "name") || ty.starts_with("character varying(") {
            String::new()
        } else {
            format!("::{ty}")
        };
        let test = format!("{} = current_setting('app.tenant', true){cast}", pg_ident(column));
        findings.push(IsolationFinding::MissingPolicy {
            table: table.into(),
            column: Some(column.into()),
            existing: policies.iter().map(|p| p.0.clone()).collect(),
            example: format!(
                "CREATE POLICY tenant_isolation ON {} USING ({test}) WITH CHECK ({test});",
                pg_ident(table)
            ),
        });
    }
    for policy in policies.iter().filter(|p| p.1 && !confines(p)) {
        findings.push(IsolationFinding::UnconfinedPolicy {
            table: table.into(),
            column: column.into(),
            policy: policy.0.clone(),
        });
    }
}

/// Whether a policy expression, as PostgreSQL prints it, mentions the column and reads a
/// setting.
fn confines(expr: &str, column: &str) -> bool {
    let plain = column.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    let name = if plain { column.to_string() } else { pg_ident(column) };
    let word = |b: u8| b.is_ascii_alphanumeric() || b == b'_' || b == b'$' || b >= 0x80;
    let bytes = expr.as_bytes();
    let mentioned = expr.match_indices(&name).any(|(at, _)| {
        let end = at + name.len();
        (at == 0 || !word(bytes[at - 1]) || !plain) && (end == bytes.len() || !word(bytes[end]) || !plain)
    });
    mentioned && expr.contains("current_setting(")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_policy_confines_when_it_compares_the_column_to_a_setting() {
        assert!(confines("(tenant_id = current_setting('app.tenant'::text, true))", "tenant_id"));
        assert!(confines("((tenant_id)::text = current_setting('app.tenant'::text))", "tenant_id"));
        assert!(confines("(\"Tenant\" = current_setting('app.tenant'::text))", "Tenant"));
        assert!(!confines("(tenant_id_old = current_setting('app.tenant'::text))", "tenant_id"));
        assert!(!confines("(old_tenant_id = current_setting('app.tenant'::text))", "tenant_id"));
        assert!(!confines("(tenant_id = 'acme'::text)", "tenant_id"));
        assert!(!confines("true", "tenant_id"));
    }

    #[test]
    fn a_permissive_policy_that_does_not_confine_is_reported() {
        let confining = ("own".to_string(), true, Some("(tenant_id = current_setting('t'::text))".into()), None);
        let open = ("everyone".to_string(), true, Some("true".into()), None);
        let restrictive = ("narrow".to_string(), false, Some("(id > 0)".into()), None);
        let mut findings = Vec::new();
        check_policies("pages", Some(("tenant_id", "bigint")), &[confining, open, restrictive], &mut findings);
        assert_eq!(findings.len(), 1, "{findings:?}");
        assert_eq!(
            findings[0].to_string(),
            "policy `everyone` on table `pages` is permissive and does not compare `tenant_id` to \
             current_setting(..): every tenant sees the rows it admits; fix: drop it (`DROP POLICY \"everyone\" \
             ON \"pages\";`), make it `AS RESTRICTIVE`, or make its USING and WITH CHECK compare \"tenant_id\" to \
             current_setting(..)"
        );
    }

    #[test]
    fn the_example_policy_casts_the_setting_to_the_column_type() {
        let mut findings = Vec::new();
        check_policies("pages", Some(("tenant_id", "bigint")), &[], &mut findings);
        check_policies("notes", Some(("tenant_id", "text")), &[], &mut findings);
        assert_eq!(
            findings[0].fix(),
            "CREATE POLICY tenant_isolation ON \"pages\" USING (\"tenant_id\" = current_setting('app.tenant', \
             true)::bigint) WITH CHECK (\"tenant_id\" = current_setting('app.tenant', true)::bigint);"
        );
        assert!(findings[1].fix().contains("USING (\"tenant_id\" = current_setting('app.tenant', true))"));
    }
}
