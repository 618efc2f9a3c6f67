//! An audit sink that is full or gone never holds up or fails a repository call.

use std::sync::Arc;

use tenantry::audit::ChannelSink;
use tenantry::{Db, TenantId};
use tenantry_tests::notes::{self, Notes, NotesRepo};

#[tokio::test]
async fn a_full_or_closed_audit_channel_neither_blocks_nor_fails_a_call() {
    let db = notes::db().await;
    let (sink, receiver) = ChannelSink::new(1);
    let audited = Db::builder(db.pool().clone()).audit(Arc::new(sink)).build();
    let notes = NotesRepo::new(&audited);
    let acme = audited.scope(TenantId::parse("acme").unwrap()).unwrap();
    // Nobody drains the channel: the first event fills it, the rest are dropped.
    for n in 0..5 {
        notes.write(&acme, &format!("n{n}")).await.unwrap();
    }
    assert_eq!(audited.audit_failures(), 5);
    drop(receiver);
    notes.write(&acme, "after the receiver is gone").await.unwrap();
    assert_eq!(audited.audit_failures(), 6);
    assert_eq!(notes.read(&acme).await.unwrap().len(), 6);
}
