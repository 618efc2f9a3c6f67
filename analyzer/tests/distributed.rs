//! A distributed database (Citus): tenant tables distributed on the tenant column and
//! co-located, global tables as reference tables. A statement runs on one shard when each
//! tenant table in it is compared with the tenant itself, so the generated SQL
//! (`Analysis::sql`) states the tenant on every table the proof confines only through
//! another table's tenant column; and with `Schema::distributed`, what Citus cannot run on
//! one shard is refused. Each router form here was run on a Citus 13.2 cluster with
//! `citus.multi_task_query_log_level = 'error'` (`tests/tests/backends.rs`, module
//! `citus`).

mod common;

use common::*;
use tenantry_analyzer::{Backend, Schema, set_form};

// ----- the tenant stated where the proof is transitive ---------------------------------

#[test]
fn a_correlated_subquery_gets_the_tenant_of_its_own_table() {
    // Measured: without the added predicate Citus ran this on all 32 shards.
    assert_eq!(
        safe(
            ALL,
            "SELECT i.id, (SELECT SUM(p.amount) FROM payments p WHERE p.invoice_id = i.id AND p.tenant_id = i.tenant_id) \
             FROM invoices i WHERE i.tenant_id = :tenant"
        ).sql,
        "SELECT i.id, (SELECT SUM(p.amount) FROM payments p WHERE p.invoice_id = i.id AND p.tenant_id = i.tenant_id AND p.tenant_id = :tenant) \
         FROM invoices i WHERE i.tenant_id = :tenant"
    );
}

#[test]
fn the_added_predicate_is_written_as_the_proof_writes_the_column() {
    // A bare `tenant_id` inside the subquery is the subquery's own table's.
    assert_eq!(
        safe(
            ALL,
            "SELECT id FROM invoices WHERE tenant_id = :tenant AND \
             (amount > 100 OR EXISTS (SELECT 1 FROM payments WHERE invoice_id = invoices.id AND tenant_id = invoices.tenant_id))"
        ).sql,
        "SELECT id FROM invoices WHERE tenant_id = :tenant AND \
         (amount > 100 OR EXISTS (SELECT 1 FROM payments WHERE invoice_id = invoices.id AND tenant_id = invoices.tenant_id AND tenant_id = :tenant))"
    );
}

#[test]
fn a_join_on_the_tenant_column_and_an_update_set_subquery() {
    assert_eq!(
        safe(
            ALL,
            "SELECT i.id FROM invoices i LEFT JOIN payments p ON p.invoice_id = i.id AND p.tenant_id = i.tenant_id \
             WHERE i.tenant_id = :tenant"
        )
        .sql,
        "SELECT i.id FROM invoices i LEFT JOIN payments p ON p.invoice_id = i.id AND p.tenant_id = i.tenant_id AND p.tenant_id = :tenant \
         WHERE i.tenant_id = :tenant"
    );
    assert_eq!(
        safe(
            ALL,
            "UPDATE invoices SET paid = (SELECT COUNT(*) FROM payments p WHERE p.invoice_id = invoices.id \
             AND p.tenant_id = invoices.tenant_id) WHERE tenant_id = :tenant"
        )
        .sql,
        "UPDATE invoices SET paid = (SELECT COUNT(*) FROM payments p WHERE p.invoice_id = invoices.id \
         AND p.tenant_id = invoices.tenant_id AND p.tenant_id = :tenant) WHERE tenant_id = :tenant"
    );
}

#[test]
fn a_cte_column_that_holds_the_tenant_is_an_anchor_too() {
    assert_eq!(
        safe(
            ALL,
            "WITH mine AS (SELECT id, tenant_id FROM invoices WHERE tenant_id = :tenant) \
             SELECT p.id FROM payments p JOIN mine m ON p.invoice_id = m.id AND p.tenant_id = m.tenant_id"
        )
        .sql,
        "WITH mine AS (SELECT id, tenant_id FROM invoices WHERE tenant_id = :tenant) \
         SELECT p.id FROM payments p JOIN mine m ON p.invoice_id = m.id AND p.tenant_id = m.tenant_id AND p.tenant_id = :tenant"
    );
}

#[test]
fn a_table_compared_with_the_tenant_itself_is_left_as_written() {
    let added = |a: tenantry_analyzer::Analysis| a.sql.matches(":tenant").count();
    assert_eq!(added(safe(ALL, "SELECT id FROM invoices WHERE tenant_id = :tenant AND id = :id")), 1);
    // Confined twice, once directly: nothing to add.
    assert_eq!(
        added(safe(
            ALL,
            "SELECT i.id FROM invoices i JOIN payments p ON p.tenant_id = i.tenant_id AND p.invoice_id = i.id \
             WHERE i.tenant_id = :tenant AND p.tenant_id = :tenant"
        )),
        2
    );
    // `USING` merges the columns at one level, where the planner equates them itself.
    assert_eq!(
        added(safe(PG, "SELECT i.id FROM invoices i JOIN payments p USING (tenant_id) WHERE i.tenant_id = :tenant")),
        1
    );
}

#[test]
fn the_set_form_confines_the_added_predicates_to_the_set_too() {
    let a = safe(
        PG,
        "SELECT i.id FROM invoices i WHERE i.tenant_id = :tenant \
         AND NOT EXISTS (SELECT 1 FROM payments p WHERE p.invoice_id = i.id AND p.tenant_id = i.tenant_id)",
    );
    assert_eq!(
        set_form(&a.sql, &a, Backend::Postgres).unwrap(),
        "SELECT i.id FROM invoices i WHERE i.tenant_id = ANY(:tenant) \
         AND NOT EXISTS (SELECT 1 FROM payments p WHERE p.invoice_id = i.id AND p.tenant_id = i.tenant_id AND p.tenant_id = ANY(:tenant))"
    );
    assert_eq!(a.placeholders.count("tenant"), 2);
}

// ----- what Citus cannot run on one shard, refused under `distributed` ---------------

fn distributed(_: Backend) -> Schema {
    Schema { distributed: true, ..schema() }
}

#[test]
fn an_insert_with_a_subquery_is_refused() {
    // Citus: "subqueries are not supported within INSERT queries".
    leak_in(
        &distributed,
        PG,
        "INSERT INTO invoices (tenant_id, number) VALUES (:tenant, :number) \
         RETURNING id, (SELECT COUNT(*) FROM invoices WHERE tenant_id = :tenant)",
    )
    .count(1)
    .rule(Rule::Distributed)
    .problem(&["a subquery in an INSERT", "Citus refuses"])
    .fix(&["run the subquery as a method of its own"])
    .at("SELECT COUNT(*) FROM invoices WHERE tenant_id = :tenant");
    leak_in(
        &distributed,
        PG,
        "INSERT INTO payments (tenant_id, invoice_id, amount) \
         VALUES (:tenant, (SELECT id FROM invoices WHERE tenant_id = :tenant AND number = :number), :amount)",
    )
    .count(1)
    .rule(Rule::Distributed)
    .fix(&["once the foreign key includes the tenant column", "FOREIGN KEY (tenant_id, parent_id)"]);
}

#[test]
fn an_insert_select_from_a_tenant_table_is_refused() {
    // Measured: Citus plans it for every shard pair before it binds `:tenant`.
    leak_in(
        &distributed,
        PG,
        "INSERT INTO payments (tenant_id, invoice_id, amount) \
         SELECT tenant_id, id, amount FROM invoices WHERE tenant_id = :tenant AND number = :number",
    )
    .count(1)
    .rule(Rule::Distributed)
    .problem(&["INSERT ... SELECT", "`invoices`", "every shard"])
    .fix(&["WITH"])
    .at("invoices");
}

#[test]
fn an_insert_select_through_a_cte_runs_on_one_shard() {
    // The CTE runs first, on the tenant's shard; its rows are then inserted on theirs.
    safe_in(
        &distributed,
        PG,
        "WITH src AS (SELECT tenant_id, id, amount FROM invoices WHERE tenant_id = :tenant AND number = :number) \
         INSERT INTO payments (tenant_id, invoice_id, amount) SELECT tenant_id, id, amount FROM src",
    );
    safe_in(&distributed, PG, "INSERT INTO payments (tenant_id, invoice_id, amount) SELECT :tenant, :invoice, :amount");
}

#[test]
fn an_upsert_target_without_the_tenant_column_is_refused() {
    // On a distributed table every unique key includes the tenant column.
    leak_in(
        &distributed,
        PG,
        "INSERT INTO invoices (tenant_id, number, amount) VALUES (:tenant, :number, :amount) \
         ON CONFLICT (number) DO UPDATE SET amount = excluded.amount WHERE invoices.tenant_id = :tenant",
    )
    .count(1)
    .rule(Rule::Distributed)
    .problem(&["ON CONFLICT (number)", "tenant column"])
    .fix(&["ON CONFLICT (tenant_id, number)"]);
    safe_in(
        &distributed,
        PG,
        "INSERT INTO invoices (tenant_id, number, amount) VALUES (:tenant, :number, :amount) \
         ON CONFLICT (tenant_id, number) DO UPDATE SET amount = excluded.amount",
    );
}

#[test]
fn without_distributed_the_same_statements_are_accepted() {
    safe(
        PG,
        "INSERT INTO payments (tenant_id, invoice_id, amount) \
         SELECT tenant_id, id, amount FROM invoices WHERE tenant_id = :tenant AND number = :number",
    );
}

// ----- the distribution DDL and what keeps a table from being distributed ------------

fn catalog(sql: &str) -> Schema {
    use tenantry_analyzer::schema::{Catalog, Migration};
    let migration = Migration { version: 1, path: "1_schema.sql".into(), sql: sql.into() };
    let catalog = Catalog::from_migrations(&[migration], Backend::Postgres).expect("the migration applies");
    Schema { catalog: Some(catalog), shared: vec!["countries".into()], distributed: true, ..Schema::default() }
}

#[test]
fn the_migration_distributes_tenant_tables_and_replicates_global_ones_parents_first() {
    use tenantry_analyzer::schema::distribution_migration;
    // `payments` is created first but references `invoices`: Citus wants `invoices` first.
    let schema = catalog(
        "CREATE TABLE countries (code TEXT PRIMARY KEY, name TEXT NOT NULL);
         CREATE TABLE payments (id BIGINT NOT NULL, tenant_id TEXT NOT NULL, invoice_id BIGINT NOT NULL,
             PRIMARY KEY (tenant_id, id));
         CREATE TABLE invoices (id BIGINT NOT NULL, tenant_id TEXT NOT NULL, country TEXT REFERENCES countries (code),
             PRIMARY KEY (tenant_id, id));
         ALTER TABLE payments ADD FOREIGN KEY (tenant_id, invoice_id) REFERENCES invoices (tenant_id, id);",
    );
    let ddl = distribution_migration(&schema).unwrap();
    let statements: Vec<&str> = ddl.lines().filter(|l| l.starts_with("SELECT")).collect();
    assert_eq!(
        statements,
        [
            r#"SELECT create_reference_table('"countries"');"#,
            r#"SELECT create_distributed_table('"invoices"', 'tenant_id');"#,
            r#"SELECT create_distributed_table('"payments"', 'tenant_id', colocate_with => '"invoices"');"#,
        ]
    );
}

#[test]
fn what_citus_refuses_to_distribute_is_an_error_and_a_lint_finding() {
    use tenantry_analyzer::schema::{DistributionError, distribution_migration, lint};
    let schema = catalog(
        "CREATE TABLE countries (code TEXT PRIMARY KEY);
         CREATE TABLE invoices (id BIGINT PRIMARY KEY, tenant_id TEXT NOT NULL, number TEXT NOT NULL UNIQUE);
         CREATE TABLE lines (id BIGINT, invoice_id BIGINT NOT NULL REFERENCES invoices (id), PRIMARY KEY (invoice_id, id));
         CREATE TABLE ledger (id BIGINT, tenant_id BIGINT NOT NULL, PRIMARY KEY (tenant_id, id));",
    );
    let found = match distribution_migration(&schema) {
        Err(DistributionError::NotDistributable(found)) => found,
        other => panic!("the schema cannot be distributed as it is, got {other:?}"),
    };
    let said: Vec<(&str, &str, &str)> =
        found.iter().map(|f| (f.table.as_str(), f.problem.as_str(), f.fix.as_str())).collect();
    let says = |table: &str, problem: &str, fix: &str| {
        assert!(
            said.iter().any(|(t, p, f)| *t == table && p.contains(problem) && f.contains(fix)),
            "no finding on `{table}` saying `{problem}` with fix `{fix}` in {said:#?}"
        );
    };
    says("invoices", "primary key (\"id\") does not include the tenant column", "PRIMARY KEY (\"tenant_id\", \"id\")");
    says("invoices", "unique key (\"number\")", "UNIQUE (\"tenant_id\", \"number\")");
    says(
        "lines",
        "cannot be co-located with `invoices`",
        "FOREIGN KEY (\"tenant_id\", \"invoice_id\") REFERENCES \"invoices\"",
    );
    says("ledger", "of type `bigint` and `invoices`'s of `text`", "TYPE text");
    assert_eq!(found.len(), 4, "{said:#?}");
    // The lint of a distributed repository says the same, once each.
    assert_eq!(lint(&schema, Backend::Postgres), found);
}
