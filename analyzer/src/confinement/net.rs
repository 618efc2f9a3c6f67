//! The safety net: table references the walk did not see, and functions whose effect
//! the rules cannot see.

use super::*;

/// Table functions that read no table: safe to use in FROM of a scoped statement.
pub(super) const PURE_TABLE_FUNCTIONS: &[&str] = &[
    "unnest",
    "generate_series",
    "json_each",
    "json_tree",
    "jsonb_each",
    "jsonb_each_text",
    "json_each_text",
    "jsonb_array_elements",
    "jsonb_array_elements_text",
    "json_array_elements",
    "json_array_elements_text",
    "jsonb_to_recordset",
    "json_to_recordset",
    "regexp_split_to_table",
    "string_to_table",
    "json_table",
];

/// Functions that read tables the walk cannot see (they take SQL as text, or a table by
/// name), or change what a pooled connection carries to its next user: why, and the fix.
pub(super) const OPAQUE_FUNCTIONS: &[(&str, &str, &str)] = &[
    ("query_to_xml", SQL_TEXT, QUERY_TABLES),
    ("query_to_xmlschema", SQL_TEXT, QUERY_TABLES),
    ("query_to_xml_and_xmlschema", SQL_TEXT, QUERY_TABLES),
    ("cursor_to_xml", "reads a cursor opened elsewhere", QUERY_TABLES),
    ("table_to_xml", BY_NAME, QUERY_TABLES),
    ("table_to_xmlschema", BY_NAME, QUERY_TABLES),
    ("table_to_xml_and_xmlschema", BY_NAME, QUERY_TABLES),
    ("schema_to_xml", BY_NAME, QUERY_TABLES),
    ("schema_to_xml_and_xmlschema", BY_NAME, QUERY_TABLES),
    ("database_to_xml", BY_NAME, QUERY_TABLES),
    ("database_to_xml_and_xmlschema", BY_NAME, QUERY_TABLES),
    ("ts_stat", SQL_TEXT, QUERY_TABLES),
    ("dblink", SQL_TEXT, QUERY_TABLES),
    ("dblink_exec", SQL_TEXT, QUERY_TABLES),
    ("dblink_open", SQL_TEXT, QUERY_TABLES),
    ("dblink_send_query", SQL_TEXT, QUERY_TABLES),
    (
        "set_config",
        "changes a session setting (such as the row-level security tenant) that outlives the statement",
        "let tenantry set the tenant, and configure other settings at pool setup",
    ),
    ("load_extension", "loads code into the connection", "load extensions at pool setup"),
];
pub(super) const SQL_TEXT: &str = "runs SQL given as text";
pub(super) const BY_NAME: &str = "reads whole tables given by name";
pub(super) const QUERY_TABLES: &str = "query the tables themselves, each confined with its tenant column `= :tenant`";

/// Whether a table name is one of the database's catalogs or statistics (`pg_stats`,
/// `information_schema.tables`, `sqlite_master`, `mysql.user`): never tenant data, never
/// shared, since they describe and sample every tenant's rows.
pub(super) fn is_catalog(backend: Backend, parts: &[Ident]) -> bool {
    let lower: Vec<String> = parts.iter().map(|p| p.value.to_lowercase()).collect();
    let schema = lower.len().checked_sub(2).map(|i| lower[i].as_str());
    let name = lower.last().map(String::as_str).unwrap_or("");
    match backend {
        // pg_catalog comes first in every search path, so an unqualified `pg_*` name is
        // the catalog's.
        Backend::Postgres => {
            matches!(schema, Some("pg_catalog" | "information_schema" | "pg_toast")) || name.starts_with("pg_")
        }
        Backend::MySql => {
            matches!(schema, Some("information_schema" | "mysql" | "performance_schema" | "sys"))
                || name == "information_schema"
        }
        // Names starting with `sqlite_` are reserved for SQLite's own tables.
        Backend::Sqlite => {
            name.starts_with("sqlite_")
                || name == "dbstat"
                || matches!(schema, Some("temp") if name.starts_with("sqlite_"))
        }
    }
}

impl Checker<'_> {
    // ----- the safety net ----------------------------------------------------------

    /// Every table reference must have been seen by the walk: one that was not sits in
    /// a construct the rules do not cover, and nothing is proven about it.
    pub(super) fn unseen_relations(&mut self, statement: &Statement) {
        struct Relations(Vec<ObjectName>);
        impl Visitor for Relations {
            type Break = ();
            fn pre_visit_relation(&mut self, r: &ObjectName) -> ControlFlow<()> {
                self.0.push(r.clone());
                ControlFlow::Continue(())
            }
        }
        let mut v = Relations(Vec::new());
        let _ = statement.visit(&mut v);
        for r in v.0 {
            let Some(ident) = r.0.first().and_then(|p| p.as_ident()) else { continue };
            let at = (ident.span.start.line, ident.span.start.column);
            if !self.seen_relations.contains(&at) && !self.schema.is_shared(&last_part(&r)) {
                self.problem(
                    format!("table `{}` is used in a construct tenantry cannot check for confinement", unquoted(&r)),
                    "rewrite the statement with plain SELECT/JOIN/subqueries, or move it to an `#[unscoped(reason = \"...\")]` method".to_string(),
                    locate(self.sql, ident.span),
                );
            }
        }
    }

    /// Functions whose effect the rules cannot see, wherever they are called.
    pub(super) fn opaque_functions(&mut self, statement: &Statement) {
        struct Calls(Vec<ObjectName>);
        impl Visitor for Calls {
            type Break = ();
            fn pre_visit_expr(&mut self, e: &Expr) -> ControlFlow<()> {
                if let Expr::Function(f) = e {
                    self.0.push(f.name.clone());
                }
                ControlFlow::Continue(())
            }
        }
        let mut v = Calls(Vec::new());
        let _ = statement.visit(&mut v);
        for name in v.0 {
            let Some((_, why, fix)) = OPAQUE_FUNCTIONS.iter().find(|(f, ..)| same_name(f, &last_part(&name))) else {
                continue;
            };
            self.problem(
                format!("function `{}` {why}, which tenantry cannot check", unquoted(&name)),
                fix.to_string(),
                locate(self.sql, name.span()),
            );
        }
    }

    pub(super) fn touched_owned(&self, statement: &Statement) -> bool {
        struct Owned<'a>(&'a Schema, bool);
        impl Visitor for Owned<'_> {
            type Break = ();
            fn pre_visit_relation(&mut self, r: &ObjectName) -> ControlFlow<()> {
                if !self.0.is_shared(&last_part(r)) {
                    self.1 = true;
                }
                ControlFlow::Continue(())
            }
        }
        let mut v = Owned(self.schema, false);
        let _ = statement.visit(&mut v);
        v.1
    }
}
