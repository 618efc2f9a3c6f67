// Re-parenting a (confined) child to the caller's value may move it under another
// tenant's page.
use tenantry::{Result, tenant_repository};

// The schema lint's warning about `comments` (a child without a tenant column of its
// own) is shown once, in ownership_child_unconfined.stderr.
#[allow(deprecated)]
#[tenant_repository(backends(postgres), migrations = "migrations/ownership", tenant_table = "workspaces", global(countries))]
pub trait Wiki {
    #[sql(
        "UPDATE comments SET page_id = :page
           WHERE id = :id AND page_id IN (SELECT id FROM pages WHERE tenant_id = :tenant)"
    )]
    async fn move_comment(&self, id: i64, page: i64) -> Result<u64>;
}

fn main() {}
