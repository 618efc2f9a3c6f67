// A leak in MySQL's dialect, with backtick-quoted names.
use tenantry::{Result, tenant_repository};

#[tenant_repository(backends(mysql))]
pub trait Invoices {
    #[sql("UPDATE `invoices` SET `amount_cents` = :amount WHERE `id` = :id")]
    async fn set_amount(&self, id: i64, amount: i64) -> Result<u64>;
}

fn main() {}
