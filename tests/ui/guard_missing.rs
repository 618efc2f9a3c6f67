// Calling a repository method without a guard: there is no "all tenants" call.
use tenantry::{Db, Result, tenant_repository};

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
    invoices.find(42).await
}

fn main() {}
