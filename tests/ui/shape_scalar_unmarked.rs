// A column of a type of the application's own (a `sqlx::Type` newtype) is not a row: the
// method says so with `#[scalar]`.
use tenantry::{Result, tenant_repository};

#[derive(Debug, sqlx::Type)]
#[sqlx(transparent)]
pub struct Cents(i64);

#[tenant_repository(backends(postgres))]
pub trait Invoices {
    #[sql("SELECT amount_cents FROM invoices WHERE tenant_id = :tenant")]
    async fn amounts(&self) -> Result<Vec<Cents>>;
}

fn main() {}
