// MySQL ON DUPLICATE KEY UPDATE on a key that may belong to another tenant.
use tenantry::{Result, tenant_repository};

#[derive(Debug, sqlx::FromRow)]
pub struct Invoice {
    pub id: i64,
    pub amount_cents: i64,
}

#[tenant_repository(backends(mysql))]
pub trait Invoices {
    #[sql(
        "INSERT INTO invoices (tenant_id, id, amount_cents) VALUES (:tenant, :id, :amount) ON DUPLICATE KEY UPDATE amount_cents = VALUES(amount_cents)"
    )]
    async fn upsert(&self, id: i64, amount: i64) -> Result<u64>;
}

fn main() {}
