// A table no migration creates: refused, with the closest name.
use tenantry::{Result, tenant_repository};

// The schema lint's warning about `comments` (a child without a tenant column of its
// own) is shown once, in ownership_child_unconfined.stderr.
#[allow(deprecated)]
#[tenant_repository(backends(postgres), migrations = "migrations/ownership", tenant_table = "workspaces", global(countries))]
pub trait Wiki {
    #[sql("SELECT title FROM page WHERE tenant_id = :tenant")]
    async fn titles(&self) -> Result<Vec<String>>;
}

fn main() {}
