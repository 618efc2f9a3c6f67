//! What kind of statement it is: the one SELECT, INSERT, UPDATE or DELETE a method may hold.

use super::*;

pub(crate) struct Shape {
    pub kind: StatementKind,
    pub writes: bool,
    pub returns_rows: bool,
    pub at_most_one_row: bool,
}

/// Classifies a statement, refusing anything that is not SELECT/INSERT/UPDATE/DELETE.
pub(crate) fn shape(statement: &Statement, sql: &str, schema: &Schema, backend: Backend) -> Result<Shape, Violation> {
    match statement {
        Statement::Query(q) => {
            // `WITH ... INSERT/UPDATE/DELETE`: the statement is the DML after the CTEs, and
            // returns rows only with RETURNING.
            if let SetExpr::Insert(dml) | SetExpr::Update(dml) | SetExpr::Delete(dml) = q.body.as_ref() {
                return shape(dml, sql, schema, backend);
            }
            let writes = query_writes(q);
            if let SetExpr::Select(s) = q.body.as_ref()
                && s.into.is_some()
            {
                return Err(Violation::new(
                    Rule::Statement,
                    "`SELECT ... INTO` creates a table: schema changes do not belong in a repository",
                    "select the rows without `INTO`, and create tables in a migration",
                    locate(sql, s.span()),
                ));
            }
            Ok(Shape { kind: StatementKind::Select, writes, returns_rows: true, at_most_one_row: one_row_query(q) })
        }
        Statement::Insert(i) => {
            // One VALUES row (or MySQL's `SET`) inserts, and so returns, at most one row.
            let one = match &i.source {
                Some(q) => matches!(q.body.as_ref(), SetExpr::Values(v) if v.rows.len() == 1),
                None => !i.assignments.is_empty(),
            };
            Ok(Shape {
                kind: StatementKind::Insert,
                writes: true,
                returns_rows: i.returning.is_some(),
                at_most_one_row: one,
            })
        }
        // The parser takes it, the server does not: MariaDB returns rows from INSERT and
        // DELETE only, MySQL from none; refused here rather than at run time.
        Statement::Update(u) if backend == Backend::MySql && u.returning.is_some() => Err(Violation::new(
            Rule::Statement,
            "`UPDATE ... RETURNING` does not run on MySQL or MariaDB (MariaDB returns rows from INSERT and DELETE only)",
            "return `u64` (rows affected) and read the row with a SELECT in the same transaction",
            locate(sql, u.span()),
        )),
        Statement::Update(u) => Ok(Shape {
            kind: StatementKind::Update,
            writes: true,
            returns_rows: u.returning.is_some(),
            at_most_one_row: false,
        }),
        Statement::Delete(d) => Ok(Shape {
            kind: StatementKind::Delete,
            writes: true,
            returns_rows: d.returning.is_some(),
            at_most_one_row: false,
        }),
        other => {
            let keyword = statement_keyword(other);
            Err(Violation::new(
                Rule::Statement,
                format!(
                    "`{keyword}` is not allowed in a repository: a method holds one SELECT, INSERT, UPDATE or DELETE"
                ),
                refused_statement_fix(&keyword, &crate::names::quoted(backend, &schema.tenant_column, None)),
                locate(sql, other.span()),
            ))
        }
    }
}

/// What to write instead of a statement a repository method cannot hold.
pub(super) fn refused_statement_fix(keyword: &str, tc: &str) -> String {
    let fix = match keyword.split_whitespace().next().unwrap_or("") {
        "TRUNCATE" => return format!("delete one tenant's rows with `DELETE FROM ... WHERE {tc} = :tenant`"),
        "MERGE" => {
            return format!(
                "write it as an upsert (`INSERT ... ON CONFLICT ({tc}, ...) DO UPDATE`) or as a confined UPDATE and INSERT"
            );
        }
        "CREATE" | "ALTER" | "DROP" | "GRANT" | "REVOKE" | "COMMENT" | "RENAME" => {
            "run schema changes and session settings in migrations or at connection setup, not in a repository method"
        }
        "SET" | "RESET" | "USE" | "PRAGMA" | "ATTACH" | "DETACH" | "DISCARD" => {
            "configure connections at pool setup (tenantry sets the tenant itself), not in a repository method"
        }
        "BEGIN" | "START" | "COMMIT" | "ROLLBACK" | "SAVEPOINT" | "RELEASE" | "END" => {
            "open a transaction from the scope (`db.begin(&scope)`) and call the methods with it"
        }
        "CALL" | "DO" => "tenantry cannot see the SQL a procedure runs: write its statements as repository methods",
        "PREPARE" | "EXECUTE" | "DEALLOCATE" => {
            "tenantry prepares the statement itself: write the SQL in `#[sql(...)]`"
        }
        "EXPLAIN" => "run EXPLAIN by hand on the statement, not from a repository method",
        "SHOW" | "DESCRIBE" | "DESC" => "inspect the schema and settings by hand, not from a repository method",
        "VACUUM" | "ANALYZE" | "OPTIMIZE" | "REINDEX" | "CLUSTER" => {
            "run maintenance from a migration or a scheduled job, not from a repository method"
        }
        "COPY" => {
            return format!(
                "read rows with `SELECT ... WHERE {tc} = :tenant`; bulk loads do not belong in a repository"
            );
        }
        _ => "run it outside repository methods; a method holds one SELECT, INSERT, UPDATE or DELETE",
    };
    fix.to_string()
}

/// Whether a query provably returns at most one row: `LIMIT 1`, no FROM, or only
/// aggregates without GROUP BY (`SELECT COUNT(*) ...`). Generated code then reads one row
/// instead of checking for a second.
pub(super) fn one_row_query(q: &Query) -> bool {
    if let Some(LimitClause::LimitOffset { limit: Some(limit), .. }) = &q.limit_clause
        && limit.to_string() == "1"
    {
        return true;
    }
    let SetExpr::Select(s) = q.body.as_ref() else { return false };
    let grouped = !matches!(&s.group_by, GroupByExpr::Expressions(v, _) if v.is_empty());
    if s.from.is_empty() && !grouped {
        return true;
    }
    !grouped
        && s.having.is_none()
        && !s.projection.is_empty()
        && s.projection.iter().all(|item| match item {
            SelectItem::UnnamedExpr(e) | SelectItem::ExprWithAlias { expr: e, .. } => is_aggregate(e),
            _ => false,
        })
}

/// `count(..)`, `sum(..)`, ... (also under a cast or `COALESCE(sum(..), 0)`).
pub(super) fn is_aggregate(e: &Expr) -> bool {
    const AGGREGATES: &[&str] = &[
        "count",
        "sum",
        "avg",
        "min",
        "max",
        "total",
        "bool_and",
        "bool_or",
        "every",
        "string_agg",
        "group_concat",
        "array_agg",
        "json_agg",
        "jsonb_agg",
        "json_group_array",
        "json_object_agg",
        "jsonb_object_agg",
    ];
    match strip_nested(e) {
        Expr::Function(f) if f.over.is_none() => {
            let name = last_part(&f.name);
            if AGGREGATES.iter().any(|a| same_name(a, &name)) {
                return true;
            }
            ["coalesce", "ifnull"].iter().any(|c| same_name(c, &name))
                && function_args(f).first().is_some_and(|first| is_aggregate(first))
        }
        Expr::Cast { expr, .. } => is_aggregate(expr),
        _ => false,
    }
}

pub(super) fn statement_keyword(statement: &Statement) -> String {
    let text = statement.to_string();
    let mut words = text.split_whitespace();
    let first = words.next().unwrap_or("").to_ascii_uppercase();
    match first.as_str() {
        "CREATE" | "ALTER" | "DROP" => format!("{first} {}", words.next().unwrap_or("").to_ascii_uppercase()),
        _ => first,
    }
}

pub(super) fn query_writes(q: &Query) -> bool {
    struct Dml(bool);
    impl Visitor for Dml {
        type Break = ();
        fn pre_visit_statement(&mut self, s: &Statement) -> ControlFlow<()> {
            if matches!(s, Statement::Insert(_) | Statement::Update(_) | Statement::Delete(_) | Statement::Merge(_)) {
                self.0 = true;
                return ControlFlow::Break(());
            }
            ControlFlow::Continue(())
        }
    }
    let mut v = Dml(false);
    let _ = q.visit(&mut v);
    v.0
}
