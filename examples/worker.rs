//! A background worker: jobs cross a queue (here a tokio channel of JSON messages)
//! carrying a signed [`JobClaim`] instead of a guard. The worker re-admits the tenant with
//! `db.redeem`, which checks the signature and the expiry, asks the policy again and
//! audits the outcome; only then does it get a `Scope` to work with.
//!
//! Run it with `cargo run --example worker`. It sends the invoices of `acme` and
//! `globex`, refuses a claim whose tenant was edited from `acme` to `globex`, and refuses
//! a genuine claim of a tenant suspended after the claim was issued.

use std::error::Error;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tenantry::audit::AuditKind;
use tenantry::{JobClaim, TenantId};
use tenantry_examples::service_app::{Invoices, Service, Tenants, memory_sqlite};
use tokio::sync::mpsc;

/// What travels through the queue.
#[derive(Debug, Serialize, Deserialize)]
struct Job {
    /// For which tenant, signed.
    claim: JobClaim,
    /// What to do.
    task: Task,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Task {
    /// Mark every unsent invoice sent and report their total.
    SendInvoices,
}

/// The worker: takes jobs until the queue closes.
async fn work(service: Service<sqlx::Sqlite>, mut queue: mpsc::Receiver<String>) {
    while let Some(message) = queue.recv().await {
        let job: Job = match serde_json::from_str(&message) {
            Ok(job) => job,
            Err(e) => {
                println!("worker: dropped a malformed job: {e}");
                continue;
            }
        };
        // The only way from a queued job to a guard.
        let scope: tenantry::Scope = match service.db().redeem(&job.claim) {
            Ok(scope) => scope,
            Err(e) => {
                println!("worker: REFUSED a job claiming tenant `{}`: {e}", job.claim.tenant);
                continue;
            }
        };
        let tenant = scope.tenant().as_str().to_string();
        let outcome = async {
            match job.task {
                Task::SendInvoices => {
                    // Total and marking in one transaction for the redeemed tenant, whose
                    // own row of the tenant table names it.
                    let tx = service.db().begin(&scope).await?;
                    let name = service.tenants().profile(&tx).await?.map_or_else(String::new, |t| t.name);
                    let total = service.invoices().unsent_total(&tx).await?;
                    let sent = service.invoices().mark_sent(&tx).await?;
                    tx.commit().await?;
                    Ok::<_, tenantry::Error>((name, sent, total))
                }
            }
        };
        match outcome.await {
            Ok((name, sent, total)) => {
                println!("worker: {tenant} ({name}): sent {sent} invoice(s) totalling {total} cents")
            }
            Err(e) => {
                // tenantry::Error's Display is its own message; the database's is its source.
                let cause = std::error::Error::source(&e).map(|c| format!(": {c}")).unwrap_or_default();
                println!("worker: {tenant}: job failed: {e}{cause}");
            }
        }
    }
}

/// Runs the worker over `jobs` until all are done.
async fn run_batch(service: &Service<sqlx::Sqlite>, jobs: Vec<String>) -> Result<(), Box<dyn Error>> {
    let (queue, received) = mpsc::channel(16);
    let worker = tokio::spawn(work(service.clone(), received));
    for job in jobs {
        queue.send(job).await?;
    }
    drop(queue);
    worker.await?;
    Ok(())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    let service = Service::open(memory_sqlite().await?).await?;
    let db = service.db();
    let ttl = Duration::from_secs(15 * 60);

    // The producer side, e.g. a request handler: it holds a scope and hands the job a
    // claim for that scope's tenant.
    let acme = db.scope(TenantId::parse("acme")?)?;
    let globex = db.scope(TenantId::parse("globex")?)?;
    let job = |claim| serde_json::to_string(&Job { claim, task: Task::SendInvoices });
    let acme_job = job(db.claim(&acme, ttl)?)?;
    let globex_job = job(db.claim(&globex, ttl)?)?;

    // Someone edits acme's job on the queue to act for globex instead.
    let mut tampered: serde_json::Value = serde_json::from_str(&acme_job)?;
    tampered["claim"]["tenant"] = "globex".into();
    let tampered = tampered.to_string();
    println!("producer: queued send_invoices for acme and for globex, and a copy of acme's job edited to name globex");

    run_batch(&service, vec![acme_job, tampered, globex_job]).await?;

    // A genuine claim, issued before its tenant is suspended, is refused afterwards:
    // redeeming asks the policy again.
    let late_job = job(db.claim(&globex, ttl)?)?;
    service.suspended().insert("globex");
    println!("producer: queued another job for globex, then suspended globex");
    run_batch(&service, vec![late_job]).await?;

    println!("audit trail of the claims:");
    for event in service.audit().events() {
        if matches!(event.kind, AuditKind::ClaimIssued | AuditKind::ClaimRedeemed | AuditKind::ClaimRefused { .. }) {
            println!("  {:<7} {}", event.tenant.as_deref().unwrap_or("-"), event.kind);
        }
    }
    let refused = service.audit().events().iter().filter(|e| matches!(e.kind, AuditKind::ClaimRefused { .. })).count();
    assert_eq!(refused, 2, "the tampered claim and the suspended tenant's claim are refused");
    Ok(())
}
