// DDL in a repository.
use tenantry::{Result, tenant_repository};

#[derive(Debug, sqlx::FromRow)]
pub struct Invoice {
    pub id: i64,
    pub amount_cents: i64,
}

#[tenant_repository(backends(postgres))]
pub trait Invoices {
    #[sql("DROP TABLE invoices")]
    async fn drop_all(&self) -> Result<()>;
}

fn main() {}
