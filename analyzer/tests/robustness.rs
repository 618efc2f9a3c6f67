//! The analyser never panics: any input gets an analysis or typed violations, and what a
//! caller then does with them (the set form, the placeholder rewrite, rendering each
//! violation against the statement) never panics either.
//!
//! Each `found_by_fuzzing_*` test is a minimised input from the fuzz target
//! (`analyzer/fuzz`, run by `scripts/fuzz.sh`) that once panicked, named after its cause.
//! The last test is a fast, deterministic stand-in for the fuzzer that runs in CI.

use tenantry_analyzer::schema::{Catalog, Migration};
use tenantry_analyzer::{Backend, Mode, Rule, Schema, Violation, analyze, placeholders, render, set_form};

/// Migrations for the third schema: every kind of table the ownership rules know.
const MIGRATIONS: &str = include_str!("robustness.sql");

/// The tests' schema, one with a camel-case tenant column and opted-in functions (as
/// the fuzz target's first byte picks), and one read from migrations.
fn schemas(backend: Backend) -> [Schema; 3] {
    let migration = Migration { version: 1, path: "1_schema.sql".into(), sql: MIGRATIONS.to_string() };
    let catalog = Catalog::from_migrations(&[migration], backend).expect("the migrations apply");
    [
        Schema::with_shared(["countries", "currencies"]),
        Schema {
            tenant_column: "tenantId".to_string(),
            shared: vec!["countries".to_string()],
            allowed_functions: vec!["my_fn".to_string(), "app.audit".to_string()],
            ..Schema::default()
        },
        Schema {
            tenant_table: Some("tenants".into()),
            shared: vec!["countries".into()],
            catalog: Some(catalog),
            ..Schema::default()
        },
    ]
}

const MODES: [Mode; 2] = [Mode::Scoped, Mode::Unscoped];

/// Whether `span` is a range of `sql` that slices it: in bounds, ordered, on character
/// boundaries.
fn slices(sql: &str, (start, end): (usize, usize)) -> bool {
    start <= end && end <= sql.len() && sql.is_char_boundary(start) && sql.is_char_boundary(end)
}

/// Runs everything a caller does with `sql` on one backend, mode and schema.
#[track_caller]
fn run(sql: &str, backend: Backend, mode: Mode, schema: &Schema) {
    match analyze(sql, backend, schema, mode) {
        Ok(analysis) => {
            // Positions in the statement as generated (the tenant stated where it was
            // proven transitively), each predicate starting with its column.
            let generated = &analysis.sql;
            for p in &analysis.tenant_predicates {
                assert!(
                    slices(generated, (p.start, p.end)) && generated[p.start..].starts_with(&p.column),
                    "{backend:?} {mode:?}: tenant predicate {p:?} of {generated:?}"
                );
            }
            let _ = set_form(generated, &analysis, backend);
            let _ = placeholders::rewrite(generated, &analysis.placeholders, backend);
        }
        Err(violations) => {
            assert!(!violations.is_empty(), "{backend:?} {mode:?}: refused without a reason: {sql:?}");
            for v in &violations {
                if let Some(span) = v.span {
                    assert!(slices(sql, span), "{backend:?} {mode:?}: span {span:?} of {sql:?} for {v:?}");
                }
                let text = render(sql, v);
                assert!(text.contains(&v.problem) && text.contains(&v.fix));
            }
        }
    }
}

/// [`run`] on every backend, mode and schema.
#[track_caller]
fn survives(sql: &str) {
    for backend in Backend::ALL {
        for schema in &schemas(backend) {
            for mode in MODES {
                run(sql, backend, mode, schema);
            }
        }
    }
}

// ----- inputs the fuzzer found ----------------------------------------------------------

/// A parse error's location is one point; the analyser widened it by one byte, which cut
/// a multi-byte character, and `render` sliced inside it.
#[test]
fn found_by_fuzzing_parse_error_at_a_multibyte_character() {
    survives("ź");
    survives("źSOME");
    survives("SELECT id FROM invoices WHERE é");
    survives("SELECT id FROM invoices\nWHERE tenant_id = :tenant AND 🎉");
}

// ----- render takes any violation ---------------------------------------------------------

/// `Violation` is plain data: `render` draws a caret for any span, even one that cuts a
/// character, ends before it starts, lies past the statement or in the indentation.
#[test]
fn render_takes_any_span() {
    let sql = "SELECT ź\n    FROM 日本 WHERE x = 'é'";
    for start in 0..=sql.len() + 2 {
        for end in 0..=sql.len() + 2 {
            let v = Violation { rule: Rule::Syntax, problem: "p".into(), fix: "f".into(), span: Some((start, end)) };
            let text = render(sql, &v);
            assert!(text.starts_with("p\n") && text.ends_with("fix: f"), "{start}..{end}: {text}");
        }
    }
}

// ----- random statements ---------------------------------------------------------------

/// xorshift64: a fixed sequence, so that a failure reproduces.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// What random statements are made of: SQL words and names the rules know, operators,
/// quotes and comment markers (often unclosed), placeholders in every backend's syntax,
/// non-ASCII letters, and control and white-space characters.
#[rustfmt::skip]
const TOKENS: &[&str] = &[
    "SELECT ", "SELECT id FROM invoices", " FROM ", "invoices", "customers c", "countries", " WHERE ", "tenant_id",
    "c.tenant_id", "\"tenantId\"", " = ", ":tenant", ":id", " AND ", " OR ", "NOT ", " JOIN ", " LEFT JOIN ", " ON ",
    " USING (tenant_id)", "WITH x AS (", "SELECT * FROM x", " UNION ALL ", "INSERT INTO invoices (tenant_id, id) ",
    "VALUES (:tenant, :id)", " ON CONFLICT (tenant_id, id) DO UPDATE SET id = excluded.id", " ON DUPLICATE KEY UPDATE ",
    "UPDATE invoices SET ", "DELETE FROM invoices", " RETURNING *", " LIMIT 1", " GROUP BY ", " ORDER BY ", "count(*)",
    "EXISTS (", "CASE WHEN ", " THEN ", " END", "CAST(", " AS ", "text", "::", "(", ")", "((", "))", ",", ";", ".", "*",
    "'", "''", "'a'", "\"", "`", "[", "]", "E'", "\\", "\\'", "--", "-- ", "#", "/*", "*/", "/*!", "/*M!", "$$", "$q$",
    "$1", "?", "?1", "@a", "$a", "@@x", "||", "XOR", "BINARY ", "->>", "?|", "<=>", "1", "0x", "1e", "é", "ź", "ß",
    "日本", "🎉", "\u{200b}", "\u{feff}", "\u{a0}", " ", "  ", "\n", "\r\n", "\r", "\t", "\0", "\u{7}", "\u{7f}",
    // The migrations' tables: children, the tenant table, an unclassified one.
    "payments p", "refunds r", "invoice_id", "p.invoice_id = i.id", " IN (SELECT id FROM invoices WHERE tenant_id = :tenant)",
    "INSERT INTO payments (invoice_id, amount) ", "tenants", "settings", "notes", " AS x(a, b)",
];

fn random_statement(rng: &mut Rng) -> String {
    let mut sql = String::new();
    for _ in 0..1 + rng.below(16) {
        sql.push_str(TOKENS[rng.below(TOKENS.len())]);
    }
    sql
}

/// About 20,000 random statements, each on every backend in a random mode and schema:
/// the fuzzer's check in miniature, deterministic and fast enough for every test run.
#[test]
fn random_statements_never_panic() {
    let schemas = Backend::ALL.map(schemas);
    let mut rng = Rng(0x7e6a_47a7_5eed_0001);
    for _ in 0..20_000 {
        let sql = random_statement(&mut rng);
        let mode = MODES[rng.below(MODES.len())];
        let which = rng.below(schemas[0].len());
        for (backend, schemas) in Backend::ALL.into_iter().zip(&schemas) {
            run(&sql, backend, mode, &schemas[which]);
        }
    }
}

// ----- long and deep statements ---------------------------------------------------------

/// The stack of a thread Rust starts (and of a test thread): the analyser must fit in it,
/// in a debug build, whatever the statement. Set here so that `RUST_MIN_STACK` does not
/// change what the tests check.
const THREAD_STACK: usize = 2 << 20;

/// Runs [`survives`] on `sql` on a thread with [`THREAD_STACK`]. (No time limit: speed is
/// the benchmarks' business; an input that made the analyser exponential would hang this
/// test, and the fuzzer's 5 s timeout finds such inputs first.)
#[track_caller]
fn survives_on_a_thread(sql: String) {
    let outcome =
        std::thread::Builder::new().stack_size(THREAD_STACK).spawn(move || survives(&sql)).expect("a thread").join();
    assert!(outcome.is_ok(), "the analyser panicked (see above)");
}

/// sqlparser's frames in a debug build are 100-200 kB per nested FROM item or subquery:
/// within its own recursion limit, 41 unclosed parentheses after FROM (the fuzzer's
/// find), or a dozen nested subqueries, overflowed a 2 MiB stack. A deep statement is
/// analysed on a thread with a stack of its own.
#[test]
fn found_by_fuzzing_nested_from_items_overflowed_the_stack() {
    survives_on_a_thread(format!("SELECT i FROM{}", "(".repeat(41)));
    for depth in [12, 23, 46] {
        survives_on_a_thread(format!("SELECT i FROM {}invoices{}", "(".repeat(depth), ")".repeat(depth)));
        survives_on_a_thread(format!(
            "SELECT id FROM invoices WHERE tenant_id = :tenant AND id IN {}1{}",
            "(SELECT id FROM invoices WHERE tenant_id = :tenant AND id IN (".repeat(depth),
            "))".repeat(depth)
        ));
    }
}

/// Whether `sql` is refused for nesting too deeply on every backend.
fn refused_as_too_deep(sql: &str) -> bool {
    Backend::ALL.into_iter().all(|backend| {
        matches!(analyze(sql, backend, &schemas(Backend::Postgres)[0], Mode::Scoped),
            Err(vs) if vs.iter().any(|v| v.rule == Rule::Syntax && v.problem.contains("nests too deeply")))
    })
}

/// Stripping casts around a placeholder stripped each cast twice: the work doubled with
/// every cast, and thirty took minutes.
#[test]
fn a_placeholder_under_many_casts_is_stripped_in_linear_time() {
    survives_on_a_thread(format!("SELECT :tenant{} FROM invoices", "::text".repeat(64)));
    survives_on_a_thread(format!("SELECT id FROM invoices WHERE tenant_id = :tenant{}", "::text".repeat(64)));
}

/// The lexical check located every token by walking the statement from its start:
/// quadratic, seconds for a 20 kB statement; these 6,000 values took minutes.
#[test]
fn a_long_statement_is_checked_in_linear_time() {
    let values = (0..6_000).map(|i| format!("'v{i}'")).collect::<Vec<_>>().join(", ");
    survives_on_a_thread(format!("SELECT id FROM invoices WHERE tenant_id = :tenant AND status IN ({values})"));
}

/// sqlparser builds a chain of operators as one tree level per operator, outside its
/// recursion limit, and every walk of the tree (sqlparser's `Clone` and `Drop` among them)
/// recursed as deep: 2,000 `+1` overflowed the stack of a debug build. Such a statement is
/// refused before it is parsed.
#[test]
fn a_long_chain_of_operators_is_refused_before_parsing() {
    let chains = [
        format!("SELECT 1{} FROM invoices WHERE tenant_id = :tenant", "+1".repeat(2_000)),
        format!("SELECT id FROM invoices WHERE tenant_id = :tenant{}", " AND a = 1".repeat(2_000)),
        format!("SELECT id FROM invoices WHERE tenant_id = :tenant AND (a = 1{})", " OR a = 1".repeat(2_000)),
        format!("SELECT id FROM invoices WHERE tenant_id = :tenant{}", "::text".repeat(2_000)),
        format!("SELECT a{} FROM invoices WHERE tenant_id = :tenant", " IS NULL".repeat(2_000)),
        format!("SELECT id FROM invoices WHERE tenant_id = :tenant{}", " UNION SELECT 1".repeat(1_000)),
        // The chain goes on after a parenthesis closes.
        format!("SELECT ({}1){} FROM invoices", "1+".repeat(200), "+1".repeat(200)),
    ];
    for sql in chains {
        assert!(refused_as_too_deep(&sql), "{}...", &sql[..60]);
        survives_on_a_thread(sql);
    }
}

/// What the bound does not refuse: a chain within it, long lists (each item starts
/// afresh), many rows, nesting as deep as sqlparser allows.
#[test]
fn long_but_shallow_statements_are_analysed() {
    let within = format!("SELECT id FROM invoices WHERE tenant_id = :tenant{}", " AND a = 1".repeat(120));
    assert!(analyze(&within, Backend::Postgres, &schemas(Backend::Postgres)[0], Mode::Scoped).is_ok());
    let list = (0..2_000).map(|i| format!("a + {i}")).collect::<Vec<_>>().join(", ");
    assert!(!refused_as_too_deep(&format!("SELECT {list} FROM invoices WHERE tenant_id = :tenant")));
    let rows = (0..1_000).map(|i| format!("(:tenant, {i} + 1)")).collect::<Vec<_>>().join(", ");
    let insert = format!("INSERT INTO invoices (tenant_id, id) VALUES {rows}");
    assert!(analyze(&insert, Backend::Postgres, &schemas(Backend::Postgres)[0], Mode::Scoped).is_ok());
    for depth in [10, 23, 40, 200] {
        let nested = format!(
            "SELECT * FROM {}invoices{} WHERE tenant_id = :tenant",
            "(SELECT * FROM ".repeat(depth),
            ") x".repeat(depth)
        );
        survives_on_a_thread(nested);
        let exists = format!(
            "SELECT id FROM invoices i WHERE tenant_id = :tenant AND {}1 = 1{}",
            "EXISTS (SELECT 1 FROM invoices j WHERE j.tenant_id = i.tenant_id AND ".repeat(depth),
            ")".repeat(depth)
        );
        survives_on_a_thread(exists);
    }
}
