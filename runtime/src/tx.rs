//! [`ScopedTx`]: a transaction that is also a scope guard.

use std::fmt;

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
    pub(crate) tx: Option<Mutex<Transaction<'static, DB>>>,
    /// A pinned connection's place, given back after the transaction (fields drop in
    /// order).
    _lent: Option<Lent>,
    pub(crate) db: Db<DB>,
}

impl<DB: Database, K: TenantKey> ScopedTx<DB, K> {
    pub(crate) fn new(tenant: K, tx: Transaction<'static, DB>, lent: Option<Lent>, db: Db<DB>) -> Self {
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
