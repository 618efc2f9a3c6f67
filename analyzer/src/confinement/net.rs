//! The safety net: table references the walk did not see, and functions whose effect
//! the rules cannot see.

use super::*;

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

/// Every table reference of the statement, wherever it stands.
pub(super) fn relations(statement: &Statement) -> Vec<ObjectName> {
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
    v.0
}

impl Checker<'_> {
    // ----- the safety net ----------------------------------------------------------

    /// Every table reference must have been seen by the walk: one that was not sits in
    /// a construct the rules do not cover, and nothing is proven about it.
    pub(super) fn unseen_relations(&mut self, statement: &Statement) {
        for r in relations(statement) {
            let Some(ident) = r.0.first().and_then(|p| p.as_ident()) else { continue };
            let at = (ident.span.start.line, ident.span.start.column);
            let parts: Vec<Ident> = r.0.iter().filter_map(|p| p.as_ident().cloned()).collect();
            if !self.seen_relations.contains(&at) && self.relation_kind(&parts) != RelationKind::Shared {
                self.problem(Rule::Uncheckable,
                    format!("table `{}` is used in a construct tenantry cannot check for confinement", unquoted(&r)),
                    "rewrite the statement with plain SELECT/JOIN/subqueries, or move it to an `#[unscoped(reason = \"...\")]` method".to_string(),
                    locate(self.sql, ident.span),
                );
            }
        }
    }

    /// Functions whose effect the rules cannot see, wherever they are called.
    /// Every function call must be on the dialect's allow-list (see [`crate::functions`])
    /// or opted in with `allow_functions(...)`; an opted-in function may do anything, so
    /// the statement counts as a write. User variables (MySQL's `@x`, `@@x`) carry values
    /// from one tenant to the next on a pooled connection and are refused too.
    pub(super) fn functions_and_variables(&mut self, statement: &Statement) {
        struct Calls<'a> {
            calls: Vec<&'a sqlparser::ast::Function>,
            variables: Vec<&'a Ident>,
        }
        impl<'a> Calls<'a> {
            fn expr(&mut self, e: &'a Expr) {
                match e {
                    Expr::Function(f) => self.calls.push(f),
                    Expr::Identifier(id) if id.quote_style.is_none() && id.value.starts_with('@') => {
                        self.variables.push(id)
                    }
                    Expr::CompoundIdentifier(p) if p[0].quote_style.is_none() && p[0].value.starts_with('@') => {
                        self.variables.push(&p[0])
                    }
                    _ => {}
                }
            }
        }
        // The visitor hands out short-lived references; collect owned copies of the names.
        struct Walk(Vec<Expr>);
        impl Visitor for Walk {
            type Break = ();
            fn pre_visit_expr(&mut self, e: &Expr) -> ControlFlow<()> {
                if matches!(e, Expr::Function(_) | Expr::Identifier(_) | Expr::CompoundIdentifier(_)) {
                    self.0.push(e.clone());
                }
                ControlFlow::Continue(())
            }
        }
        let mut walk = Walk(Vec::new());
        let _ = statement.visit(&mut walk);
        let mut found = Calls { calls: Vec::new(), variables: Vec::new() };
        for e in &walk.0 {
            found.expr(e);
        }
        for id in found.variables {
            self.problem(
                Rule::Variable,
                format!(
                    "variable `{}` lives on the connection, which a pool hands from one tenant to the next",
                    id.value
                ),
                "pass the value as an argument of the method (`:name`)".to_string(),
                locate(self.sql, id.span),
            );
        }
        for f in found.calls {
            self.function(f);
        }
    }

    fn function(&mut self, f: &sqlparser::ast::Function) {
        let parts: Vec<&Ident> = f.name.0.iter().filter_map(|p| p.as_ident()).collect();
        let written = unquoted(&f.name);
        let span = locate(self.sql, f.name.span());
        let opted_in = self.schema.allowed_functions.iter().any(|a| {
            let declared: Vec<&str> = a.split('.').collect();
            declared.len() == parts.len()
                && parts.iter().zip(&declared).all(|(p, d)| {
                    names::compare_stored(self.backend, Kind::Column, p, &d.to_lowercase()) == Match::Same
                        || names::compare_stored(self.backend, Kind::Column, p, d) == Match::Same
                })
        });
        // A function of another schema is the user's own, and may read anything.
        let builtin = match parts.as_slice() {
            [name] => Some(*name),
            [schema, name] if self.backend == Backend::Postgres && schema.value.eq_ignore_ascii_case("pg_catalog") => {
                Some(*name)
            }
            _ => None,
        };
        let lookup = builtin.map(|n| match self.backend {
            Backend::Postgres => names::stored(self.backend, n),
            // SQLite and MySQL compare function names without case, quoted or not.
            _ => n.value.to_lowercase(),
        });
        if opted_in {
            // A known built-in writes when it is one of the writing ones; a function
            // tenantry does not know may do anything.
            let known = lookup.as_deref().filter(|n| functions::refusal_reason(self.backend, n).is_some());
            self.opted_in_call |= known.is_none_or(|n| functions::writes(self.backend, n));
            return;
        }
        // `ARRAY(SELECT ...)` is parsed as a call; its subquery is walked like any other.
        let array_subquery = self.backend == Backend::Postgres
            && lookup.as_deref() == Some("array")
            && matches!(&f.args, sqlparser::ast::FunctionArguments::Subquery(_));
        if array_subquery || lookup.as_deref().is_some_and(|n| functions::is_allowed(self.backend, n)) {
            return;
        }
        let why = lookup.as_deref().and_then(|n| functions::refusal_reason(self.backend, n));
        let allow = f.name.to_string();
        let (problem, fix) = match why {
            Some(why) => {
                let fix = if why.contains("SQL given as text") || why.contains("by name") || why.contains("cursor") {
                    format!(
                        "query the tables themselves, each confined with its tenant column `{} = :tenant`",
                        self.tc_sql()
                    )
                } else if why.contains("session") {
                    "remove the call: tenantry sets the tenant itself, and other settings belong in the pool's connection setup".to_string()
                } else {
                    "remove the call, or move the statement to an `#[unscoped(reason = \"...\")]` method".to_string()
                };
                (format!("function `{written}` {why}, which tenantry cannot check"), fix)
            }
            // A built-in of another dialect: the statement was written for that one.
            None if let Some(other) = lookup.as_deref().and_then(|n| {
                Backend::ALL.into_iter().find(|b| *b != self.backend && functions::is_allowed(*b, n))
            }) =>
            {
                (
                    format!(
                        "function `{written}` is a {} built-in, not a {} one",
                        crate::backend_title(other),
                        crate::backend_title(self.backend)
                    ),
                    format!(
                        "write the statement with {}'s own functions, or list in `backends(...)` only the backends it runs on",
                        crate::backend_title(self.backend)
                    ),
                )
            }
            None => (
                format!(
                    "function `{written}` is not a {} built-in that tenantry knows to read nothing but its arguments",
                    crate::backend_title(self.backend)
                ),
                format!(
                    "if it reads only its arguments, allow it on the trait with `allow_functions({allow})` (a statement calling a function tenantry does not know counts as a write); otherwise select from the tables themselves, confined with `= :tenant`"
                ),
            ),
        };
        self.problem(Rule::Function, problem, fix, span);
    }

    pub(super) fn touched_owned(&self, statement: &Statement) -> bool {
        relations(statement).iter().any(|r| {
            let parts: Vec<Ident> = r.0.iter().filter_map(|p| p.as_ident().cloned()).collect();
            self.relation_kind(&parts) != RelationKind::Shared
        })
    }
}
