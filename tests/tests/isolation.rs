//! The isolation audit (`Db::verify_isolation`) on the real servers: each misconfiguration
//! is caught with its fix, the fix applied as the finding prints it makes the report clean,
//! and a correct set-up is reported clean.
//!
//! PostgreSQL and MariaDB tests skip, saying so on stderr, when the server is down, unless
//! `TENANTRY_REQUIRE_DB=1`.

use tenantry::{Db, IsolationFinding, IsolationReport, Result, TenantTable};
use tenantry_tests::Backend;

/// Runs SQL (statements separated by `;`) outside any repository.
async fn sql<DB: Backend>(db: &Db<DB>, sql: &str) -> Result<()> {
    Ok(DB::execute(db, sql).await?)
}

/// The fix as the finding's message prints it (the text after `; fix: `).
fn fix_in_message(finding: &IsolationFinding) -> String {
    let message = finding.to_string();
    let (_, fix) = message.split_once("; fix: ").unwrap_or_else(|| panic!("no fix in `{message}`"));
    assert_eq!(fix, finding.fix());
    fix.to_string()
}

fn assert_clean(report: &IsolationReport) {
    assert!(report.is_clean(), "expected a clean report, got {report}");
}

/// Tables or columns that are not there, on every backend.
fn assert_missing(report: &IsolationReport) {
    let missing = [
        IsolationFinding::MissingTable { table: "nowhere".into() },
        IsolationFinding::MissingTenantColumn { table: "pages".into(), column: "owner".into() },
        IsolationFinding::MissingTable { table: "orphans".into() },
    ];
    for finding in &missing {
        assert!(report.findings().contains(finding), "{finding:?} not in {report}");
    }
    assert_eq!(
        missing[1].to_string(),
        "table `pages` has no tenant column `owner`; fix: add the tenant column, or give the table as a child \
         (`TenantTable::child`) if it is owned through a foreign key"
    );
}

fn missing_tables() -> Vec<TenantTable> {
    vec![TenantTable::new("nowhere", "tenant_id"), TenantTable::new("pages", "owner"), TenantTable::child("orphans")]
}

mod postgres {
    use std::future::Future;
    use std::panic::AssertUnwindSafe;
    use std::sync::atomic::{AtomicU32, Ordering};

    use super::{assert_clean, fix_in_message, sql};
    use futures_util::FutureExt;
    use sqlx::postgres::PgPoolOptions;
    use sqlx::{AssertSqlSafe, Executor, Postgres};
    use tenantry::{Db, Error, IsolationFinding, Result, TenantTable};

    const PAGES: &str = "CREATE TABLE pages (id BIGINT PRIMARY KEY, tenant_id TEXT NOT NULL, title TEXT NOT NULL);
        CREATE TABLE comments (id BIGINT PRIMARY KEY, page_id BIGINT NOT NULL REFERENCES pages (id), body TEXT)";
    const ENABLE: &str = "ALTER TABLE pages ENABLE ROW LEVEL SECURITY; ALTER TABLE comments ENABLE ROW LEVEL SECURITY";
    const FORCE: &str = "ALTER TABLE pages FORCE ROW LEVEL SECURITY; ALTER TABLE comments FORCE ROW LEVEL SECURITY";
    const POLICIES: &str = "CREATE POLICY tenant_isolation ON pages
          USING (tenant_id = current_setting('app.tenant', true))
          WITH CHECK (tenant_id = current_setting('app.tenant', true));
        CREATE POLICY tenant_isolation ON comments
          USING (page_id IN (SELECT id FROM pages WHERE tenant_id = current_setting('app.tenant', true)))";

    fn tables() -> Vec<TenantTable> {
        vec![TenantTable::new("pages", "tenant_id"), TenantTable::child("comments")]
    }

    /// Runs `scenario` with a fresh schema (as the superuser `postgres`) and a role of its
    /// own, created `NOLOGIN` with `role_options` and granted the schema and its tables
    /// once `setup` has run; the scenario gets a `Db` whose one connection runs as the role
    /// (`SET ROLE`). The role is dropped afterwards, also when the scenario fails.
    async fn with_role<F, Fut>(setup: &'static str, role_options: &'static str, scenario: F)
    where
        F: FnOnce(Db<Postgres>, Db<Postgres>, String) -> Fut,
        Fut: Future<Output = Result<()>>,
    {
        tenantry_tests::run::<Postgres, _, _>(|admin| async move {
            let role = unique_role();
            sql(&admin, &format!("CREATE ROLE {role} NOLOGIN {role_options}")).await?;
            let outcome = AssertUnwindSafe(async {
                sql(&admin, setup).await?;
                let schema: String =
                    sqlx::query_scalar("SELECT current_schema()::text").fetch_one(admin.pool()).await?;
                sql(
                    &admin,
                    &format!(
                        "GRANT USAGE ON SCHEMA {schema} TO {role};
                         GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {schema} TO {role}"
                    ),
                )
                .await?;
                let as_role = as_role(&admin, &role).await?;
                let outcome = scenario(admin.clone(), as_role.clone(), role.clone()).await;
                as_role.close().await;
                outcome
            })
            .catch_unwind()
            .await;
            let dropped = sql(&admin, &format!("DROP OWNED BY {role}; DROP ROLE {role}")).await;
            match outcome {
                Ok(outcome) => outcome.and(dropped),
                Err(panic) => std::panic::resume_unwind(panic),
            }
        })
        .await;
    }

    /// Role names are cluster-wide: one per test, process and run.
    fn unique_role() -> String {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
        format!("tenantry_role_{}_{}_{}", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed), nanos % 1_000_000)
    }

    /// A `Db` on the test's schema whose one connection runs as `role`.
    async fn as_role(admin: &Db<Postgres>, role: &str) -> Result<Db<Postgres>> {
        let set_role = format!("SET ROLE {role}");
        let pool = PgPoolOptions::new()
            .max_connections(1)
            .after_connect(move |conn, _| {
                let set_role = set_role.clone();
                Box::pin(async move { conn.execute(AssertSqlSafe(set_role)).await.map(drop) })
            })
            .connect_with((*admin.pool().connect_options()).clone())
            .await?;
        Ok(Db::new(pool))
    }

    #[tokio::test]
    async fn a_correct_setup_is_clean_and_confines() {
        let setup = joined(&[PAGES, ENABLE, FORCE, POLICIES]);
        with_role(setup, "NOSUPERUSER NOBYPASSRLS", |admin, db, role| async move {
            let current: String = sqlx::query_scalar("SELECT current_user::text").fetch_one(db.pool()).await?;
            assert_eq!(current, role);
            assert_clean(&db.verify_isolation(&tables()).await?);
            db.verify_isolation(&tables()).await?.into_result()?;
            // Clean means confined: the role sees its tenant's rows only, and none without one.
            sql(&admin, "INSERT INTO pages VALUES (1, 'acme', 'a'), (2, 'globex', 'g')").await?;
            let count = "SELECT count(*) FROM pages";
            assert_eq!(sqlx::query_scalar::<_, i64>(count).fetch_one(db.pool()).await?, 0);
            sqlx::query("SELECT set_config('app.tenant', 'acme', false)").execute(db.pool()).await?;
            assert_eq!(sqlx::query_scalar::<_, i64>(count).fetch_one(db.pool()).await?, 1);
            Ok(())
        })
        .await;
    }

    #[tokio::test]
    async fn row_security_off_is_caught_and_the_fix_works() {
        with_role(joined(&[PAGES, POLICIES]), "NOBYPASSRLS", |admin, db, _| async move {
            let report = db.verify_isolation(&tables()).await?;
            assert_eq!(
                report.findings(),
                [
                    IsolationFinding::RowSecurityDisabled { table: "pages".into() },
                    IsolationFinding::RowSecurityDisabled { table: "comments".into() },
                ]
            );
            assert_eq!(
                report.findings()[0].to_string(),
                "table `pages` does not have row-level security enabled: every tenant sees every row; fix: \
                 ALTER TABLE \"pages\" ENABLE ROW LEVEL SECURITY; ALTER TABLE \"pages\" FORCE ROW LEVEL SECURITY;"
            );
            for finding in report.findings() {
                sql(&admin, &fix_in_message(finding)).await?;
            }
            assert_clean(&db.verify_isolation(&tables()).await?);
            Ok(())
        })
        .await;
    }

    #[tokio::test]
    async fn row_security_not_forced_is_caught() {
        with_role(joined(&[PAGES, ENABLE, POLICIES]), "NOBYPASSRLS", |admin, db, _| async move {
            let report = db.verify_isolation(&tables()[..1]).await?;
            assert_eq!(report.findings(), [IsolationFinding::RowSecurityNotForced { table: "pages".into() }]);
            assert_eq!(
                report.findings()[0].to_string(),
                "table `pages` has row-level security enabled but not forced: its owner bypasses the policies; \
                 fix: ALTER TABLE \"pages\" FORCE ROW LEVEL SECURITY;"
            );
            sql(&admin, &fix_in_message(&report.findings()[0])).await?;
            assert_clean(&db.verify_isolation(&tables()[..1]).await?);
            Ok(())
        })
        .await;
    }

    #[tokio::test]
    async fn no_policy_is_caught_and_the_example_policy_works() {
        with_role(joined(&[PAGES, ENABLE, FORCE]), "NOBYPASSRLS", |admin, db, _| async move {
            let report = db.verify_isolation(&tables()).await?;
            assert_eq!(report.findings().len(), 2, "{report}");
            assert!(matches!(
                &report.findings()[0],
                IsolationFinding::MissingPolicy { table, column: Some(column), existing, .. }
                    if table == "pages" && column == "tenant_id" && existing.is_empty()
            ));
            assert!(matches!(
                &report.findings()[1],
                IsolationFinding::MissingPolicy { table, column: None, .. } if table == "comments"
            ));
            assert_eq!(
                report.findings()[0].to_string(),
                "table `pages` has no policy comparing `tenant_id` to current_setting(..); fix: CREATE POLICY \
                 tenant_isolation ON \"pages\" USING (\"tenant_id\" = current_setting('app.tenant', true)) WITH \
                 CHECK (\"tenant_id\" = current_setting('app.tenant', true));"
            );
            sql(&admin, &fix_in_message(&report.findings()[0])).await?;
            assert_clean(&db.verify_isolation(&tables()[..1]).await?);
            Ok(())
        })
        .await;
    }

    #[tokio::test]
    async fn a_policy_that_does_not_confine_is_caught() {
        let setup = joined(&[
            PAGES,
            ENABLE,
            FORCE,
            "CREATE POLICY everyone ON pages USING (true); CREATE POLICY by_title ON pages USING (title <> '')",
        ]);
        with_role(setup, "NOBYPASSRLS", |_, db, _| async move {
            let report = db.verify_isolation(&tables()[..1]).await?;
            let names: Vec<String> = report.findings().iter().map(ToString::to_string).collect();
            assert_eq!(report.findings().len(), 3, "{report}");
            assert!(names[0].starts_with(
                "table `pages` has no policy comparing `tenant_id` to current_setting(..) (its policies: by_title, \
                 everyone)"
            ));
            assert!(matches!(&report.findings()[1], IsolationFinding::UnconfinedPolicy { policy, .. } if policy == "by_title"));
            assert!(matches!(&report.findings()[2], IsolationFinding::UnconfinedPolicy { policy, .. } if policy == "everyone"));
            Ok(())
        })
        .await;
    }

    #[tokio::test]
    async fn the_table_owner_is_caught() {
        with_role(joined(&[PAGES, ENABLE, FORCE, POLICIES]), "NOBYPASSRLS", |admin, db, role| async move {
            sql(&admin, &format!("ALTER TABLE pages OWNER TO {role}")).await?;
            let report = db.verify_isolation(&tables()).await?;
            assert_eq!(
                report.findings(),
                [IsolationFinding::OwnsTable { table: "pages".into(), role: role.clone(), owner: role.clone() }]
            );
            assert_eq!(
                report.findings()[0].to_string(),
                format!(
                    "role `{role}` owns table `pages`: an owner bypasses row-level security unless forced, and can \
                     turn it off; fix: connect as a role that does not own the tables (grant it SELECT, INSERT, \
                     UPDATE, DELETE ON \"pages\" instead), or `ALTER TABLE \"pages\" OWNER TO <a migration role>;`"
                )
            );
            // A member of the owning role has the owner's rights: caught too.
            let group = format!("{role}_owners");
            sql(
                &admin,
                &format!("CREATE ROLE {group} NOLOGIN; ALTER TABLE pages OWNER TO {group}; GRANT {group} TO {role}"),
            )
            .await?;
            let report = db.verify_isolation(&tables()).await;
            sql(&admin, &format!("ALTER TABLE pages OWNER TO postgres; DROP ROLE {group}")).await?;
            assert_eq!(
                report?.findings(),
                [IsolationFinding::OwnsTable { table: "pages".into(), role: role.clone(), owner: group }]
            );
            Ok(())
        })
        .await;
    }

    #[tokio::test]
    async fn a_role_with_bypassrls_is_caught() {
        with_role(joined(&[PAGES, ENABLE, FORCE, POLICIES]), "BYPASSRLS", |admin, db, role| async move {
            let report = db.verify_isolation(&tables()).await?;
            assert_eq!(report.findings(), [IsolationFinding::BypassesRowSecurity { role: role.clone() }]);
            assert_eq!(
                report.findings()[0].to_string(),
                format!("role `{role}` has BYPASSRLS: it bypasses row-level security; fix: ALTER ROLE \"{role}\" NOBYPASSRLS;")
            );
            let err = report.clone().into_result().unwrap_err();
            assert!(err.is_isolation(), "{err}");
            assert!(matches!(&err, Error::Isolation(r) if r == &report));
            assert_eq!(err.to_string(), format!("the isolation audit failed with 1 finding: {}", report.findings()[0]));
            sql(&admin, &fix_in_message(&report.findings()[0])).await?;
            assert_clean(&db.verify_isolation(&tables()).await?);
            Ok(())
        })
        .await;
    }

    #[tokio::test]
    async fn a_superuser_is_caught() {
        tenantry_tests::run::<Postgres, _, _>(|db| async move {
            sql(&db, joined(&[PAGES, ENABLE, FORCE, POLICIES])).await?;
            let report = db.verify_isolation(&tables()).await?;
            // The test server's own user; a superuser owns everything, which is not said twice.
            assert_eq!(report.findings(), [IsolationFinding::Superuser { role: "postgres".into() }]);
            Ok(())
        })
        .await;
    }

    #[tokio::test]
    async fn missing_tables_and_columns_are_caught() {
        with_role(PAGES, "NOBYPASSRLS", |_, db, _| async move {
            super::assert_missing(&db.verify_isolation(&super::missing_tables()).await?);
            Ok(())
        })
        .await;
    }

    /// Joins statements with `;` (leaked: a few short strings per test, for `with_role`'s
    /// `'static` set-up).
    fn joined(parts: &[&str]) -> &'static str {
        Box::leak(parts.join(";\n").into_boxed_str())
    }
}

mod mysql {
    use super::{assert_clean, fix_in_message, sql};
    use sqlx::MySql;
    use tenantry::{Db, IsolationFinding, Result, TenantTable};

    fn tables() -> Vec<TenantTable> {
        vec![TenantTable::new("invoices", "tenant_id")]
    }

    /// Rows of tenant `acme` that `WHERE tenant_id = ?` finds for `impostor`.
    async fn matches(db: &Db<MySql>, impostor: &str) -> Result<i64> {
        Ok(sqlx::query_scalar("SELECT COUNT(*) FROM invoices WHERE tenant_id = ?")
            .bind(impostor)
            .fetch_one(db.pool())
            .await?)
    }

    /// A tenant column with `collation` is reported with its ALTER fix; the `impostors`
    /// (other tenant ids) read `acme`'s row until the fix, applied as the message prints
    /// it, makes the column `utf8mb4_bin`.
    async fn inexact(collation: &'static str, impostors: &'static [&'static str]) {
        tenantry_tests::run::<MySql, _, _>(|db| async move {
            let column = match collation {
                "" => String::new(), // the database's default (the server's: utf8mb4_general_ci)
                c => format!(" CHARACTER SET utf8mb4 COLLATE {c}"),
            };
            sql(&db, &format!("CREATE TABLE invoices (id BIGINT AUTO_INCREMENT PRIMARY KEY, tenant_id VARCHAR(64){column} NOT NULL, amount BIGINT)")).await?;
            sql(&db, "INSERT INTO invoices (tenant_id, amount) VALUES ('acme', 100)").await?;
            let expected = if collation.is_empty() {
                sqlx::query_scalar::<_, String>("SELECT CAST(@@collation_database AS CHAR)").fetch_one(db.pool()).await?
            } else {
                collation.to_string()
            };
            for impostor in impostors {
                assert_eq!(matches(&db, impostor).await?, 1, "`{impostor}` reads acme's row under {expected}");
            }
            let report = db.verify_isolation(&tables()).await?;
            let fix = "ALTER TABLE `invoices` MODIFY `tenant_id` varchar(64) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL";
            assert_eq!(
                report.findings(),
                [IsolationFinding::InexactCollation {
                    table: "invoices".into(),
                    column: "tenant_id".into(),
                    collation: expected.clone(),
                    fix: fix.into(),
                }]
            );
            assert_eq!(
                report.findings()[0].to_string(),
                format!(
                    "tenant column `tenant_id` of table `invoices` has collation `{expected}`, under which distinct \
                     tenant ids compare equal; fix: {fix}"
                )
            );
            sql(&db, &fix_in_message(&report.findings()[0])).await?;
            assert_clean(&db.verify_isolation(&tables()).await?);
            for impostor in impostors {
                assert_eq!(matches(&db, impostor).await?, 0, "`{impostor}` after the fix");
            }
            assert_eq!(matches(&db, "acme").await?, 1);
            // The fix kept NOT NULL.
            let refused = sqlx::query("INSERT INTO invoices (tenant_id, amount) VALUES (NULL, 1)").execute(db.pool()).await;
            assert!(refused.is_err(), "tenant_id is still NOT NULL");
            Ok(())
        })
        .await;
    }

    #[tokio::test]
    async fn general_ci_is_caught() {
        inexact("utf8mb4_general_ci", &["ACME", "ácme"]).await;
    }

    #[tokio::test]
    async fn unicode_ci_is_caught() {
        inexact("utf8mb4_unicode_ci", &["ACME", "ａｃｍｅ"]).await;
    }

    /// MariaDB 10.11 has `utf8mb4_uca1400_ai_cs` (10.10+): case-sensitive, but `ácme` is
    /// `acme`.
    #[tokio::test]
    async fn uca1400_ai_cs_is_caught() {
        inexact("utf8mb4_uca1400_ai_cs", &["ácme"]).await;
    }

    #[tokio::test]
    async fn the_server_default_is_caught() {
        inexact("", &["ACME"]).await;
    }

    #[tokio::test]
    async fn exact_columns_are_clean() {
        tenantry_tests::run::<MySql, _, _>(|db| async move {
            sql(&db, "CREATE TABLE invoices (tenant_id VARCHAR(64) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL);
                      CREATE TABLE by_number (tenant_id BIGINT NOT NULL);
                      CREATE TABLE by_bytes (tenant_id VARBINARY(64) NOT NULL);
                      CREATE TABLE accented (tenant_id VARCHAR(64) CHARACTER SET utf8mb4 COLLATE utf8mb4_uca1400_as_cs)").await?;
            let tables: Vec<TenantTable> =
                ["invoices", "by_number", "by_bytes", "accented"].map(|t| TenantTable::new(t, "tenant_id")).into();
            assert_clean(&db.verify_isolation(&tables).await?);
            sql(&db, "INSERT INTO invoices VALUES ('acme')").await?;
            assert_eq!(matches(&db, "ACME").await?, 0);
            Ok(())
        })
        .await;
    }

    #[tokio::test]
    async fn missing_tables_and_columns_are_caught() {
        tenantry_tests::run::<MySql, _, _>(|db| async move {
            sql(&db, "CREATE TABLE pages (id BIGINT PRIMARY KEY, tenant_id VARCHAR(64) COLLATE utf8mb4_bin NOT NULL)")
                .await?;
            let report = db.verify_isolation(&super::missing_tables()).await?;
            super::assert_missing(&report);
            assert_eq!(report.findings().len(), 3, "{report}");
            Ok(())
        })
        .await;
    }
}

mod sqlite {
    use super::{assert_clean, fix_in_message, sql};
    use sqlx::Sqlite;
    use tenantry::{Db, IsolationFinding, Result, TenantTable};

    fn tables() -> Vec<TenantTable> {
        vec![TenantTable::new("notes", "tenant_id")]
    }

    async fn matches(db: &Db<Sqlite>, impostor: &str) -> Result<i64> {
        Ok(sqlx::query_scalar("SELECT COUNT(*) FROM notes WHERE tenant_id = ?")
            .bind(impostor)
            .fetch_one(db.pool())
            .await?)
    }

    #[tokio::test]
    async fn nocase_is_caught_and_the_fix_works() {
        tenantry_tests::run::<Sqlite, _, _>(|db| async move {
            sql(
                &db,
                "CREATE TABLE notes (id INTEGER PRIMARY KEY, tenant_id TEXT NOT NULL COLLATE NOCASE, body TEXT);
                      INSERT INTO notes (tenant_id, body) VALUES ('acme', 'hello')",
            )
            .await?;
            assert_eq!(matches(&db, "ACME").await?, 1, "NOCASE: `ACME` reads acme's row");
            let report = db.verify_isolation(&tables()).await?;
            assert_eq!(report.findings().len(), 1, "{report}");
            assert_eq!(
                report.findings()[0].to_string(),
                "tenant column `tenant_id` of table `notes` has collation `NOCASE`, under which distinct tenant ids \
                 compare equal; fix: recreate the table without the collation (foreign keys off, in one \
                 transaction, then recreate its indexes and triggers): CREATE TABLE \"notes_new\" (id INTEGER \
                 PRIMARY KEY, tenant_id TEXT NOT NULL, body TEXT); INSERT INTO \"notes_new\" SELECT * FROM \
                 \"notes\"; DROP TABLE \"notes\"; ALTER TABLE \"notes_new\" RENAME TO \"notes\";"
            );
            let fix = fix_in_message(&report.findings()[0]);
            let (_, statements) = fix.split_once("): ").expect("the statements follow the advice");
            sql(&db, statements).await?;
            assert_clean(&db.verify_isolation(&tables()).await?);
            assert_eq!(matches(&db, "ACME").await?, 0);
            assert_eq!(matches(&db, "acme").await?, 1, "the rows were kept");
            Ok(())
        })
        .await;
    }

    #[tokio::test]
    async fn rtrim_is_caught() {
        tenantry_tests::run::<Sqlite, _, _>(|db| async move {
            sql(&db, "CREATE TABLE notes (\"tenant_id\" VARCHAR(64) COLLATE rtrim NOT NULL)").await?;
            let report = db.verify_isolation(&tables()).await?;
            assert!(
                matches!(report.findings(), [IsolationFinding::InexactCollation { collation, .. }] if collation == "rtrim"),
                "{report}"
            );
            Ok(())
        })
        .await;
    }

    #[tokio::test]
    async fn plain_text_is_clean() {
        tenantry_tests::run::<Sqlite, _, _>(|db| async move {
            // A NOCASE elsewhere (another column, a CHECK, a table constraint) is not the tenant column's.
            sql(
                &db,
                "CREATE TABLE notes (tenant_id TEXT NOT NULL CHECK (tenant_id COLLATE NOCASE <> 'x'),
                        title TEXT COLLATE NOCASE, UNIQUE (tenant_id COLLATE NOCASE, title));
                      CREATE TABLE binary_notes (tenant_id TEXT COLLATE BINARY)",
            )
            .await?;
            let mut tables = tables();
            tables.push(TenantTable::new("binary_notes", "tenant_id"));
            assert_clean(&db.verify_isolation(&tables).await?);
            Ok(())
        })
        .await;
    }

    #[tokio::test]
    async fn missing_tables_and_columns_are_caught() {
        tenantry_tests::run::<Sqlite, _, _>(|db| async move {
            sql(&db, "CREATE TABLE pages (id INTEGER PRIMARY KEY, tenant_id TEXT NOT NULL)").await?;
            let report = db.verify_isolation(&super::missing_tables()).await?;
            super::assert_missing(&report);
            assert_eq!(report.findings().len(), 3, "{report}");
            Ok(())
        })
        .await;
    }
}
