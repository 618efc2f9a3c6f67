// Warnings of the macro (schema lint findings) are `deprecated` warnings on the trait;
// denied here, so that the case fails and its text is in the snapshot.
#![deny(deprecated)]
use tenantry::{Result, tenant_repository};

#[tenant_repository(backends(postgres), shared(countries), global(countries))]
pub trait Countries {
    #[sql("SELECT COUNT(*) FROM countries")]
    async fn count(&self) -> Result<i64>;
}

fn main() {}
