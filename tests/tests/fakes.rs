//! A generated repository trait can be faked by hand: application code written against
//! `&impl Trait` runs on the real repository and on an in-memory fake alike, and gets
//! the same answers for each tenant.

use std::sync::Mutex;

use sqlx::Sqlite;
use tenantry::{Error, ReadGuard, Repository, Result, Scope, ScopeGuard, TenantId, tenant_repository, testing};

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

/// `tenantry::testing` (feature `testing`) makes guards without a `Db`: a fake needs no
/// pool at all.
#[tokio::test]
async fn a_fake_needs_no_pool() -> Result<()> {
    let acme = testing::scope(TenantId::parse("acme")?);
    let globex = testing::scope(TenantId::parse("globex")?);
    let fake = FakeLabels::default();
    let [acme_sees, globex_sees] = two_tenants(&fake, &acme, &globex).await?;
    assert_eq!(acme_sees, ["archived", "billing", "urgent"]);
    assert_eq!(globex_sees, ["vip"]);

    let both = testing::scope_set([TenantId::parse("acme")?, TenantId::parse("globex")?, TenantId::parse("acme")?]);
    assert_eq!(both.tenants().len(), 2);
    assert_eq!(fake.list(&both).await?, ["archived", "billing", "urgent", "vip"]);
    Ok(())
}

/// `Db::close` closes the pool: calls fail with the pool's error, a clone sees it closed.
#[tokio::test]
async fn a_closed_db_refuses_calls() -> Result<()> {
    let db = tenantry_tests::sqlite().await;
    sqlx::query("CREATE TABLE labels (tenant_id TEXT NOT NULL, label TEXT NOT NULL)").execute(db.pool()).await?;
    let acme = db.scope(TenantId::parse("acme")?)?;
    let labels = LabelsRepo::new(&db);
    labels.add(&acme, "urgent").await?;
    let clone = db.clone();
    assert!(!clone.is_closed());

    db.close().await;
    assert!(db.is_closed() && clone.is_closed());
    let err = labels.list(&acme).await.unwrap_err();
    assert!(err.is_query() && matches!(err.as_sqlx(), Some(sqlx::Error::PoolClosed)), "{err:?}");
    assert!(matches!(clone.begin(&acme).await, Err(Error::Database(sqlx::Error::PoolClosed))));
    Ok(())
}
