// A table the migrations create with no tenant column, no NOT NULL foreign key to an
// owned table, and not declared global belongs to nobody: refused wherever it is used.
use tenantry::{Result, tenant_repository};

// The schema lint's warning about `comments` (a child without a tenant column of its
// own) is shown once, in ownership_child_unconfined.stderr.
#[allow(deprecated)]
#[tenant_repository(backends(postgres), migrations = "migrations/ownership", tenant_table = "workspaces", global(countries))]
pub trait Wiki {
    #[sql("SELECT what FROM audit_log WHERE id = :id")]
    async fn audit_entry(&self, id: i64) -> Result<Option<String>>;
}

fn main() {}
