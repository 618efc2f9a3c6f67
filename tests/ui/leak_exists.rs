// An EXISTS subquery correlated on id only, not on the tenant.
use tenantry::{Result, tenant_repository};

#[derive(Debug, sqlx::FromRow)]
pub struct Invoice {
    pub id: i64,
    pub amount_cents: i64,
}

#[tenant_repository(backends(postgres))]
pub trait Invoices {
    #[sql(
        "SELECT id, amount_cents FROM invoices i WHERE i.tenant_id = :tenant AND EXISTS (SELECT 1 FROM payments p WHERE p.invoice_id = i.id)"
    )]
    async fn paid(&self) -> Result<Vec<Invoice>>;
}

fn main() {}
