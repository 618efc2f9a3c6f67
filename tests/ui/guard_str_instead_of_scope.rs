// A string from a request header is not a guard. (rustc adds a second error for this one
// mistake: a `&str` has no size, and the cast to `&dyn ReadGuard` needs one.)
use tenantry::{Db, Result, tenant_repository};

#[derive(Debug, sqlx::FromRow)]
pub struct Invoice {
    pub id: i64,
    pub amount_cents: i64,
}

#[tenant_repository(backends(postgres))]
pub trait Invoices {
    #[sql("SELECT id, amount_cents FROM invoices WHERE tenant_id = :tenant AND id = :id")]
    async fn find(&self, id: i64) -> Result<Option<Invoice>>;
}

pub async fn handler(db: &Db<sqlx::Postgres>, header: &str) -> Result<Option<Invoice>> {
    let invoices = InvoicesRepo::new(db);
    invoices.find(header, 42).await
}

fn main() {}
