// An `Unscoped` guard does not fit a method confined to one tenant.
use tenantry::{Db, Result, tenant_repository};

#[derive(Debug, sqlx::FromRow)]
pub struct Invoice {
    pub id: i64,
    pub amount_cents: i64,
}

#[tenant_repository(backends(postgres))]
pub trait Invoices {
    #[sql("SELECT id, amount_cents FROM invoices WHERE tenant_id = :tenant ORDER BY id")]
    async fn list(&self) -> Result<Vec<Invoice>>;
}

pub async fn report(db: &Db<sqlx::Postgres>) -> Result<Vec<Invoice>> {
    let invoices = InvoicesRepo::new(db);
    let admin = db.unscoped("nightly billing report")?;
    invoices.list(&admin).await
}

fn main() {}
