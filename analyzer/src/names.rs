//! How each database compares names: the first step of resolving a reference.
//!
//! * **PostgreSQL** folds an unquoted identifier to lower case and keeps a quoted one as
//!   written: `Orders` and `orders` are one table, `"Orders"` is another. That holds for
//!   tables, CTEs, aliases and columns alike; every name is cut to 63 bytes.
//! * **SQLite** compares every identifier, quoted or not, without ASCII case.
//! * **MySQL/MariaDB** compare column names (and column aliases) without case. Table names,
//!   table aliases and CTE names follow the server's `lower_case_table_names`: compared
//!   with case on Linux by default, without case elsewhere. tenantry cannot see that
//!   setting, so two such names that differ only in case are *uncertain*, and a reference
//!   whose meaning depends on it is refused.
//!
//! Names from the configuration (the tenant column, `shared(...)` tables) are the names as
//! the database stores them: `tenant_column = "tenantId"` is the column created as
//! `"tenantId"`, which an unquoted `tenantId` does not name in PostgreSQL.

use sqlparser::ast::Ident;

use crate::Backend;

/// What kind of object a name denotes, which decides how MySQL compares it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// Tables, table aliases, CTE names and schemas.
    Relation,
    /// Columns and column aliases.
    Column,
}

/// The outcome of comparing two names as the database would.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Match {
    /// The database takes them for one name.
    Same,
    /// The database takes them for two names.
    Different,
    /// A server setting decides (MySQL's `lower_case_table_names`).
    Uncertain,
}

/// The name the database looks up for `ident`: PostgreSQL folds unquoted names.
pub(crate) fn stored(backend: Backend, ident: &Ident) -> String {
    match backend {
        Backend::Postgres => {
            let folded =
                if ident.quote_style.is_none() { ident.value.to_ascii_lowercase() } else { ident.value.clone() };
            // PostgreSQL cuts every identifier to NAMEDATALEN - 1 = 63 bytes.
            let mut end = folded.len().min(63);
            while !folded.is_char_boundary(end) {
                end -= 1;
            }
            folded[..end].to_string()
        }
        _ => ident.value.clone(),
    }
}

/// Compares a name written in the statement with a name as stored (the configuration's,
/// or another reference's [`stored`] form).
pub(crate) fn compare_stored(backend: Backend, kind: Kind, written: &Ident, stored_name: &str) -> Match {
    compare_values(backend, kind, &stored(backend, written), stored_name)
}

/// Compares two names written in the statement.
pub(crate) fn compare(backend: Backend, kind: Kind, a: &Ident, b: &Ident) -> Match {
    compare_values(backend, kind, &stored(backend, a), &stored(backend, b))
}

pub(crate) fn compare_values(backend: Backend, kind: Kind, a: &str, b: &str) -> Match {
    if a == b {
        return Match::Same;
    }
    match backend {
        Backend::Postgres => Match::Different,
        // SQLite folds ASCII letters only.
        Backend::Sqlite if a.eq_ignore_ascii_case(b) => Match::Same,
        Backend::Sqlite => Match::Different,
        Backend::MySql => {
            let folded = a.to_lowercase() == b.to_lowercase();
            match kind {
                Kind::Column if a.eq_ignore_ascii_case(b) => Match::Same,
                // Column names compare under the server's collation, which may also fold
                // non-ASCII letters: not provably the same, not provably different.
                Kind::Column if folded || !a.is_ascii() || !b.is_ascii() => Match::Uncertain,
                Kind::Column => Match::Different,
                Kind::Relation if folded => Match::Uncertain,
                Kind::Relation if !a.is_ascii() || !b.is_ascii() => Match::Uncertain,
                Kind::Relation => Match::Different,
            }
        }
    }
}

/// Writes `name` (as stored) so that the database reads it back as that name: quoted
/// when folding or the grammar would change it, quoted as `like` is when given.
pub(crate) fn quoted(backend: Backend, name: &str, like: Option<&Ident>) -> String {
    let plain = name.chars().next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !is_keyword(name);
    let needs = match backend {
        Backend::Postgres => !plain || name.chars().any(|c| c.is_ascii_uppercase()),
        Backend::Sqlite | Backend::MySql => !plain,
    };
    let quote = like.and_then(|i| i.quote_style);
    if !needs && quote.is_none() {
        return name.to_string();
    }
    let (open, close) = match quote {
        Some('[') => ('[', ']'),
        Some(q) => (q, q),
        None if backend == Backend::MySql => ('`', '`'),
        None => ('"', '"'),
    };
    let escaped = if open == close { name.replace(close, &format!("{close}{close}")) } else { name.to_string() };
    format!("{open}{escaped}{close}")
}

/// A few reserved words that are plausible column names; quoting them keeps a fix valid.
fn is_keyword(name: &str) -> bool {
    const RESERVED: &[&str] = &[
        "all", "and", "as", "by", "case", "check", "column", "default", "desc", "from", "group", "in", "key", "limit",
        "not", "null", "or", "order", "select", "table", "to", "user", "where",
    ];
    RESERVED.iter().any(|k| k.eq_ignore_ascii_case(name))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ident(s: &str) -> Ident {
        match s.strip_prefix('"').and_then(|s| s.strip_suffix('"')) {
            Some(inner) => Ident::with_quote('"', inner),
            None => match s.strip_prefix('`').and_then(|s| s.strip_suffix('`')) {
                Some(inner) => Ident::with_quote('`', inner),
                None => Ident::new(s),
            },
        }
    }

    #[test]
    fn postgres_folds_only_unquoted_names() {
        let pg = Backend::Postgres;
        assert_eq!(compare(pg, Kind::Relation, &ident("Orders"), &ident("orders")), Match::Same);
        assert_eq!(compare(pg, Kind::Relation, &ident("\"Orders\""), &ident("orders")), Match::Different);
        assert_eq!(compare(pg, Kind::Column, &ident("\"orders\""), &ident("ORDERS")), Match::Same);
        assert_eq!(compare_stored(pg, Kind::Column, &ident("tenantId"), "tenantId"), Match::Different);
        assert_eq!(compare_stored(pg, Kind::Column, &ident("\"tenantId\""), "tenantId"), Match::Same);
    }

    #[test]
    fn postgres_cuts_names_to_63_bytes() {
        let long = "a".repeat(63);
        let pg = Backend::Postgres;
        assert_eq!(compare(pg, Kind::Relation, &ident(&format!("{long}x")), &ident(&format!("{long}y"))), Match::Same);
        assert_eq!(
            compare(Backend::Sqlite, Kind::Relation, &ident(&format!("{long}x")), &ident(&format!("{long}y"))),
            Match::Different
        );
    }

    #[test]
    fn sqlite_ignores_ascii_case_even_when_quoted() {
        let lite = Backend::Sqlite;
        assert_eq!(compare(lite, Kind::Relation, &ident("\"Orders\""), &ident("orders")), Match::Same);
        assert_eq!(compare(lite, Kind::Column, &ident("É"), &ident("é")), Match::Different);
    }

    #[test]
    fn mysql_table_case_depends_on_the_server() {
        let my = Backend::MySql;
        assert_eq!(compare(my, Kind::Relation, &ident("`Orders`"), &ident("orders")), Match::Uncertain);
        assert_eq!(compare(my, Kind::Relation, &ident("orders"), &ident("`orders`")), Match::Same);
        assert_eq!(compare(my, Kind::Column, &ident("Tenant_ID"), &ident("tenant_id")), Match::Same);
        assert_eq!(compare(my, Kind::Column, &ident("tenant_íd"), &ident("tenant_id")), Match::Uncertain);
    }

    #[test]
    fn fixes_quote_names_the_database_would_fold() {
        assert_eq!(quoted(Backend::Postgres, "tenant_id", None), "tenant_id");
        assert_eq!(quoted(Backend::Postgres, "tenantId", None), "\"tenantId\"");
        assert_eq!(quoted(Backend::MySql, "tenant id", None), "`tenant id`");
        assert_eq!(quoted(Backend::Sqlite, "tenantId", None), "tenantId");
        assert_eq!(quoted(Backend::Sqlite, "tenant_id", Some(&ident("\"x\""))), "\"tenant_id\"");
    }
}
