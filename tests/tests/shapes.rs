//! Return shapes at their edges: `()` runs any statement and discards its rows; a read
//! of at most one row (`COUNT(*)`, a one-row `INSERT ... RETURNING`) still says `NotFound`
//! when there is none.

use tenantry::{Error, Result, TenantId, tenant_repository};

#[tenant_repository(backends(sqlite))]
pub trait Counters {
    #[sql("INSERT INTO counters (tenant_id, name, n) VALUES (:tenant, :name, 0) RETURNING n")]
    async fn create(&self, name: &str) -> Result<i64>;

    /// Run for its effect alone (on PostgreSQL/MySQL this is where `FOR UPDATE` goes).
    #[sql("SELECT n FROM counters WHERE tenant_id = :tenant AND name = :name")]
    async fn touch(&self, name: &str) -> Result<()>;

    #[sql("SELECT n FROM counters WHERE tenant_id = :tenant AND name = :name LIMIT 1")]
    async fn value(&self, name: &str) -> Result<i64>;

    #[sql("SELECT COUNT(*) FROM counters WHERE tenant_id = :tenant")]
    async fn count(&self) -> Result<i64>;
}

#[tokio::test]
async fn unit_discards_rows_and_single_row_reads_still_report_a_missing_row() -> Result<()> {
    let db = tenantry_tests::sqlite().await;
    sqlx::query("CREATE TABLE counters (tenant_id TEXT NOT NULL, name TEXT NOT NULL, n INTEGER NOT NULL)")
        .execute(db.pool())
        .await?;
    let counters = CountersRepo::new(&db);
    let acme = db.scope(TenantId::parse("acme")?)?;
    let globex = db.scope(TenantId::parse("globex")?)?;

    assert_eq!(counters.create(&acme, "visits").await?, 0);
    counters.touch(&acme, "visits").await?;
    counters.touch(&acme, "no such counter").await?;
    assert_eq!(counters.value(&acme, "visits").await?, 0);
    assert_eq!(counters.count(&acme).await?, 1);
    assert_eq!(counters.count(&globex).await?, 0);
    let err = counters.value(&globex, "visits").await.unwrap_err();
    assert!(matches!(&err, Error::NotFound { method: "value", tenant, .. } if tenant == "globex"), "{err:?}");
    Ok(())
}
