// A multi-row INSERT whose second row sets another tenant.
use tenantry::{Result, tenant_repository};

#[derive(Debug, sqlx::FromRow)]
pub struct Invoice {
    pub id: i64,
    pub amount_cents: i64,
}

#[tenant_repository(backends(postgres))]
pub trait Invoices {
    #[sql(
        "INSERT INTO invoices (tenant_id, customer, amount_cents) VALUES (:tenant, :customer, :amount), ('globex', :customer, :amount)"
    )]
    async fn create_twice(&self, customer: &str, amount: i64) -> Result<u64>;
}

fn main() {}
