// `#[scalar]` says how rows decode; a method that returns rows affected has none.
use tenantry::{Result, tenant_repository};

#[tenant_repository(backends(postgres))]
pub trait Invoices {
    #[scalar]
    #[sql("UPDATE invoices SET paid = TRUE WHERE tenant_id = :tenant AND id = :id")]
    async fn mark_paid(&self, id: i64) -> Result<u64>;
}

fn main() {}
