//! Each repository call runs in a `tenantry.query` span with the tenant, repository,
//! method, kind, rows and duration.
//!
//! Alone in its binary: `tracing` caches per call site whether anyone listens, and a test
//! running beside this one without a subscriber could settle that before this one installs
//! its own.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use tenantry::TenantId;
use tenantry_tests::notes::{self, Notes, NotesRepo};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Metadata, Subscriber};

/// A span's name and its fields, as text.
type Recorded = (String, HashMap<String, String>);

/// Records every span's name and fields.
#[derive(Clone, Default)]
struct Spans {
    next: Arc<AtomicU64>,
    spans: Arc<Mutex<HashMap<u64, Recorded>>>,
}

struct Fields<'a>(&'a mut HashMap<String, String>);

impl Visit for Fields<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0.insert(field.name().to_string(), format!("{value:?}"));
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().to_string(), value.to_string());
    }
}

impl Subscriber for Spans {
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, span: &Attributes<'_>) -> Id {
        let id = self.next.fetch_add(1, Ordering::Relaxed) + 1;
        let mut fields = HashMap::new();
        span.record(&mut Fields(&mut fields));
        self.spans.lock().unwrap().insert(id, (span.metadata().name().to_string(), fields));
        Id::from_u64(id)
    }
    fn record(&self, span: &Id, values: &Record<'_>) {
        if let Some((_, fields)) = self.spans.lock().unwrap().get_mut(&span.into_u64()) {
            values.record(&mut Fields(fields));
        }
    }
    fn record_follows_from(&self, _: &Id, _: &Id) {}
    fn event(&self, _: &Event<'_>) {}
    fn enter(&self, _: &Id) {}
    fn exit(&self, _: &Id) {}
}

#[tokio::test]
async fn each_call_runs_in_a_span_with_tenant_method_kind_rows_and_duration() {
    let spans = Spans::default();
    let _installed = tracing::subscriber::set_default(spans.clone());
    let db = notes::db().await;
    let notes = NotesRepo::new(&db);
    let acme = db.scope(TenantId::parse("acme").unwrap()).unwrap();
    notes.write(&acme, "one").await.unwrap();
    notes.write(&acme, "two").await.unwrap();
    assert_eq!(notes.read(&acme).await.unwrap(), ["one", "two"]);

    let recorded = spans.spans.lock().unwrap();
    let queries: Vec<&HashMap<String, String>> =
        recorded.values().filter(|(name, _)| name == "tenantry.query").map(|(_, f)| f).collect();
    assert_eq!(queries.len(), 3, "one span per call");
    let read = queries.iter().find(|f| f["method"] == "read").expect("the read's span");
    assert_eq!(read["tenant"], "acme");
    assert_eq!(read["repository"], "Notes");
    assert_eq!(read["kind"], "read");
    assert_eq!(read["rows"], "2");
    assert!(read["duration_us"].parse::<u64>().is_ok(), "{read:?}");
    assert!(queries.iter().filter(|f| f["method"] == "write").all(|f| f["kind"] == "write" && f["rows"] == "1"));
}
