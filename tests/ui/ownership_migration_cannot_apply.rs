// A migration that cannot be applied (an ALTER of a table that does not exist): the
// error names the file and the line.
use tenantry::{Result, tenant_repository};

#[tenant_repository(backends(postgres), migrations = "migrations/broken")]
pub trait Wiki {
    #[sql("SELECT title FROM pages WHERE tenant_id = :tenant")]
    async fn titles(&self) -> Result<Vec<String>>;
}

fn main() {}
