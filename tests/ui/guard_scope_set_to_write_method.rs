use tenantry::{tenant_repository, Db, Result, TenantId};

#[tenant_repository(backends(postgres))]
pub trait Invoices {
    #[sql("SELECT COUNT(*) FROM invoices WHERE tenant_id = :tenant")]
    async fn count(&self) -> Result<i64>;

    #[sql("UPDATE invoices SET paid = TRUE WHERE tenant_id = :tenant AND id = :id")]
    async fn mark_paid(&self, id: i64) -> Result<u64>;
}

async fn operator_console(db: Db<sqlx::Postgres>) -> Result<()> {
    let invoices = InvoicesRepo::new(&db);
    let both = db.scope_set([TenantId::parse("acme")?, TenantId::parse("globex")?])?;
    // Reading several tenants at once is fine...
    invoices.count(&both).await?;
    // ...writing through a multi-tenant guard is not.
    invoices.mark_paid(&both, 42).await?;
    Ok(())
}

fn main() {}
