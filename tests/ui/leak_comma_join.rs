// An old-style comma join whose second table is unconfined.
use tenantry::{Result, tenant_repository};

#[derive(Debug, sqlx::FromRow)]
pub struct Invoice {
    pub id: i64,
    pub amount_cents: i64,
}

#[tenant_repository(backends(postgres))]
pub trait Invoices {
    #[sql(
        "SELECT i.id, i.amount_cents FROM invoices i, payments p WHERE p.invoice_id = i.id AND i.tenant_id = :tenant"
    )]
    async fn list(&self) -> Result<Vec<Invoice>>;
}

fn main() {}
