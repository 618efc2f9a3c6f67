// The schema lint's findings are warnings on each trait whose statements use the table:
// `comments` is confined here, but its rows say nothing of their tenant. Denied here, so
// that the case fails and the warning's text is in the snapshot.
#![deny(deprecated)]
use tenantry::{Result, tenant_repository};

#[tenant_repository(backends(postgres), migrations = "migrations/ownership", tenant_table = "workspaces", global(countries))]
pub trait Wiki {
    #[sql("SELECT c.body FROM comments c JOIN pages p ON p.id = c.page_id WHERE p.tenant_id = :tenant")]
    async fn comments(&self) -> Result<Vec<String>>;
}

fn main() {}
