//! What each table is to a tenant, learned from the migrations, and how each kind is
//! confined: tenant-owned tables by their tenant column (which may differ per table), the
//! tenant table by its key, child tables through their owning key to a confined parent,
//! global tables only when declared — and every other table refused.

mod common;

use common::*;
use tenantry_analyzer::schema::{Catalog, Migration, lint};
use tenantry_analyzer::{Backend, Mode, Schema, analyze};

/// A multi-tenant schema as a project's migrations write it.
const MIGRATIONS: &str = "
CREATE TABLE workspaces (id BIGINT PRIMARY KEY, name TEXT NOT NULL);
CREATE TABLE countries (code CHAR(2) PRIMARY KEY, name TEXT NOT NULL);
CREATE TABLE pages (
    id BIGINT PRIMARY KEY,
    tenant_id BIGINT NOT NULL,
    title TEXT NOT NULL,
    country CHAR(2) REFERENCES countries (code)
);
CREATE TABLE comments (
    id BIGINT PRIMARY KEY,
    page_id BIGINT NOT NULL REFERENCES pages (id),
    body TEXT NOT NULL,
    UNIQUE (page_id, id)
);
CREATE TABLE reactions (
    id BIGINT PRIMARY KEY,
    comment_id BIGINT NOT NULL REFERENCES comments (id),
    kind TEXT NOT NULL
);
CREATE TABLE legacy_jobs (id BIGINT PRIMARY KEY, \"tenantId\" BIGINT NOT NULL, state TEXT NOT NULL);
CREATE TABLE settings (workspace_id BIGINT NOT NULL REFERENCES workspaces (id), k TEXT NOT NULL, v TEXT);
CREATE TABLE drafts (id BIGINT PRIMARY KEY, page_id BIGINT REFERENCES pages (id), body TEXT);
CREATE TABLE audit_log (id BIGINT PRIMARY KEY, what TEXT NOT NULL);
";

fn catalog(backend: Backend, sql: &str) -> Catalog {
    // MySQL quotes identifiers with backticks.
    let sql = if backend == Backend::MySql { sql.replace('"', "`") } else { sql.to_string() };
    let migration = Migration { version: 1, path: "1_schema.sql".into(), sql };
    Catalog::from_migrations(&[migration], backend).expect("the migrations apply")
}

/// The schema of `MIGRATIONS`, configured as `tenantry.toml` would: `workspaces` is the
/// tenant table, `countries` global, `legacy_jobs` keeps its tenant in `"tenantId"`.
fn app(backend: Backend) -> Schema {
    Schema {
        tenant_table: Some("workspaces".into()),
        shared: vec!["countries".into()],
        tenant_columns: vec![("legacy_jobs".into(), "tenantId".into())],
        catalog: Some(catalog(backend, MIGRATIONS)),
        ..Schema::default()
    }
}

#[test]
fn each_table_may_name_its_own_tenant_column() {
    safe_in(&app, PG, "SELECT state FROM legacy_jobs WHERE \"tenantId\" = :tenant");
    safe_in(&app, MYSQL, "SELECT state FROM legacy_jobs WHERE `tenantId` = :tenant");
    // One statement, two tenant columns.
    safe_in(
        &app,
        PG,
        "SELECT p.title, j.state FROM pages p JOIN legacy_jobs j ON j.id = p.id \
         WHERE p.tenant_id = :tenant AND j.\"tenantId\" = :tenant",
    );
    // `tenant_id` is the default, not `legacy_jobs`'s tenant column.
    leak_in(&app, PG, "SELECT state FROM legacy_jobs WHERE id = :id")
        .rule(Rule::Unconfined)
        .fix(&["\"tenantId\" = :tenant"]);
}

#[test]
fn the_tenant_table_is_confined_by_its_key() {
    safe_in(&app, ALL, "SELECT name FROM workspaces WHERE id = :tenant");
    safe_in(&app, ALL, "UPDATE workspaces SET name = :name WHERE id = :tenant");
    leak_in(&app, ALL, "SELECT name FROM workspaces").rule(Rule::Unconfined).fix(&["id = :tenant"]);
    leak_in(&app, ALL, "UPDATE workspaces SET id = :other WHERE id = :tenant").rule(Rule::TenantColumnWrite);
}

#[test]
fn a_not_null_reference_to_the_tenant_table_is_a_tenant_column() {
    safe_in(&app, ALL, "SELECT k, v FROM settings WHERE workspace_id = :tenant");
    safe_in(&app, ALL, "INSERT INTO settings (workspace_id, k, v) VALUES (:tenant, :k, :v)");
    leak_in(&app, ALL, "SELECT k, v FROM settings WHERE k = :k")
        .rule(Rule::Unconfined)
        .fix(&["workspace_id = :tenant"]);
}

#[test]
fn a_child_is_confined_by_its_owning_key_joined_to_a_confined_parent() {
    safe_in(&app, ALL, "SELECT c.body FROM comments c JOIN pages p ON p.id = c.page_id WHERE p.tenant_id = :tenant");
    safe_in(&app, ALL, "SELECT c.body FROM pages p JOIN comments c ON c.page_id = p.id AND p.tenant_id = :tenant");
    safe_in(&app, ALL, "SELECT c.body FROM pages p, comments c WHERE c.page_id = p.id AND p.tenant_id = :tenant");
    // A grandchild, through its parent.
    safe_in(
        &app,
        ALL,
        "SELECT r.kind FROM reactions r JOIN comments c ON c.id = r.comment_id \
         JOIN pages p ON p.id = c.page_id WHERE p.tenant_id = :tenant",
    );
}

#[test]
fn a_child_is_confined_by_a_subquery_on_its_confined_parent() {
    safe_in(&app, ALL, "SELECT body FROM comments WHERE page_id IN (SELECT id FROM pages WHERE tenant_id = :tenant)");
    safe_in(
        &app,
        ALL,
        "SELECT body FROM comments WHERE page_id = (SELECT id FROM pages WHERE tenant_id = :tenant AND id = :page)",
    );
    safe_in(
        &app,
        ALL,
        "SELECT c.body FROM comments c WHERE EXISTS (SELECT 1 FROM pages p WHERE p.id = c.page_id AND p.tenant_id = :tenant)",
    );
    safe_in(
        &app,
        ALL,
        "WITH mine AS (SELECT id FROM pages WHERE tenant_id = :tenant) SELECT c.body FROM comments c JOIN mine m ON c.page_id = m.id",
    );
    safe_in(
        &app,
        ALL,
        "SELECT kind FROM reactions WHERE comment_id IN \
         (SELECT id FROM comments WHERE page_id IN (SELECT id FROM pages WHERE tenant_id = :tenant))",
    );
}

#[test]
fn a_child_tied_to_anything_but_a_confined_parent_key_is_refused() {
    let unconfined = [
        // No condition at all.
        "SELECT body FROM comments WHERE id = :id",
        // The parent is not confined.
        "SELECT c.body FROM comments c JOIN pages p ON p.id = c.page_id WHERE p.title = :title",
        // The ON of a LEFT JOIN does not filter the preserved side.
        "SELECT c.body FROM comments c LEFT JOIN pages p ON p.id = c.page_id AND p.tenant_id = :tenant",
        // Not the owning key.
        "SELECT c.body FROM comments c JOIN pages p ON c.id = p.id WHERE p.tenant_id = :tenant",
        // Not the parent's key.
        "SELECT c.body FROM comments c WHERE c.page_id IN (SELECT tenant_id FROM pages WHERE tenant_id = :tenant)",
        // NOT EXISTS, OR, and an aggregate (one row whatever the WHERE) prove nothing.
        "SELECT c.body FROM comments c WHERE NOT EXISTS (SELECT 1 FROM pages p WHERE p.id = c.page_id AND p.tenant_id = :tenant)",
        "SELECT c.body FROM comments c WHERE EXISTS (SELECT 1 FROM pages p WHERE p.id = c.page_id OR p.tenant_id = :tenant)",
        "SELECT c.body FROM comments c WHERE EXISTS (SELECT count(*) FROM pages p WHERE p.id = c.page_id AND p.tenant_id = :tenant)",
        "SELECT c.body FROM comments c WHERE EXISTS (SELECT 1 FROM pages p WHERE p.id = c.page_id AND p.tenant_id = :tenant ORDER BY count(*))",
        // A cast may change the key.
        "SELECT c.body FROM comments c JOIN pages p ON CAST(p.id AS CHAR(1)) = c.page_id WHERE p.tenant_id = :tenant",
    ];
    for sql in unconfined {
        leak_in(&app, ALL, sql).rule(Rule::Unconfined).problem(&["belong to a tenant through `page_id` → `pages.id`"]);
    }
}

#[test]
fn the_fix_for_an_unconfined_child_compiles_and_keeps_the_rows() {
    let sql = "SELECT body FROM comments WHERE id = :id";
    let refused = leak_in(&app, ALL, sql).rule(Rule::Unconfined);
    let fix = &refused.violations()[0].fix;
    let condition = fix.split('`').nth(1).expect("the fix quotes the condition");
    let fixed = format!("{sql} {condition}");
    safe_in(&app, ALL, &fixed);
}

#[test]
fn a_child_row_takes_its_parent_key_from_a_confined_parent() {
    safe_in(
        &app,
        ALL,
        "INSERT INTO comments (page_id, body) VALUES ((SELECT id FROM pages WHERE tenant_id = :tenant AND id = :page), :body)",
    );
    safe_in(
        &app,
        ALL,
        "INSERT INTO comments (page_id, body) SELECT p.id, :body FROM pages p WHERE p.tenant_id = :tenant AND p.id = :page",
    );
    // A caller's value alone may be another tenant's page.
    let sql = "INSERT INTO comments (page_id, body) VALUES (:page, :body)";
    let refused = leak_in(&app, ALL, sql)
        .rule(Rule::InsertTenant)
        .problem(&["does not take `page_id` from a `pages` row of the tenant"]);
    // The fix, applied literally, is accepted.
    let fix = &refused.violations()[0].fix;
    let replacement = fix.split('`').nth(7).expect("the fix quotes the replacement");
    safe_in(&app, ALL, &sql.replacen(":page", replacement, 1));
}

#[test]
fn a_child_is_updated_and_deleted_through_its_parent() {
    safe_in(
        &app,
        ALL,
        "UPDATE comments SET body = :body WHERE id = :id AND page_id IN (SELECT id FROM pages WHERE tenant_id = :tenant)",
    );
    safe_in(
        &app,
        PG,
        "UPDATE comments c SET body = :body FROM pages p WHERE c.page_id = p.id AND p.tenant_id = :tenant AND c.id = :id",
    );
    safe_in(
        &app,
        MYSQL,
        "UPDATE comments c JOIN pages p ON c.page_id = p.id SET c.body = :body WHERE p.tenant_id = :tenant AND c.id = :id",
    );
    safe_in(
        &app,
        ALL,
        "DELETE FROM comments WHERE id = :id AND page_id IN (SELECT id FROM pages WHERE tenant_id = :tenant)",
    );
    safe_in(
        &app,
        PG,
        "DELETE FROM comments c USING pages p WHERE c.page_id = p.id AND p.tenant_id = :tenant AND c.id = :id",
    );
    leak_in(&app, ALL, "DELETE FROM comments WHERE id = :id").rule(Rule::Unconfined);
}

#[test]
fn re_parenting_a_child_takes_the_new_parent_from_the_tenant() {
    let confined = "WHERE id = :id AND page_id IN (SELECT id FROM pages WHERE tenant_id = :tenant)";
    // A literal, so that the soundness oracle (`tests/src/oracle`) judges it.
    safe_in(
        &app,
        ALL,
        "UPDATE comments SET page_id = (SELECT id FROM pages WHERE tenant_id = :tenant AND id = :page) \
         WHERE id = :id AND page_id IN (SELECT id FROM pages WHERE tenant_id = :tenant)",
    );
    leak_in(&app, ALL, &format!("UPDATE comments SET page_id = :page {confined}"))
        .rule(Rule::TenantColumnWrite)
        .fix(&["SET page_id = (SELECT id FROM pages WHERE tenant_id = :tenant AND id = :page)"]);
}

#[test]
fn a_child_upsert_conflicts_on_its_owning_key_or_guards_by_it() {
    let row = "INSERT INTO comments (id, page_id, body) VALUES (:id, (SELECT id FROM pages WHERE tenant_id = :tenant AND id = :page), :body)";
    // Literals, so that the soundness oracle (`tests/src/oracle`) judges them.
    safe_in(
        &app,
        PG_SQLITE,
        "INSERT INTO comments (id, page_id, body) VALUES (:id, (SELECT id FROM pages WHERE tenant_id = :tenant AND id = :page), :body) \
         ON CONFLICT (page_id, id) DO UPDATE SET body = excluded.body",
    );
    safe_in(
        &app,
        PG_SQLITE,
        "INSERT INTO comments (id, page_id, body) VALUES (:id, (SELECT id FROM pages WHERE tenant_id = :tenant AND id = :page), :body) \
         ON CONFLICT (id) DO UPDATE SET body = excluded.body WHERE comments.page_id = excluded.page_id",
    );
    leak_in(&app, PG_SQLITE, &format!("{row} ON CONFLICT (id) DO UPDATE SET body = excluded.body"))
        .rule(Rule::Upsert)
        .fix(&["(page_id, id)", "comments.page_id = excluded.page_id"]);
    leak_in(&app, PG_SQLITE, &format!("{row} ON CONFLICT (page_id, id) DO UPDATE SET page_id = excluded.page_id"))
        .rule(Rule::TenantColumnWrite);
    safe_in(
        &app,
        MYSQL,
        &format!("{row} ON DUPLICATE KEY UPDATE body = IF(page_id = VALUES(page_id), VALUES(body), body)"),
    );
    leak_in(&app, MYSQL, &format!("{row} ON DUPLICATE KEY UPDATE body = VALUES(body)")).rule(Rule::Upsert);
}

#[test]
fn a_table_nobody_classified_is_refused_wherever_it_is_used() {
    for sql in [
        "SELECT what FROM audit_log",
        "SELECT p.title FROM pages p JOIN audit_log a ON a.id = p.id WHERE p.tenant_id = :tenant",
        "SELECT title FROM pages WHERE tenant_id = :tenant AND id IN (SELECT id FROM audit_log)",
        "INSERT INTO audit_log (id, what) VALUES (:id, :what)",
        "UPDATE audit_log SET what = :what WHERE id = :id",
        "DELETE FROM audit_log WHERE id = :id",
    ] {
        leak_in(&app, ALL, sql)
            .count(1)
            .rule(Rule::Unclassified)
            .problem(&["`audit_log", "no tenant column `tenant_id`", "no NOT NULL foreign key", "not declared global"])
            .fix(&["ADD COLUMN tenant_id", "foreign key", "global = [\"audit_log\"]"]);
    }
    // A nullable reference to a parent owns nothing: a row without a page is nobody's.
    leak_in(&app, ALL, "SELECT body FROM drafts WHERE page_id IN (SELECT id FROM pages WHERE tenant_id = :tenant)")
        .rule(Rule::Unclassified);
}

#[test]
fn global_tables_are_read_by_every_tenant_and_written_by_none() {
    safe_in(&app, ALL, "SELECT name FROM countries WHERE code = :code");
    safe_in(
        &app,
        ALL,
        "SELECT p.title, c.name FROM pages p JOIN countries c ON c.code = p.country WHERE p.tenant_id = :tenant",
    );
    leak_in(&app, ALL, "UPDATE countries SET name = :name WHERE code = :code").count(1).rule(Rule::SharedWrite);
}

#[test]
fn unknown_tables_and_columns_are_named_with_the_closest_name() {
    leak_in(&app, ALL, "SELECT title FROM page WHERE tenant_id = :tenant")
        .count(1)
        .rule(Rule::Unknown)
        .problem(&["table `page`", "not created by any migration"])
        .fix(&["did you mean `pages`?"]);
    leak_in(&app, ALL, "SELECT p.titel FROM pages p WHERE p.tenant_id = :tenant")
        .count(1)
        .rule(Rule::Unknown)
        .problem(&["`pages p` has no column `titel`"])
        .fix(&["did you mean `title`?"]);
    // A misspelt tenant column is one error: the misspelling, not a leak.
    leak_in(&app, ALL, "SELECT title FROM pages WHERE tenant_idd = :tenant")
        .count(1)
        .rule(Rule::Unknown)
        .fix(&["did you mean `tenant_id`?"]);
    leak_in(&app, ALL, "INSERT INTO pages (id, tenant_id, titel) VALUES (:id, :tenant, :title)")
        .count(1)
        .rule(Rule::Unknown)
        .fix(&["did you mean `title`?"]);
    // Select-list aliases in ORDER BY are not columns of a table.
    safe_in(&app, ALL, "SELECT title AS t FROM pages WHERE tenant_id = :tenant ORDER BY t");
}

#[test]
fn column_knowledge_resolves_unqualified_names_exactly() {
    // Only `pages` has `tenant_id`: the bare name is its, for sure.
    safe_in(&app, ALL, "SELECT title, body FROM pages JOIN comments ON page_id = pages.id WHERE tenant_id = :tenant");
    // Without migrations, `comments` might have a `tenant_id` too: refused as uncertain.
    let no_catalog = |_: Backend| Schema::default();
    leak_in(
        &no_catalog,
        ALL,
        "SELECT title, body FROM pages JOIN comments ON page_id = pages.id WHERE tenant_id = :tenant",
    );
}

#[test]
fn postgres_folds_names_in_migrations_as_in_statements() {
    let folded = |b: Backend| Schema {
        catalog: Some(catalog(b, "CREATE TABLE Notes (Id INT PRIMARY KEY, Tenant_Id INT NOT NULL, \"Body\" TEXT)")),
        ..Schema::default()
    };
    safe_in(&folded, PG, "SELECT \"Body\" FROM notes WHERE TENANT_ID = :tenant");
    leak_in(&folded, PG, "SELECT body FROM notes WHERE tenant_id = :tenant")
        .rule(Rule::Unknown)
        .fix(&["did you mean `\"Body\"`?"]);
}

#[test]
fn without_migrations_every_table_is_tenant_owned() {
    let none = |_: Backend| Schema::default();
    safe_in(&none, ALL, "SELECT what FROM audit_log WHERE tenant_id = :tenant");
    leak_in(&none, ALL, "SELECT what FROM audit_log").rule(Rule::Unconfined);
}

#[test]
fn the_configuration_is_checked_against_the_migrations() {
    let schema = Schema {
        shared: vec!["countrys".into()],
        tenant_table: Some("pages".into()),
        tenant_columns: vec![("legacy_jobs".into(), "tenant".into())],
        catalog: Some(catalog(Backend::Postgres, MIGRATIONS)),
        ..Schema::default()
    };
    let errors: Vec<String> = schema.configuration_errors(Backend::Postgres).into_iter().map(|e| e.message).collect();
    assert!(
        errors.iter().any(|e| e.contains("global table `countrys`") && e.contains("did you mean `countries`?")),
        "{errors:?}"
    );
    assert!(errors.iter().any(|e| e.contains("`[tables.legacy_jobs] tenant_column = \"tenant\"`")), "{errors:?}");
    assert_eq!(errors.len(), 2, "{errors:?}");
}

#[test]
fn the_lint_names_designs_that_let_the_data_mix_tenants() {
    let sql = "
        CREATE TABLE customers (id INT PRIMARY KEY, tenant_id INT NOT NULL, email TEXT NOT NULL, UNIQUE (email), UNIQUE (tenant_id, id));
        CREATE TABLE invoices (id INT PRIMARY KEY, tenant_id INT NOT NULL, customer_id INT NOT NULL REFERENCES customers (id));
        CREATE TABLE lines (id INT PRIMARY KEY, invoice_id INT NOT NULL REFERENCES invoices (id));
        CREATE TABLE payments (id INT PRIMARY KEY, tenant_id INT NOT NULL, customer_id INT NOT NULL,
            FOREIGN KEY (tenant_id, customer_id) REFERENCES customers (tenant_id, id));
    ";
    for backend in Backend::ALL {
        let schema = Schema { catalog: Some(catalog(backend, sql)), ..Schema::default() };
        let findings = lint(&schema, backend);
        let about = |table: &str| findings.iter().filter(|f| f.table == table).collect::<Vec<_>>();
        assert!(about("customers")[0].problem.contains("unique key (email)"), "{findings:#?}");
        assert!(about("customers")[0].fix.contains("UNIQUE (tenant_id, email)"));
        assert!(about("invoices")[0].problem.contains("does not include the tenant column"));
        assert!(
            about("invoices")[0]
                .fix
                .contains("FOREIGN KEY (tenant_id, customer_id) REFERENCES customers (tenant_id, id)")
        );
        assert!(about("lines")[0].problem.contains("belongs to a tenant only through (invoice_id)"));
        assert!(about("payments").is_empty(), "the composite foreign key is the pattern: {findings:#?}");
        assert_eq!(findings.len(), 3, "{findings:#?}");
        // Declared global, yet its rows name tenants.
        let schema = Schema { shared: vec!["payments".into()], ..schema };
        let findings = lint(&schema, backend);
        assert!(
            findings
                .iter()
                .any(|f| f.table == "payments" && f.problem.contains("declared global but has the tenant column"))
        );
    }
}

#[test]
fn an_upsert_on_no_unique_key_is_a_warning() {
    let a = analyze(
        "INSERT INTO pages (id, tenant_id, title) VALUES (:id, :tenant, :title) ON CONFLICT (tenant_id, title) DO NOTHING",
        Backend::Postgres,
        &app(Backend::Postgres),
        Mode::Scoped,
    )
    .expect("confined");
    assert!(a.warnings.is_empty(), "DO NOTHING updates nothing: {:?}", a.warnings);
    let a = analyze(
        "INSERT INTO pages (id, tenant_id, title) VALUES (:id, :tenant, :title) \
         ON CONFLICT (tenant_id, title) DO UPDATE SET title = excluded.title",
        Backend::Postgres,
        &app(Backend::Postgres),
        Mode::Scoped,
    )
    .expect("confined");
    assert!(a.warnings[0].problem.contains("matches no primary or unique key"), "{:?}", a.warnings);
    let a = analyze(
        "INSERT INTO pages (id, tenant_id, title) VALUES (:id, :tenant, :title) \
         ON CONFLICT (id) DO UPDATE SET title = excluded.title WHERE pages.tenant_id = :tenant",
        Backend::Postgres,
        &app(Backend::Postgres),
        Mode::Scoped,
    )
    .expect("confined");
    assert!(a.warnings[0].problem.contains("neither inserted nor updated"), "{:?}", a.warnings);
}

#[test]
fn a_dense_web_of_references_is_classified_without_walking_every_path() {
    // Each table references every earlier one: 2^40 paths to the root, one answer each.
    let mut sql = String::from("CREATE TABLE t0 (id INT PRIMARY KEY, tenant_id INT NOT NULL);\n");
    for i in 1..40 {
        let refs: Vec<String> = (0..i).map(|j| format!("r{j} INT NOT NULL REFERENCES t{j} (id)")).collect();
        sql.push_str(&format!("CREATE TABLE t{i} (id INT PRIMARY KEY, {});\n", refs.join(", ")));
    }
    let schema = |b: Backend| Schema { catalog: Some(catalog(b, &sql)), ..Schema::default() };
    safe_in(&schema, PG, "SELECT t39.id FROM t39 JOIN t0 ON t0.id = t39.r0 WHERE t0.tenant_id = :tenant");
}
