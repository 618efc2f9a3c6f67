//! A generated repository trait can be faked by hand: application code written against
//! `&impl Trait` runs on the real repository and on an in-memory fake alike, and gets
//! the same answers for each tenant.

use std::sync::{Arc, Mutex};

use tenantry::{BoxFuture, Error, ReadGuard, Result, Scope, ScopeGuard, TenantId, tenant_repository, testing};

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

/// A repository method takes its guard as `&dyn ScopeGuard` (or `&dyn ReadGuard` for a
/// read that also accepts a `ScopeSet`) and returns a boxed `Send` future.
impl Labels for FakeLabels {
    fn add<'a>(&'a self, scope: &'a dyn ScopeGuard, label: &'a str) -> BoxFuture<'a, Result<u64>> {
        Box::pin(async move {
            self.rows.lock().unwrap().push((scope.tenant_key().into_owned(), label.to_string()));
            Ok(1)
        })
    }

    /// A read takes a `ReadGuard` (a `Scope`, a `ScopedTx` or a `ScopeSet`), which says
    /// which tenants it admits.
    fn list<'a>(&'a self, scope: &'a dyn ReadGuard) -> BoxFuture<'a, Result<Vec<String>>> {
        Box::pin(async move {
            let rows = self.rows.lock().unwrap();
            let mut labels: Vec<String> =
                rows.iter().filter(|(t, _)| scope.admits(t)).map(|(_, l)| l.clone()).collect();
            labels.sort();
            Ok(labels)
        })
    }
}

/// Application code: knows the trait, not which implementation it gets.
async fn tag(labels: &impl Labels, scope: &Scope, new: &[&str]) -> Result<Vec<String>> {
    for label in new {
        assert_eq!(labels.add(scope, label).await?, 1);
    }
    labels.list(scope).await
}

/// Tags two tenants through `tag` and returns what each then sees.
async fn two_tenants(labels: &impl Labels, acme: &Scope, globex: &Scope) -> Result<[Vec<String>; 2]> {
    tag(labels, acme, &["urgent", "billing"]).await?;
    let globex_sees = tag(labels, globex, &["vip"]).await?;
    let acme_sees = tag(labels, acme, &["archived"]).await?;
    Ok([acme_sees, globex_sees])
}

/// A service that keeps its repository as a trait object, as axum state does.
#[derive(Clone)]
struct Tagger {
    labels: Arc<dyn Labels + Send + Sync>,
}

impl Tagger {
    async fn tag_and_list(&self, scope: &Scope, label: &str) -> Result<Vec<String>> {
        self.labels.add(scope, label).await?;
        self.labels.list(scope).await
    }
}

/// The same `Tagger` over the generated repository and over the fake; its calls run on
/// a spawned task (the futures are `Send`), and each tenant sees its own labels.
async fn tagger_on_tasks(
    labels: Arc<dyn Labels + Send + Sync>,
    acme: Scope,
    globex: Scope,
) -> Result<[Vec<String>; 2]> {
    let tagger = Tagger { labels };
    let first = tagger.clone();
    let acme_sees =
        tokio::spawn(async move { first.tag_and_list(&acme, "urgent").await }).await.expect("the task ran")?;
    let globex_sees = tagger.tag_and_list(&globex, "vip").await?;
    Ok([acme_sees, globex_sees])
}

#[tokio::test]
async fn a_dyn_repository_is_real_or_fake() -> Result<()> {
    let db = tenantry_tests::sqlite().await;
    sqlx::query("CREATE TABLE labels (tenant_id TEXT NOT NULL, label TEXT NOT NULL)").execute(db.pool()).await?;
    let acme = db.scope(TenantId::parse("acme")?)?;
    let globex = db.scope(TenantId::parse("globex")?)?;

    let real = tagger_on_tasks(Arc::new(LabelsRepo::new(&db)), acme.clone(), globex.clone()).await?;
    let fake = tagger_on_tasks(Arc::new(FakeLabels::default()), acme, globex).await?;
    assert_eq!(real, [vec!["urgent"], vec!["vip"]]);
    assert_eq!(fake, real);
    Ok(())
}

/// A guard passed on as `&dyn ScopeGuard` (what a fake receives) reaches a read that takes
/// `&dyn ReadGuard`; a transaction is a guard like a scope.
#[tokio::test]
async fn guards_pass_on_as_trait_objects() -> Result<()> {
    async fn add_then_list(labels: &dyn Labels, scope: &dyn ScopeGuard, label: &str) -> Result<Vec<String>> {
        labels.add(scope, label).await?;
        labels.list(scope).await
    }
    let db = tenantry_tests::sqlite().await;
    sqlx::query("CREATE TABLE labels (tenant_id TEXT NOT NULL, label TEXT NOT NULL)").execute(db.pool()).await?;
    let labels = LabelsRepo::new(&db);
    let acme = db.scope(TenantId::parse("acme")?)?;
    let tx = db.begin(&acme).await?;
    assert_eq!(add_then_list(&labels, &tx, "draft").await?, ["draft"]);
    tx.rollback().await?;
    assert_eq!(add_then_list(&labels, &acme, "final").await?, ["final"]);
    Ok(())
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
