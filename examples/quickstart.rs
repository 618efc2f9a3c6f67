//! The quickstart: two tenants in one embedded SQLite database, each seeing only its
//! own invoices. Run it with `cargo run --example quickstart`.

use futures_util::TryStreamExt;
use std::sync::Arc;

use tenantry::audit::MemorySink;
use tenantry::policy::{DenySuspended, TenantSet};
use tenantry::{Db, Result, RowStream, TenantId, tenant_repository};

#[derive(Debug, sqlx::FromRow)]
pub struct Invoice {
    pub id: i64,
    pub customer: String,
    pub amount_cents: i64,
}

#[tenant_repository(backends(sqlite))]
pub trait Invoices {
    #[sql("SELECT id, customer, amount_cents FROM invoices WHERE tenant_id = :tenant AND id = :id")]
    async fn find(&self, id: i64) -> Result<Option<Invoice>>;

    #[sql("SELECT id, customer, amount_cents FROM invoices WHERE tenant_id = :tenant ORDER BY id")]
    async fn list(&self) -> Result<Vec<Invoice>>;

    #[sql(
        "INSERT INTO invoices (tenant_id, customer, amount_cents)
           VALUES (:tenant, :customer, :amount) RETURNING id"
    )]
    async fn create(&self, customer: &str, amount: i64) -> Result<i64>;

    /// Rows one at a time, for reads too large to collect.
    #[sql("SELECT customer FROM invoices WHERE tenant_id = :tenant ORDER BY id")]
    fn customers(&self) -> RowStream<'_, String>;

    #[sql("UPDATE invoices SET amount_cents = :amount WHERE tenant_id = :tenant AND id = :id")]
    async fn set_amount(&self, id: i64, amount: i64) -> Result<u64>;

    // Forget the tenant and the build stops. This method:
    //
    //     #[sql("SELECT id, customer, amount_cents FROM invoices WHERE id = :id")]
    //     async fn find_any(&self, id: i64) -> Result<Option<Invoice>>;
    //
    // does not compile:
    //
    //     error: `Invoices::find_any`: table `invoices` in FROM is not confined to the tenant
    //            (the statement never uses `:tenant`)
    //
    //                SELECT id, customer, amount_cents FROM invoices WHERE id = :id
    //                                                       ^^^^^^^^
    //
    //            fix: add `AND tenant_id = :tenant` to the WHERE clause
}

#[tokio::main]
async fn main() -> Result<()> {
    // One connection: every connection to `sqlite::memory:` is a database of its own.
    let pool = sqlx::sqlite::SqlitePoolOptions::new().max_connections(1).connect("sqlite::memory:").await?;
    // Defense in depth at run time: a policy before any SQL, an audit trail after.
    let suspended = TenantSet::new(["initech"]);
    let audit = Arc::new(MemorySink::default());
    let db: Db<sqlx::Sqlite> = Db::builder(pool).policy(DenySuspended(suspended)).audit(audit.clone()).build();
    sqlx::query(
        "CREATE TABLE invoices (
            id INTEGER PRIMARY KEY,
            tenant_id TEXT NOT NULL,
            customer TEXT NOT NULL,
            amount_cents INTEGER NOT NULL
        )",
    )
    .execute(db.pool())
    .await?;

    let invoices = InvoicesRepo::new(&db);
    let acme = db.scope(TenantId::parse("acme")?)?;
    let globex = db.scope(TenantId::parse("globex")?)?;

    let roadrunner = invoices.create(&acme, "Road Runner", 1_500).await?;
    invoices.create(&acme, "Wile E. Coyote", 990).await?;
    let hank = invoices.create(&globex, "Hank Scorpio", 25_000).await?;

    for (name, scope) in [("acme", &acme), ("globex", &globex)] {
        println!("{name} sees:");
        for invoice in invoices.list(scope).await? {
            println!("  #{} {} {} cents", invoice.id, invoice.customer, invoice.amount_cents);
        }
    }

    let mut customers = invoices.customers(&acme);
    while let Some(customer) = customers.try_next().await? {
        assert_ne!(customer, "Hank Scorpio");
    }
    drop(customers);

    // Another tenant's id is simply not there: not an error, not a leak.
    assert!(invoices.find(&acme, hank).await?.is_none());
    assert_eq!(invoices.set_amount(&acme, hank, 0).await?, 0);
    assert_eq!(invoices.find(&globex, hank).await?.map(|i| i.amount_cents), Some(25_000));

    assert_eq!(invoices.set_amount(&acme, roadrunner, 1_600).await?, 1);
    println!("acme cannot read or change globex's invoice #{hank}; globex still has it untouched.");

    // A transaction is a guard too: both calls run on it, for acme only.
    let tx = db.begin(&acme).await?;
    invoices.create(&tx, "Marvin", 4_200).await?;
    invoices.set_amount(&tx, roadrunner, 1_700).await?;
    tx.commit().await?;

    // A suspended tenant gets no scope at all.
    match db.scope(TenantId::parse("initech")?) {
        Err(e) => println!("initech: {e}"),
        Ok(_) => unreachable!("initech is suspended"),
    }

    println!("audit trail:");
    for event in audit.events() {
        println!("  {:<8} {}", event.tenant.as_deref().unwrap_or("-"), event.kind);
    }
    Ok(())
}
