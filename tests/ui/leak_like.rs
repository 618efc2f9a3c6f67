// LIKE matches other tenants whose id shares the pattern.
use tenantry::{Result, tenant_repository};

#[derive(Debug, sqlx::FromRow)]
pub struct Invoice {
    pub id: i64,
    pub amount_cents: i64,
}

#[tenant_repository(backends(postgres))]
pub trait Invoices {
    #[sql("SELECT id, amount_cents FROM invoices WHERE tenant_id LIKE :tenant")]
    async fn list(&self) -> Result<Vec<Invoice>>;
}

fn main() {}
