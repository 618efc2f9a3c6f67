// The tenant column bound to a caller's argument instead of `:tenant`.
use tenantry::{Result, tenant_repository};

#[derive(Debug, sqlx::FromRow)]
pub struct Invoice {
    pub id: i64,
    pub amount_cents: i64,
}

#[tenant_repository(backends(postgres))]
pub trait Invoices {
    #[sql("SELECT id, amount_cents FROM invoices WHERE tenant_id = :org")]
    async fn list(&self, org: &str) -> Result<Vec<Invoice>>;
}

fn main() {}
