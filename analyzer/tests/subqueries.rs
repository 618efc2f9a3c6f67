//! Subqueries, CTEs and set operations: every query inside a statement is checked on its
//! own, and may lean on the tenant column of a confined outer table (a correlated
//! subquery) or on a CTE or derived table column that provably holds the tenant.

mod common;

use common::*;
use tenantry_analyzer::StatementKind;

// ----- subqueries in WHERE -------------------------------------------------------------

#[test]
fn in_subquery_confined_on_its_own() {
    safe(
        ALL,
        "SELECT id FROM invoices WHERE tenant_id = :tenant \
         AND customer_id IN (SELECT id FROM customers WHERE tenant_id = :tenant AND vip)",
    );
}

#[test]
fn in_subquery_without_tenant_condition_is_a_leak() {
    leak(
        ALL,
        "SELECT id FROM invoices WHERE tenant_id = :tenant AND customer_id IN (SELECT id FROM customers WHERE vip)",
    )
    .count(1)
    .problem(&["table `customers`", "in FROM of a subquery", "not confined"])
    .fix(&["add `AND customers.tenant_id = invoices.tenant_id` (or `AND customers.tenant_id = :tenant`) to the WHERE clause of a subquery"])
    .at("customers");
}

#[test]
fn exists_correlated_via_the_outer_tenant_column() {
    safe(
        ALL,
        "SELECT i.id FROM invoices i WHERE i.tenant_id = :tenant AND EXISTS \
         (SELECT 1 FROM payments p WHERE p.invoice_id = i.id AND p.tenant_id = i.tenant_id)",
    );
    safe(
        ALL,
        "SELECT i.id FROM invoices i WHERE i.tenant_id = :tenant AND NOT EXISTS \
         (SELECT 1 FROM payments p WHERE p.invoice_id = i.id AND p.tenant_id = i.tenant_id)",
    );
}

#[test]
fn exists_correlated_only_by_id_is_a_leak() {
    leak(
        ALL,
        "SELECT i.id FROM invoices i WHERE i.tenant_id = :tenant AND EXISTS \
         (SELECT 1 FROM payments p WHERE p.invoice_id = i.id)",
    )
    .problem(&["table `payments p`", "of a subquery", "not confined"])
    .fix(&["tenant_id = :tenant"]);
}

#[test]
fn correlation_to_an_unconfined_outer_table_confines_nothing() {
    leak(
        ALL,
        "SELECT i.id FROM invoices i WHERE EXISTS \
         (SELECT 1 FROM payments p WHERE p.invoice_id = i.id AND p.tenant_id = i.tenant_id)",
    )
    .count(2)
    .problem(&["table `payments p`", "of a subquery", "ties it to a table that is not confined"])
    .fix(&["tenant_id = :tenant"]);
}

#[test]
fn unqualified_tenant_column_in_a_subquery_is_its_own_table() {
    // `tenant_id` inside the subquery names `payments`' column, so this compares the
    // column with itself.
    leak(
        ALL,
        "SELECT i.id FROM invoices i WHERE i.tenant_id = :tenant AND EXISTS \
         (SELECT 1 FROM payments WHERE invoice_id = i.id AND tenant_id = tenant_id)",
    )
    .problem(&["table `payments`", "always true"])
    .fix(&["tenant_id = :tenant"]);
}

#[test]
fn inner_table_of_the_same_name_shadows_the_outer_one() {
    // Inside the subquery, `invoices.tenant_id` is the inner `invoices`.
    leak(ALL, "DELETE FROM invoices WHERE tenant_id = :tenant AND id IN (SELECT id FROM invoices WHERE tenant_id = invoices.tenant_id)")
        .count(1)
        .problem(&["table `invoices`", "of a subquery of the DELETE", "compares the tenant column of `invoices` with itself"])
        .fix(&["tenant_id = :tenant"]);
    safe(
        ALL,
        "DELETE FROM invoices WHERE tenant_id = :tenant AND id IN \
         (SELECT i2.id FROM invoices i2 WHERE i2.tenant_id = invoices.tenant_id AND i2.paid)",
    );
}

#[test]
fn scalar_subquery_comparing_the_tenant_column_does_not_confine() {
    leak(ALL, "SELECT id FROM invoices WHERE tenant_id = (SELECT tenant_id FROM customers WHERE id = :customer)")
        .count(2)
        .problem(&["table `invoices`", "in FROM", "a subquery's result"])
        .fix(&["keep the condition and add `AND tenant_id = :tenant`"]);
}

#[test]
fn tenant_column_in_a_subquery_does_not_confine() {
    leak(ALL, "SELECT id FROM invoices WHERE tenant_id IN (SELECT tenant_id FROM customers WHERE tenant_id = :tenant)")
        .count(1)
        .problem(&["table `invoices`", "admits whatever the subquery returns"])
        .fix(&["keep the condition and add `AND tenant_id = :tenant`"]);
}

#[test]
fn subquery_comparing_a_non_tenant_column_is_checked_too() {
    leak(ALL, "SELECT id FROM invoices WHERE tenant_id = :tenant AND amount > (SELECT avg(amount) FROM invoices)")
        .problem(&["table `invoices`", "of a subquery", "not confined"])
        .fix(&["WHERE tenant_id = :tenant"]);
}

#[test]
fn job_claim_with_a_locking_subquery() {
    let a = safe(
        PG,
        "UPDATE jobs SET claimed_at = now() WHERE tenant_id = :tenant AND id = \
         (SELECT id FROM jobs WHERE tenant_id = :tenant AND claimed_at IS NULL ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED) \
         RETURNING id, payload",
    );
    assert_shape(&a, StatementKind::Update, true, true);
}

// ----- subqueries elsewhere ------------------------------------------------------------

#[test]
fn subquery_in_the_select_list_confined_through_the_outer_row() {
    safe(
        ALL,
        "SELECT i.id, (SELECT c.name FROM customers c WHERE c.id = i.customer_id AND c.tenant_id = i.tenant_id) AS customer \
         FROM invoices i WHERE i.tenant_id = :tenant",
    );
}

#[test]
fn subquery_in_the_select_list_without_tenant_condition_is_a_leak() {
    leak(
        ALL,
        "SELECT i.id, (SELECT c.name FROM customers c WHERE c.id = i.customer_id) FROM invoices i WHERE i.tenant_id = :tenant",
    )
    .count(1)
    .problem(&["table `customers c`", "of a subquery", "not confined"])
    .fix(&["tenant_id = :tenant"]);
}

#[test]
fn subquery_in_having_is_checked() {
    leak(
        ALL,
        "SELECT customer_id FROM invoices WHERE tenant_id = :tenant GROUP BY customer_id \
         HAVING count(*) > (SELECT count(*) FROM customers)",
    )
    .problem(&["table `customers`", "of a subquery", "not confined"])
    .fix(&["WHERE tenant_id = :tenant"]);
}

#[test]
fn subquery_in_order_by_is_checked() {
    leak(PG, "SELECT id FROM invoices WHERE tenant_id = :tenant ORDER BY (SELECT max(id) FROM customers)")
        .problem(&["table `customers`", "of a subquery of ORDER BY/LIMIT", "not confined"])
        .fix(&["WHERE tenant_id = :tenant"]);
}

#[test]
fn subquery_in_limit_is_checked() {
    leak(PG, "SELECT id FROM invoices WHERE tenant_id = :tenant LIMIT (SELECT count(*) FROM customers)")
        .problem(&["table `customers`", "of a subquery of ORDER BY/LIMIT"])
        .fix(&["WHERE tenant_id = :tenant"]);
}

#[test]
fn subquery_of_a_subquery_is_checked() {
    leak(
        ALL,
        "SELECT id FROM invoices WHERE tenant_id = :tenant AND customer_id IN \
         (SELECT id FROM customers WHERE tenant_id = :tenant AND region IN (SELECT region FROM regions))",
    )
    .count(1)
    .problem(&["table `regions`", "of a subquery", "not confined"])
    .fix(&["WHERE tenant_id = :tenant"]);
}

// ----- derived tables ------------------------------------------------------------------

#[test]
fn derived_table_confined_inside() {
    safe(ALL, "SELECT x.id FROM (SELECT id FROM invoices WHERE tenant_id = :tenant) AS x");
}

#[test]
fn derived_table_filtered_outside_is_a_leak() {
    // The derived table reads every tenant's rows; filtering its output is not the rule.
    leak(ALL, "SELECT x.id FROM (SELECT id, tenant_id FROM invoices) AS x WHERE x.tenant_id = :tenant")
        .count(1)
        .problem(&["table `invoices`", "in FROM of derived table `x`", "not confined"])
        .fix(&["add `WHERE tenant_id = :tenant` to derived table `x`"]);
}

#[test]
fn derived_table_tenant_column_is_an_anchor() {
    safe(
        ALL,
        "SELECT x.id, c.name FROM (SELECT id, customer_id, tenant_id FROM invoices WHERE tenant_id = :tenant) x \
         JOIN customers c ON c.id = x.customer_id AND c.tenant_id = x.tenant_id",
    );
    safe(
        ALL,
        "SELECT c.name FROM (SELECT i.tenant_id AS t, i.customer_id FROM invoices i WHERE i.tenant_id = :tenant) x \
         JOIN customers c ON c.id = x.customer_id AND c.tenant_id = x.t",
    );
}

#[test]
fn derived_table_without_its_tenant_column_is_no_anchor() {
    // `x` has no `tenant_id`: the database would refuse the name, and so does tenantry.
    leak(
        ALL,
        "SELECT c.name FROM (SELECT id, customer_id FROM invoices WHERE tenant_id = :tenant) x \
         JOIN customers c ON c.id = x.customer_id AND c.tenant_id = x.tenant_id",
    )
    .count(1)
    .rule(Rule::Unknown)
    .problem(&["`x.tenant_id`", "`x` has no column `tenant_id`"]);
    // A column of that name that does not hold the tenant is no anchor either.
    leak(
        ALL,
        "SELECT c.name FROM (SELECT id, customer_id, customer_id AS tenant_id FROM invoices WHERE tenant_id = :tenant) x \
         JOIN customers c ON c.id = x.customer_id AND c.tenant_id = x.tenant_id",
    )
    .count(1)
    .problem(&["table `customers c`", "in JOIN", "`x.tenant_id`", "not a column of `x` that provably holds the tenant"])
    .fix(&["c.tenant_id = :tenant"]);
}

#[test]
fn derived_column_renamed_by_the_alias_list_is_an_anchor() {
    safe(
        PG,
        "SELECT c.name FROM (SELECT tenant_id, customer_id FROM invoices WHERE tenant_id = :tenant) AS x(t, cid) \
         JOIN customers c ON c.id = x.cid AND c.tenant_id = x.t",
    );
}

#[test]
fn derived_column_computed_from_the_tenant_is_no_anchor() {
    leak(
        ALL,
        "SELECT c.name FROM (SELECT max(tenant_id) AS tenant_id FROM invoices WHERE tenant_id = :tenant) x \
         JOIN customers c ON c.tenant_id = x.tenant_id",
    )
    .problem(&["table `customers c`", "not a column of `x` that provably holds the tenant"])
    .fix(&["c.tenant_id = :tenant"]);
}

#[test]
fn selected_tenant_placeholder_is_an_anchor() {
    safe(ALL, "SELECT i.id FROM (SELECT :tenant AS tenant_id) t JOIN invoices i ON i.tenant_id = t.tenant_id");
}

// ----- CTEs --------------------------------------------------------------------------

#[test]
fn cte_confined_inside() {
    let a = safe(
        ALL,
        "WITH mine AS (SELECT id, amount FROM invoices WHERE tenant_id = :tenant) SELECT sum(amount) FROM mine",
    );
    assert_shape(&a, StatementKind::Select, false, true);
}

#[test]
fn cte_filtered_outside_is_a_leak() {
    leak(
        ALL,
        "WITH everyone AS (SELECT id, tenant_id FROM invoices) SELECT id FROM everyone WHERE tenant_id = :tenant",
    )
    .count(1)
    .problem(&["table `invoices`", "of CTE `everyone`", "not confined"])
    .fix(&["WHERE tenant_id = :tenant` to CTE `everyone`"]);
}

#[test]
fn cte_tenant_column_is_an_anchor() {
    safe(
        ALL,
        "WITH mine AS (SELECT id, tenant_id FROM invoices WHERE tenant_id = :tenant) \
         SELECT c.name FROM customers c JOIN mine m ON m.id = c.last_invoice_id WHERE c.tenant_id = m.tenant_id",
    );
}

#[test]
fn cte_without_its_tenant_column_is_no_anchor() {
    leak(
        ALL,
        "WITH mine AS (SELECT id, customer_id AS tenant_id FROM invoices WHERE tenant_id = :tenant) \
         SELECT c.name FROM customers c JOIN mine m ON m.id = c.last_invoice_id WHERE c.tenant_id = m.tenant_id",
    )
    .count(1)
    .problem(&["table `customers c`", "in FROM", "not a column of `mine m` that provably holds the tenant"])
    .fix(&["c.tenant_id = :tenant"]);
}

#[test]
fn cte_selecting_the_tenant_placeholder_is_an_anchor() {
    safe(ALL, "WITH t AS (SELECT :tenant AS tid) SELECT i.id FROM invoices i JOIN t ON i.tenant_id = t.tid");
}

#[test]
fn cte_shadows_a_table_of_the_same_name() {
    // Inside its own body a non-recursive CTE's name is still the table.
    safe(ALL, "WITH invoices AS (SELECT id FROM invoices WHERE tenant_id = :tenant) SELECT id FROM invoices");
    leak(ALL, "WITH invoices AS (SELECT id FROM invoices) SELECT id FROM invoices")
        .problem(&["table `invoices`", "of CTE `invoices`"])
        .fix(&["WHERE tenant_id = :tenant"]);
}

#[test]
fn every_cte_is_checked_even_unused() {
    leak(
        ALL,
        "WITH mine AS (SELECT id FROM invoices WHERE tenant_id = :tenant), unused AS (SELECT id FROM customers) \
         SELECT id FROM mine",
    )
    .count(1)
    .problem(&["table `customers`", "of CTE `unused`"])
    .fix(&["WHERE tenant_id = :tenant"]);
}

#[test]
fn recursive_cte_carries_the_tenant_through_its_anchor() {
    safe(
        ALL,
        "WITH RECURSIVE tree AS ( \
           SELECT id, parent_id, tenant_id FROM nodes WHERE tenant_id = :tenant AND parent_id IS NULL \
           UNION ALL \
           SELECT n.id, n.parent_id, n.tenant_id FROM nodes n JOIN tree t ON n.parent_id = t.id AND n.tenant_id = t.tenant_id \
         ) SELECT id FROM tree",
    );
}

#[test]
fn recursive_cte_with_a_column_list_carries_the_tenant() {
    safe(
        ALL,
        "WITH RECURSIVE tree(id, parent_id, t) AS ( \
           SELECT id, parent_id, tenant_id FROM nodes WHERE tenant_id = :tenant \
           UNION ALL \
           SELECT n.id, n.parent_id, n.tenant_id FROM nodes n JOIN tree ON n.parent_id = tree.id AND n.tenant_id = tree.t \
         ) SELECT tree.id, c.name FROM tree JOIN comments c ON c.node_id = tree.id AND c.tenant_id = tree.t",
    );
}

#[test]
fn recursive_step_without_tenant_condition_is_a_leak() {
    leak(
        ALL,
        "WITH RECURSIVE tree AS ( \
           SELECT id, parent_id, tenant_id FROM nodes WHERE tenant_id = :tenant AND parent_id IS NULL \
           UNION ALL \
           SELECT n.id, n.parent_id, n.tenant_id FROM nodes n JOIN tree t ON n.parent_id = t.id \
         ) SELECT id FROM tree",
    )
    .count(1)
    .problem(&["table `nodes n`", "of UNION branch 2 in CTE `tree`", "not confined"])
    .fix(&["n.tenant_id = :tenant"]);
}

#[test]
fn recursive_step_that_drops_the_tenant_column_is_a_leak() {
    // The step selects another column as `tenant_id`, so the CTE's rows after the first
    // round do not hold the tenant and anchor nothing.
    leak(
        ALL,
        "WITH RECURSIVE tree AS ( \
           SELECT id, parent_id, tenant_id FROM nodes WHERE tenant_id = :tenant \
           UNION ALL \
           SELECT n.id, n.parent_id, n.owner_id FROM tree t JOIN nodes n ON n.parent_id = t.id AND n.tenant_id = t.tenant_id \
         ) SELECT id FROM tree",
    )
    .problem(&["table `nodes n`", "in CTE `tree`", "not a column of `tree t` that provably holds the tenant"])
    .fix(&["n.tenant_id = :tenant"]);
}

#[test]
fn recursive_cte_over_no_table_needs_no_tenant() {
    safe(
        ALL,
        "WITH RECURSIVE n(k) AS (SELECT 1 UNION ALL SELECT k + 1 FROM n WHERE k < :count) \
         SELECT i.id FROM invoices i JOIN n ON n.k = i.position WHERE i.tenant_id = :tenant",
    );
}

#[test]
fn data_modifying_cte_is_checked() {
    let a = safe(
        PG,
        "WITH gone AS (DELETE FROM invoices WHERE tenant_id = :tenant AND paid RETURNING id) SELECT count(*) FROM gone",
    );
    assert_shape(&a, StatementKind::Select, true, true);
    leak(PG, "WITH gone AS (DELETE FROM invoices WHERE paid RETURNING id) SELECT count(*) FROM gone")
        .problem(&["table `invoices`", "in DELETE FROM of CTE `gone`", "not confined"])
        .fix(&["AND tenant_id = :tenant"]);
}

#[test]
fn returning_rows_of_a_data_modifying_cte_hold_the_tenant() {
    safe(
        PG,
        "WITH created AS (INSERT INTO invoices (tenant_id, amount) VALUES (:tenant, :amount) RETURNING id, tenant_id) \
         SELECT l.id FROM created c JOIN lines l ON l.invoice_id = c.id AND l.tenant_id = c.tenant_id",
    );
}

// ----- set operations ------------------------------------------------------------------

#[test]
fn union_with_every_branch_confined() {
    safe(
        ALL,
        "SELECT id FROM invoices WHERE tenant_id = :tenant UNION SELECT id FROM credit_notes WHERE tenant_id = :tenant",
    );
    safe(
        ALL,
        "SELECT id FROM invoices WHERE tenant_id = :tenant UNION ALL SELECT id FROM credit_notes WHERE tenant_id = :tenant \
         UNION ALL SELECT id FROM refunds WHERE tenant_id = :tenant",
    );
}

#[test]
fn union_branch_without_tenant_condition_is_a_leak() {
    leak(ALL, "SELECT id FROM invoices WHERE tenant_id = :tenant UNION SELECT id FROM credit_notes")
        .count(1)
        .problem(&["table `credit_notes`", "of UNION branch 2", "not confined"])
        .fix(&["add `WHERE tenant_id = :tenant` to UNION branch 2"]);
}

#[test]
fn intersect_branch_without_tenant_condition_is_a_leak() {
    // An INTERSECT only returns rows of both sides, but reading the other side is the leak
    // (its rows decide what comes back).
    leak(ALL, "SELECT id FROM invoices WHERE tenant_id = :tenant INTERSECT SELECT id FROM credit_notes")
        .problem(&["table `credit_notes`", "of INTERSECT branch 2", "not confined"])
        .fix(&["to INTERSECT branch 2"]);
}

#[test]
fn except_branch_without_tenant_condition_is_a_leak() {
    leak(ALL, "SELECT id FROM invoices EXCEPT SELECT id FROM credit_notes WHERE tenant_id = :tenant")
        .count(1)
        .problem(&["table `invoices`", "of EXCEPT branch 1", "not confined"])
        .fix(&["to EXCEPT branch 1"]);
}

#[test]
fn union_in_a_derived_table_keeps_the_tenant_column_only_if_every_branch_does() {
    safe(
        PG,
        "SELECT c.name FROM (SELECT tenant_id, customer_id FROM invoices WHERE tenant_id = :tenant \
         UNION SELECT tenant_id, customer_id FROM credit_notes WHERE tenant_id = :tenant) x \
         JOIN customers c ON c.id = x.customer_id AND c.tenant_id = x.tenant_id",
    );
    leak(
        PG,
        "SELECT c.name FROM (SELECT tenant_id, customer_id FROM invoices WHERE tenant_id = :tenant \
         UNION SELECT :other, customer_id FROM credit_notes WHERE tenant_id = :tenant) x \
         JOIN customers c ON c.id = x.customer_id AND c.tenant_id = x.tenant_id",
    )
    .problem(&["table `customers c`", "not a column of `x` that provably holds the tenant"])
    .fix(&["c.tenant_id = :tenant"]);
}
