//! A point read on the Citus coordinator against plain PostgreSQL, side by side in one
//! run: the same generated repository methods, the same tables (on Citus distributed on
//! `tenant_id` and co-located), alternating batches so that load hits both alike. Also a
//! read with a correlated subquery, which the generated SQL pins to the tenant's shard.
//!
//! ```text
//! ../shared/citus/cluster.sh start
//! cargo bench -p tenantry --features postgres --bench citus
//! ```
//!
//! PostgreSQL: `TENANTRY_PG_URL` (default `postgres://postgres@127.0.0.1:5432/test`); Citus:
//! `TENANTRY_CITUS_URL` (default `postgres://postgres@127.0.0.1:9700/postgres`); skipped with
//! a printed reason when either is unreachable. It creates the tables
//! `tenantry_bench_invoices` and `tenantry_bench_notes` on both, and drops them at the end.

use std::hint::black_box;
use std::str::FromStr;

use sqlx::Executor;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use tenantry::{Db, Scope, TenantId, tenant_repository};

mod alternate;
use alternate::alternate;

#[derive(Debug, sqlx::FromRow)]
pub struct Invoice {
    pub id: i64,
    pub customer: String,
    pub amount_cents: i64,
}

#[tenant_repository(backends(postgres), distributed)]
pub trait Invoices {
    #[sql("SELECT id, customer, amount_cents FROM tenantry_bench_invoices WHERE tenant_id = :tenant AND id = :id")]
    async fn find(&self, id: i64) -> tenantry::Result<Option<Invoice>>;

    #[sql(
        "SELECT i.id, (SELECT COUNT(*) FROM tenantry_bench_notes n WHERE n.invoice_id = i.id AND n.tenant_id = i.tenant_id)
           FROM tenantry_bench_invoices i WHERE i.tenant_id = :tenant AND i.id = :id"
    )]
    async fn with_note_count(&self, id: i64) -> tenantry::Result<Option<(i64, i64)>>;
}

fn setup_statements(citus: bool) -> Vec<String> {
    let mut all = vec![
        "DROP TABLE IF EXISTS tenantry_bench_notes, tenantry_bench_invoices".to_string(),
        "CREATE TABLE tenantry_bench_invoices (id BIGINT NOT NULL, tenant_id TEXT NOT NULL, customer TEXT NOT NULL, amount_cents BIGINT NOT NULL, PRIMARY KEY (tenant_id, id))".into(),
        "CREATE TABLE tenantry_bench_notes (id BIGINT NOT NULL, tenant_id TEXT NOT NULL, invoice_id BIGINT NOT NULL, body TEXT NOT NULL, PRIMARY KEY (tenant_id, id))".into(),
    ];
    if citus {
        all.push("SELECT create_distributed_table('tenantry_bench_invoices', 'tenant_id')".into());
        all.push("SELECT create_distributed_table('tenantry_bench_notes', 'tenant_id', colocate_with => 'tenantry_bench_invoices')".into());
    }
    all.push("INSERT INTO tenantry_bench_invoices SELECT g, 'tenant' || (g % 100), 'customer ' || g, g FROM generate_series(1, 10000) AS g".into());
    all.push("INSERT INTO tenantry_bench_notes SELECT g, 'tenant' || (g % 100), g, 'note' FROM generate_series(1, 10000) AS g".into());
    all.push("ANALYZE tenantry_bench_invoices".into());
    all.push("ANALYZE tenantry_bench_notes".into());
    all
}

async fn connect(env: &str, default: &str) -> Result<PgPool, String> {
    let url = std::env::var(env).unwrap_or_else(|_| default.to_string());
    let options = PgConnectOptions::from_str(&url).map_err(|e| format!("{env}: {e}"))?;
    PgPoolOptions::new()
        .max_connections(1)
        .connect_with(options)
        .await
        .map_err(|e| format!("{url} is unreachable: {e}"))
}

fn main() {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("tokio runtime");
    rt.block_on(run());
}

async fn run() {
    let rounds: usize = std::env::var("TENANTRY_BENCH_ROUNDS").ok().and_then(|v| v.parse().ok()).unwrap_or(30);
    let batch: usize = std::env::var("TENANTRY_BENCH_BATCH").ok().and_then(|v| v.parse().ok()).unwrap_or(200);
    let plain = match connect("TENANTRY_PG_URL", "postgres://postgres@127.0.0.1:5432/test").await {
        Ok(pool) => pool,
        Err(e) => return println!("citus bench skipped: PostgreSQL at {e}"),
    };
    let citus = match connect("TENANTRY_CITUS_URL", "postgres://postgres@127.0.0.1:9700/postgres").await {
        Ok(pool) => pool,
        Err(e) => return println!("citus bench skipped: Citus at {e}"),
    };
    for (pool, is_citus) in [(&plain, false), (&citus, true)] {
        for statement in setup_statements(is_citus) {
            pool.execute(sqlx::AssertSqlSafe(statement)).await.expect("bench setup");
        }
    }
    let (plain_db, citus_db) = (Db::new(plain.clone()), Db::new(citus.clone()));
    let tenant = TenantId::parse("tenant7").expect("tenant id");
    let (plain_scope, citus_scope): (Scope, Scope) =
        (plain_db.scope(tenant.clone()).unwrap(), citus_db.scope(tenant).unwrap());
    let (plain_repo, citus_repo) = (InvoicesRepo::new(&plain_db), InvoicesRepo::new(&citus_db));
    let (plain_repo, citus_repo, plain_scope, citus_scope) = (&plain_repo, &citus_repo, &plain_scope, &citus_scope);
    // Ids of tenant7's rows: 7, 107, 207, ...
    let id = |i: usize| 7 + 100 * (i as i64 % 100);

    println!("one connection per pool, {rounds} alternating rounds of {batch} calls, median per call:");
    let reads = alternate(
        rounds,
        batch,
        &mut [
            (
                "point read, PostgreSQL",
                Box::new(move |i| {
                    Box::pin(async move {
                        black_box(plain_repo.find(plain_scope, id(i)).await.unwrap().expect("a row"));
                    })
                }),
            ),
            (
                "point read, Citus",
                Box::new(move |i| {
                    Box::pin(async move {
                        black_box(citus_repo.find(citus_scope, id(i)).await.unwrap().expect("a row"));
                    })
                }),
            ),
        ],
    )
    .await;
    let subqueries = alternate(
        rounds,
        batch,
        &mut [
            (
                "subquery, PostgreSQL",
                Box::new(move |i| {
                    Box::pin(async move {
                        black_box(plain_repo.with_note_count(plain_scope, id(i)).await.unwrap());
                    })
                }),
            ),
            (
                "subquery, Citus",
                Box::new(move |i| {
                    Box::pin(async move {
                        black_box(citus_repo.with_note_count(citus_scope, id(i)).await.unwrap());
                    })
                }),
            ),
        ],
    )
    .await;
    for pair in [reads, subqueries] {
        for (name, [p10, median, p90]) in &pair {
            let us = |d: &std::time::Duration| d.as_secs_f64() * 1e6;
            println!("  {name:<24} {:>8.1} µs   (p10 {:.1}, p90 {:.1})", us(median), us(p10), us(p90));
        }
        println!("  Citus / PostgreSQL       {:>8.3}", pair[1].1[1].as_secs_f64() / pair[0].1[1].as_secs_f64());
    }
    for pool in [&plain, &citus] {
        pool.execute("DROP TABLE tenantry_bench_notes, tenantry_bench_invoices").await.expect("bench clean-up");
    }
}
