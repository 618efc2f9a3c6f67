// `:tenant` inside a string literal is text, not a placeholder: it confines nothing.
use tenantry::{Result, tenant_repository};

#[derive(Debug, sqlx::FromRow)]
pub struct Invoice {
    pub id: i64,
    pub amount_cents: i64,
}

#[tenant_repository(backends(postgres))]
pub trait Invoices {
    #[sql("SELECT id, amount_cents FROM invoices WHERE tenant_id = ':tenant'")]
    async fn list(&self) -> Result<Vec<Invoice>>;
}

fn main() {}
