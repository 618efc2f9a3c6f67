//! The quickstart: two tenants in one embedded SQLite database, each seeing only its
//! own invoices and their lines. Run it with `cargo run --example quickstart`.
//!
//! The tables are created by `migrations/` (run below with `sqlx::migrate!`), and
//! `tenantry.toml` says what each is to a tenant: `tenants` is the tenant table,
//! `countries` is global, `invoices` has the tenant column `tenant_id`, and
//! `invoice_lines` belongs to a tenant through its invoice (a child table).

use futures_util::TryStreamExt;
use std::error::Error;
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

#[derive(Debug, sqlx::FromRow)]
pub struct Line {
    pub description: String,
    pub amount_cents: i64,
}

/// The tenant's own row of the tenant table, with its country from the global table.
#[derive(Debug, sqlx::FromRow)]
pub struct Tenant {
    pub name: String,
    pub country: String,
}

// `#[allow(deprecated)]`: the macro's schema lint warns (through the `deprecated` lint)
// that `invoice_lines` has no tenant column of its own. Here that is the point.
#[allow(deprecated)]
#[tenant_repository(backends(sqlite))]
pub trait Tenants {
    #[sql("INSERT INTO tenants (id, name, country) VALUES (:tenant, :name, :country)")]
    async fn register(&self, name: &str, country: &str) -> Result<()>;

    #[sql(
        "SELECT t.name, c.name AS country FROM tenants t JOIN countries c ON c.code = t.country WHERE t.id = :tenant"
    )]
    async fn me(&self) -> Result<Tenant>;
}

#[allow(deprecated)]
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

    /// A child table is confined through its parent: the join to a confined invoice.
    #[sql(
        "SELECT l.description, l.amount_cents FROM invoice_lines l JOIN invoices i ON i.id = l.invoice_id
          WHERE i.tenant_id = :tenant AND i.id = :invoice ORDER BY l.id"
    )]
    async fn lines(&self, invoice: i64) -> Result<Vec<Line>>;

    /// A child row takes its parent key from the tenant's own invoice: another tenant's
    /// invoice id finds no row, and the NOT NULL `invoice_id` refuses the insert.
    #[sql(
        "INSERT INTO invoice_lines (invoice_id, description, amount_cents)
           VALUES ((SELECT id FROM invoices WHERE tenant_id = :tenant AND id = :invoice), :description, :amount)"
    )]
    async fn add_line(&self, invoice: i64, description: &str, amount: i64) -> Result<()>;

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
async fn main() -> Result<(), Box<dyn Error>> {
    // One connection: every connection to `sqlite::memory:` is a database of its own.
    let pool = sqlx::sqlite::SqlitePoolOptions::new().max_connections(1).connect("sqlite::memory:").await?;
    // Defense in depth at run time: a policy before any SQL, an audit trail after.
    let suspended = TenantSet::new(["initech"]);
    let audit = Arc::new(MemorySink::default());
    let db: Db<sqlx::Sqlite> = Db::builder(pool).policy(DenySuspended(suspended)).audit(audit.clone()).build();
    // The tables the macro checked every statement against, at compile time.
    sqlx::migrate!("./migrations").run(db.pool()).await?;

    let (tenants, invoices) = (TenantsRepo::new(&db), InvoicesRepo::new(&db));
    let acme = db.scope(TenantId::parse("acme")?)?;
    let globex = db.scope(TenantId::parse("globex")?)?;
    tenants.register(&acme, "Acme Corporation", "US").await?;
    tenants.register(&globex, "Globex", "FR").await?;

    let roadrunner = invoices.create(&acme, "Road Runner", 1_500).await?;
    invoices.create(&acme, "Wile E. Coyote", 990).await?;
    let hank = invoices.create(&globex, "Hank Scorpio", 25_000).await?;

    invoices.add_line(&acme, roadrunner, "Rocket skates", 1_200).await?;
    invoices.add_line(&acme, roadrunner, "Bird seed", 300).await?;

    for scope in [&acme, &globex] {
        let me = tenants.me(scope).await?;
        println!("{} ({}, {}) sees:", scope.tenant(), me.name, me.country);
        for invoice in invoices.list(scope).await? {
            println!("  #{} {} {} cents", invoice.id, invoice.customer, invoice.amount_cents);
            for line in invoices.lines(scope, invoice.id).await? {
                println!("      {} {} cents", line.description, line.amount_cents);
            }
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

    // The same for the child rows: globex reads none of acme's lines and cannot add one.
    assert!(invoices.lines(&globex, roadrunner).await?.is_empty());
    let refused = invoices.add_line(&globex, roadrunner, "Doomsday device", 1).await.expect_err("not globex's invoice");
    println!("globex cannot read acme's invoice lines, nor add one:\n  {refused}");
    assert_eq!(invoices.lines(&acme, roadrunner).await?.len(), 2);

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
