// `#[scalar]` decodes the statement's single column; a row struct is not a column's value.
use tenantry::{Result, tenant_repository};

#[derive(Debug, sqlx::FromRow)]
pub struct Amount {
    pub amount_cents: i64,
}

#[tenant_repository(backends(postgres))]
pub trait Invoices {
    #[scalar]
    #[sql("SELECT amount_cents FROM invoices WHERE tenant_id = :tenant")]
    async fn amounts(&self) -> Result<Vec<Amount>>;
}

fn main() {}
