//! A soundness oracle for the analyser, with PostgreSQL's row-level security as the judge.
//!
//! On a database holding several tenants' rows ([`judge::SCHEMA_SQL`]), with RLS policies
//! that force the tenant, every statement the analyser accepts must return the same rows
//! and make the same changes without RLS as with it. A difference is a statement that
//! reaches another tenant's rows, which the analyser let through.
//!
//! Statements come from two corpora: the analyser's own test suite ([`corpus`]) and a
//! seeded generator of adversarial statements ([`generator`]). `tests/tests/oracle.rs`
//! runs both; `scripts/oracle-campaign.sh` runs the generator for longer.
//!
//! A second fixture models ownership learned from migrations ([`ownership`]): the tenant
//! table, per-table tenant columns, child and grandchild tables confined through their
//! parents, with RLS policies that follow the parent chain. The analyser reads its
//! catalog from the fixture's own DDL. It judges the `safe_in(&app, ...)` statements of
//! `analyzer/tests/ownership.rs` and a generator of child-table statements ([`children`]).
//!
//! The oracle only finds leaks that the fixture's data exposes: a statement that would
//! read another tenant's row the fixture does not have passes. The fixture is built so
//! that the usual mistakes meet such rows (overlapping ids, the tenant's name in other
//! columns of other tenants' rows).

pub mod children;
pub mod corpus;
pub mod generator;
pub mod judge;
pub mod ownership;

use std::collections::BTreeMap;
use std::fmt;

pub use judge::{Oracle, Verdict};

/// What the placeholders of the analyser's tests stand for, by name. `:tenant` is always
/// the tenant; a name not listed is `'1'`, which PostgreSQL reads as a number, a boolean
/// (true) or text, as the context wants.
pub fn corpus_value(name: &str) -> String {
    match name {
        // Another tenant, where a test compares the tenant column with something else.
        "org" => "globex",
        "amount" => "500",
        "min" | "after" | "below" => "0",
        "count" => "3",
        "code" => "FR",
        "customer" => "acme",
        // acme's own invoice number: an upsert conflicts with acme's row, not another's.
        "number" => "A-001",
        "note" => "note 1",
        "name" => "theme",
        "a" | "b" | "c" => "42",
        _ => "1",
    }
    .to_string()
}

/// The tally of one corpus.
#[derive(Debug, Default)]
pub struct Summary {
    /// Statements judged.
    pub statements: usize,
    /// Accepted by the analyser.
    pub accepted: usize,
    /// Accepted and compared (same or different).
    pub judged: usize,
    /// Accepted but failing alike in both runs, by error message.
    pub not_executable: BTreeMap<String, Vec<String>>,
    /// Accepted but not comparable, by reason.
    pub skipped: BTreeMap<&'static str, usize>,
    /// Accepted, and the runs differ.
    pub differences: Vec<Finding>,
}

/// A statement the oracle caught.
#[derive(Debug, Clone)]
pub struct Finding {
    /// Where it comes from: a test function, or the generator's seed and case number.
    pub origin: String,
    pub sql: String,
    /// What differed, one line each.
    pub what: Vec<String>,
}

impl Summary {
    /// Counts `verdict` on `sql` from `origin`.
    pub fn record(&mut self, origin: &str, sql: &str, verdict: Verdict) {
        self.statements += 1;
        match verdict {
            Verdict::Refused(_) => return,
            Verdict::Skipped(why) => *self.skipped.entry(why).or_default() += 1,
            Verdict::NotExecutable(error) => self.not_executable.entry(error).or_default().push(sql.to_string()),
            Verdict::Same => self.judged += 1,
            Verdict::Differs(what) => {
                self.judged += 1;
                self.differences.push(Finding { origin: origin.to_string(), sql: sql.to_string(), what });
            }
        }
        self.accepted += 1;
    }

    /// Accepted statements that failed alike in both runs.
    pub fn not_executable_count(&self) -> usize {
        self.not_executable.values().map(Vec::len).sum()
    }

    /// `accepted / judged / not executable / differences` in one line.
    pub fn line(&self, corpus: &str) -> String {
        let skipped: usize = self.skipped.values().sum();
        format!(
            "oracle {corpus}: {} statements, {} accepted ({:.0}%), {} judged, {} not executable, {} skipped, {} differences",
            self.statements,
            self.accepted,
            percent(self.accepted, self.statements),
            self.judged,
            self.not_executable_count(),
            skipped,
            self.differences.len()
        )
    }
}

fn percent(part: usize, whole: usize) -> f64 {
    if whole == 0 { 0.0 } else { 100.0 * part as f64 / whole as f64 }
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "--- {}", self.origin)?;
        writeln!(f, "    {}", self.sql)?;
        for line in &self.what {
            writeln!(f, "    {line}")?;
        }
        Ok(())
    }
}
