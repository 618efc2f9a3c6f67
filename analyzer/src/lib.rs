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

pub mod confinement;
pub mod placeholders;
mod render;

pub use placeholders::{Placeholder, Placeholders, Rewritten};
pub use render::render;

use sqlparser::dialect::{Dialect, MySqlDialect, PostgreSqlDialect, SQLiteDialect};
use sqlparser::parser::Parser;

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

    fn dialect(self) -> Box<dyn Dialect> {
        match self {
            Backend::Sqlite => Box::new(SQLiteDialect {}),
            Backend::Postgres => Box::new(PostgreSqlDialect {}),
            Backend::MySql => Box::new(MySqlDialect {}),
        }
    }
}

/// What the analyser knows of the schema: which column holds the tenant and which
/// tables belong to no tenant. Every other table is tenant-owned (deny by default).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schema {
    /// The tenant column of every tenant-owned table.
    pub tenant_column: String,
    /// Tables shared by all tenants (reference data such as `countries`).
    pub shared: Vec<String>,
}

impl Default for Schema {
    fn default() -> Self {
        Schema { tenant_column: "tenant_id".to_string(), shared: Vec::new() }
    }
}

impl Schema {
    /// A schema with `tenant_id` as tenant column and the given shared tables.
    pub fn with_shared<I: IntoIterator<Item = S>, S: Into<String>>(shared: I) -> Self {
        Schema { shared: shared.into_iter().map(Into::into).collect(), ..Schema::default() }
    }

    pub(crate) fn is_shared(&self, table: &str) -> bool {
        self.shared.iter().any(|s| same_name(s, table))
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
    /// The top-level statement kind.
    pub kind: StatementKind,
    /// Whether the statement can change rows (DML, or a query with a data-modifying CTE).
    pub writes: bool,
    /// Whether the statement produces rows (a query, or DML with `RETURNING`).
    pub returns_rows: bool,
    /// The `:name` placeholders, in source order.
    pub placeholders: Placeholders,
}

/// One reason a statement is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// What is wrong, naming the table and the clause.
    pub problem: String,
    /// A concrete change that fixes it.
    pub fix: String,
    /// Byte range in the statement of the offending part, when known.
    pub span: Option<(usize, usize)>,
}

impl Violation {
    pub(crate) fn new(problem: impl Into<String>, fix: impl Into<String>, span: Option<(usize, usize)>) -> Self {
        Violation { problem: problem.into(), fix: fix.into(), span }
    }
}

/// Parses `sql` in `backend`'s dialect and checks it against the confinement rules.
///
/// Returns every problem found, not only the first.
pub fn analyze(sql: &str, backend: Backend, schema: &Schema, mode: Mode) -> Result<Analysis, Vec<Violation>> {
    let placeholders = placeholders::scan(sql, backend);
    let mut problems = Vec::new();
    for p in &placeholders.positional {
        let named = p.text[1..].starts_with(|c: char| c.is_ascii_alphabetic() || c == '_');
        let problem = if named {
            format!("parameter `{}` in SQLite's own syntax: tenantry binds only `:name` placeholders", p.text)
        } else {
            format!("positional parameter `{}`: tenantry binds parameters by name", p.text)
        };
        problems.push(Violation::new(
            problem,
            "write `:name`, where `name` is an argument of the method",
            Some((p.start, p.start + p.text.len())),
        ));
    }
    for &at in &placeholders.executable_comments {
        problems.push(Violation::new(
            "MySQL runs the SQL inside `/*! ... */` (MariaDB: `/*M! ... */`), or skips it by server version: tenantry cannot check what it does",
            "write that SQL as plain SQL, or remove the comment",
            Some((at, at + 3)),
        ));
    }
    if mode == Mode::Unscoped {
        for p in placeholders.occurrences.iter().filter(|p| p.name == TENANT_PLACEHOLDER) {
            problems.push(Violation::new(
                "an unscoped method has no tenant to bind to `:tenant`",
                "remove `:tenant`, or drop `#[unscoped]` so that the method takes a scope guard",
                Some((p.start, p.end)),
            ));
        }
    }

    let statements = match Parser::parse_sql(&*backend.dialect(), sql) {
        Ok(statements) => statements,
        Err(e) => {
            problems.push(Violation::new(
                format!("the statement does not parse as {} SQL: {}", backend_title(backend), parse_message(&e)),
                "correct the SQL syntax",
                None,
            ));
            return Err(problems);
        }
    };
    let statement = match statements.as_slice() {
        [one] => one,
        [] => {
            problems.push(Violation::new("the statement is empty", "write one SQL statement", None));
            return Err(problems);
        }
        [_, second, ..] => {
            problems.push(Violation::new(
                format!("{} statements in one method: a method runs exactly one", statements.len()),
                "split the statements into separate methods (and call them in one transaction)",
                confinement::span_of_statement(second, sql),
            ));
            return Err(problems);
        }
    };

    let shape = match confinement::shape(statement, sql, schema) {
        Ok(shape) => shape,
        Err(v) => {
            problems.push(v);
            return Err(problems);
        }
    };
    if mode == Mode::Scoped {
        let tenant_uses = placeholders.count(TENANT_PLACEHOLDER);
        problems.extend(confinement::check(statement, sql, schema, backend, tenant_uses));
    }
    if problems.is_empty() {
        Ok(Analysis { kind: shape.kind, writes: shape.writes, returns_rows: shape.returns_rows, placeholders })
    } else {
        Err(problems)
    }
}

fn backend_title(backend: Backend) -> &'static str {
    match backend {
        Backend::Sqlite => "SQLite",
        Backend::Postgres => "PostgreSQL",
        Backend::MySql => "MySQL",
    }
}

fn parse_message(e: &sqlparser::parser::ParserError) -> String {
    use sqlparser::parser::ParserError;
    match e {
        ParserError::ParserError(m) | ParserError::TokenizerError(m) => m.clone(),
        ParserError::RecursionLimitExceeded => "nested too deeply".to_string(),
    }
}

/// Compares SQL names the way the analyser does: case-insensitively, quotes removed.
pub(crate) fn same_name(a: &str, b: &str) -> bool {
    a.eq_ignore_ascii_case(b)
}
