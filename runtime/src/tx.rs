//! [`ScopedTx`]: a transaction that is also a scope guard.

use std::fmt;
use std::ops::{Deref, DerefMut};

use sqlx::pool::PoolConnection;
use sqlx::{Database, Transaction};
use tokio::sync::Mutex;

use crate::audit::AuditKind;
use crate::pins::Lent;
use crate::{Db, Result, TenantId, TenantKey};

/// A transaction for one tenant, made by [`Db::begin`]. Repository methods accept
/// `&tx` as their guard and run on the transaction's connection, binding its tenant.
///
/// [`commit`](ScopedTx::commit) and [`rollback`](ScopedTx::rollback) consume it, so it
/// cannot be used afterwards; dropping it rolls back.
///
/// Calls through one transaction are serialised (a transaction is one connection);
/// a [`RowStream`](crate::RowStream) read inside a transaction is fetched whole before
/// its first row is yielded.
pub struct ScopedTx<DB: Database, K: TenantKey = TenantId> {
    tenant: K,
    pub(crate) state: TxState<DB>,
}

/// The transaction and the `Db` that began it, apart from the tenant's key type: a
/// repository method finds it behind the guard it was given, whatever that guard's key.
pub(crate) struct TxState<DB: Database> {
    pub(crate) tx: Option<Mutex<TxConn<DB>>>,
    /// A pinned connection's place, given back after the transaction (fields drop in
    /// order).
    _lent: Option<Lent>,
    pub(crate) db: Db<DB>,
}

impl<DB: Database, K: TenantKey> ScopedTx<DB, K> {
    pub(crate) fn new(tenant: K, tx: TxConn<DB>, lent: Option<Lent>, db: Db<DB>) -> Self {
        ScopedTx { tenant, state: TxState { tx: Some(Mutex::new(tx)), _lent: lent, db } }
    }

    /// The tenant this transaction is confined to.
    pub fn tenant(&self) -> &K {
        &self.tenant
    }

    /// Commits the transaction.
    pub async fn commit(mut self) -> Result<()> {
        if let Some(tx) = self.state.tx.take() {
            tx.into_inner().commit().await?;
            self.state.db.record(Some(&self.tenant.key_str()), AuditKind::TxCommitted);
        }
        Ok(())
    }

    /// Rolls the transaction back.
    pub async fn rollback(mut self) -> Result<()> {
        if let Some(tx) = self.state.tx.take() {
            tx.into_inner().rollback().await?;
            self.state.db.record(Some(&self.tenant.key_str()), AuditKind::TxRolledBack);
        }
        Ok(())
    }
}

impl<DB: Database, K: TenantKey> Drop for ScopedTx<DB, K> {
    fn drop(&mut self) {
        // sqlx rolls back a transaction dropped without commit.
        if self.state.tx.is_some() {
            self.state.db.record(Some(&self.tenant.key_str()), AuditKind::TxRolledBack);
        }
    }
}

impl<DB: Database, K: TenantKey> fmt::Debug for ScopedTx<DB, K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ScopedTx").field("tenant", &self.tenant).finish()
    }
}

/// The connection of a [`ScopedTx`]: a sqlx transaction, or under row-level security one
/// tenantry began itself ([`OwnTx`]).
pub(crate) enum TxConn<DB: Database> {
    Sqlx(Transaction<'static, DB>),
    Own(OwnTx<DB>),
}

impl<DB: Database> TxConn<DB> {
    pub(crate) async fn commit(self) -> std::result::Result<(), sqlx::Error> {
        match self {
            TxConn::Sqlx(tx) => tx.commit().await,
            TxConn::Own(tx) => tx.end("COMMIT").await,
        }
    }

    pub(crate) async fn rollback(self) -> std::result::Result<(), sqlx::Error> {
        match self {
            TxConn::Sqlx(tx) => tx.rollback().await,
            TxConn::Own(tx) => tx.end("ROLLBACK").await,
        }
    }
}

impl<DB: Database> Deref for TxConn<DB> {
    type Target = DB::Connection;
    fn deref(&self) -> &DB::Connection {
        match self {
            TxConn::Sqlx(tx) => tx,
            TxConn::Own(tx) => tx,
        }
    }
}

impl<DB: Database> DerefMut for TxConn<DB> {
    fn deref_mut(&mut self) -> &mut DB::Connection {
        match self {
            TxConn::Sqlx(tx) => tx,
            TxConn::Own(tx) => tx,
        }
    }
}

/// A transaction tenantry begins itself on a pooled connection, for row-level security:
/// until it has ended with `COMMIT` or `ROLLBACK`, dropping it closes the connection (the
/// server then rolls back), so it never goes back to the pool inside a transaction.
///
/// sqlx's own `begin_with` is not enough: a future cancelled after the `BEGIN` was sent
/// and before its reply returns the connection inside that transaction (sqlx 0.9 counts
/// the transaction only once the reply is read, and rolls back only counted ones), and
/// here that transaction holds a tenant, which the next user of the connection would read
/// as. Closing costs a reconnect, only when a call is cancelled or fails midway.
pub(crate) struct OwnTx<DB: Database> {
    conn: PoolConnection<DB>,
    exec: RawExec<DB>,
    open: bool,
}

/// Runs a simple query on a connection: set by [`row_level_security`](crate::DbBuilder::row_level_security)
/// for PostgreSQL, so that the generic code needs no `Executor` bound.
pub(crate) type RawExec<DB> = for<'c> fn(
    &'c mut <DB as Database>::Connection,
    &'c str,
) -> crate::BoxFuture<'c, std::result::Result<(), sqlx::Error>>;

impl<DB: Database> OwnTx<DB> {
    /// Runs `begin` (a simple query that begins the transaction) on `conn`.
    pub(crate) async fn begin(
        conn: PoolConnection<DB>,
        begin: &str,
        exec: RawExec<DB>,
    ) -> std::result::Result<Self, sqlx::Error> {
        // Armed before the first byte is sent: a cancellation from here on closes.
        let mut tx = OwnTx { conn, exec, open: true };
        (tx.exec)(&mut tx.conn, begin).await?;
        Ok(tx)
    }

    /// Ends the transaction with `end` (`COMMIT` or `ROLLBACK`).
    pub(crate) async fn end(mut self, end: &'static str) -> std::result::Result<(), sqlx::Error> {
        (self.exec)(&mut self.conn, end).await?;
        self.open = false;
        Ok(())
    }
}

impl<DB: Database> Deref for OwnTx<DB> {
    type Target = DB::Connection;
    fn deref(&self) -> &DB::Connection {
        &self.conn
    }
}

impl<DB: Database> DerefMut for OwnTx<DB> {
    fn deref_mut(&mut self) -> &mut DB::Connection {
        &mut self.conn
    }
}

impl<DB: Database> Drop for OwnTx<DB> {
    fn drop(&mut self) {
        if self.open {
            self.conn.close_on_drop();
        }
    }
}
