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

use std::collections::{HashMap, HashSet};
use std::ops::ControlFlow;

use sqlparser::ast::{
    AssignmentTarget, BinaryOperator, ConflictTarget, Cte, DataType, Delete, Expr, FromTable, GroupByExpr, Ident,
    InTarget, Insert, JoinConstraint, JoinOperator, LimitClause, ObjectName, OnConflictAction, OnInsert, Query, Select,
    SelectItem, SelectItemQualifiedWildcardKind, SetExpr, SetOperator, Spanned, SqliteOnConflict, Statement,
    TableFactor, TableObject, TableWithJoins, Update, UpdateTableFromKind, Value, Visit, Visitor,
};
use sqlparser::tokenizer::{Location, Span};

use crate::functions;
use crate::names::{self, Kind, Match};
use crate::schema::Link;
use crate::{Backend, Rule, Schema, StatementKind, TENANT_PLACEHOLDER, Violation, same_name};
use scope::{CteRef, Ref, RelationKind, Why, similar};

mod distributed;
mod dml;
mod expr;
mod fixpoint;
mod from;
mod net;
mod query;
mod scope;
mod shape;
mod wording;

use expr::*;
pub(crate) use expr::{Locator, locate};
use net::*;
pub(crate) use shape::shape;
use shape::statement_keyword;

/// The candidate closest to `name` in spelling, for a "did you mean".
pub(crate) fn similar_name<'a>(name: &str, candidates: impl Iterator<Item = &'a str>) -> Option<String> {
    similar(name, candidates)
}

/// The base tables a statement names (each name's last part, as stored), in order, once
/// each: what the schema lint's findings on a repository are filtered by.
pub(crate) fn tables(statement: &Statement, backend: Backend) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for r in net::relations(statement) {
        if let Some(name) = last_ident(&r).map(|i| names::stored(backend, i))
            && !out.contains(&name)
        {
            out.push(name);
        }
    }
    out
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
) -> Checked {
    let mut c = Checker {
        sql,
        schema,
        backend,
        problems: Vec::new(),
        tenant_reached: false,
        seen_relations: HashSet::new(),
        ctes: Vec::new(),
        tenant_predicates: Vec::new(),
        opted_in_call: false,
        probes: HashMap::new(),
        warnings: Vec::new(),
        pins: Vec::new(),
    };
    c.statement(statement, &[], "");
    c.unseen_relations(statement);
    c.functions_and_variables(statement);
    // A misspelt column is the mistake to fix first: what it leaves unconfined follows
    // from it, and may be gone once it is corrected.
    if c.problems.iter().any(|p| p.rule == Rule::Unknown) {
        c.problems.retain(|p| p.rule != Rule::Unconfined);
    }
    let confined_something = c.problems.is_empty() && c.tenant_reached;
    if tenant_uses == 0
        && let Some(first) = c.problems.iter_mut().find(|p| p.problem.contains("not confined"))
    {
        first.problem.push_str(" (the statement never uses `:tenant`)");
    }
    if tenant_uses > 0 && c.problems.is_empty() && !confined_something && !c.touched_owned(statement) {
        c.problems.push(Violation::new(
            Rule::TenantUnused,
            "`:tenant` is used but never compared with a tenant column: the statement reads only global tables",
            "drop `:tenant` from the statement, or compare it with a tenant-owned table's tenant column",
            None,
        ));
    } else if tenant_uses > 0 && c.problems.is_empty() && !c.tenant_reached {
        c.problems.push(Violation::new(
            Rule::TenantUnused,
            "`:tenant` is used but never reaches a tenant column",
            format!(
                "confine each tenant-owned table with `{} = :tenant`",
                names::quoted(backend, &schema.tenant_column, None)
            ),
            None,
        ));
    }
    c.tenant_predicates.sort_by_key(|p| p.start);
    c.pins.sort_by_key(|p| p.at);
    Checked {
        problems: c.problems,
        tenant_predicates: c.tenant_predicates,
        writes: c.opted_in_call,
        warnings: c.warnings,
        pins: c.pins,
    }
}

/// What [`check`] found.
pub(crate) struct Checked {
    pub problems: Vec<Violation>,
    /// Every `<tenant column> = :tenant` conjunct, in source order.
    pub tenant_predicates: Vec<crate::TenantPredicate>,
    /// Whether the statement may write through a function the user opted in to.
    pub writes: bool,
    /// See [`crate::Analysis::warnings`].
    pub warnings: Vec<Violation>,
    /// The tables confined only through another's tenant column, in source order.
    pub pins: Vec<Pin>,
}

/// A table reference confined only transitively (`p.tenant_id = i.tenant_id`, `i`
/// confined) and the predicate that states its tenant explicitly, equivalent by that
/// proof: a distributed database routes a statement by the tenant each table is compared
/// with, and does not follow the equality into a correlated subquery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Pin {
    /// Byte offset just past the conjunct that proves it: ` AND <column> = :tenant` goes
    /// there.
    pub at: usize,
    /// Its tenant column as the conjunct writes it (`p.tenant_id`), which resolves to it
    /// in that clause.
    pub column: String,
}

/// One table-like thing in a FROM: a base table, a CTE reference, a derived table or a
/// table function.
#[derive(Debug, Clone)]
struct Source {
    /// The name columns are qualified with (alias, else table name), as the database
    /// stores it (see [`names::stored`]); empty for a derived table without alias.
    binding: String,
    /// A base table's name as written, each part as stored (`public.invoices`), when it
    /// has no alias: what a `schema.table.column` reference qualifies.
    path: Vec<String>,
    /// Every column name it has (as stored), when known; `None` for a base table (only
    /// its tenant column is known) and a query whose columns are not all named.
    columns: Option<Vec<String>>,
    /// What to call it in a message: `customers c`.
    display: String,
    /// The clause it was introduced by: `FROM`, `LEFT JOIN`, ...
    clause: &'static str,
    kind: SourceKind,
    /// A base table's name (its last part, as stored): what an owning key's parent names.
    table: String,
    /// A tenant-owned table's tenant column, as stored (empty for other sources).
    tc: String,
    /// A derived source's output columns that hold a key of a confined table's row.
    keys: Vec<Key>,
    /// A base table whose columns an alias list renamed (`pages AS p(a, b)`): its column
    /// names are not the table's, so none of them is taken for a key.
    renamed: bool,
    span: Option<(usize, usize)>,
    confined: bool,
    /// Its columns (as stored) that `JOIN ... USING (tenant_id)` merged into the one of a
    /// source to its left, which is what an unqualified `tenant_id` then means.
    merged: Vec<String>,
    /// It is on the optional side of an outer join: its columns may be NULL in a row, so
    /// none of them provably holds the tenant in the output (`INSERT ... SELECT` would
    /// write a row of no tenant).
    nullable: bool,
}

#[derive(Debug, Clone)]
enum SourceKind {
    /// A tenant-owned base table: must be confined.
    Owned,
    /// A shared base table: readable by everyone.
    Shared,
    /// A table owned through a parent: confined by an owning key equal to a confined
    /// parent's key.
    Child(Vec<Link>),
    /// A table already refused for what it is (a catalog, an unclassified or unknown
    /// table): read on without further demands, so that one mistake is one error.
    Refused,
    /// A CTE reference or derived table, confined by its own analysis; the names (as
    /// stored) are its output columns that provably hold the tenant.
    Derived(Vec<String>),
    /// A table function that reads no table.
    Function,
}

enum Conj<'a> {
    Expr(&'a Expr),
    /// `JOIN ... USING (tenant_id)` between two sources, on that column.
    UsingEq(usize, usize, Ident),
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
    /// The CTE's name as stored.
    name: String,
    out: Output,
}

/// A query's output columns and which of them hold the tenant, for derived tables, CTEs
/// and `INSERT ... SELECT`.
#[derive(Debug, Clone, Default)]
struct Output {
    /// Output column names (as stored) that provably equal the tenant.
    tenant_names: Vec<String>,
    /// Per position: the column's name (`None` when the database makes one up, as for
    /// `count(*)`) and whether it provably equals the tenant; `None` after a wildcard.
    positions: Option<Vec<(Option<String>, bool)>>,
    /// Output columns that hold a key of a confined table's row, by position: what a
    /// child table's owning key may be compared with (`IN (SELECT id FROM pages WHERE
    /// tenant_id = :tenant)`).
    keys: Vec<(usize, Key)>,
    /// For a plain SELECT, each row of which satisfies its WHERE: the enclosing query's
    /// columns that its WHERE holds equal to a key of one of its confined rows, as
    /// (source of the enclosing level, column as stored, key). `EXISTS (SELECT 1 FROM pages
    /// p WHERE p.id = c.page_id AND p.tenant_id = :tenant)` ties `c.page_id` to a page of
    /// the tenant.
    correlated: Vec<(usize, String, Key)>,
}

/// A column that holds a key of a row of `table` that is confined to the tenant.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Key {
    /// The column's name as stored (an output column's, for a derived source).
    name: String,
    /// The table whose row it keys.
    table: String,
    /// The column of that table it is.
    column: String,
}

impl Output {
    fn from_positions(positions: Vec<(Option<String>, bool)>) -> Output {
        let tenant_names = positions.iter().filter(|(_, t)| *t).filter_map(|(n, _)| n.clone()).collect();
        Output { tenant_names, positions: Some(positions), keys: Vec::new(), correlated: Vec::new() }
    }

    /// What the first column holds, as (table, column), when it is a confined row's key:
    /// what `IN (subquery)` and a scalar subquery compare with.
    fn first_key(&self) -> Option<(String, String)> {
        self.keys.iter().find(|(pos, _)| *pos == 0).map(|(_, k)| (k.table.clone(), k.column.clone()))
    }

    /// The key columns, named as the output names them.
    fn named_keys(&self) -> Vec<Key> {
        self.keys.iter().map(|(_, k)| k.clone()).filter(|k| !k.name.is_empty()).collect()
    }

    /// The names of every column, when all are known.
    fn names(&self) -> Option<Vec<String>> {
        self.positions.as_ref()?.iter().map(|(n, _)| n.clone()).collect()
    }
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
    /// Whether the statement calls a function opted in with `allow_functions(...)`, which
    /// may write.
    opted_in_call: bool,
    /// What [`Checker::probe`] found for each subquery (by its span).
    probes: HashMap<(u64, u64, u64, u64), Output>,
    /// What is confined but still wrong: see [`crate::Analysis::warnings`].
    warnings: Vec<Violation>,
    /// The transitively confined tables: see [`Pin`].
    pins: Vec<Pin>,
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

    fn problem(&mut self, rule: Rule, problem: String, fix: String, span: Option<(usize, usize)>) {
        let v = Violation::new(rule, problem, fix, span);
        if !self.problems.contains(&v) {
            self.problems.push(v);
        }
    }

    /// What a subquery's rows hold, before it is checked for real (with the rest of its
    /// clause): a condition such as `page_id IN (SELECT id FROM pages WHERE ...)` needs it
    /// to confine the query around it. Nothing is reported. Each subquery is probed once:
    /// a later probe could know more of the enclosing query's confinement, so the first
    /// answer proves at most what a later one would.
    fn probe(&mut self, q: &Query, outer: &[&[Source]]) -> Output {
        let span = q.span();
        let key = (span.start.line, span.start.column, span.end.line, span.end.column);
        if let Some(out) = self.probes.get(&key) {
            return out.clone();
        }
        let (problems, reached, predicates, opted, warnings, pins) = (
            self.problems.len(),
            self.tenant_reached,
            self.tenant_predicates.len(),
            self.opted_in_call,
            self.warnings.len(),
            self.pins.len(),
        );
        let out = self.query(q, outer, "");
        self.problems.truncate(problems);
        self.warnings.truncate(warnings);
        self.pins.truncate(pins);
        self.tenant_predicates.truncate(predicates);
        (self.tenant_reached, self.opted_in_call) = (reached, opted);
        self.probes.insert(key, out.clone());
        out
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
                    Rule::Uncheckable,
                    format!("`{keyword}`{ctx} cannot be checked for confinement"),
                    "use SELECT, INSERT, UPDATE or DELETE".to_string(),
                    locate(self.sql, other.span()),
                );
                Output::default()
            }
        }
    }
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
