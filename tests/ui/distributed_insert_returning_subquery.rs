// On a distributed database (Citus) an INSERT may not hold a subquery: Citus refuses it
// when it runs. `distributed` makes that a compile error, saying why.
use tenantry::{Result, tenant_repository};

#[tenant_repository(backends(postgres), distributed)]
pub trait Invoices {
    #[sql(
        "INSERT INTO invoices (tenant_id, number) VALUES (:tenant, :number)
           RETURNING id, (SELECT COUNT(*) FROM invoices WHERE tenant_id = :tenant)"
    )]
    async fn create(&self, number: &str) -> Result<(i64, i64)>;
}

fn main() {}
