// An argument the statement never uses.
use tenantry::{Result, tenant_repository};

#[derive(Debug, sqlx::FromRow)]
pub struct Invoice {
    pub id: i64,
    pub amount_cents: i64,
}

#[tenant_repository(backends(postgres))]
pub trait Invoices {
    #[sql("SELECT id, amount_cents FROM invoices WHERE tenant_id = :tenant AND id = :id")]
    async fn find(&self, id: i64, include_archived: bool) -> Result<Option<Invoice>>;
}

fn main() {}
