//! Helpers of tenantry's integration tests: a fresh, empty database for each test on
//! SQLite (in memory), PostgreSQL (a schema of its own) and MariaDB/MySQL (a database of
//! its own), so that test binaries running in parallel against one server never meet.
//!
//! A server that cannot be reached skips its tests with a line on stderr, unless
//! `TENANTRY_REQUIRE_DB=1` is set (as in CI): then the test fails.

use std::fmt::Display;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::str::FromStr;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use futures_util::FutureExt;
use sqlx::mysql::MySqlConnectOptions;
use sqlx::pool::PoolOptions;
use sqlx::postgres::PgConnectOptions;
use sqlx::{AssertSqlSafe, Database, MySql, Postgres, Sqlite};
use tenantry::Db;

/// The PostgreSQL server used unless `TENANTRY_PG_URL` says otherwise.
pub const DEFAULT_PG_URL: &str = "postgres://postgres@127.0.0.1:5432/test";
/// The MariaDB/MySQL server used unless `TENANTRY_MYSQL_URL` says otherwise.
pub const DEFAULT_MYSQL_URL: &str = "mysql://root@127.0.0.1:3306/test";
/// Set to `1` to turn an unreachable server into a test failure instead of a skip.
pub const REQUIRE_DB_ENV: &str = "TENANTRY_REQUIRE_DB";

/// Connections per test pool: enough for the concurrency tests, few enough that many
/// parallel tests stay under the servers' connection limits.
const MAX_CONNECTIONS: u32 = 4;

/// A database for one test; [`TestDb::remove`] drops what the test created on a server.
#[derive(Debug)]
pub struct TestDb<DB: Database> {
    /// The database the test runs on.
    pub db: Db<DB>,
    /// On a server: a connection outside the test's schema or database, and the statement
    /// that drops it.
    teardown: Option<(Db<DB>, String)>,
}

impl<DB: Backend> TestDb<DB> {
    /// Closes the test's pool and drops its schema or database.
    pub async fn remove(self) {
        self.db.pool().close().await;
        if let Some((admin, drop)) = self.teardown {
            if let Err(e) = DB::execute(&admin, &drop).await {
                eprintln!("{}: could not clean up with `{drop}`: {e}", <DB as Backend>::NAME);
            }
            admin.pool().close().await;
        }
    }
}

/// A backend the integration tests run on.
pub trait Backend: Database {
    /// The server's name in messages.
    const NAME: &'static str;
    /// The column definition of an auto-incrementing `BIGINT` primary key.
    const AUTO_ID: &'static str;

    /// A fresh, empty database for one test, or `None` (after saying why on stderr) when
    /// the server cannot be reached and [`REQUIRE_DB_ENV`] is not set.
    fn open() -> impl Future<Output = Option<TestDb<Self>>> + Send;

    /// Runs one statement outside any repository (DDL, clean-up).
    fn execute(db: &Db<Self>, sql: &str) -> impl Future<Output = Result<(), sqlx::Error>> + Send;
}

/// Runs `scenario` on a fresh database of `DB`, then removes that database, also when the
/// scenario fails or panics. Does nothing (the test is skipped) when the server is down.
pub async fn run<DB, F, Fut>(scenario: F)
where
    DB: Backend,
    F: FnOnce(Db<DB>) -> Fut,
    Fut: Future<Output = tenantry::Result<()>>,
{
    let Some(test_db) = DB::open().await else { return };
    let outcome = AssertUnwindSafe(scenario(test_db.db.clone())).catch_unwind().await;
    test_db.remove().await;
    match outcome {
        Ok(Ok(())) => {}
        Ok(Err(e)) => panic!("on {}: {e}", <DB as Backend>::NAME),
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
    let url = server_url("TENANTRY_PG_URL", DEFAULT_PG_URL);
    let options = PgConnectOptions::from_str(&url).unwrap_or_else(|e| panic!("bad PostgreSQL URL `{url}`: {e}"));
    let admin = match admin_pool(options.clone()).await {
        Ok(admin) => admin,
        Err(e) => return unreachable("PostgreSQL", "TENANTRY_PG_URL", &url, &e),
    };
    let schema = unique_name();
    create(&admin, &format!("CREATE SCHEMA {schema}")).await;
    let pool = test_pool(options.options([("search_path", schema.as_str())])).await;
    Some(TestDb { db: pool, teardown: Some((admin, format!("DROP SCHEMA {schema} CASCADE"))) })
}

/// A fresh database on the MariaDB/MySQL server of `TENANTRY_MYSQL_URL`.
pub async fn mysql() -> Option<TestDb<MySql>> {
    let url = server_url("TENANTRY_MYSQL_URL", DEFAULT_MYSQL_URL);
    let options = MySqlConnectOptions::from_str(&url).unwrap_or_else(|e| panic!("bad MySQL URL `{url}`: {e}"));
    let admin = match admin_pool(options.clone()).await {
        Ok(admin) => admin,
        Err(e) => return unreachable("MariaDB/MySQL", "TENANTRY_MYSQL_URL", &url, &e),
    };
    let database = unique_name();
    create(&admin, &format!("CREATE DATABASE {database}")).await;
    let pool = test_pool(options.database(&database)).await;
    Some(TestDb { db: pool, teardown: Some((admin, format!("DROP DATABASE {database}"))) })
}

impl Backend for Sqlite {
    const NAME: &'static str = "SQLite";
    const AUTO_ID: &'static str = "INTEGER PRIMARY KEY";

    async fn open() -> Option<TestDb<Self>> {
        Some(TestDb { db: sqlite().await, teardown: None })
    }

    async fn execute(db: &Db<Self>, sql: &str) -> Result<(), sqlx::Error> {
        sqlx::raw_sql(AssertSqlSafe(sql)).execute(db.pool()).await.map(drop)
    }
}

impl Backend for Postgres {
    const NAME: &'static str = "PostgreSQL";
    const AUTO_ID: &'static str = "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY";

    fn open() -> impl Future<Output = Option<TestDb<Self>>> + Send {
        postgres()
    }

    async fn execute(db: &Db<Self>, sql: &str) -> Result<(), sqlx::Error> {
        sqlx::raw_sql(AssertSqlSafe(sql)).execute(db.pool()).await.map(drop)
    }
}

impl Backend for MySql {
    const NAME: &'static str = "MariaDB/MySQL";
    const AUTO_ID: &'static str = "BIGINT AUTO_INCREMENT PRIMARY KEY";

    fn open() -> impl Future<Output = Option<TestDb<Self>>> + Send {
        mysql()
    }

    async fn execute(db: &Db<Self>, sql: &str) -> Result<(), sqlx::Error> {
        sqlx::raw_sql(AssertSqlSafe(sql)).execute(db.pool()).await.map(drop)
    }
}

fn server_url(env: &str, default: &str) -> String {
    std::env::var(env).ok().filter(|u| !u.is_empty()).unwrap_or_else(|| default.to_string())
}

/// Whether an unreachable server fails the test rather than skipping it.
pub fn database_required() -> bool {
    std::env::var(REQUIRE_DB_ENV).is_ok_and(|v| v == "1")
}

fn unreachable<T>(server: &str, env: &str, url: &str, why: &dyn Display) -> Option<T> {
    if database_required() {
        panic!("{server} at {url} is unreachable and {REQUIRE_DB_ENV}=1 requires it: {why}");
    }
    eprintln!(
        "SKIPPED: {server} at {url} is unreachable ({why}); start it or point {env} at one, \
         and set {REQUIRE_DB_ENV}=1 to fail instead of skipping"
    );
    None
}

/// A schema or database name no other test, test binary or run uses at the same time.
fn unique_name() -> String {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos());
    format!("tenantry_{}_{}_{:x}", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed), nanos % (1 << 40))
}

/// One connection outside the test's schema or database, which creates and drops it.
async fn admin_pool<DB: Database>(
    options: <DB::Connection as sqlx::Connection>::Options,
) -> Result<Db<DB>, sqlx::Error> {
    let pool = PoolOptions::<DB>::new()
        .max_connections(1)
        .acquire_timeout(Duration::from_secs(5))
        .connect_with(options)
        .await?;
    Ok(Db::new(pool))
}

async fn test_pool<DB: Database>(options: <DB::Connection as sqlx::Connection>::Options) -> Db<DB> {
    let pool = PoolOptions::<DB>::new()
        .max_connections(MAX_CONNECTIONS)
        .acquire_timeout(Duration::from_secs(30))
        .connect_with(options)
        .await
        .unwrap_or_else(|e| panic!("connecting to the test's own schema or database: {e}"));
    Db::new(pool)
}

async fn create<DB: Backend>(admin: &Db<DB>, sql: &str) {
    DB::execute(admin, sql).await.unwrap_or_else(|e| panic!("{}: `{sql}` failed: {e}", <DB as Backend>::NAME));
}
