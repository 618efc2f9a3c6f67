// A scoped method may read a shared table but not change it.
use tenantry::{Result, tenant_repository};

#[tenant_repository(backends(postgres), shared(countries))]
pub trait Invoices {
    #[sql("UPDATE countries SET name = :name WHERE code = :code")]
    async fn rename_country(&self, code: &str, name: &str) -> Result<u64>;
}

fn main() {}
