// A `Scope` does not fit a method marked `#[unscoped]`.
use tenantry::{Db, Result, TenantId, tenant_repository};

#[tenant_repository(backends(postgres))]
pub trait Invoices {
    #[unscoped(reason = "billing totals across tenants")]
    #[sql("SELECT COUNT(*) FROM invoices")]
    async fn count_all(&self) -> Result<i64>;
}

pub async fn handler(db: &Db<sqlx::Postgres>) -> Result<i64> {
    let invoices = InvoicesRepo::new(db);
    let scope = db.scope(TenantId::parse("acme")?)?;
    invoices.count_all(&scope).await
}

fn main() {}
