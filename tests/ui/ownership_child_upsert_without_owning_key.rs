// A child upsert that conflicts on `id` alone, unguarded, overwrites the comment of
// another tenant that has the same id.
use tenantry::{Result, tenant_repository};

// The schema lint's warning about `comments` (a child without a tenant column of its
// own) is shown once, in ownership_child_unconfined.stderr.
#[allow(deprecated)]
#[tenant_repository(backends(postgres), migrations = "migrations/ownership", tenant_table = "workspaces", global(countries))]
pub trait Wiki {
    #[sql(
        "INSERT INTO comments (id, page_id, body)
           VALUES (:id, (SELECT id FROM pages WHERE tenant_id = :tenant AND id = :page), :body)
           ON CONFLICT (id) DO UPDATE SET body = excluded.body"
    )]
    async fn put_comment(&self, id: i64, page: i64, body: &str) -> Result<u64>;
}

fn main() {}
