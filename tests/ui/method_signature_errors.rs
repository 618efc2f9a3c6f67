// Methods must be `async fn(&self, ..)` declarations without a body.
use tenantry::{Result, tenant_repository};

#[tenant_repository(backends(postgres))]
pub trait Invoices {
    #[sql("SELECT COUNT(*) FROM invoices WHERE tenant_id = :tenant")]
    fn count(&self) -> Result<i64>;

    #[sql("DELETE FROM invoices WHERE tenant_id = :tenant")]
    async fn clear(&self) -> Result<u64> {
        Ok(0)
    }

    #[sql("SELECT COUNT(*) FROM invoices WHERE tenant_id = :tenant")]
    async fn total(self) -> Result<i64>;
}

fn main() {}
