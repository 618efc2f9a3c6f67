// An UPDATE without RETURNING returns no rows.
use tenantry::{Result, tenant_repository};

#[derive(Debug, sqlx::FromRow)]
pub struct Invoice {
    pub id: i64,
    pub amount_cents: i64,
}

#[tenant_repository(backends(postgres))]
pub trait Invoices {
    #[sql("UPDATE invoices SET amount_cents = :amount WHERE tenant_id = :tenant AND id = :id")]
    async fn set_amount(&self, id: i64, amount: i64) -> Result<Vec<Invoice>>;
}

fn main() {}
