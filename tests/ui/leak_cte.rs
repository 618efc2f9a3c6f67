// A CTE that reads every tenant's rows.
use tenantry::{Result, tenant_repository};

#[derive(Debug, sqlx::FromRow)]
pub struct Invoice {
    pub id: i64,
    pub amount_cents: i64,
}

#[tenant_repository(backends(postgres))]
pub trait Invoices {
    #[sql(
        "WITH big AS (SELECT id, amount_cents FROM invoices WHERE amount_cents > 1000) SELECT id, amount_cents FROM big"
    )]
    async fn big(&self) -> Result<Vec<Invoice>>;
}

fn main() {}
