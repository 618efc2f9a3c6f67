//! Operators whose grouping the parser and the server disagree on, or whose meaning a
//! server setting decides, are refused: a statement proved confined as the parser reads it
//! could run as another. Each leak below returned another tenant's rows on the real server
//! (`scripts/operator-precedence.py`).

mod common;

use common::*;

#[test]
fn mysql_double_pipe_is_refused() {
    // OR on the server (without PIPES_AS_CONCAT): every row.
    leak(MYSQL, "SELECT id FROM invoices WHERE tenant_id = :tenant AND 0 || 1")
        .rule(Rule::ServerSetting)
        .problem(&["`||` is OR in MySQL", "PIPES_AS_CONCAT"])
        .fix(&["`CONCAT(a, b)`"])
        .at("||");
    safe(MYSQL, "SELECT CONCAT(customer, '-', id) FROM invoices WHERE tenant_id = :tenant");
    // PostgreSQL and SQLite read `||` as concatenation, like the parser.
    safe(PG_SQLITE, "SELECT customer || '-' FROM invoices WHERE tenant_id = :tenant");
}

#[test]
fn mysql_xor_is_refused() {
    leak(MYSQL, "SELECT id FROM invoices WHERE tenant_id = :tenant AND 1 XOR 1")
        .rule(Rule::ServerSetting)
        .problem(&["`XOR` between AND and OR"])
        .at("XOR");
    safe(MYSQL, "SELECT id FROM invoices WHERE tenant_id = :tenant AND (paid OR overdue) AND NOT (paid AND overdue)");
}

#[test]
fn mysql_prefix_binary_is_refused_and_the_cast_accepted() {
    leak(MYSQL, "SELECT id FROM invoices WHERE tenant_id = :tenant AND BINARY customer = 'a' OR 1 = 1")
        .rule(Rule::ServerSetting)
        .problem(&["prefix `BINARY`"])
        .fix(&["CAST(x AS BINARY)"]);
    safe(MYSQL, "SELECT id FROM invoices WHERE tenant_id = :tenant AND CAST(customer AS BINARY) = 'a'");
}

#[test]
fn a_backslash_in_a_string_is_refused_where_a_setting_decides() {
    let sql = r"SELECT id FROM invoices WHERE tenant_id = :tenant AND customer = 'x\' OR 1 = 1 -- '";
    leak(MYSQL, sql)
        .rule(Rule::ServerSetting)
        .problem(&["a backslash in a string", "NO_BACKSLASH_ESCAPES"])
        .fix(&["argument of the method"]);
    let sql = r"SELECT id FROM invoices WHERE customer = 'x\' AND tenant_id = :tenant AND customer <> ' OR true --'";
    leak(PG, sql).rule(Rule::ServerSetting).problem(&["standard_conforming_strings"]);
    // PostgreSQL's E'...' strings always escape, as the parser reads them.
    safe(PG, r"SELECT id FROM invoices WHERE tenant_id = :tenant AND customer = E'x\'y'");
    // SQLite has no backslash escapes at all.
    safe(SQLITE, r"SELECT id FROM invoices WHERE tenant_id = :tenant AND note = 'C:\temp'");
}

#[test]
fn mysql_double_quoted_text_is_refused() {
    leak(MYSQL, r#"SELECT id FROM invoices WHERE tenant_id = :tenant AND customer = "acme""#)
        .rule(Rule::ServerSetting)
        .problem(&["ANSI_QUOTES"])
        .fix(&["single quotes"]);
    safe(MYSQL, "SELECT id FROM invoices WHERE tenant_id = :tenant AND customer = 'acme'");
}

#[test]
fn mysql_double_dash_without_ascii_space_is_refused() {
    leak(MYSQL, "SELECT id FROM invoices WHERE tenant_id = :tenant --\u{a0}AND 1\n")
        .rule(Rule::ServerSetting)
        .problem(&["`--` starts a comment in MySQL only when an ASCII space"]);
    safe(MYSQL, "SELECT id FROM invoices WHERE tenant_id = :tenant -- the tenant's\n");
}

#[test]
fn unscoped_statements_are_not_held_to_the_operator_rules() {
    safe_unscoped(MYSQL, "SELECT customer || '-' FROM invoices");
}
