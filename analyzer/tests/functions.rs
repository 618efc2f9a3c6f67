//! Functions come from an allow-list per dialect: a call is accepted when it reads
//! nothing but its arguments, and refused, naming the function, otherwise.

mod common;

use common::*;
use tenantry_analyzer::{Backend, Mode, Schema, analyze};

#[test]
fn everyday_functions_are_allowed_in_every_dialect() {
    safe(
        ALL,
        "SELECT lower(customer), coalesce(note, ''), count(*), max(amount), round(avg(amount), 2), \
                upper(substr(customer, 1, 3)), abs(amount), length(customer), replace(note, 'a', 'b') \
         FROM invoices WHERE tenant_id = :tenant GROUP BY customer, note",
    );
    safe(
        PG,
        "SELECT date_trunc('month', created_at), string_agg(customer, ', '), jsonb_build_object('n', count(*)), row_number() OVER (ORDER BY 1) FROM invoices WHERE tenant_id = :tenant GROUP BY 1",
    );
    safe(
        MYSQL,
        "SELECT DATE_FORMAT(created_at, '%Y'), GROUP_CONCAT(customer), IFNULL(note, ''), CONCAT_WS('-', a, b) FROM invoices WHERE tenant_id = :tenant GROUP BY 1",
    );
    safe(
        SQLITE,
        "SELECT strftime('%Y', created_at), group_concat(customer), ifnull(note, ''), json_object('n', count(*)) FROM invoices WHERE tenant_id = :tenant GROUP BY 1",
    );
}

#[test]
fn an_array_subquery_is_a_subquery_not_a_function() {
    safe(
        PG,
        "SELECT i.id, ARRAY(SELECT p.id FROM payments p WHERE p.tenant_id = i.tenant_id) FROM invoices i WHERE i.tenant_id = :tenant",
    );
    leak(PG, "SELECT i.id, ARRAY(SELECT p.id FROM payments p) FROM invoices i WHERE i.tenant_id = :tenant")
        .rule(Rule::Unconfined)
        .problem(&["table `payments p`", "not confined"]);
}

#[test]
fn session_state_is_refused_per_dialect() {
    // What one tenant's statement leaves on a pooled connection, the next tenant reads.
    leak(PG, "SELECT id FROM invoices WHERE tenant_id = :tenant AND note = current_setting('app.note')")
        .rule(Rule::Function)
        .problem(&["function `current_setting`", "session state"]);
    leak(PG, "SELECT currval('invoices_id_seq')").rule(Rule::Function).problem(&["function `currval`"]);
    leak(MYSQL, "SELECT LAST_INSERT_ID()").rule(Rule::Function).problem(&["function `LAST_INSERT_ID`"]);
    leak(MYSQL, "SELECT FOUND_ROWS()").rule(Rule::Function).problem(&["function `FOUND_ROWS`"]);
    leak(SQLITE, "SELECT changes()").rule(Rule::Function).problem(&["function `changes`"]);
    leak(SQLITE, "SELECT last_insert_rowid()").rule(Rule::Function).problem(&["function `last_insert_rowid`"]);
}

#[test]
fn user_variables_are_refused() {
    leak(MYSQL, "SELECT id FROM invoices WHERE tenant_id = :tenant AND id = @last")
        .rule(Rule::Variable)
        .problem(&["variable `@last` lives on the connection"])
        .fix(&["argument of the method"]);
    leak(MYSQL, "SELECT @@session.sql_mode").rule(Rule::Variable).problem(&["variable `@@session`"]);
    leak(MYSQL, "SELECT @n := id FROM invoices WHERE tenant_id = :tenant")
        .rule(Rule::Variable)
        .problem(&["variable `@n`"]);
}

#[test]
fn shared_objects_and_other_sessions_are_refused() {
    leak(PG, "INSERT INTO invoices (tenant_id, id) VALUES (:tenant, nextval('invoices_id_seq'))")
        .rule(Rule::Function)
        .problem(&["function `nextval`"]);
    leak(PG, "SELECT pg_advisory_lock(1)").rule(Rule::Function).problem(&["function `pg_advisory_lock`"]);
    leak(PG, "SELECT pg_terminate_backend(42)").rule(Rule::Function).problem(&["function `pg_terminate_backend`"]);
    leak(MYSQL, "SELECT GET_LOCK('x', 1)").rule(Rule::Function).problem(&["function `GET_LOCK`"]);
    leak(PG, "SELECT pg_read_file('/etc/passwd')").rule(Rule::Function).problem(&["function `pg_read_file`"]);
    leak(MYSQL, "SELECT LOAD_FILE('/etc/passwd')").rule(Rule::Function).problem(&["function `LOAD_FILE`"]);
}

#[test]
fn another_dialects_built_in_is_named_as_such() {
    leak(SQLITE, "SELECT id FROM invoices WHERE tenant_id = :tenant AND created_at > now()")
        .rule(Rule::Function)
        .problem(&["function `now` is a PostgreSQL built-in, not a SQLite one"])
        .fix(&["SQLite's own functions"]);
}

#[test]
fn an_unknown_function_is_refused_with_the_opt_in() {
    leak(ALL, "SELECT id FROM invoices WHERE tenant_id = :tenant AND risk_score(id) > 3")
        .rule(Rule::Function)
        .problem(&["function `risk_score` is not a", "built-in that tenantry knows to read nothing but its arguments"])
        .fix(&["allow_functions(risk_score)"]);
    // A function of another schema is the user's, even when named like a built-in.
    leak(PG, "SELECT app.lower(customer) FROM invoices WHERE tenant_id = :tenant")
        .rule(Rule::Function)
        .problem(&["function `app.lower`"])
        .fix(&["allow_functions(app.lower)"]);
    safe(PG, "SELECT pg_catalog.lower(customer) FROM invoices WHERE tenant_id = :tenant");
    // PostgreSQL keeps the case of a quoted name: `"LOWER"` is not `lower`.
    leak(PG, r#"SELECT "LOWER"(customer) FROM invoices WHERE tenant_id = :tenant"#)
        .rule(Rule::Function)
        .problem(&["function `LOWER`"]);
}

fn with_functions(functions: &[&str]) -> Schema {
    Schema { allowed_functions: functions.iter().map(|f| f.to_string()).collect(), ..schema() }
}

#[test]
fn an_opted_in_function_is_accepted_and_counts_as_a_write() {
    let schema = with_functions(&["risk_score", "current_setting"]);
    for backend in Backend::ALL {
        let sql = "SELECT id FROM invoices WHERE tenant_id = :tenant AND risk_score(id) > 3";
        let a = analyze(sql, backend, &schema, Mode::Scoped).expect("opted in");
        assert!(a.writes, "a function tenantry does not know may write: {backend:?}");
    }
    // A built-in known not to write stays a read.
    let sql = "SELECT id FROM invoices WHERE tenant_id = :tenant AND note = current_setting('app.note')";
    let a = analyze(sql, Backend::Postgres, &schema, Mode::Scoped).expect("opted in");
    assert!(!a.writes);
    // The opt-in names one function, not every function.
    let other = "SELECT id FROM invoices WHERE tenant_id = :tenant AND other_score(id) > 3";
    assert!(analyze(other, Backend::Postgres, &schema, Mode::Scoped).is_err());
}

#[test]
fn an_opted_in_writing_built_in_makes_the_statement_a_write() {
    let schema = with_functions(&["nextval"]);
    let sql = "SELECT nextval('invoice_numbers') FROM invoices WHERE tenant_id = :tenant LIMIT 1";
    let a = analyze(sql, Backend::Postgres, &schema, Mode::Scoped).expect("opted in");
    assert!(a.writes, "nextval advances a sequence");
}
