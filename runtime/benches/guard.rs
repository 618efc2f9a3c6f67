//! The guard path alone, without SQL.
//!
//! - `guard/scope/*`: `db.scope(tenant)` (admission: policy check and audit event), with no
//!   policy and no sink, with an in-memory sink, with a policy, with a `tracing`
//!   subscriber installed.
//! - `guard/call/*`: what a generated method adds around its statement, exactly as
//!   `macros/src/expand.rs` (`body()`) writes it: `__private::quiet` first (the synchronous
//!   fast path: no policy, no sink, no subscriber for tenantry), and only when it returns
//!   `None` the guard's subject and `__private::begin(..).await` (policy, span); then
//!   `Call::end` (span fields, audit event), in the same settings. The `no_policy_no_sink`
//!   case is the figure to compare with TenantShield's disabled gate (~6 ns per call).
//!
//! `+fmt_subscriber`: a `tracing` subscriber that formats to nowhere is installed;
//! `+warn_subscriber`: one that filters tenantry's INFO spans out.
//!
//! ```text
//! cargo bench -p tenantry --features sqlite --bench guard -- --warm-up-time 1 --measurement-time 3
//! ```

use std::future::Future;
use std::hint::black_box;
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion};
use sqlx::Sqlite;
use tenantry::__private::{Method, begin, quiet};
use tenantry::audit::MemorySink;
use tenantry::policy::{AllowList, TenantSet};
use tenantry::{Db, ReadGuard, Scope, TenantId};

static METHOD: Method = Method { repository: "Invoices", name: "find", writes: false };

/// Polls a future that never waits (the paths of `begin` timed here do not: no policy, or
/// a synchronous allow-list).
fn now<F: Future>(f: F) -> F::Output {
    let mut f = pin!(f);
    match f.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(v) => v,
        Poll::Pending => panic!("the guard path waited"),
    }
}

/// One generated call's overhead, as `macros/src/expand.rs` writes it around the
/// statement: `quiet`, and only when it returns `None` the guard's subject and `begin`;
/// then `end` with a one-row result. (Generated code `.await`s `begin` inside its own
/// future; here it is polled once in place, since it never waits in these settings.)
#[inline(always)]
fn call(db: &Db<Sqlite>, scope: &Scope) -> tenantry::Result<u64> {
    let call = match quiet(db, &METHOD) {
        Some(call) => call,
        None => now(begin(db, &METHOD, ReadGuard::view(scope).subject()))?,
    };
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
    // (name, Db, its sink): the sink is cleared outside the clock.
    let settings: [(&str, &Db<Sqlite>, Option<&MemorySink>); 3] = [
        ("no_policy_no_sink", &plain, None),
        ("memory_sink", &audited, Some(&sink)),
        ("allow_list_policy", &guarded, None),
    ];
    for what in ["scope", "call"] {
        let mut g = c.benchmark_group(format!("guard/{what}"));
        // Without a subscriber first: installing one changes tracing's per-callsite
        // interest cache for the rest of the process.
        for listener in [Listener::None, Listener::Fmt, Listener::FmtWarn] {
            let _installed = listener.install();
            for (name, db, sink) in settings {
                if listener != Listener::None && name == "allow_list_policy" {
                    continue;
                }
                let id = BenchmarkId::from_parameter(format!("{name}{}", listener.suffix()));
                g.bench_function(id, |b| {
                    let run = || match what {
                        "scope" => drop(black_box(db.scope(black_box(&tenant).clone()).unwrap())),
                        _ => {
                            black_box(call(black_box(db), black_box(&scope)).unwrap());
                        }
                    };
                    match sink {
                        Some(sink) => b.iter_custom(|iters| timed_with_sink(iters, sink, run)),
                        None => b.iter(run),
                    }
                });
            }
        }
        g.finish();
    }
    c.final_summary();
}

/// Who listens to `tracing` while a case runs.
#[derive(Clone, Copy, PartialEq)]
enum Listener {
    /// No subscriber.
    None,
    /// A real subscriber that formats to nowhere: tenantry's spans (INFO) are enabled and
    /// built, their fields recorded; the output costs nothing.
    Fmt,
    /// A subscriber that filters tenantry out (WARN): its spans are disabled.
    FmtWarn,
}

impl Listener {
    fn install(self) -> Option<tracing::subscriber::DefaultGuard> {
        let fmt = tracing_subscriber::fmt().with_writer(std::io::sink);
        match self {
            Listener::None => None,
            Listener::Fmt => Some(tracing::subscriber::set_default(fmt.finish())),
            Listener::FmtWarn => {
                Some(tracing::subscriber::set_default(fmt.with_max_level(tracing::Level::WARN).finish()))
            }
        }
    }

    fn suffix(self) -> &'static str {
        match self {
            Listener::None => "",
            Listener::Fmt => "+fmt_subscriber",
            Listener::FmtWarn => "+warn_subscriber",
        }
    }
}
