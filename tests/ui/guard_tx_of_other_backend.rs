// A transaction is a guard for its own backend only: a SQLite transaction does not fit a
// PostgreSQL repository.
use tenantry::{Db, Result, TenantId, tenant_repository};

#[derive(Debug, sqlx::FromRow)]
pub struct Invoice {
    pub id: i64,
    pub amount_cents: i64,
}

#[tenant_repository(backends(postgres))]
pub trait Invoices {
    #[sql("SELECT id, amount_cents FROM invoices WHERE tenant_id = :tenant AND id = :id")]
    async fn find(&self, id: i64) -> Result<Option<Invoice>>;
}

pub async fn handler(pg: &Db<sqlx::Postgres>, lite: &Db<sqlx::Sqlite>) -> Result<Option<Invoice>> {
    let invoices = InvoicesRepo::new(pg);
    let scope = lite.scope(TenantId::parse("acme")?)?;
    let tx = lite.begin(&scope).await?;
    invoices.find(&tx, 42).await
}

fn main() {}
