//! Return shapes at their edges: `()` runs any statement and discards its rows; a read
//! of at most one row (`COUNT(*)`, a one-row `INSERT ... RETURNING`) still says `NotFound`
//! when there is none. A column's value of a type of the application's own (a
//! `sqlx::Type` newtype, an alias, a UUID) is returned by a `#[scalar]` method; a struct
//! is a row whatever its name.

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

/// Cents, stored as an integer column: a `sqlx::Type` newtype.
#[derive(Debug, Clone, Copy, PartialEq, sqlx::Type)]
#[sqlx(transparent)]
pub struct Cents(i64);

/// An alias of a primitive is still the application's name for it.
type Quantity = i64;

/// A struct of the application's own named like a library's scalar (chrono's, time's):
/// a row, decoded with `FromRow`.
#[derive(Debug, PartialEq, sqlx::FromRow)]
pub struct Date {
    pub label: String,
}

#[tenant_repository(backends(sqlite))]
pub trait Prices {
    #[sql("INSERT INTO prices (tenant_id, label, cents, quantity) VALUES (:tenant, :label, :cents, :quantity)")]
    async fn add(&self, label: &str, cents: Cents, quantity: Quantity) -> Result<u64>;

    #[scalar]
    #[sql("SELECT cents FROM prices WHERE tenant_id = :tenant ORDER BY cents")]
    async fn cents(&self) -> Result<Vec<Cents>>;

    #[scalar]
    #[sql("SELECT cents FROM prices WHERE tenant_id = :tenant AND label = :label")]
    async fn cents_of(&self, label: &str) -> Result<Option<Cents>>;

    #[scalar]
    #[sql("SELECT SUM(quantity) FROM prices WHERE tenant_id = :tenant")]
    async fn quantity(&self) -> Result<Option<Quantity>>;

    #[sql("SELECT label FROM prices WHERE tenant_id = :tenant ORDER BY label")]
    async fn dates(&self) -> Result<Vec<Date>>;

    #[scalar]
    #[sql("SELECT cents FROM prices WHERE tenant_id = :tenant ORDER BY cents")]
    fn stream_cents(&self) -> tenantry::RowStream<'_, Cents>;
}

#[tokio::test]
async fn scalars_are_marked_and_rows_are_structs_whatever_their_name() -> Result<()> {
    use futures_util::TryStreamExt;
    let db = tenantry_tests::sqlite().await;
    sqlx::query("CREATE TABLE prices (tenant_id TEXT NOT NULL, label TEXT NOT NULL, cents INTEGER NOT NULL, quantity INTEGER NOT NULL)")
        .execute(db.pool())
        .await?;
    let prices = PricesRepo::new(&db);
    let acme = db.scope(TenantId::parse("acme")?)?;
    let globex = db.scope(TenantId::parse("globex")?)?;
    prices.add(&acme, "b", Cents(250), 2).await?;
    prices.add(&acme, "a", Cents(100), 3).await?;
    prices.add(&globex, "c", Cents(999), 7).await?;

    assert_eq!(prices.cents(&acme).await?, [Cents(100), Cents(250)]);
    assert_eq!(prices.cents_of(&acme, "b").await?, Some(Cents(250)));
    assert_eq!(prices.cents_of(&acme, "c").await?, None);
    assert_eq!(prices.quantity(&acme).await?, Some(5));
    assert_eq!(prices.dates(&acme).await?, [Date { label: "a".into() }, Date { label: "b".into() }]);
    assert_eq!(prices.stream_cents(&globex).try_collect::<Vec<_>>().await?, [Cents(999)]);
    Ok(())
}
