//! `tenantry check` run as a user runs it: over the fixture tree (golden outputs), over
//! small trees made here (parameter styles, baselines, exit codes), and as the two
//! binaries.
//!
//! `BLESS=1 cargo test -p tenantry-cli` rewrites the golden files; read the diff.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/app")
}

/// Runs the command in-process: (exit status, stdout, stderr).
fn run(args: &[&str]) -> (i32, String, String) {
    let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let status = tenantry_cli::run(&args, &mut out, &mut err);
    (status, String::from_utf8(out).unwrap(), String::from_utf8(err).unwrap())
}

fn check(root: &Path, extra: &[&str]) -> (i32, String, String) {
    let root = root.to_str().unwrap();
    let mut args = vec!["check", root];
    args.extend_from_slice(extra);
    run(&args)
}

/// Compares `actual` with the golden file `name`, or rewrites it under `BLESS=1`.
fn golden(name: &str, actual: &str) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden").join(name);
    if std::env::var_os("BLESS").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (run with BLESS=1 to write it)", path.display()));
    if expected != actual {
        panic!(
            "{name} differs from its golden file (BLESS=1 rewrites it):\n--- expected\n{expected}\n--- actual\n{actual}"
        );
    }
}

/// A scratch tree with `files` (path, text); removed when dropped.
struct Tree(PathBuf);

impl Tree {
    fn new(name: &str, files: &[(&str, &str)]) -> Tree {
        let dir = std::env::temp_dir().join(format!("tenantry-cli-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        for (path, text) in files {
            let path = dir.join(path);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        }
        Tree(dir)
    }

    fn write(&self, path: &str, text: &str) {
        std::fs::write(self.0.join(path), text).unwrap();
    }
}

impl Drop for Tree {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn json(root: &Path, extra: &[&str]) -> (i32, Value) {
    let mut args = vec!["--format", "json"];
    args.extend_from_slice(extra);
    let (status, out, err) = check(root, &args);
    assert!(err.is_empty(), "{err}");
    (status, serde_json::from_str(&out).unwrap())
}

/// (rule, line) of each finding.
fn findings(doc: &Value) -> Vec<(String, u64)> {
    doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["rule"].as_str().unwrap().to_string(), f["line"].as_u64().unwrap()))
        .collect()
}

#[test]
fn golden_text() {
    let (status, out, err) = check(&fixture(), &[]);
    assert_eq!(status, 1, "{err}");
    golden("app.txt", &out);
}

#[test]
fn golden_json() {
    let (status, out, _) = check(&fixture(), &["--format", "json"]);
    assert_eq!(status, 1);
    golden("app.json", &out);
}

#[test]
fn golden_sarif() {
    let (status, out, _) = check(&fixture(), &["--format", "sarif"]);
    assert_eq!(status, 1);
    golden("app.sarif", &out);
}

/// What each statement of the fixture is, as the JSON says.
#[test]
fn the_fixture_statement_by_statement() {
    let (_, doc) = json(&fixture(), &[]);
    let statuses: Vec<(String, u64, String)> = doc["statements"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["file"].as_str().unwrap().to_string(),
                s["line"].as_u64().unwrap(),
                s["status"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let expect = |file: &str, line: u64, status: &str| {
        assert!(
            statuses.contains(&(file.to_string(), line, status.to_string())),
            "{file}:{line} is not {status}: {statuses:#?}"
        );
    };
    expect("src/invoices.rs", 6, "confined"); // a `const` holding the SQL
    expect("src/invoices.rs", 10, "confined"); // a raw string over several lines
    expect("src/invoices.rs", 23, "flagged");
    expect("src/invoices.rs", 32, "flagged"); // `query_as!`: the SQL is the second argument
    expect("src/invoices.rs", 43, "flagged"); // two tenant parameters
    expect("src/invoices.rs", 56, "confined");
    expect("src/invoices.rs", 66, "no-tenant-table");
    expect("src/reports.rs", 6, "not-checkable"); // `format!`
    expect("src/reports.rs", 10, "not-checkable"); // `QueryBuilder`
    expect("src/reports.rs", 17, "cross-tenant");
    expect("src/reports.rs", 25, "flagged"); // a marker without a reason does not count
    expect("queries/invoices.sql", 3, "confined");
    expect("queries/invoices.sql", 7, "confined");
    expect("queries/invoices.sql", 12, "flagged");
    expect("queries/invoices.sql", 15, "confined");
    expect("queries/invoices.sql", 18, "cross-tenant");
    assert_eq!(statuses.len(), 16);
    let summary = &doc["summary"];
    assert_eq!(summary["statements"], 16);
    assert_eq!(summary["confined"], 7);
    assert_eq!(summary["no_tenant_table"], 1);
    assert_eq!(summary["flagged"], 5);
    assert_eq!(summary["cross_tenant"], 2);
    assert_eq!(summary["not_checkable"], 2);
    assert_eq!(doc["sql_files_without_queries"][0], "scripts/seed.sql");
    // The tenant parameter of a confined statement is named.
    let find = doc["statements"].as_array().unwrap().iter().find(|s| s["line"] == 6 && s["file"] == "src/invoices.rs");
    assert_eq!(find.unwrap()["tenant_parameter"], "$1");
}

/// The caret is where the offending part is in the file, through raw strings, `\`
/// continuations and `concat!`.
#[test]
fn carets_point_into_the_file() {
    let (_, doc) = json(&fixture(), &[]);
    let text = std::fs::read_to_string(fixture().join("src/invoices.rs")).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let at = |f: &Value| {
        let line = lines[f["line"].as_u64().unwrap() as usize - 1];
        let column = f["column"].as_u64().unwrap() as usize - 1;
        let end = f["end_column"].as_u64().unwrap() as usize - 1;
        line.chars().skip(column).take(end - column).collect::<String>()
    };
    let in_file: Vec<&Value> =
        doc["findings"].as_array().unwrap().iter().filter(|f| f["file"] == "src/invoices.rs").collect();
    let shown: Vec<String> = in_file.iter().map(|f| at(f)).collect();
    // `by_id` (a `\` continuation), `with_customer` (`query_as!`), `reassign` (`concat!`).
    assert_eq!(shown, ["invoices", "customers", "$2"]);
}

#[test]
fn sarif_has_the_required_fields() {
    let (_, out, _) = check(&fixture(), &["--format", "sarif"]);
    let log: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(log["version"], "2.1.0");
    assert!(log["$schema"].as_str().unwrap().contains("sarif-schema-2.1.0"));
    let runs = log["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 1);
    let driver = &runs[0]["tool"]["driver"];
    assert_eq!(driver["name"], "tenantry");
    let rules: Vec<&str> = driver["rules"].as_array().unwrap().iter().map(|r| r["id"].as_str().unwrap()).collect();
    let results = runs[0]["results"].as_array().unwrap();
    assert_eq!(results.len(), 8);
    for r in results {
        let id = r["ruleId"].as_str().unwrap();
        assert_eq!(rules[r["ruleIndex"].as_u64().unwrap() as usize], id);
        assert!(["error", "warning"].contains(&r["level"].as_str().unwrap()));
        assert!(!r["message"]["text"].as_str().unwrap().is_empty());
        let physical = &r["locations"][0]["physicalLocation"];
        let uri = physical["artifactLocation"]["uri"].as_str().unwrap();
        assert!(fixture().join(uri).is_file(), "{uri} is not a file of the tree");
        let region = &physical["region"];
        assert!(region["startLine"].as_u64().unwrap() >= 1);
        assert!(region["startColumn"].as_u64().unwrap() >= 1);
        assert!(
            region["endColumn"].as_u64() > region["startColumn"].as_u64() || region["endLine"] != region["startLine"]
        );
        assert_eq!(r["partialFingerprints"]["tenantry/v1"].as_str().unwrap().len(), 16);
    }
}

#[test]
fn a_clean_tree_exits_0_and_says_so() {
    let tree = Tree::new(
        "clean",
        &[(
            "src/lib.rs",
            "async fn f(p: &sqlx::PgPool, t: &str) { sqlx::query(\"SELECT id FROM invoices WHERE tenant_id = $1\").bind(t).execute(p).await; }",
        )],
    );
    let (status, out, err) = check(&tree.0, &["--backend", "postgres"]);
    assert_eq!((status, err.as_str()), (0, ""));
    assert!(out.starts_with("summary: 1 statement in 1 file: 1 checked (1 confined"), "{out}");
    assert!(out.contains("findings: 0 errors, 0 warnings"), "{out}");
}

#[test]
fn usage_errors_exit_2_with_a_message() {
    for (args, message) in [
        (vec!["check", "--colour"], "unknown option `--colour`"),
        (vec!["check", "/no/such/tree"], "`/no/such/tree` is not a directory"),
        (vec!["lint"], "unknown command `lint`"),
        (vec![], "no command"),
    ] {
        let (status, out, err) = run(&args);
        assert_eq!(status, 2, "{args:?}");
        assert!(out.is_empty());
        assert!(err.contains(message), "{args:?}: {err}");
    }
    let tree = Tree::new("bad-config", &[("tenantry.toml", "tenant_colum = \"x\"\n")]);
    let (status, _, err) = check(&tree.0, &[]);
    assert_eq!(status, 2);
    assert!(err.contains("tenantry.toml:1:1: unknown key `tenant_colum`"), "{err}");
    let tree = Tree::new("bad-migrations", &[("migrations/init.sql", "CREATE TABLE t (id int);")]);
    let (status, _, err) = check(&tree.0, &[]);
    assert_eq!(status, 2);
    assert!(err.contains("is not named as a migration"), "{err}");
    let (status, _, err) = check(&fixture(), &["--baseline", "/no/such/baseline"]);
    assert_eq!(status, 2);
    assert!(err.contains("cannot read the baseline"), "{err}");
}

#[test]
fn the_baseline_accepts_what_it_lists_and_nothing_else() {
    let leak =
        "pub async fn a(p: &sqlx::PgPool) { sqlx::query(\"DELETE FROM invoices WHERE id = $1\").execute(p).await; }\n";
    let tree = Tree::new("baseline", &[("src/lib.rs", leak)]);
    let baseline = tree.0.join("tenantry-baseline.txt");
    let baseline = baseline.to_str().unwrap();
    let (status, _, _) = check(&tree.0, &["--backend", "postgres"]);
    assert_eq!(status, 1);
    let (status, _, _) = check(&tree.0, &["--backend", "postgres", "--write-baseline", baseline]);
    assert_eq!(status, 0);
    let written = std::fs::read_to_string(baseline).unwrap();
    assert!(written.starts_with("# tenantry check baseline v1"), "{written}");
    assert!(written.contains("\tunconfined\tsrc/lib.rs\tDELETE FROM invoices WHERE id = $1\n"), "{written}");

    let (status, out, _) = check(&tree.0, &["--backend", "postgres", "--baseline", baseline]);
    assert_eq!(status, 0, "{out}");
    assert!(out.contains("findings: 0 errors, 0 warnings (1 suppressed by the baseline)"), "{out}");

    // Lines added above move the statement: it stays accepted.
    tree.write("src/lib.rs", &format!("// a comment\n\n{leak}"));
    let (status, _, _) = check(&tree.0, &["--backend", "postgres", "--baseline", baseline]);
    assert_eq!(status, 0);

    // A new leak, and a copy of the accepted one, are new findings.
    tree.write("src/lib.rs", &format!("{leak}{}", leak.replace("fn a", "fn b")));
    let (status, doc) = json(&tree.0, &["--backend", "postgres", "--baseline", baseline]);
    assert_eq!(status, 1);
    assert_eq!(findings(&doc), [("unconfined".to_string(), 2)]);
    assert_eq!(doc["summary"]["suppressed"], 1);

    // Editing the statement itself makes it new.
    tree.write("src/lib.rs", &leak.replace("id = $1", "id = $1 OR id = 0"));
    let (status, _, _) = check(&tree.0, &["--backend", "postgres", "--baseline", baseline]);
    assert_eq!(status, 1);
}

#[test]
fn not_checkable_statements_fail_only_when_denied() {
    let tree = Tree::new(
        "dynamic",
        &[(
            "src/lib.rs",
            "async fn f(p: &sqlx::PgPool, t: &str) { sqlx::query(&format!(\"SELECT {t}\")).execute(p).await; }",
        )],
    );
    let (status, out, _) = check(&tree.0, &["--backend", "postgres"]);
    assert_eq!(status, 0, "{out}");
    assert!(out.contains("warning[not-checked]: not checked: the SQL is built at run time by `format!`"), "{out}");
    assert!(out.contains(" --> src/lib.rs:1:54"), "{out}");
    let (status, _, _) = check(&tree.0, &["--backend", "postgres", "--deny-unchecked"]);
    assert_eq!(status, 1);
}

#[test]
fn mysql_question_marks_one_per_parameter_unless_bound_to_one_variable() {
    let src = r#"
use sqlx::MySqlPool;
async fn a(p: &MySqlPool, t: &str) {
    sqlx::query("SELECT i.id FROM invoices i JOIN customers c ON c.id = i.customer_id AND c.tenant_id = ? WHERE i.tenant_id = ?")
        .bind(t).bind(t).execute(p).await;
}
async fn b(p: &MySqlPool, t: &str, u: &str) {
    sqlx::query("SELECT i.id FROM invoices i JOIN customers c ON c.id = i.customer_id AND c.tenant_id = ? WHERE i.tenant_id = ?")
        .bind(t).bind(u).execute(p).await;
}
async fn c(p: &MySqlPool, t: &str) {
    sqlx::query!("INSERT INTO invoices (tenant_id, amount_cents) VALUES (?, 1), (?, 2)", t, t).execute(p).await;
}
"#;
    let tree = Tree::new("mysql", &[("src/lib.rs", src)]);
    let (status, doc) = json(&tree.0, &["--backend", "mysql"]);
    assert_eq!(status, 1);
    assert_eq!(findings(&doc), [("tenant-parameters".to_string(), 8)]);
    let statuses: Vec<&str> =
        doc["statements"].as_array().unwrap().iter().map(|s| s["status"].as_str().unwrap()).collect();
    assert_eq!(statuses, ["confined", "flagged", "confined"]);
    assert_eq!(doc["statements"][0]["tenant_parameter"], "? bound to t");
}

#[test]
fn the_backend_comes_from_cargo_toml_and_from_the_parameters() {
    let src = r#"
async fn a(p: &sqlx::PgPool, t: &str) { sqlx::query("SELECT id FROM invoices WHERE tenant_id = $1").bind(t).execute(p).await; }
async fn b(p: &sqlx::SqlitePool, t: &str) { sqlx::query("SELECT id FROM invoices WHERE tenant_id = ?1 AND id = :id").bind(t).execute(p).await; }
"#;
    let manifest = "[dependencies]\nsqlx = { version = \"0.8\", features = [\"postgres\", \"sqlite\"] }\n";
    let tree = Tree::new("backends", &[("Cargo.toml", manifest), ("src/lib.rs", src)]);
    let (status, doc) = json(&tree.0, &[]);
    assert_eq!(status, 0, "{doc}");
    let backends: Vec<&str> =
        doc["statements"].as_array().unwrap().iter().map(|s| s["backend"].as_str().unwrap()).collect();
    assert_eq!(backends, ["postgres", "sqlite"]);
    assert_eq!(doc["statements"][1]["tenant_parameter"], "?1");
    // tenantry.toml's [check] backend decides for all.
    tree.write("tenantry.toml", "[check]\nbackend = \"sqlite\"\n");
    let (_, doc) = json(&tree.0, &[]);
    let backends: Vec<&str> =
        doc["statements"].as_array().unwrap().iter().map(|s| s["backend"].as_str().unwrap()).collect();
    assert_eq!(backends, ["sqlite", "sqlite"]);
}

#[test]
fn sqlc_parameters() {
    let sql = "\
-- name: A :one
SELECT id FROM invoices WHERE tenant_id = @tenant_id AND id = @id;
-- name: B :many
SELECT id FROM invoices WHERE tenant_id = sqlc.narg(tenant) AND id = sqlc.arg(id);
-- name: C :many
SELECT id FROM invoices WHERE tenant_id IN (sqlc.slice(tenants));
-- name: D :exec
UPDATE invoices SET amount_cents = 0 WHERE id = @id;
";
    let tree = Tree::new("sqlc", &[("queries/q.sql", sql)]);
    let (status, doc) = json(&tree.0, &["--backend", "postgres"]);
    assert_eq!(status, 1);
    let statuses: Vec<&str> =
        doc["statements"].as_array().unwrap().iter().map(|s| s["status"].as_str().unwrap()).collect();
    // A slice is several tenants, never the one.
    assert_eq!(statuses, ["confined", "confined", "flagged", "flagged"]);
    assert_eq!(doc["statements"][0]["tenant_parameter"], "@tenant_id");
    assert_eq!(doc["statements"][1]["tenant_parameter"], "sqlc.narg(tenant)");
    let d = &doc["findings"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(d["line"], 8);
    assert!(d["fix"].as_str().unwrap().contains("tenant_id = @tenant_id"), "{d}");
}

#[test]
fn imports_consts_macros_and_unparsable_files() {
    let src = r#"
use sqlx::query as q;
use sqlx::query_scalar;
const COUNT: &str = concat!("SELECT count(*) ", "FROM invoices");
fn query(_: &str) {}
async fn a(p: &sqlx::PgPool) {
    q("SELECT 1 FROM invoices").execute(p).await;
    query_scalar(COUNT).fetch_one(p).await;
    query("SELECT * FROM invoices"); // not sqlx's: a function of this file
    sqlx::query_file!("queries/leak.sql").execute(p).await;
    assert!(sqlx::query_scalar!("SELECT 2 FROM invoices").fetch_one(p).await.is_ok());
}
"#;
    let tree = Tree::new(
        "imports",
        &[
            ("Cargo.toml", "[package]\nname = \"x\"\n"),
            ("src/lib.rs", src),
            ("src/broken.rs", "fn f( {"),
            ("queries/leak.sql", "SELECT id FROM invoices WHERE id = $1\n"),
        ],
    );
    let (_, doc) = json(&tree.0, &["--backend", "postgres"]);
    let found: Vec<(String, String, u64)> = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["rule"].as_str().unwrap().into(), f["file"].as_str().unwrap().into(), f["line"].as_u64().unwrap()))
        .collect();
    let expected = [
        ("unconfined", "queries/leak.sql", 1),
        ("not-checked", "src/broken.rs", 1),
        ("unconfined", "src/lib.rs", 4), // the constant's literal, where the SQL is
        ("unconfined", "src/lib.rs", 7),
        ("unconfined", "src/lib.rs", 11), // inside `assert!`
    ];
    let expected: Vec<(String, String, u64)> =
        expected.iter().map(|(r, f, l)| (r.to_string(), f.to_string(), *l)).collect();
    assert_eq!(found, expected);
    // The `.sql` of `query_file!` is not a sqlc file: it is read for the call only.
    assert!(doc["findings"][0]["origin"].as_str().unwrap().starts_with("query_file! at src/lib.rs:10:"), "{doc}");
}

#[test]
fn excluded_paths_and_hidden_folders_are_not_read() {
    let leak = "async fn a(p: &sqlx::PgPool) { sqlx::query(\"SELECT 1 FROM invoices\").execute(p).await; }";
    let tree = Tree::new(
        "exclude",
        &[
            ("tests/a.rs", leak),
            ("vendor/b.rs", leak),
            (".hidden/c.rs", leak),
            ("target/d.rs", leak),
            ("src/e.rs", leak),
        ],
    );
    tree.write("tenantry.toml", "[check]\nexclude = [\"vendor/\"]\n");
    let (_, doc) = json(&tree.0, &["--backend", "postgres", "--exclude", "./tests"]);
    assert_eq!(doc["summary"]["statements"], 1);
    assert_eq!(doc["statements"][0]["file"], "src/e.rs");
}

fn binary(name: &str, args: &[&str]) -> (i32, String) {
    let path = match name {
        "tenantry" => env!("CARGO_BIN_EXE_tenantry"),
        _ => env!("CARGO_BIN_EXE_cargo-tenantry"),
    };
    let out = Command::new(path).args(args).output().unwrap();
    (out.status.code().unwrap(), String::from_utf8(out.stdout).unwrap() + &String::from_utf8(out.stderr).unwrap())
}

#[test]
fn the_binaries_exit_with_the_status() {
    let root = fixture();
    let root = root.to_str().unwrap();
    let (status, out) = binary("tenantry", &["check", root]);
    assert_eq!(status, 1);
    assert!(out.contains("error[unconfined]"), "{out}");
    // cargo runs `cargo-tenantry tenantry check ...`.
    let (status, out) = binary("cargo-tenantry", &["tenantry", "check", root, "--format", "sarif"]);
    assert_eq!(status, 1);
    assert!(out.contains("\"version\": \"2.1.0\""), "{out}");
    let (status, out) = binary("tenantry", &["check", root, "--nope"]);
    assert_eq!(status, 2);
    assert!(out.contains("error: unknown option `--nope`"), "{out}");
    let (status, out) = binary("tenantry", &["--help"]);
    assert_eq!(status, 0);
    assert!(out.contains("usage: tenantry check [PATH]"), "{out}");
}

/// `tenantry policies` prints the row-level security migration of the fixture's schema:
/// the tenant table on its key, tenant-owned tables on their column, children through
/// their parent, global tables read-only.
#[test]
fn policies_prints_the_rls_migration() {
    let root = fixture();
    let (status, out, err) = run(&["policies", root.to_str().unwrap()]);
    assert_eq!(status, 0, "{err}");
    assert!(err.is_empty(), "{err}");
    golden("app.policies.sql", &out);
    let (status, out, _) = run(&["policies", root.to_str().unwrap(), "--setting=app.tenant", "--role", "web"]);
    assert_eq!(status, 0);
    assert!(out.contains("current_setting('app.tenant', true)") && out.contains("CREATE ROLE \"web\""), "{out}");
}

/// A table the schema cannot classify gets no policy and no migration: it would be
/// left unprotected. Exit 2, with the table and why.
#[test]
fn policies_refuses_an_unclassified_table() {
    let tree = Tree::new(
        "policies-unclassified",
        &[(
            "migrations/0001_init.sql",
            "CREATE TABLE notes (id BIGINT PRIMARY KEY, tenant_id TEXT NOT NULL);\nCREATE TABLE audit_log (id BIGINT PRIMARY KEY, line TEXT);\n",
        )],
    );
    let (status, out, err) = run(&["policies", tree.0.to_str().unwrap()]);
    assert_eq!(status, 2);
    assert!(out.is_empty(), "{out}");
    assert!(err.contains("table `audit_log`") && err.contains("no policy can protect it"), "{err}");
    for (args, message) in [
        (vec!["policies", "--format", "json"], "unknown option `--format` of `tenantry policies`"),
        (vec!["policies", "--setting"], "`--setting` needs a value"),
        (vec!["policies", "/no/such/tree"], "`/no/such/tree` is not a directory"),
    ] {
        let (status, _, err) = run(&args);
        assert_eq!(status, 2, "{args:?}");
        assert!(err.contains(message), "{args:?}: {err}");
    }
    let (status, _, err) = run(&["policies", tree.0.to_str().unwrap(), "--setting", "tenant"]);
    assert_eq!(status, 2);
    assert!(err.contains("`tenant` is not a custom setting's name"), "{err}");
}

/// `tenantry distribution` prints the Citus migration of a schema Citus can take: global
/// tables as reference tables, tenant tables distributed on their tenant column,
/// co-located. The fixture's own schema cannot be (its keys lack the tenant column): exit 2
/// with each obstacle and its fix.
#[test]
fn distribution_prints_the_citus_migration() {
    let tree = Tree::new(
        "distribution",
        &[
            ("tenantry.toml", "tenant_table = \"tenants\"\nglobal = [\"countries\"]\n"),
            (
                "migrations/0001_init.sql",
                "CREATE TABLE countries (code TEXT PRIMARY KEY);\n\
                 CREATE TABLE tenants (id TEXT PRIMARY KEY);\n\
                 CREATE TABLE customers (tenant_id TEXT NOT NULL REFERENCES tenants (id), id BIGINT NOT NULL, country TEXT REFERENCES countries (code), PRIMARY KEY (tenant_id, id));\n\
                 CREATE TABLE invoices (tenant_id TEXT NOT NULL, id BIGINT NOT NULL, customer_id BIGINT NOT NULL, PRIMARY KEY (tenant_id, id), FOREIGN KEY (tenant_id, customer_id) REFERENCES customers (tenant_id, id));\n",
            ),
        ],
    );
    let (status, out, err) = run(&["distribution", tree.0.to_str().unwrap()]);
    assert_eq!(status, 0, "{err}");
    golden("distribution.sql", &out);

    let (status, out, err) = run(&["distribution", fixture().to_str().unwrap()]);
    assert_eq!(status, 2);
    assert!(out.is_empty(), "{out}");
    assert!(err.contains("`invoices`: its primary key (\"id\") does not include the tenant column"), "{err}");
    assert!(err.contains("fix: make it `PRIMARY KEY (\"tenant_id\", \"id\")`"), "{err}");
    let (status, _, err) = run(&["distribution", "--role", "x"]);
    assert_eq!(status, 2);
    assert!(err.contains("unknown option `--role` of `tenantry distribution`"), "{err}");
}
