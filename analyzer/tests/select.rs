//! Single-table reads: what in a WHERE confines a table to the tenant, and what does not.
//!
//! Only `<tenant column> = :tenant` as a top-level AND-conjunct confines. Everything that
//! admits another value (OR, NOT, CASE, functions, ranges, patterns, lists, other values)
//! is refused with a message that names the table, the clause and says why.

mod common;

use common::*;
use tenantry_analyzer::StatementKind;

// ----- what confines --------------------------------------------------------------------

#[test]
fn tenant_equality_in_where_confines() {
    let a = safe(ALL, "SELECT id, amount FROM invoices WHERE tenant_id = :tenant");
    assert_shape(&a, StatementKind::Select, false, true);
    assert_eq!(a.placeholders.names(), ["tenant"]);
}

#[test]
fn tenant_equality_confines_among_other_conjuncts() {
    let a = safe(ALL, "SELECT id FROM invoices WHERE id = :id AND tenant_id = :tenant AND amount > :min");
    assert_eq!(a.placeholders.names(), ["id", "tenant", "min"]);
}

#[test]
fn placeholder_may_stand_on_the_left() {
    safe(ALL, "SELECT id FROM invoices WHERE :tenant = tenant_id");
}

#[test]
fn parentheses_around_conjuncts_do_not_matter() {
    safe(ALL, "SELECT id FROM invoices WHERE ((tenant_id = :tenant) AND (id = :id OR id = :other))");
}

#[test]
fn in_list_with_only_the_tenant_confines() {
    safe(ALL, "SELECT id FROM invoices WHERE tenant_id IN (:tenant)");
}

#[test]
fn table_alias_qualifies_the_tenant_column() {
    safe(ALL, "SELECT i.id FROM invoices AS i WHERE i.tenant_id = :tenant");
}

#[test]
fn statement_may_span_lines_and_end_with_a_semicolon() {
    safe(ALL, "SELECT id\n  FROM invoices\n WHERE tenant_id = :tenant\n ORDER BY id\n LIMIT 10;");
}

#[test]
fn grouping_ordering_and_locking_keep_a_confined_read_confined() {
    safe(PG, "SELECT customer, sum(amount) FROM invoices WHERE tenant_id = :tenant GROUP BY customer ORDER BY 2 DESC");
    safe(PG, "SELECT id FROM invoices WHERE tenant_id = :tenant AND id = :id FOR UPDATE");
}

// ----- nothing that mentions the tenant ------------------------------------------------

#[test]
fn missing_where_is_a_leak() {
    leak(ALL, "SELECT id FROM invoices")
        .count(1)
        .problem(&["table `invoices`", "in FROM", "not confined", "never uses `:tenant`"])
        .fix(&["add `WHERE tenant_id = :tenant`"])
        .at("invoices");
}

#[test]
fn where_without_tenant_condition_is_a_leak() {
    leak(ALL, "SELECT id FROM invoices WHERE id = :id")
        .problem(&["table `invoices`", "in FROM", "not confined"])
        .fix(&["add `AND tenant_id = :tenant` to the WHERE clause"]);
}

#[test]
fn tautology_does_not_confine() {
    leak(ALL, "SELECT id FROM invoices WHERE 1 = 1")
        .problem(&["`invoices`", "not confined"])
        .fix(&["tenant_id = :tenant"]);
}

#[test]
fn tenant_column_compared_with_itself_is_always_true() {
    leak(ALL, "SELECT id FROM invoices WHERE tenant_id = tenant_id")
        .problem(&["`invoices`", "`tenant_id = tenant_id`", "always true"])
        .fix(&["AND tenant_id = :tenant"]);
}

#[test]
fn tenant_column_not_null_does_not_confine() {
    leak(ALL, "SELECT id FROM invoices WHERE tenant_id IS NOT NULL")
        .problem(&["`invoices`", "not confined"])
        .fix(&["with `tenant_id = :tenant`"]);
}

// ----- boolean structure ----------------------------------------------------------------

#[test]
fn or_branch_does_not_confine() {
    leak(ALL, "SELECT id FROM invoices WHERE tenant_id = :tenant OR id = :id")
        .problem(&["table `invoices`", "in FROM", "under OR", "other tenants"])
        .fix(&["confine outside the OR in the WHERE clause: write `tenant_id = :tenant AND ("]);
}

#[test]
fn or_of_the_same_tenant_condition_is_still_refused() {
    // Logically confined, but the rule is syntactic: only a top-level AND-conjunct counts.
    leak(ALL, "SELECT id FROM invoices WHERE tenant_id = :tenant OR tenant_id = :tenant")
        .problem(&["`invoices`", "under OR"])
        .fix(&["confine outside the OR in the WHERE clause: write `tenant_id = :tenant AND ("]);
}

#[test]
fn tenant_condition_inside_parenthesised_or_does_not_confine() {
    leak(ALL, "SELECT id FROM invoices WHERE id = :id AND (tenant_id = :tenant OR :admin)")
        .problem(&["`invoices`", "`tenant_id = :tenant OR :admin` is under OR"])
        .fix(&["confine outside the OR in the WHERE clause: write `tenant_id = :tenant AND ("]);
}

#[test]
fn negated_tenant_condition_does_not_confine() {
    leak(ALL, "SELECT id FROM invoices WHERE NOT (tenant_id <> :tenant)")
        .problem(&["`invoices`", "negated"])
        .fix(&["with `tenant_id = :tenant`"]);
}

#[test]
fn case_expression_does_not_confine() {
    leak(ALL, "SELECT id FROM invoices WHERE CASE WHEN tenant_id = :tenant THEN 1 ELSE 1 END = 1")
        .problem(&["`invoices`", "not confined"])
        .fix(&["with `tenant_id = :tenant`"]);
    leak(ALL, "SELECT id FROM invoices WHERE CASE WHEN :flag THEN tenant_id = :tenant ELSE true END")
        .problem(&["`invoices`", "inside CASE"])
        .fix(&["with `tenant_id = :tenant`"]);
}

#[test]
fn coalesce_around_the_tenant_column_does_not_confine() {
    // `COALESCE(tenant_id, :tenant)` also matches rows whose tenant is NULL.
    leak(ALL, "SELECT id FROM invoices WHERE COALESCE(tenant_id, :tenant) = :tenant")
        .problem(&["`invoices`", "`COALESCE(tenant_id, :tenant) = :tenant`", "wraps the tenant column"])
        .not_saying("a value other than `:tenant`")
        .fix(&["with `tenant_id = :tenant`"]);
}

#[test]
fn function_of_the_tenant_column_does_not_confine() {
    leak(ALL, "SELECT id FROM invoices WHERE lower(tenant_id) = :tenant")
        .problem(&["`invoices`", "wraps the tenant column in `lower(...)`"])
        .fix(&["with `tenant_id = :tenant`"]);
}

// ----- comparisons other than equality ----------------------------------------------------

#[test]
fn not_equal_does_not_confine() {
    leak(ALL, "SELECT id FROM invoices WHERE tenant_id <> :tenant")
        .problem(&["`invoices`", "uses `<>`", "only `=` confines"])
        .fix(&["with `tenant_id = :tenant`"]);
    leak(ALL, "SELECT id FROM invoices WHERE tenant_id != :tenant").problem(&["`invoices`", "uses `<>`"]);
}

#[test]
fn range_comparison_does_not_confine() {
    leak(ALL, "SELECT id FROM invoices WHERE tenant_id >= :tenant")
        .problem(&["`invoices`", "uses `>=`"])
        .fix(&["with `tenant_id = :tenant`"]);
    leak(ALL, "SELECT id FROM invoices WHERE tenant_id BETWEEN :tenant AND :tenant")
        .problem(&["`invoices`", "is a range"])
        .fix(&["with `tenant_id = :tenant`"]);
}

#[test]
fn pattern_match_does_not_confine() {
    leak(ALL, "SELECT id FROM invoices WHERE tenant_id LIKE :tenant")
        .problem(&["`invoices`", "pattern match"])
        .fix(&["with `tenant_id = :tenant`"]);
    leak(PG, "SELECT id FROM invoices WHERE tenant_id ILIKE :tenant").problem(&["`invoices`", "pattern match"]);
}

#[test]
fn in_list_with_a_second_value_does_not_confine() {
    leak(ALL, "SELECT id FROM invoices WHERE tenant_id IN (:tenant, :other)")
        .problem(&["`invoices`", "admits more than one value"])
        .fix(&["with `tenant_id = :tenant`"]);
}

#[test]
fn not_in_does_not_confine() {
    leak(ALL, "SELECT id FROM invoices WHERE tenant_id NOT IN (:other)")
        .problem(&["`invoices`", "excludes values"])
        .fix(&["with `tenant_id = :tenant`"]);
}

#[test]
fn is_not_distinct_from_is_not_the_equality_tenantry_recognises() {
    leak(PG, "SELECT id FROM invoices WHERE tenant_id IS NOT DISTINCT FROM :tenant")
        .problem(&["`invoices`", "does not confine"])
        .fix(&["with `tenant_id = :tenant`"]);
}

// ----- the value compared with ----------------------------------------------------------

#[test]
fn literal_tenant_is_a_leak() {
    leak(ALL, "SELECT id FROM invoices WHERE tenant_id = 'acme'")
        .problem(&["`invoices`", "`tenant_id = 'acme'`", "other than `:tenant`", "scope guard"])
        .fix(&["with `tenant_id = :tenant`"]);
    leak(ALL, "SELECT id FROM invoices WHERE tenant_id = 42").problem(&["`invoices`", "other than `:tenant`"]);
}

#[test]
fn other_parameter_is_a_leak() {
    leak(ALL, "SELECT id FROM invoices WHERE tenant_id = :org")
        .problem(&["`invoices`", "`tenant_id = :org`", "other than `:tenant`", "never uses `:tenant`"])
        .fix(&["with `tenant_id = :tenant`"]);
}

#[test]
fn tenant_placeholder_inside_a_string_is_text() {
    leak(ALL, "SELECT id FROM invoices WHERE tenant_id = ':tenant'")
        .problem(&["`invoices`", "string literal", "not the placeholder"])
        .fix(&["with `tenant_id = :tenant`"]);
}

#[test]
fn tenant_placeholder_inside_a_comment_counts_for_nothing() {
    leak(ALL, "SELECT id FROM invoices /* WHERE tenant_id = :tenant */")
        .problem(&["`invoices`", "never uses `:tenant`"])
        .fix(&["WHERE tenant_id = :tenant"]);
    leak(ALL, "SELECT id FROM invoices -- WHERE tenant_id = :tenant")
        .problem(&["`invoices`", "never uses `:tenant`"])
        .fix(&["WHERE tenant_id = :tenant"]);
    leak(MYSQL, "SELECT id FROM invoices # WHERE tenant_id = :tenant")
        .problem(&["`invoices`", "never uses `:tenant`"])
        .fix(&["WHERE tenant_id = :tenant"]);
}

#[test]
fn tenant_placeholder_inside_a_dollar_quoted_string_is_text() {
    leak(PG, "SELECT $$ AND tenant_id = :tenant $$ FROM invoices")
        .problem(&["`invoices`", "never uses `:tenant`"])
        .fix(&["WHERE tenant_id = :tenant"]);
}

#[test]
fn placeholder_name_is_case_sensitive() {
    leak(ALL, "SELECT id FROM invoices WHERE tenant_id = :Tenant")
        .problem(&["`invoices`", "`tenant_id = :Tenant`", "other than `:tenant`"])
        .fix(&["with `tenant_id = :tenant`"]);
}

// ----- casts --------------------------------------------------------------------------

#[test]
fn cast_of_the_placeholder_to_its_column_type_confines() {
    safe(PG, "SELECT id FROM invoices WHERE tenant_id = :tenant::uuid");
    safe(PG, "SELECT id FROM invoices WHERE tenant_id = CAST(:tenant AS uuid)");
    safe(PG_SQLITE, "SELECT id FROM invoices WHERE tenant_id = CAST(:tenant AS text)");
}

#[test]
fn cast_that_can_shorten_the_tenant_does_not_confine() {
    // `'acme'::varchar(1)` is `'a'`: another tenant.
    leak(ALL, "SELECT id FROM invoices WHERE tenant_id = CAST(:tenant AS varchar(1))")
        .problem(&["`invoices`", "cast", "change the value"])
        .fix(&["with `tenant_id = :tenant`"]);
    leak(PG, "SELECT id FROM invoices WHERE tenant_id = :tenant::char")
        .problem(&["`invoices`", "cast"])
        .fix(&["with `tenant_id = :tenant`"]);
}

#[test]
fn cast_that_parses_a_number_out_of_the_tenant_does_not_confine() {
    // MySQL and SQLite turn `'12abc'` into 12 and `'acme'` into 0.
    leak(ALL, "SELECT id FROM invoices WHERE tenant_id = CAST(:tenant AS DECIMAL(3, 0))")
        .problem(&["`invoices`", "cast"])
        .fix(&["with `tenant_id = :tenant`"]);
    leak(MYSQL, "SELECT id FROM invoices WHERE tenant_id = CAST(:tenant AS SIGNED)").problem(&["`invoices`", "cast"]);
}

#[test]
fn cast_of_the_tenant_column_does_not_confine() {
    leak(PG, "SELECT id FROM invoices WHERE tenant_id::text = :tenant")
        .problem(&["`invoices`", "wraps the tenant column"])
        .fix(&["with `tenant_id = :tenant`"]);
}

// ----- names --------------------------------------------------------------------------

#[test]
fn upper_case_names_compare_case_insensitively() {
    safe(ALL, "SELECT ID FROM INVOICES WHERE TENANT_ID = :tenant");
    safe(ALL, "select i.id from Invoices I where I.Tenant_Id = :tenant");
}

#[test]
fn names_compare_as_each_database_compares_them() {
    // PostgreSQL folds unquoted names only: `"TENANT_ID"` is another column than tenant_id.
    safe(PG, r#"SELECT "id" FROM "Invoices" WHERE "tenant_id" = :tenant AND TENANT_ID = :tenant"#);
    leak(PG, r#"SELECT "id" FROM "Invoices" WHERE "TENANT_ID" = :tenant"#)
        .problem(&["table `Invoices` in FROM", "not confined"]);
    // SQLite ignores ASCII case, quoted or not; MySQL ignores the case of column names.
    safe(SQLITE, r#"SELECT "id" FROM "Invoices" WHERE "TENANT_ID" = :tenant"#);
    safe(MYSQL, "SELECT `id` FROM `Invoices` WHERE `Tenant_Id` = :tenant");
}

#[test]
fn schema_qualified_names_are_the_same_table() {
    safe(ALL, "SELECT id FROM main.invoices WHERE invoices.tenant_id = :tenant");
    safe(PG, "SELECT id FROM public.invoices WHERE public.invoices.tenant_id = :tenant");
}

#[test]
fn quoted_table_is_named_without_its_quotes() {
    leak(MYSQL, "SELECT id FROM `invoices` WHERE id = :id")
        .problem(&["table `invoices` in FROM", "not confined"])
        .not_saying("``")
        .fix(&["AND tenant_id = :tenant"]);
    leak(PG, r#"SELECT id FROM "Invoices" WHERE id = :id"#).problem(&["table `Invoices` in FROM"]).not_saying("\"");
}

#[test]
fn tenant_column_of_another_name_is_not_the_tenant_column() {
    leak(ALL, "SELECT id FROM invoices WHERE org_id = :tenant")
        .problem(&["`invoices`", "not confined"])
        .fix(&["AND tenant_id = :tenant"]);
}

#[test]
fn row_value_equality_confines_each_pair() {
    safe(PG_SQLITE, "SELECT id FROM invoices WHERE (tenant_id, id) = (:tenant, :id)");
    leak(PG_SQLITE, "SELECT id FROM invoices WHERE (tenant_id, id) = (:org, :id)")
        .problem(&["`invoices`", "other than `:tenant`"])
        // The pair with `id` says more than which tenant: it is kept.
        .fix(&["keep the condition and add `AND tenant_id = :tenant`"]);
}

#[test]
fn row_value_in_a_single_row_list_confines() {
    safe(PG_SQLITE, "SELECT id FROM invoices WHERE (tenant_id, id) IN ((:tenant, :id))");
}

#[test]
fn collation_on_the_comparison_does_not_confine() {
    // `NOCASE` makes tenant `acme` read tenant `ACME`'s rows.
    leak(SQLITE, "SELECT id FROM invoices WHERE tenant_id = :tenant COLLATE NOCASE")
        .problem(&["`invoices`", "compares under collation `NOCASE`", "another tenant's id"])
        .fix(&["with `tenant_id = :tenant`"]);
}

// ----- shared tables ------------------------------------------------------------------

#[test]
fn shared_table_reads_need_no_tenant() {
    let a = safe(ALL, "SELECT code, name FROM countries WHERE code = :code");
    assert_eq!(a.placeholders.names(), ["code"]);
    safe(ALL, "SELECT c.name, cu.symbol FROM countries c JOIN currencies cu ON cu.code = c.currency");
}

#[test]
fn shared_table_names_are_matched_as_the_database_matches_them() {
    safe(PG_SQLITE, "SELECT code FROM COUNTRIES");
    safe(SQLITE, r#"SELECT code FROM "Countries""#);
    // A quoted `"Countries"` is another table in PostgreSQL, `public.countries` may be
    // another than the `countries` the search path finds, and MySQL's table names have
    // case or not by server setting: each is tenant-owned until declared shared as such.
    leak(PG, r#"SELECT code FROM "Countries""#).problem(&["table `Countries` in FROM", "not confined"]);
    leak(PG, "SELECT code FROM public.countries").problem(&["table `public.countries` in FROM", "not confined"]);
    leak(MYSQL, "SELECT code FROM COUNTRIES").problem(&["table `COUNTRIES` in FROM", "not confined"]);
    safe(MYSQL, "SELECT code FROM countries");
}

// ----- other clauses ------------------------------------------------------------------

#[test]
fn having_does_not_confine_the_rows_read() {
    // HAVING filters groups after every tenant's rows were read and aggregated.
    leak(ALL, "SELECT tenant_id, count(*) FROM invoices GROUP BY tenant_id HAVING tenant_id = :tenant")
        .problem(&["`invoices`", "in FROM", "not confined"])
        .fix(&["WHERE tenant_id = :tenant"]);
}

#[test]
fn pure_table_functions_read_no_table() {
    safe(PG, "SELECT n FROM generate_series(1, :count) AS g(n)");
    safe(PG, "SELECT i.id, x FROM invoices i, unnest(i.tags) AS x WHERE i.tenant_id = :tenant");
}

#[test]
fn unknown_table_function_cannot_be_checked() {
    leak(PG, "SELECT * FROM dblink('db', 'SELECT * FROM invoices') AS t(id int)")
        .problem(&["table function `dblink`", "cannot be checked"])
        .fix(&["tenant_id = :tenant", "#[unscoped"]);
}

#[test]
fn table_function_of_another_schema_is_not_the_builtin() {
    leak(PG, "SELECT n FROM reports.generate_series(1, :count) AS g(n)")
        .problem(&["table function `reports.generate_series`", "cannot be checked"])
        .fix(&["tenant_id = :tenant"]);
    safe(PG, "SELECT n FROM pg_catalog.generate_series(1, :count) AS g(n)");
}

#[test]
fn function_that_reads_a_table_by_name_cannot_be_checked() {
    // No table appears in the statement, yet every tenant's invoices come back.
    leak(PG, "SELECT table_to_xml('invoices', true, false, '')")
        .count(1)
        .problem(&["function `table_to_xml`", "reads whole tables given by name", "cannot check"])
        .fix(&["query the tables themselves"]);
    leak(PG, "SELECT query_to_xml('SELECT * FROM invoices', true, false, '') FROM invoices WHERE tenant_id = :tenant")
        .count(1)
        .problem(&["function `query_to_xml`", "runs SQL given as text"])
        .fix(&["query the tables themselves"]);
}

#[test]
fn function_that_changes_the_session_cannot_be_checked() {
    // On a pooled connection the setting outlives the method, e.g. the RLS tenant.
    leak(PG, "SELECT set_config('app.tenant', :other, false)")
        .count(1)
        .problem(&["function `set_config`", "changes session state", "pooled connection"])
        .fix(&["tenantry sets the tenant itself"]);
}
