//! A generated repository trait can be faked by hand: application code written against
//! `&impl Trait` runs on the real repository and on an in-memory fake alike, and gets
//! the same answers for each tenant.

use std::sync::Mutex;

use sqlx::Sqlite;
use tenantry::{ReadGuard, Repository, Result, Scope, ScopeGuard, TenantId, tenant_repository};

#[tenant_repository(backends(sqlite))]
pub trait Labels {
    #[sql("INSERT INTO labels (tenant_id, label) VALUES (:tenant, :label)")]
    async fn add(&self, label: &str) -> Result<u64>;

    #[sql("SELECT label FROM labels WHERE tenant_id = :tenant ORDER BY label")]
    async fn list(&self) -> Result<Vec<String>>;
}

/// The fake: `(tenant, label)` rows in memory, confined by the guard's tenant like the
/// real one.
#[derive(Debug, Default)]
struct FakeLabels {
    rows: Mutex<Vec<(String, String)>>,
}

impl Repository for FakeLabels {
    type Backend = Sqlite;
}

impl Labels for FakeLabels {
    async fn add<G: ?Sized + ScopeGuard<Sqlite>>(&self, scope: &G, label: &str) -> Result<u64> {
        self.rows.lock().unwrap().push((scope.tenant().to_string(), label.to_string()));
        Ok(1)
    }

    /// A read takes a `ReadGuard` (a `Scope`, a `ScopedTx` or a `ScopeSet`), which says
    /// which tenants it admits.
    async fn list<G: ?Sized + ReadGuard<Sqlite>>(&self, scope: &G) -> Result<Vec<String>> {
        let mut labels: Vec<String> =
            self.rows.lock().unwrap().iter().filter(|(t, _)| scope.admits(t)).map(|(_, l)| l.clone()).collect();
        labels.sort();
        Ok(labels)
    }
}

/// Application code: knows the trait, not which implementation it gets.
async fn tag(labels: &impl Labels<Backend = Sqlite>, scope: &Scope, new: &[&str]) -> Result<Vec<String>> {
    for label in new {
        assert_eq!(labels.add(scope, label).await?, 1);
    }
    labels.list(scope).await
}

/// Tags two tenants through `tag` and returns what each then sees.
async fn two_tenants(labels: &impl Labels<Backend = Sqlite>, acme: &Scope, globex: &Scope) -> Result<[Vec<String>; 2]> {
    tag(labels, acme, &["urgent", "billing"]).await?;
    let globex_sees = tag(labels, globex, &["vip"]).await?;
    let acme_sees = tag(labels, acme, &["archived"]).await?;
    Ok([acme_sees, globex_sees])
}

#[tokio::test]
async fn the_fake_and_the_generated_repository_agree() -> Result<()> {
    let db = tenantry_tests::sqlite().await;
    sqlx::query("CREATE TABLE labels (tenant_id TEXT NOT NULL, label TEXT NOT NULL)").execute(db.pool()).await?;
    let acme = db.scope(TenantId::parse("acme")?)?;
    let globex = db.scope(TenantId::parse("globex")?)?;

    let real = two_tenants(&LabelsRepo::new(&db), &acme, &globex).await?;
    let fake = two_tenants(&FakeLabels::default(), &acme, &globex).await?;
    assert_eq!(real, [vec!["archived", "billing", "urgent"], vec!["vip"]]);
    assert_eq!(fake, real);
    Ok(())
}
