//! Shared helpers for the analyser's test suite.
//!
//! Every test states a verdict on one statement: [`safe`] (it is confined, here is its
//! analysis) or [`leak`] (it is refused, and here is what the user reads). A wrong verdict
//! panics with the statement, the backend and every rendered message, so that a failure
//! reads like the compile error a user would see.
//!
//! The schema is the one of the `check` example: every table is tenant-owned with column
//! `tenant_id`, except the shared `countries` and `currencies`.

// Each test file uses a subset of these helpers.
#![allow(dead_code)]

pub use tenantry_analyzer::Rule;
use tenantry_analyzer::{Analysis, Backend, Mode, Schema, StatementKind, Violation, analyze, render};

/// Every backend: syntax the three dialects share.
pub const ALL: &[Backend] = &Backend::ALL;
/// PostgreSQL-only syntax (`ON CONFLICT ... ON CONSTRAINT`, `USING`, `LATERAL`, `$$`, ...).
pub const PG: &[Backend] = &[Backend::Postgres];
/// MySQL-only syntax (`ON DUPLICATE KEY UPDATE`, backticks, multi-table UPDATE/DELETE, ...).
pub const MYSQL: &[Backend] = &[Backend::MySql];
/// SQLite-only syntax (`INSERT OR REPLACE`, `?1`, ...).
pub const SQLITE: &[Backend] = &[Backend::Sqlite];
/// `ON CONFLICT` upserts, `RETURNING`: PostgreSQL and SQLite.
pub const PG_SQLITE: &[Backend] = &[Backend::Postgres, Backend::Sqlite];
/// `REPLACE INTO`: MySQL and SQLite.
pub const MYSQL_SQLITE: &[Backend] = &[Backend::MySql, Backend::Sqlite];

/// The schema every test runs against.
pub fn schema() -> Schema {
    Schema::with_shared(["countries", "currencies"])
}

/// The schema a verdict is given against, per backend (a catalog's names are stored as
/// each dialect stores them).
pub type SchemaFor<'a> = &'a dyn Fn(Backend) -> Schema;

fn run(backend: Backend, sql: &str, mode: Mode, schema_for: SchemaFor<'_>) -> Result<Analysis, Vec<Violation>> {
    analyze(sql, backend, &schema_for(backend), mode)
}

fn default_schema(_: Backend) -> Schema {
    schema()
}

fn rendered(sql: &str, violations: &[Violation]) -> String {
    violations.iter().map(|v| render(sql, v)).collect::<Vec<_>>().join("\n\n")
}

/// Asserts that `sql` is confined on every backend of `backends`; returns the analysis
/// of the first one.
#[track_caller]
pub fn safe(backends: &[Backend], sql: &str) -> Analysis {
    checked(backends, sql, Mode::Scoped, &default_schema)
}

/// [`safe`] against another schema.
#[track_caller]
pub fn safe_in(schema: SchemaFor<'_>, backends: &[Backend], sql: &str) -> Analysis {
    checked(backends, sql, Mode::Scoped, schema)
}

/// Asserts that `sql` is accepted as an `#[unscoped]` method on every backend of `backends`.
#[track_caller]
pub fn safe_unscoped(backends: &[Backend], sql: &str) -> Analysis {
    checked(backends, sql, Mode::Unscoped, &default_schema)
}

// Loops, not closures: a panic inside a closure would lose `#[track_caller]` and point
// here instead of at the test.
#[track_caller]
fn checked(backends: &[Backend], sql: &str, mode: Mode, schema: SchemaFor<'_>) -> Analysis {
    let mut first = None;
    for &backend in backends {
        match run(backend, sql, mode, schema) {
            Ok(a) => {
                first.get_or_insert(a);
            }
            Err(vs) => panic!(
                "expected {mode:?} statement to be accepted on {}, but it was refused:\n\n{}",
                backend.name(),
                rendered(sql, &vs)
            ),
        }
    }
    first.expect("at least one backend")
}

/// Asserts that `sql` is refused on every backend of `backends`; check what the user
/// reads with [`Refused::problem`] and [`Refused::fix`].
#[track_caller]
pub fn leak(backends: &[Backend], sql: &str) -> Refused {
    refused(backends, sql, Mode::Scoped, &default_schema)
}

/// [`leak`] against another schema.
#[track_caller]
pub fn leak_in(schema: SchemaFor<'_>, backends: &[Backend], sql: &str) -> Refused {
    refused(backends, sql, Mode::Scoped, schema)
}

/// Asserts that `sql` is refused as an `#[unscoped]` method on every backend of `backends`.
#[track_caller]
pub fn leak_unscoped(backends: &[Backend], sql: &str) -> Refused {
    refused(backends, sql, Mode::Unscoped, &default_schema)
}

#[track_caller]
fn refused(backends: &[Backend], sql: &str, mode: Mode, schema: SchemaFor<'_>) -> Refused {
    let mut per_backend = Vec::new();
    for &backend in backends {
        match run(backend, sql, mode, schema) {
            Err(vs) => per_backend.push((backend, vs)),
            Ok(a) => panic!(
                "expected {mode:?} statement to be refused on {}, but it was accepted ({:?}):\n\n    {sql}\n",
                backend.name(),
                a.kind
            ),
        }
    }
    Refused { sql: sql.to_string(), per_backend, current: Vec::new() }
}

/// The violations of a refused statement, per backend, with a cursor on the one the last
/// [`Refused::problem`] picked.
pub struct Refused {
    sql: String,
    per_backend: Vec<(Backend, Vec<Violation>)>,
    current: Vec<usize>,
}

impl Refused {
    /// Picks the violation whose problem contains every one of `parts` (on every
    /// backend); later calls to [`Refused::fix`] and [`Refused::at`] check that one.
    #[track_caller]
    pub fn problem(mut self, parts: &[&str]) -> Self {
        self.current.clear();
        for (backend, vs) in &self.per_backend {
            match vs.iter().position(|v| parts.iter().all(|p| v.problem.contains(p))) {
                Some(i) => self.current.push(i),
                None => panic!(
                    "on {}, no problem mentions all of {parts:?}; the messages are:\n\n{}",
                    backend.name(),
                    rendered(&self.sql, vs)
                ),
            }
        }
        self
    }

    /// Picks the violation of `rule` (on every backend), as [`Refused::problem`] picks by
    /// wording: what the rules found, independent of how it is worded.
    #[track_caller]
    pub fn rule(mut self, rule: Rule) -> Self {
        self.current.clear();
        for (backend, vs) in &self.per_backend {
            match vs.iter().position(|v| v.rule == rule) {
                Some(i) => self.current.push(i),
                None => panic!(
                    "on {}, no problem of rule {rule:?}; the problems are ({:?}):\n\n{}",
                    backend.name(),
                    vs.iter().map(|v| v.rule).collect::<Vec<_>>(),
                    rendered(&self.sql, vs)
                ),
            }
        }
        self
    }

    /// Asserts that the picked violation's fix contains every one of `parts`.
    #[track_caller]
    pub fn fix(self, parts: &[&str]) -> Self {
        for (backend, v) in self.picked() {
            let missing: Vec<&&str> = parts.iter().filter(|p| !v.fix.contains(*p)).collect();
            assert!(
                missing.is_empty(),
                "on {}, the fix does not mention {missing:?}:\n\n{}",
                backend.name(),
                render(&self.sql, v)
            );
        }
        self
    }

    /// Asserts that the picked violation's problem does not contain `text`.
    #[track_caller]
    pub fn not_saying(self, text: &str) -> Self {
        for (backend, v) in self.picked() {
            assert!(
                !v.problem.contains(text),
                "on {}, the problem should not say {text:?}:\n\n{}",
                backend.name(),
                render(&self.sql, v)
            );
        }
        self
    }

    /// Asserts that the picked violation points at the first occurrence of `text` in the
    /// statement.
    #[track_caller]
    pub fn at(self, text: &str) -> Self {
        let start = self.sql.find(text).unwrap_or_else(|| panic!("{text:?} is not in the statement"));
        for (backend, v) in self.picked() {
            assert_eq!(
                v.span.map(|(s, _)| s),
                Some(start),
                "on {}, the message should point at {text:?}:\n\n{}",
                backend.name(),
                render(&self.sql, v)
            );
        }
        self
    }

    /// Asserts the number of violations on every backend.
    #[track_caller]
    pub fn count(self, n: usize) -> Self {
        for (backend, vs) in &self.per_backend {
            assert_eq!(
                vs.len(),
                n,
                "on {}, expected {n} problem(s), got:\n\n{}",
                backend.name(),
                rendered(&self.sql, vs)
            );
        }
        self
    }

    /// The violations on the first backend, for assertions the helpers do not cover.
    pub fn violations(&self) -> &[Violation] {
        &self.per_backend[0].1
    }

    #[track_caller]
    fn picked(&self) -> impl Iterator<Item = (Backend, &Violation)> {
        assert!(!self.current.is_empty(), "call .problem(...) before checking the fix or the span");
        self.per_backend.iter().zip(&self.current).map(|((b, vs), i)| (*b, &vs[*i]))
    }
}

/// Asserts what generated code will be told about a confined statement.
#[track_caller]
pub fn assert_shape(a: &Analysis, kind: StatementKind, writes: bool, returns_rows: bool) {
    assert_eq!(
        (a.kind, a.writes, a.returns_rows),
        (kind, writes, returns_rows),
        "(kind, writes, returns_rows) of the analysis"
    );
}
