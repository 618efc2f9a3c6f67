//! Writes: INSERT sets the tenant column to `:tenant` in every row, UPDATE and DELETE are
//! confined like reads and never move a row to another tenant, upserts cannot overwrite
//! another tenant's row, and shared tables are read-only to a scoped method.

mod common;

use common::*;
use tenantry_analyzer::StatementKind;

// ----- INSERT ... VALUES ----------------------------------------------------------------

#[test]
fn insert_setting_the_tenant_column_to_the_tenant() {
    let a = safe(ALL, "INSERT INTO invoices (tenant_id, customer, amount) VALUES (:tenant, :customer, :amount)");
    assert_shape(&a, StatementKind::Insert, true, false);
    assert_eq!(a.placeholders.names(), ["tenant", "customer", "amount"]);
}

#[test]
fn insert_with_the_tenant_column_anywhere_in_the_list() {
    safe(ALL, "INSERT INTO invoices (customer, amount, TENANT_ID) VALUES (:customer, :amount, :tenant)");
}

#[test]
fn insert_returning_rows() {
    let a = safe(PG_SQLITE, "INSERT INTO invoices (tenant_id, amount) VALUES (:tenant, :amount) RETURNING id");
    assert_shape(&a, StatementKind::Insert, true, true);
}

#[test]
fn insert_without_the_tenant_column_is_a_leak() {
    leak(ALL, "INSERT INTO invoices (customer, amount) VALUES (:customer, :amount)")
        .count(1)
        .problem(&["INSERT into `invoices`", "does not set the tenant column `tenant_id`"])
        .fix(&["add `tenant_id` to the column list and `:tenant` to every row"])
        .at("invoices");
}

#[test]
fn insert_without_a_column_list_is_refused() {
    // Which value lands in `tenant_id` depends on the table's column order.
    leak(ALL, "INSERT INTO invoices VALUES (:tenant, :customer, :amount)")
        .problem(&["INSERT into `invoices`", "does not name its columns"])
        .fix(&["list the columns, including `tenant_id`"]);
}

#[test]
fn insert_of_another_value_for_the_tenant_is_a_leak() {
    leak(ALL, "INSERT INTO invoices (tenant_id, amount) VALUES (:org, :amount)")
        .problem(&["INSERT into `invoices`", "VALUES row 1 sets `tenant_id` to `:org` instead of `:tenant`"])
        .fix(&["write `:tenant` for `tenant_id` in every row"])
        .at(":org");
}

#[test]
fn every_values_row_must_set_the_tenant() {
    safe(ALL, "INSERT INTO invoices (tenant_id, amount) VALUES (:tenant, :a), (:tenant, :b), (:tenant, :c)");
    leak(ALL, "INSERT INTO invoices (tenant_id, amount) VALUES (:tenant, :a), ('acme', :b), (:tenant, :c)")
        .count(1)
        .problem(&["INSERT into `invoices`", "VALUES row 2 sets `tenant_id` to `'acme'`"])
        .fix(&["`:tenant` for `tenant_id` in every row"])
        .at("'acme'");
}

#[test]
fn values_row_shorter_than_the_column_list_is_refused() {
    leak(PG, "INSERT INTO invoices (amount, tenant_id) VALUES (:a, :tenant), (:b)")
        .problem(&["INSERT into `invoices`", "VALUES row 2 has fewer values than columns"])
        .fix(&["one value per column"]);
}

#[test]
fn insert_default_values_is_a_leak() {
    leak(PG_SQLITE, "INSERT INTO invoices DEFAULT VALUES")
        .problem(&["INSERT into `invoices`", "(DEFAULT VALUES)", "no rows that set `tenant_id`"])
        .fix(&["INSERT INTO invoices (tenant_id, ...) VALUES (:tenant, ...)"]);
}

#[test]
fn subquery_in_a_values_row_is_checked() {
    safe(
        ALL,
        "INSERT INTO invoices (tenant_id, amount) VALUES (:tenant, (SELECT max(amount) FROM drafts WHERE tenant_id = :tenant))",
    );
    leak(ALL, "INSERT INTO invoices (tenant_id, amount) VALUES (:tenant, (SELECT max(amount) FROM drafts))")
        .count(1)
        .problem(&["table `drafts`", "of a subquery of VALUES", "not confined"])
        .fix(&["WHERE tenant_id = :tenant"]);
}

#[test]
fn subquery_in_returning_is_checked() {
    leak(PG, "INSERT INTO invoices (tenant_id, amount) VALUES (:tenant, :a) RETURNING (SELECT count(*) FROM invoices)")
        .problem(&["table `invoices`", "of a subquery of RETURNING", "not confined"])
        .fix(&["WHERE tenant_id = :tenant"]);
}

#[test]
fn insert_into_a_schema_qualified_table() {
    safe(PG, "INSERT INTO public.invoices (tenant_id, amount) VALUES (:tenant, :amount)");
    leak(PG, "INSERT INTO public.invoices (amount) VALUES (:amount)")
        .problem(&["INSERT into `public.invoices`", "does not set the tenant column"])
        .fix(&["add `tenant_id`"]);
}

// ----- INSERT ... SELECT ----------------------------------------------------------------

#[test]
fn insert_select_of_the_tenant_from_a_confined_source() {
    safe(
        ALL,
        "INSERT INTO invoices (tenant_id, amount) SELECT :tenant, amount FROM drafts WHERE tenant_id = :tenant AND id = :id",
    );
    safe(
        ALL,
        "INSERT INTO invoices (tenant_id, amount) SELECT tenant_id, amount FROM drafts WHERE tenant_id = :tenant",
    );
    safe(
        ALL,
        "INSERT INTO invoices (amount, tenant_id) SELECT d.amount, d.tenant_id FROM drafts d WHERE d.tenant_id = :tenant",
    );
}

#[test]
fn insert_select_of_the_tenant_from_shared_tables_only() {
    safe(ALL, "INSERT INTO invoices (tenant_id, country) SELECT :tenant, code FROM countries WHERE code = :code");
    safe(
        ALL,
        "INSERT INTO invoices (tenant_id, country) SELECT :tenant, code FROM countries \
         UNION SELECT :tenant, code FROM currencies",
    );
}

#[test]
fn insert_select_from_an_unconfined_source_is_a_leak() {
    leak(ALL, "INSERT INTO invoices (tenant_id, amount) SELECT :tenant, amount FROM drafts WHERE id = :id")
        .count(1)
        .problem(&["table `drafts`", "of the SELECT of INSERT", "not confined"])
        .fix(&["AND tenant_id = :tenant"]);
}

#[test]
fn insert_select_of_another_tenant_value_is_a_leak() {
    leak(ALL, "INSERT INTO invoices (tenant_id, amount) SELECT :org, amount FROM drafts WHERE tenant_id = :tenant")
        .count(1)
        .problem(&[
            "INSERT into `invoices` ... SELECT",
            "the selected value for `tenant_id` is not provably the tenant",
        ])
        .fix(&["select `:tenant` (or the confined source's `tenant_id`) in that position"]);
}

#[test]
fn insert_select_of_an_unconfined_tenant_column_is_a_leak() {
    leak(ALL, "INSERT INTO invoices (tenant_id, amount) SELECT tenant_id, amount FROM drafts")
        .count(2)
        .problem(&["INSERT into `invoices` ... SELECT", "not provably the tenant"])
        .fix(&["in that position"]);
}

#[test]
fn insert_select_star_is_refused() {
    leak(ALL, "INSERT INTO invoices (tenant_id, amount) SELECT * FROM drafts WHERE tenant_id = :tenant")
        .problem(&["INSERT into `invoices` ... SELECT", "not provably the tenant"])
        .fix(&["list columns instead of `*`"]);
}

#[test]
fn insert_select_with_a_branch_of_another_tenant_is_a_leak() {
    leak(
        ALL,
        "INSERT INTO invoices (tenant_id, amount) SELECT :tenant, amount FROM drafts WHERE tenant_id = :tenant \
         UNION ALL SELECT tenant_id, amount FROM archive WHERE tenant_id = :org",
    )
    .problem(&["INSERT into `invoices` ... SELECT", "not provably the tenant"])
    .fix(&["in that position"]);
}

#[test]
fn insert_from_a_cte_that_holds_the_tenant() {
    let a = safe(
        PG_SQLITE,
        "WITH src AS (SELECT tenant_id, amount FROM drafts WHERE tenant_id = :tenant) \
         INSERT INTO invoices (tenant_id, amount) SELECT tenant_id, amount FROM src",
    );
    assert_shape(&a, StatementKind::Insert, true, false);
}

#[test]
fn moving_rows_through_a_data_modifying_cte() {
    let a = safe(
        PG,
        "WITH moved AS (DELETE FROM drafts WHERE tenant_id = :tenant AND id = :id RETURNING tenant_id, amount) \
         INSERT INTO invoices (tenant_id, amount) SELECT tenant_id, amount FROM moved",
    );
    assert_shape(&a, StatementKind::Insert, true, false);
    safe(
        PG,
        "WITH moved AS (DELETE FROM drafts WHERE tenant_id = :tenant RETURNING *) \
         INSERT INTO invoices (tenant_id, amount) SELECT tenant_id, amount FROM moved",
    );
    leak(
        PG,
        "WITH moved AS (DELETE FROM drafts WHERE tenant_id = :tenant RETURNING :org AS tenant_id, amount) \
         INSERT INTO invoices (tenant_id, amount) SELECT tenant_id, amount FROM moved",
    )
    .count(1)
    .problem(&["INSERT into `invoices` ... SELECT", "not provably the tenant"])
    .fix(&["in that position"]);
}

// ----- MySQL INSERT ... SET -------------------------------------------------------------

#[test]
fn mysql_insert_set_with_the_tenant() {
    safe(MYSQL, "INSERT INTO invoices SET tenant_id = :tenant, amount = :amount");
}

#[test]
fn mysql_insert_set_without_the_tenant_is_a_leak() {
    leak(MYSQL, "INSERT INTO invoices SET amount = :amount")
        .problem(&["INSERT into `invoices`", "does not set the tenant column `tenant_id`"])
        .fix(&["add `tenant_id = :tenant` to the SET list"]);
}

#[test]
fn mysql_insert_set_of_another_tenant_is_a_leak() {
    leak(MYSQL, "INSERT INTO invoices SET tenant_id = :org, amount = :amount")
        .problem(&["INSERT into `invoices`", "sets `tenant_id` to `:org` instead of `:tenant`"])
        .fix(&["write `tenant_id = :tenant`"]);
}

// ----- UPDATE -----------------------------------------------------------------------

#[test]
fn update_confined_in_where() {
    let a = safe(ALL, "UPDATE invoices SET amount = :amount WHERE tenant_id = :tenant AND id = :id");
    assert_shape(&a, StatementKind::Update, true, false);
    let a = safe(PG_SQLITE, "UPDATE invoices SET amount = 0 WHERE tenant_id = :tenant RETURNING id");
    assert_shape(&a, StatementKind::Update, true, true);
}

#[test]
fn update_without_where_is_a_leak() {
    leak(ALL, "UPDATE invoices SET amount = 0")
        .problem(&["table `invoices`", "in UPDATE", "not confined", "never uses `:tenant`"])
        .fix(&["add `WHERE tenant_id = :tenant`"])
        .at("invoices");
}

#[test]
fn update_with_tenant_under_or_is_a_leak() {
    leak(ALL, "UPDATE invoices SET amount = 0 WHERE tenant_id = :tenant OR id = :id")
        .problem(&["table `invoices`", "in UPDATE", "under OR"])
        .fix(&["confine outside the OR in the WHERE clause"]);
}

#[test]
fn update_of_the_tenant_column_is_refused() {
    leak(ALL, "UPDATE invoices SET tenant_id = :org WHERE tenant_id = :tenant AND id = :id")
        .count(1)
        .problem(&["UPDATE changes the tenant column `tenant_id`", "moves rows to another tenant"])
        .fix(&["remove `tenant_id` from the SET list", "#[unscoped]"])
        .at("tenant_id = :org");
}

#[test]
fn update_of_the_tenant_column_even_to_the_tenant_is_refused() {
    leak(ALL, "UPDATE invoices SET tenant_id = :tenant, amount = 0 WHERE tenant_id = :tenant")
        .problem(&["UPDATE changes the tenant column `tenant_id`"])
        .fix(&["remove `tenant_id` from the SET list"]);
}

#[test]
fn update_of_the_tenant_column_in_a_tuple_is_refused() {
    leak(PG, "UPDATE invoices SET (tenant_id, amount) = (:org, 0) WHERE tenant_id = :tenant")
        .problem(&["UPDATE changes the tenant column `tenant_id`"])
        .fix(&["remove `(tenant_id, amount)` from the SET list"]);
}

#[test]
fn update_of_a_qualified_tenant_column_is_refused() {
    leak(MYSQL, "UPDATE invoices i SET i.TENANT_ID = :org WHERE i.tenant_id = :tenant")
        .problem(&["UPDATE changes the tenant column `tenant_id`"])
        .fix(&["remove `i.TENANT_ID` from the SET list"]);
}

#[test]
fn update_with_a_correlated_subquery_in_set() {
    safe(
        ALL,
        "UPDATE invoices SET amount = (SELECT sum(l.amount) FROM lines l WHERE l.invoice_id = invoices.id \
         AND l.tenant_id = invoices.tenant_id) WHERE tenant_id = :tenant",
    );
    leak(ALL, "UPDATE invoices SET amount = (SELECT max(amount) FROM drafts) WHERE tenant_id = :tenant")
        .count(1)
        .problem(&["table `drafts`", "of a subquery of the UPDATE", "not confined"])
        .fix(&["WHERE tenant_id = :tenant"]);
}

#[test]
fn update_with_order_and_limit() {
    safe(MYSQL, "UPDATE invoices SET amount = 0 WHERE tenant_id = :tenant ORDER BY id LIMIT 1");
}

#[test]
fn update_from_confined_through_the_target() {
    safe(
        PG_SQLITE,
        "UPDATE invoices SET amount = d.amount FROM drafts d \
         WHERE d.id = invoices.id AND invoices.tenant_id = :tenant AND d.tenant_id = invoices.tenant_id",
    );
    safe(
        PG,
        "UPDATE invoices i SET amount = d.amount FROM drafts d WHERE d.id = i.id AND d.tenant_id = :tenant \
         AND i.tenant_id = d.tenant_id",
    );
}

#[test]
fn update_from_an_unconfined_table_is_a_leak() {
    leak(
        PG_SQLITE,
        "UPDATE invoices SET amount = d.amount FROM drafts d WHERE d.id = invoices.id AND invoices.tenant_id = :tenant",
    )
    .count(1)
    .problem(&["table `drafts d`", "in UPDATE ... FROM", "not confined"])
    .fix(&["add `AND d.tenant_id = invoices.tenant_id` (or `AND d.tenant_id = :tenant`) to the WHERE clause"]);
}

#[test]
fn update_from_a_shared_table_only_reads_it() {
    safe(
        PG,
        "UPDATE invoices SET currency = c.currency FROM countries c WHERE c.code = invoices.country \
         AND invoices.tenant_id = :tenant",
    );
}

#[test]
fn mysql_multi_table_update_confines_every_table() {
    safe(
        MYSQL,
        "UPDATE invoices i JOIN customers c ON c.id = i.customer_id AND c.tenant_id = i.tenant_id \
         SET i.amount = 0, c.balance = 0 WHERE i.tenant_id = :tenant",
    );
    leak(
        MYSQL,
        "UPDATE invoices i JOIN customers c ON c.id = i.customer_id SET i.amount = 0 WHERE i.tenant_id = :tenant",
    )
    .count(1)
    .problem(&["table `customers c`", "in JOIN", "not confined"])
    .fix(&["AND c.tenant_id = i.tenant_id", "JOIN ON of `customers c`"]);
}

#[test]
fn mysql_multi_table_update_may_read_a_shared_table() {
    safe(
        MYSQL,
        "UPDATE invoices i JOIN countries c ON c.code = i.country SET i.currency = c.currency WHERE i.tenant_id = :tenant",
    );
}

#[test]
fn mysql_multi_table_update_of_a_shared_table_is_refused() {
    leak(
        MYSQL,
        "UPDATE invoices i JOIN countries c ON c.code = i.country SET c.name = :name WHERE i.tenant_id = :tenant",
    )
    .count(1)
    .problem(&["UPDATE of global table `countries c`", "may read it but not change it"])
    .fix(&["#[unscoped(reason"]);
}

#[test]
fn mysql_multi_table_update_of_a_bare_column_with_a_shared_table_is_refused() {
    // `name` may be a column of `countries`: MySQL writes it to whichever table has it.
    leak(
        MYSQL,
        "UPDATE invoices i JOIN countries c ON c.code = i.country SET name = :name WHERE i.tenant_id = :tenant",
    )
    .count(1)
    .problem(&["`SET name = ...` in a multi-table UPDATE", "may write global table `countries c`"])
    .fix(&["qualify the column", "`SET i.name = ...`"]);
}

#[test]
fn sqlite_update_or_replace_is_refused() {
    leak(SQLITE, "UPDATE OR REPLACE invoices SET number = :number WHERE tenant_id = :tenant AND id = :id")
        .count(1)
        .problem(&["`UPDATE OR REPLACE`", "deletes whatever row it collides with", "another tenant"])
        .fix(&["plain UPDATE"]);
}

// ----- DELETE -------------------------------------------------------------------------

#[test]
fn delete_confined_in_where() {
    let a = safe(ALL, "DELETE FROM invoices WHERE tenant_id = :tenant AND id = :id");
    assert_shape(&a, StatementKind::Delete, true, false);
    let a = safe(PG_SQLITE, "DELETE FROM invoices WHERE tenant_id = :tenant RETURNING id");
    assert_shape(&a, StatementKind::Delete, true, true);
    safe(MYSQL, "DELETE FROM invoices WHERE tenant_id = :tenant ORDER BY created LIMIT 100");
}

#[test]
fn delete_without_where_is_a_leak() {
    leak(ALL, "DELETE FROM invoices")
        .count(1)
        .problem(&["table `invoices`", "in DELETE FROM", "not confined", "never uses `:tenant`"])
        .fix(&["add `WHERE tenant_id = :tenant`"]);
}

#[test]
fn delete_by_id_alone_is_a_leak() {
    leak(ALL, "DELETE FROM invoices WHERE id = :id")
        .problem(&["table `invoices`", "in DELETE FROM", "not confined"])
        .fix(&["add `AND tenant_id = :tenant` to the WHERE clause"]);
}

#[test]
fn delete_with_an_unconfined_subquery_is_a_leak() {
    leak(
        ALL,
        "DELETE FROM invoices WHERE tenant_id = :tenant AND customer_id IN (SELECT id FROM customers WHERE blocked)",
    )
    .count(1)
    .problem(&["table `customers`", "of a subquery of the DELETE", "not confined"])
    .fix(&["add `AND customers.tenant_id = invoices.tenant_id` (or `AND customers.tenant_id = :tenant`) to the WHERE clause of a subquery of the DELETE"]);
}

#[test]
fn delete_returning_a_correlated_subquery() {
    safe(
        PG,
        "DELETE FROM invoices i WHERE i.tenant_id = :tenant \
         RETURNING (SELECT name FROM customers c WHERE c.id = i.customer_id AND c.tenant_id = i.tenant_id)",
    );
}

#[test]
fn delete_using_confined_through_the_target() {
    safe(
        PG,
        "DELETE FROM invoices USING customers c WHERE c.id = invoices.customer_id AND invoices.tenant_id = :tenant \
         AND c.tenant_id = invoices.tenant_id",
    );
}

#[test]
fn delete_using_an_unconfined_table_is_a_leak() {
    leak(
        PG,
        "DELETE FROM invoices USING customers c WHERE c.id = invoices.customer_id AND invoices.tenant_id = :tenant",
    )
    .count(1)
    .problem(&["table `customers c`", "in DELETE ... USING", "not confined"])
    .fix(&["add `AND c.tenant_id = invoices.tenant_id` (or `AND c.tenant_id = :tenant`) to the WHERE clause"]);
}

#[test]
fn mysql_multi_table_delete_confines_every_table() {
    safe(
        MYSQL,
        "DELETE i FROM invoices i JOIN customers c ON c.id = i.customer_id WHERE i.tenant_id = :tenant \
         AND c.tenant_id = i.tenant_id",
    );
    safe(
        MYSQL,
        "DELETE i, c FROM invoices i JOIN customers c ON c.id = i.customer_id WHERE i.tenant_id = :tenant \
         AND c.tenant_id = :tenant",
    );
    leak(MYSQL, "DELETE i FROM invoices i JOIN customers c ON c.id = i.customer_id WHERE i.tenant_id = :tenant")
        .count(1)
        .problem(&["table `customers c`", "in JOIN", "not confined"])
        .fix(&["JOIN ON of `customers c`"]);
}

#[test]
fn mysql_delete_from_using_names_its_targets_by_alias() {
    safe(
        MYSQL,
        "DELETE FROM i USING invoices i JOIN customers c ON c.id = i.customer_id \
         WHERE i.tenant_id = :tenant AND c.tenant_id = :tenant",
    );
    leak(MYSQL, "DELETE FROM i USING invoices i JOIN customers c ON c.id = i.customer_id WHERE i.tenant_id = :tenant")
        .count(1)
        .problem(&["table `customers c`", "not confined"])
        .fix(&["c.tenant_id"]);
}

#[test]
fn mysql_multi_table_delete_from_a_shared_table_is_refused() {
    leak(MYSQL, "DELETE c FROM invoices i JOIN countries c ON c.code = i.country WHERE i.tenant_id = :tenant")
        .count(1)
        .problem(&["DELETE from global table `countries c`"])
        .fix(&["#[unscoped(reason"]);
    leak(MYSQL, "DELETE FROM c USING invoices i JOIN countries c ON c.code = i.country WHERE i.tenant_id = :tenant")
        .count(1)
        .problem(&["DELETE from global table `countries c`"])
        .fix(&["#[unscoped(reason"]);
}

// ----- upserts: ON CONFLICT --------------------------------------------------------------

#[test]
fn upsert_conflicting_on_a_target_with_the_tenant_column() {
    safe(
        PG_SQLITE,
        "INSERT INTO invoices (tenant_id, number, amount) VALUES (:tenant, :number, :amount) \
         ON CONFLICT (tenant_id, number) DO UPDATE SET amount = excluded.amount",
    );
}

#[test]
fn upsert_on_a_partial_unique_index_names_its_predicate() {
    // `ON CONFLICT (cols) WHERE <index predicate>` picks a partial unique index as the
    // arbiter; the predicate does not change which tenant's row can collide.
    safe(
        PG_SQLITE,
        "INSERT INTO invoices (tenant_id, number, amount) VALUES (:tenant, :number, :amount) \
         ON CONFLICT (tenant_id, number) WHERE archived = false DO UPDATE SET amount = excluded.amount",
    );
    leak(
        PG_SQLITE,
        "INSERT INTO invoices (tenant_id, number, amount) VALUES (:tenant, :number, :amount) \
         ON CONFLICT (number) WHERE archived = false DO UPDATE SET amount = excluded.amount",
    )
    .problem(&["`ON CONFLICT (number)` does not include `tenant_id`"]);
}

#[test]
fn upsert_conflicting_on_a_target_without_the_tenant_column_is_a_leak() {
    // The row `number` collides with may be another tenant's: DO UPDATE would overwrite it.
    leak(
        PG_SQLITE,
        "INSERT INTO invoices (tenant_id, number, amount) VALUES (:tenant, :number, :amount) \
         ON CONFLICT (number) DO UPDATE SET amount = excluded.amount",
    )
    .count(1)
    .problem(&[
        "the upsert into `invoices`",
        "can overwrite another tenant's row",
        "`ON CONFLICT (number)` does not include `tenant_id`",
    ])
    .fix(&["conflict on `(tenant_id, number)`", "or add `WHERE invoices.tenant_id = :tenant` to the DO UPDATE"]);
}

#[test]
fn upsert_guarded_by_the_tenant_in_do_update_where() {
    safe(
        PG_SQLITE,
        "INSERT INTO invoices (tenant_id, number, amount) VALUES (:tenant, :number, :amount) \
         ON CONFLICT (number) DO UPDATE SET amount = excluded.amount WHERE invoices.tenant_id = :tenant",
    );
    safe(
        PG_SQLITE,
        "INSERT INTO invoices (tenant_id, number, amount) VALUES (:tenant, :number, :amount) \
         ON CONFLICT (number) DO UPDATE SET amount = excluded.amount WHERE excluded.tenant_id = invoices.tenant_id",
    );
    safe(
        PG,
        "INSERT INTO invoices AS i (tenant_id, number, amount) VALUES (:tenant, :number, :amount) \
         ON CONFLICT (number) DO UPDATE SET amount = excluded.amount WHERE i.tenant_id = :tenant AND i.locked = false",
    );
}

#[test]
fn upsert_guard_on_the_proposed_row_is_no_guard() {
    // `excluded.tenant_id` is the row being inserted: always the tenant, so always true.
    leak(
        PG_SQLITE,
        "INSERT INTO invoices (tenant_id, number, amount) VALUES (:tenant, :number, :amount) \
         ON CONFLICT (number) DO UPDATE SET amount = excluded.amount WHERE excluded.tenant_id = :tenant",
    )
    .problem(&["the upsert into `invoices`", "not guarded by the tenant"])
    .fix(&["WHERE invoices.tenant_id = :tenant"]);
}

#[test]
fn upsert_guard_under_or_is_no_guard() {
    leak(
        PG_SQLITE,
        "INSERT INTO invoices (tenant_id, number, amount) VALUES (:tenant, :number, :amount) \
         ON CONFLICT (number) DO UPDATE SET amount = excluded.amount WHERE invoices.tenant_id = :tenant OR :force",
    )
    .problem(&["the upsert into `invoices`", "not guarded by the tenant"])
    .fix(&["WHERE invoices.tenant_id = :tenant"]);
}

#[test]
fn upsert_do_nothing_changes_no_row() {
    safe(
        PG_SQLITE,
        "INSERT INTO invoices (tenant_id, number) VALUES (:tenant, :number) ON CONFLICT (number) DO NOTHING",
    );
    safe(PG_SQLITE, "INSERT INTO invoices (tenant_id, number) VALUES (:tenant, :number) ON CONFLICT DO NOTHING");
}

#[test]
fn upsert_without_a_conflict_target_is_a_leak() {
    leak(
        SQLITE,
        "INSERT INTO invoices (tenant_id, number, amount) VALUES (:tenant, :number, :amount) \
         ON CONFLICT DO UPDATE SET amount = excluded.amount",
    )
    .problem(&["the upsert into `invoices`", "`ON CONFLICT` without a target collides on any unique index"])
    .fix(&["conflict on `(tenant_id, ...)`", "WHERE invoices.tenant_id = :tenant"]);
}

#[test]
fn upsert_on_constraint_is_a_leak_unless_guarded() {
    leak(
        PG,
        "INSERT INTO invoices (tenant_id, number, amount) VALUES (:tenant, :number, :amount) \
         ON CONFLICT ON CONSTRAINT invoices_number_key DO UPDATE SET amount = excluded.amount",
    )
    .problem(&["the upsert into `invoices`", "cannot see which columns constraint `invoices_number_key` covers"])
    .fix(&["WHERE invoices.tenant_id = :tenant"]);
    safe(
        PG,
        "INSERT INTO invoices (tenant_id, number, amount) VALUES (:tenant, :number, :amount) \
         ON CONFLICT ON CONSTRAINT invoices_number_key DO UPDATE SET amount = excluded.amount \
         WHERE invoices.tenant_id = :tenant",
    );
}

#[test]
fn upsert_changing_the_tenant_column_is_refused() {
    leak(
        PG_SQLITE,
        "INSERT INTO invoices (tenant_id, number) VALUES (:tenant, :number) \
         ON CONFLICT (tenant_id, number) DO UPDATE SET tenant_id = excluded.tenant_id",
    )
    .count(1)
    .problem(&["the upsert into `invoices` changes the tenant column `tenant_id`"])
    .fix(&["remove `tenant_id` from the DO UPDATE SET list"]);
}

#[test]
fn subquery_in_an_upsert_is_checked() {
    leak(
        PG_SQLITE,
        "INSERT INTO invoices (tenant_id, number, amount) VALUES (:tenant, :number, :amount) \
         ON CONFLICT (tenant_id, number) DO UPDATE SET amount = (SELECT max(amount) FROM drafts)",
    )
    .count(1)
    .problem(&["table `drafts`", "of a subquery of the upsert", "not confined"])
    .fix(&["WHERE tenant_id = :tenant"]);
}

// ----- upserts: MySQL ON DUPLICATE KEY UPDATE --------------------------------------------

#[test]
fn on_duplicate_key_update_guarded_by_the_tenant() {
    safe(
        MYSQL,
        "INSERT INTO invoices (tenant_id, number, amount) VALUES (:tenant, :number, :amount) \
         ON DUPLICATE KEY UPDATE amount = IF(tenant_id = :tenant, VALUES(amount), amount)",
    );
    safe(
        MYSQL,
        "INSERT INTO invoices (tenant_id, number, amount) VALUES (:tenant, :number, :amount) \
         ON DUPLICATE KEY UPDATE amount = IF(invoices.tenant_id = VALUES(tenant_id), VALUES(amount), invoices.amount)",
    );
    safe(
        MYSQL,
        "INSERT INTO invoices (tenant_id, number, amount) VALUES (:tenant, :number, :amount) \
         ON DUPLICATE KEY UPDATE amount = CASE WHEN tenant_id = :tenant THEN VALUES(amount) ELSE amount END",
    );
}

#[test]
fn on_duplicate_key_update_with_a_row_alias() {
    safe(
        MYSQL,
        "INSERT INTO invoices (tenant_id, number, amount) VALUES (:tenant, :number, :amount) AS new \
         ON DUPLICATE KEY UPDATE amount = IF(tenant_id = new.tenant_id, new.amount, amount)",
    );
}

#[test]
fn on_duplicate_key_update_unguarded_is_a_leak() {
    leak(
        MYSQL,
        "INSERT INTO invoices (tenant_id, number, amount) VALUES (:tenant, :number, :amount) \
         ON DUPLICATE KEY UPDATE amount = VALUES(amount)",
    )
    .count(1)
    .problem(&["`ON DUPLICATE KEY UPDATE amount = ...` on `invoices`", "can overwrite another tenant's row"])
    .fix(&["`amount = IF(tenant_id = :tenant, VALUES(amount), amount)`"])
    .at("amount = VALUES(amount)");
}

#[test]
fn on_duplicate_key_update_guards_every_assignment() {
    leak(
        MYSQL,
        "INSERT INTO invoices (tenant_id, number, amount, note) VALUES (:tenant, :number, :amount, :note) \
         ON DUPLICATE KEY UPDATE amount = IF(tenant_id = :tenant, VALUES(amount), amount), note = VALUES(note)",
    )
    .count(1)
    .problem(&["`ON DUPLICATE KEY UPDATE note = ...`"])
    .fix(&["`note = IF(tenant_id = :tenant, VALUES(note), note)`"]);
}

#[test]
fn on_duplicate_key_guard_must_compare_the_existing_tenant_column() {
    // The row alias `new` is the proposed row, whose tenant is always `:tenant`.
    leak(
        MYSQL,
        "INSERT INTO invoices (tenant_id, number, amount) VALUES (:tenant, :number, :amount) AS new \
         ON DUPLICATE KEY UPDATE amount = IF(new.tenant_id = :tenant, new.amount, amount)",
    )
    .problem(&["`ON DUPLICATE KEY UPDATE amount = ...`", "can overwrite another tenant's row"])
    .fix(&["IF(tenant_id = :tenant"]);
    // `VALUES(customer_id)` is not the tenant.
    leak(
        MYSQL,
        "INSERT INTO invoices (tenant_id, number, customer_id, amount) VALUES (:tenant, :number, :customer, :amount) \
         ON DUPLICATE KEY UPDATE amount = IF(tenant_id = VALUES(customer_id), VALUES(amount), amount)",
    )
    .problem(&["`ON DUPLICATE KEY UPDATE amount = ...`"])
    .fix(&["IF(tenant_id = :tenant"]);
}

#[test]
fn on_duplicate_key_guard_must_keep_the_existing_value_otherwise() {
    leak(
        MYSQL,
        "INSERT INTO invoices (tenant_id, number, amount) VALUES (:tenant, :number, :amount) AS new \
         ON DUPLICATE KEY UPDATE amount = IF(tenant_id = :tenant, new.amount, new.amount)",
    )
    .problem(&["`ON DUPLICATE KEY UPDATE amount = ...`"])
    .fix(&["VALUES(amount), amount)"]);
    leak(
        MYSQL,
        "INSERT INTO invoices (tenant_id, number, amount) VALUES (:tenant, :number, :amount) \
         ON DUPLICATE KEY UPDATE amount = IF(tenant_id <> :tenant, VALUES(amount), amount)",
    )
    .problem(&["`ON DUPLICATE KEY UPDATE amount = ...`"])
    .fix(&["IF(tenant_id = :tenant"]);
}

#[test]
fn on_duplicate_key_update_changing_the_tenant_column_is_refused() {
    leak(
        MYSQL,
        "INSERT INTO invoices (tenant_id, number) VALUES (:tenant, :number) ON DUPLICATE KEY UPDATE tenant_id = VALUES(tenant_id)",
    )
    .count(1)
    .problem(&["the upsert into `invoices` changes the tenant column `tenant_id`"])
    .fix(&["remove `tenant_id` from the ON DUPLICATE KEY UPDATE list"]);
}

#[test]
fn mysql_insert_set_with_a_guarded_upsert() {
    safe(
        MYSQL,
        "INSERT INTO invoices SET tenant_id = :tenant, number = :number, note = :note \
         ON DUPLICATE KEY UPDATE note = IF(tenant_id = :tenant, VALUES(note), note)",
    );
}

// ----- REPLACE ------------------------------------------------------------------------

#[test]
fn replace_is_refused() {
    leak(MYSQL_SQLITE, "REPLACE INTO invoices (tenant_id, number) VALUES (:tenant, :number)")
        .count(1)
        .problem(&["`REPLACE` into `invoices`", "deletes whatever row it collides with", "another tenant"])
        .fix(&["ON CONFLICT (tenant_id, ...) DO UPDATE", "guarded `ON DUPLICATE KEY UPDATE`"]);
    leak(MYSQL, "REPLACE INTO invoices SET tenant_id = :tenant, number = :number")
        .count(1)
        .problem(&["`REPLACE` into `invoices`"])
        .fix(&["ON DUPLICATE KEY UPDATE"]);
}

#[test]
fn sqlite_insert_or_replace_is_refused() {
    leak(SQLITE, "INSERT OR REPLACE INTO invoices (tenant_id, number) VALUES (:tenant, :number)")
        .count(1)
        .problem(&["`REPLACE` into `invoices`", "another tenant"])
        .fix(&["ON CONFLICT (tenant_id, ...) DO UPDATE"]);
}

#[test]
fn sqlite_insert_or_ignore_changes_no_row() {
    safe(SQLITE, "INSERT OR IGNORE INTO invoices (tenant_id, number) VALUES (:tenant, :number)");
    safe(MYSQL, "INSERT IGNORE INTO invoices (tenant_id, number) VALUES (:tenant, :number)");
}

// ----- shared tables -----------------------------------------------------------------

#[test]
fn insert_into_a_shared_table_is_refused() {
    leak(ALL, "INSERT INTO countries (code, name) VALUES (:code, :name)")
        .count(1)
        .problem(&["INSERT into global table `countries`", "may read it but not change it"])
        .fix(&["#[unscoped(reason", "stop declaring the table global"])
        .at("countries");
}

#[test]
fn update_of_a_shared_table_is_refused() {
    leak(ALL, "UPDATE currencies SET rate = :rate WHERE code = :code")
        .count(1)
        .problem(&["UPDATE of global table `currencies`"])
        .fix(&["#[unscoped(reason"]);
}

#[test]
fn delete_from_a_shared_table_is_refused() {
    leak(ALL, "DELETE FROM countries WHERE code = :code")
        .count(1)
        .problem(&["DELETE from global table `countries`"])
        .fix(&["#[unscoped(reason"]);
}

#[test]
fn insert_into_a_shared_table_from_tenant_rows_is_refused() {
    leak(ALL, "INSERT INTO countries (code) SELECT country FROM invoices WHERE tenant_id = :tenant")
        .count(1)
        .problem(&["INSERT into global table `countries`"])
        .fix(&["#[unscoped(reason"]);
}

#[test]
fn update_returning_is_refused_on_mysql_where_it_cannot_run() {
    leak(MYSQL, "UPDATE invoices SET amount = :amount WHERE tenant_id = :tenant AND id = :id RETURNING id")
        .count(1)
        .problem(&["`UPDATE ... RETURNING` does not run on MySQL or MariaDB"])
        .fix(&["return `u64`"]);
    safe(PG, "UPDATE invoices SET amount = :amount WHERE tenant_id = :tenant AND id = :id RETURNING id");
    safe(MYSQL, "DELETE FROM invoices WHERE tenant_id = :tenant AND id = :id RETURNING id");
}
