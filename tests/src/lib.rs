//! Helpers of tenantry's integration tests: a fresh, empty database for each test on
//! SQLite (in memory), PostgreSQL (a schema of its own) and MariaDB/MySQL (a database of
//! its own), so that test binaries running in parallel against one server never meet.
//!
//! A server that cannot be reached skips its tests with a line on stderr, unless
//! `TENANTRY_REQUIRE_DB=1` is set (as in CI): then the test fails.

use std::future::Future;
use std::io::Write;
use std::panic::AssertUnwindSafe;
use std::str::FromStr;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use futures_util::FutureExt;
use sqlx::pool::PoolOptions;
use sqlx::{AssertSqlSafe, Connection, Database, Executor, MySql, Postgres, Sqlite};
use tenantry::Db;

/// The PostgreSQL server used unless `TENANTRY_PG_URL` says otherwise.
pub const DEFAULT_PG_URL: &str = "postgres://postgres@127.0.0.1:5432/test";
/// The Citus coordinator used unless `TENANTRY_CITUS_URL` says otherwise (the cluster of
/// `../shared/citus/cluster.sh start`).
pub const DEFAULT_CITUS_URL: &str = "postgres://postgres@127.0.0.1:9700/postgres";
/// What the Citus test connections set: a statement that would run on more than one shard
/// fails instead.
pub const MULTI_SHARD_GUARD: (&str, &str) = ("citus.multi_task_query_log_level", "error");
/// The MariaDB/MySQL server used unless `TENANTRY_MYSQL_URL` says otherwise.
pub const DEFAULT_MYSQL_URL: &str = "mysql://root@127.0.0.1:3306/test";
/// Set to `1` to turn an unreachable server into a test failure instead of a skip.
pub const REQUIRE_DB_ENV: &str = "TENANTRY_REQUIRE_DB";

/// Connections per test pool: enough for the concurrency tests, few enough that many
/// parallel tests stay under the servers' connection limits.
const MAX_CONNECTIONS: u32 = 4;

/// How long connecting to a server may take before it counts as unreachable.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// A test schema or database older than this was left behind by a killed run.
const STALE_AFTER: Duration = Duration::from_secs(3600);
/// How long closing a test's pool may take.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(10);

/// A database for one test; [`TestDb::remove`] drops what the test created on a server.
#[derive(Debug)]
pub struct TestDb<DB: Database> {
    /// The database the test runs on.
    pub db: Db<DB>,
    /// On a server: a connection outside the test's schema or database, and the statement
    /// that drops it.
    teardown: Option<(Db<DB>, String)>,
    /// Other pools on the test's schema or database, closed with it.
    also: Vec<Db<DB>>,
}

impl<DB: Backend> TestDb<DB> {
    /// Closes the test's pool and drops its schema or database.
    pub async fn remove(self) {
        // A connection left mid-protocol by a failed statement may never come back to
        // the pool; do not let that hang the test after it has failed.
        for db in std::iter::once(&self.db).chain(&self.also) {
            if tokio::time::timeout(CLOSE_TIMEOUT, db.pool().close()).await.is_err() {
                eprintln!("{}: the test's pool did not close within {CLOSE_TIMEOUT:?}", DB::NAME);
            }
        }
        if let Some((admin, drop)) = self.teardown {
            if let Err(e) = DB::execute(&admin, &drop).await {
                eprintln!("{}: could not clean up with `{drop}`: {e}", DB::NAME);
            }
            admin.pool().close().await;
        }
    }
}

/// A backend the integration tests run on.
pub trait Backend: Database {
    /// The column definition of an auto-incrementing `BIGINT` primary key.
    const AUTO_ID: &'static str;

    /// A fresh, empty database for one test, or `None` (after saying why on stderr) when
    /// the server cannot be reached and [`REQUIRE_DB_ENV`] is not set.
    fn open() -> impl Future<Output = Option<TestDb<Self>>> + Send;

    /// Runs one statement outside any repository (DDL, clean-up).
    fn execute(db: &Db<Self>, sql: &str) -> impl Future<Output = Result<(), sqlx::Error>> + Send;
}

/// How long one scenario may take before it counts as hung.
pub const SCENARIO_TIMEOUT: Duration = Duration::from_secs(60);

/// Runs `scenario` on a fresh database of `DB`, then removes that database, also when the
/// scenario fails, hangs (see [`SCENARIO_TIMEOUT`]) or panics. Does nothing (the test is
/// skipped) when the server is down.
pub async fn run<DB, F, Fut>(scenario: F)
where
    DB: Backend,
    F: FnOnce(Db<DB>) -> Fut,
    Fut: Future<Output = tenantry::Result<()>>,
{
    let Some(test_db) = DB::open().await else { return };
    let db = test_db.db.clone();
    run_on(test_db, scenario(db)).await;
}

/// Runs `scenario` on `test_db` (see [`run`]), then removes it.
pub async fn run_on<DB: Backend>(test_db: TestDb<DB>, scenario: impl Future<Output = tenantry::Result<()>>) {
    let outcome = AssertUnwindSafe(tokio::time::timeout(SCENARIO_TIMEOUT, scenario)).catch_unwind().await;
    test_db.remove().await;
    match outcome {
        Ok(Ok(Ok(()))) => {}
        Ok(Ok(Err(e))) => match std::error::Error::source(&e) {
            // The sqlx error says why: a failed call's Display names only the method.
            Some(cause) => panic!("on {}: {e}: {cause}", DB::NAME),
            None => panic!("on {}: {e}", DB::NAME),
        },
        Ok(Err(_)) => panic!("on {}: the scenario did not finish within {SCENARIO_TIMEOUT:?}", DB::NAME),
        Err(panic) => std::panic::resume_unwind(panic),
    }
}

/// An in-memory SQLite database. Every connection to `sqlite::memory:` is a database of
/// its own, so the pool holds exactly one connection and never closes it.
pub async fn sqlite() -> Db<Sqlite> {
    let pool = PoolOptions::<Sqlite>::new()
        .max_connections(1)
        .idle_timeout(None)
        .max_lifetime(None)
        .connect("sqlite::memory:")
        .await
        .expect("in-memory SQLite opens");
    Db::new(pool)
}

/// A fresh schema on the PostgreSQL server of `TENANTRY_PG_URL`, which the test's
/// connections have as their `search_path`.
pub async fn postgres() -> Option<TestDb<Postgres>> {
    open_on(&Server::<Postgres> {
        name: "PostgreSQL",
        env: "TENANTRY_PG_URL",
        default_url: DEFAULT_PG_URL,
        list: "SELECT nspname::text FROM pg_namespace WHERE nspname LIKE 'tenantry_test_%'",
        create: |name| format!("CREATE SCHEMA {name}"),
        drop: |name| format!("DROP SCHEMA IF EXISTS {name} CASCADE"),
        confine: |options, name| options.options([("search_path", name)]),
    })
    .await
}

/// A fresh schema on the Citus coordinator of `TENANTRY_CITUS_URL` (the test creates and
/// distributes its tables), and two pools on it: the test's, whose connections refuse any
/// statement that would touch more than one shard ([`MULTI_SHARD_GUARD`]), and one
/// without that guard for what is multi-shard by nature (`#[unscoped]` reads across
/// tenants, `ScopeSet` reads).
pub async fn citus() -> Option<(TestDb<Postgres>, Db<Postgres>)> {
    let server = Server::<Postgres> {
        name: "Citus",
        env: "TENANTRY_CITUS_URL",
        default_url: DEFAULT_CITUS_URL,
        list: "SELECT nspname::text FROM pg_namespace WHERE nspname LIKE 'tenantry_test_%'",
        create: |name| format!("CREATE SCHEMA {name}"),
        drop: |name| format!("DROP SCHEMA IF EXISTS {name} CASCADE"),
        confine: |options, name| options.options([("search_path", name)]),
    };
    let mut test_db = open_on(&server).await?;
    let unguarded = test_db.db.clone();
    let options = unguarded.pool().connect_options().as_ref().clone();
    test_db.db = test_pool(options.options([MULTI_SHARD_GUARD])).await;
    test_db.also.push(unguarded.clone());
    Some((test_db, unguarded))
}

/// A fresh database on the MariaDB/MySQL server of `TENANTRY_MYSQL_URL`.
pub async fn mysql() -> Option<TestDb<MySql>> {
    open_on(&Server::<MySql> {
        name: "MariaDB/MySQL",
        env: "TENANTRY_MYSQL_URL",
        default_url: DEFAULT_MYSQL_URL,
        list: "SELECT schema_name FROM information_schema.schemata WHERE schema_name LIKE 'tenantry_test_%'",
        create: |name| format!("CREATE DATABASE {name}"),
        drop: |name| format!("DROP DATABASE IF EXISTS {name}"),
        confine: |options, name| options.database(name),
    })
    .await
}

impl Backend for Sqlite {
    const AUTO_ID: &'static str = "INTEGER PRIMARY KEY";

    async fn open() -> Option<TestDb<Self>> {
        Some(TestDb { db: sqlite().await, teardown: None, also: Vec::new() })
    }

    async fn execute(db: &Db<Self>, sql: &str) -> Result<(), sqlx::Error> {
        sqlx::raw_sql(AssertSqlSafe(sql)).execute(db.pool()).await.map(drop)
    }
}

impl Backend for Postgres {
    const AUTO_ID: &'static str = "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY";

    fn open() -> impl Future<Output = Option<TestDb<Self>>> + Send {
        postgres()
    }

    async fn execute(db: &Db<Self>, sql: &str) -> Result<(), sqlx::Error> {
        sqlx::raw_sql(AssertSqlSafe(sql)).execute(db.pool()).await.map(drop)
    }
}

impl Backend for MySql {
    const AUTO_ID: &'static str = "BIGINT AUTO_INCREMENT PRIMARY KEY";

    fn open() -> impl Future<Output = Option<TestDb<Self>>> + Send {
        mysql()
    }

    async fn execute(db: &Db<Self>, sql: &str) -> Result<(), sqlx::Error> {
        sqlx::raw_sql(AssertSqlSafe(sql)).execute(db.pool()).await.map(drop)
    }
}

/// The connect options of `DB`.
type Options<DB> = <<DB as Database>::Connection as Connection>::Options;

/// What differs between the PostgreSQL and the MariaDB/MySQL set-up.
struct Server<DB: Database> {
    /// For messages.
    name: &'static str,
    /// The variable that overrides `default_url`.
    env: &'static str,
    default_url: &'static str,
    /// Lists the server's schemas or databases named `tenantry_test_%`.
    list: &'static str,
    create: fn(&str) -> String,
    drop: fn(&str) -> String,
    /// The options of a connection to the named schema or database.
    confine: fn(Options<DB>, &str) -> Options<DB>,
}

/// Connects to the server (or reports it unreachable), sweeps what killed runs left
/// behind, and creates the test's own schema or database.
async fn open_on<DB>(server: &Server<DB>) -> Option<TestDb<DB>>
where
    DB: Backend,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    (String,): for<'r> sqlx::FromRow<'r, DB::Row>,
    DB::Arguments: sqlx::IntoArguments<DB>,
{
    let url = std::env::var(server.env).ok().filter(|u| !u.is_empty()).unwrap_or_else(|| server.default_url.into());
    let options = Options::<DB>::from_str(&url).unwrap_or_else(|e| panic!("{}: bad URL `{url}`: {e}", server.name));
    let admin = match admin_pool::<DB>(&options).await {
        Ok(admin) => admin,
        Err(why) => return unreachable(server, &url, &why),
    };
    match sqlx::query_scalar::<DB, String>(server.list).fetch_all(admin.pool()).await {
        Ok(names) => {
            for name in names.into_iter().filter(|n| is_stale(n)) {
                // Another process may sweep the same one: a failure here is harmless.
                let _ = DB::execute(&admin, &(server.drop)(&name)).await;
            }
        }
        Err(e) => panic!("{}: listing old test schemas failed: {e}", server.name),
    }
    let name = unique_name();
    let create = (server.create)(&name);
    DB::execute(&admin, &create).await.unwrap_or_else(|e| panic!("{}: `{create}` failed: {e}", server.name));
    let db = test_pool((server.confine)(options, &name)).await;
    Some(TestDb { db, teardown: Some((admin, (server.drop)(&name))), also: Vec::new() })
}

/// Whether an unreachable server fails the test rather than skipping it.
pub fn database_required() -> bool {
    std::env::var(REQUIRE_DB_ENV).is_ok_and(|v| v == "1")
}

fn unreachable<DB: Database, T>(server: &Server<DB>, url: &str, why: &str) -> Option<T> {
    let name = server.name;
    if database_required() {
        panic!("{name} at {url} is unreachable and {REQUIRE_DB_ENV}=1 requires it: {why}");
    }
    // Straight to the process's stderr: libtest would swallow `eprintln!` of a test
    // that passes, and a skip must be seen.
    let _ = writeln!(
        std::io::stderr(),
        "SKIPPED: {name} at {url} is unreachable ({why}); start it or point {} at one, \
         and set {REQUIRE_DB_ENV}=1 to fail instead of skipping",
        server.env
    );
    None
}

fn now_secs() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// A schema or database name no other test, test binary or run uses at the same time:
/// `tenantry_test_<unix seconds>_<pid>_<counter>`.
fn unique_name() -> String {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    format!("tenantry_test_{}_{}_{}", now_secs(), std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed))
}

/// A test schema or database older than any test can run: left by a killed test process.
fn is_stale(name: &str) -> bool {
    let created = name.strip_prefix("tenantry_test_").and_then(|rest| rest.split('_').next()?.parse::<u64>().ok());
    created.is_some_and(|secs| secs + STALE_AFTER.as_secs() < now_secs())
}

/// One connection outside the test's schema or database, which creates and drops it.
///
/// A single direct connection comes first: a pool would retry until its timeout and
/// then report only that it timed out, not why the server is unreachable.
async fn admin_pool<DB: Database>(options: &Options<DB>) -> Result<Db<DB>, String> {
    match tokio::time::timeout(CONNECT_TIMEOUT, DB::Connection::connect_with(options)).await {
        Err(_) => return Err(format!("no connection within {CONNECT_TIMEOUT:?}")),
        Ok(Err(e)) => return Err(e.to_string()),
        Ok(Ok(probe)) => {
            let _ = probe.close().await;
        }
    }
    let pool = PoolOptions::<DB>::new()
        .max_connections(1)
        .acquire_timeout(CONNECT_TIMEOUT)
        .connect_with(options.clone())
        .await
        .map_err(|e| e.to_string())?;
    Ok(Db::new(pool))
}

async fn test_pool<DB: Database>(options: Options<DB>) -> Db<DB> {
    let pool = PoolOptions::<DB>::new()
        .max_connections(MAX_CONNECTIONS)
        .acquire_timeout(Duration::from_secs(30))
        .connect_with(options)
        .await
        .unwrap_or_else(|e| panic!("connecting to the test's own schema or database: {e}"));
    Db::new(pool)
}

pub mod oracle;

/// One `#[tokio::test]` per scenario and backend, in modules `sqlite`, `postgres` and
/// `mysql` of the calling file; each scenario is an `async fn(World<DB>) -> Result<()>`
/// and gets a fresh `World` from the calling file's `World::new(db).await?`, on a fresh
/// database (see [`run`]).
#[macro_export]
macro_rules! on_every_backend_with_world {
    ($($scenario:ident),* $(,)?) => {
        $crate::on_every_backend_with_world!(@module sqlite, sqlx::Sqlite; $($scenario),*);
        $crate::on_every_backend_with_world!(@module postgres, sqlx::Postgres; $($scenario),*);
        $crate::on_every_backend_with_world!(@module mysql, sqlx::MySql; $($scenario),*);
    };
    (@module $module:ident, $db:ty; $($scenario:ident),*) => {
        mod $module {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $scenario() {
                    $crate::run::<$db, _, _>(|db| async move {
                        super::$scenario(super::World::new(db).await?).await
                    })
                    .await;
                }
            )*
        }
    };
}

pub mod notes {
    use tenantry::{Db, Result, tenant_repository};

    #[tenant_repository(backends(sqlite))]
    pub trait Notes {
        #[sql("INSERT INTO notes (tenant_id, body) VALUES (:tenant, :body)")]
        async fn write(&self, body: &str) -> Result<u64>;

        #[sql("SELECT body FROM notes WHERE tenant_id = :tenant ORDER BY body")]
        async fn read(&self) -> Result<Vec<String>>;
    }

    /// An in-memory database with the `notes` table.
    pub async fn db() -> Db<sqlx::Sqlite> {
        let db = crate::sqlite().await;
        sqlx::query("CREATE TABLE notes (tenant_id TEXT NOT NULL, body TEXT NOT NULL)")
            .execute(db.pool())
            .await
            .expect("the notes table is created");
        db
    }
}
