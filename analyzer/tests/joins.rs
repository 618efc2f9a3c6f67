//! Joins: every tenant-owned table of a join must be confined, by `= :tenant` or by
//! equality with the tenant column of a table that is already confined. Which side of
//! a join a condition filters decides whether it counts: a `LEFT JOIN`'s ON filters only
//! the joined table, a `RIGHT JOIN`'s only the left side, a `FULL JOIN`'s neither.

mod common;

use common::*;

// ----- inner joins ------------------------------------------------------------------

#[test]
fn both_tables_confined_in_where() {
    safe(
        ALL,
        "SELECT i.id, c.name FROM invoices i JOIN customers c ON c.id = i.customer_id \
         WHERE i.tenant_id = :tenant AND c.tenant_id = :tenant",
    );
}

#[test]
fn joined_table_confined_through_the_anchor_in_on() {
    safe(
        ALL,
        "SELECT i.id, c.name FROM invoices i INNER JOIN customers c ON c.id = i.customer_id AND c.tenant_id = i.tenant_id \
         WHERE i.tenant_id = :tenant",
    );
}

#[test]
fn anchor_equality_may_be_written_either_way_round() {
    safe(
        ALL,
        "SELECT i.id FROM invoices i JOIN customers c ON i.tenant_id = c.tenant_id AND c.id = i.customer_id \
         WHERE i.tenant_id = :tenant",
    );
}

#[test]
fn inner_join_on_may_confine_both_sides() {
    safe(
        ALL,
        "SELECT i.id FROM customers c JOIN invoices i ON i.customer_id = c.id AND i.tenant_id = :tenant \
         AND c.tenant_id = i.tenant_id",
    );
}

#[test]
fn anchors_chain_through_several_joins() {
    safe(
        ALL,
        "SELECT a.id FROM invoices i \
         JOIN customers c ON c.id = i.customer_id AND c.tenant_id = i.tenant_id \
         JOIN addresses a ON a.customer_id = c.id AND a.tenant_id = c.tenant_id \
         WHERE i.tenant_id = :tenant",
    );
}

#[test]
fn joined_table_without_tenant_condition_is_a_leak() {
    leak(
        ALL,
        "SELECT i.id, c.name FROM invoices i JOIN customers c ON c.id = i.customer_id WHERE i.tenant_id = :tenant",
    )
    .count(1)
    .problem(&["table `customers c`", "in JOIN", "not confined"])
    .fix(&["add `AND c.tenant_id = i.tenant_id` (or `AND c.tenant_id = :tenant`)", "to the JOIN ON of `customers c`"])
    .at("customers c");
}

#[test]
fn anchor_to_an_unconfined_table_confines_nothing() {
    leak(ALL, "SELECT i.id FROM invoices i JOIN customers c ON c.id = i.customer_id AND c.tenant_id = i.tenant_id")
        .count(2)
        .problem(&["table `invoices i`", "in FROM", "never uses `:tenant`"])
        .fix(&["add `WHERE i.tenant_id = :tenant`"]);
    leak(ALL, "SELECT i.id FROM invoices i JOIN customers c ON c.id = i.customer_id AND c.tenant_id = i.tenant_id")
        .problem(&[
            "table `customers c`",
            "in JOIN",
            "`c.tenant_id = i.tenant_id` ties it to a table that is not confined",
        ])
        .fix(&["c.tenant_id = :tenant"]);
}

#[test]
fn tenant_condition_under_or_in_on_does_not_confine() {
    leak(
        ALL,
        "SELECT i.id FROM invoices i JOIN customers c ON c.id = i.customer_id AND (c.tenant_id = i.tenant_id OR c.public) \
         WHERE i.tenant_id = :tenant",
    )
    .problem(&["table `customers c`", "in JOIN", "under OR"])
    .fix(&["in the JOIN ON of `customers c`: write `c.tenant_id = :tenant AND (c.tenant_id = i.tenant_id OR c.public)`"]);
}

#[test]
fn anchor_wrapped_in_an_expression_does_not_confine() {
    leak(
        PG,
        "SELECT i.id FROM invoices i JOIN customers c ON c.tenant_id = i.tenant_id::text WHERE i.tenant_id = :tenant",
    )
    .count(1)
    .problem(&["table `customers c`", "in JOIN", "wraps the tenant column in a cast"])
    .fix(&["c.tenant_id = i.tenant_id"]);
    leak(
        ALL,
        "SELECT i.id FROM invoices i JOIN customers c ON c.tenant_id = COALESCE(i.tenant_id, c.tenant_id) \
         WHERE i.tenant_id = :tenant",
    )
    .problem(&["table `customers c`", "wraps the tenant column in `COALESCE(...)`"])
    .fix(&["c.tenant_id = i.tenant_id"]);
}

#[test]
fn where_condition_is_explained_before_an_on_that_does_not_filter() {
    leak(
        ALL,
        "SELECT i.id FROM invoices i LEFT JOIN customers c ON c.tenant_id = i.tenant_id \
         WHERE i.tenant_id = :tenant OR c.id IS NULL",
    )
    .count(2)
    .problem(&["table `invoices i`", "`i.tenant_id = :tenant OR c.id IS NULL` is under OR"])
    .fix(&["confine outside the OR in the WHERE clause: write `i.tenant_id = :tenant AND (i.tenant_id = :tenant OR c.id IS NULL)`"]);
}

#[test]
fn joined_shared_table_needs_no_tenant() {
    safe(
        ALL,
        "SELECT i.id, co.name FROM invoices i JOIN countries co ON co.code = i.country WHERE i.tenant_id = :tenant",
    );
    safe(
        ALL,
        "SELECT i.id FROM invoices i LEFT JOIN currencies cu ON cu.code = i.currency \
         FULL JOIN countries co ON co.code = cu.country WHERE i.tenant_id = :tenant",
    );
}

#[test]
fn shared_table_column_is_no_anchor() {
    leak(ALL, "SELECT i.id FROM countries co JOIN invoices i ON i.tenant_id = co.tenant_id WHERE co.code = :code")
        .problem(&["table `invoices i`", "in JOIN", "not confined"])
        .fix(&["i.tenant_id = :tenant", "JOIN ON of `invoices i`"]);
}

// ----- outer joins ------------------------------------------------------------------

#[test]
fn left_join_confined_in_its_on() {
    safe(
        ALL,
        "SELECT i.id, c.name FROM invoices i LEFT JOIN customers c ON c.id = i.customer_id AND c.tenant_id = :tenant \
         WHERE i.tenant_id = :tenant",
    );
    safe(
        ALL,
        "SELECT i.id, c.name FROM invoices i LEFT OUTER JOIN customers c ON c.id = i.customer_id AND c.tenant_id = i.tenant_id \
         WHERE i.tenant_id = :tenant",
    );
}

#[test]
fn left_joined_table_without_tenant_condition_is_a_leak() {
    leak(
        ALL,
        "SELECT i.id, c.name FROM invoices i LEFT JOIN customers c ON c.id = i.customer_id WHERE i.tenant_id = :tenant",
    )
    .problem(&["table `customers c`", "in LEFT JOIN", "not confined"])
    .fix(&["AND c.tenant_id = i.tenant_id", "to the LEFT JOIN ON of `customers c`"]);
}

#[test]
fn left_join_on_does_not_filter_the_preserved_side() {
    // A LEFT JOIN keeps every row of its left side, whatever its ON says about them.
    leak(
        ALL,
        "SELECT i.id FROM invoices i LEFT JOIN customers c ON c.id = i.customer_id \
         AND i.tenant_id = :tenant AND c.tenant_id = :tenant",
    )
    .count(1)
    .problem(&[
        "table `invoices i`",
        "in FROM",
        "`i.tenant_id = :tenant` is in the ON of a LEFT JOIN, which does not filter `invoices i`",
    ])
    .fix(&["add `WHERE i.tenant_id = :tenant`"]);
}

#[test]
fn right_join_confined_in_on_and_where() {
    safe(
        ALL,
        "SELECT c.name, i.id FROM invoices i RIGHT JOIN customers c ON c.id = i.customer_id AND i.tenant_id = c.tenant_id \
         WHERE c.tenant_id = :tenant",
    );
}

#[test]
fn right_join_on_does_not_filter_the_preserved_side() {
    leak(
        ALL,
        "SELECT c.name FROM invoices i RIGHT JOIN customers c ON c.id = i.customer_id \
         AND c.tenant_id = :tenant AND i.tenant_id = :tenant",
    )
    .count(1)
    .problem(&[
        "table `customers c`",
        "in RIGHT JOIN",
        "in the ON of a RIGHT JOIN, which does not filter `customers c`",
    ])
    .fix(&["add `WHERE c.tenant_id = :tenant`"]);
}

#[test]
fn full_join_confined_in_where() {
    safe(
        PG,
        "SELECT i.id, c.name FROM invoices i FULL JOIN customers c ON c.id = i.customer_id \
         WHERE i.tenant_id = :tenant AND c.tenant_id = :tenant",
    );
}

#[test]
fn full_join_on_filters_neither_side() {
    let refused = leak(
        PG,
        "SELECT i.id FROM invoices i FULL OUTER JOIN customers c ON c.id = i.customer_id \
         AND c.tenant_id = :tenant AND i.tenant_id = :tenant",
    )
    .count(2)
    .problem(&["table `invoices i`", "in FROM", "in the ON of a FULL JOIN, which does not filter `invoices i`"])
    .fix(&["WHERE i.tenant_id = :tenant"]);
    refused
        .problem(&["table `customers c`", "in FULL JOIN", "does not filter `customers c`"])
        .fix(&["WHERE c.tenant_id = :tenant", "keeps unmatched rows of both sides"]);
}

#[test]
fn inner_join_after_a_left_join_filters_the_nullable_side() {
    // The inner join's ON filters every row so far, the left-joined `c` included.
    safe(
        ALL,
        "SELECT i.id FROM invoices i LEFT JOIN customers c ON c.id = i.customer_id \
         JOIN addresses a ON a.customer_id = c.id AND a.tenant_id = :tenant AND c.tenant_id = a.tenant_id \
         WHERE i.tenant_id = :tenant",
    );
}

#[test]
fn left_join_on_does_not_confine_an_earlier_joined_table() {
    leak(
        ALL,
        "SELECT i.id FROM invoices i JOIN customers c ON c.id = i.customer_id \
         LEFT JOIN addresses a ON a.customer_id = c.id AND a.tenant_id = :tenant AND c.tenant_id = :tenant \
         WHERE i.tenant_id = :tenant",
    )
    .count(1)
    .problem(&["table `customers c`", "in JOIN", "does not filter `customers c`"])
    .fix(&["c.tenant_id"]);
}

// ----- comma, CROSS, STRAIGHT_JOIN -----------------------------------------------------

#[test]
fn comma_join_confined_in_where() {
    safe(
        ALL,
        "SELECT i.id FROM invoices i, customers c WHERE c.id = i.customer_id AND i.tenant_id = :tenant \
         AND c.tenant_id = i.tenant_id",
    );
}

#[test]
fn comma_joined_table_without_tenant_condition_is_a_leak() {
    leak(ALL, "SELECT i.id FROM invoices i, customers c WHERE c.id = i.customer_id AND i.tenant_id = :tenant")
        .count(1)
        .problem(&["table `customers c`", "in FROM (comma join)", "not confined"])
        .fix(&["add `AND c.tenant_id = i.tenant_id` (or `AND c.tenant_id = :tenant`) to the WHERE clause"]);
}

#[test]
fn cross_join_confined_in_where() {
    safe(
        ALL,
        "SELECT i.id FROM invoices i CROSS JOIN customers c WHERE i.tenant_id = :tenant AND c.tenant_id = :tenant",
    );
}

#[test]
fn cross_joined_table_without_tenant_condition_is_a_leak() {
    leak(ALL, "SELECT i.id FROM invoices i CROSS JOIN customers c WHERE i.tenant_id = :tenant")
        .problem(&["table `customers c`", "in CROSS JOIN", "not confined"])
        .fix(&["add `AND c.tenant_id = i.tenant_id` (or `AND c.tenant_id = :tenant`) to the WHERE clause"]);
}

#[test]
fn straight_join_is_an_inner_join() {
    safe(
        MYSQL,
        "SELECT i.id FROM invoices i STRAIGHT_JOIN customers c ON c.id = i.customer_id AND c.tenant_id = i.tenant_id \
         WHERE i.tenant_id = :tenant",
    );
    leak(
        MYSQL,
        "SELECT i.id FROM invoices i STRAIGHT_JOIN customers c ON c.id = i.customer_id WHERE i.tenant_id = :tenant",
    )
    .problem(&["table `customers c`", "in STRAIGHT_JOIN"])
    .fix(&["to the STRAIGHT_JOIN ON of `customers c`"]);
}

// ----- self-joins -------------------------------------------------------------------

#[test]
fn self_join_confines_each_alias() {
    safe(
        ALL,
        "SELECT a.id, b.id FROM invoices a JOIN invoices b ON b.id = a.parent_id AND b.tenant_id = a.tenant_id \
         WHERE a.tenant_id = :tenant",
    );
}

#[test]
fn self_join_confining_one_alias_is_a_leak() {
    leak(ALL, "SELECT a.id, b.id FROM invoices a JOIN invoices b ON b.id = a.parent_id WHERE a.tenant_id = :tenant")
        .count(1)
        .problem(&["table `invoices b`", "in JOIN", "not confined"])
        .fix(&["AND b.tenant_id = a.tenant_id", "JOIN ON of `invoices b`"]);
}

#[test]
fn unqualified_tenant_column_of_a_self_join_is_ambiguous() {
    leak(ALL, "SELECT a.id FROM invoices a JOIN invoices b ON b.id = a.parent_id WHERE tenant_id = :tenant")
        .count(2)
        .problem(&["table `invoices a`", "in FROM"])
        .fix(&["a.tenant_id = :tenant"]);
}

// ----- USING and NATURAL -------------------------------------------------------------

#[test]
fn using_tenant_column_carries_the_confinement() {
    safe(ALL, "SELECT * FROM invoices JOIN customers USING (tenant_id) WHERE invoices.tenant_id = :tenant");
    safe(ALL, "SELECT * FROM invoices i JOIN customers c USING (tenant_id, customer_id) WHERE c.tenant_id = :tenant");
}

#[test]
fn unqualified_using_column_is_the_merged_tenant_column() {
    safe(ALL, "SELECT * FROM invoices JOIN customers USING (tenant_id) WHERE tenant_id = :tenant");
    safe(ALL, "SELECT * FROM invoices LEFT JOIN customers USING (tenant_id) WHERE tenant_id = :tenant");
    safe(
        ALL,
        "SELECT * FROM invoices JOIN customers USING (tenant_id) JOIN addresses USING (tenant_id) WHERE tenant_id = :tenant",
    );
}

#[test]
fn using_merged_column_of_a_right_join_is_not_the_left_table() {
    // A RIGHT or FULL JOIN's merged column coalesces both sides, so it pins neither table.
    leak(ALL, "SELECT * FROM invoices RIGHT JOIN customers USING (tenant_id) WHERE tenant_id = :tenant")
        .count(2)
        .problem(&["table `invoices`", "in FROM", "not confined"])
        .fix(&["AND invoices.tenant_id = :tenant"]);
}

#[test]
fn using_other_columns_does_not_confine() {
    leak(ALL, "SELECT * FROM invoices JOIN customers USING (customer_id) WHERE invoices.tenant_id = :tenant")
        .problem(&["table `customers`", "in JOIN", "not confined"])
        .fix(&["customers.tenant_id = :tenant"]);
}

#[test]
fn using_with_a_cte_that_holds_the_tenant() {
    safe(
        PG,
        "WITH mine AS (SELECT id, tenant_id FROM invoices WHERE tenant_id = :tenant) \
         SELECT * FROM mine JOIN customers USING (tenant_id)",
    );
    leak(
        PG,
        "WITH mine AS (SELECT id FROM invoices WHERE tenant_id = :tenant) SELECT * FROM mine JOIN customers USING (tenant_id)",
    )
    .problem(&["table `customers`", "in JOIN", "not confined"])
    .fix(&["customers.tenant_id = :tenant"]);
}

#[test]
fn natural_join_is_not_trusted() {
    // Which columns a NATURAL JOIN compares depends on the schema, which tenantry does not see.
    leak(ALL, "SELECT * FROM invoices NATURAL JOIN customers WHERE invoices.tenant_id = :tenant")
        .problem(&["table `customers`", "in JOIN", "not confined"])
        .fix(&["customers.tenant_id = :tenant"]);
}

// ----- nested joins -------------------------------------------------------------------

#[test]
fn nested_join_confined_inside_and_outside() {
    safe(
        ALL,
        "SELECT i.id FROM invoices i JOIN (customers c JOIN addresses a ON a.customer_id = c.id AND a.tenant_id = c.tenant_id) \
         ON c.id = i.customer_id AND c.tenant_id = i.tenant_id WHERE i.tenant_id = :tenant",
    );
}

#[test]
fn nested_join_table_left_unconfined_is_a_leak() {
    leak(
        ALL,
        "SELECT i.id FROM invoices i JOIN (customers c JOIN addresses a ON a.customer_id = c.id) \
         ON c.id = i.customer_id AND c.tenant_id = i.tenant_id WHERE i.tenant_id = :tenant",
    )
    .count(1)
    .problem(&["table `addresses a`", "in JOIN", "not confined"])
    .fix(&["a.tenant_id", "JOIN ON of `addresses a`"]);
}

#[test]
fn left_join_of_a_nested_join_filters_the_whole_nested_side() {
    safe(
        PG,
        "SELECT i.id FROM invoices i LEFT JOIN (customers c JOIN addresses a ON a.customer_id = c.id) \
         ON c.id = i.customer_id AND c.tenant_id = i.tenant_id AND a.tenant_id = i.tenant_id WHERE i.tenant_id = :tenant",
    );
}

// ----- LATERAL ------------------------------------------------------------------------

#[test]
fn lateral_subquery_confined_through_the_outer_anchor() {
    safe(
        PG,
        "SELECT i.id, x.total FROM invoices i JOIN LATERAL \
         (SELECT sum(l.amount) AS total FROM lines l WHERE l.invoice_id = i.id AND l.tenant_id = i.tenant_id) x ON true \
         WHERE i.tenant_id = :tenant",
    );
    safe(
        PG,
        "SELECT i.id, x.n FROM invoices i, LATERAL (SELECT count(*) AS n FROM lines l WHERE l.tenant_id = :tenant \
         AND l.invoice_id = i.id) x WHERE i.tenant_id = :tenant",
    );
}

#[test]
fn lateral_subquery_without_tenant_condition_is_a_leak() {
    leak(
        PG,
        "SELECT i.id, x.total FROM invoices i LEFT JOIN LATERAL \
         (SELECT sum(amount) AS total FROM lines l WHERE l.invoice_id = i.id) x ON true WHERE i.tenant_id = :tenant",
    )
    .count(1)
    .problem(&["table `lines l`", "in FROM of LATERAL `x`", "not confined"])
    .fix(&["add `AND l.tenant_id = i.tenant_id` (or `AND l.tenant_id = :tenant`) to the WHERE clause of LATERAL `x`"]);
}

#[test]
fn lateral_anchor_to_an_unconfined_outer_table_confines_nothing() {
    leak(
        PG,
        "SELECT i.id FROM invoices i CROSS JOIN LATERAL (SELECT * FROM lines l WHERE l.tenant_id = i.tenant_id) x",
    )
    .count(2)
    .problem(&[
        "table `lines l`",
        "of LATERAL `x`",
        "`l.tenant_id = i.tenant_id` ties it to a table that is not confined",
    ])
    .fix(&["tenant_id = :tenant"]);
}

#[test]
fn lateral_table_function_reads_no_table() {
    safe(
        PG,
        "SELECT i.id, g FROM invoices i CROSS JOIN LATERAL generate_series(1, i.copies) g WHERE i.tenant_id = :tenant",
    );
}

// ----- subqueries inside joins -------------------------------------------------------

#[test]
fn subquery_in_a_join_on_is_checked() {
    leak(
        ALL,
        "SELECT i.id FROM invoices i JOIN customers c ON c.id = i.customer_id AND c.tenant_id = i.tenant_id \
         AND c.id NOT IN (SELECT customer_id FROM blocked) WHERE i.tenant_id = :tenant",
    )
    .count(1)
    .problem(&["table `blocked`", "of a subquery of the JOIN ON", "not confined"])
    .fix(&["WHERE tenant_id = :tenant"]);
}

#[test]
fn subquery_in_a_table_function_argument_is_checked() {
    leak(PG, "SELECT g FROM generate_series(1, (SELECT max(id) FROM invoices)) AS g")
        .problem(&["table `invoices`", "of a subquery of table function `generate_series`", "not confined"])
        .fix(&["WHERE tenant_id = :tenant"]);
}
