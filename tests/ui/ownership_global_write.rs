// Every tenant reads a global table: no scoped statement may write it.
use tenantry::{Result, tenant_repository};

// The schema lint's warning about `comments` (a child without a tenant column of its
// own) is shown once, in ownership_child_unconfined.stderr.
#[allow(deprecated)]
#[tenant_repository(backends(postgres), migrations = "migrations/ownership", tenant_table = "workspaces", global(countries))]
pub trait Wiki {
    #[sql("UPDATE countries SET name = :name WHERE code = :code")]
    async fn rename_country(&self, code: &str, name: &str) -> Result<u64>;
}

fn main() {}
