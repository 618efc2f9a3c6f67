// The caller may not pass the tenant.
use tenantry::{Result, tenant_repository};

#[derive(Debug, sqlx::FromRow)]
pub struct Invoice {
    pub id: i64,
    pub amount_cents: i64,
}

#[tenant_repository(backends(postgres))]
pub trait Invoices {
    #[sql("SELECT id, amount_cents FROM invoices WHERE tenant_id = :tenant")]
    async fn list(&self, tenant: &str) -> Result<Vec<Invoice>>;
}

fn main() {}
