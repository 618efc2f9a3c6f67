//! Row-level security mode on PostgreSQL: the database confines every call too. The
//! repository's pool connects as a role that has no `BYPASSRLS` and owns nothing; the
//! table has a policy on `current_setting('tenantry.tenant', true)`, which tenantry sets
//! per transaction, or as the startup parameter of connections pinned to a tenant. What
//! the policy stops here is SQL outside the repositories: a raw query on the same pool
//! sees nothing and writes nothing, also after a thousand calls cancelled at random
//! points. Each scenario runs in both modes; a policy that saw no tenant would show as
//! missing rows.

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use sqlx::postgres::PgPoolOptions;
use sqlx::{Connection, Executor, Postgres};
use tenantry::{Db, Pinning, Result, Rls, RlsRefusal, TenantId, tenant_repository};
use tenantry_tests::run;

#[tenant_repository(backends(postgres))]
pub trait Ledger {
    #[sql("INSERT INTO ledger (tenant_id, customer, amount) VALUES (:tenant, :customer, :amount)")]
    async fn add(&self, customer: &str, amount: i64) -> Result<u64>;

    #[sql("SELECT customer FROM ledger WHERE tenant_id = :tenant ORDER BY customer")]
    async fn customers(&self) -> Result<Vec<String>>;

    #[unscoped(reason = "test: every tenant's rows")]
    #[sql("SELECT COUNT(*) FROM ledger")]
    async fn count_all(&self) -> Result<i64>;
}

const POLICY: &str = "tenant_id = NULLIF(current_setting('tenantry.tenant', true), '')";

/// The two modes every scenario runs in. Pinned: two tenants at a time, one connection
/// each, so that the scenarios' three tenants also take the per-transaction path.
fn modes() -> [Rls; 2] {
    [Rls::per_transaction(), Rls::pinned(Pinning::default().tenants(2).connections_per_tenant(1))]
}

/// Creates `ledger` with its policy and a role for the application, and returns a `Db` in
/// `mode` whose connections run as that role (its bypass pool for unscoped methods is
/// the test's own, a superuser's). The role is cluster-wide: its name is unique, and the
/// caller drops it with [`drop_role`]. The connections are named after the role
/// (`application_name`), so that a test can find them in `pg_stat_activity`.
async fn rls_db(admin: &Db<Postgres>, role: &str, max_connections: u32, mode: Rls) -> Result<Db<Postgres>> {
    rls_db_with(admin, role, max_connections, mode, "").await
}

/// [`rls_db`], whose connections also run `after_connect` after `SET ROLE`.
async fn rls_db_with(
    admin: &Db<Postgres>,
    role: &str,
    max_connections: u32,
    mode: Rls,
    after_connect: &str,
) -> Result<Db<Postgres>> {
    let schema: String = sqlx::query_scalar("SELECT current_schema()").fetch_one(admin.pool()).await?;
    for statement in [
        "CREATE TABLE ledger (id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, tenant_id TEXT NOT NULL, customer TEXT NOT NULL, amount BIGINT NOT NULL)".to_string(),
        "ALTER TABLE ledger ENABLE ROW LEVEL SECURITY".to_string(),
        "ALTER TABLE ledger FORCE ROW LEVEL SECURITY".to_string(),
        format!("CREATE POLICY tenant_isolation ON ledger USING ({POLICY}) WITH CHECK ({POLICY})"),
        format!("CREATE ROLE {role} NOLOGIN NOBYPASSRLS"),
        format!("GRANT USAGE ON SCHEMA {schema} TO {role}"),
        format!("GRANT SELECT, INSERT, UPDATE, DELETE ON ledger TO {role}"),
    ] {
        admin.pool().execute(sqlx::AssertSqlSafe(statement)).await?;
    }
    let set_role = format!("SET ROLE {role}; {after_connect}");
    let pool = PgPoolOptions::new()
        .max_connections(max_connections)
        .after_connect(move |conn, _| {
            let set_role = set_role.clone();
            Box::pin(async move {
                conn.execute(sqlx::AssertSqlSafe(set_role)).await?;
                Ok(())
            })
        })
        .connect_with((*admin.pool().connect_options()).clone().application_name(role))
        .await?;
    // The start of a service in RLS mode: it refuses to start when the audit finds the
    // database would not confine SQL outside the repositories.
    let builder = Db::builder(pool).row_level_security(mode).unscoped_pool(admin.pool().clone());
    builder.build_verified(&LedgerRepo::<Postgres>::tenant_tables()).await
}

async fn drop_role(admin: &Db<Postgres>, rls: &Db<Postgres>, role: &str) -> Result<()> {
    rls.close().await;
    let schema: String = sqlx::query_scalar("SELECT current_schema()").fetch_one(admin.pool()).await?;
    admin.pool().execute(sqlx::AssertSqlSafe(format!("DROP OWNED BY {role}"))).await?;
    admin.pool().execute(sqlx::AssertSqlSafe(format!("REVOKE ALL ON SCHEMA {schema} FROM {role}"))).await?;
    admin.pool().execute(sqlx::AssertSqlSafe(format!("DROP ROLE {role}"))).await?;
    Ok(())
}

fn unique_role() -> String {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    format!("tenantry_rls_{}_{}", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed))
}

fn tenant(s: &str) -> TenantId {
    TenantId::parse(s).expect("a valid tenant id")
}

/// Rows a raw query on the RLS pool sees: no tenant is set outside tenantry's calls. A
/// simple query, which a transaction pooler runs on one server connection.
async fn raw_count(db: &Db<Postgres>) -> Result<i64> {
    use sqlx::Row;
    Ok(sqlx::raw_sql("SELECT COUNT(*) FROM ledger").fetch_one(db.pool()).await?.try_get(0)?)
}

async fn calls_and_transactions_run_under_the_policy(admin: Db<Postgres>, mode: Rls) -> Result<()> {
    let role = unique_role();
    let db = rls_db(&admin, &role, 2, mode).await?;
    let outcome = check_calls_and_transactions(&db, &admin).await;
    drop_role(&admin, &db, &role).await?;
    outcome
}

/// The calls of the scenario above on `db`, an RLS `Db`; `admin` bypasses the policies.
async fn check_calls_and_transactions(db: &Db<Postgres>, admin: &Db<Postgres>) -> Result<()> {
    let ledger = LedgerRepo::new(db);
    let (acme, globex) = (db.scope(tenant("acme"))?, db.scope(tenant("globex"))?);
    ledger.add(&acme, "acme-1", 10).await?;
    ledger.add(&globex, "globex-1", 20).await?;
    let tx = db.begin(&acme).await?;
    ledger.add(&tx, "acme-2", 30).await?;
    assert_eq!(ledger.customers(&tx).await?, ["acme-1", "acme-2"]);
    tx.commit().await?;
    let tx = db.begin(&globex).await?;
    ledger.add(&tx, "globex-rolled-back", 1).await?;
    tx.rollback().await?;
    assert_eq!(ledger.customers(&acme).await?, ["acme-1", "acme-2"]);
    assert_eq!(ledger.customers(&globex).await?, ["globex-1"]);

    // Outside tenantry's calls no tenant is set: a raw read sees nothing, a raw
    // write is refused by the policy's WITH CHECK.
    assert_eq!(raw_count(db).await?, 0);
    let raw_insert = sqlx::raw_sql("INSERT INTO ledger (tenant_id, customer, amount) VALUES ('acme', 'raw', 1)")
        .execute(db.pool())
        .await;
    assert!(raw_insert.is_err(), "a raw write without a tenant passed the policy");
    // The superuser (who bypasses RLS) sees all three rows; a `Db` running as it does
    // not start in RLS mode.
    assert_eq!(raw_count(admin).await?, 3);
    assert_eq!(
        LedgerRepo::<Postgres>::tenant_tables(),
        [tenantry::TenantTable::new("ledger", "tenant_id")],
        "the generated list of the repository's tenant tables"
    );
    let as_superuser = Db::builder(admin.pool().clone()).row_level_security(Rls::per_transaction());
    let e = as_superuser.build_verified(&LedgerRepo::<Postgres>::tenant_tables()).await.expect_err("a superuser");
    assert!(e.is_isolation(), "{e:?}");

    // An unscoped method runs on the bypass pool; a set read is refused before SQL.
    assert_eq!(ledger.count_all(&db.unscoped("test")?).await?, 3);
    let both = db.scope_set([tenant("acme"), tenant("globex")])?;
    let e = ledger.customers(&both).await.expect_err("a set under RLS");
    assert_eq!(e.rls_refusal(), Some(RlsRefusal::Set), "{e:?}");
    let without_bypass = Db::builder(db.pool().clone()).row_level_security(Rls::per_transaction()).build_unverified();
    let e = LedgerRepo::new(&without_bypass).count_all(&without_bypass.unscoped("test")?).await.expect_err("no bypass");
    assert_eq!(e.rls_refusal(), Some(RlsRefusal::NoUnscopedPool), "{e:?}");
    Ok(())
}

#[tokio::test]
async fn calls_and_transactions_run_under_the_policy_postgres() {
    for mode in modes() {
        run::<Postgres, _, _>(|admin| calls_and_transactions_run_under_the_policy(admin, mode)).await
    }
}

/// A small deterministic generator (no `rand` dependency): the same points every run.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, below: u64) -> u64 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (self.0 >> 33) % below
    }
}

/// Calls and transactions cancelled at random points (by a timeout of 0–1,500 µs) leave
/// no tenant on any connection: afterwards each of 1,000 calls sees only its own tenant's
/// rows, and a raw query with no tenant set sees none.
async fn cancelled_calls_leave_no_tenant_behind(admin: Db<Postgres>, mode: Rls) -> Result<()> {
    let role = unique_role();
    let db = rls_db(&admin, &role, 2, mode).await?;
    let outcome = check_cancellations(&db).await;
    drop_role(&admin, &db, &role).await?;
    outcome
}

/// The calls of the scenario above on `db`, an RLS `Db`.
async fn check_cancellations(db: &Db<Postgres>) -> Result<()> {
    let ledger = LedgerRepo::new(db);
    let tenants = [db.scope(tenant("acme"))?, db.scope(tenant("globex"))?, db.scope(tenant("initech"))?];
    let mut rng = Lcg(7);
    let mut cancelled = 0;
    for i in 0..1000 {
        let scope = &tenants[rng.next(3) as usize];
        let name = format!("{}-{i}", scope.tenant());
        let budget = Duration::from_micros(rng.next(1500));
        let work = async {
            match rng.next(3) {
                0 => ledger.add(scope, &name, 1).await.map(|_| ()),
                1 => ledger.customers(scope).await.map(|_| ()),
                _ => {
                    let tx = db.begin(scope).await?;
                    ledger.add(&tx, &name, 1).await?;
                    ledger.customers(&tx).await?;
                    tx.commit().await
                }
            }
        };
        match tokio::time::timeout(budget, work).await {
            Ok(result) => result?,
            Err(_) => cancelled += 1,
        }
    }
    assert!(cancelled > 100, "only {cancelled} of 1000 calls were cancelled: the test did not test cancellation");
    for i in 0..1000 {
        let scope = &tenants[i % 3];
        let own = format!("{}-", scope.tenant());
        let seen = ledger.customers(scope).await?;
        assert!(seen.iter().all(|c| c.starts_with(&own)), "{} saw {seen:?}", scope.tenant());
        if i % 10 == 0 {
            assert_eq!(raw_count(db).await?, 0, "a connection kept a tenant");
        }
    }
    Ok(())
}

#[tokio::test]
async fn cancelled_calls_leave_no_tenant_behind_postgres() {
    for mode in modes() {
        run::<Postgres, _, _>(|admin| cancelled_calls_leave_no_tenant_behind(admin, mode)).await
    }
}

/// Pinned mode keeps connections for the two most recently active tenants. A third
/// tenant takes the place of the least recently used one whose connections are idle; a
/// tenant whose one connection is busy, or any tenant while every pinned pool is busy,
/// runs per transaction on the shared pool, as confined. (Waiting for the busy pinned
/// connection instead would wait for itself: the transaction below holds it.)
async fn pinned_connections_serve_the_recent_tenants(admin: Db<Postgres>) -> Result<()> {
    let role = unique_role();
    let db = rls_db(&admin, &role, 2, Rls::pinned(Pinning::default().tenants(2).connections_per_tenant(1))).await?;
    let outcome = async {
        let ledger = LedgerRepo::new(&db);
        let [acme, globex, initech] = ["acme", "globex", "initech"].map(|t| db.scope(tenant(t)).expect("admitted"));
        assert_eq!(db.pinned_tenants(), 0, "pools are opened on first use");
        ledger.add(&acme, "acme-1", 1).await?;
        ledger.add(&globex, "globex-1", 1).await?;
        assert_eq!(db.pinned_tenants(), 2);
        ledger.add(&initech, "initech-1", 1).await?;
        assert_eq!(db.pinned_tenants(), 2, "initech replaced the least recently used tenant");

        let globex_tx = db.begin(&globex).await?;
        let initech_tx = db.begin(&initech).await?;
        // globex's one connection is the transaction's: this call falls back.
        ledger.add(&globex, "globex-2", 1).await?;
        // Both pinned pools are busy: acme cannot take a place, and falls back.
        ledger.add(&acme, "acme-2", 1).await?;
        assert_eq!(ledger.customers(&acme).await?, ["acme-1", "acme-2"]);
        assert_eq!(ledger.customers(&globex_tx).await?, ["globex-1", "globex-2"]);
        ledger.add(&initech_tx, "initech-2", 1).await?;
        globex_tx.commit().await?;
        initech_tx.rollback().await?;
        assert_eq!(ledger.customers(&initech).await?, ["initech-1"]);
        assert_eq!(raw_count(&db).await?, 0, "the shared pool holds no tenant");

        // A closed `Db` opens no pinned pool again: every call fails, as on a plain one.
        db.close().await;
        assert_eq!(db.pinned_tenants(), 0);
        let e = ledger.add(&acme, "acme-closed", 1).await.expect_err("a closed Db");
        assert!(matches!(e.as_sqlx(), Some(sqlx::Error::PoolClosed)), "{e:?}");
        Ok(())
    }
    .await;
    drop_role(&admin, &db, &role).await?;
    outcome
}

#[tokio::test]
async fn pinned_connections_serve_the_recent_tenants_postgres() {
    run::<Postgres, _, _>(pinned_connections_serve_the_recent_tenants).await
}

/// A pinned connection is checked to hold its tenant before its first use: here the
/// pool's `after_connect` sets another tenant (as a session `SET` would, or a transaction
/// pooler that drops startup parameters would leave none), and the call is refused
/// rather than run under the wrong tenant.
async fn a_pinned_connection_without_its_tenant_is_refused(admin: Db<Postgres>) -> Result<()> {
    let role = unique_role();
    let overwrite = "SET tenantry.tenant = 'globex'";
    let db = rls_db_with(&admin, &role, 2, Rls::pinned(Pinning::default()), overwrite).await?;
    let outcome = async {
        let ledger = LedgerRepo::new(&db);
        let e = ledger.add(&db.scope(tenant("acme"))?, "acme-1", 1).await.expect_err("a connection holding globex");
        assert_eq!(e.rls_refusal(), Some(RlsRefusal::PinNotHeld), "{e:?}");
        let e = db.begin(&db.scope(tenant("acme"))?).await.expect_err("a transaction on it");
        assert_eq!(e.rls_refusal(), Some(RlsRefusal::PinNotHeld), "{e:?}");
        assert_eq!(raw_count(&admin).await?, 0, "nothing was written");
        Ok(())
    }
    .await;
    drop_role(&admin, &db, &role).await?;
    outcome
}

#[tokio::test]
async fn a_pinned_connection_without_its_tenant_is_refused_postgres() {
    run::<Postgres, _, _>(a_pinned_connection_without_its_tenant_is_refused).await
}

/// `pg_terminate_backend` on a connection inside a scoped transaction: the next call on
/// the transaction fails with a typed error (`is_connection_lost`), and so does its
/// commit; the pool replaces the connection, and later calls see their own rows only.
async fn a_terminated_backend_is_a_typed_error(admin: Db<Postgres>, mode: Rls) -> Result<()> {
    let role = unique_role();
    let db = rls_db(&admin, &role, 2, mode).await?;
    let outcome = async {
        let ledger = LedgerRepo::new(&db);
        let acme = db.scope(tenant("acme"))?;
        ledger.add(&acme, "acme-1", 1).await?;
        let tx = db.begin(&acme).await?;
        ledger.add(&tx, "acme-2", 1).await?;
        let terminated: Vec<bool> = sqlx::query_scalar(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1 AND state = 'idle in transaction'",
        )
        .bind(&role)
        .fetch_all(admin.pool())
        .await?;
        assert_eq!(terminated, [true], "the transaction's one backend");
        let e = ledger.customers(&tx).await.expect_err("a terminated connection");
        assert!(e.is_connection_lost(), "{e:?}");
        let e = tx.commit().await.expect_err("committing on a terminated connection");
        assert!(e.is_connection_lost(), "{e:?}");
        for _ in 0..3 {
            assert_eq!(ledger.customers(&acme).await?, ["acme-1"], "acme-2 was rolled back with the backend");
        }
        assert_eq!(raw_count(&db).await?, 0);
        Ok(())
    }
    .await;
    drop_role(&admin, &db, &role).await?;
    outcome
}

#[tokio::test]
async fn a_terminated_backend_is_a_typed_error_postgres() {
    for mode in modes() {
        run::<Postgres, _, _>(|admin| a_terminated_backend_is_a_typed_error(admin, mode)).await
    }
}

/// PgBouncer in transaction pooling (`scripts/pgbouncer.sh start`; `.ci/run` starts it):
/// `TENANTRY_PGBOUNCER_URL`, or this.
const PGBOUNCER_URL: &str = "postgres://tenantry_pgbouncer_app@127.0.0.1:6433/test";
/// Through a pooler a connection has no session to `SET ROLE` or `search_path` in: the
/// application logs in as its role, whose `search_path` is the fixed schema below. Both
/// are recreated by each run; one test uses them.
const PGBOUNCER_ROLE: &str = "tenantry_pgbouncer_app";
const PGBOUNCER_SCHEMA: &str = "tenantry_pgbouncer";

/// The scenarios above in per-transaction mode through PgBouncer, whose two server
/// connections the `Db`'s four client connections share, so that a tenant left on a
/// server connection would reach another client. Statements are unnamed
/// (`persistent_statements(false)`: PgBouncer 1.18 does not track prepared statements).
/// Pinned mode through it is refused: the startup parameter does not reach the server.
async fn rls_holds_through_pgbouncer(admin: Db<Postgres>) -> Result<()> {
    let url = std::env::var("TENANTRY_PGBOUNCER_URL").ok().filter(|u| !u.is_empty());
    let url = url.as_deref().unwrap_or(PGBOUNCER_URL);
    let options: sqlx::postgres::PgConnectOptions = url.parse()?;
    let schema = PGBOUNCER_SCHEMA;
    for statement in [
        format!("DROP SCHEMA IF EXISTS {schema} CASCADE"),
        format!("CREATE SCHEMA {schema}"),
        format!(
            "CREATE TABLE {schema}.ledger (id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, tenant_id TEXT NOT NULL, customer TEXT NOT NULL, amount BIGINT NOT NULL)"
        ),
        format!("ALTER TABLE {schema}.ledger ENABLE ROW LEVEL SECURITY"),
        format!("ALTER TABLE {schema}.ledger FORCE ROW LEVEL SECURITY"),
        format!("CREATE POLICY tenant_isolation ON {schema}.ledger USING ({POLICY}) WITH CHECK ({POLICY})"),
        format!(
            "DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{PGBOUNCER_ROLE}') THEN CREATE ROLE {PGBOUNCER_ROLE} LOGIN NOBYPASSRLS; END IF; END $$"
        ),
        format!("ALTER ROLE {PGBOUNCER_ROLE} SET search_path = {schema}"),
        format!("GRANT USAGE ON SCHEMA {schema} TO {PGBOUNCER_ROLE}"),
        format!("GRANT SELECT, INSERT, UPDATE, DELETE ON {schema}.ledger TO {PGBOUNCER_ROLE}"),
    ] {
        admin.pool().execute(sqlx::AssertSqlSafe(statement)).await?;
    }
    // After the role exists: PgBouncer logs in as it.
    let probe = tokio::time::timeout(Duration::from_secs(5), sqlx::PgConnection::connect_with(&options)).await;
    match probe {
        Ok(Ok(conn)) => conn.close().await?,
        Ok(Err(e)) => return skip(&format!("PgBouncer at {url} is unreachable ({e})")),
        Err(_) => return skip(&format!("PgBouncer at {url} did not answer within 5 s")),
    }
    // The superuser, directly, in the same schema: the bypass pool and the test's eyes.
    let admin_options = (*admin.pool().connect_options()).clone().options([("search_path", schema)]);
    let direct = Db::new(PgPoolOptions::new().max_connections(2).connect_with(admin_options).await?);
    let pooled = PgPoolOptions::new().max_connections(4).connect_with(options).await?;
    let db = Db::builder(pooled.clone())
        .persistent_statements(false)
        .row_level_security(Rls::per_transaction())
        .unscoped_pool(direct.pool().clone())
        .build_verified(&LedgerRepo::<Postgres>::tenant_tables())
        .await?;
    check_calls_and_transactions(&db, &direct).await?;
    // Through PgBouncer this found a leak when sqlx began the transactions: a begin
    // cancelled before its reply left the connection inside it, tenant set (see `OwnTx`).
    check_cancellations(&db).await?;

    let pinned = Db::builder(pooled)
        .persistent_statements(false)
        .row_level_security(Rls::pinned(Pinning::default()))
        .build_unverified();
    let e = LedgerRepo::new(&pinned)
        .add(&pinned.scope(tenant("acme"))?, "acme-pinned", 1)
        .await
        .expect_err("pinned behind PgBouncer");
    assert_eq!(e.rls_refusal(), Some(RlsRefusal::PinNotHeld), "{e:?}");
    pinned.close().await;
    db.close().await;
    admin.pool().execute(sqlx::AssertSqlSafe(format!("DROP SCHEMA {schema} CASCADE"))).await?;
    Ok(())
}

/// Skips a test whose server is unreachable, or fails it under `TENANTRY_REQUIRE_DB=1`.
fn skip(why: &str) -> Result<()> {
    use std::io::Write;
    assert!(
        !tenantry_tests::database_required(),
        "{why}, and TENANTRY_REQUIRE_DB=1 requires it (scripts/pgbouncer.sh start)"
    );
    let _ = writeln!(std::io::stderr(), "SKIPPED: {why}; start it with scripts/pgbouncer.sh start");
    Ok(())
}

#[tokio::test]
async fn rls_holds_through_pgbouncer_postgres() {
    run::<Postgres, _, _>(rls_holds_through_pgbouncer).await
}

/// The role the application runs as on the Citus cluster: Citus opens its connections to
/// the workers as the current role, so it must be able to log in (a `NOLOGIN` role
/// reached through `SET ROLE` fails there). Cluster-wide, created once; Citus copies it
/// to the workers.
const CITUS_ROLE: &str = "tenantry_citus_app";

/// Per-transaction mode on a Citus coordinator: `ledger` distributed on its tenant column,
/// its policy copied to the shards. The tenant must reach the policy on the worker that
/// holds the shard: calls see their tenant's rows and raw queries none, and every generated
/// call runs on one shard (the multi-shard guard is on). Pinned mode is refused: Citus does
/// not pass the startup parameter to its workers.
async fn rls_on_citus(admin: &Db<Postgres>) -> Result<()> {
    for statement in [
        "CREATE TABLE ledger (id BIGINT GENERATED BY DEFAULT AS IDENTITY, tenant_id TEXT NOT NULL, customer TEXT NOT NULL, amount BIGINT NOT NULL, PRIMARY KEY (tenant_id, id))".to_string(),
        "SELECT create_distributed_table('ledger', 'tenant_id')".to_string(),
        "ALTER TABLE ledger ENABLE ROW LEVEL SECURITY".to_string(),
        "ALTER TABLE ledger FORCE ROW LEVEL SECURITY".to_string(),
        format!("CREATE POLICY tenant_isolation ON ledger USING ({POLICY}) WITH CHECK ({POLICY})"),
        format!("DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{CITUS_ROLE}') THEN CREATE ROLE {CITUS_ROLE} LOGIN NOBYPASSRLS; END IF; END $$"),
        format!("GRANT USAGE ON SCHEMA {} TO {CITUS_ROLE}", current_schema(admin).await?),
        format!("GRANT SELECT, INSERT, UPDATE, DELETE ON ledger TO {CITUS_ROLE}"),
    ] {
        admin.pool().execute(sqlx::AssertSqlSafe(statement)).await?;
    }
    let as_app = (*admin.pool().connect_options()).clone().username(CITUS_ROLE);
    let guarded = as_app.clone().options([tenantry_tests::MULTI_SHARD_GUARD]);
    let pool = PgPoolOptions::new().max_connections(2).connect_with(guarded).await?;
    let db = Db::builder(pool.clone())
        .row_level_security(Rls::per_transaction())
        .unscoped_pool(admin.pool().clone())
        .build_verified(&LedgerRepo::<Postgres>::tenant_tables())
        .await?;
    let ledger = LedgerRepo::new(&db);
    let (acme, globex) = (db.scope(tenant("acme"))?, db.scope(tenant("globex"))?);
    ledger.add(&acme, "acme-1", 10).await?;
    ledger.add(&globex, "globex-1", 20).await?;
    let tx = db.begin(&acme).await?;
    ledger.add(&tx, "acme-2", 30).await?;
    assert_eq!(ledger.customers(&tx).await?, ["acme-1", "acme-2"]);
    tx.commit().await?;
    assert_eq!(ledger.customers(&acme).await?, ["acme-1", "acme-2"]);
    assert_eq!(ledger.customers(&globex).await?, ["globex-1"]);
    assert_eq!(ledger.count_all(&db.unscoped("test")?).await?, 3);

    // As the same role without tenantry (and without the guard: a count is multi-shard),
    // the workers' policies see no tenant.
    let raw = Db::new(PgPoolOptions::new().max_connections(1).connect_with(as_app).await?);
    assert_eq!(raw_count(&raw).await?, 0);
    let raw_insert = sqlx::raw_sql("INSERT INTO ledger (tenant_id, customer, amount) VALUES ('acme', 'raw', 1)")
        .execute(raw.pool())
        .await;
    assert!(raw_insert.is_err(), "a raw write without a tenant passed the workers' policy");
    raw.close().await;

    let pinned = Db::builder(pool).row_level_security(Rls::pinned(Pinning::default())).build_unverified();
    let e = LedgerRepo::new(&pinned).customers(&pinned.scope(tenant("acme"))?).await.expect_err("pinned on Citus");
    assert_eq!(e.rls_refusal(), Some(RlsRefusal::PinnedOnCitus), "{e:?}");
    pinned.close().await;
    db.close().await;
    Ok(())
}

async fn current_schema(db: &Db<Postgres>) -> Result<String> {
    Ok(sqlx::query_scalar("SELECT current_schema()::text").fetch_one(db.pool()).await?)
}

#[tokio::test]
async fn rls_holds_on_citus() {
    use futures_util::FutureExt;
    let Some((test_db, admin)) = tenantry_tests::citus().await else { return };
    let outcome =
        std::panic::AssertUnwindSafe(tokio::time::timeout(tenantry_tests::SCENARIO_TIMEOUT, rls_on_citus(&admin)))
            .catch_unwind()
            .await;
    test_db.remove().await;
    match outcome {
        Ok(Ok(Ok(()))) => {}
        Ok(Ok(Err(e))) => panic!("on Citus: {e}"),
        Ok(Err(_)) => panic!("on Citus: the scenario did not finish in time"),
        Err(panic) => std::panic::resume_unwind(panic),
    }
}
