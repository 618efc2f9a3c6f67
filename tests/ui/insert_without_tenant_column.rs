// An INSERT that does not set the tenant column.
use tenantry::{Result, tenant_repository};

#[derive(Debug, sqlx::FromRow)]
pub struct Invoice {
    pub id: i64,
    pub amount_cents: i64,
}

#[tenant_repository(backends(postgres))]
pub trait Invoices {
    #[sql("INSERT INTO invoices (customer, amount_cents) VALUES (:customer, :amount)")]
    async fn create(&self, customer: &str, amount: i64) -> Result<u64>;
}

fn main() {}
