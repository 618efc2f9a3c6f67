//! The invoice service of `cargo run --example service`, as a library so that the
//! end-to-end tests (`tests/tests/web.rs`) drive exactly the code the example runs.
//!
//! - **Who is the tenant?** The caller sends an API key as `Authorization: Bearer <key>`;
//!   a [`Strategy::custom`] resolver maps the key to its tenant. A missing or unknown key
//!   is a 401 before any handler runs.
//! - **Policy**: [`DenySuspended`] refuses the suspended tenant `initech` (403
//!   `tenant_denied`), at admission and again before every repository call.
//! - **Audit**: every admission, query and transaction goes to a [`MemorySink`];
//!   `GET /audit` shows the caller its own tenant's events, never another's.
//! - **Transactions**: `POST`, `PATCH` and `DELETE` change an invoice and its history in
//!   one [`ScopedTx`](tenantry::ScopedTx), which is itself the guard of every call in it.
//! - Another tenant's invoice id is a 404, exactly like an id that does not exist.
//! - **The schema** is `migrations/` (run by [`Service::open`]), the tables the macro
//!   checks every statement against: `tenants` (the tenant table, `GET /tenant`),
//!   `countries` (global), `invoices` and `invoice_history` (tenant column `tenant_id`)
//!   and `invoice_lines`, a child table confined through its invoice
//!   (`GET|POST /invoices/{id}/lines`). PostgreSQL runs `migrations/postgres/`, the
//!   same tables with identity ids.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::time::UNIX_EPOCH;

use axum::extract::rejection::{JsonRejection, PathRejection};
use axum::extract::{FromRequest, FromRequestParts, Path, Request, State};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use sqlx::{Database, Pool, Postgres, Sqlite};
use tenantry::audit::MemorySink;
use tenantry::policy::{DenySuspended, TenantSet};
use tenantry::web::{Strategy, TenantResolver, WebError, bearer, resolve_fn};
use tenantry::{Db, Result, Scope, TenantId, tenant_repository};

/// The demo API keys and the tenant each one acts for.
pub const DEMO_API_KEYS: [(&str, &str); 3] =
    [("acme-secret", "acme"), ("globex-secret", "globex"), ("initech-secret", "initech")];

/// The tenant the demo starts with suspended.
pub const SUSPENDED_TENANT: &str = "initech";

/// The tenants' rows (tenant, name, country) seeded in the tenant table.
pub const TENANTS: [(&str, &str, &str); 2] =
    [("acme", "Acme Corporation", "US"), ("globex", "Globex Corporation", "FR")];

/// The invoices seeded for each tenant on an empty database.
pub const SEED: [(&str, &str, i64); 3] =
    [("acme", "Road Runner", 1_500), ("acme", "Wile E. Coyote", 990), ("globex", "Hank Scorpio", 25_000)];

/// The lines (customer of the invoice, description, amount) seeded with those invoices.
pub const SEED_LINES: [(&str, &str, i64); 2] =
    [("Road Runner", "Rocket skates", 1_200), ("Road Runner", "Bird seed", 300)];

/// Signs the job claims of the worker example. A real service reads it from a secret
/// store; `TENANTRY_CLAIM_KEY` (at least 32 bytes) overrides this demo value.
const DEMO_CLAIM_KEY: &str = "demo-only-claim-key-change-me-0123456789";

/// One invoice, as stored and as sent in JSON.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, Serialize, Deserialize)]
pub struct Invoice {
    /// Its id (unique across tenants; a foreign id reads as "not found").
    pub id: i64,
    /// Who pays.
    pub customer: String,
    /// How much, in cents.
    pub amount_cents: i64,
    /// Whether the worker has sent it.
    pub sent: bool,
}

/// One line of an invoice: a row of the child table `invoice_lines`.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, Serialize, Deserialize)]
pub struct Line {
    /// What was sold.
    pub description: String,
    /// For how much, in cents.
    pub amount_cents: i64,
}

/// The caller's own row of the tenant table, with its country's name from the global
/// `countries`.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, Serialize, Deserialize)]
pub struct TenantProfile {
    /// The tenant.
    pub id: String,
    /// Its name.
    pub name: String,
    /// Its country.
    pub country: String,
}

// `#[allow(deprecated)]` on each repository: the macro's schema lint warns (through the
// `deprecated` lint) that `invoice_lines` has no tenant column of its own; the example
// shows a child table on purpose.

/// The tenant table: its primary key is the tenant, so `id = :tenant` confines it.
#[allow(deprecated)]
#[tenant_repository(backends(sqlite, postgres))]
pub trait Tenants {
    #[sql(
        "SELECT t.id, t.name, c.name AS country FROM tenants t JOIN countries c ON c.code = t.country WHERE t.id = :tenant"
    )]
    async fn profile(&self) -> Result<Option<TenantProfile>>;

    #[sql("INSERT INTO tenants (id, name, country) VALUES (:tenant, :name, :country)")]
    async fn register(&self, name: &str, country: &str) -> Result<()>;
}

#[allow(deprecated)]
#[tenant_repository(backends(sqlite, postgres))]
pub trait Invoices {
    #[sql("SELECT id, customer, amount_cents, sent FROM invoices WHERE tenant_id = :tenant ORDER BY id")]
    async fn list(&self) -> Result<Vec<Invoice>>;

    #[sql("SELECT id, customer, amount_cents, sent FROM invoices WHERE tenant_id = :tenant AND id = :id")]
    async fn find(&self, id: i64) -> Result<Option<Invoice>>;

    #[sql(
        "INSERT INTO invoices (tenant_id, customer, amount_cents, sent)
           VALUES (:tenant, :customer, :amount, FALSE) RETURNING id"
    )]
    async fn create(&self, customer: &str, amount: i64) -> Result<i64>;

    /// Changes the fields given (`None` keeps the stored value).
    #[sql(
        "UPDATE invoices SET customer = COALESCE(:customer, customer), amount_cents = COALESCE(:amount, amount_cents)
          WHERE tenant_id = :tenant AND id = :id"
    )]
    async fn update(&self, id: i64, customer: Option<&str>, amount: Option<i64>) -> Result<u64>;

    #[sql("DELETE FROM invoices WHERE tenant_id = :tenant AND id = :id")]
    async fn delete(&self, id: i64) -> Result<u64>;

    #[sql("INSERT INTO invoice_history (tenant_id, invoice_id, what) VALUES (:tenant, :invoice, :what)")]
    async fn note(&self, invoice: i64, what: &str) -> Result<()>;

    #[sql("SELECT what FROM invoice_history WHERE tenant_id = :tenant AND invoice_id = :invoice ORDER BY id")]
    async fn history(&self, invoice: i64) -> Result<Vec<String>>;

    #[sql("DELETE FROM invoice_history WHERE tenant_id = :tenant AND invoice_id = :invoice")]
    async fn forget(&self, invoice: i64) -> Result<u64>;

    /// The child table, through a join to the tenant's invoice.
    #[sql(
        "SELECT l.description, l.amount_cents FROM invoice_lines l JOIN invoices i ON i.id = l.invoice_id
          WHERE i.tenant_id = :tenant AND i.id = :invoice ORDER BY l.id"
    )]
    async fn lines(&self, invoice: i64) -> Result<Vec<Line>>;

    /// The line's invoice key comes from the tenant's own invoice row: another tenant's
    /// invoice id finds none, and the NOT NULL `invoice_id` refuses the row.
    #[sql(
        "INSERT INTO invoice_lines (invoice_id, description, amount_cents)
           VALUES ((SELECT id FROM invoices WHERE tenant_id = :tenant AND id = :invoice), :description, :amount)"
    )]
    async fn add_line(&self, invoice: i64, description: &str, amount: i64) -> Result<()>;

    #[sql(
        "DELETE FROM invoice_lines
          WHERE invoice_id IN (SELECT id FROM invoices WHERE tenant_id = :tenant AND id = :invoice)"
    )]
    async fn forget_lines(&self, invoice: i64) -> Result<u64>;

    /// For the worker: what the tenant's unsent invoices add up to.
    #[sql(
        "SELECT CAST(COALESCE(SUM(amount_cents), 0) AS BIGINT) FROM invoices
          WHERE tenant_id = :tenant AND sent = FALSE"
    )]
    async fn unsent_total(&self) -> Result<i64>;

    /// For the worker: marks the tenant's unsent invoices sent.
    #[sql("UPDATE invoices SET sent = TRUE WHERE tenant_id = :tenant AND sent = FALSE")]
    async fn mark_sent(&self) -> Result<u64>;
}

/// A backend the service runs on. The handlers are generic over the backend, with their
/// trait bounds on one `impl` block; this trait instantiates them for SQLite and
/// PostgreSQL, so that callers only write `DB: ServiceBackend`.
pub trait ServiceBackend: Database {
    /// Runs the migrations not yet applied (`migrations/`; `migrations/postgres/` on
    /// PostgreSQL).
    fn migrate(pool: &Pool<Self>) -> impl Future<Output = Result<(), sqlx::Error>> + Send;

    /// Seeds the demo invoices if the tenants have none.
    fn seed(service: &Service<Self>) -> impl Future<Output = Result<()>> + Send;

    /// The service's routes (see [`Service::router`]).
    fn router(service: Service<Self>) -> Router;
}

macro_rules! service_backend {
    ($db:ty, $migrator:expr) => {
        impl ServiceBackend for $db {
            async fn migrate(pool: &Pool<Self>) -> Result<(), sqlx::Error> {
                Ok($migrator.run(pool).await?)
            }

            fn seed(service: &Service<Self>) -> impl Future<Output = Result<()>> + Send {
                service.seed_demo()
            }

            fn router(service: Service<Self>) -> Router {
                service.routes()
            }
        }
    };
}

// The macro checks statements against `migrations/`; PostgreSQL's copy differs only in
// its identity ids (lib.rs tests that both build the same catalog).
service_backend!(Sqlite, sqlx::migrate!("./migrations"));
service_backend!(Postgres, sqlx::migrate!("./migrations/postgres"));

/// An embedded, in-memory SQLite database. Each connection to `sqlite::memory:` is a
/// database of its own, so the pool holds exactly one connection and never closes it.
pub async fn memory_sqlite() -> Result<Pool<Sqlite>, sqlx::Error> {
    sqlx::pool::PoolOptions::<Sqlite>::new()
        .max_connections(1)
        .idle_timeout(None)
        .max_lifetime(None)
        .connect("sqlite::memory:")
        .await
}

/// Everything the handlers share: the [`Db`] (with its policy and audit sink), the
/// repository and the API keys. Cheap to clone.
pub struct Service<DB: Database> {
    db: Db<DB>,
    tenants: TenantsRepo<DB>,
    invoices: InvoicesRepo<DB>,
    audit: Arc<MemorySink>,
    suspended: TenantSet,
    keys: Arc<HashMap<String, TenantId>>,
}

impl<DB: Database> Clone for Service<DB> {
    fn clone(&self) -> Self {
        Service {
            db: self.db.clone(),
            tenants: self.tenants.clone(),
            invoices: self.invoices.clone(),
            audit: self.audit.clone(),
            suspended: self.suspended.clone(),
            keys: self.keys.clone(),
        }
    }
}

impl<DB: ServiceBackend> Service<DB> {
    /// Wraps `pool` in a [`Db`] with the [`DenySuspended`] policy (`initech` suspended),
    /// a [`MemorySink`] and a job-claim key; runs the migrations and seeds the demo data.
    pub async fn open(pool: Pool<DB>) -> Result<Self> {
        let audit = Arc::new(MemorySink::default());
        let suspended = TenantSet::new([SUSPENDED_TENANT]);
        let claim_key = std::env::var("TENANTRY_CLAIM_KEY").unwrap_or_else(|_| DEMO_CLAIM_KEY.to_string());
        let db = Db::builder(pool)
            .policy(DenySuspended(suspended.clone()))
            .audit(audit.clone())
            .claim_key(claim_key.into_bytes())
            .build();
        DB::migrate(db.pool()).await?;
        let keys = DEMO_API_KEYS
            .iter()
            .map(|&(key, tenant)| Ok((key.to_string(), TenantId::parse(tenant)?)))
            .collect::<Result<HashMap<_, _>>>()?;
        let service = Service {
            tenants: TenantsRepo::new(&db),
            invoices: InvoicesRepo::new(&db),
            db,
            audit,
            suspended,
            keys: Arc::new(keys),
        };
        DB::seed(&service).await?;
        Ok(service)
    }

    /// The axum application: `GET /` without a tenant, everything else behind the tenant
    /// layer.
    pub fn router(&self) -> Router {
        DB::router(self.clone())
    }

    /// The database, with the service's policy, audit sink and claim key.
    pub fn db(&self) -> &Db<DB> {
        &self.db
    }

    /// The tenant table's repository.
    pub fn tenants(&self) -> &TenantsRepo<DB> {
        &self.tenants
    }

    /// The invoice repository.
    pub fn invoices(&self) -> &InvoicesRepo<DB> {
        &self.invoices
    }

    /// The audit sink.
    pub fn audit(&self) -> &Arc<MemorySink> {
        &self.audit
    }

    /// The suspended tenants; change it while the service runs.
    pub fn suspended(&self) -> &TenantSet {
        &self.suspended
    }
}

/// `POST /invoices`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewInvoice {
    /// Who pays.
    pub customer: String,
    /// How much, in cents.
    pub amount_cents: i64,
}

/// `PATCH /invoices/{id}`: the fields to change.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InvoicePatch {
    /// A new customer.
    pub customer: Option<String>,
    /// A new amount.
    pub amount_cents: Option<i64>,
}

/// `POST /invoices/{id}/lines`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewLine {
    /// What was sold.
    pub description: String,
    /// For how much, in cents.
    pub amount_cents: i64,
}

/// One audit event in `GET /audit`.
#[derive(Debug, Serialize, Deserialize)]
pub struct AuditEntry {
    /// Milliseconds since the Unix epoch.
    pub at_ms: u64,
    /// What happened.
    pub event: String,
}

/// A handler's failure: a refusal of ours or a repository error. Both render as
/// `{"error": "...", "code": "..."}` (see `tenantry::web`).
#[derive(Debug)]
pub enum ApiError {
    /// A refusal with its status and code.
    Web(WebError),
    /// A repository error: a policy denial is a 403, anything unexpected a 500 that
    /// says nothing about the data.
    Db(tenantry::Error),
}

impl From<WebError> for ApiError {
    fn from(e: WebError) -> Self {
        ApiError::Web(e)
    }
}

impl From<tenantry::Error> for ApiError {
    fn from(e: tenantry::Error) -> Self {
        ApiError::Db(e)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        match self {
            ApiError::Web(e) => e.into_response(),
            ApiError::Db(e) => e.into_response(),
        }
    }
}

fn not_found() -> ApiError {
    ApiError::Web(WebError { status: StatusCode::NOT_FOUND, code: "not_found", message: "no such invoice".into() })
}

fn no_tenant_row() -> ApiError {
    ApiError::Web(WebError { status: StatusCode::NOT_FOUND, code: "not_found", message: "no such tenant".into() })
}

fn invalid_body(why: impl Into<String>) -> ApiError {
    ApiError::Web(WebError { status: StatusCode::UNPROCESSABLE_ENTITY, code: "invalid_body", message: why.into() })
}

/// A JSON body whose rejection (bad JSON, wrong fields, wrong content type) is a JSON
/// error with axum's status (400, 415 or 422) and code `invalid_body`.
pub struct JsonBody<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for JsonBody<T> {
    type Rejection = WebError;

    async fn from_request(req: Request, state: &S) -> Result<Self, WebError> {
        match Json::<T>::from_request(req, state).await {
            Ok(Json(value)) => Ok(JsonBody(value)),
            Err(rejection) => Err(body_rejection(rejection)),
        }
    }
}

fn body_rejection(r: JsonRejection) -> WebError {
    WebError { status: r.status(), code: "invalid_body", message: r.body_text() }
}

/// The `{id}` of a route; a non-integer is a 400 `invalid_id`.
pub struct InvoiceId(pub i64);

impl<S: Send + Sync> FromRequestParts<S> for InvoiceId {
    type Rejection = WebError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, WebError> {
        match Path::<i64>::from_request_parts(parts, state).await {
            Ok(Path(id)) => Ok(InvoiceId(id)),
            Err(rejection) => Err(path_rejection(rejection)),
        }
    }
}

fn path_rejection(r: PathRejection) -> WebError {
    WebError { status: StatusCode::BAD_REQUEST, code: "invalid_id", message: r.body_text() }
}

fn check_text(field: &str, value: &str) -> Result<(), ApiError> {
    match value.trim().chars().count() {
        0 => Err(invalid_body(format!("`{field}` is empty"))),
        201.. => Err(invalid_body(format!("`{field}` is longer than 200 characters"))),
        _ => Ok(()),
    }
}

fn check_customer(customer: &str) -> Result<(), ApiError> {
    check_text("customer", customer)
}

fn check_amount(amount: i64) -> Result<(), ApiError> {
    if amount < 0 { Err(invalid_body("`amount_cents` is negative")) } else { Ok(()) }
}

type ApiResult<T> = std::result::Result<T, ApiError>;

impl<DB> Service<DB>
where
    DB: ServiceBackend,
    TenantsRepo<DB>: Tenants,
    InvoicesRepo<DB>: Invoices,
{
    async fn seed_demo(&self) -> Result<()> {
        for (tenant, name, country) in TENANTS {
            let scope = self.db.scope(TenantId::parse(tenant)?)?;
            if self.tenants.profile(&scope).await?.is_none() {
                self.tenants.register(&scope, name, country).await?;
            }
            if self.invoices.list(&scope).await?.is_empty() {
                for (_, customer, amount) in SEED.iter().filter(|(t, ..)| *t == tenant) {
                    let id = self.invoices.create(&scope, customer, *amount).await?;
                    for (_, description, amount) in SEED_LINES.iter().filter(|(c, ..)| c == customer) {
                        self.invoices.add_line(&scope, id, description, *amount).await?;
                    }
                }
            }
        }
        Ok(())
    }

    fn routes(self) -> Router {
        let keys = self.keys.clone();
        // The API key is the credential and names the tenant: a custom strategy
        // authenticates the caller itself, so no separate hook is needed.
        let resolver = TenantResolver::builder(
            &self.db,
            Strategy::custom(resolve_fn(move |parts| {
                let key = bearer(&parts.headers)?;
                match keys.get(key) {
                    Some(tenant) => Ok(tenant.as_str().to_string()),
                    None => Err(WebError::unauthenticated("unknown API key")),
                }
            })),
        )
        .build()
        .expect("a custom strategy needs no authorization hook");

        let tenant_routes = Router::new()
            .route("/invoices", get(Self::list).post(Self::create))
            .route("/invoices/{id}", get(Self::find).patch(Self::update).delete(Self::delete))
            .route("/invoices/{id}/history", get(Self::history))
            .route("/invoices/{id}/lines", get(Self::lines).post(Self::add_line))
            .route("/tenant", get(Self::tenant))
            .route("/audit", get(Self::audit_trail))
            // `route_layer`: only matched routes resolve a tenant, so an unknown path is
            // a plain 404 and `GET /` below needs no credentials.
            .route_layer(resolver.layer());
        Router::new().route("/", get(Self::health)).merge(tenant_routes).with_state(self)
    }

    async fn health(State(svc): State<Self>) -> Json<serde_json::Value> {
        Json(serde_json::json!({
            "status": "ok",
            "backend": <DB as Database>::NAME,
            "audit_failures": svc.db.audit_failures(),
        }))
    }

    async fn list(State(svc): State<Self>, scope: Scope) -> ApiResult<Json<Vec<Invoice>>> {
        Ok(Json(svc.invoices.list(&scope).await?))
    }

    async fn find(State(svc): State<Self>, scope: Scope, InvoiceId(id): InvoiceId) -> ApiResult<Json<Invoice>> {
        svc.invoices.find(&scope, id).await?.map(Json).ok_or_else(not_found)
    }

    async fn create(
        State(svc): State<Self>,
        scope: Scope,
        JsonBody(new): JsonBody<NewInvoice>,
    ) -> ApiResult<(StatusCode, [(header::HeaderName, String); 1], Json<Invoice>)> {
        check_customer(&new.customer)?;
        check_amount(new.amount_cents)?;
        // The invoice and its first history line commit together or not at all.
        let tx = svc.db.begin(&scope).await?;
        let id = svc.invoices.create(&tx, new.customer.trim(), new.amount_cents).await?;
        svc.invoices.note(&tx, id, &format!("created: {} cents", new.amount_cents)).await?;
        let invoice = svc.invoices.find(&tx, id).await?.ok_or_else(not_found)?;
        tx.commit().await?;
        Ok((StatusCode::CREATED, [(header::LOCATION, format!("/invoices/{id}"))], Json(invoice)))
    }

    async fn update(
        State(svc): State<Self>,
        scope: Scope,
        InvoiceId(id): InvoiceId,
        JsonBody(patch): JsonBody<InvoicePatch>,
    ) -> ApiResult<Json<Invoice>> {
        if patch.customer.is_none() && patch.amount_cents.is_none() {
            return Err(invalid_body("nothing to change: give `customer` and/or `amount_cents`"));
        }
        if let Some(customer) = &patch.customer {
            check_customer(customer)?;
        }
        if let Some(amount) = patch.amount_cents {
            check_amount(amount)?;
        }
        let tx = svc.db.begin(&scope).await?;
        let customer = patch.customer.as_deref().map(str::trim);
        if svc.invoices.update(&tx, id, customer, patch.amount_cents).await? == 0 {
            // Not this tenant's (or no such id): dropping `tx` rolls back.
            return Err(not_found());
        }
        let mut what = Vec::new();
        if let Some(customer) = customer {
            what.push(format!("customer: {customer}"));
        }
        if let Some(amount) = patch.amount_cents {
            what.push(format!("amount: {amount} cents"));
        }
        svc.invoices.note(&tx, id, &format!("updated: {}", what.join(", "))).await?;
        let invoice = svc.invoices.find(&tx, id).await?.ok_or_else(not_found)?;
        tx.commit().await?;
        Ok(Json(invoice))
    }

    async fn delete(State(svc): State<Self>, scope: Scope, InvoiceId(id): InvoiceId) -> ApiResult<StatusCode> {
        let tx = svc.db.begin(&scope).await?;
        svc.invoices.forget_lines(&tx, id).await?;
        svc.invoices.forget(&tx, id).await?;
        if svc.invoices.delete(&tx, id).await? == 0 {
            return Err(not_found());
        }
        tx.commit().await?;
        Ok(StatusCode::NO_CONTENT)
    }

    async fn history(State(svc): State<Self>, scope: Scope, InvoiceId(id): InvoiceId) -> ApiResult<Json<Vec<String>>> {
        if svc.invoices.find(&scope, id).await?.is_none() {
            return Err(not_found());
        }
        Ok(Json(svc.invoices.history(&scope, id).await?))
    }

    async fn lines(State(svc): State<Self>, scope: Scope, InvoiceId(id): InvoiceId) -> ApiResult<Json<Vec<Line>>> {
        if svc.invoices.find(&scope, id).await?.is_none() {
            return Err(not_found());
        }
        Ok(Json(svc.invoices.lines(&scope, id).await?))
    }

    async fn add_line(
        State(svc): State<Self>,
        scope: Scope,
        InvoiceId(id): InvoiceId,
        JsonBody(new): JsonBody<NewLine>,
    ) -> ApiResult<(StatusCode, Json<Vec<Line>>)> {
        check_text("description", &new.description)?;
        check_amount(new.amount_cents)?;
        let tx = svc.db.begin(&scope).await?;
        // Another tenant's invoice is a 404 here; were it not checked, the insert itself
        // would fail (no invoice of this tenant, so a NULL `invoice_id`).
        if svc.invoices.find(&tx, id).await?.is_none() {
            return Err(not_found());
        }
        let description = new.description.trim();
        svc.invoices.add_line(&tx, id, description, new.amount_cents).await?;
        svc.invoices.note(&tx, id, &format!("line added: {description}, {} cents", new.amount_cents)).await?;
        let lines = svc.invoices.lines(&tx, id).await?;
        tx.commit().await?;
        Ok((StatusCode::CREATED, Json(lines)))
    }

    /// The caller's own row of the tenant table.
    async fn tenant(State(svc): State<Self>, scope: Scope) -> ApiResult<Json<TenantProfile>> {
        svc.tenants.profile(&scope).await?.map(Json).ok_or_else(no_tenant_row)
    }

    /// The caller's own tenant's audit events, newest last (at most 100).
    async fn audit_trail(State(svc): State<Self>, scope: Scope) -> Json<Vec<AuditEntry>> {
        let tenant = scope.tenant().as_str();
        let mut entries: Vec<AuditEntry> = svc
            .audit
            .events()
            .into_iter()
            .filter(|e| e.tenant.as_deref() == Some(tenant))
            .map(|e| AuditEntry {
                at_ms: e.at.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64),
                event: e.kind.to_string(),
            })
            .collect();
        let excess = entries.len().saturating_sub(100);
        entries.drain(..excess);
        Json(entries)
    }
}
