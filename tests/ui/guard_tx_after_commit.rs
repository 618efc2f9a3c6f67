// `commit` consumes the transaction: it cannot serve as a guard afterwards.
use tenantry::{Db, Result, TenantId, tenant_repository};

#[tenant_repository(backends(postgres))]
pub trait Invoices {
    #[sql("UPDATE invoices SET amount_cents = :amount WHERE tenant_id = :tenant AND id = :id")]
    async fn set_amount(&self, id: i64, amount: i64) -> Result<u64>;
}

pub async fn handler(db: &Db<sqlx::Postgres>) -> Result<u64> {
    let invoices = InvoicesRepo::new(db);
    let scope = db.scope(TenantId::parse("acme")?)?;
    let tx = db.begin(&scope).await?;
    invoices.set_amount(&tx, 1, 100).await?;
    tx.commit().await?;
    invoices.set_amount(&tx, 2, 200).await
}

fn main() {}
