//! One repository, three real backends and a Citus cluster: every return shape, every
//! kind of write, upserts, joins, subqueries, CTEs, transactions and tenant sets are run
//! for two tenants, and tenant A never reads or changes a row of tenant B.
//!
//! Each scenario is written once, generic over the backend, and runs as
//! `sqlite::<name>`, `postgres::<name>`, `mysql::<name>` and `citus::<name>` on a fresh
//! database of its own (see `tenantry_tests::run`). On Citus (the coordinator of
//! `../shared/citus/cluster.sh start`, or `TENANTRY_CITUS_URL`) the tables are distributed
//! by `distribution_migration` and every test connection sets
//! `citus.multi_task_query_log_level = 'error'`: a statement that would touch more than one
//! shard fails the test. Only what is multi-shard by nature runs without that guard:
//! `#[unscoped]` reads across tenants, and `ScopeSet` reads of tenants on several shards
//! (see `citus_tenant_sets_touch_only_their_tenants_shards`). Server tests skip, saying so
//! on stderr, when the server is down, unless `TENANTRY_REQUIRE_DB=1`.

use std::fmt::Debug;
use std::future::Future;

use futures_util::TryStreamExt;
use sqlx::{MySql, Postgres, Sqlite};
use tenantry::{Db, Error, Result, Scope, TenantId, tenant_repository};
use tenantry_analyzer::schema::{Catalog, Migration, distribution_migration};
use tenantry_tests::{Backend, TestDb};

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Invoice {
    pub id: i64,
    pub number: String,
    pub customer: String,
    pub amount: i64,
}

/// The repository under test, on all three backends from the same SQL.
#[tenant_repository(backends(sqlite, postgres, mysql))]
pub trait Billing {
    /// `T` as a scalar, from `INSERT ... RETURNING`.
    #[sql(
        "INSERT INTO invoices (tenant_id, number, customer, amount)
           VALUES (:tenant, :number, :customer, :amount) RETURNING id"
    )]
    async fn create(&self, number: &str, customer: &str, amount: i64) -> Result<i64>;

    /// `u64`: rows inserted.
    #[sql("INSERT INTO invoices (tenant_id, number, customer, amount) VALUES (:tenant, :number, :customer, :amount)")]
    async fn add(&self, number: &str, customer: &str, amount: i64) -> Result<u64>;

    /// `Vec<T>`.
    #[sql("SELECT id, number, customer, amount FROM invoices WHERE tenant_id = :tenant ORDER BY id")]
    async fn list(&self) -> Result<Vec<Invoice>>;

    /// A stream of `T`.
    #[sql("SELECT id, number, customer, amount FROM invoices WHERE tenant_id = :tenant ORDER BY id")]
    fn stream(&self) -> tenantry::RowStream<'_, Invoice>;

    /// `Option<T>`.
    #[sql("SELECT id, number, customer, amount FROM invoices WHERE tenant_id = :tenant AND id = :id")]
    async fn find(&self, id: i64) -> Result<Option<Invoice>>;

    /// `T`: exactly one row.
    #[sql("SELECT id, number, customer, amount FROM invoices WHERE tenant_id = :tenant AND id = :id")]
    async fn get(&self, id: i64) -> Result<Invoice>;

    /// `T`: exactly one row, where the statement may find several.
    #[sql("SELECT id, number, customer, amount FROM invoices WHERE tenant_id = :tenant AND customer = :customer")]
    async fn only_of(&self, customer: &str) -> Result<Invoice>;

    /// A scalar `T` (`String`): exactly one row.
    #[sql("SELECT customer FROM invoices WHERE tenant_id = :tenant AND id = :id")]
    async fn customer_of(&self, id: i64) -> Result<String>;

    /// `Option<scalar>`.
    #[sql("SELECT amount FROM invoices WHERE tenant_id = :tenant AND id = :id")]
    async fn amount_of(&self, id: i64) -> Result<Option<i64>>;

    /// `Vec<scalar>`.
    #[sql("SELECT number FROM invoices WHERE tenant_id = :tenant ORDER BY number")]
    async fn numbers(&self) -> Result<Vec<String>>;

    /// A scalar aggregate.
    #[sql("SELECT COUNT(*) FROM invoices WHERE tenant_id = :tenant")]
    async fn count(&self) -> Result<i64>;

    /// One placeholder used twice (bound twice on MySQL, `$n` reused on PostgreSQL).
    #[sql(
        "SELECT id, number, customer, amount FROM invoices
           WHERE tenant_id = :tenant AND (customer = :term OR number = :term) ORDER BY id"
    )]
    async fn search(&self, term: &str) -> Result<Vec<Invoice>>;

    /// `u64`: rows updated.
    #[sql("UPDATE invoices SET amount = :amount WHERE tenant_id = :tenant AND id = :id")]
    async fn set_amount(&self, id: i64, amount: i64) -> Result<u64>;

    /// `()`.
    #[sql("UPDATE invoices SET customer = :customer WHERE tenant_id = :tenant AND id = :id")]
    async fn rename_customer(&self, id: i64, customer: &str) -> Result<()>;

    /// An update without a key: every row of the tenant, and only those.
    #[sql("UPDATE invoices SET amount = amount + :delta WHERE tenant_id = :tenant")]
    async fn raise_all(&self, delta: i64) -> Result<u64>;

    /// `u64`: rows deleted.
    #[sql("DELETE FROM invoices WHERE tenant_id = :tenant AND id = :id")]
    async fn delete(&self, id: i64) -> Result<u64>;

    /// `Vec<scalar>` from `DELETE ... RETURNING`.
    #[sql("DELETE FROM invoices WHERE tenant_id = :tenant AND amount < :below RETURNING id")]
    async fn delete_below(&self, below: i64) -> Result<Vec<i64>>;

    #[sql("INSERT INTO notes (tenant_id, invoice_id, body) VALUES (:tenant, :invoice_id, :body)")]
    async fn add_note(&self, invoice_id: i64, body: &str) -> Result<u64>;

    /// A join of two tenant tables, each confined (`:tenant` used twice).
    #[sql(
        "SELECT i.number, n.body FROM invoices i
           JOIN notes n ON n.invoice_id = i.id AND n.tenant_id = :tenant
           WHERE i.tenant_id = :tenant ORDER BY n.id"
    )]
    async fn notes(&self) -> Result<Vec<(String, String)>>;

    #[sql("SELECT payload FROM settings WHERE tenant_id = :tenant AND name = :name")]
    async fn setting(&self, name: &str) -> Result<Option<String>>;

    /// A correlated subquery in the select list, its table confined through the outer
    /// one's tenant column (the generated SQL states the tenant there too).
    #[sql(
        "SELECT i.number, (SELECT COUNT(*) FROM notes n WHERE n.invoice_id = i.id AND n.tenant_id = i.tenant_id)
           FROM invoices i WHERE i.tenant_id = :tenant ORDER BY i.number"
    )]
    async fn note_counts(&self) -> Result<Vec<(String, i64)>>;

    /// `NOT EXISTS`, correlated the same way.
    #[sql(
        "SELECT number FROM invoices i WHERE i.tenant_id = :tenant
           AND NOT EXISTS (SELECT 1 FROM notes n WHERE n.invoice_id = i.id AND n.tenant_id = i.tenant_id)
           ORDER BY number"
    )]
    async fn without_notes(&self) -> Result<Vec<String>>;

    /// A CTE whose column holds the tenant, joined on it.
    #[sql(
        "WITH mine AS (SELECT id, tenant_id, number FROM invoices WHERE tenant_id = :tenant AND amount >= :min)
         SELECT m.number, n.body FROM notes n JOIN mine m ON n.invoice_id = m.id AND n.tenant_id = m.tenant_id
           ORDER BY n.id"
    )]
    async fn notes_of_large(&self, min: i64) -> Result<Vec<(String, String)>>;

    /// An UPDATE whose value is a correlated subquery.
    #[sql(
        "UPDATE invoices SET amount = (SELECT COUNT(*) FROM notes n WHERE n.invoice_id = invoices.id
           AND n.tenant_id = invoices.tenant_id) WHERE tenant_id = :tenant"
    )]
    async fn amount_to_note_count(&self) -> Result<u64>;

    /// Every tenant's rows, for the checks that the other tenant's data is untouched.
    #[unscoped(reason = "tests compare the whole table before and after each call")]
    #[sql("SELECT tenant_id, number, customer, amount FROM invoices ORDER BY tenant_id, number")]
    async fn everything(&self) -> Result<Vec<(String, String, String, i64)>>;

    #[unscoped(reason = "a report across tenants")]
    #[sql("SELECT tenant_id, COUNT(*) FROM invoices GROUP BY tenant_id ORDER BY tenant_id")]
    async fn per_tenant(&self) -> Result<Vec<(String, i64)>>;
}

/// Upserts in the SQLite/PostgreSQL dialect. The guarded upsert on a key unique across
/// tenants is what this test is about, so tenantry's warning that a collision with
/// another tenant's row writes nothing is silenced here.
#[tenant_repository(backends(sqlite, postgres))]
#[allow(deprecated)]
pub trait OnConflict {
    /// `number` is unique across tenants: a collision with another tenant's row must
    /// leave that row alone, which the guarded `DO UPDATE ... WHERE` does.
    #[sql(
        "INSERT INTO invoices (tenant_id, number, customer, amount) VALUES (:tenant, :number, :customer, :amount)
           ON CONFLICT (number) DO UPDATE SET amount = excluded.amount WHERE invoices.tenant_id = :tenant"
    )]
    async fn upsert_invoice(&self, number: &str, customer: &str, amount: i64) -> Result<u64>;

    /// The key includes the tenant: each tenant has its own `name`s.
    #[sql(
        "INSERT INTO settings (tenant_id, name, payload) VALUES (:tenant, :name, :payload)
           ON CONFLICT (tenant_id, name) DO UPDATE SET payload = excluded.payload"
    )]
    async fn put_setting(&self, name: &str, payload: &str) -> Result<u64>;
}

/// The same upserts in the MariaDB/MySQL dialect, whose assignments must be guarded.
#[tenant_repository(backends(mysql))]
pub trait OnDuplicateKey {
    #[sql(
        "INSERT INTO invoices (tenant_id, number, customer, amount) VALUES (:tenant, :number, :customer, :amount)
           ON DUPLICATE KEY UPDATE amount = IF(tenant_id = :tenant, VALUES(amount), amount)"
    )]
    async fn upsert_invoice(&self, number: &str, customer: &str, amount: i64) -> Result<u64>;

    #[sql(
        "INSERT INTO settings (tenant_id, name, payload) VALUES (:tenant, :name, :payload)
           ON DUPLICATE KEY UPDATE payload = IF(tenant_id = :tenant, VALUES(payload), payload)"
    )]
    async fn put_setting(&self, name: &str, payload: &str) -> Result<u64>;
}

/// A table keyed by integer tenants (`BIGINT tenant_id`).
#[tenant_repository(backends(sqlite, postgres, mysql))]
pub trait Ledger {
    #[sql("INSERT INTO ledger (tenant_id, amount) VALUES (:tenant, :amount) RETURNING id")]
    async fn book(&self, amount: i64) -> Result<i64>;

    #[sql("SELECT amount FROM ledger WHERE tenant_id = :tenant ORDER BY id")]
    async fn amounts(&self) -> Result<Vec<i64>>;

    #[sql("UPDATE ledger SET amount = :amount WHERE tenant_id = :tenant AND id = :id")]
    async fn correct(&self, id: i64, amount: i64) -> Result<u64>;

    #[sql("DELETE FROM ledger WHERE tenant_id = :tenant AND id = :id")]
    async fn cancel(&self, id: i64) -> Result<u64>;
}

/// The schema; `{id}` is the backend's auto-incrementing key.
const SCHEMA: &[&str] = &[
    "CREATE TABLE invoices (id {id}, tenant_id VARCHAR(64) NOT NULL, number VARCHAR(32) NOT NULL UNIQUE,
        customer VARCHAR(64) NOT NULL, amount BIGINT NOT NULL)",
    "CREATE TABLE notes (id {id}, tenant_id VARCHAR(64) NOT NULL, invoice_id BIGINT NOT NULL,
        body VARCHAR(200) NOT NULL)",
    "CREATE TABLE settings (tenant_id VARCHAR(64) NOT NULL, name VARCHAR(64) NOT NULL,
        payload VARCHAR(200) NOT NULL, PRIMARY KEY (tenant_id, name))",
    "CREATE TABLE ledger (id {id}, tenant_id BIGINT NOT NULL, amount BIGINT NOT NULL)",
];

/// Citus: the same tables, every unique key per tenant (Citus enforces keys within a
/// shard, and refuses one without the distribution column), distributed by the DDL
/// tenantry writes from them.
const CITUS_SCHEMA: &[&str] = &[
    "CREATE TABLE invoices (id BIGINT GENERATED BY DEFAULT AS IDENTITY, tenant_id VARCHAR(64) NOT NULL,
        number VARCHAR(32) NOT NULL, customer VARCHAR(64) NOT NULL, amount BIGINT NOT NULL,
        PRIMARY KEY (tenant_id, id), UNIQUE (tenant_id, number))",
    "CREATE TABLE notes (id BIGINT GENERATED BY DEFAULT AS IDENTITY, tenant_id VARCHAR(64) NOT NULL,
        invoice_id BIGINT NOT NULL, body VARCHAR(200) NOT NULL, PRIMARY KEY (tenant_id, id))",
    "CREATE TABLE settings (tenant_id VARCHAR(64) NOT NULL, name VARCHAR(64) NOT NULL,
        payload VARCHAR(200) NOT NULL, PRIMARY KEY (tenant_id, name))",
];

/// The integer-keyed table on Citus: a co-location group of its own (its tenant column
/// is a `BIGINT`), distributed by hand.
const CITUS_LEDGER: &str = "CREATE TABLE ledger (id BIGINT GENERATED BY DEFAULT AS IDENTITY, tenant_id BIGINT NOT NULL,
    amount BIGINT NOT NULL, PRIMARY KEY (tenant_id, id));
    SELECT create_distributed_table('ledger', 'tenant_id', colocate_with => 'none')";

/// The upserts on Citus: the tenant's own key (`distributed` refuses a conflict target
/// without the tenant column, which no unique key of a distributed table matches).
#[tenant_repository(backends(postgres), distributed)]
pub trait CitusUpserts {
    #[sql(
        "INSERT INTO invoices (tenant_id, number, customer, amount) VALUES (:tenant, :number, :customer, :amount)
           ON CONFLICT (tenant_id, number) DO UPDATE SET amount = excluded.amount"
    )]
    async fn upsert_invoice(&self, number: &str, customer: &str, amount: i64) -> Result<u64>;

    #[sql(
        "INSERT INTO settings (tenant_id, name, payload) VALUES (:tenant, :name, :payload)
           ON CONFLICT (tenant_id, name) DO UPDATE SET payload = excluded.payload"
    )]
    async fn put_setting(&self, name: &str, payload: &str) -> Result<u64>;
}

/// A fresh test database, and the `Db` on it for what is multi-shard by nature (the same
/// one but on Citus, where it has no multi-shard guard).
type Opened<DB> = Option<(TestDb<DB>, Db<DB>)>;

/// What a scenario needs of a backend beyond the connection: the repositories and guards
/// as associated types, so that scenarios are generic without a bound per call.
trait Fixture: Send + Sync + 'static {
    type Db: Backend;
    type Billing: Billing + Clone + Send + Sync + 'static;
    type Ledger: Ledger;

    /// A fresh database (see [`Opened`]).
    fn open() -> impl Future<Output = Opened<Self::Db>> + Send;
    /// Creates the tables.
    fn create(db: &Db<Self::Db>) -> impl Future<Output = Result<()>> + Send;
    fn billing(db: &Db<Self::Db>) -> Self::Billing;
    fn ledger(db: &Db<Self::Db>) -> Self::Ledger;
    fn scope(db: &Db<Self::Db>, tenant: &str) -> Result<Scope>;
    fn int_scope(db: &Db<Self::Db>, tenant: i64) -> Result<Scope<i64>>;

    /// The dialect's tenant-guarded upsert on the globally unique `invoices.number`.
    fn upsert_invoice(
        db: &Db<Self::Db>,
        scope: &Scope,
        number: &str,
        customer: &str,
        amount: i64,
    ) -> impl Future<Output = Result<u64>> + Send;

    /// The dialect's upsert on the per-tenant key of `settings`.
    fn put_setting(
        db: &Db<Self::Db>,
        scope: &Scope,
        name: &str,
        payload: &str,
    ) -> impl Future<Output = Result<u64>> + Send;
}

async fn create_tables<DB: Backend>(db: &Db<DB>) -> Result<()> {
    for table in SCHEMA {
        DB::execute(db, &table.replace("{id}", DB::AUTO_ID)).await?;
    }
    Ok(())
}

/// The Citus tables: created, then distributed by `distribution_migration` from the very
/// DDL that created them.
async fn create_citus_tables(db: &Db<Postgres>) -> Result<()> {
    let ddl = CITUS_SCHEMA.join(";\n");
    Postgres::execute(db, &ddl).await?;
    let migration = Migration { version: 1, path: "1_billing.sql".into(), sql: ddl };
    let catalog = Catalog::from_migrations(&[migration], tenantry_analyzer::Backend::Postgres).expect("the DDL parses");
    let schema = tenantry_analyzer::Schema { catalog: Some(catalog), ..Default::default() };
    let distribution = distribution_migration(&schema).unwrap_or_else(|e| panic!("{e}"));
    Postgres::execute(db, &distribution).await?;
    Postgres::execute(db, CITUS_LEDGER).await?;
    Ok(())
}

macro_rules! fixture {
    ($fixture:ident, $db:ty, upserts: $upserts:ident, open: $open:expr, create: $create:path) => {
        struct $fixture;

        impl Fixture for $fixture {
            type Db = $db;
            type Billing = BillingRepo<$db>;
            type Ledger = LedgerRepo<$db>;

            async fn open() -> Opened<$db> {
                $open.await
            }
            async fn create(db: &Db<$db>) -> Result<()> {
                $create(db).await
            }
            fn billing(db: &Db<$db>) -> Self::Billing {
                BillingRepo::new(db)
            }
            fn ledger(db: &Db<$db>) -> Self::Ledger {
                LedgerRepo::new(db)
            }
            fn scope(db: &Db<$db>, tenant: &str) -> Result<Scope> {
                db.scope(TenantId::parse(tenant)?)
            }
            fn int_scope(db: &Db<$db>, tenant: i64) -> Result<Scope<i64>> {
                db.scope(tenant)
            }
            async fn upsert_invoice(
                db: &Db<$db>,
                scope: &Scope,
                number: &str,
                customer: &str,
                amount: i64,
            ) -> Result<u64> {
                $upserts::new(db).upsert_invoice(scope, number, customer, amount).await
            }
            async fn put_setting(db: &Db<$db>, scope: &Scope, name: &str, payload: &str) -> Result<u64> {
                $upserts::new(db).put_setting(scope, name, payload).await
            }
        }
    };
}

/// The database of `DB`, and itself for what is multi-shard on Citus.
async fn single<DB: Backend>() -> Opened<DB> {
    let test_db = DB::open().await?;
    let db = test_db.db.clone();
    Some((test_db, db))
}

fixture!(OnSqlite, Sqlite, upserts: OnConflictRepo, open: single::<Sqlite>(), create: create_tables);
fixture!(OnPostgres, Postgres, upserts: OnConflictRepo, open: single::<Postgres>(), create: create_tables);
fixture!(OnMySql, MySql, upserts: OnDuplicateKeyRepo, open: single::<MySql>(), create: create_tables);
fixture!(OnCitus, Postgres, upserts: CitusUpsertsRepo, open: tenantry_tests::citus(), create: create_citus_tables);

/// A fresh schema with two tenants, `acme` and `globex`.
struct World<DB: Fixture> {
    db: Db<DB::Db>,
    repo: DB::Billing,
    acme: Scope,
    globex: Scope,
    /// The same database, for what is multi-shard by nature (on Citus, without the
    /// multi-shard guard), and the repository on it.
    across: Db<DB::Db>,
    across_repo: DB::Billing,
}

impl<DB: Fixture> World<DB> {
    async fn new(db: Db<DB::Db>, across: Db<DB::Db>) -> Result<Self> {
        DB::create(&db).await?;
        Ok(World {
            repo: DB::billing(&db),
            acme: DB::scope(&db, "acme")?,
            globex: DB::scope(&db, "globex")?,
            across_repo: DB::billing(&across),
            across,
            db,
        })
    }

    /// Every tenant's invoices as `(tenant, number, customer, amount)`, through the
    /// audited escape hatch.
    async fn everything(&self) -> Result<Vec<(String, String, String, i64)>> {
        self.across_repo.everything(&self.across.unscoped("test: compare the whole table")?).await
    }

    /// Every invoice of `tenant`, from [`World::everything`].
    async fn rows_of(&self, tenant: &str) -> Result<Vec<(String, String, i64)>> {
        let all = self.everything().await?;
        Ok(all.into_iter().filter(|(t, ..)| t == tenant).map(|(_, n, c, a)| (n, c, a)).collect())
    }
}

fn row(number: &str, customer: &str, amount: i64) -> (String, String, i64) {
    (number.to_string(), customer.to_string(), amount)
}

/// The error of a call that must fail.
fn error_of<T: Debug>(outcome: Result<T>) -> Error {
    match outcome {
        Ok(v) => panic!("expected an error, got {v:?}"),
        Err(e) => e,
    }
}

fn assert_not_found<T: Debug>(outcome: Result<T>, method: &str, tenant: &str) {
    match error_of(outcome) {
        Error::NotFound { repository: "Billing", method: m, tenant: t } if m == method && t == tenant => {}
        other => panic!("expected NotFound from Billing::{method} for `{tenant}`, got {other:?}"),
    }
}

/// Every read shape returns the caller's rows, and none of the other tenant's.
async fn reads_see_only_the_own_tenant<DB: Fixture>(w: World<DB>) -> Result<()> {
    let (repo, acme, globex) = (&w.repo, &w.acme, &w.globex);
    let a1 = repo.create(acme, "A-1", "Road Runner", 1_500).await?;
    let a2 = repo.create(acme, "A-2", "Wile E. Coyote", 990).await?;
    let g1 = repo.create(globex, "G-1", "Hank Scorpio", 25_000).await?;

    // Vec<T>
    let acme_rows = repo.list(acme).await?;
    assert_eq!(acme_rows.iter().map(|i| i.id).collect::<Vec<_>>(), [a1, a2]);
    assert_eq!(
        repo.list(globex).await?,
        [Invoice { id: g1, number: "G-1".into(), customer: "Hank Scorpio".into(), amount: 25_000 }]
    );
    // RowStream<T>
    assert_eq!(repo.stream(acme).try_collect::<Vec<_>>().await?, acme_rows);
    assert_eq!(repo.stream(globex).try_collect::<Vec<_>>().await?.len(), 1);
    // Option<T>
    assert_eq!(repo.find(acme, a1).await?.map(|i| i.customer), Some("Road Runner".to_string()));
    assert_eq!(repo.find(acme, g1).await?, None);
    assert_eq!(repo.find(globex, a1).await?, None);
    // T
    assert_eq!(repo.get(globex, g1).await?.amount, 25_000);
    assert_not_found(repo.get(acme, g1).await, "get", "acme");
    assert_not_found(repo.get(globex, a2).await, "get", "globex");
    // scalar T
    assert_eq!(repo.customer_of(acme, a2).await?, "Wile E. Coyote");
    assert_not_found(repo.customer_of(acme, g1).await, "customer_of", "acme");
    // Option<scalar>
    assert_eq!(repo.amount_of(acme, a1).await?, Some(1_500));
    assert_eq!(repo.amount_of(acme, g1).await?, None);
    // Vec<scalar>
    assert_eq!(repo.numbers(acme).await?, ["A-1", "A-2"]);
    assert_eq!(repo.numbers(globex).await?, ["G-1"]);
    // scalar aggregate
    assert_eq!(repo.count(acme).await?, 2);
    assert_eq!(repo.count(globex).await?, 1);
    Ok(())
}

/// `T` means exactly one row of the caller's tenant: another tenant's matching row
/// neither satisfies it nor makes it ambiguous.
async fn exactly_one_row_counts_only_the_own_tenant<DB: Fixture>(w: World<DB>) -> Result<()> {
    let (repo, acme, globex) = (&w.repo, &w.acme, &w.globex);
    repo.create(globex, "G-1", "Coyote", 1).await?;
    assert_not_found(repo.only_of(acme, "Coyote").await, "only_of", "acme");

    let a1 = repo.create(acme, "A-1", "Coyote", 2).await?;
    assert_eq!(repo.only_of(acme, "Coyote").await?.id, a1);

    repo.create(acme, "A-2", "Coyote", 3).await?;
    match error_of(repo.only_of(acme, "Coyote").await) {
        Error::TooManyRows { repository: "Billing", method: "only_of", tenant } if tenant == "acme" => {}
        other => panic!("expected TooManyRows, got {other:?}"),
    }
    assert_eq!(repo.only_of(globex, "Coyote").await?.number, "G-1");
    Ok(())
}

/// An insert stores the guard's tenant, whatever the arguments are.
async fn inserts_store_the_guards_tenant<DB: Fixture>(w: World<DB>) -> Result<()> {
    let (repo, acme, globex) = (&w.repo, &w.acme, &w.globex);
    assert_eq!(repo.add(acme, "A-1", "globex", 10).await?, 1);
    let id = repo.create(globex, "G-1", "acme", 20).await?;
    assert_eq!(w.rows_of("acme").await?, [row("A-1", "globex", 10)]);
    assert_eq!(w.rows_of("globex").await?, [row("G-1", "acme", 20)]);
    assert_eq!(repo.get(globex, id).await?.number, "G-1");
    assert_eq!(repo.count(acme).await?, 1);
    Ok(())
}

/// Updates by id, by `()` and by tenant-wide statement touch only the caller's rows.
async fn updates_change_only_the_own_tenant<DB: Fixture>(w: World<DB>) -> Result<()> {
    let (repo, acme, globex) = (&w.repo, &w.acme, &w.globex);
    let a1 = repo.create(acme, "A-1", "Road Runner", 100).await?;
    let g1 = repo.create(globex, "G-1", "Hank Scorpio", 200).await?;
    let globex_before = w.rows_of("globex").await?;

    assert_eq!(repo.set_amount(acme, g1, 0).await?, 0);
    repo.rename_customer(acme, g1, "Mallory").await?;
    assert_eq!(w.rows_of("globex").await?, globex_before);

    assert_eq!(repo.set_amount(acme, a1, 150).await?, 1);
    repo.rename_customer(acme, a1, "Beep Beep").await?;
    assert_eq!(repo.raise_all(acme, 5).await?, 1);
    assert_eq!(w.rows_of("acme").await?, [row("A-1", "Beep Beep", 155)]);
    assert_eq!(w.rows_of("globex").await?, globex_before);

    assert_eq!(repo.raise_all(globex, 1).await?, 1);
    assert_eq!(w.rows_of("acme").await?, [row("A-1", "Beep Beep", 155)]);
    assert_eq!(w.rows_of("globex").await?, [row("G-1", "Hank Scorpio", 201)]);
    Ok(())
}

/// Deletes by id and `DELETE ... RETURNING` remove only the caller's rows.
async fn deletes_remove_only_the_own_tenant<DB: Fixture>(w: World<DB>) -> Result<()> {
    let (repo, acme, globex) = (&w.repo, &w.acme, &w.globex);
    let a1 = repo.create(acme, "A-1", "a", 5).await?;
    let a2 = repo.create(acme, "A-2", "b", 50).await?;
    let a3 = repo.create(acme, "A-3", "c", 500).await?;
    let g1 = repo.create(globex, "G-1", "x", 5).await?;
    repo.create(globex, "G-2", "y", 50).await?;

    assert_eq!(repo.delete(acme, g1).await?, 0);
    assert_eq!(repo.count(globex).await?, 2);
    assert_eq!(repo.delete(acme, a3).await?, 1);

    let mut deleted = repo.delete_below(acme, 100).await?;
    deleted.sort_unstable();
    assert_eq!(deleted, [a1, a2]);
    assert_eq!(repo.count(acme).await?, 0);
    assert_eq!(w.rows_of("globex").await?, [row("G-1", "x", 5), row("G-2", "y", 50)]);
    Ok(())
}

/// An upsert updates the caller's own row, and a collision with another tenant's row on a
/// key that does not contain the tenant leaves that row exactly as it was.
async fn upserts_never_overwrite_another_tenant<DB: Fixture>(w: World<DB>) -> Result<()> {
    let (db, acme, globex) = (&w.db, &w.acme, &w.globex);
    assert_eq!(DB::upsert_invoice(db, acme, "INV-1", "Road Runner", 100).await?, 1);
    DB::upsert_invoice(db, acme, "INV-1", "ignored on update", 150).await?;
    assert_eq!(w.rows_of("acme").await?, [row("INV-1", "Road Runner", 150)]);

    // `INV-1` is taken by acme: globex's upsert collides on `number` and must not
    // touch acme's row (nor insert one of its own, the number being unique).
    DB::upsert_invoice(db, globex, "INV-1", "Hank Scorpio", 999_999).await?;
    assert_eq!(w.everything().await?, [("acme".into(), "INV-1".into(), "Road Runner".into(), 150)]);
    assert!(w.repo.list(globex).await?.is_empty());

    DB::upsert_invoice(db, globex, "INV-2", "Hank Scorpio", 7).await?;
    assert_eq!(w.rows_of("globex").await?, [row("INV-2", "Hank Scorpio", 7)]);
    assert_eq!(w.rows_of("acme").await?, [row("INV-1", "Road Runner", 150)]);

    // A key that includes the tenant: both tenants have a `theme`, each its own.
    DB::put_setting(db, acme, "theme", "dark").await?;
    DB::put_setting(db, globex, "theme", "light").await?;
    DB::put_setting(db, acme, "theme", "blue").await?;
    assert_eq!(w.repo.setting(acme, "theme").await?.as_deref(), Some("blue"));
    assert_eq!(w.repo.setting(globex, "theme").await?.as_deref(), Some("light"));
    assert_eq!(w.repo.setting(globex, "font").await?, None);
    Ok(())
}

/// `(customer = :term OR number = :term)`: the one argument reaches both places, on every
/// backend, and the tenant still confines the result.
async fn a_placeholder_used_twice_binds_the_same_value<DB: Fixture>(w: World<DB>) -> Result<()> {
    let (repo, acme, globex) = (&w.repo, &w.acme, &w.globex);
    let by_customer = repo.create(acme, "A-1", "Ann", 1).await?;
    let by_number = repo.create(acme, "Ann", "Bob", 2).await?;
    repo.create(acme, "A-3", "Carol", 3).await?;
    let globex_ann = repo.create(globex, "G-1", "Ann", 4).await?;

    let ids = |rows: Vec<Invoice>| rows.into_iter().map(|i| i.id).collect::<Vec<_>>();
    assert_eq!(ids(repo.search(acme, "Ann").await?), [by_customer, by_number]);
    assert_eq!(ids(repo.search(globex, "Ann").await?), [globex_ann]);
    assert_eq!(ids(repo.search(acme, "A-3").await?).len(), 1);
    assert!(repo.search(globex, "Bob").await?.is_empty());
    Ok(())
}

/// A join of two tenant tables: a note another tenant attached to our invoice id does not
/// show, nor does our invoice show through their note.
async fn joins_are_confined_on_both_tables<DB: Fixture>(w: World<DB>) -> Result<()> {
    let (repo, acme, globex) = (&w.repo, &w.acme, &w.globex);
    let a1 = repo.create(acme, "A-1", "Road Runner", 1).await?;
    let g1 = repo.create(globex, "G-1", "Hank Scorpio", 2).await?;
    assert_eq!(repo.add_note(acme, a1, "paid").await?, 1);
    assert_eq!(repo.add_note(globex, a1, "globex's note on acme's invoice id").await?, 1);
    assert_eq!(repo.add_note(globex, g1, "overdue").await?, 1);

    assert_eq!(repo.notes(acme).await?, [("A-1".to_string(), "paid".to_string())]);
    assert_eq!(repo.notes(globex).await?, [("G-1".to_string(), "overdue".to_string())]);
    Ok(())
}

/// `#[unscoped]` methods, called with `db.unscoped("...")`, see every tenant.
async fn unscoped_methods_see_every_tenant<DB: Fixture>(w: World<DB>) -> Result<()> {
    let (repo, acme, globex) = (&w.repo, &w.acme, &w.globex);
    repo.create(acme, "A-1", "a", 1).await?;
    repo.create(acme, "A-2", "b", 2).await?;
    repo.create(globex, "G-1", "c", 3).await?;

    let report = w.across.unscoped("monthly report")?;
    assert_eq!(report.reason(), "monthly report");
    assert_eq!(w.across_repo.per_tenant(&report).await?, [("acme".to_string(), 2), ("globex".to_string(), 1)]);
    assert_eq!(w.everything().await?.len(), 3);
    assert!(matches!(w.db.unscoped("  "), Err(Error::MissingReason)));
    Ok(())
}

/// A failing statement is reported as `Error::Query` with the repository, the method and
/// the tenant; the colliding row of the other tenant is left alone.
async fn query_errors_name_the_method_and_tenant<DB: Fixture>(w: World<DB>) -> Result<()> {
    let (repo, acme, globex) = (&w.repo, &w.acme, &w.globex);
    repo.create(acme, "A-1", "Road Runner", 1).await?;

    let e = error_of(repo.create(globex, "A-1", "Hank Scorpio", 2).await);
    // Display is this error's own message; the database's is its source, printed once
    // by error-chain printers (anyhow, eyre).
    assert_eq!(e.to_string(), "Billing::create for tenant `globex` failed");
    let source = std::error::Error::source(&e).expect("the sqlx error is the source").to_string();
    assert!(!e.to_string().contains(&source), "{e}");
    assert!(e.is_query() && !e.is_not_found() && !e.is_denied());
    match &e {
        Error::Query { repository: "Billing", method: "create", tenant, source } if tenant == "globex" => {
            let db_error = source.as_database_error().unwrap_or_else(|| panic!("not a database error: {source:?}"));
            assert!(db_error.is_unique_violation(), "{db_error:?}");
        }
        other => panic!("expected Error::Query, got {other:?}"),
    }
    assert!(e.as_sqlx().is_some());
    assert_eq!(w.everything().await?, [("acme".into(), "A-1".into(), "Road Runner".into(), 1)]);
    Ok(())
}

/// Generated futures are `Send`: spawned tasks of both tenants run at once on one pool
/// and each tenant ends up with exactly its own rows.
async fn spawned_calls_stay_confined<DB: Fixture>(w: World<DB>) -> Result<()> {
    let mut tasks = Vec::new();
    for n in 0..8_i64 {
        for (name, scope) in [("acme", &w.acme), ("globex", &w.globex)] {
            let (repo, scope) = (w.repo.clone(), scope.clone());
            tasks.push(tokio::spawn(async move {
                repo.create(&scope, &format!("{name}-{n}"), name, n).await?;
                let seen = repo.list(&scope).await?;
                assert!(seen.iter().all(|i| i.customer == name), "{name} saw {seen:?}");
                Ok::<_, Error>(())
            }));
        }
    }
    for task in tasks {
        task.await.expect("task panicked")?;
    }
    for name in ["acme", "globex"] {
        let rows = w.rows_of(name).await?;
        assert_eq!(rows.len(), 8);
        assert!(rows.iter().all(|(number, customer, _)| customer == name && number.starts_with(name)));
    }
    Ok(())
}

/// Tenants keyed by integers: `db.scope(42_i64)?` against a `BIGINT` tenant column.
async fn integer_tenant_keys_confine_too<DB: Fixture>(w: World<DB>) -> Result<()> {
    let ledger = DB::ledger(&w.db);
    let (t42, t7) = (DB::int_scope(&w.db, 42)?, DB::int_scope(&w.db, 7)?);
    let mine = ledger.book(&t42, 100).await?;
    ledger.book(&t42, 200).await?;
    let theirs = ledger.book(&t7, 7).await?;

    assert_eq!(ledger.amounts(&t42).await?, [100, 200]);
    assert_eq!(ledger.amounts(&t7).await?, [7]);
    assert_eq!(ledger.correct(&t42, theirs, 0).await?, 0);
    assert_eq!(ledger.cancel(&t42, theirs).await?, 0);
    assert_eq!(ledger.amounts(&t7).await?, [7]);
    assert_eq!(ledger.correct(&t42, mine, 150).await?, 1);
    assert_eq!(ledger.cancel(&t7, mine).await?, 0);
    assert_eq!(ledger.amounts(&t42).await?, [150, 200]);
    Ok(())
}

/// Correlated subqueries (in the select list, `NOT EXISTS`, an UPDATE's value) and a CTE
/// count only the caller's rows: globex's note on acme's invoice id is not acme's.
async fn subqueries_and_ctes_see_only_the_own_tenant<DB: Fixture>(w: World<DB>) -> Result<()> {
    let (repo, acme, globex) = (&w.repo, &w.acme, &w.globex);
    let a1 = repo.create(acme, "A-1", "Road Runner", 100).await?;
    repo.create(acme, "A-2", "Wile E. Coyote", 5).await?;
    let g1 = repo.create(globex, "G-1", "Hank Scorpio", 7).await?;
    repo.add_note(acme, a1, "sent").await?;
    repo.add_note(acme, a1, "paid").await?;
    repo.add_note(globex, a1, "globex's note on acme's invoice id").await?;
    repo.add_note(globex, g1, "overdue").await?;

    assert_eq!(repo.note_counts(acme).await?, [("A-1".to_string(), 2), ("A-2".to_string(), 0)]);
    assert_eq!(repo.note_counts(globex).await?, [("G-1".to_string(), 1)]);
    assert_eq!(repo.without_notes(acme).await?, ["A-2"]);
    assert!(repo.without_notes(globex).await?.is_empty());
    let large = repo.notes_of_large(acme, 50).await?;
    assert_eq!(large, [("A-1".to_string(), "sent".to_string()), ("A-1".to_string(), "paid".to_string())]);
    assert!(repo.notes_of_large(globex, 50).await?.is_empty());

    assert_eq!(repo.amount_to_note_count(acme).await?, 2);
    assert_eq!(w.rows_of("acme").await?, [row("A-1", "Road Runner", 2), row("A-2", "Wile E. Coyote", 0)]);
    assert_eq!(w.rows_of("globex").await?, [row("G-1", "Hank Scorpio", 7)]);
    Ok(())
}

/// A transaction of one tenant: its writes are seen inside it, gone after a rollback,
/// kept after a commit, and never the other tenant's.
async fn transactions_stay_within_the_tenant<DB: Fixture>(w: World<DB>) -> Result<()> {
    let (repo, globex) = (&w.repo, &w.globex);
    let tx = w.db.begin(&w.acme).await?;
    repo.create(&tx, "A-1", "Road Runner", 1).await?;
    assert_eq!(repo.count(&tx).await?, 1);
    tx.rollback().await?;
    assert_eq!(repo.count(&w.acme).await?, 0);

    let tx = w.db.begin(&w.acme).await?;
    let a2 = repo.create(&tx, "A-2", "Road Runner", 2).await?;
    repo.add_note(&tx, a2, "in the same transaction").await?;
    assert_eq!(repo.note_counts(&tx).await?, [("A-2".to_string(), 1)]);
    tx.commit().await?;
    assert_eq!(repo.numbers(&w.acme).await?, ["A-2"]);
    assert_eq!(repo.count(globex).await?, 0);
    Ok(())
}

/// A `ScopeSet` reads each of its tenants' rows and no others'. A set of one tenant is
/// one tenant's statement; a set of several touches each of their shards on Citus, so it
/// runs on the `Db` without the multi-shard guard there.
async fn tenant_sets_read_each_of_their_tenants<DB: Fixture>(w: World<DB>) -> Result<()> {
    let (repo, acme, globex) = (&w.repo, &w.acme, &w.globex);
    let a1 = repo.create(acme, "A-1", "Road Runner", 1).await?;
    repo.create(globex, "G-1", "Hank Scorpio", 2).await?;
    w.repo.create(&DB::scope(&w.db, "initech")?, "I-1", "Bill Lumbergh", 3).await?;
    repo.add_note(acme, a1, "paid").await?;

    let just_acme = w.db.scope_set([TenantId::parse("acme")?])?;
    assert_eq!(repo.numbers(&just_acme).await?, ["A-1"]);
    assert_eq!(repo.note_counts(&just_acme).await?, [("A-1".to_string(), 1)]);

    let both = w.across.scope_set([TenantId::parse("acme")?, TenantId::parse("globex")?])?;
    assert_eq!(w.across_repo.numbers(&both).await?, ["A-1", "G-1"]);
    assert_eq!(w.across_repo.count(&both).await?, 2);
    assert_eq!(w.across_repo.note_counts(&both).await?, [("A-1".to_string(), 1), ("G-1".to_string(), 0)]);
    Ok(())
}

/// Runs `scenario` on a fresh database of fixture `F` (see `tenantry_tests::run`).
async fn run_world<F, S, Fut>(scenario: S)
where
    F: Fixture,
    S: FnOnce(World<F>) -> Fut,
    Fut: Future<Output = Result<()>>,
{
    let Some((test_db, across)) = F::open().await else { return };
    let db = test_db.db.clone();
    tenantry_tests::run_on(test_db, async move { scenario(World::new(db, across).await?).await }).await;
}

/// One `#[tokio::test]` per scenario in module `$module`, on fixture `$fixture`.
macro_rules! scenarios {
    ($module:ident, $fixture:ty; $($scenario:ident),* $(,)?) => {
        mod $module {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $scenario() {
                    super::run_world::<$fixture, _, _>(super::$scenario).await;
                }
            )*
        }
    };
}

/// Every scenario, on the backends whose keys may be unique across tenants.
macro_rules! on_every_backend {
    ($($scenario:ident),* $(,)?) => {
        scenarios!(sqlite, super::OnSqlite; $($scenario),*);
        scenarios!(postgres, super::OnPostgres; $($scenario),*);
        scenarios!(mysql, super::OnMySql; $($scenario),*);
    };
}

on_every_backend!(
    reads_see_only_the_own_tenant,
    exactly_one_row_counts_only_the_own_tenant,
    inserts_store_the_guards_tenant,
    updates_change_only_the_own_tenant,
    deletes_remove_only_the_own_tenant,
    upserts_never_overwrite_another_tenant,
    a_placeholder_used_twice_binds_the_same_value,
    joins_are_confined_on_both_tables,
    subqueries_and_ctes_see_only_the_own_tenant,
    transactions_stay_within_the_tenant,
    tenant_sets_read_each_of_their_tenants,
    unscoped_methods_see_every_tenant,
    query_errors_name_the_method_and_tenant,
    spawned_calls_stay_confined,
    integer_tenant_keys_confine_too,
);

// ----- Citus ---------------------------------------------------------------------------

/// On Citus every key is the tenant's own: an upsert updates the caller's row, and another
/// tenant's row with the same number is a row of its own.
async fn citus_upserts_keep_each_tenants_row<DB: Fixture>(w: World<DB>) -> Result<()> {
    let (db, acme, globex) = (&w.db, &w.acme, &w.globex);
    assert_eq!(DB::upsert_invoice(db, acme, "INV-1", "Road Runner", 100).await?, 1);
    DB::upsert_invoice(db, acme, "INV-1", "ignored on update", 150).await?;
    DB::upsert_invoice(db, globex, "INV-1", "Hank Scorpio", 7).await?;
    assert_eq!(w.rows_of("acme").await?, [row("INV-1", "Road Runner", 150)]);
    assert_eq!(w.rows_of("globex").await?, [row("INV-1", "Hank Scorpio", 7)]);
    DB::put_setting(db, acme, "theme", "dark").await?;
    DB::put_setting(db, globex, "theme", "light").await?;
    DB::put_setting(db, acme, "theme", "blue").await?;
    assert_eq!(w.repo.setting(acme, "theme").await?.as_deref(), Some("blue"));
    assert_eq!(w.repo.setting(globex, "theme").await?.as_deref(), Some("light"));
    Ok(())
}

/// A failing statement on the coordinator is `Error::Query` naming the method and tenant.
async fn citus_query_errors_name_the_method_and_tenant<DB: Fixture>(w: World<DB>) -> Result<()> {
    w.repo.create(&w.acme, "A-1", "Road Runner", 1).await?;
    let e = error_of(w.repo.create(&w.acme, "A-1", "again", 2).await);
    assert_eq!(e.to_string(), "Billing::create for tenant `acme` failed");
    let db_error = e.as_sqlx().and_then(|s| s.as_database_error()).expect("a database error");
    assert!(db_error.is_unique_violation(), "{db_error:?}");
    Ok(())
}

/// The guard is on: a statement across tenants fails on the test's connections, with
/// Citus's own message. Only the `Db` without it runs such statements.
async fn citus_refuses_multi_shard_statements_on_the_test_connections<DB: Fixture>(w: World<DB>) -> Result<()> {
    for (tenant, n) in [("acme", 1), ("globex", 2), ("initech", 3), ("umbrella", 4)] {
        w.repo.create(&DB::scope(&w.db, tenant)?, &format!("{tenant}-{n}"), tenant, n).await?;
    }
    let refused = error_of(w.repo.per_tenant(&w.db.unscoped("test: the guard refuses this")?).await);
    let message = refused.as_sqlx().map(ToString::to_string).unwrap_or_default();
    assert!(message.contains("multi-task query about to be executed"), "{message}");
    assert_eq!(w.across_repo.per_tenant(&w.across.unscoped("test: across tenants")?).await?.len(), 4);
    Ok(())
}

scenarios!(citus, super::OnCitus;
    reads_see_only_the_own_tenant,
    exactly_one_row_counts_only_the_own_tenant,
    inserts_store_the_guards_tenant,
    updates_change_only_the_own_tenant,
    deletes_remove_only_the_own_tenant,
    citus_upserts_keep_each_tenants_row,
    a_placeholder_used_twice_binds_the_same_value,
    joins_are_confined_on_both_tables,
    subqueries_and_ctes_see_only_the_own_tenant,
    transactions_stay_within_the_tenant,
    tenant_sets_read_each_of_their_tenants,
    unscoped_methods_see_every_tenant,
    citus_query_errors_name_the_method_and_tenant,
    spawned_calls_stay_confined,
    integer_tenant_keys_confine_too,
    citus_refuses_multi_shard_statements_on_the_test_connections,
);
