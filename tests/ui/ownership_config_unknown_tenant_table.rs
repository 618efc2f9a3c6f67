// `tenant_table` names a table no migration creates: a configuration error, with the
// closest name.
use tenantry::{Result, tenant_repository};

#[tenant_repository(backends(postgres), migrations = "migrations/ownership", tenant_table = "workspace", global(countries))]
pub trait Wiki {
    #[sql("SELECT name FROM workspaces WHERE id = :tenant")]
    async fn name(&self) -> Result<String>;
}

fn main() {}
