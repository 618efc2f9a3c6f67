//! The guard path alone, without SQL.
//!
//! - `guard/scope/*`: `db.scope(tenant)` (admission: policy check and audit event), with no
//!   policy and no sink, with an in-memory sink, with a policy, with a `tracing`
//!   subscriber installed.
//! - `guard/call/*`: what a generated method adds around its statement, `__private::begin`
//!   (policy, span) and `Call::end` (span fields, audit event), in the same settings. The
//!   `disabled` case is the figure to compare with TenantShield's disabled gate (~6 ns).
//!
//! ```text
//! cargo bench -p tenantry --bench guard -- --warm-up-time 1 --measurement-time 3
//! ```

use std::future::Future;
use std::hint::black_box;
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion};
use sqlx::Sqlite;
use tenantry::__private::{Method, begin};
use tenantry::audit::MemorySink;
use tenantry::policy::{AllowList, TenantSet};
use tenantry::{Db, ReadGuard, Scope, TenantId};

static METHOD: Method = Method { repository: "Invoices", name: "find", writes: false };

/// Polls a future that never waits (the policy-free paths of `begin` do not).
fn now<F: Future>(f: F) -> F::Output {
    let mut f = pin!(f);
    match f.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(v) => v,
        Poll::Pending => panic!("the guard path waited"),
    }
}

/// One generated call's overhead, as `macros/src/expand.rs` writes it around the
/// statement: the guard's subject, `begin`, then `end` with a one-row result.
#[inline(always)]
fn call(db: &Db<Sqlite>, scope: &Scope) -> tenantry::Result<u64> {
    let subject = ReadGuard::<Sqlite>::subject(scope);
    let call = now(begin(db, &METHOD, subject))?;
    call.end(Ok(1_u64), |v| Some(*v))
}

/// Times `iters` runs of `f`, clearing the sink every 10 000 (outside the clock) so that
/// memory stays flat.
fn timed_with_sink(iters: u64, sink: &MemorySink, mut f: impl FnMut()) -> Duration {
    let mut total = Duration::ZERO;
    let mut left = iters;
    while left > 0 {
        let n = left.min(10_000);
        let start = Instant::now();
        for _ in 0..n {
            f();
        }
        total += start.elapsed();
        sink.clear();
        left -= n;
    }
    total
}

fn main() {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("tokio runtime");
    let pool =
        rt.block_on(async { sqlx::sqlite::SqlitePoolOptions::new().connect_lazy("sqlite::memory:") }).expect("pool");
    let tenant = TenantId::parse("acme").expect("tenant id");

    let plain = Db::new(pool.clone());
    let sink = Arc::new(MemorySink::default());
    let audited = Db::builder(pool.clone()).audit(sink.clone()).build();
    let guarded = Db::builder(pool.clone()).policy(AllowList(TenantSet::new(["acme", "globex"]))).build();
    let scope = plain.scope(tenant.clone()).expect("scope");

    let mut c = Criterion::default().configure_from_args();

    // The cases without a subscriber run first: a subscriber installed later changes
    // tracing's per-callsite interest cache.
    let mut g = c.benchmark_group("guard/scope");
    g.bench_function(BenchmarkId::from_parameter("no_policy_no_sink"), |b| {
        b.iter(|| black_box(plain.scope(black_box(&tenant).clone()).unwrap()))
    });
    g.bench_function(BenchmarkId::from_parameter("memory_sink"), |b| {
        b.iter_custom(|iters| {
            timed_with_sink(iters, &sink, || drop(black_box(audited.scope(black_box(&tenant).clone()).unwrap())))
        })
    });
    g.bench_function(BenchmarkId::from_parameter("allow_list_policy"), |b| {
        b.iter(|| black_box(guarded.scope(black_box(&tenant).clone()).unwrap()))
    });
    g.finish();

    let mut g = c.benchmark_group("guard/call");
    g.bench_function(BenchmarkId::from_parameter("disabled"), |b| {
        b.iter(|| black_box(call(black_box(&plain), black_box(&scope)).unwrap()))
    });
    g.bench_function(BenchmarkId::from_parameter("memory_sink"), |b| {
        b.iter_custom(|iters| {
            timed_with_sink(iters, &sink, || {
                black_box(call(black_box(&audited), black_box(&scope)).unwrap());
            })
        })
    });
    g.bench_function(BenchmarkId::from_parameter("allow_list_policy"), |b| {
        b.iter(|| black_box(call(black_box(&guarded), black_box(&scope)).unwrap()))
    });
    g.finish();

    // A real subscriber that formats to nowhere: tenantry's spans are enabled (INFO) and
    // built, their fields recorded; the output costs nothing.
    let subscriber = tracing_subscriber::fmt().with_writer(std::io::sink).finish();
    let installed = tracing::subscriber::set_default(subscriber);
    let mut g = c.benchmark_group("guard/scope_with_subscriber");
    g.bench_function(BenchmarkId::from_parameter("no_policy_no_sink"), |b| {
        b.iter(|| black_box(plain.scope(black_box(&tenant).clone()).unwrap()))
    });
    g.finish();
    let mut g = c.benchmark_group("guard/call_with_subscriber");
    g.bench_function(BenchmarkId::from_parameter("no_policy_no_sink"), |b| {
        b.iter(|| black_box(call(black_box(&plain), black_box(&scope)).unwrap()))
    });
    g.bench_function(BenchmarkId::from_parameter("memory_sink"), |b| {
        b.iter_custom(|iters| {
            timed_with_sink(iters, &sink, || {
                black_box(call(black_box(&audited), black_box(&scope)).unwrap());
            })
        })
    });
    g.finish();
    drop(installed);

    // A subscriber that is installed but filters tenantry out (level WARN): the span is
    // disabled, so the call takes the fast path again.
    let quiet = tracing_subscriber::fmt().with_writer(std::io::sink).with_max_level(tracing::Level::WARN).finish();
    let installed = tracing::subscriber::set_default(quiet);
    let mut g = c.benchmark_group("guard/call_with_warn_subscriber");
    g.bench_function(BenchmarkId::from_parameter("no_policy_no_sink"), |b| {
        b.iter(|| black_box(call(black_box(&plain), black_box(&scope)).unwrap()))
    });
    g.finish();
    drop(installed);

    c.final_summary();
}
