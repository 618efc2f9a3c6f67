// A trybuild case can use a migrations folder beside it: `migrations = "..."` is relative
// to the file holding the trait, not to trybuild's generated project. The folder is
// found, so the error is the statement's own.
use tenantry::{Result, tenant_repository};

#[tenant_repository(backends(postgres), migrations = "migrations/invoices")]
pub trait Invoices {
    #[sql("SELECT COUNT(*) FROM invoices")]
    async fn count(&self) -> Result<i64>;
}

fn main() {}
