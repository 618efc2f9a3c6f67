// The guard is borrowed, not moved into the call.
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

pub async fn handler(db: &Db<sqlx::Postgres>) -> Result<Option<Invoice>> {
    let invoices = InvoicesRepo::new(db);
    let scope = db.scope(TenantId::parse("acme")?)?;
    invoices.find(scope, 42).await
}

fn main() {}
