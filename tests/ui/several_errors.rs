// Every problem of a trait is reported in one build, and a caller of a failed method
// sees no follow-on error: the method keeps its signature.
use tenantry::{Db, Result, TenantId, tenant_repository};

#[derive(Debug, sqlx::FromRow)]
pub struct Invoice {
    pub id: i64,
    pub amount_cents: i64,
}

#[tenant_repository(backends(postgres))]
pub trait Invoices {
    #[sql("SELECT id, amount_cents FROM invoices WHERE tenant_id = :tenant ORDER BY id")]
    async fn list(&self) -> Result<Vec<Invoice>>;

    #[sql("SELECT id, amount_cents FROM invoices WHERE id = :id")]
    async fn find(&self, id: i64) -> Result<Option<Invoice>>;

    #[sql("UPDATE invoices SET amount_cents = :amount WHERE tenant_id = :tenant AND id = :invoice")]
    async fn set_amount(&self, id: i64, amount: i64) -> Result<u64>;

    #[sql("DELETE FROM invoices WHERE tenant_id = :tenant AND id = :id")]
    async fn delete(&self, id: i64) -> Result<Vec<Invoice>>;

    async fn archive(&self, id: i64) -> Result<u64>;
}

pub async fn handler(db: &Db<sqlx::Postgres>) -> Result<()> {
    let invoices = InvoicesRepo::new(db);
    let scope = db.scope(TenantId::parse("acme")?)?;
    invoices.list(&scope).await?;
    invoices.find(&scope, 1).await?;
    invoices.set_amount(&scope, 1, 100).await?;
    invoices.delete(&scope, 1).await?;
    invoices.archive(&scope, 1).await?;
    Ok(())
}

fn main() {}
