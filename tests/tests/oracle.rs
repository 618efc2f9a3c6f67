//! The soundness oracle (see `tenantry_tests::oracle`): every statement the analyser
//! accepts must return the same rows and make the same changes with PostgreSQL's
//! row-level security as without it. A difference is a statement that reaches another
//! tenant's rows, which the analyser let through.
//!
//! Judged: every PostgreSQL statement that `analyzer/tests/*.rs` asserts is confined, and
//! `TENANTRY_ORACLE_CASES` (default 1500) generated statements from seed
//! `TENANTRY_ORACLE_SEED` (default 1). `scripts/oracle-campaign.sh` runs many more.
//!
//! `TENANTRY_ORACLE_SQL=<statement>` judges one statement alone and prints the verdict.
//!
//! Skips, saying so on stderr, when PostgreSQL is unreachable, unless
//! `TENANTRY_REQUIRE_DB=1`.

use std::io::Write;
use std::panic::AssertUnwindSafe;
use std::time::Instant;

use futures_util::FutureExt;
use tenantry_tests::oracle::{Oracle, Summary, corpus, corpus_value, generator};

const DEFAULT_CASES: u64 = 1500;
const DEFAULT_SEED: u64 = 1;

fn env_number(name: &str, default: u64) -> u64 {
    match std::env::var(name) {
        Ok(v) if !v.is_empty() => v.parse().unwrap_or_else(|e| panic!("{name}={v:?}: {e}")),
        _ => default,
    }
}

#[tokio::test]
async fn accepted_statements_behave_the_same_under_row_level_security() {
    let seed = env_number("TENANTRY_ORACLE_SEED", DEFAULT_SEED);
    let cases = env_number("TENANTRY_ORACLE_CASES", DEFAULT_CASES);
    let Some(mut oracle) = Oracle::open().await else { return };
    let started = Instant::now();
    let suite = corpus::load(&corpus::analyzer_tests_dir());
    assert!(suite.unresolved.is_empty(), "safe(...) calls whose SQL the corpus cannot read: {:?}", suite.unresolved);

    // `TENANTRY_ORACLE_SQL`: judge that statement alone (placeholders as the generator's).
    if let Ok(sql) = std::env::var("TENANTRY_ORACLE_SQL") {
        let verdict = oracle.judge(&sql, &generator::value).await;
        oracle.remove().await;
        let mut summary = Summary::default();
        summary.record("TENANTRY_ORACLE_SQL", &sql, verdict.clone());
        let _ = writeln!(std::io::stderr(), "{sql}\n{verdict:?}");
        assert!(summary.differences.is_empty(), "{}", summary.differences[0]);
        return;
    }

    // The database is dropped whatever happens; a panic is re-raised after.
    let outcome = AssertUnwindSafe(async {
        let mut analyser = Summary::default();
        for s in &suite.statements {
            let verdict = oracle.judge(&s.sql, &corpus_value).await;
            analyser.record(&s.origin, &s.sql, verdict);
        }
        let mut generated = Summary::default();
        for i in 0..cases {
            let sql = generator::statement(seed, i);
            let verdict = oracle.judge(&sql, &generator::value).await;
            generated.record(&format!("generated, seed {seed}, case {i}"), &sql, verdict);
        }
        (analyser, generated)
    })
    .catch_unwind()
    .await;
    oracle.remove().await;
    let (analyser, generated) = outcome.unwrap_or_else(|panic| std::panic::resume_unwind(panic));

    // Straight to stderr: libtest keeps a passing test's output to itself, and the
    // summary is what a CI log should show.
    let mut report = String::new();
    let corpora = [("analyser tests", &analyser), (&*format!("generated (seed {seed})"), &generated)];
    for (name, summary) in corpora {
        report.push_str(&summary.line(name));
        report.push('\n');
        for (error, statements) in &summary.not_executable {
            report.push_str(&format!("  not executable ({}): {error}\n", statements.len()));
            for s in statements.iter().take(2) {
                report.push_str(&format!("      {s}\n"));
            }
        }
        for (why, n) in &summary.skipped {
            report.push_str(&format!("  skipped ({n}): {why}\n"));
        }
    }
    report.push_str(&format!("oracle took {:.1?}\n", started.elapsed()));
    let _ = std::io::stderr().write_all(report.as_bytes());

    let differences: Vec<String> =
        analyser.differences.iter().chain(&generated.differences).map(ToString::to_string).collect();
    assert!(
        differences.is_empty(),
        "{} accepted statement(s) behave differently under row-level security: the analyser let a leak \
         through. Each is listed with where it comes from and what differed (without RLS: as the \
         superuser; with RLS: as the tenant `acme`). Replay one generated case with \
         TENANTRY_ORACLE_SEED=<seed> and generator::statement(seed, case).\n\n{}",
        differences.len(),
        differences.join("\n")
    );
}
