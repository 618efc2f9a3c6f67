// MySQL's REPLACE deletes whichever row it collides with, whoever owns it.
use tenantry::{Result, tenant_repository};

#[tenant_repository(backends(mysql))]
pub trait Invoices {
    #[sql("REPLACE INTO invoices (tenant_id, id, amount_cents) VALUES (:tenant, :id, :amount)")]
    async fn put(&self, id: i64, amount: i64) -> Result<u64>;
}

fn main() {}
