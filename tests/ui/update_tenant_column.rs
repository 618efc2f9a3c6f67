// An UPDATE that moves a row to another tenant.
use tenantry::{Result, tenant_repository};

#[derive(Debug, sqlx::FromRow)]
pub struct Invoice {
    pub id: i64,
    pub amount_cents: i64,
}

#[tenant_repository(backends(postgres))]
pub trait Invoices {
    #[sql("UPDATE invoices SET tenant_id = :new_owner WHERE tenant_id = :tenant AND id = :id")]
    async fn transfer(&self, id: i64, new_owner: &str) -> Result<u64>;
}

fn main() {}
