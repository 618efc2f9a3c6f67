//! The SQL analyser behind `tenantry`: proves that a statement is confined to one tenant.
//!
//! This crate is plain Rust (no `syn`, no proc-macro types) so that the rules can be
//! tested as a library. The rules themselves live in one place, [`confinement`]; this
//! module is the front door: parse, check, report.
//!
//! ```
//! use tenantry_analyzer::{analyze, Backend, Mode, Schema};
//!
//! let schema = Schema::default();
//! let ok = analyze(
//!     "SELECT id FROM invoices WHERE tenant_id = :tenant AND id = :id",
//!     Backend::Postgres, &schema, Mode::Scoped,
//! );
//! assert!(ok.is_ok());
//!
//! let leak = analyze("SELECT id FROM invoices WHERE id = :id", Backend::Postgres, &schema, Mode::Scoped);
//! let problems = leak.unwrap_err();
//! assert!(problems[0].problem.contains("`invoices`"));
//! assert!(problems[0].fix.contains("tenant_id = :tenant"));
//! ```

pub mod config;
pub mod confinement;
mod functions;
mod lexical;
mod names;
mod nesting;
pub mod placeholders;
mod render;
pub mod schema;

pub use placeholders::{Placeholder, Placeholders, Rewritten};
pub use render::render;

use sqlparser::dialect::{Dialect, MySqlDialect, PostgreSqlDialect, SQLiteDialect};
use sqlparser::parser::{Parser, ParserError};
use sqlparser::tokenizer::{TokenWithSpan, Tokenizer, TokenizerError};

/// The sqlparser release the analyser reads SQL with, for messages about its limits.
const SQLPARSER: &str = "0.64";

/// The reserved placeholder bound from the scope guard.
pub const TENANT_PLACEHOLDER: &str = "tenant";

/// A database backend, which decides the SQL dialect and the placeholder syntax.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Backend {
    /// SQLite (sqlx's bundled build).
    Sqlite,
    /// PostgreSQL.
    Postgres,
    /// MySQL and MariaDB.
    MySql,
}

impl Backend {
    /// Every backend, in a stable order.
    pub const ALL: [Backend; 3] = [Backend::Sqlite, Backend::Postgres, Backend::MySql];

    /// The name used in `backends(...)`.
    pub fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
            Backend::MySql => "mysql",
        }
    }

    /// Parses a name used in `backends(...)`.
    pub fn from_name(name: &str) -> Option<Backend> {
        Backend::ALL.into_iter().find(|b| b.name() == name)
    }

    pub(crate) fn dialect(self) -> Box<dyn Dialect> {
        match self {
            Backend::Sqlite => Box::new(SQLiteDialect {}),
            Backend::Postgres => Box::new(PostgreSqlDialect {}),
            Backend::MySql => Box::new(MySqlDialect {}),
        }
    }
}

/// What the analyser knows of the schema: which column holds the tenant, which tables
/// belong to no tenant, and (from the migrations) every table's columns and keys. What
/// each table is to a tenant is [`Schema::ownership`]; a table it cannot classify is
/// refused (deny by default).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schema {
    /// The tenant column of every tenant-owned table, unless `tenant_columns` says
    /// otherwise for it.
    pub tenant_column: String,
    /// Per-table tenant columns (`[tables.jobs] tenant_column = "tenantId"`): pairs of
    /// (table, column), as stored.
    pub tenant_columns: Vec<(String, String)>,
    /// The tenant table: its primary key is the tenant, so `WHERE id = :tenant` confines it.
    pub tenant_table: Option<String>,
    /// Global tables: reference data every tenant may read and no scoped statement may
    /// write (`global = [...]`, `shared(...)`).
    pub shared: Vec<String>,
    /// Functions beyond the built-in allow-list that statements may call
    /// (`allow_functions(...)`): names as the database stores them, `schema.name` for a
    /// qualified one. A statement calling one counts as a write, unless it is a built-in
    /// known not to write (`current_setting`).
    pub allowed_functions: Vec<String>,
    /// The tables the migrations create, when there are migrations. Without them every
    /// table not declared global is tenant-owned with `tenant_column`.
    pub catalog: Option<schema::Catalog>,
    /// The database is distributed with Citus (PostgreSQL only): every tenant-owned table
    /// distributed on its tenant column and co-located, every global table a reference
    /// table ([`schema::distribution_migration`]). Statements Citus cannot run on one
    /// shard are then refused ([`Rule::Distributed`]), and the schema lint says what
    /// keeps a table from being distributed.
    pub distributed: bool,
}

impl Default for Schema {
    fn default() -> Self {
        Schema {
            tenant_column: "tenant_id".to_string(),
            tenant_columns: Vec::new(),
            tenant_table: None,
            shared: Vec::new(),
            allowed_functions: Vec::new(),
            catalog: None,
            distributed: false,
        }
    }
}

impl Schema {
    /// A schema with `tenant_id` as tenant column and the given shared tables.
    pub fn with_shared<I: IntoIterator<Item = S>, S: Into<String>>(shared: I) -> Self {
        Schema { shared: shared.into_iter().map(Into::into).collect(), ..Schema::default() }
    }
}

/// Whether the statement must be confined to a tenant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// A normal repository method: the statement must be confined to `:tenant`.
    Scoped,
    /// `#[unscoped(reason = "...")]`: parsed, not confinement-checked, no `:tenant`.
    Unscoped,
}

/// The kind of statement, as far as generated code cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatementKind {
    /// `SELECT`, `VALUES`, or a `WITH` query that only reads.
    Select,
    /// `INSERT`.
    Insert,
    /// `UPDATE`.
    Update,
    /// `DELETE`.
    Delete,
}

/// What a confined statement is, for the code generator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Analysis {
    /// The statement to generate: the one analysed, with the tenant stated explicitly on
    /// every table reference it confines only through another table's tenant column
    /// (`AND p.tenant_id = :tenant` after `p.tenant_id = i.tenant_id`, `i` confined).
    /// The added predicate is implied by the proof, so the rows are the same; a
    /// distributed database (Citus) routes the statement to the tenant's shard only when
    /// each table is compared with the tenant itself. [`Analysis::placeholders`] and
    /// [`Analysis::tenant_predicates`] are positions in this text.
    pub sql: String,
    /// The top-level statement kind.
    pub kind: StatementKind,
    /// Whether the statement can change rows (DML, or a query with a data-modifying CTE).
    pub writes: bool,
    /// Whether the statement produces rows (a query, or DML with `RETURNING`).
    pub returns_rows: bool,
    /// Whether it provably produces at most one row (a one-row `INSERT ... RETURNING`,
    /// `LIMIT 1`, aggregates without `GROUP BY`).
    pub at_most_one_row: bool,
    /// The `:name` placeholders, in source order.
    pub placeholders: Placeholders,
    /// Every `<tenant column> = :tenant` conjunct, in source order, when each `:tenant`
    /// of the statement is one of them (empty otherwise, and for unscoped statements). A
    /// read whose every `:tenant` is such a predicate can be confined to a set of tenants
    /// by rewriting them with [`set_form`].
    pub tenant_predicates: Vec<TenantPredicate>,
    /// What is confined but likely wrong, for warnings: an `ON CONFLICT` target that no
    /// unique key of the migrations matches (the database refuses the statement when it
    /// runs), or one without the tenant column whose guarded update skips the rows of
    /// other tenants it collides with.
    pub warnings: Vec<Violation>,
    /// The tables the statement names (last part, as stored; CTE names too), once each.
    pub tables: Vec<String>,
}

/// A `<tenant column> = :tenant` conjunct of a WHERE or JOIN ON.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TenantPredicate {
    /// Byte offset of the conjunct in the statement.
    pub start: usize,
    /// Byte offset just past it.
    pub end: usize,
    /// The column as written (`i.tenant_id`).
    pub column: String,
}

/// The statement confined to a set of tenants bound to `:tenant` (`sql` is
/// [`Analysis::sql`]): each tenant predicate
/// becomes `col = ANY(:tenant)` (PostgreSQL, an array), `col IN (SELECT value FROM
/// json_each(:tenant))` (SQLite, a JSON array) or `FIND_IN_SET(col, :tenant)` (MySQL, a
/// comma-separated list). `None` when the analysis has no set form.
///
/// ```
/// use tenantry_analyzer::{analyze, set_form, Backend, Mode, Schema};
/// let sql = "SELECT id FROM invoices WHERE tenant_id = :tenant AND id = :id";
/// let a = analyze(sql, Backend::Postgres, &Schema::default(), Mode::Scoped).unwrap();
/// assert_eq!(
///     set_form(&a.sql, &a, Backend::Postgres).unwrap(),
///     "SELECT id FROM invoices WHERE tenant_id = ANY(:tenant) AND id = :id"
/// );
/// ```
pub fn set_form(sql: &str, analysis: &Analysis, backend: Backend) -> Option<String> {
    if analysis.tenant_predicates.is_empty() || analysis.writes {
        return None;
    }
    let mut out = String::with_capacity(sql.len() + 32);
    let mut last = 0;
    for p in &analysis.tenant_predicates {
        out.push_str(&sql[last..p.start]);
        let col = &p.column;
        match backend {
            Backend::Postgres => out.push_str(&format!("{col} = ANY(:{TENANT_PLACEHOLDER})")),
            Backend::Sqlite => out.push_str(&format!("{col} IN (SELECT value FROM json_each(:{TENANT_PLACEHOLDER}))")),
            Backend::MySql => out.push_str(&format!("FIND_IN_SET({col}, :{TENANT_PLACEHOLDER})")),
        }
        last = p.end;
    }
    out.push_str(&sql[last..]);
    Some(out)
}

/// Which rule refused a statement: what tests and tools match on (the wording of
/// [`Violation::problem`] is for people, and may change).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Rule {
    /// The statement does not parse, is empty, holds several statements, or nests too
    /// deeply to analyse.
    Syntax,
    /// A placeholder tenantry does not bind (positional, or `:tenant` when unscoped).
    Parameter,
    /// Not one SELECT, INSERT, UPDATE or DELETE a method can run.
    Statement,
    /// A tenant-owned table is read or written without being confined to the tenant.
    Unconfined,
    /// A name the database may resolve in more than one way (case rules, column lists).
    UnresolvedName,
    /// A system catalog or statistics table.
    Catalog,
    /// A function off the allow-list.
    Function,
    /// A user or system variable, carried by the connection from tenant to tenant.
    Variable,
    /// An operator or literal whose meaning a server setting decides, or that the parser
    /// groups differently from the server.
    ServerSetting,
    /// `:tenant` never reaches a tenant column.
    TenantUnused,
    /// An INSERT that does not give the tenant column `:tenant` in every row.
    InsertTenant,
    /// An UPDATE or upsert that assigns the tenant column.
    TenantColumnWrite,
    /// An upsert or REPLACE that can overwrite another tenant's row.
    Upsert,
    /// A write to a shared table.
    SharedWrite,
    /// A construct the rules cannot see into (unknown table functions, dialect clauses).
    Uncheckable,
    /// A statement a distributed database ([`Schema::distributed`]) cannot run on the
    /// tenant's shard alone, or at all.
    Distributed,
    /// A table of the migrations that is not tenant-owned, owned through a parent, the
    /// tenant table, nor declared global: nobody said whose rows it holds.
    Unclassified,
    /// A table or column the migrations do not create.
    Unknown,
}

/// One reason a statement is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// The rule that refused it.
    pub rule: Rule,
    /// What is wrong, naming the table and the clause.
    pub problem: String,
    /// A concrete change that fixes it.
    pub fix: String,
    /// Byte range in the statement of the offending part, when known.
    pub span: Option<(usize, usize)>,
}

impl Violation {
    pub(crate) fn new(
        rule: Rule,
        problem: impl Into<String>,
        fix: impl Into<String>,
        span: Option<(usize, usize)>,
    ) -> Self {
        Violation { rule, problem: problem.into(), fix: fix.into(), span }
    }
}

/// Parses `sql` in `backend`'s dialect and checks it against the confinement rules.
///
/// Returns every problem found, not only the first.
pub fn analyze(sql: &str, backend: Backend, schema: &Schema, mode: Mode) -> Result<Analysis, Vec<Violation>> {
    // Tokenized once, here: how deep the statement nests decides on which thread it is
    // analysed, and the parser takes the same tokens.
    let tokens = Tokenizer::new(&*backend.dialect(), sql).tokenize_with_location();
    let depth = tokens.as_deref().map(nesting::measure).unwrap_or_default();
    if depth.shallow() {
        return analyze_tokens(sql, tokens, depth, backend, schema, mode);
    }
    // A deep statement can take more stack than the caller's thread has (see `nesting`).
    std::thread::scope(|scope| {
        let deep = std::thread::Builder::new()
            .name("tenantry-analyzer".to_string())
            .stack_size(nesting::DEEP_STACK)
            .spawn_scoped(scope, move || analyze_tokens(sql, tokens, depth, backend, schema, mode));
        match deep {
            // A panic there is a panic here, as if the thread were not there.
            Ok(thread) => thread.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic)),
            Err(e) => Err(vec![Violation::new(
                Rule::Syntax,
                format!(
                    "the statement nests too deeply to analyse on this thread, and no thread could be started for it: {e}"
                ),
                "write the statement with fewer nested parentheses and subqueries",
                None,
            )]),
        }
    })
}

/// [`analyze`] on the statement's tokens (or the tokenizer's error).
fn analyze_tokens(
    sql: &str,
    tokens: Result<Vec<TokenWithSpan>, TokenizerError>,
    depth: nesting::Depth,
    backend: Backend,
    schema: &Schema,
    mode: Mode,
) -> Result<Analysis, Vec<Violation>> {
    let placeholders = placeholders::scan(sql, backend);
    let mut problems = Vec::new();
    for p in &placeholders.positional {
        problems.push(positional_parameter(&p.text, p.start));
    }
    for &at in &placeholders.executable_comments {
        problems.push(Violation::new(Rule::ServerSetting,
            "MySQL runs the SQL inside `/*! ... */` (MariaDB: `/*M! ... */`), or skips it by server version: tenantry cannot check what it does",
            "write that SQL as plain SQL, or remove the comment",
            Some((at, at + 3)),
        ));
    }
    if mode == Mode::Unscoped {
        for p in placeholders.occurrences.iter().filter(|p| p.name == TENANT_PLACEHOLDER) {
            problems.push(Violation::new(
                Rule::Parameter,
                "an unscoped method has no tenant to bind to `:tenant`",
                "remove `:tenant`, or drop `#[unscoped]` so that the method takes a scope guard",
                Some((p.start, p.end)),
            ));
        }
    }

    // `Parser::parse_sql` on the tokens, unless the tree would be too deep to walk: it
    // must not even be built (see `nesting`).
    let dialect = backend.dialect();
    let parsed = match tokens {
        Ok(tokens) => {
            if let Some(v) = depth.violation(sql) {
                problems.push(v);
                return Err(problems);
            }
            Parser::new(&*dialect).with_tokens_with_locations(tokens).parse_statements()
        }
        Err(e) => Err(ParserError::from(e)),
    };
    let statements = match parsed {
        Ok(statements) => statements,
        // A positional parameter is often what the parser trips on: that error says more.
        Err(_) if !placeholders.positional.is_empty() => return Err(problems),
        Err(e) => {
            let message = parse_message(&e);
            let span = parse_location(&message).and_then(|at| confinement::locate(sql, at));
            let message = message.split(" at Line: ").next().unwrap_or(&message).to_string();
            // PostgreSQL has no `?` parameter (it is a jsonb operator), so the parser stops
            // there: the mistake is the same positional parameter the other dialects name,
            // and worded the same, it is reported once for all of them.
            if let Some((start, _)) = span
                && sql[start..].starts_with('?')
            {
                problems.push(positional_parameter("?", start));
                return Err(problems);
            }
            problems.push(Violation::new(Rule::Syntax,
                format!("the statement does not parse as {} SQL: {message}", backend_title(backend)),
                format!(
                    "correct the SQL syntax; if {} runs the statement as written, tenantry's SQL parser (sqlparser {SQLPARSER}) does not know the construct yet: write it another way, or move it to an `#[unscoped(reason = \"...\")]` method",
                    backend_title(backend)
                ),
                span,
            ));
            return Err(problems);
        }
    };
    let statement = match statements.as_slice() {
        [one] => one,
        [] => {
            problems.push(Violation::new(Rule::Syntax, "the statement is empty", "write one SQL statement", None));
            return Err(problems);
        }
        [_, second, ..] => {
            problems.push(Violation::new(
                Rule::Syntax,
                format!("{} statements in one method: a method runs exactly one", statements.len()),
                "split the statements into separate methods (and call them in one transaction)",
                confinement::span_of_statement(second, sql),
            ));
            return Err(problems);
        }
    };

    if mode == Mode::Scoped {
        problems.extend(lexical::check(sql, backend, &*backend.dialect()));
    }
    let shape = match confinement::shape(statement, sql, schema, backend) {
        Ok(shape) => shape,
        Err(v) => {
            problems.push(v);
            return Err(problems);
        }
    };
    let mut tenant_predicates = Vec::new();
    let mut opted_in_writes = false;
    let mut warnings = Vec::new();
    let mut pins = Vec::new();
    if mode == Mode::Scoped {
        let tenant_uses = placeholders.count(TENANT_PLACEHOLDER);
        let checked = confinement::check(statement, sql, schema, backend, tenant_uses);
        problems.extend(checked.problems);
        if checked.tenant_predicates.len() == tenant_uses {
            tenant_predicates = checked.tenant_predicates;
        }
        opted_in_writes = checked.writes;
        warnings = checked.warnings;
        pins = checked.pins;
    }
    if problems.is_empty() {
        let (sql, tenant_predicates) = pinned(sql, &pins, tenant_predicates);
        let placeholders = if pins.is_empty() { placeholders } else { placeholders::scan(&sql, backend) };
        Ok(Analysis {
            sql,
            kind: shape.kind,
            writes: shape.writes || opted_in_writes,
            returns_rows: shape.returns_rows,
            at_most_one_row: shape.at_most_one_row,
            placeholders,
            tenant_predicates,
            warnings,
            tables: confinement::tables(statement, backend),
        })
    } else {
        Err(problems)
    }
}

/// `sql` with ` AND <column> = :tenant` after each pin's conjunct (see
/// [`Analysis::sql`]), and the tenant predicates moved with the text, the added ones
/// among them (a set of tenants confines them as it confines the others).
fn pinned(sql: &str, pins: &[confinement::Pin], predicates: Vec<TenantPredicate>) -> (String, Vec<TenantPredicate>) {
    if pins.is_empty() {
        return (sql.to_string(), predicates);
    }
    let mut out = String::with_capacity(sql.len() + pins.len() * 32);
    let mut added = Vec::new();
    let mut last = 0;
    // Where each byte offset of `sql` lands in `out`.
    let mut shifts: Vec<(usize, usize)> = Vec::new();
    for pin in pins {
        out.push_str(&sql[last..pin.at]);
        out.push_str(" AND ");
        let start = out.len();
        out.push_str(&format!("{} = :{TENANT_PLACEHOLDER}", pin.column));
        added.push(TenantPredicate { start, end: out.len(), column: pin.column.clone() });
        shifts.push((pin.at, out.len() - pin.at));
        last = pin.at;
    }
    out.push_str(&sql[last..]);
    let moved = |at: usize| at + shifts.iter().rev().find(|(from, _)| *from < at).map_or(0, |(_, by)| *by);
    // The set form needs every `:tenant` to be a tenant predicate, or none recorded.
    let complete = !predicates.is_empty();
    let mut all: Vec<TenantPredicate> = predicates
        .into_iter()
        .map(|p| TenantPredicate { start: moved(p.start), end: moved(p.end), ..p })
        .chain(added.into_iter().filter(|_| complete))
        .collect();
    all.sort_by_key(|p| p.start);
    (out, all)
}

/// A hand-written positional (or SQLite-style named) parameter at `start`.
fn positional_parameter(text: &str, start: usize) -> Violation {
    let named = text[1..].starts_with(|c: char| c.is_ascii_alphabetic() || c == '_');
    let problem = if named {
        format!("parameter `{text}` in SQLite's own syntax: tenantry binds only `:name` placeholders")
    } else {
        format!("positional parameter `{text}`: tenantry binds parameters by name")
    };
    Violation::new(
        Rule::Parameter,
        problem,
        "write `:name`, where `name` is an argument of the method",
        Some((start, start + text.len())),
    )
}

pub(crate) fn backend_title(backend: Backend) -> &'static str {
    match backend {
        Backend::Sqlite => "SQLite",
        Backend::Postgres => "PostgreSQL",
        Backend::MySql => "MySQL",
    }
}

/// sqlparser reports where it stopped as `... at Line: 1, Column: 27`.
fn parse_location(message: &str) -> Option<sqlparser::tokenizer::Span> {
    let (_, at) = message.rsplit_once("Line: ")?;
    let (line, column) = at.split_once(", Column: ")?;
    let column: String = column.chars().take_while(char::is_ascii_digit).collect();
    let start = sqlparser::tokenizer::Location { line: line.trim().parse().ok()?, column: column.parse().ok()? };
    Some(sqlparser::tokenizer::Span { start, end: start })
}

fn parse_message(e: &ParserError) -> String {
    match e {
        ParserError::ParserError(m) | ParserError::TokenizerError(m) => m.clone(),
        ParserError::RecursionLimitExceeded => "nested too deeply".to_string(),
    }
}

/// Compares names without ASCII case: for built-in function names and the hints of
/// messages only. References are resolved with each dialect's rules (`names`).
pub(crate) fn same_name(a: &str, b: &str) -> bool {
    a.eq_ignore_ascii_case(b)
}
