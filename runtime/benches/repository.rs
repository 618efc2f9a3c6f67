//! Generated repository methods against the same statements written by hand with sqlx.
//!
//! Each pair (point read, list of 100 rows, insert, update) is one criterion group, so
//! the generated/hand-written ratio comes from one run on one pool. Both sides run the
//! identical SQL string (checked at start-up against the analyser's rewrite, which is
//! what the macro emits) with the identical binds; the hand-written side binds the tenant
//! as `&str`.
//!
//! ```text
//! cargo bench -p tenantry --features sqlite,postgres --bench repository -- --warm-up-time 1 --measurement-time 3
//! ```
//!
//! PostgreSQL: `postgres://postgres@127.0.0.1:5432/test`, or `TENANTRY_PG_URL`; skipped
//! with a printed reason when unreachable.
//!
//! `TENANTRY_BENCH_LOOP=<backend>/<pair>/<side>:<n>` (e.g. `sqlite/point_read/generated:20000`)
//! skips criterion and runs one case `n` times after a warm-up, for instruction counts
//! under `valgrind --tool=callgrind` (see BENCHMARKS.md).

use std::future::Future;
use std::hint::black_box;
use std::pin::Pin;
use std::str::FromStr;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::SqlitePoolOptions;
use sqlx::{Database, Pool, Postgres, Sqlite};
use tenantry::{Db, Scope, TenantId, tenant_repository};
use tenantry_analyzer::{Backend, Mode, Schema, analyze, placeholders};
use tokio::runtime::Runtime;

#[derive(Debug, sqlx::FromRow)]
pub struct Invoice {
    pub id: i64,
    pub customer: String,
    pub amount_cents: i64,
}

const TABLE: &str = "tenantry_bench_invoices";

#[tenant_repository(backends(sqlite, postgres))]
pub trait Invoices {
    #[sql("SELECT id, customer, amount_cents FROM tenantry_bench_invoices WHERE tenant_id = :tenant AND id = :id")]
    async fn find(&self, id: i64) -> tenantry::Result<Option<Invoice>>;

    #[sql(
        "SELECT id, customer, amount_cents FROM tenantry_bench_invoices WHERE tenant_id = :tenant ORDER BY id LIMIT 100"
    )]
    async fn list(&self) -> tenantry::Result<Vec<Invoice>>;

    #[sql(
        "INSERT INTO tenantry_bench_invoices (tenant_id, customer, amount_cents) VALUES (:tenant, :customer, :amount) RETURNING id"
    )]
    async fn create(&self, customer: &str, amount: i64) -> tenantry::Result<i64>;

    #[sql("UPDATE tenantry_bench_invoices SET amount_cents = :amount WHERE tenant_id = :tenant AND id = :id")]
    async fn set_amount(&self, id: i64, amount: i64) -> tenantry::Result<u64>;
}

/// The `#[sql]` strings above, as written (the macro's input).
const FIND: &str =
    "SELECT id, customer, amount_cents FROM tenantry_bench_invoices WHERE tenant_id = :tenant AND id = :id";
const LIST: &str =
    "SELECT id, customer, amount_cents FROM tenantry_bench_invoices WHERE tenant_id = :tenant ORDER BY id LIMIT 100";
const CREATE: &str = "INSERT INTO tenantry_bench_invoices (tenant_id, customer, amount_cents) VALUES (:tenant, :customer, :amount) RETURNING id";
const SET_AMOUNT: &str =
    "UPDATE tenantry_bench_invoices SET amount_cents = :amount WHERE tenant_id = :tenant AND id = :id";

/// The hand-written statements of one backend: what a developer writes with sqlx.
struct HandSql {
    find: &'static str,
    list: &'static str,
    create: &'static str,
    set_amount: &'static str,
}

const SQLITE_SQL: HandSql = HandSql {
    find: "SELECT id, customer, amount_cents FROM tenantry_bench_invoices WHERE tenant_id = ? AND id = ?",
    list: "SELECT id, customer, amount_cents FROM tenantry_bench_invoices WHERE tenant_id = ? ORDER BY id LIMIT 100",
    create: "INSERT INTO tenantry_bench_invoices (tenant_id, customer, amount_cents) VALUES (?, ?, ?) RETURNING id",
    set_amount: "UPDATE tenantry_bench_invoices SET amount_cents = ? WHERE tenant_id = ? AND id = ?",
};

const POSTGRES_SQL: HandSql = HandSql {
    find: "SELECT id, customer, amount_cents FROM tenantry_bench_invoices WHERE tenant_id = $1 AND id = $2",
    list: "SELECT id, customer, amount_cents FROM tenantry_bench_invoices WHERE tenant_id = $1 ORDER BY id LIMIT 100",
    create: "INSERT INTO tenantry_bench_invoices (tenant_id, customer, amount_cents) VALUES ($1, $2, $3) RETURNING id",
    set_amount: "UPDATE tenantry_bench_invoices SET amount_cents = $1 WHERE tenant_id = $2 AND id = $3",
};

/// The hand-written side must run exactly what the macro emits, binds in the same order.
fn check_identical(hand: &HandSql, backend: Backend) {
    let pairs = [
        (FIND, hand.find, &["tenant", "id"][..]),
        (LIST, hand.list, &["tenant"][..]),
        (CREATE, hand.create, &["tenant", "customer", "amount"][..]),
        (SET_AMOUNT, hand.set_amount, &["amount", "tenant", "id"][..]),
    ];
    for (macro_input, hand_sql, binds) in pairs {
        let rewritten = placeholders::rewrite(macro_input, &placeholders::scan(macro_input, backend), backend);
        assert_eq!(rewritten.sql, hand_sql, "hand-written SQL differs from the generated one ({backend:?})");
        assert_eq!(rewritten.binds, binds, "bind order differs ({backend:?})");
    }
    // `create` returns `T`: generated code reads it with `fetch_optional` (what the
    // hand-written `fetch_one` does) only when the analyser proves at most one row;
    // otherwise it polls `fetch`'s stream for a second row and the pair compares two
    // different reads.
    let create = analyze(CREATE, backend, &Schema::default(), Mode::Scoped).expect("create is confined");
    assert!(create.at_most_one_row, "`create` is not read as one row ({backend:?})");
}

/// Everything one backend's benchmarks need: one pool (one connection, so both sides share
/// its statement cache), the `Db` on it, the repository, a scope, and a row to read.
struct Fixture<DB: Database> {
    pool: Pool<DB>,
    repo: InvoicesRepo<DB>,
    scope: Scope,
    tenant: &'static str,
    id: i64,
}

fn fixture<DB: Database>(pool: Pool<DB>, id: i64) -> Fixture<DB> {
    let db = Db::new(pool.clone());
    let repo = InvoicesRepo::new(&db);
    let scope = db.scope(TenantId::parse("acme").expect("tenant id")).expect("scope");
    Fixture { pool, repo, scope, tenant: "acme", id }
}

/// 100 rows for `acme` (the list reads exactly them) and 100 for `globex`; evaluates to
/// the id of one of acme's rows.
macro_rules! seed {
    ($pool:expr, $create:expr) => {{
        let mut picked = 0;
        for tenant in ["acme", "globex"] {
            for n in 0..100_i64 {
                let id: i64 = sqlx::query_scalar($create)
                    .bind(tenant)
                    .bind(format!("customer {n}"))
                    .bind(n * 100)
                    .fetch_one($pool)
                    .await
                    .expect("seed");
                if tenant == "acme" && n == 42 {
                    picked = id;
                }
            }
        }
        picked
    }};
}

async fn sqlite() -> Fixture<Sqlite> {
    // One connection that never idles out: the in-memory database lives as long as it.
    let pool = SqlitePoolOptions::new()
        .max_connections(1)
        .min_connections(1)
        .idle_timeout(None)
        .max_lifetime(None)
        .connect("sqlite::memory:")
        .await
        .expect("in-memory SQLite");
    sqlx::query(
        "CREATE TABLE tenantry_bench_invoices (
            id INTEGER PRIMARY KEY,
            tenant_id TEXT NOT NULL,
            customer TEXT NOT NULL,
            amount_cents INTEGER NOT NULL)",
    )
    .execute(&pool)
    .await
    .expect("create table");
    sqlx::query("CREATE INDEX tenantry_bench_invoices_tenant ON tenantry_bench_invoices (tenant_id, id)")
        .execute(&pool)
        .await
        .expect("create index");
    let id = seed!(&pool, SQLITE_SQL.create);
    fixture(pool, id)
}

async fn postgres(url: &str) -> Result<Fixture<Postgres>, String> {
    // Without a WAL flush per commit, a write costs the statement, not the disk's fsync
    // (milliseconds here, and as noisy as the disk): the benchmark compares client code.
    let options =
        PgConnectOptions::from_str(url).map_err(|e| format!("{url}: {e}"))?.options([("synchronous_commit", "off")]);
    let pool = PgPoolOptions::new()
        .max_connections(1)
        .min_connections(1)
        .idle_timeout(None)
        .max_lifetime(None)
        .acquire_timeout(Duration::from_secs(3))
        .connect_with(options)
        .await
        .map_err(|e| format!("cannot connect to {url}: {e}"))?;
    for statement in [
        "DROP TABLE IF EXISTS tenantry_bench_invoices",
        "CREATE TABLE tenantry_bench_invoices (
            id BIGSERIAL PRIMARY KEY,
            tenant_id TEXT NOT NULL,
            customer TEXT NOT NULL,
            amount_cents BIGINT NOT NULL)",
        "CREATE INDEX tenantry_bench_invoices_tenant ON tenantry_bench_invoices (tenant_id, id)",
    ] {
        sqlx::query(statement).execute(&pool).await.map_err(|e| format!("{TABLE} set-up: {e}"))?;
    }
    let id = seed!(&pool, POSTGRES_SQL.create);
    sqlx::query("ANALYZE tenantry_bench_invoices").execute(&pool).await.map_err(|e| e.to_string())?;
    Ok(fixture(pool, id))
}

/// One call of one side of one pair, as an expression to `.await` inside an async block.
///
/// Sides: `generated` (the repository method), `hand_written` (sqlx on the pool, as most
/// code is written) and `hand_conn` (sqlx on a connection acquired from the pool first,
/// which is how generated code runs its statement: the difference between `generated`
/// and `hand_conn` is tenantry's own code, the one between `hand_conn` and
/// `hand_written` is sqlx's pool executor).
macro_rules! one_call {
    (point_read, generated, $f:expr, $sql:expr) => {
        $f.repo.find(&$f.scope, black_box($f.id)).await.unwrap()
    };
    (list_100, generated, $f:expr, $sql:expr) => {
        $f.repo.list(&$f.scope).await.unwrap()
    };
    // Inserts grow the table by the same number of rows on every side; the list reads
    // `LIMIT 100` of the lowest ids, so its result does not change.
    (insert, generated, $f:expr, $sql:expr) => {
        $f.repo.create(&$f.scope, "Wile E. Coyote", black_box(990)).await.unwrap()
    };
    (update, generated, $f:expr, $sql:expr) => {
        $f.repo.set_amount(&$f.scope, black_box($f.id), black_box(1_600)).await.unwrap()
    };
    ($pair:ident, hand_written, $f:expr, $sql:expr) => {
        one_call!($pair, hand, $f, $sql, &$f.pool)
    };
    ($pair:ident, hand_conn, $f:expr, $sql:expr) => {{
        let mut conn = $f.pool.acquire().await.unwrap();
        one_call!($pair, hand, $f, $sql, &mut *conn)
    }};
    (point_read, hand, $f:expr, $sql:expr, $on:expr) => {
        sqlx::query_as::<_, Invoice>($sql.find)
            .bind($f.tenant)
            .bind(black_box($f.id))
            .fetch_optional($on)
            .await
            .unwrap()
    };
    (list_100, hand, $f:expr, $sql:expr, $on:expr) => {
        sqlx::query_as::<_, Invoice>($sql.list).bind($f.tenant).fetch_all($on).await.unwrap()
    };
    (insert, hand, $f:expr, $sql:expr, $on:expr) => {
        sqlx::query_scalar::<_, i64>($sql.create)
            .bind($f.tenant)
            .bind("Wile E. Coyote")
            .bind(black_box(990_i64))
            .fetch_one($on)
            .await
            .unwrap()
    };
    (update, hand, $f:expr, $sql:expr, $on:expr) => {
        sqlx::query($sql.set_amount)
            .bind(black_box(1_600_i64))
            .bind($f.tenant)
            .bind(black_box($f.id))
            .execute($on)
            .await
            .unwrap()
            .rows_affected()
    };
}

/// The four pairs of one backend, each pair one criterion group.
macro_rules! criterion_pairs {
    ($c:expr, $rt:expr, $f:expr, $sql:expr, $backend:literal) => {{
        let (c, rt, f, sql): (&mut Criterion, &Runtime, _, &HandSql) = ($c, $rt, $f, $sql);
        criterion_pairs!(@pair c, rt, f, sql, $backend, point_read);
        criterion_pairs!(@pair c, rt, f, sql, $backend, list_100);
        criterion_pairs!(@pair c, rt, f, sql, $backend, insert);
        criterion_pairs!(@pair c, rt, f, sql, $backend, update);
    }};
    (@pair $c:ident, $rt:ident, $f:ident, $sql:ident, $backend:literal, $pair:ident) => {{
        let mut g = $c.benchmark_group(concat!("repository/", $backend, "/", stringify!($pair)));
        g.bench_function(BenchmarkId::from_parameter("generated"), |b| {
            b.to_async($rt).iter(|| async { black_box(one_call!($pair, generated, $f, $sql)) })
        });
        g.bench_function(BenchmarkId::from_parameter("hand_written"), |b| {
            b.to_async($rt).iter(|| async { black_box(one_call!($pair, hand_written, $f, $sql)) })
        });
        g.bench_function(BenchmarkId::from_parameter("hand_conn"), |b| {
            b.to_async($rt).iter(|| async { black_box(one_call!($pair, hand_conn, $f, $sql)) })
        });
        g.finish();
    }};
}

fn pg_url() -> String {
    std::env::var("TENANTRY_PG_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_string())
}

/// A future that only forwards its polls, under a name callgrind can report: its
/// inclusive cost is the work done inside the measured calls, without the runtime's
/// parking (epoll, timer wheel), whose share depends on how often a reply was not there
/// yet, which is a matter of timing.
struct Measured<F>(Pin<Box<F>>);

impl<F: Future> Future for Measured<F> {
    type Output = F::Output;

    #[inline(never)]
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        self.0.as_mut().poll(cx)
    }
}

/// `TENANTRY_BENCH_LOOP=<backend>/<pair>/<side>:<n>`: one case, `n` + 1000 times, without
/// criterion, for `valgrind --tool=callgrind` (instruction counts compare the two sides
/// regardless of machine load). Run it with `n` = 0 and `n` = N: the difference divided
/// by N is the steady-state cost of one call.
fn run_loop(rt: &Runtime, spec: &str) {
    let (case, n) = spec.split_once(':').expect("TENANTRY_BENCH_LOOP=<backend>/<pair>/<side>:<n>");
    let n: u64 = n.parse().expect("iteration count");
    let parts: Vec<&str> = case.split('/').collect();
    let [backend, pair, side] = parts[..] else { panic!("TENANTRY_BENCH_LOOP=<backend>/<pair>/<side>:<n>") };
    macro_rules! looped {
        ($f:expr, $sql:expr) => {{
            let (f, sql) = ($f, $sql);
            macro_rules! times {
                ($pair:ident, $side:ident) => {
                    rt.block_on(Measured(Box::pin(async {
                        for _ in 0..n + 1000 {
                            black_box(one_call!($pair, $side, f, sql));
                        }
                    })))
                };
            }
            match (pair, side) {
                ("point_read", "generated") => times!(point_read, generated),
                ("point_read", "hand_written") => times!(point_read, hand_written),
                ("point_read", "hand_conn") => times!(point_read, hand_conn),
                ("list_100", "generated") => times!(list_100, generated),
                ("list_100", "hand_written") => times!(list_100, hand_written),
                ("list_100", "hand_conn") => times!(list_100, hand_conn),
                ("insert", "generated") => times!(insert, generated),
                ("insert", "hand_written") => times!(insert, hand_written),
                ("insert", "hand_conn") => times!(insert, hand_conn),
                ("update", "generated") => times!(update, generated),
                ("update", "hand_written") => times!(update, hand_written),
                ("update", "hand_conn") => times!(update, hand_conn),
                other => panic!("unknown case {other:?}"),
            }
        }};
    }
    match backend {
        "sqlite" => looped!(&rt.block_on(sqlite()), &SQLITE_SQL),
        "postgres" => looped!(&rt.block_on(postgres(&pg_url())).expect("PostgreSQL"), &POSTGRES_SQL),
        other => panic!("unknown backend {other}"),
    }
}

/// `TENANTRY_BENCH_ALTERNATE=<seconds>`: for each pair, alternates batches of the three
/// sides (rotating which goes first) for that long and prints the median time of each
/// and the median of the per-round time ratios. Load that drifts on a busy machine hits
/// every side of a round alike, which a criterion group (one side, then the next)
/// cannot promise.
fn run_alternate(rt: &Runtime, seconds: f64) {
    const BATCH: u32 = 50;
    fn median(v: &mut [f64]) -> f64 {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    }
    fn report(name: &str, [mut g, mut h, mut c]: [Vec<f64>; 3]) {
        let mut by_hand: Vec<f64> = g.iter().zip(&h).map(|(g, h)| g / h).collect();
        let mut by_conn: Vec<f64> = g.iter().zip(&c).map(|(g, c)| g / c).collect();
        let rounds = g.len();
        let iqr = |v: &[f64]| format!("{:.3}..{:.3}", v[rounds / 4], v[rounds * 3 / 4]);
        let (r, rc) = (median(&mut by_hand), median(&mut by_conn));
        println!(
            "{name:<20} generated {:>8.2} us  hand_written {:>8.2} us  hand_conn {:>8.2} us  \
             generated/hand_written {r:.4} (IQR {})  generated/hand_conn {rc:.4} (IQR {})  {rounds} rounds",
            median(&mut g) * 1e6,
            median(&mut h) * 1e6,
            median(&mut c) * 1e6,
            iqr(&by_hand),
            iqr(&by_conn),
        );
    }
    macro_rules! alternate {
        ($f:expr, $sql:expr, $backend:literal) => {{
            let (f, sql) = ($f, $sql);
            macro_rules! batch {
                ($pair:ident, $side:ident) => {{
                    let start = Instant::now();
                    for _ in 0..BATCH {
                        black_box(one_call!($pair, $side, f, sql));
                    }
                    start.elapsed().as_secs_f64() / f64::from(BATCH)
                }};
            }
            macro_rules! pair {
                ($pair:ident) => {{
                    let mut times: [Vec<f64>; 3] = Default::default();
                    rt.block_on(async {
                        for _ in 0..4 {
                            black_box(batch!($pair, generated));
                            black_box(batch!($pair, hand_written));
                            black_box(batch!($pair, hand_conn));
                        }
                        let until = Instant::now() + Duration::from_secs_f64(seconds);
                        let mut round = 0_usize;
                        while Instant::now() < until {
                            for k in 0..3 {
                                let side = (round + k) % 3;
                                let t = match side {
                                    0 => batch!($pair, generated),
                                    1 => batch!($pair, hand_written),
                                    _ => batch!($pair, hand_conn),
                                };
                                times[side].push(t);
                            }
                            round += 1;
                        }
                    });
                    report(concat!($backend, "/", stringify!($pair)), times);
                }};
            }
            pair!(point_read);
            pair!(list_100);
            pair!(insert);
            pair!(update);
        }};
    }
    alternate!(&rt.block_on(sqlite()), &SQLITE_SQL, "sqlite");
    match rt.block_on(postgres(&pg_url())) {
        Ok(pg) => alternate!(&pg, &POSTGRES_SQL, "postgres"),
        Err(reason) => eprintln!("skipping the PostgreSQL benchmarks: {reason}"),
    }
}

fn main() {
    check_identical(&SQLITE_SQL, Backend::Sqlite);
    check_identical(&POSTGRES_SQL, Backend::Postgres);
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("tokio runtime");
    if let Ok(spec) = std::env::var("TENANTRY_BENCH_LOOP") {
        run_loop(&rt, &spec);
        return;
    }
    if let Ok(seconds) = std::env::var("TENANTRY_BENCH_ALTERNATE") {
        run_alternate(&rt, seconds.parse().expect("TENANTRY_BENCH_ALTERNATE=<seconds per pair>"));
        return;
    }

    let mut c = Criterion::default().configure_from_args();

    let sqlite = rt.block_on(sqlite());
    criterion_pairs!(&mut c, &rt, &sqlite, &SQLITE_SQL, "sqlite");
    drop(sqlite);

    let url = pg_url();
    match rt.block_on(async { tokio::time::timeout(Duration::from_secs(5), postgres(&url)).await }) {
        Ok(Ok(pg)) => {
            criterion_pairs!(&mut c, &rt, &pg, &POSTGRES_SQL, "postgres");
            rt.block_on(async {
                let _ = sqlx::query("DROP TABLE IF EXISTS tenantry_bench_invoices").execute(&pg.pool).await;
            });
        }
        Ok(Err(reason)) => eprintln!("skipping the PostgreSQL benchmarks: {reason}"),
        Err(_) => eprintln!("skipping the PostgreSQL benchmarks: {url} did not answer within 5 s"),
    }

    c.final_summary();
}
