//! A `fix:` applied literally compiles and keeps a subset of what the statement meant.
//!
//! These tests apply the fix's text to the statement and run the analyser again.

mod common;

use common::*;

/// Asserts that a statement built from a fix is accepted on every backend of `backends`.
/// (Built statements are not `safe(...)` cases: the soundness oracle reads those from the
/// source as literals.)
#[track_caller]
fn accepted(backends: &[tenantry_analyzer::Backend], sql: &str) {
    for &backend in backends {
        let r = tenantry_analyzer::analyze(sql, backend, &schema(), tenantry_analyzer::Mode::Scoped);
        assert!(r.is_ok(), "the fixed statement is refused on {backend:?}: {sql}\n{r:?}");
    }
}

/// The first backticked code in a fix.
fn code(fix: &str) -> &str {
    fix.split('`').nth(1).expect("the fix quotes code")
}

#[test]
fn the_or_fix_puts_the_tenant_beside_the_or_and_keeps_it() {
    let sql = "SELECT id FROM invoices WHERE tenant_id = :tenant OR id = :id";
    let refused = leak(ALL, sql).problem(&["under OR"]);
    let fix = &refused.violations()[0].fix;
    let condition = code(fix.split("write ").nth(1).expect("a condition to write"));
    // The condition keeps the OR in parentheses: never `a = :tenant AND a = :tenant`.
    assert_eq!(condition, "tenant_id = :tenant AND (tenant_id = :tenant OR id = :id)");
    accepted(ALL, &format!("SELECT id FROM invoices WHERE {condition}"));
}

#[test]
fn a_tenant_condition_that_says_more_is_kept_and_the_tenant_added() {
    // Replacing the whole row-value IN with `tenant_id = :tenant` would delete every row of
    // the tenant; the fix keeps it and adds the predicate.
    let sql = "DELETE FROM invoices WHERE (tenant_id, number, id) IN (SELECT tenant_id, number, id FROM archived)";
    let refused = leak(PG, sql).problem(&["table `invoices` in DELETE FROM"]);
    let fix = &refused.violations()[0].fix;
    assert!(fix.starts_with("keep the condition and add `AND tenant_id = :tenant`"), "{fix}");
    assert!(!fix.contains("replace"), "{fix}");
}

#[test]
fn a_condition_on_the_tenant_column_alone_is_replaced() {
    let sql = "SELECT id FROM invoices WHERE tenant_id = :org";
    let refused = leak(ALL, sql).problem(&["other than `:tenant`"]);
    let fix = &refused.violations()[0].fix;
    assert!(fix.starts_with("replace `tenant_id = :org` with `tenant_id = :tenant`"), "{fix}");
    accepted(ALL, &sql.replace(code(fix), "tenant_id = :tenant"));
}

#[test]
fn fixes_quote_the_tenant_column_as_the_database_needs() {
    let schema = tenantry_analyzer::Schema { tenant_column: "tenantId".into(), ..Default::default() };
    let pg = tenantry_analyzer::Backend::Postgres;
    let sql = "SELECT id FROM invoices WHERE id = :id";
    let problems = tenantry_analyzer::analyze(sql, pg, &schema, tenantry_analyzer::Mode::Scoped).unwrap_err();
    assert!(problems[0].fix.contains(r#"`AND "tenantId" = :tenant`"#), "{}", problems[0].fix);
    // Unquoted, PostgreSQL folds `tenantId` to `tenantid`: another column.
    let unquoted = "SELECT id FROM invoices WHERE tenantId = :tenant";
    assert!(tenantry_analyzer::analyze(unquoted, pg, &schema, tenantry_analyzer::Mode::Scoped).is_err());
    let fixed = r#"SELECT id FROM invoices WHERE id = :id AND "tenantId" = :tenant"#;
    assert!(tenantry_analyzer::analyze(fixed, pg, &schema, tenantry_analyzer::Mode::Scoped).is_ok());
}
