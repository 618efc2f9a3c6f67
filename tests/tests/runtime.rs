//! The run-time half of the promise, on SQLite, PostgreSQL and MariaDB: transactions are
//! guards, policies run before any SQL, every access leaves an audit trail, tenants can be
//! keyed by text, integers or UUIDs, and job claims carry a tenant to a worker.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use sqlx::{MySql, Postgres, Sqlite};
use tenantry::audit::{AuditError, AuditEvent, AuditKind, AuditSink, MemorySink};
use tenantry::policy::{self, DenySuspended, ReadOnly, TenantSet};
use tenantry::{Db, Error, Result, TenantId, tenant_repository};
use tenantry_tests::{Backend, run};

#[tenant_repository(backends(sqlite, postgres, mysql))]
pub trait Ledger {
    #[sql("INSERT INTO invoices (tenant_id, customer, amount_cents) VALUES (:tenant, :customer, :amount)")]
    async fn add(&self, customer: &str, amount: i64) -> Result<u64>;

    /// Violates `customer NOT NULL`: a statement that fails halfway through a transaction.
    #[sql("INSERT INTO invoices (tenant_id, customer, amount_cents) VALUES (:tenant, NULL, 0)")]
    async fn add_broken(&self) -> Result<u64>;

    #[sql("SELECT COUNT(*) FROM invoices WHERE tenant_id = :tenant")]
    async fn count(&self) -> Result<i64>;

    #[sql("SELECT customer FROM invoices WHERE tenant_id = :tenant ORDER BY id")]
    async fn customers(&self) -> Result<Vec<String>>;

    #[unscoped(reason = "operations report across tenants")]
    #[sql("SELECT COUNT(*) FROM invoices")]
    async fn total(&self) -> Result<i64>;
}

async fn schema<DB: Backend>(db: &Db<DB>) -> Result<()> {
    let ddl = format!(
        "CREATE TABLE invoices (id {}, tenant_id VARCHAR(64) NOT NULL, customer VARCHAR(200) NOT NULL, amount_cents BIGINT NOT NULL)",
        DB::AUTO_ID
    );
    DB::execute(db, &ddl).await?;
    Ok(())
}

fn tenant(s: &str) -> TenantId {
    TenantId::parse(s).unwrap()
}

/// Declares one `#[tokio::test]` per backend for a scenario generic over the backend.
macro_rules! on_every_backend {
    ($($scenario:ident),* $(,)?) => {
        mod sqlite { $( #[tokio::test] async fn $scenario() { tenantry_tests::run::<sqlx::Sqlite, _, _>(super::$scenario).await } )* }
        mod postgres { $( #[tokio::test] async fn $scenario() { tenantry_tests::run::<sqlx::Postgres, _, _>(super::$scenario).await } )* }
        mod mysql { $( #[tokio::test] async fn $scenario() { tenantry_tests::run::<sqlx::MySql, _, _>(super::$scenario).await } )* }
    };
}

on_every_backend!(
    committed_transaction_is_visible_and_confined,
    rollback_and_drop_leave_no_row,
    transaction_failing_halfway_keeps_nothing,
    suspended_tenant_gets_no_scope_and_runs_no_sql,
    read_only_tenant_reads_but_cannot_write,
    audit_trail_of_calls_transactions_and_unscoped_access,
    failing_audit_sink_never_breaks_data_access,
    job_claim_carries_the_tenant_to_a_worker,
    scope_set_reads_exactly_its_tenants,
);

trait Repo: Backend {
    fn ledger(db: &Db<Self>) -> impl Ledger + Send + Sync;
}

impl Repo for Sqlite {
    fn ledger(db: &Db<Self>) -> impl Ledger + Send + Sync {
        LedgerRepo::new(db)
    }
}
impl Repo for Postgres {
    fn ledger(db: &Db<Self>) -> impl Ledger + Send + Sync {
        LedgerRepo::new(db)
    }
}
impl Repo for MySql {
    fn ledger(db: &Db<Self>) -> impl Ledger + Send + Sync {
        LedgerRepo::new(db)
    }
}

async fn committed_transaction_is_visible_and_confined<DB: Repo>(db: Db<DB>) -> Result<()> {
    schema(&db).await?;
    let ledger = DB::ledger(&db);
    let (acme, globex) = (db.scope(tenant("acme"))?, db.scope(tenant("globex"))?);
    ledger.add(&globex, "Hank", 1).await?;

    let tx = db.begin(&acme).await?;
    ledger.add(&tx, "Road Runner", 100).await?;
    ledger.add(&tx, "Wile E.", 200).await?;
    // Inside the transaction the tenant is the transaction's, and its rows are visible.
    assert_eq!(ledger.count(&tx).await?, 2);
    assert_eq!(ledger.customers(&tx).await?, ["Road Runner", "Wile E."]);
    tx.commit().await?;

    assert_eq!(ledger.customers(&acme).await?, ["Road Runner", "Wile E."]);
    assert_eq!(ledger.customers(&globex).await?, ["Hank"]);
    Ok(())
}

async fn rollback_and_drop_leave_no_row<DB: Repo>(db: Db<DB>) -> Result<()> {
    schema(&db).await?;
    let ledger = DB::ledger(&db);
    let acme = db.scope(tenant("acme"))?;

    let tx = db.begin(&acme).await?;
    ledger.add(&tx, "rolled back", 1).await?;
    tx.rollback().await?;

    {
        let tx = db.begin(&acme).await?;
        ledger.add(&tx, "dropped", 1).await?;
        // Dropped without commit: sqlx rolls it back.
    }

    assert_eq!(ledger.count(&acme).await?, 0);
    Ok(())
}

async fn transaction_failing_halfway_keeps_nothing<DB: Repo>(db: Db<DB>) -> Result<()> {
    schema(&db).await?;
    let ledger = DB::ledger(&db);
    let acme = db.scope(tenant("acme"))?;

    let tx = db.begin(&acme).await?;
    ledger.add(&tx, "first half", 1).await?;
    let err = ledger.add_broken(&tx).await.unwrap_err();
    match &err {
        Error::Query { repository, method, tenant, .. } => {
            assert_eq!((*repository, *method, tenant.as_str()), ("Ledger", "add_broken", "acme"));
        }
        other => panic!("expected a query error, got {other:?}"),
    }
    drop(tx);

    assert_eq!(ledger.count(&acme).await?, 0, "the first half must not survive the failed transaction");
    Ok(())
}

async fn suspended_tenant_gets_no_scope_and_runs_no_sql<DB: Repo>(db: Db<DB>) -> Result<()> {
    schema(&db).await?;
    let suspended = TenantSet::new(["initech"]);
    let sink = Arc::new(MemorySink::default());
    let guarded = Db::builder(db.pool().clone()).policy(DenySuspended(suspended.clone())).audit(sink.clone()).build();
    let ledger = DB::ledger(&guarded);

    let err = guarded.scope(tenant("initech")).unwrap_err();
    assert!(matches!(&err, Error::Denied { tenant, .. } if tenant == "initech"), "{err:?}");
    assert_eq!(err.to_string(), "tenant `initech` denied: tenant `initech` is suspended");

    // A scope made before the suspension is refused at its next call, before any SQL.
    let acme = guarded.scope(tenant("acme"))?;
    ledger.add(&acme, "before", 1).await?;
    suspended.insert("acme");
    let err = ledger.add(&acme, "after", 1).await.unwrap_err();
    assert_eq!(err.to_string(), "tenant `acme` denied for Ledger::add: tenant `acme` is suspended");
    suspended.remove("acme");
    assert_eq!(ledger.customers(&acme).await?, ["before"]);

    let kinds: Vec<AuditKind> = sink.events().into_iter().map(|e| e.kind).collect();
    assert!(kinds.contains(&AuditKind::ScopeDenied { reason: "tenant `initech` is suspended".into() }));
    assert!(kinds.contains(&AuditKind::CallDenied {
        repository: "Ledger",
        method: "add",
        reason: "tenant `acme` is suspended".into()
    }));
    Ok(())
}

async fn read_only_tenant_reads_but_cannot_write<DB: Repo>(db: Db<DB>) -> Result<()> {
    schema(&db).await?;
    DB::ledger(&db).add(&db.scope(tenant("acme"))?, "kept", 1).await?;
    let closed_on_sundays =
        policy::from_fn(|a| if a.tenant == Some("blocked") { Err("blocked".into()) } else { Ok(()) });
    let guarded = Db::builder(db.pool().clone())
        .policy(policy::all(vec![Box::new(ReadOnly(TenantSet::new(["acme"]))), Box::new(closed_on_sundays)]))
        .build();
    let ledger = DB::ledger(&guarded);
    let acme = guarded.scope(tenant("acme"))?;

    assert_eq!(ledger.customers(&acme).await?, ["kept"]);
    let err = ledger.add(&acme, "refused", 1).await.unwrap_err();
    assert!(matches!(&err, Error::Denied { method: Some("add"), .. }), "{err:?}");
    assert_eq!(ledger.count(&acme).await?, 1, "a refused write runs no SQL");
    assert!(guarded.scope(tenant("blocked")).is_err());
    Ok(())
}

async fn audit_trail_of_calls_transactions_and_unscoped_access<DB: Repo>(db: Db<DB>) -> Result<()> {
    schema(&db).await?;
    let sink = Arc::new(MemorySink::default());
    let audited = Db::builder(db.pool().clone()).audit(sink.clone()).build();
    let ledger = DB::ledger(&audited);

    let acme = audited.scope(tenant("acme"))?;
    ledger.add(&acme, "one", 1).await?;
    ledger.customers(&acme).await?;
    ledger.add_broken(&acme).await.unwrap_err();
    let tx = audited.begin(&acme).await?;
    ledger.add(&tx, "two", 2).await?;
    tx.commit().await?;
    let ops = audited.unscoped("month-end report")?;
    assert_eq!(ledger.total(&ops).await?, 2);

    let events = sink.events();
    let kinds: Vec<&AuditKind> = events.iter().map(|e| &e.kind).collect();
    assert_eq!(kinds[0], &AuditKind::ScopeCreated);
    assert!(matches!(
        kinds[1],
        AuditKind::QueryDone { repository: "Ledger", method: "add", writes: true, rows: Some(1), .. }
    ));
    assert!(matches!(kinds[2], AuditKind::QueryDone { method: "customers", writes: false, rows: Some(1), .. }));
    assert!(matches!(kinds[3], AuditKind::QueryFailed { method: "add_broken", .. }));
    assert_eq!(kinds[4], &AuditKind::TxBegun);
    assert!(matches!(kinds[5], AuditKind::QueryDone { method: "add", .. }));
    assert_eq!(kinds[6], &AuditKind::TxCommitted);
    match kinds[7] {
        AuditKind::Unscoped { reason, location } => {
            assert_eq!(reason, "month-end report");
            assert!(location.contains("runtime.rs"), "the caller's location, got {location}");
        }
        other => panic!("expected the unscoped grant, got {other:?}"),
    }
    assert!(matches!(kinds[8], AuditKind::QueryDone { method: "total", .. }));
    assert_eq!(events[8].tenant, None);
    assert!(events[..7].iter().all(|e| e.tenant.as_deref() == Some("acme")));
    assert_eq!(events[7].tenant, None);
    Ok(())
}

/// A sink that fails every other event and panics on transactions.
struct Flaky(AtomicUsize);

impl AuditSink for Flaky {
    fn record(&self, event: &AuditEvent) -> std::result::Result<(), AuditError> {
        if event.kind == AuditKind::TxBegun {
            panic!("sink bug");
        }
        if self.0.fetch_add(1, Ordering::Relaxed).is_multiple_of(2) {
            Err(AuditError("disk full".into()))
        } else {
            Ok(())
        }
    }
}

async fn failing_audit_sink_never_breaks_data_access<DB: Repo>(db: Db<DB>) -> Result<()> {
    schema(&db).await?;
    let audited = Db::builder(db.pool().clone()).audit(Arc::new(Flaky(AtomicUsize::new(0)))).build();
    let ledger = DB::ledger(&audited);
    let acme = audited.scope(tenant("acme"))?;
    for n in 0..4 {
        ledger.add(&acme, &format!("c{n}"), n).await?;
    }
    let tx = audited.begin(&acme).await?;
    ledger.add(&tx, "in tx", 9).await?;
    tx.commit().await?;
    assert_eq!(ledger.count(&acme).await?, 5);
    assert!(audited.audit_failures() >= 3, "failures are counted: {}", audited.audit_failures());
    Ok(())
}

async fn job_claim_carries_the_tenant_to_a_worker<DB: Repo>(db: Db<DB>) -> Result<()> {
    schema(&db).await?;
    let sink = Arc::new(MemorySink::default());
    let db = Db::builder(db.pool().clone()).claim_key([42u8; 32]).audit(sink.clone()).build();
    let ledger = DB::ledger(&db);
    let acme = db.scope(tenant("acme"))?;
    ledger.add(&db.scope(tenant("globex"))?, "not acme's", 1).await?;

    let claim = db.claim(&acme, Duration::from_secs(60))?;
    let job = serde_json::to_string(&claim).unwrap();

    // The worker side: only the JSON crosses over.
    let worker = tokio::spawn({
        let db = db.clone();
        async move {
            let claim: tenantry::JobClaim = serde_json::from_str(&job).unwrap();
            let scope = db.redeem::<TenantId>(&claim)?;
            DB::ledger(&db).add(&scope, "from the worker", 5).await?;
            DB::ledger(&db).customers(&scope).await
        }
    });
    assert_eq!(worker.await.unwrap()?, ["from the worker"]);

    let forged = tenantry::JobClaim { tenant: "globex".into(), ..claim };
    assert!(matches!(db.redeem::<TenantId>(&forged), Err(Error::InvalidClaim(_))));
    // The refusal is audited, but not in globex's name: the claim's tenant is unproven.
    let refused: Vec<_> =
        sink.events().into_iter().filter(|e| matches!(&e.kind, AuditKind::ClaimRefused { .. })).collect();
    assert_eq!(refused.len(), 1);
    assert_eq!(refused[0].tenant, None);
    assert!(refused[0].kind.to_string().contains("the claim names tenant `globex`"), "{}", refused[0].kind);
    Ok(())
}

async fn scope_set_reads_exactly_its_tenants<DB: Repo>(db: Db<DB>) -> Result<()> {
    schema(&db).await?;
    let ledger = DB::ledger(&db);
    for (t, customer) in [("acme", "a1"), ("globex", "g1"), ("acme", "a2"), ("initech", "i1")] {
        ledger.add(&db.scope(tenant(t))?, customer, 1).await?;
    }
    let both = db.scope_set([tenant("acme"), tenant("globex"), tenant("acme")])?;
    assert_eq!(both.tenants().len(), 2, "duplicates are dropped");
    assert_eq!(ledger.count(&both).await?, 3);
    let mut customers = ledger.customers(&both).await?;
    customers.sort();
    assert_eq!(customers, ["a1", "a2", "g1"]);

    let nobody = db.scope_set(Vec::<TenantId>::new())?;
    assert_eq!(ledger.count(&nobody).await?, 0, "an empty set reads nothing");
    assert!(ledger.customers(&nobody).await?.is_empty());

    // Every tenant of a set passes the policy, at admission and at each call.
    let suspended = TenantSet::new(["initech"]);
    let guarded = Db::builder(db.pool().clone()).policy(DenySuspended(suspended.clone())).build();
    assert!(matches!(guarded.scope_set([tenant("acme"), tenant("initech")]), Err(Error::Denied { .. })));
    let set = guarded.scope_set([tenant("acme"), tenant("globex")])?;
    suspended.insert("globex");
    let err = DB::ledger(&guarded).count(&set).await.unwrap_err();
    assert!(matches!(&err, Error::Denied { tenant, .. } if tenant == "globex"), "{err:?}");
    Ok(())
}

// ----- tenant keys ----------------------------------------------------------------------

#[tenant_repository(backends(sqlite, postgres, mysql), tenant_column = "org_id")]
pub trait Accounts {
    #[sql("INSERT INTO accounts (org_id, name) VALUES (:tenant, :name)")]
    async fn open(&self, name: &str) -> Result<u64>;

    #[sql("SELECT name FROM accounts WHERE org_id = :tenant ORDER BY name")]
    async fn names(&self) -> Result<Vec<String>>;
}

async fn integer_keys<DB: Backend>(db: Db<DB>) -> Result<()>
where
    AccountsRepo<DB>: Accounts,
{
    DB::execute(
        &db,
        &format!("CREATE TABLE accounts (id {}, org_id BIGINT NOT NULL, name VARCHAR(50) NOT NULL)", DB::AUTO_ID),
    )
    .await?;
    let accounts = AccountsRepo::new(&db);
    let (one, two) = (db.scope(1_i64)?, db.scope(2_i64)?);
    accounts.open(&one, "alpha").await?;
    accounts.open(&two, "beta").await?;
    assert_eq!(accounts.names(&one).await?, ["alpha"]);
    assert_eq!(accounts.names(&two).await?, ["beta"]);
    Ok(())
}

#[tokio::test]
async fn integer_keys_sqlite() {
    run::<Sqlite, _, _>(integer_keys).await
}
#[tokio::test]
async fn integer_keys_postgres() {
    run::<Postgres, _, _>(integer_keys).await
}
#[tokio::test]
async fn integer_keys_mysql() {
    run::<MySql, _, _>(integer_keys).await
}

#[tenant_repository(backends(sqlite, postgres, mysql))]
pub trait Notes {
    #[sql("INSERT INTO notes (tenant_id, body) VALUES (:tenant, :body)")]
    async fn write(&self, body: &str) -> Result<u64>;

    #[sql("SELECT body FROM notes WHERE tenant_id = :tenant")]
    async fn read(&self) -> Result<Vec<String>>;
}

async fn uuid_keys<DB: Backend>(db: Db<DB>, uuid_type: &str) -> Result<()>
where
    NotesRepo<DB>: Notes,
{
    DB::execute(
        &db,
        &format!("CREATE TABLE notes (id {}, tenant_id {uuid_type} NOT NULL, body VARCHAR(50) NOT NULL)", DB::AUTO_ID),
    )
    .await?;
    let notes = NotesRepo::new(&db);
    let a = db.scope(uuid::Uuid::from_u128(0xA))?;
    let b = db.scope(uuid::Uuid::from_u128(0xB))?;
    notes.write(&a, "for a").await?;
    notes.write(&b, "for b").await?;
    assert_eq!(notes.read(&a).await?, ["for a"]);
    assert_eq!(notes.read(&b).await?, ["for b"]);
    Ok(())
}

#[tokio::test]
async fn uuid_keys_sqlite() {
    run::<Sqlite, _, _>(|db| uuid_keys(db, "BLOB")).await
}
#[tokio::test]
async fn uuid_keys_postgres() {
    run::<Postgres, _, _>(|db| uuid_keys(db, "UUID")).await
}
#[tokio::test]
async fn uuid_keys_mysql() {
    run::<MySql, _, _>(|db| uuid_keys(db, "BINARY(16)")).await
}

/// A repository trait does not name its backend (it is used as `&impl Trait` and `dyn
/// Trait`), so a transaction of another backend reaches a method at run time: it is
/// refused like another `Db`'s, before any SQL.
async fn a_transaction_of_another_backend_is_refused(pg: Db<Postgres>) -> Result<()> {
    schema(&pg).await?;
    let lite = tenantry_tests::sqlite().await;
    schema(&lite).await?;
    let on_pg = LedgerRepo::new(&pg);
    let tx = lite.begin(&lite.scope(tenant("acme"))?).await?;
    let e = on_pg.add(&tx, "Road Runner", 1).await.expect_err("a SQLite transaction on PostgreSQL");
    assert!(e.is_foreign_transaction(), "{e:?}");
    let e = on_pg.count(&tx).await.expect_err("a read too");
    assert!(e.is_foreign_transaction(), "{e:?}");
    tx.rollback().await?;
    assert_eq!(on_pg.total(&pg.unscoped("test")?).await?, 0);
    Ok(())
}

#[tokio::test]
async fn a_transaction_of_another_backend_is_refused_postgres() {
    run::<Postgres, _, _>(a_transaction_of_another_backend_is_refused).await
}

/// A transaction belongs to the `Db` that began it. On a repository of another `Db` it
/// would run on the first database's connection under the second one's policy and audit:
/// a read-only tenant of the first could write to it, unaudited. Such a call is refused
/// before any SQL, with a typed error; the transaction itself stays usable.
#[tokio::test]
async fn a_transaction_of_another_db_is_refused() -> Result<()> {
    let first = tenantry_tests::sqlite().await;
    let second = tenantry_tests::sqlite().await;
    schema(&first).await?;
    schema(&second).await?;
    let (on_first, on_second) = (LedgerRepo::new(&first), LedgerRepo::new(&second));

    let tx = first.begin(&first.scope(tenant("acme"))?).await?;
    let e = on_second.add(&tx, "Road Runner", 1).await.expect_err("another Db's transaction");
    assert!(e.is_foreign_transaction(), "{e:?}");
    let cause = std::error::Error::source(&e).map(|c| c.to_string()).unwrap_or_default();
    assert!(cause.contains("another `Db`"), "{cause}");
    // The transaction is untouched, and works on its own Db's repositories.
    on_first.add(&tx, "Wile E.", 2).await?;
    tx.commit().await?;
    assert_eq!(on_first.total(&first.unscoped("test")?).await?, 1);
    assert_eq!(on_second.total(&second.unscoped("test")?).await?, 0);

    // One pool, two `Db`s: a transaction of the one where acme is read-only cannot
    // write through a repository of the other, whose policy would let it.
    let read_only = Db::builder(first.pool().clone()).policy(ReadOnly(TenantSet::new(["acme"]))).build();
    let tx = read_only.begin(&read_only.scope(tenant("acme"))?).await?;
    let e = on_first.add(&tx, "Hank", 3).await.expect_err("another Db's transaction");
    assert!(e.is_foreign_transaction(), "{e:?}");
    // Its own Db's repository refuses the write by policy; a clone of a Db is that Db.
    assert!(LedgerRepo::new(&read_only.clone()).add(&tx, "Hank", 3).await.expect_err("read-only").is_denied());
    assert_eq!(LedgerRepo::new(&read_only.clone()).count(&tx).await?, 1);
    tx.rollback().await?;
    Ok(())
}
