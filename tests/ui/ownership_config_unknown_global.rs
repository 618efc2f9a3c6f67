// `global(...)` names a table no migration creates: a configuration error, with the
// closest name, and the statements are not checked against the broken configuration.
use tenantry::{Result, tenant_repository};

#[tenant_repository(backends(postgres), migrations = "migrations/ownership", tenant_table = "workspaces", global(countrys))]
pub trait Wiki {
    #[sql("SELECT name FROM countries WHERE code = :code")]
    async fn country(&self, code: &str) -> Result<Option<String>>;
}

fn main() {}
