//! The confinement rules: when is a statement provably limited to one tenant's rows?
//!
//! A statement is confined when every reference to a tenant-owned table — in every FROM,
//! JOIN, subquery, CTE, LATERAL, set-operation branch, `UPDATE ... FROM` and
//! `DELETE ... USING` — is constrained by `<its tenant column> = :tenant` as a top-level
//! AND-conjunct of a WHERE or of a JOIN ON that filters that table, or by equality to the
//! tenant column of a table that is already confined (or a CTE or derived-table column
//! that provably holds the tenant; `JOIN ... USING (tenant_id)` is such an equality).
//! `:tenant` may be cast only to a type that keeps every value. On top of that:
//!
//! * `INSERT` names the tenant column and gives it `:tenant` in every row; `INSERT ...
//!   SELECT` takes it from `:tenant` or a confined tenant column and reads only confined
//!   sources;
//! * `UPDATE` never assigns the tenant column; an upsert either conflicts on a target that
//!   includes the tenant column or guards its update by the tenant; `REPLACE` (which deletes
//!   whatever row it collides with) is refused;
//! * shared tables may be read but not written by a scoped statement;
//! * only SELECT/INSERT/UPDATE/DELETE are allowed, one per method.
//!
//! Anything the rules cannot prove is refused: the checker walks the AST clause by clause,
//! and a final pass makes sure that every table reference in the statement was seen by
//! that walk, so that a construct it does not know cannot hide a table, and that no
//! function reads tables the walk cannot see (SQL as text, a table by name) or changes
//! the session.
//!
//! Which side of a join a condition filters matters: a condition in the ON of a
//! `LEFT JOIN` filters only the joined (right) table — the left side keeps all its rows —
//! a `RIGHT JOIN`'s ON filters only the left side, a `FULL JOIN`'s ON filters neither. A
//! WHERE condition filters everything in its FROM.

use std::collections::HashSet;
use std::ops::ControlFlow;

use sqlparser::ast::{
    AssignmentTarget, BinaryOperator, ConflictTarget, Cte, DataType, Delete, Expr, FromTable, GroupByExpr, InTarget, Insert,
    JoinConstraint, JoinOperator, LimitClause, ObjectName, OnConflictAction, OnInsert, Query, Select, SelectItem,
    SelectItemQualifiedWildcardKind, SetExpr, SetOperator, Spanned, SqliteOnConflict, Statement, TableFactor,
    TableObject, TableWithJoins, Update, UpdateTableFromKind, Value, Visit, Visitor,
};
use sqlparser::tokenizer::{Location, Span};

use crate::{Backend, Schema, StatementKind, TENANT_PLACEHOLDER, Violation, same_name};

/// Table functions that read no table: safe to use in FROM of a scoped statement.
const PURE_TABLE_FUNCTIONS: &[&str] = &[
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
const OPAQUE_FUNCTIONS: &[(&str, &str, &str)] = &[
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
const SQL_TEXT: &str = "runs SQL given as text";
const BY_NAME: &str = "reads whole tables given by name";
const QUERY_TABLES: &str = "query the tables themselves, each confined with its tenant column `= :tenant`";

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
                format!(
                    "`{keyword}` is not allowed in a repository: a method holds one SELECT, INSERT, UPDATE or DELETE"
                ),
                refused_statement_fix(&keyword, &schema.tenant_column),
                locate(sql, other.span()),
            ))
        }
    }
}

/// What to write instead of a statement a repository method cannot hold.
fn refused_statement_fix(keyword: &str, tc: &str) -> String {
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
fn one_row_query(q: &Query) -> bool {
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
fn is_aggregate(e: &Expr) -> bool {
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

fn statement_keyword(statement: &Statement) -> String {
    let text = statement.to_string();
    let mut words = text.split_whitespace();
    let first = words.next().unwrap_or("").to_ascii_uppercase();
    match first.as_str() {
        "CREATE" | "ALTER" | "DROP" => format!("{first} {}", words.next().unwrap_or("").to_ascii_uppercase()),
        _ => first,
    }
}

fn query_writes(q: &Query) -> bool {
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

/// Byte range of a statement in `sql`, for pointing at the second of stacked statements.
pub(crate) fn span_of_statement(statement: &Statement, sql: &str) -> Option<(usize, usize)> {
    locate(sql, statement.span())
}

/// Checks every confinement rule; returns every violation found.
pub(crate) fn check(
    statement: &Statement,
    sql: &str,
    schema: &Schema,
    backend: Backend,
    tenant_uses: usize,
) -> (Vec<Violation>, Vec<crate::TenantPredicate>) {
    let mut c = Checker {
        sql,
        schema,
        backend,
        problems: Vec::new(),
        tenant_reached: false,
        seen_relations: HashSet::new(),
        ctes: Vec::new(),
        tenant_predicates: Vec::new(),
    };
    c.statement(statement, &[], "");
    c.unseen_relations(statement);
    c.opaque_functions(statement);
    let confined_something = c.problems.is_empty() && c.tenant_reached;
    if tenant_uses == 0
        && let Some(first) = c.problems.iter_mut().find(|p| p.problem.contains("not confined"))
    {
        first.problem.push_str(" (the statement never uses `:tenant`)");
    }
    if tenant_uses > 0 && c.problems.is_empty() && !confined_something && !c.touched_owned(statement) {
        c.problems.push(Violation::new(
            "`:tenant` is used but never compared with a tenant column: the statement reads only shared tables",
            "drop `:tenant` from the statement, or compare it with a tenant-owned table's tenant column",
            None,
        ));
    } else if tenant_uses > 0 && c.problems.is_empty() && !c.tenant_reached {
        c.problems.push(Violation::new(
            "`:tenant` is used but never reaches a tenant column",
            format!("confine each tenant-owned table with `{} = :tenant`", schema.tenant_column),
            None,
        ));
    }
    c.tenant_predicates.sort_by_key(|p| p.start);
    (c.problems, c.tenant_predicates)
}

/// One table-like thing in a FROM: a base table, a CTE reference, a derived table or a
/// table function.
#[derive(Debug, Clone)]
struct Source {
    /// The name columns are qualified with (alias, else table name), lower case.
    binding: String,
    /// What to call it in a message: `customers c`.
    display: String,
    /// The clause it was introduced by: `FROM`, `LEFT JOIN`, ...
    clause: &'static str,
    kind: SourceKind,
    span: Option<(usize, usize)>,
    confined: bool,
    /// Its tenant column is merged by `JOIN ... USING (tenant_id)` into the one of a source
    /// to its left, which is what an unqualified `tenant_id` then means.
    merged: bool,
}

#[derive(Debug, Clone)]
enum SourceKind {
    /// A tenant-owned base table: must be confined.
    Owned,
    /// A shared base table: readable by everyone.
    Shared,
    /// A CTE reference or derived table, confined by its own analysis; the names are its
    /// output columns that provably hold the tenant.
    Derived(Vec<String>),
    /// A table function that reads no table.
    Function,
}

enum Conj<'a> {
    Expr(&'a Expr),
    /// `JOIN ... USING (tenant_id)` between two sources.
    UsingEq(usize, usize),
}

/// The conditions of one WHERE or JOIN ON, and which sources they filter.
struct Group<'a> {
    conjuncts: Vec<Conj<'a>>,
    filters: Vec<usize>,
    whole: Option<&'a Expr>,
    /// `WHERE` or the join keyword; for messages.
    clause: &'static str,
    /// The join's right-hand sources, for a fix that points at its ON.
    join_sources: Vec<usize>,
}

#[derive(Default)]
struct Level<'a> {
    sources: Vec<Source>,
    groups: Vec<Group<'a>>,
    /// Lateral derived tables and table-function arguments, analysed once the level's
    /// own confinement is known.
    lateral: Vec<(usize, &'a Query)>,
    /// Expressions whose subqueries are analysed with this level as outer scope, with
    /// what they are for messages: `a JOIN ON`, `table function `unnest``.
    exprs: Vec<(&'a Expr, String)>,
}

struct CteInfo {
    name: String,
    tenant_columns: Vec<String>,
}

/// Whether a query's output columns hold the tenant, for derived tables and CTEs.
#[derive(Debug, Clone, Default)]
struct Output {
    /// Output column names that provably equal the tenant.
    tenant_names: Vec<String>,
    /// Per position, whether it provably equals the tenant; `None` after a wildcard.
    positions: Option<Vec<bool>>,
}

struct Checker<'s> {
    sql: &'s str,
    schema: &'s Schema,
    backend: Backend,
    problems: Vec<Violation>,
    /// Whether some `:tenant` was consumed as a confining value.
    tenant_reached: bool,
    /// Start locations of every table reference the walk has seen.
    seen_relations: HashSet<(u64, u64)>,
    ctes: Vec<Vec<CteInfo>>,
    /// `<tenant column> = :tenant` conjuncts, for the set form of a read.
    tenant_predicates: Vec<crate::TenantPredicate>,
}

impl<'s> Checker<'s> {
    fn tc(&self) -> &str {
        &self.schema.tenant_column
    }

    /// Whether `e` is the `:tenant` placeholder, in parentheses or cast to a type that
    /// keeps every value as it is (see [`lossless_cast`]).
    fn is_tenant(&self, e: &Expr) -> bool {
        match e {
            Expr::Nested(inner) => self.is_tenant(inner),
            Expr::Cast { expr, data_type, .. } => lossless_cast(data_type, self.backend) && self.is_tenant(expr),
            Expr::Value(v) => {
                matches!(&v.value, Value::Placeholder(p) if p.strip_prefix(':') == Some(TENANT_PLACEHOLDER))
            }
            _ => false,
        }
    }

    fn problem(&mut self, problem: String, fix: String, span: Option<(usize, usize)>) {
        let v = Violation::new(problem, fix, span);
        if !self.problems.contains(&v) {
            self.problems.push(v);
        }
    }

    /// Checks one statement; returns what its rows (a query's, or DML's RETURNING) hold.
    fn statement(&mut self, statement: &Statement, outer: &[&[Source]], ctx: &str) -> Output {
        match statement {
            Statement::Query(q) => self.query(q, outer, ctx),
            Statement::Insert(i) => self.insert(i, outer, ctx),
            Statement::Update(u) => self.update(u, outer, ctx),
            Statement::Delete(d) => self.delete(d, outer, ctx),
            other => {
                let keyword = statement_keyword(other);
                self.problem(
                    format!("`{keyword}`{ctx} cannot be checked for confinement"),
                    "use SELECT, INSERT, UPDATE or DELETE".to_string(),
                    locate(self.sql, other.span()),
                );
                Output::default()
            }
        }
    }

    // ----- queries ------------------------------------------------------------------

    fn query(&mut self, q: &Query, outer: &[&[Source]], ctx: &str) -> Output {
        self.ctes.push(Vec::new());
        if let Some(with) = &q.with {
            for cte in &with.cte_tables {
                let name = cte.alias.name.value.to_ascii_lowercase();
                let cte_ctx = format!(" in CTE `{}`", cte.alias.name.value);
                if with.recursive {
                    // Checked for real under the assumption the induction proved, which
                    // is also what the rest of the statement may rely on.
                    let tenant_columns = self.recursive_tenant_columns(cte, outer, &cte_ctx);
                    self.ctes.last_mut().unwrap().push(CteInfo { name, tenant_columns });
                    self.query(&cte.query, outer, &cte_ctx);
                } else {
                    let out = self.query(&cte.query, outer, &cte_ctx);
                    self.ctes
                        .last_mut()
                        .unwrap()
                        .push(CteInfo { name, tenant_columns: renamed(out, &cte.alias.columns) });
                }
            }
        }
        let out = self.set_expr(&q.body, outer, ctx);
        let mut tail: Vec<Query> = Vec::new();
        if let Some(order_by) = &q.order_by {
            tail.extend(subqueries(order_by));
        }
        if let Some(limit) = &q.limit_clause {
            tail.extend(subqueries(limit));
        }
        for sub in &tail {
            self.query(sub, outer, &format!(" in a subquery of ORDER BY/LIMIT{ctx}"));
        }
        self.ctes.pop();
        out
    }

    /// The columns of a recursive CTE that hold the tenant, by induction: its
    /// non-recursive branches hold the tenant in some columns; assuming the rows read back
    /// from the CTE do too, the recursive branches must keep them. A column that a branch
    /// does not keep is dropped from the assumption, until the assumption holds. The dry
    /// runs report nothing: the caller checks the CTE for real with the result.
    fn recursive_tenant_columns(&mut self, cte: &Cte, outer: &[&[Source]], ctx: &str) -> Vec<String> {
        let name = cte.alias.name.value.to_ascii_lowercase();
        let before = self.problems.len();
        let mut branches = Vec::new();
        flatten_set_operation(&cte.query.body, &mut branches, &mut "UNION");
        let base: Vec<Output> =
            branches.into_iter().filter(|b| !reads_relation(b, &name)).map(|b| self.set_expr(b, outer, ctx)).collect();
        let mut assumed = if base.is_empty() { Vec::new() } else { renamed(intersect(base), &cte.alias.columns) };
        loop {
            self.ctes.last_mut().unwrap().push(CteInfo { name: name.clone(), tenant_columns: assumed.clone() });
            let kept = renamed(self.query(&cte.query, outer, ctx), &cte.alias.columns);
            self.ctes.last_mut().unwrap().pop();
            let before_len = assumed.len();
            assumed.retain(|c| kept.contains(c));
            if assumed.len() == before_len {
                break;
            }
        }
        self.problems.truncate(before);
        assumed
    }

    fn set_expr(&mut self, body: &SetExpr, outer: &[&[Source]], ctx: &str) -> Output {
        match body {
            SetExpr::Select(s) => self.select(s, outer, ctx),
            SetExpr::Query(q) => self.query(q, outer, ctx),
            SetExpr::SetOperation { .. } => {
                let mut branches = Vec::new();
                let mut op_name = "UNION";
                flatten_set_operation(body, &mut branches, &mut op_name);
                let mut outputs = Vec::new();
                for (n, branch) in branches.iter().enumerate() {
                    let branch_ctx = format!(" in {op_name} branch {}{ctx}", n + 1);
                    outputs.push(self.set_expr(branch, outer, &branch_ctx));
                }
                intersect(outputs)
            }
            SetExpr::Values(values) => {
                for row in &values.rows {
                    for e in &row.content {
                        for sub in subqueries(e) {
                            self.query(&sub, outer, &format!(" in a subquery of VALUES{ctx}"));
                        }
                    }
                }
                Output::default()
            }
            // A data-modifying CTE's RETURNING rows are read like a query's.
            SetExpr::Insert(s) | SetExpr::Update(s) | SetExpr::Delete(s) | SetExpr::Merge(s) => {
                self.statement(s, outer, ctx)
            }
            SetExpr::Table(t) => {
                let name = t.table_name.as_ref().map(|i| i.value.clone()).unwrap_or_default();
                // `TABLE schema.name` is the base table, never a CTE of that name.
                let cte = t.schema_name.is_none() && self.cte_columns(&name).is_some();
                if !cte && !self.schema.is_shared(&name) {
                    self.problem(
                        format!("`TABLE {name}`{ctx} reads every tenant's rows"),
                        format!("write `SELECT * FROM {name} WHERE {} = :tenant`", self.tc()),
                        None,
                    );
                }
                Output::default()
            }
        }
    }

    fn select(&mut self, select: &Select, outer: &[&[Source]], ctx: &str) -> Output {
        let mut level = Level::default();
        for (n, twj) in select.from.iter().enumerate() {
            let clause = if n == 0 { "FROM" } else { "FROM (comma join)" };
            self.table_with_joins(&mut level, twj, outer, ctx, clause);
        }
        if !select.lateral_views.is_empty() || select.prewhere.is_some() || !select.connect_by.is_empty() {
            self.problem(
                format!("a dialect-specific clause{ctx} (LATERAL VIEW, PREWHERE or CONNECT BY) cannot be checked"),
                "rewrite the query with standard joins and WHERE".to_string(),
                locate(self.sql, select.span()),
            );
        }
        let all: Vec<usize> = (0..level.sources.len()).collect();
        if let Some(selection) = &select.selection {
            level.groups.push(Group {
                conjuncts: conjuncts(selection).into_iter().map(Conj::Expr).collect(),
                filters: all,
                whole: Some(selection),
                clause: "WHERE",
                join_sources: Vec::new(),
            });
        }
        self.confine(&mut level, outer);
        self.report_unconfined(&level, outer, ctx, select.selection.is_some());

        let mut chain: Vec<&[Source]> = outer.to_vec();
        chain.push(&level.sources);
        self.lateral_and_nested(&level, &chain, ctx);

        // Subqueries anywhere else in the SELECT (projection, WHERE, HAVING, ...). The
        // FROM was walked above, so it is emptied out of this copy.
        let mut rest = select.clone();
        rest.from.clear();
        for sub in subqueries(&rest) {
            let where_ctx = format!(" in a subquery{ctx}");
            self.query(&sub, &chain, &where_ctx);
        }

        self.output(&select.projection, &level, outer)
    }

    fn lateral_and_nested(&mut self, level: &Level<'_>, chain: &[&[Source]], ctx: &str) {
        for (idx, q) in &level.lateral {
            let lateral_ctx = format!(" in LATERAL `{}`{ctx}", level.sources[*idx].display);
            self.query(q, chain, &lateral_ctx);
        }
        for (e, what) in &level.exprs {
            for sub in subqueries(*e) {
                self.query(&sub, chain, &format!(" in a subquery of {what}{ctx}"));
            }
        }
    }

    /// The output columns of a SELECT that hold the tenant.
    fn output(&self, projection: &[SelectItem], level: &Level<'_>, outer: &[&[Source]]) -> Output {
        let mut out = Output { tenant_names: Vec::new(), positions: Some(Vec::new()) };
        let wildcard_of = |s: &Source, names: &mut Vec<String>| match &s.kind {
            SourceKind::Owned if s.confined => names.push(self.tc().to_ascii_lowercase()),
            SourceKind::Derived(cols) => names.extend(cols.iter().cloned()),
            _ => {}
        };
        for item in projection {
            match item {
                SelectItem::UnnamedExpr(e) => {
                    let anchored = self.is_anchor(e, level, outer);
                    if anchored && let Some(name) = column_name(e) {
                        out.tenant_names.push(name);
                    }
                    if let Some(p) = &mut out.positions {
                        p.push(anchored);
                    }
                }
                SelectItem::ExprWithAlias { expr, alias } => {
                    let anchored = self.is_anchor(expr, level, outer);
                    if anchored {
                        out.tenant_names.push(alias.value.to_ascii_lowercase());
                    }
                    if let Some(p) = &mut out.positions {
                        p.push(anchored);
                    }
                }
                SelectItem::ExprWithAliases { .. } => out.positions = None,
                SelectItem::Wildcard(_) => {
                    for s in &level.sources {
                        wildcard_of(s, &mut out.tenant_names);
                    }
                    out.positions = None;
                }
                SelectItem::QualifiedWildcard(kind, _) => {
                    if let SelectItemQualifiedWildcardKind::ObjectName(name) = kind
                        && let Some(s) = level.sources.iter().find(|s| same_name(&s.binding, &last_part(name)))
                    {
                        wildcard_of(s, &mut out.tenant_names);
                    }
                    out.positions = None;
                }
            }
        }
        out
    }

    // ----- FROM ---------------------------------------------------------------------

    fn table_with_joins<'a>(
        &mut self,
        level: &mut Level<'a>,
        twj: &'a TableWithJoins,
        outer: &[&[Source]],
        ctx: &str,
        clause: &'static str,
    ) -> Vec<usize> {
        let mut left = self.table_factor(level, &twj.relation, outer, ctx, clause);
        for join in &twj.joins {
            let (clause, constraint, filters) = match &join.join_operator {
                JoinOperator::Join(c) | JoinOperator::Inner(c) => ("JOIN", c, Filters::Both),
                JoinOperator::CrossJoin(c) => ("CROSS JOIN", c, Filters::Both),
                JoinOperator::StraightJoin(c) => ("STRAIGHT_JOIN", c, Filters::Both),
                JoinOperator::Left(c) | JoinOperator::LeftOuter(c) => ("LEFT JOIN", c, Filters::Right),
                JoinOperator::Right(c) | JoinOperator::RightOuter(c) => ("RIGHT JOIN", c, Filters::Left),
                JoinOperator::FullOuter(c) => ("FULL JOIN", c, Filters::Neither),
                JoinOperator::Semi(c)
                | JoinOperator::LeftSemi(c)
                | JoinOperator::RightSemi(c)
                | JoinOperator::Anti(c)
                | JoinOperator::LeftAnti(c)
                | JoinOperator::RightAnti(c) => ("SEMI/ANTI JOIN", c, Filters::Neither),
                JoinOperator::AsOf { constraint, .. } => ("ASOF JOIN", constraint, Filters::Neither),
                JoinOperator::CrossApply => ("CROSS APPLY", &JoinConstraint::None, Filters::Both),
                JoinOperator::OuterApply => ("OUTER APPLY", &JoinConstraint::None, Filters::Right),
                JoinOperator::ArrayJoin | JoinOperator::LeftArrayJoin | JoinOperator::InnerArrayJoin => {
                    ("ARRAY JOIN", &JoinConstraint::None, Filters::Neither)
                }
            };
            let right = self.table_factor(level, &join.relation, outer, ctx, clause);
            let filtered: Vec<usize> = match filters {
                Filters::Both => left.iter().chain(&right).copied().collect(),
                Filters::Right => right.clone(),
                Filters::Left => left.clone(),
                Filters::Neither => Vec::new(),
            };
            match constraint {
                JoinConstraint::On(on) => {
                    level.exprs.push((on, format!("the {clause} ON")));
                    level.groups.push(Group {
                        conjuncts: conjuncts(on).into_iter().map(Conj::Expr).collect(),
                        filters: filtered,
                        whole: Some(on),
                        clause,
                        join_sources: right.clone(),
                    });
                }
                JoinConstraint::Using(columns) if columns.iter().any(|c| same_name(&last_part(c), self.tc())) => {
                    // The sides' tenant columns are equal. Each side shows one tenant column
                    // to the join (a source already merged into another shows none).
                    let (l, r) = (self.tenant_column_sources(&left, level), self.tenant_column_sources(&right, level));
                    let mut conj = Vec::new();
                    if let [l] = l[..] {
                        conj.extend(r.iter().map(|r| Conj::UsingEq(l, *r)));
                        // In an inner or left join, the merged column is the left side's
                        // value (right and full joins coalesce the sides, so it is neither).
                        if matches!(filters, Filters::Both | Filters::Right) {
                            for r in r {
                                level.sources[r].merged = true;
                            }
                        }
                    }
                    level.groups.push(Group {
                        conjuncts: conj,
                        filters: filtered,
                        whole: None,
                        clause,
                        join_sources: right.clone(),
                    });
                }
                _ => level.groups.push(Group {
                    conjuncts: Vec::new(),
                    filters: Vec::new(),
                    whole: None,
                    clause,
                    join_sources: right.clone(),
                }),
            }
            left.extend(right);
        }
        left
    }

    fn table_factor<'a>(
        &mut self,
        level: &mut Level<'a>,
        factor: &'a TableFactor,
        outer: &[&[Source]],
        ctx: &str,
        clause: &'static str,
    ) -> Vec<usize> {
        let idx = level.sources.len();
        match factor {
            TableFactor::Table { name, alias, args, .. } => {
                self.seen(name);
                let table = last_part(name);
                let binding = alias.as_ref().map(|a| a.name.value.to_ascii_lowercase()).unwrap_or(table.clone());
                let display = match alias {
                    Some(a) => format!("{} {}", unquoted(name), a.name.value),
                    None => unquoted(name),
                };
                let span = name.0.last().and_then(|p| p.as_ident()).and_then(|i| locate(self.sql, i.span));
                let kind = if args.is_some() {
                    if let Some(args) = args {
                        let what = format!("table function `{table}`");
                        level.exprs.extend(args.args.iter().flat_map(function_arg_exprs).map(|e| (e, what.clone())));
                    }
                    self.table_function(name, ctx, span)
                } else if name.0.len() == 1
                    && let Some(cols) = self.cte_columns(&table)
                {
                    SourceKind::Derived(cols)
                } else if self.schema.is_shared(&table) {
                    SourceKind::Shared
                } else {
                    SourceKind::Owned
                };
                level.sources.push(Source { binding, display, clause, kind, span, confined: false, merged: false });
            }
            TableFactor::Derived { lateral, subquery, alias, .. } => {
                let binding = alias.as_ref().map(|a| a.name.value.to_ascii_lowercase()).unwrap_or_default();
                let display = alias.as_ref().map(|a| a.name.value.clone()).unwrap_or_else(|| "(subquery)".into());
                let kind = if *lateral {
                    level.lateral.push((idx, subquery));
                    SourceKind::Derived(Vec::new())
                } else {
                    let out = self.query(subquery, outer, &format!(" in derived table `{display}`{ctx}"));
                    SourceKind::Derived(renamed(out, alias.as_ref().map(|a| a.columns.as_slice()).unwrap_or(&[])))
                };
                let span = locate(self.sql, subquery.span());
                level.sources.push(Source { binding, display, clause, kind, span, confined: true, merged: false });
            }
            TableFactor::Function { name, args, alias, .. } => {
                let table = last_part(name);
                let what = format!("table function `{table}`");
                level.exprs.extend(args.iter().flat_map(function_arg_exprs).map(|e| (e, what.clone())));
                let span = locate(self.sql, name.span());
                let kind = self.table_function(name, ctx, span);
                let binding = alias.as_ref().map(|a| a.name.value.to_ascii_lowercase()).unwrap_or(table.clone());
                level.sources.push(Source {
                    binding,
                    display: table,
                    clause,
                    kind,
                    span,
                    confined: true,
                    merged: false,
                });
            }
            TableFactor::UNNEST { alias, array_exprs, .. } => {
                level.exprs.extend(array_exprs.iter().map(|e| (e, "UNNEST".to_string())));
                let binding = alias.as_ref().map(|a| a.name.value.to_ascii_lowercase()).unwrap_or_default();
                level.sources.push(Source {
                    binding,
                    display: "UNNEST(...)".into(),
                    clause,
                    kind: SourceKind::Function,
                    span: None,
                    confined: true,
                    merged: false,
                });
            }
            TableFactor::NestedJoin { table_with_joins, .. } => {
                return self.table_with_joins(level, table_with_joins, outer, ctx, clause);
            }
            other => {
                self.problem(
                    format!("`{other}`{ctx} is a FROM item tenantry cannot check for confinement"),
                    "use plain tables, subqueries and joins".to_string(),
                    locate(self.sql, other.span()),
                );
                return Vec::new();
            }
        }
        vec![idx]
    }

    fn table_function(&mut self, function: &ObjectName, ctx: &str, span: Option<(usize, usize)>) -> SourceKind {
        let name = last_part(function);
        // A function of that name in another schema is the user's own, and may read anything.
        let builtin = match function.0.as_slice() {
            [_] => true,
            [schema, _] => schema.as_ident().is_some_and(|s| same_name(&s.value, "pg_catalog")),
            _ => false,
        };
        if builtin && PURE_TABLE_FUNCTIONS.iter().any(|f| same_name(f, &name)) {
            SourceKind::Function
        } else {
            self.problem(
                format!("table function `{}`{ctx} may read any tenant's rows and cannot be checked", unquoted(function)),
                format!("select from the tables themselves, confined with `{} = :tenant`, or move the call to an `#[unscoped(reason = \"...\")]` method", self.tc()),
                span,
            );
            SourceKind::Function
        }
    }

    fn cte_columns(&self, name: &str) -> Option<Vec<String>> {
        self.ctes
            .iter()
            .rev()
            .flat_map(|scope| scope.iter().rev())
            .find(|c| same_name(&c.name, name))
            .map(|c| c.tenant_columns.clone())
    }

    /// Whether the tenant column of `s` provably holds the tenant.
    fn holds_tenant(&self, s: &Source) -> bool {
        match &s.kind {
            SourceKind::Owned => s.confined,
            SourceKind::Derived(cols) => cols.iter().any(|c| same_name(c, self.tc())),
            _ => false,
        }
    }

    /// The sources among `ids` that show a tenant column to a `USING (tenant_id)` join:
    /// tenant-owned tables not merged into another yet, and derived tables whose
    /// `tenant_id` provably holds the tenant.
    fn tenant_column_sources(&self, ids: &[usize], level: &Level<'_>) -> Vec<usize> {
        ids.iter()
            .copied()
            .filter(|i| {
                let s = &level.sources[*i];
                match &s.kind {
                    SourceKind::Owned => !s.merged,
                    SourceKind::Derived(cols) => cols.iter().any(|c| same_name(c, self.tc())),
                    _ => false,
                }
            })
            .collect()
    }

    fn seen(&mut self, name: &ObjectName) {
        if let Some(ident) = name.0.first().and_then(|p| p.as_ident()) {
            self.seen_relations.insert((ident.span.start.line, ident.span.start.column));
        }
    }

    // ----- the fixpoint ------------------------------------------------------------

    /// Marks every source that some group's conditions confine, until nothing changes.
    fn confine(&mut self, level: &mut Level<'_>, outer: &[&[Source]]) {
        self.record_tenant_predicates(level);
        loop {
            let mut changed = false;
            for g in 0..level.groups.len() {
                for c in 0..level.groups[g].conjuncts.len() {
                    match level.groups[g].conjuncts[c] {
                        Conj::Expr(e) => {
                            for (target, other) in equalities(e).into_iter().flat_map(|(a, b)| [(a, b), (b, a)]) {
                                let Some(idx) = self.owned_tenant_column(target, level) else { continue };
                                if level.sources[idx].confined || !level.groups[g].filters.contains(&idx) {
                                    continue;
                                }
                                if !self.is_anchor(other, level, outer) {
                                    continue;
                                }
                                // Every anchor comes down to `:tenant`, directly or through
                                // a confined table or a derived column that selects it.
                                self.tenant_reached = true;
                                level.sources[idx].confined = true;
                                changed = true;
                            }
                        }
                        Conj::UsingEq(l, r) => {
                            for (anchor, target) in [(l, r), (r, l)] {
                                if self.holds_tenant(&level.sources[anchor])
                                    && !level.sources[target].confined
                                    && level.groups[g].filters.contains(&target)
                                {
                                    level.sources[target].confined = true;
                                    changed = true;
                                }
                            }
                        }
                    }
                }
            }
            if !changed {
                break;
            }
        }
    }

    /// Notes each `<tenant column> = :tenant` conjunct that filters its table, so that
    /// generated code can confine the statement to a set of tenants instead of one.
    fn record_tenant_predicates(&mut self, level: &Level<'_>) {
        for g in &level.groups {
            for c in &g.conjuncts {
                let Conj::Expr(e) = c else { continue };
                let Expr::BinaryOp { left, op: BinaryOperator::Eq, right } = strip_nested(e) else { continue };
                for (column, value) in [(left, right), (right, left)] {
                    let bare_tenant = matches!(strip_nested(value), Expr::Value(v)
                        if matches!(&v.value, Value::Placeholder(p) if p.strip_prefix(':') == Some(TENANT_PLACEHOLDER)));
                    let Some(idx) = self.owned_tenant_column(column, level) else { continue };
                    if !bare_tenant || !g.filters.contains(&idx) {
                        continue;
                    }
                    let whole = locate(self.sql, strip_nested(e).span());
                    let col = locate(self.sql, column.span());
                    if let (Some((start, end)), Some((cs, ce))) = (whole, col)
                        && !self.tenant_predicates.iter().any(|p| p.start == start)
                    {
                        let column = self.sql[cs..ce].to_string();
                        self.tenant_predicates.push(crate::TenantPredicate { start, end, column });
                    }
                }
            }
        }
    }

    /// The local owned source whose tenant column `e` names, if any.
    fn owned_tenant_column(&self, e: &Expr, level: &Level<'_>) -> Option<usize> {
        match self.resolve(e, level, &[])? {
            (0, idx) if matches!(level.sources[idx].kind, SourceKind::Owned) => Some(idx),
            _ => None,
        }
    }

    /// Whether `e` provably equals the tenant: `:tenant`, or a confined tenant column.
    fn is_anchor(&self, e: &Expr, level: &Level<'_>, outer: &[&[Source]]) -> bool {
        if self.is_tenant(e) {
            return true;
        }
        let Some(at) = self.resolve(e, level, outer) else { return false };
        let source = source_at(level, outer, at);
        let col = column_name(e).unwrap_or_default();
        match &source.kind {
            SourceKind::Owned => source.confined && same_name(&col, self.tc()),
            SourceKind::Derived(cols) => cols.iter().any(|c| same_name(c, &col)),
            _ => false,
        }
    }

    /// Resolves a column reference to (depth, source index): depth 0 is `level`, depth
    /// n is the n-th enclosing scope. Only references that can be a tenant column
    /// resolve; an ambiguous unqualified name resolves to nothing.
    fn resolve(&self, e: &Expr, level: &Level<'_>, outer: &[&[Source]]) -> Option<(usize, usize)> {
        let e = strip(e);
        let scopes = std::iter::once(level.sources.as_slice()).chain(outer.iter().rev().copied());
        match e {
            Expr::Identifier(id) => {
                let col = id.value.to_ascii_lowercase();
                for (depth, sources) in scopes.enumerate() {
                    let has: Vec<usize> = sources
                        .iter()
                        .enumerate()
                        .filter(|(_, s)| match &s.kind {
                            SourceKind::Owned => same_name(&col, self.tc()),
                            SourceKind::Derived(cols) => cols.iter().any(|c| same_name(c, &col)),
                            _ => false,
                        })
                        .map(|(i, _)| i)
                        .collect();
                    // `USING (tenant_id)` merged some of them into one column.
                    let unmerged: Vec<usize> = has.iter().copied().filter(|i| !sources[*i].merged).collect();
                    let has = if unmerged.len() == 1 { unmerged } else { has };
                    match has.as_slice() {
                        [one] => return Some((depth, *one)),
                        [] => continue,
                        _ => return None,
                    }
                }
                None
            }
            Expr::CompoundIdentifier(parts) if parts.len() >= 2 => {
                let qualifier = parts[parts.len() - 2].value.to_ascii_lowercase();
                for (depth, sources) in scopes.enumerate() {
                    if let Some(i) = sources.iter().position(|s| same_name(&s.binding, &qualifier)) {
                        return Some((depth, i));
                    }
                }
                None
            }
            _ => None,
        }
    }

    fn report_unconfined(&mut self, level: &Level<'_>, outer: &[&[Source]], ctx: &str, has_where: bool) {
        let multi = level.sources.len() > 1;
        for (idx, s) in level.sources.iter().enumerate() {
            if s.confined || !matches!(s.kind, SourceKind::Owned) {
                continue;
            }
            // The nearest confined table, here or in an enclosing query, to tie this one to.
            let local_anchor = level.sources.iter().any(|o| o.confined && matches!(o.kind, SourceKind::Owned));
            let anchor = std::iter::once(&level.sources[..])
                .chain(outer.iter().rev().copied())
                .flat_map(|sources| sources.iter())
                .find(|o| {
                    o.confined && matches!(o.kind, SourceKind::Owned) && !o.binding.is_empty() && o.binding != s.binding
                })
                .map(|o| format!("{}.{}", o.binding, self.tc()));
            // Qualify the column when a bare name could be read as another table's: several
            // tables here, an alias, or a tie to an enclosing query's table. (Inside a
            // subquery a bare name means the subquery's own table.)
            let qualified = multi || s.display.contains(' ') || (anchor.is_some() && !local_anchor && has_where);
            let column = if qualified { format!("{}.{}", s.binding, self.tc()) } else { self.tc().to_string() };
            let (hint, culprit) = self.hint(level, idx, outer);
            let of_ctx = ctx.strip_prefix(" in ").unwrap_or(ctx);
            let add = match &anchor {
                Some(a) => format!("`AND {column} = {a}` (or `AND {column} = :tenant`)"),
                None => format!("`AND {column} = :tenant`"),
            };
            let own_join = level.groups.iter().find(|g| g.join_sources.contains(&idx) && g.filters.contains(&idx));
            let fix = match own_join {
                Some(g) if g.whole.is_some() => match &anchor {
                    Some(a) => format!(
                        "add `AND {column} = {a}` (or `AND {column} = :tenant`) to the {} ON of `{}`",
                        g.clause, s.display
                    ),
                    None => format!("add `AND {column} = :tenant` to the {} ON of `{}`", g.clause, s.display),
                },
                Some(g) => format!("write `{} {} ON ... AND {column} = :tenant`", g.clause, s.display),
                None if has_where && of_ctx.is_empty() => format!("add {add} to the WHERE clause"),
                None if has_where => format!("add {add} to the WHERE clause of {of_ctx}"),
                None if of_ctx.is_empty() => format!("add `WHERE {column} = :tenant`"),
                None => format!("add `WHERE {column} = :tenant` to {of_ctx}"),
            };
            let full_join = s.clause == "FULL JOIN";
            let fix = if full_join {
                format!("{fix}; a FULL JOIN keeps unmatched rows of both sides, so confine both sides in WHERE")
            } else {
                fix
            };
            let place = match own_join {
                Some(g)
                    if culprit.is_some_and(|c| {
                        g.conjuncts.iter().any(|x| matches!(x, Conj::Expr(e) if std::ptr::eq(*e, c)))
                    }) =>
                {
                    format!("{} ON of `{}`", g.clause, s.display)
                }
                _ => "WHERE clause".to_string(),
            };
            let corrected = culprit.and_then(|c| self.correct(c, &column, anchor.as_deref(), &place).map(|f| (f, c)));
            let (fix, span) = match corrected {
                Some((f, c)) => (f, locate(self.sql, c.span()).or(s.span)),
                None => (fix, s.span),
            };
            let clause = if of_ctx.is_empty() { s.clause.to_string() } else { format!("{} of {of_ctx}", s.clause) };
            self.problem(format!("table `{}` in {clause} is not confined to the tenant{hint}", s.display), fix, span);
        }
    }

    /// Explains why the conditions that mention a source's tenant column do not count,
    /// and returns the culprit when it is a condition that filters the table (the fix is
    /// then to correct it, not to add another).
    fn hint<'e>(&self, level: &'e Level<'_>, idx: usize, outer: &[&[Source]]) -> (String, Option<&'e Expr>) {
        let s = &level.sources[idx];
        let multi = level.sources.len() > 1;
        // A condition that filters the table but does not confine it is the likelier
        // mistake; one in an ON that does not filter it comes second.
        let (filtering, other): (Vec<&Group<'_>>, Vec<&Group<'_>>) =
            level.groups.iter().partition(|g| g.filters.contains(&idx));
        for g in filtering.into_iter().chain(other) {
            for c in &g.conjuncts {
                let Conj::Expr(e) = c else { continue };
                if !mentions_tenant_column(e, &s.binding, self.tc(), multi) {
                    continue;
                }
                let text = truncate(&e.to_string());
                if !g.filters.contains(&idx) {
                    let hint =
                        format!(": `{text}` is in the ON of a {}, which does not filter `{}`", g.clause, s.display);
                    return (hint, None);
                }
                return (format!(": {}", self.describe(e, level, outer)), Some(*e));
            }
        }
        (String::new(), None)
    }

    /// The fix for a condition that mentions the tenant column but does not confine:
    /// correct it in place. `None` when the condition is sound and something else is
    /// missing (an equality to another table's tenant column: that table needs confining).
    fn correct(&self, culprit: &Expr, column: &str, anchor: Option<&str>, place: &str) -> Option<String> {
        let text = truncate(&culprit.to_string());
        let is_column = |x: &Expr| matches!(strip_nested(x), Expr::Identifier(_) | Expr::CompoundIdentifier(_));
        if let Expr::BinaryOp { op: BinaryOperator::Or, .. } = strip_nested(culprit) {
            let value = anchor.unwrap_or(":tenant");
            return Some(format!("confine outside the OR in the {place}: `{column} = {value} AND ({text})`"));
        }
        let pairs = equalities(culprit);
        if !pairs.is_empty() && pairs.iter().all(|(a, b)| is_column(a) && is_column(b)) {
            return None;
        }
        let other_placeholder = pairs.iter().find_map(|(a, b)| {
            [*a, *b].into_iter().find_map(|x| match strip(x) {
                Expr::Value(v) => match &v.value {
                    Value::Placeholder(p) => {
                        p.strip_prefix(':').filter(|n| *n != TENANT_PLACEHOLDER).map(str::to_string)
                    }
                    _ => None,
                },
                _ => None,
            })
        });
        let with = match anchor {
            Some(a) => format!("`{column} = {a}` (or `{column} = :tenant`)"),
            None => format!("`{column} = :tenant`"),
        };
        Some(match other_placeholder {
            Some(arg) => format!(
                "replace `{text}` with {with} and remove the argument `{arg}`: the tenant comes from the scope guard, never from the caller"
            ),
            None => format!("replace `{text}` with {with}"),
        })
    }

    fn describe(&self, e: &Expr, level: &Level<'_>, outer: &[&[Source]]) -> String {
        let text = truncate(&e.to_string());
        let tc = self.tc();
        match strip(e) {
            Expr::BinaryOp { op: BinaryOperator::Or, .. } => {
                format!("`{text}` is under OR, so rows of other tenants can match the other branch")
            }
            Expr::BinaryOp { left, op: BinaryOperator::Eq, right } => {
                let (l, r) = (strip(left), strip(right));
                if let (Expr::Tuple(ls), Expr::Tuple(rs)) = (l, r)
                    && let Some((a, b)) =
                        ls.iter().zip(rs).find(|(a, b)| mentions_column(a, tc) || mentions_column(b, tc))
                {
                    // A row-value equality confines pair by pair: explain the tenant's pair.
                    let pair = Expr::BinaryOp {
                        left: Box::new(a.clone()),
                        op: BinaryOperator::Eq,
                        right: Box::new(b.clone()),
                    };
                    return self.describe(&pair, level, outer);
                }
                let is_column = |x: &Expr| matches!(x, Expr::Identifier(_) | Expr::CompoundIdentifier(_));
                let lossy_cast = [left, right].into_iter().map(|x| strip_nested(x)).find(|x| {
                    matches!(x, Expr::Cast { expr, .. } if is_placeholder(strip(expr))) && !self.is_tenant(x)
                });
                if l == r {
                    format!("`{text}` compares the column with itself and is always true")
                } else if let Some(Expr::Cast { data_type, .. }) = lossy_cast {
                    format!(
                        "`{text}` casts the placeholder to `{data_type}`, which can change the value (shorten it, round it or parse a number out of it) and so match another tenant's id"
                    )
                } else if let Some(Expr::Collate { collation, .. }) =
                    [l, r].into_iter().find(|x| matches!(x, Expr::Collate { .. }))
                {
                    format!(
                        "`{text}` compares under collation `{collation}`, which can match another tenant's id (ignoring case, accents or padding)"
                    )
                } else if matches!(l, Expr::Subquery(_)) || matches!(r, Expr::Subquery(_)) {
                    format!(
                        "`{text}` compares the tenant column with a subquery's result; only `:tenant` or the tenant column of a confined table confines"
                    )
                } else if let Some(wrapped) = [l, r].into_iter().find(|x| !is_column(x) && mentions_column(x, tc)) {
                    let around = match wrapped {
                        Expr::Function(f) => format!("`{}(...)`", f.name),
                        Expr::Cast { .. } => "a cast".to_string(),
                        _ => "an expression".to_string(),
                    };
                    format!(
                        "`{text}` wraps the tenant column in {around}; only the bare column, compared with `:tenant` or a confined tenant column, confines"
                    )
                } else if [l, r]
                    .into_iter()
                    .any(|x| is_literal(x) && x.to_string().contains(&format!(":{TENANT_PLACEHOLDER}")))
                {
                    format!("`{text}` compares with a string literal, not the placeholder: `:tenant` in quotes is text")
                } else if is_placeholder(l) || is_placeholder(r) || is_literal(l) || is_literal(r) {
                    format!(
                        "`{text}` compares the tenant column with a value other than `:tenant`; the tenant must come from the scope guard"
                    )
                } else if let (Some(a), Some(b)) = (self.resolve(l, level, outer), self.resolve(r, level, outer)) {
                    if a == b {
                        // `tenant_id = invoices.tenant_id` inside a subquery that reads
                        // `invoices` again: the inner table shadows the outer one.
                        let s = source_at(level, outer, a);
                        return format!(
                            "`{text}` compares the tenant column of `{}` with itself and is always true",
                            s.display
                        );
                    }
                    let derived = [(l, a), (r, b)].into_iter().find_map(|(x, at)| {
                        let s = source_at(level, outer, at);
                        matches!(s.kind, SourceKind::Derived(_)).then(|| (x, s))
                    });
                    match derived {
                        Some((x, s)) => format!(
                            "`{text}` ties it to `{x}`, which is not a column of `{}` that provably holds the tenant (it should select `:tenant` or a confined table's tenant column under that name)",
                            s.display
                        ),
                        None => format!("`{text}` ties it to a table that is not confined itself"),
                    }
                } else {
                    format!("`{text}` does not compare the tenant column with `:tenant`")
                }
            }
            Expr::BinaryOp { op, .. } => format!("`{text}` uses `{op}`; only `=` confines to one tenant"),
            Expr::In { negated: true, .. } => format!("`{text}` excludes values instead of confining to one"),
            Expr::In { target: InTarget::List(_), .. } => {
                format!("`{text}` admits more than one value; only `= :tenant` confines")
            }
            Expr::In { .. } => {
                format!("`{text}` admits whatever the subquery returns; only `= :tenant` confines")
            }
            Expr::Between { .. } => format!("`{text}` is a range; only `= :tenant` confines"),
            Expr::Like { .. } | Expr::ILike { .. } | Expr::SimilarTo { .. } => {
                format!("`{text}` is a pattern match; only `= :tenant` confines")
            }
            Expr::UnaryOp { .. } => format!("`{text}` is negated; only a plain `= :tenant` confines"),
            Expr::Case { .. } => format!("`{text}` is inside CASE; only a plain `= :tenant` confines"),
            Expr::Function(f) => {
                format!("`{text}` is inside `{}(...)`; compare the column itself with `:tenant`", f.name)
            }
            _ => format!("`{text}` does not confine; write `= :tenant`"),
        }
    }

    // ----- INSERT ------------------------------------------------------------------

    fn insert(&mut self, ins: &Insert, outer: &[&[Source]], ctx: &str) -> Output {
        let TableObject::TableName(name) = &ins.table else {
            self.problem(
                format!("INSERT into a table function{ctx} cannot be checked"),
                "insert into a table by name".to_string(),
                locate(self.sql, ins.table.span()),
            );
            return Output::default();
        };
        self.seen(name);
        let table = last_part(name);
        let span = name.0.last().and_then(|p| p.as_ident()).and_then(|i| locate(self.sql, i.span));
        let tc = self.tc().to_string();
        if self.schema.is_shared(&table) {
            self.shared_write("INSERT into", &table, ctx, span);
        }
        if ins.replace_into || matches!(ins.or, Some(SqliteOnConflict::Replace)) {
            self.problem(
                format!("`REPLACE` into `{table}`{ctx} deletes whatever row it collides with, which may belong to another tenant"),
                format!("use `INSERT ... ON CONFLICT ({tc}, ...) DO UPDATE` (PostgreSQL, SQLite) or a guarded `ON DUPLICATE KEY UPDATE` (MySQL)"),
                span,
            );
        }
        let binding = ins.table_alias.as_ref().map(|a| a.alias.value.to_ascii_lowercase()).unwrap_or(table.clone());
        let target = Source {
            binding,
            display: table.clone(),
            clause: "INSERT",
            kind: SourceKind::Owned,
            span,
            confined: true,
            merged: false,
        };

        if !self.schema.is_shared(&table) {
            let position = ins.columns.iter().position(|c| same_name(&last_part(c), &tc));
            if !ins.assignments.is_empty() {
                // MySQL's `INSERT INTO t SET a = 1, ...`
                match ins.assignments.iter().find(|a| assigns(&a.target, &tc)) {
                    Some(a) if self.is_tenant(&a.value) => self.tenant_reached = true,
                    Some(a) => self.problem(
                        format!("INSERT into `{table}`{ctx} sets `{tc}` to `{}` instead of `:tenant`", a.value),
                        format!("write `{tc} = :tenant`"),
                        span,
                    ),
                    None => self.problem(
                        format!("INSERT into `{table}`{ctx} does not set the tenant column `{tc}`"),
                        format!("add `{tc} = :tenant` to the SET list"),
                        span,
                    ),
                }
            } else if let Some(source) = &ins.source {
                match position {
                    None if ins.columns.is_empty() => self.problem(
                        format!("INSERT into `{table}`{ctx} does not name its columns, so the tenant column cannot be checked"),
                        format!("list the columns, including `{tc}`, and give `{tc}` the value `:tenant`"),
                        span,
                    ),
                    None => self.problem(
                        format!("INSERT into `{table}`{ctx} does not set the tenant column `{tc}`"),
                        format!("add `{tc}` to the column list and `:tenant` to every row"),
                        span,
                    ),
                    Some(pos) => self.insert_source(source, pos, &table, outer, ctx),
                }
            } else {
                self.problem(
                    format!("INSERT into `{table}`{ctx} has no rows that set `{tc}` (DEFAULT VALUES)"),
                    format!("write `INSERT INTO {table} ({tc}, ...) VALUES (:tenant, ...)`"),
                    span,
                );
            }
        } else if let Some(source) = &ins.source {
            self.query(source, outer, ctx);
        }

        // The rows an INSERT writes or an upsert may update hold the tenant (or are refused).
        let level = Level { sources: vec![target], ..Level::default() };
        let sources = &level.sources;
        let mut chain: Vec<&[Source]> = outer.to_vec();
        chain.push(sources);
        match &ins.on {
            Some(OnInsert::OnConflict(oc)) => {
                if let OnConflictAction::DoUpdate(du) = &oc.action {
                    for a in &du.assignments {
                        if assigns(&a.target, &tc) {
                            self.problem(
                                format!("the upsert into `{table}`{ctx} changes the tenant column `{tc}`"),
                                format!("remove `{tc}` from the DO UPDATE SET list"),
                                locate(self.sql, a.span()),
                            );
                        }
                    }
                    let target_has_tenant = matches!(&oc.conflict_target,
                        Some(ConflictTarget::Columns { columns: cols, .. }) if cols.iter().any(|c| same_name(&c.value, &tc)));
                    let guarded = du
                        .selection
                        .as_ref()
                        .is_some_and(|w| conjuncts(w).into_iter().any(|c| self.guards_existing_row(c, &sources[0])));
                    if guarded {
                        self.tenant_reached = true;
                    }
                    if !target_has_tenant && !guarded {
                        let (why, cols) = match &oc.conflict_target {
                            Some(ConflictTarget::Columns { columns: cols, .. }) => {
                                let cols = cols.iter().map(|c| c.value.as_str()).collect::<Vec<_>>().join(", ");
                                (format!("`ON CONFLICT ({cols})` does not include `{tc}`"), cols)
                            }
                            Some(ConflictTarget::OnConstraint(c)) => (
                                format!("tenantry cannot see which columns constraint `{c}` covers"),
                                "...".to_string(),
                            ),
                            None => (
                                "`ON CONFLICT` without a target collides on any unique index".to_string(),
                                "...".to_string(),
                            ),
                        };
                        self.problem(
                            format!(
                                "the upsert into `{table}`{ctx} can overwrite another tenant's row: {why} and the DO UPDATE is not guarded by the tenant"
                            ),
                            format!(
                                "conflict on `({tc}, {cols})` (with a unique index on those columns), or add `WHERE {}.{tc} = :tenant` to the DO UPDATE",
                                sources[0].binding
                            ),
                            span,
                        );
                    }
                    for sub in subqueries(&du.assignments).into_iter().chain(du.selection.iter().flat_map(subqueries)) {
                        self.query(&sub, &chain, &format!(" in a subquery of the upsert{ctx}"));
                    }
                }
            }
            Some(OnInsert::DuplicateKeyUpdate(assignments)) => {
                for a in assignments {
                    if assigns(&a.target, &tc) {
                        self.problem(
                            format!("the upsert into `{table}`{ctx} changes the tenant column `{tc}`"),
                            format!("remove `{tc}` from the ON DUPLICATE KEY UPDATE list"),
                            locate(self.sql, a.span()),
                        );
                    } else if self.guarded_assignment(&a.value, &a.target, &sources[0], ins) {
                        self.tenant_reached = true;
                    } else {
                        let col = a.target.to_string();
                        self.problem(
                            format!(
                                "`ON DUPLICATE KEY UPDATE {col} = ...` on `{table}`{ctx} can overwrite another tenant's row: MySQL does not say which unique key collided"
                            ),
                            format!(
                                "guard the assignment by the tenant: `{col} = IF({tc} = :tenant, VALUES({col}), {col})`"
                            ),
                            locate(self.sql, a.span()),
                        );
                    }
                }
                for sub in subqueries(assignments) {
                    self.query(&sub, &chain, &format!(" in a subquery of the upsert{ctx}"));
                }
            }
            _ => {}
        }
        if let Some(returning) = &ins.returning {
            for sub in subqueries(returning) {
                self.query(&sub, &chain, &format!(" in a subquery of RETURNING{ctx}"));
            }
        }
        self.returned(ins.returning.as_deref(), &level, outer)
    }

    /// What the rows of a DML's RETURNING hold, read like a projection of its tables.
    fn returned(&self, returning: Option<&[SelectItem]>, level: &Level<'_>, outer: &[&[Source]]) -> Output {
        returning.map_or_else(Output::default, |items| self.output(items, level, outer))
    }

    fn insert_source(&mut self, source: &Query, pos: usize, table: &str, outer: &[&[Source]], ctx: &str) {
        let tc = self.tc().to_string();
        if let SetExpr::Values(values) = source.body.as_ref()
            && source.with.is_none()
        {
            for (n, row) in values.rows.iter().enumerate() {
                match row.content.get(pos) {
                    Some(v) if self.is_tenant(v) => self.tenant_reached = true,
                    Some(v) => self.problem(
                        format!(
                            "INSERT into `{table}`{ctx}: VALUES row {} sets `{tc}` to `{v}` instead of `:tenant`",
                            n + 1
                        ),
                        format!("write `:tenant` for `{tc}` in every row; the tenant comes from the scope guard"),
                        locate(self.sql, v.span()),
                    ),
                    None => self.problem(
                        format!("INSERT into `{table}`{ctx}: VALUES row {} has fewer values than columns", n + 1),
                        "give every row one value per column".to_string(),
                        locate(self.sql, source.span()),
                    ),
                }
                for e in &row.content {
                    for sub in subqueries(e) {
                        self.query(&sub, outer, &format!(" in a subquery of VALUES{ctx}"));
                    }
                }
            }
            return;
        }
        let out = self.query(source, outer, &format!(" in the SELECT of INSERT{ctx}"));
        match out.positions {
            // Whatever anchors that position comes down to `:tenant`, which so reaches the
            // inserted row's tenant column.
            Some(p) if p.get(pos) == Some(&true) => self.tenant_reached = true,
            _ => self.problem(
                format!(
                    "INSERT into `{table}` ... SELECT{ctx}: the selected value for `{tc}` is not provably the tenant"
                ),
                format!("select `:tenant` (or the confined source's `{tc}`) in that position, and list columns instead of `*`"),
                locate(self.sql, source.span()),
            ),
        }
    }

    /// `t.tenant_id = :tenant` or `t.tenant_id = excluded.tenant_id` in an upsert's
    /// DO UPDATE WHERE: the existing row belongs to the tenant.
    fn guards_existing_row(&self, c: &Expr, target: &Source) -> bool {
        let existing = |e: &Expr| match strip(e) {
            Expr::Identifier(id) => same_name(&id.value, self.tc()),
            Expr::CompoundIdentifier(p) if p.len() >= 2 => {
                same_name(&p[p.len() - 1].value, self.tc()) && same_name(&p[p.len() - 2].value, &target.binding)
            }
            _ => false,
        };
        let proposed = |e: &Expr| {
            self.is_tenant(e)
                || matches!(strip(e), Expr::CompoundIdentifier(p) if p.len() == 2
                    && same_name(&p[0].value, "excluded") && same_name(&p[1].value, self.tc()))
        };
        equalities(c).into_iter().any(|(a, b)| (existing(a) && proposed(b)) || (existing(b) && proposed(a)))
    }

    /// `col = IF(tenant_id = :tenant, new, col)` or the CASE form: another tenant's row
    /// keeps its value. In an `ON DUPLICATE KEY UPDATE`, a bare or table-qualified column
    /// is the existing row; `VALUES(col)` and `new.col` (the row alias of `INSERT ... AS
    /// new`) are the proposed row, whose tenant column the INSERT already set to `:tenant`.
    /// So the guard must read the existing row's tenant column and the fallback the
    /// existing row's own column: anything proposed there would write it anyway.
    fn guarded_assignment(&self, value: &Expr, target: &AssignmentTarget, table: &Source, ins: &Insert) -> bool {
        let AssignmentTarget::ColumnName(col) = target else { return false };
        let col = last_part(col);
        let existing = |e: &Expr, column: &str| match strip(e) {
            Expr::Identifier(id) => same_name(&id.value, column),
            Expr::CompoundIdentifier(p) if p.len() >= 2 => {
                same_name(&p[p.len() - 1].value, column) && same_name(&p[p.len() - 2].value, &table.binding)
            }
            _ => false,
        };
        let row_alias = ins
            .insert_alias
            .as_ref()
            .filter(|a| a.col_aliases.as_ref().is_none_or(Vec::is_empty))
            .map(|a| last_part(&a.row_alias));
        let proposed_tenant = |e: &Expr| {
            self.is_tenant(e)
                || match strip(e) {
                    Expr::Function(f) if same_name(&last_part(&f.name), "values") => {
                        matches!(function_args(f)[..], [arg] if existing(arg, self.tc()))
                    }
                    Expr::CompoundIdentifier(p) if p.len() == 2 => {
                        row_alias.as_ref().is_some_and(|r| same_name(&p[0].value, r))
                            && same_name(&p[1].value, self.tc())
                    }
                    _ => false,
                }
        };
        let guard = |e: &Expr| {
            equalities(e).into_iter().any(|(a, b)| {
                (existing(a, self.tc()) && proposed_tenant(b)) || (existing(b, self.tc()) && proposed_tenant(a))
            })
        };
        match strip(value) {
            Expr::Function(f) if same_name(&last_part(&f.name), "if") => {
                let args = function_args(f);
                args.len() == 3 && guard(args[0]) && existing(args[2], &col)
            }
            Expr::Case { operand: None, conditions, else_result: Some(else_result), .. } => {
                conditions.len() == 1 && guard(&conditions[0].condition) && existing(else_result, &col)
            }
            _ => false,
        }
    }

    fn shared_write(&mut self, verb: &str, table: &str, ctx: &str, span: Option<(usize, usize)>) {
        self.problem(
            format!("{verb} shared table `{table}`{ctx}: it belongs to every tenant, so a tenant-scoped method may read it but not change it"),
            "move the write to an `#[unscoped(reason = \"...\")]` method, or drop the table from `shared(...)` if each row belongs to one tenant".to_string(),
            span,
        );
    }

    // ----- UPDATE and DELETE -------------------------------------------------------

    fn update(&mut self, u: &Update, outer: &[&[Source]], ctx: &str) -> Output {
        let mut level = Level::default();
        let targets = self.table_with_joins(&mut level, &u.table, outer, ctx, "UPDATE");
        if let Some(from) = &u.from {
            let (UpdateTableFromKind::BeforeSet(from) | UpdateTableFromKind::AfterSet(from)) = from;
            for twj in from {
                self.table_with_joins(&mut level, twj, outer, ctx, "UPDATE ... FROM");
            }
        }
        if matches!(u.or, Some(SqliteOnConflict::Replace)) {
            self.problem(
                format!(
                    "`UPDATE OR REPLACE`{ctx} deletes whatever row it collides with, which may belong to another tenant"
                ),
                "use a plain UPDATE".to_string(),
                locate(self.sql, u.span()),
            );
        }
        let tc = self.tc().to_string();
        let primary = targets.first().copied();
        for a in &u.assignments {
            if assigns(&a.target, &tc) {
                self.problem(
                    format!("UPDATE{ctx} changes the tenant column `{tc}`: that moves rows to another tenant"),
                    format!(
                        "remove `{}` from the SET list; moving data between tenants needs an `#[unscoped]` method",
                        a.target
                    ),
                    locate(self.sql, a.span()),
                );
            }
            let written = match &a.target {
                AssignmentTarget::ColumnName(n) if n.0.len() >= 2 => {
                    let q = n.0[n.0.len() - 2].as_ident().map(|i| i.value.to_ascii_lowercase()).unwrap_or_default();
                    level.sources.iter().position(|s| same_name(&s.binding, &q))
                }
                // MySQL's multi-table UPDATE writes a bare column to whichever of its
                // tables has one of that name, which tenantry cannot see.
                AssignmentTarget::ColumnName(n) if targets.len() > 1 => {
                    if let Some(&shared) =
                        targets.iter().find(|t| matches!(level.sources[**t].kind, SourceKind::Shared))
                    {
                        let (display, span) = (level.sources[shared].display.clone(), level.sources[shared].span);
                        let owner = targets
                            .iter()
                            .find(|t| matches!(level.sources[**t].kind, SourceKind::Owned))
                            .map_or("t".to_string(), |t| level.sources[*t].binding.clone());
                        self.problem(
                            format!("`SET {n} = ...` in a multi-table UPDATE{ctx} may write shared table `{display}`: a bare column belongs to whichever joined table has it"),
                            format!("qualify the column with the tenant-owned table it belongs to: `SET {owner}.{n} = ...`"),
                            span,
                        );
                    }
                    primary
                }
                _ => primary,
            };
            if let Some(w) = written
                && matches!(level.sources[w].kind, SourceKind::Shared)
            {
                let display = level.sources[w].display.clone();
                let span = level.sources[w].span;
                self.shared_write("UPDATE of", &display, ctx, span);
            }
        }
        let all: Vec<usize> = (0..level.sources.len()).collect();
        if let Some(selection) = &u.selection {
            level.groups.push(Group {
                conjuncts: conjuncts(selection).into_iter().map(Conj::Expr).collect(),
                filters: all,
                whole: Some(selection),
                clause: "WHERE",
                join_sources: Vec::new(),
            });
        }
        self.confine(&mut level, outer);
        self.report_unconfined(&level, outer, ctx, u.selection.is_some());
        let mut chain: Vec<&[Source]> = outer.to_vec();
        chain.push(&level.sources);
        self.lateral_and_nested(&level, &chain, ctx);
        let mut subs = subqueries(&u.assignments);
        subs.extend(u.selection.iter().flat_map(subqueries));
        subs.extend(u.returning.iter().flat_map(subqueries));
        for sub in subs {
            self.query(&sub, &chain, &format!(" in a subquery of the UPDATE{ctx}"));
        }
        self.returned(u.returning.as_deref(), &level, outer)
    }

    fn delete(&mut self, d: &Delete, outer: &[&[Source]], ctx: &str) -> Output {
        let mut level = Level::default();
        let (FromTable::WithFromKeyword(from) | FromTable::WithoutKeyword(from)) = &d.from;
        // MySQL's `DELETE FROM i USING invoices i JOIN ...` names its targets in FROM and
        // its tables in USING: a bare FROM name that USING binds is a target, not a table.
        let using_bindings: Vec<String> = d.using.iter().flatten().flat_map(bindings).collect();
        let mut named_targets: Vec<String> = d.tables.iter().map(last_part).collect();
        let mut first = None;
        for twj in from {
            if let TableFactor::Table { name, alias: None, args: None, .. } = &twj.relation
                && twj.joins.is_empty()
                && name.0.len() == 1
                && using_bindings.contains(&last_part(name))
            {
                self.seen(name);
                named_targets.push(last_part(name));
                continue;
            }
            let added = self.table_with_joins(&mut level, twj, outer, ctx, "DELETE FROM");
            first = first.or(added.first().copied());
        }
        if let Some(using) = &d.using {
            for twj in using {
                self.table_with_joins(&mut level, twj, outer, ctx, "DELETE ... USING");
            }
        }
        let targets: Vec<usize> = if named_targets.is_empty() {
            first.into_iter().collect()
        } else {
            named_targets.iter().filter_map(|t| level.sources.iter().position(|s| same_name(&s.binding, t))).collect()
        };
        for t in targets {
            if matches!(level.sources[t].kind, SourceKind::Shared) {
                let display = level.sources[t].display.clone();
                let span = level.sources[t].span;
                self.shared_write("DELETE from", &display, ctx, span);
            }
        }
        let all: Vec<usize> = (0..level.sources.len()).collect();
        if let Some(selection) = &d.selection {
            level.groups.push(Group {
                conjuncts: conjuncts(selection).into_iter().map(Conj::Expr).collect(),
                filters: all,
                whole: Some(selection),
                clause: "WHERE",
                join_sources: Vec::new(),
            });
        }
        self.confine(&mut level, outer);
        self.report_unconfined(&level, outer, ctx, d.selection.is_some());
        let mut chain: Vec<&[Source]> = outer.to_vec();
        chain.push(&level.sources);
        self.lateral_and_nested(&level, &chain, ctx);
        let mut subs: Vec<Query> = d.selection.iter().flat_map(subqueries).collect();
        subs.extend(d.returning.iter().flat_map(subqueries));
        for sub in subs {
            self.query(&sub, &chain, &format!(" in a subquery of the DELETE{ctx}"));
        }
        self.returned(d.returning.as_deref(), &level, outer)
    }

    // ----- the safety net ----------------------------------------------------------

    /// Every table reference must have been seen by the walk: one that was not sits in
    /// a construct the rules do not cover, and nothing is proven about it.
    fn unseen_relations(&mut self, statement: &Statement) {
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
    fn opaque_functions(&mut self, statement: &Statement) {
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

    fn touched_owned(&self, statement: &Statement) -> bool {
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

/// The names the tables of a FROM item are qualified with (alias, else table name).
fn bindings(twj: &TableWithJoins) -> Vec<String> {
    std::iter::once(&twj.relation)
        .chain(twj.joins.iter().map(|j| &j.relation))
        .flat_map(|factor| match factor {
            TableFactor::Table { name, alias, .. } => {
                vec![alias.as_ref().map_or_else(|| last_part(name), |a| a.name.value.to_ascii_lowercase())]
            }
            TableFactor::NestedJoin { table_with_joins, .. } => bindings(table_with_joins),
            _ => Vec::new(),
        })
        .collect()
}

/// The source a [`Checker::resolve`] result points at.
fn source_at<'a>(level: &'a Level<'_>, outer: &[&'a [Source]], (depth, idx): (usize, usize)) -> &'a Source {
    if depth == 0 { &level.sources[idx] } else { &outer[outer.len() - depth][idx] }
}

#[derive(Clone, Copy)]
enum Filters {
    Both,
    Left,
    Right,
    Neither,
}

// ----- helpers on expressions ----------------------------------------------------------

/// The top-level AND-conjuncts of a condition.
fn conjuncts(e: &Expr) -> Vec<&Expr> {
    match e {
        Expr::BinaryOp { left, op: BinaryOperator::And, right } => {
            let mut v = conjuncts(left);
            v.extend(conjuncts(right));
            v
        }
        Expr::Nested(inner) => conjuncts(inner),
        other => vec![other],
    }
}

/// The pairs of values a condition holds equal: `a = b`, `a IN (b)`, and each pair of a
/// row-value equality `(a, b) = (c, d)`, which means `a = c AND b = d`.
fn equalities(e: &Expr) -> Vec<(&Expr, &Expr)> {
    match strip_nested(e) {
        Expr::BinaryOp { left, op: BinaryOperator::Eq, right } => pairs(left, right),
        Expr::In { expr, target: InTarget::List(list), negated: false, .. } if list.len() == 1 => pairs(expr, &list[0]),
        _ => Vec::new(),
    }
}

/// `a = b`, or pair by pair for row values.
fn pairs<'a>(left: &'a Expr, right: &'a Expr) -> Vec<(&'a Expr, &'a Expr)> {
    match (strip_nested(left), strip_nested(right)) {
        (Expr::Tuple(ls), Expr::Tuple(rs)) if ls.len() == rs.len() => ls.iter().zip(rs).collect(),
        _ => vec![(left, right)],
    }
}

fn strip_nested(e: &Expr) -> &Expr {
    match e {
        Expr::Nested(inner) => strip_nested(inner),
        other => other,
    }
}

/// Parentheses, and casts around a placeholder: what a value is, for resolving and for
/// messages. Whether a cast keeps `:tenant` the tenant is [`lossless_cast`]'s call.
fn strip(e: &Expr) -> &Expr {
    match e {
        Expr::Nested(inner) => strip(inner),
        Expr::Cast { expr, .. } if is_placeholder(strip(expr)) => strip(expr),
        other => other,
    }
}

fn is_placeholder(e: &Expr) -> bool {
    matches!(e, Expr::Value(v) if matches!(&v.value, Value::Placeholder(_)))
}

fn is_literal(e: &Expr) -> bool {
    matches!(e, Expr::Value(v) if !matches!(&v.value, Value::Placeholder(_)))
}

/// Whether casting the bound tenant to `ty` keeps every value as it is (or fails), so that
/// `tenant_id = CAST(:tenant AS ty)` still means one tenant. Casts that shorten
/// (`varchar(1)`, PostgreSQL's `char` is `char(1)`), round (`numeric(3, 0)`, floats) or
/// parse a numeric prefix (MySQL's `SIGNED` and SQLite's numeric affinities turn `'12abc'`
/// into 12 and `'acme'` into 0) would compare with another tenant's id.
fn lossless_cast(ty: &DataType, backend: Backend) -> bool {
    let unbounded_text = matches!(
        ty,
        DataType::Text | DataType::Varchar(None) | DataType::CharacterVarying(None) | DataType::CharVarying(None)
    );
    unbounded_text
        || match backend {
            // PostgreSQL casts text to uuid or an integer strictly: a value that does
            // not fit is an error, never another value.
            Backend::Postgres => matches!(
                ty,
                DataType::Uuid
                    | DataType::Int(None)
                    | DataType::Integer(None)
                    | DataType::BigInt(None)
                    | DataType::Int4(None)
                    | DataType::Int8(None)
            ),
            // MySQL's `CAST(x AS CHAR)` has no length limit.
            Backend::MySql => matches!(ty, DataType::Char(None)),
            Backend::Sqlite => false,
        }
}

fn column_name(e: &Expr) -> Option<String> {
    match strip(e) {
        Expr::Identifier(id) => Some(id.value.to_ascii_lowercase()),
        Expr::CompoundIdentifier(parts) => parts.last().map(|p| p.value.to_ascii_lowercase()),
        _ => None,
    }
}

/// A name as the user means it, without the quotes (`"Invoices"`, `` `invoices` ``) that
/// would clash with the backticks of a message.
fn unquoted(name: &ObjectName) -> String {
    name.0.iter().map(|p| p.as_ident().map_or_else(|| p.to_string(), |i| i.value.clone())).collect::<Vec<_>>().join(".")
}

fn last_part(name: &ObjectName) -> String {
    name.0
        .last()
        .and_then(|p| p.as_ident())
        .map(|i| i.value.to_ascii_lowercase())
        .unwrap_or_else(|| name.to_string().to_ascii_lowercase())
}

fn assigns(target: &AssignmentTarget, column: &str) -> bool {
    match target {
        AssignmentTarget::ColumnName(n) => same_name(&last_part(n), column),
        AssignmentTarget::Tuple(names) => names.iter().any(|n| same_name(&last_part(n), column)),
    }
}

/// Whether `e` mentions a column named `column`, however qualified.
fn mentions_column(e: &Expr, column: &str) -> bool {
    struct Find<'a>(&'a str, bool);
    impl Visitor for Find<'_> {
        type Break = ();
        fn pre_visit_expr(&mut self, e: &Expr) -> ControlFlow<()> {
            self.1 |= match e {
                Expr::Identifier(id) => same_name(&id.value, self.0),
                Expr::CompoundIdentifier(p) => p.last().is_some_and(|id| same_name(&id.value, self.0)),
                _ => false,
            };
            if self.1 { ControlFlow::Break(()) } else { ControlFlow::Continue(()) }
        }
    }
    let mut f = Find(column, false);
    let _ = e.visit(&mut f);
    f.1
}

/// Whether `e` mentions `binding.tenant_column` (or the bare column when it can only
/// mean that source).
fn mentions_tenant_column(e: &Expr, binding: &str, tc: &str, qualified_only: bool) -> bool {
    struct Find<'a> {
        binding: &'a str,
        tc: &'a str,
        qualified_only: bool,
        found: bool,
        /// How deep inside subqueries the walk is: a subquery's own columns are its
        /// business, and a correlated reference there is judged with that subquery.
        depth: usize,
    }
    impl Visitor for Find<'_> {
        type Break = ();
        fn pre_visit_expr(&mut self, e: &Expr) -> ControlFlow<()> {
            let hit = self.depth == 0
                && match e {
                    Expr::Identifier(id) => !self.qualified_only && same_name(&id.value, self.tc),
                    Expr::CompoundIdentifier(p) if p.len() >= 2 => {
                        same_name(&p[p.len() - 1].value, self.tc) && same_name(&p[p.len() - 2].value, self.binding)
                    }
                    _ => false,
                };
            if hit {
                self.found = true;
                return ControlFlow::Break(());
            }
            ControlFlow::Continue(())
        }
        fn pre_visit_query(&mut self, _q: &Query) -> ControlFlow<()> {
            self.depth += 1;
            ControlFlow::Continue(())
        }
        fn post_visit_query(&mut self, _q: &Query) -> ControlFlow<()> {
            self.depth -= 1;
            ControlFlow::Continue(())
        }
    }
    let mut f = Find { binding, tc, qualified_only, found: false, depth: 0 };
    let _ = e.visit(&mut f);
    f.found
}

fn function_args(f: &sqlparser::ast::Function) -> Vec<&Expr> {
    match &f.args {
        sqlparser::ast::FunctionArguments::List(list) => list.args.iter().flat_map(function_arg_exprs).collect(),
        _ => Vec::new(),
    }
}

fn function_arg_exprs(a: &sqlparser::ast::FunctionArg) -> Option<&Expr> {
    use sqlparser::ast::{FunctionArg, FunctionArgExpr};
    let arg = match a {
        FunctionArg::Named { arg, .. } | FunctionArg::ExprNamed { arg, .. } | FunctionArg::Unnamed(arg) => arg,
    };
    match arg {
        FunctionArgExpr::Expr(e) => Some(e),
        _ => None,
    }
}

/// Whether `body` reads a table (or CTE) called `name`, anywhere inside.
fn reads_relation(body: &SetExpr, name: &str) -> bool {
    struct Reads<'a>(&'a str, bool);
    impl Visitor for Reads<'_> {
        type Break = ();
        fn pre_visit_relation(&mut self, r: &ObjectName) -> ControlFlow<()> {
            self.1 |= r.0.len() == 1 && same_name(&last_part(r), self.0);
            ControlFlow::Continue(())
        }
    }
    let mut v = Reads(name, false);
    let _ = body.visit(&mut v);
    v.1
}

fn flatten_set_operation<'a>(e: &'a SetExpr, out: &mut Vec<&'a SetExpr>, op_name: &mut &'static str) {
    match e {
        SetExpr::SetOperation { left, right, op, .. } => {
            *op_name = match op {
                SetOperator::Union => "UNION",
                SetOperator::Intersect => "INTERSECT",
                SetOperator::Except | SetOperator::Minus => "EXCEPT",
            };
            flatten_set_operation(left, out, op_name);
            flatten_set_operation(right, out, op_name);
        }
        other => out.push(other),
    }
}

fn intersect(outputs: Vec<Output>) -> Output {
    let mut iter = outputs.into_iter();
    let Some(first) = iter.next() else { return Output::default() };
    iter.fold(first, |acc, o| Output {
        tenant_names: acc.tenant_names.into_iter().filter(|n| o.tenant_names.contains(n)).collect(),
        positions: match (acc.positions, o.positions) {
            (Some(a), Some(b)) if a.len() == b.len() => Some(a.iter().zip(&b).map(|(x, y)| *x && *y).collect()),
            _ => None,
        },
    })
}

/// Applies a `name(col, ...)` column list of a CTE or derived table to its output.
fn renamed<C: AliasColumn>(out: Output, columns: &[C]) -> Vec<String> {
    if columns.is_empty() {
        return out.tenant_names;
    }
    match out.positions {
        Some(p) => columns
            .iter()
            .zip(p)
            .filter(|(_, tenant)| *tenant)
            .map(|(c, _)| c.column_name().to_ascii_lowercase())
            .collect(),
        None => Vec::new(),
    }
}

trait AliasColumn {
    fn column_name(&self) -> &str;
}

impl AliasColumn for sqlparser::ast::TableAliasColumnDef {
    fn column_name(&self) -> &str {
        &self.name.value
    }
}

impl AliasColumn for sqlparser::ast::Ident {
    fn column_name(&self) -> &str {
        &self.value
    }
}

/// The subqueries directly inside `node` (not those nested in them: each query checks
/// its own).
fn subqueries<V: Visit + ?Sized>(node: &V) -> Vec<Query> {
    struct Collect {
        depth: usize,
        found: Vec<Query>,
    }
    impl Visitor for Collect {
        type Break = ();
        fn pre_visit_query(&mut self, q: &Query) -> ControlFlow<()> {
            if self.depth == 0 {
                self.found.push(q.clone());
            }
            self.depth += 1;
            ControlFlow::Continue(())
        }
        fn post_visit_query(&mut self, _q: &Query) -> ControlFlow<()> {
            self.depth -= 1;
            ControlFlow::Continue(())
        }
    }
    let mut c = Collect { depth: 0, found: Vec::new() };
    let _ = node.visit(&mut c);
    c.found
}

fn truncate(s: &str) -> String {
    const MAX: usize = 80;
    if s.chars().count() <= MAX {
        s.to_string()
    } else {
        let cut: String = s.chars().take(MAX).collect();
        format!("{cut}...")
    }
}

// ----- locations ----------------------------------------------------------------------

/// Converts sqlparser's 1-based line/column span into a byte range of `sql`.
pub(crate) fn locate(sql: &str, span: Span) -> Option<(usize, usize)> {
    let start = offset(sql, span.start)?;
    let end = offset(sql, span.end).unwrap_or(start + 1).max(start + 1).min(sql.len());
    Some((start, end))
}

fn offset(sql: &str, at: Location) -> Option<usize> {
    if at.line == 0 || at.column == 0 {
        return None;
    }
    let mut line = 1u64;
    let mut column = 1u64;
    for (i, ch) in sql.char_indices() {
        if line == at.line && column == at.column {
            return Some(i);
        }
        if ch == '\n' {
            line += 1;
            column = 1;
        } else {
            column += 1;
        }
    }
    (line == at.line && column == at.column).then_some(sql.len())
}
