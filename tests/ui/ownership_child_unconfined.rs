// `comments` has no tenant column: it belongs to a tenant through `page_id`, and a read
// that does not tie `page_id` to a page of the tenant may read any tenant's comments.
use tenantry::{Result, tenant_repository};

#[tenant_repository(backends(postgres), migrations = "migrations/ownership", tenant_table = "workspaces", global(countries))]
pub trait Wiki {
    #[sql("SELECT body FROM comments WHERE id = :id")]
    async fn comment(&self, id: i64) -> Result<Option<String>>;
}

fn main() {}
