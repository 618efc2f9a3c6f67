// ON CONFLICT (id) DO UPDATE can overwrite another tenant's row.
use tenantry::{Result, tenant_repository};

#[derive(Debug, sqlx::FromRow)]
pub struct Invoice {
    pub id: i64,
    pub amount_cents: i64,
}

#[tenant_repository(backends(postgres))]
pub trait Invoices {
    #[sql(
        "INSERT INTO invoices (tenant_id, id, amount_cents) VALUES (:tenant, :id, :amount) ON CONFLICT (id) DO UPDATE SET amount_cents = excluded.amount_cents"
    )]
    async fn upsert(&self, id: i64, amount: i64) -> Result<u64>;
}

fn main() {}
