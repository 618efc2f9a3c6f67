//! Names are resolved as the database resolves them, and only a resolved tenant column
//! confines.
//!
//! Each rule has the leak refused and the nearest correct statement accepted, in every
//! dialect where the rule applies.

mod common;

use common::*;

// ----- only the tenant column of the qualifying table confines ---------------------------

#[test]
fn a_qualified_comparison_confines_only_with_the_tenant_column() {
    leak(ALL, "SELECT i.id FROM invoices i WHERE i.customer = :tenant")
        .rule(Rule::Unconfined)
        .problem(&["table `invoices i` in FROM", "`i.customer`, which is not its tenant column `tenant_id`"])
        .fix(&["add `AND i.tenant_id = :tenant`"]);
    leak(ALL, "SELECT id FROM invoices WHERE invoices.id = :tenant")
        .rule(Rule::Unconfined)
        .problem(&["`invoices`", "not confined"]);
    safe(ALL, "SELECT i.id FROM invoices i WHERE i.tenant_id = :tenant");
}

#[test]
fn a_join_condition_on_another_column_does_not_carry_the_tenant() {
    leak(ALL, "SELECT p.id FROM invoices i JOIN payments p ON p.invoice_id = i.id WHERE i.tenant_id = :tenant AND p.note = i.tenant_id")
        .rule(Rule::Unconfined).problem(&["table `payments p`", "not confined"]);
    safe(
        ALL,
        "SELECT p.id FROM invoices i JOIN payments p ON p.invoice_id = i.id AND p.tenant_id = i.tenant_id WHERE i.tenant_id = :tenant",
    );
}

#[test]
fn a_schema_qualified_column_names_its_table() {
    safe(PG, "SELECT id FROM public.invoices WHERE public.invoices.tenant_id = :tenant");
    // Whether `public` is the schema `invoices` was found in depends on the search path.
    leak(PG, "SELECT id FROM invoices WHERE public.invoices.tenant_id = :tenant")
        .rule(Rule::Unconfined)
        .problem(&["not confined"]);
    leak(PG, "SELECT id FROM public.invoices WHERE archive.invoices.tenant_id = :tenant")
        .rule(Rule::Unconfined)
        .problem(&["not confined"]);
}

// ----- identifier case and quoting ------------------------------------------------------

#[test]
fn postgres_keeps_the_case_of_quoted_names() {
    // `"Invoices"` is another CTE than the table `invoices`.
    leak(PG, r#"WITH "Invoices" AS (SELECT id FROM invoices WHERE tenant_id = :tenant) SELECT id FROM invoices"#)
        .rule(Rule::Unconfined)
        .problem(&["table `invoices` in FROM", "not confined"]);
    safe(PG, r#"WITH "Invoices" AS (SELECT id FROM invoices WHERE tenant_id = :tenant) SELECT id FROM "Invoices""#);
    safe(PG, r#"WITH Recent AS (SELECT id FROM invoices WHERE tenant_id = :tenant) SELECT id FROM RECENT"#);
    // A quoted alias keeps its case too.
    leak(PG, r#"SELECT i.id FROM invoices "I" JOIN invoices i ON true WHERE "I".tenant_id = :tenant"#)
        .rule(Rule::Unconfined)
        .problem(&["table `invoices i`", "not confined"]);
    safe(PG, r#"SELECT "I".id FROM invoices "I" WHERE "I".tenant_id = :tenant"#);
}

#[test]
fn sqlite_ignores_case_even_when_quoted() {
    safe(SQLITE, r#"WITH "Invoices" AS (SELECT id FROM invoices WHERE tenant_id = :tenant) SELECT id FROM invoices"#);
    safe(SQLITE, r#"SELECT "I".id FROM invoices i WHERE "I"."TENANT_ID" = :tenant"#);
}

#[test]
fn mysql_alias_and_table_case_is_refused_when_the_server_decides() {
    // With lower_case_table_names = 0 (Linux) `I` is not `i`; with 1 or 2 it is.
    leak(MYSQL, "SELECT i.id FROM invoices I WHERE i.tenant_id = :tenant")
        .rule(Rule::Unconfined)
        .problem(&["may or may not name `invoices I`", "lower_case_table_names"]);
    safe(MYSQL, "SELECT i.id FROM invoices i WHERE i.tenant_id = :tenant");
    leak(MYSQL, "WITH Recent AS (SELECT id FROM invoices WHERE tenant_id = :tenant) SELECT id FROM recent")
        .rule(Rule::UnresolvedName)
        .problem(&["may name a CTE or the table", "lower_case_table_names"]);
    safe(MYSQL, "WITH recent AS (SELECT id FROM invoices WHERE tenant_id = :tenant) SELECT id FROM recent");
    // Column names never have case in MySQL.
    safe(MYSQL, "SELECT id FROM invoices WHERE TENANT_ID = :tenant");
}

// ----- scopes ---------------------------------------------------------------------------

#[test]
fn a_cte_does_not_shadow_the_target_of_update_or_delete() {
    leak(
        PG_SQLITE,
        "WITH invoices AS (SELECT id FROM invoices WHERE tenant_id = :tenant) UPDATE invoices SET amount = 0",
    )
    .rule(Rule::Unconfined)
    .problem(&["table `invoices` in UPDATE", "not confined"]);
    leak(PG_SQLITE, "WITH invoices AS (SELECT id FROM invoices WHERE tenant_id = :tenant) DELETE FROM invoices")
        .rule(Rule::Unconfined)
        .problem(&["table `invoices` in DELETE FROM", "not confined"]);
    safe(
        PG_SQLITE,
        "WITH mine AS (SELECT id FROM invoices WHERE tenant_id = :tenant) \
         UPDATE invoices SET amount = 0 WHERE tenant_id = :tenant AND id IN (SELECT id FROM mine)",
    );
}

#[test]
fn table_with_a_schema_is_the_base_table() {
    leak(PG, "WITH invoices AS (SELECT * FROM invoices WHERE tenant_id = :tenant) TABLE public.invoices")
        .rule(Rule::Unconfined)
        .problem(&["`TABLE public.invoices`", "every tenant's rows"]);
    safe(PG, "WITH mine AS (SELECT * FROM invoices WHERE tenant_id = :tenant) TABLE mine");
}

#[test]
fn an_order_by_subquery_sees_its_own_from_first() {
    // In the ORDER BY subquery `i` is the nearest `i`: the derived table over shared
    // `countries`, whose `tenant_id` is not the tenant; not the confined outer invoices.
    leak(
        PG,
        "SELECT id FROM invoices i WHERE i.tenant_id = :tenant AND EXISTS ( \
           SELECT 1 FROM (SELECT code AS tenant_id FROM countries) i \
           ORDER BY (SELECT max(amount) FROM refunds r WHERE r.tenant_id = i.tenant_id))",
    )
    .rule(Rule::Unconfined)
    .problem(&["table `refunds r`", "not confined"]);
    // Correlated to the query's own confined FROM: accepted (it was refused before).
    safe(
        PG,
        "SELECT i.id FROM invoices i WHERE i.tenant_id = :tenant \
         ORDER BY (SELECT max(p.amount) FROM payments p WHERE p.tenant_id = i.tenant_id AND p.invoice_id = i.id)",
    );
}

#[test]
fn a_column_list_on_a_base_table_is_refused() {
    // `a(x, y)` renames the table's first columns: `x` may be the tenant column.
    leak(PG, "SELECT a.x FROM invoices AS a(x, y) WHERE a.tenant_id = :tenant")
        .rule(Rule::UnresolvedName)
        .problem(&["renames the columns of `invoices a` by position"])
        .fix(&["drop the column list"]);
    safe(PG, "SELECT a.id AS x FROM invoices AS a WHERE a.tenant_id = :tenant");
}

#[test]
fn a_column_list_on_a_derived_table_renames_by_position() {
    // The list renames `tenant_id` to `t` and `id` to `tenant_id`.
    leak(
        PG,
        "SELECT p.id FROM (SELECT tenant_id, id FROM invoices WHERE tenant_id = :tenant) AS d(t, tenant_id) \
         JOIN payments p ON p.tenant_id = d.tenant_id",
    )
    .rule(Rule::Unconfined)
    .problem(&["table `payments p`", "not confined"]);
    safe(
        PG,
        "SELECT p.id FROM (SELECT tenant_id, id FROM invoices WHERE tenant_id = :tenant) AS d(t, n) \
         JOIN payments p ON p.tenant_id = d.t",
    );
}

#[test]
fn set_operation_columns_hold_the_tenant_by_position() {
    // The second branch puts `id` where the first has `tenant_id`.
    leak(
        ALL,
        "WITH c AS (SELECT tenant_id, id FROM invoices WHERE tenant_id = :tenant \
                    UNION ALL SELECT id, tenant_id FROM payments WHERE tenant_id = :tenant) \
         SELECT o.id FROM orders o JOIN c ON o.tenant_id = c.tenant_id",
    )
    .rule(Rule::Unconfined)
    .problem(&["table `orders o`", "not confined"]);
    safe(
        ALL,
        "WITH c AS (SELECT tenant_id, id FROM invoices WHERE tenant_id = :tenant \
                    UNION ALL SELECT tenant_id, id FROM payments WHERE tenant_id = :tenant) \
         SELECT o.id FROM orders o JOIN c ON o.tenant_id = c.tenant_id",
    );
}

#[test]
fn an_unqualified_name_that_a_nearer_table_may_hold_is_uncertain() {
    // If shared `countries` has a `tenant_id` (say, for per-tenant overrides), the
    // derived table's `tenant_id` is that column, not the confined invoices' one.
    leak(
        ALL,
        "SELECT i.id FROM invoices i WHERE i.tenant_id = :tenant AND EXISTS ( \
           SELECT 1 FROM (SELECT tenant_id AS t FROM countries) x JOIN orders o ON o.tenant_id = x.t)",
    )
    .rule(Rule::Unconfined)
    .problem(&["table `orders o`", "not confined"]);
    safe(
        ALL,
        "SELECT i.id FROM invoices i WHERE i.tenant_id = :tenant AND EXISTS ( \
           SELECT 1 FROM (SELECT i.tenant_id AS t FROM countries) x JOIN orders o ON o.tenant_id = x.t)",
    );
}

#[test]
fn the_nearest_scope_wins_for_a_shadowed_alias() {
    leak(
        ALL,
        "SELECT i.id FROM invoices i WHERE i.tenant_id = :tenant AND EXISTS ( \
           SELECT 1 FROM payments i WHERE i.tenant_id = i.tenant_id)",
    )
    .rule(Rule::Unconfined)
    .problem(&["table `payments i`", "not confined"]);
    safe(
        ALL,
        "SELECT i.id FROM invoices i WHERE i.tenant_id = :tenant AND EXISTS ( \
           SELECT 1 FROM payments p WHERE p.tenant_id = i.tenant_id)",
    );
}

// ----- catalogs -------------------------------------------------------------------------

#[test]
fn catalog_and_statistics_tables_are_never_readable() {
    leak(PG, "SELECT most_common_vals FROM pg_stats WHERE tablename = 'invoices'")
        .rule(Rule::Catalog)
        .problem(&["`pg_stats`", "system catalog or statistics table"]);
    leak(PG, "SELECT reltuples FROM pg_catalog.pg_class")
        .rule(Rule::Catalog)
        .problem(&["`pg_catalog.pg_class`", "system catalog"]);
    leak(PG, "SELECT table_rows FROM information_schema.tables").rule(Rule::Catalog).problem(&["system catalog"]);
    leak(MYSQL, "SELECT table_rows FROM information_schema.tables").rule(Rule::Catalog).problem(&["system catalog"]);
    leak(MYSQL, "SELECT user FROM mysql.user").rule(Rule::Catalog).problem(&["system catalog"]);
    leak(SQLITE, "SELECT sql FROM sqlite_master").rule(Rule::Catalog).problem(&["system catalog"]);
    leak(SQLITE, "SELECT stat FROM sqlite_stat1").rule(Rule::Catalog).problem(&["system catalog"]);
}

#[test]
fn a_catalog_declared_shared_is_still_refused() {
    let schema = tenantry_analyzer::Schema::with_shared(["pg_stats", "sqlite_master"]);
    for (backend, sql) in [
        (tenantry_analyzer::Backend::Postgres, "SELECT most_common_vals FROM pg_stats"),
        (tenantry_analyzer::Backend::Sqlite, "SELECT sql FROM sqlite_master"),
    ] {
        let problems = tenantry_analyzer::analyze(sql, backend, &schema, tenantry_analyzer::Mode::Scoped)
            .expect_err("a catalog is never shared");
        assert!(problems[0].problem.contains("system catalog"), "{problems:?}");
    }
}

#[test]
fn the_safety_net_resolves_table_names_too() {
    // SQLite's `x IN table` reads a table outside FROM: only a shared one may be read so.
    safe(SQLITE, "SELECT id FROM invoices WHERE tenant_id = :tenant AND country IN countries");
    leak(SQLITE, "SELECT id FROM invoices WHERE tenant_id = :tenant AND customer_id IN customers")
        .rule(Rule::Uncheckable)
        .problem(&["table `customers` is used in a construct tenantry cannot check"]);
}

#[test]
fn a_qualified_column_must_name_a_table_in_scope() {
    // An alias hides its table's name, and a quoted PostgreSQL name keeps its case.
    leak(ALL, "SELECT invoices.id FROM invoices i WHERE i.tenant_id = :tenant")
        .rule(Rule::UnresolvedName)
        .problem(&["`invoices.id` names no table of the statement"]);
    leak(PG, r#"SELECT "I".id FROM invoices i WHERE i.tenant_id = :tenant"#).rule(Rule::UnresolvedName);
    leak(PG, "UPDATE invoices SET amount = 0 WHERE invoices.tenant_id = :tenant RETURNING x.id")
        .rule(Rule::UnresolvedName)
        .problem(&["`x.id`"]);
    safe(ALL, "SELECT i.id FROM invoices i WHERE i.tenant_id = :tenant");
    // A subquery's reference to the enclosing query's table resolves there.
    safe(
        ALL,
        "SELECT i.id FROM invoices i WHERE i.tenant_id = :tenant AND EXISTS (SELECT 1 FROM payments p WHERE p.tenant_id = i.tenant_id AND p.invoice_id = i.id)",
    );
}

#[test]
fn a_column_of_an_outer_joins_optional_side_does_not_hold_the_tenant() {
    // The FULL JOIN NULL-extends `d` where `c` has no match: the row would get no tenant.
    leak(
        PG,
        "INSERT INTO invoices (tenant_id) SELECT d.tenant_id FROM (SELECT tenant_id, id FROM refunds WHERE tenant_id = :tenant) d \
         FULL JOIN customers c ON d.id = c.id WHERE c.tenant_id = :tenant",
    )
    .rule(Rule::InsertTenant);
    leak(
        ALL,
        "INSERT INTO invoices (tenant_id, id) SELECT c.tenant_id, i.id FROM invoices i \
         LEFT JOIN customers c ON c.tenant_id = :tenant AND c.id = i.customer_id WHERE i.tenant_id = :tenant",
    )
    .rule(Rule::InsertTenant);
    safe(
        ALL,
        "INSERT INTO invoices (tenant_id, id) SELECT i.tenant_id, i.id FROM invoices i \
         LEFT JOIN customers c ON c.tenant_id = :tenant AND c.id = i.customer_id WHERE i.tenant_id = :tenant",
    );
}
