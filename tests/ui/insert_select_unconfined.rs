// INSERT ... SELECT copies rows from a table read for every tenant.
use tenantry::{Result, tenant_repository};

#[derive(Debug, sqlx::FromRow)]
pub struct Invoice {
    pub id: i64,
    pub amount_cents: i64,
}

#[tenant_repository(backends(postgres))]
pub trait Invoices {
    #[sql(
        "INSERT INTO invoices (tenant_id, customer, amount_cents) SELECT :tenant, customer, amount_cents FROM drafts WHERE id = :draft"
    )]
    async fn from_draft(&self, draft: i64) -> Result<u64>;
}

fn main() {}
