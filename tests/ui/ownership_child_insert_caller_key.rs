// A child row whose parent key is the caller's value may hang under another tenant's
// page.
use tenantry::{Result, tenant_repository};

// The schema lint's warning about `comments` (a child without a tenant column of its
// own) is shown once, in ownership_child_unconfined.stderr.
#[allow(deprecated)]
#[tenant_repository(backends(postgres), migrations = "migrations/ownership", tenant_table = "workspaces", global(countries))]
pub trait Wiki {
    #[sql("INSERT INTO comments (id, page_id, body) VALUES (:id, :page, :body)")]
    async fn comment(&self, id: i64, page: i64, body: &str) -> Result<u64>;
}

fn main() {}
