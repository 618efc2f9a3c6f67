//! Whole statements: one SELECT, INSERT, UPDATE or DELETE per method, parameters by name
//! only, the reserved `:tenant` used where it confines, unscoped methods, and what the
//! analysis tells the code generator.

mod common;

use common::*;
use tenantry_analyzer::{Backend, Mode, Schema, StatementKind, Violation, analyze, render};

// ----- one statement ---------------------------------------------------------------------

#[test]
fn stacked_statements_are_refused() {
    leak(ALL, "SELECT id FROM invoices WHERE tenant_id = :tenant; DELETE FROM invoices")
        .count(1)
        .problem(&["2 statements in one method", "a method runs exactly one"])
        .fix(&["split the statements into separate methods", "one transaction"])
        .at("DELETE FROM invoices");
}

#[test]
fn stacked_statements_are_counted() {
    leak(ALL, "SELECT 1; SELECT 2; SELECT 3").problem(&["3 statements in one method"]).fix(&["split the statements"]);
}

#[test]
fn trailing_semicolons_are_one_statement() {
    safe(ALL, "SELECT id FROM invoices WHERE tenant_id = :tenant;");
    safe(PG, "SELECT id FROM invoices WHERE tenant_id = :tenant;;");
}

#[test]
fn empty_statement_is_refused() {
    for sql in ["", "   \n  ", "-- only a comment", "/* only a comment */", ";"] {
        leak(ALL, sql).count(1).problem(&["the statement is empty"]).fix(&["write one SQL statement"]);
    }
}

#[test]
fn parse_errors_name_the_dialect() {
    leak(PG, "SELEC id FROM invoices")
        .count(1)
        .problem(&["does not parse as PostgreSQL SQL", "SELEC"])
        // A statement the server runs may still be beyond the parser: the fix says so.
        .fix(&["correct the SQL syntax", "if PostgreSQL runs the statement as written", "does not know the construct"]);
    leak(SQLITE, "SELECT id FROM").problem(&["does not parse as SQLite SQL"]).fix(&["correct the SQL syntax"]);
    leak(MYSQL, "SELECT id FROM invoices WHERE")
        .problem(&["does not parse as MySQL SQL"])
        .fix(&["correct the SQL syntax"]);
}

#[test]
fn dialect_specific_syntax_does_not_parse_elsewhere() {
    leak(PG, "SELECT `id` FROM invoices WHERE tenant_id = :tenant").problem(&["does not parse as PostgreSQL SQL"]);
    leak(SQLITE, "INSERT INTO invoices SET tenant_id = :tenant").problem(&["does not parse as SQLite SQL"]);
}

// ----- statements a repository cannot hold ---------------------------------------------------

#[test]
fn ddl_is_refused() {
    leak(ALL, "CREATE TABLE notes (id INT, tenant_id TEXT)")
        .count(1)
        .problem(&["`CREATE TABLE` is not allowed in a repository", "one SELECT, INSERT, UPDATE or DELETE"])
        .fix(&["run schema changes", "in migrations"]);
    leak(ALL, "ALTER TABLE invoices ADD COLUMN note TEXT")
        .problem(&["`ALTER TABLE` is not allowed"])
        .fix(&["migrations"]);
    leak(ALL, "DROP TABLE invoices").problem(&["`DROP TABLE` is not allowed"]).fix(&["migrations"]);
    leak(PG, "GRANT SELECT ON invoices TO reporting").problem(&["`GRANT` is not allowed"]).fix(&["migrations"]);
}

#[test]
fn truncate_is_refused() {
    leak(PG, "TRUNCATE invoices")
        .count(1)
        .problem(&["`TRUNCATE` is not allowed in a repository"])
        .fix(&["`DELETE FROM ... WHERE tenant_id = :tenant`"]);
}

#[test]
fn select_into_creates_a_table_and_is_refused() {
    leak(PG, "SELECT * INTO backup FROM invoices WHERE tenant_id = :tenant")
        .count(1)
        .problem(&["`SELECT ... INTO` creates a table"])
        .fix(&["without `INTO`", "migration"]);
}

#[test]
fn session_settings_are_refused() {
    leak(PG, "SET search_path = other")
        .problem(&["`SET` is not allowed in a repository"])
        .fix(&["pool setup", "tenantry sets the tenant itself"]);
    leak(SQLITE, "PRAGMA foreign_keys = 0").problem(&["`PRAGMA` is not allowed"]).fix(&["pool setup"]);
}

#[test]
fn transaction_control_is_refused() {
    leak(ALL, "BEGIN")
        .problem(&["`BEGIN` is not allowed"])
        .fix(&["open a transaction from the scope", "db.begin(&scope)"]);
    leak(ALL, "COMMIT").problem(&["`COMMIT` is not allowed"]).fix(&["open a transaction from the scope"]);
}

#[test]
fn merge_is_refused() {
    leak(PG, "MERGE INTO invoices i USING drafts d ON d.id = i.id WHEN MATCHED THEN UPDATE SET amount = d.amount")
        .count(1)
        .problem(&["`MERGE` is not allowed in a repository"])
        .fix(&["upsert", "ON CONFLICT (tenant_id, ...) DO UPDATE"]);
}

#[test]
fn procedures_cannot_be_checked() {
    leak(PG, "CALL close_month(:tenant)")
        .problem(&["`CALL` is not allowed in a repository"])
        .fix(&["cannot see the SQL a procedure runs"]);
}

#[test]
fn explain_and_copy_are_refused() {
    leak(PG, "EXPLAIN SELECT id FROM invoices WHERE tenant_id = :tenant")
        .problem(&["`EXPLAIN` is not allowed"])
        .fix(&["run EXPLAIN by hand"]);
    leak(PG, "COPY invoices TO STDOUT")
        .problem(&["`COPY` is not allowed"])
        .fix(&["SELECT ... WHERE tenant_id = :tenant"]);
}

#[test]
fn table_statement_reads_every_tenant() {
    leak(PG, "SELECT id FROM invoices WHERE tenant_id = :tenant UNION TABLE archive")
        .count(1)
        .problem(&["`TABLE archive` in UNION branch 2 reads every tenant's rows"])
        .fix(&["SELECT * FROM archive WHERE tenant_id = :tenant"]);
    safe(PG, "SELECT code FROM currencies UNION TABLE countries");
}

// ----- parameters ----------------------------------------------------------------------

#[test]
fn question_mark_parameter_is_refused() {
    leak(MYSQL_SQLITE, "SELECT id FROM invoices WHERE tenant_id = :tenant AND id = ?")
        .count(1)
        .problem(&["positional parameter `?`", "binds parameters by name"])
        .fix(&["write `:name`"])
        .at("?");
}

#[test]
fn numbered_parameters_are_refused() {
    leak(PG, "SELECT id FROM invoices WHERE tenant_id = :tenant AND id = $1")
        .count(1)
        .problem(&["positional parameter `$1`"])
        .fix(&["write `:name`"])
        .at("$1");
    leak(SQLITE, "SELECT id FROM invoices WHERE tenant_id = :tenant AND id = ?1")
        .count(1)
        .problem(&["positional parameter `?1`"])
        .fix(&["write `:name`"]);
}

#[test]
fn sqlite_named_parameters_of_its_own_syntax_are_refused() {
    // sqlx would leave them unbound, and SQLite would read them as NULL.
    leak(SQLITE, "SELECT id FROM invoices WHERE tenant_id = :tenant AND id = @id")
        .count(1)
        .problem(&["parameter `@id` in SQLite's own syntax"])
        .fix(&["write `:name`"])
        .at("@id");
    leak(SQLITE, "SELECT id FROM invoices WHERE tenant_id = :tenant AND id = $id")
        .problem(&["parameter `$id` in SQLite's own syntax"])
        .fix(&["write `:name`"]);
}

#[test]
fn positional_tenant_is_both_refused_and_unconfined() {
    leak(PG, "SELECT id FROM invoices WHERE tenant_id = $1")
        .count(2)
        .problem(&["positional parameter `$1`"])
        .fix(&["write `:name`"])
        .problem(&["table `invoices`", "not confined"])
        .fix(&["replace `tenant_id = $1` with `tenant_id = :tenant`"]);
}

#[test]
fn a_question_mark_where_postgres_expects_a_value_is_the_same_positional_parameter() {
    // Worded as in the other dialects, a repository on several backends reports it once.
    let sql = "SELECT id FROM invoices WHERE tenant_id = :tenant AND id = ?";
    let pg = leak(PG, sql).count(1).rule(Rule::Parameter).problem(&["positional parameter `?`"]).at("?");
    let lite = leak(SQLITE, sql).count(1);
    assert_eq!(pg.violations(), lite.violations());
}

#[test]
fn postgres_question_mark_is_the_jsonb_operator() {
    let a = safe(PG, "SELECT id FROM invoices WHERE tenant_id = :tenant AND tags ? 'urgent'");
    assert_eq!(a.placeholders.names(), ["tenant"]);
}

#[test]
fn postgres_cast_is_not_a_placeholder() {
    let a = safe(PG, "SELECT id::text, amount::numeric FROM invoices WHERE tenant_id = :tenant AND note = :note::text");
    assert_eq!(a.placeholders.names(), ["tenant", "note"]);
}

#[test]
fn placeholders_are_listed_in_source_order() {
    let a =
        safe(ALL, "UPDATE invoices SET amount = :amount WHERE tenant_id = :tenant AND id = :id AND amount <> :amount");
    let names: Vec<&str> = a.placeholders.occurrences.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["amount", "tenant", "id", "amount"]);
    assert_eq!(a.placeholders.names(), ["amount", "tenant", "id"]);
}

#[test]
fn mysql_executable_comments_are_refused() {
    // MariaDB runs `/*M! ... */`; MySQL runs `/*!NNNNN ... */` only from version NNNNN on,
    // so the SQL tenantry parsed is not the SQL that runs.
    leak(MYSQL, "SELECT id FROM invoices WHERE tenant_id = :tenant /*M! OR 1 = 1 */")
        .count(1)
        .problem(&["runs the SQL inside `/*! ... */`", "cannot check what it does"])
        .fix(&["plain SQL"])
        .at("/*M!");
    leak(MYSQL, "SELECT id FROM invoices WHERE /*!99999 tenant_id = :tenant AND */ id = :id")
        .count(1)
        .problem(&["runs the SQL inside `/*! ... */`"])
        .fix(&["plain SQL"]);
    // Elsewhere they are plain comments, and optimizer hints stay allowed.
    leak(PG_SQLITE, "SELECT id FROM invoices /*! WHERE tenant_id = :tenant */")
        .problem(&["table `invoices`", "never uses `:tenant`"])
        .fix(&["WHERE tenant_id = :tenant"]);
    safe(MYSQL, "SELECT /*+ MAX_EXECUTION_TIME(1000) */ id FROM invoices WHERE tenant_id = :tenant");
}

// ----- `:tenant` -----------------------------------------------------------------------

#[test]
fn statement_without_tenant_says_so() {
    leak(ALL, "UPDATE invoices SET paid = true WHERE id = :id")
        .problem(&["table `invoices`", "in UPDATE", "(the statement never uses `:tenant`)"])
        .fix(&["AND tenant_id = :tenant"]);
}

#[test]
fn tenant_used_but_not_as_the_tenant_is_not_mentioned_as_missing() {
    leak(ALL, "SELECT id FROM invoices WHERE note = :tenant")
        .count(1)
        .problem(&["table `invoices`", "not confined"])
        .not_saying("never uses `:tenant`")
        .fix(&["AND tenant_id = :tenant"]);
}

#[test]
fn tenant_compared_only_with_shared_tables_is_refused() {
    leak(ALL, "SELECT name FROM countries WHERE code = :tenant")
        .count(1)
        .problem(&["`:tenant` is used but never compared with a tenant column", "reads only global tables"])
        .fix(&["drop `:tenant` from the statement"]);
    leak(ALL, "SELECT :tenant").problem(&["reads only global tables"]).fix(&["drop `:tenant`"]);
}

#[test]
fn tenant_that_never_reaches_a_tenant_column_is_refused() {
    leak(ALL, "WITH t AS (SELECT 1 AS x) SELECT x FROM t WHERE x = :tenant")
        .count(1)
        .problem(&["`:tenant` is used but never reaches a tenant column"])
        .fix(&["tenant_id = :tenant"]);
}

#[test]
fn shared_only_reads_need_no_tenant() {
    let a = safe(ALL, "SELECT c.code, cu.symbol FROM countries c JOIN currencies cu ON cu.code = c.currency");
    assert_shape(&a, StatementKind::Select, false, true);
    safe(ALL, "SELECT 1");
    safe(PG, "VALUES (1, 'one'), (2, 'two')");
}

// ----- unscoped methods ------------------------------------------------------------------

#[test]
fn unscoped_statement_is_not_confinement_checked() {
    let a = safe_unscoped(ALL, "SELECT tenant_id, count(*) FROM invoices GROUP BY tenant_id");
    assert_shape(&a, StatementKind::Select, false, true);
    safe_unscoped(ALL, "UPDATE countries SET name = :name WHERE code = :code");
    safe_unscoped(ALL, "DELETE FROM sessions WHERE expires_at < :now");
}

#[test]
fn unscoped_statement_cannot_use_tenant() {
    leak_unscoped(ALL, "SELECT id FROM invoices WHERE tenant_id = :tenant")
        .count(1)
        .problem(&["an unscoped method has no tenant to bind to `:tenant`"])
        .fix(&["remove `:tenant`", "drop `#[unscoped]`"])
        .at(":tenant");
}

#[test]
fn unscoped_statement_is_still_one_plain_statement() {
    leak_unscoped(PG, "TRUNCATE invoices").problem(&["`TRUNCATE` is not allowed"]).fix(&["DELETE FROM"]);
    leak_unscoped(ALL, "SELECT 1; SELECT 2").problem(&["2 statements in one method"]).fix(&["split"]);
    leak_unscoped(MYSQL, "SELECT id FROM invoices WHERE id = ?").problem(&["positional parameter `?`"]).fix(&[":name"]);
}

// ----- what the code generator learns ------------------------------------------------------

#[test]
fn analysis_describes_the_statement() {
    assert_shape(&safe(ALL, "SELECT id FROM invoices WHERE tenant_id = :tenant"), StatementKind::Select, false, true);
    assert_shape(
        &safe(ALL, "INSERT INTO invoices (tenant_id, n) VALUES (:tenant, :n)"),
        StatementKind::Insert,
        true,
        false,
    );
    assert_shape(
        &safe(PG_SQLITE, "UPDATE invoices SET n = :n WHERE tenant_id = :tenant RETURNING id"),
        StatementKind::Update,
        true,
        true,
    );
    assert_shape(&safe(ALL, "DELETE FROM invoices WHERE tenant_id = :tenant"), StatementKind::Delete, true, false);
}

#[test]
fn with_before_dml_is_the_dml() {
    let a = safe(
        PG,
        "WITH old AS (SELECT id FROM invoices WHERE tenant_id = :tenant AND due < now()) \
         UPDATE invoices SET overdue = true WHERE tenant_id = :tenant AND id IN (SELECT id FROM old)",
    );
    assert_shape(&a, StatementKind::Update, true, false);
}

// ----- messages --------------------------------------------------------------------------

#[test]
fn every_problem_is_listed() {
    leak(
        ALL,
        "SELECT a.id FROM invoices a JOIN customers b ON b.id = a.customer_id WHERE a.id IN (SELECT id FROM lines)",
    )
    .count(3)
    .problem(&["table `invoices a`"])
    .fix(&["a.tenant_id = :tenant"])
    .problem(&["table `customers b`"])
    .fix(&["b.tenant_id"])
    .problem(&["table `lines`", "of a subquery"])
    .fix(&["tenant_id = :tenant"]);
}

#[test]
fn rendered_message_points_at_the_table() {
    let sql = "SELECT id\n  FROM invoices\n WHERE id = :id";
    let v: Vec<Violation> = leak(PG, sql).violations().to_vec();
    let text = render(sql, &v[0]);
    assert!(text.contains("\n    FROM invoices\n         ^^^^^^^^\n"), "{text}");
    assert!(text.ends_with("fix: add `AND tenant_id = :tenant` to the WHERE clause"), "{text}");
}

#[test]
fn rendered_message_without_a_place_shows_the_statement() {
    let sql = "SELECT name\n  FROM countries\n WHERE code = :tenant";
    let v: Vec<Violation> = leak(PG, sql).violations().to_vec();
    let text = render(sql, &v[0]);
    assert!(text.contains("\n    SELECT name FROM countries WHERE code = :tenant\n"), "{text}");
}

#[test]
fn messages_follow_the_declared_schema() {
    let schema = Schema { tenant_column: "org_id".into(), shared: vec!["plans".into()], ..Schema::default() };
    let check = |sql: &str, mode| analyze(sql, Backend::Postgres, &schema, mode);
    assert!(check("SELECT id FROM invoices WHERE org_id = :tenant", Mode::Scoped).is_ok());
    assert!(check("SELECT id FROM plans", Mode::Scoped).is_ok());
    let refused = check("SELECT id FROM invoices WHERE tenant_id = :tenant", Mode::Scoped).unwrap_err();
    assert!(refused[0].problem.contains("table `invoices`"), "{refused:?}");
    assert_eq!(refused[0].fix, "add `AND org_id = :tenant` to the WHERE clause");
    let refused = check("TRUNCATE invoices", Mode::Scoped).unwrap_err();
    assert!(refused[0].fix.contains("WHERE org_id = :tenant"), "{refused:?}");
    let refused = check("UPDATE plans SET price = :price", Mode::Scoped).unwrap_err();
    assert!(refused[0].problem.contains("UPDATE of global table `plans`"), "{refused:?}");
}

// ----- set form (ScopeSet) -------------------------------------------------------------

#[test]
fn a_read_confined_only_by_tenant_predicates_has_a_set_form_per_backend() {
    use tenantry_analyzer::{Backend, set_form};
    let sql = "SELECT i.id FROM invoices i JOIN customers c ON c.id = i.customer_id AND c.tenant_id = :tenant \
               WHERE i.tenant_id = :tenant AND i.id > :after";
    let a = safe(PG, sql);
    assert_eq!(a.tenant_predicates.len(), 2);
    assert_eq!(
        set_form(sql, &a, Backend::Postgres).unwrap(),
        "SELECT i.id FROM invoices i JOIN customers c ON c.id = i.customer_id AND c.tenant_id = ANY(:tenant) \
         WHERE i.tenant_id = ANY(:tenant) AND i.id > :after"
    );
    assert!(
        set_form(sql, &a, Backend::Sqlite).unwrap().contains("i.tenant_id IN (SELECT value FROM json_each(:tenant))")
    );
    assert!(set_form(sql, &a, Backend::MySql).unwrap().contains("FIND_IN_SET(i.tenant_id, :tenant)"));
}

#[test]
fn a_tenant_used_outside_a_predicate_or_a_write_has_no_set_form() {
    use tenantry_analyzer::{Backend, set_form};
    let selected = "SELECT :tenant AS t, id FROM invoices WHERE tenant_id = :tenant";
    assert_eq!(set_form(selected, &safe(PG, selected), Backend::Postgres), None);
    let write = "UPDATE invoices SET paid = TRUE WHERE tenant_id = :tenant";
    assert_eq!(set_form(write, &safe(PG, write), Backend::Postgres), None);
    let cast = "SELECT id FROM invoices WHERE tenant_id = CAST(:tenant AS TEXT)";
    assert_eq!(set_form(cast, &safe(PG, cast), Backend::Postgres), None);
}

#[test]
fn statements_that_return_at_most_one_row_are_known() {
    let one = |sql| assert!(safe(ALL, sql).at_most_one_row, "{sql}");
    let many = |sql| assert!(!safe(ALL, sql).at_most_one_row, "{sql}");
    one("INSERT INTO invoices (tenant_id, amount) VALUES (:tenant, :a) RETURNING id");
    one("SELECT COUNT(*) FROM invoices WHERE tenant_id = :tenant");
    one("SELECT COALESCE(SUM(amount), 0) AS total, MAX(id) FROM invoices WHERE tenant_id = :tenant");
    one("SELECT id FROM invoices WHERE tenant_id = :tenant ORDER BY id DESC LIMIT 1");
    many("INSERT INTO invoices (tenant_id, amount) VALUES (:tenant, 1), (:tenant, 2) RETURNING id");
    many("SELECT COUNT(*) FROM invoices WHERE tenant_id = :tenant GROUP BY customer");
    many("SELECT id FROM invoices WHERE tenant_id = :tenant AND id = :id");
    many("SELECT id, COUNT(*) OVER () FROM invoices WHERE tenant_id = :tenant");
    assert!(
        !safe(PG, "UPDATE invoices SET amount = 1 WHERE tenant_id = :tenant AND id = :id RETURNING id").at_most_one_row
    );
}
