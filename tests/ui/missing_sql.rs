// A method without a statement.
use tenantry::{Result, tenant_repository};

#[derive(Debug, sqlx::FromRow)]
pub struct Invoice {
    pub id: i64,
    pub amount_cents: i64,
}

#[tenant_repository(backends(postgres))]
pub trait Invoices {
    #[sql("SELECT id, amount_cents FROM invoices WHERE tenant_id = :tenant")]
    async fn list(&self) -> Result<Vec<Invoice>>;

    async fn find(&self, id: i64) -> Result<Option<Invoice>>;
}

fn main() {}
