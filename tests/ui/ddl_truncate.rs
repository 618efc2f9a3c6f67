// TRUNCATE empties the table for every tenant.
use tenantry::{Result, tenant_repository};

#[derive(Debug, sqlx::FromRow)]
pub struct Invoice {
    pub id: i64,
    pub amount_cents: i64,
}

#[tenant_repository(backends(postgres))]
pub trait Invoices {
    #[sql("TRUNCATE invoices")]
    async fn clear(&self) -> Result<()>;
}

fn main() {}
