//! End-to-end tests of `tenantry::web` over real TCP on 127.0.0.1: the example invoice
//! service (`examples/service_app.rs`, the code `cargo run --example service` runs) on
//! SQLite and PostgreSQL, and small routers for the header, path, subdomain and JWT
//! strategies. Requests go through a minimal HTTP/1.1 client written here.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Value, json};
use sqlx::Sqlite;
use tenantry::web::{Authorize, Strategy, TenantResolver, WebError, authorize_fn, bearer};
use tenantry::{Db, Scope};
use tenantry_examples::service_app::{DEMO_API_KEYS, Invoices, Service, ServiceBackend};
use tenantry_tests::Backend;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

// ---------------------------------------------------------------------------------------
// A server on an ephemeral port and a minimal HTTP/1.1 client.

/// An axum app listening on 127.0.0.1:0; stopped when dropped.
struct Server {
    addr: SocketAddr,
    task: JoinHandle<()>,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Binds before returning, so requests sent afterwards queue on the listening socket.
async fn start(app: Router) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind 127.0.0.1:0");
    let addr = listener.local_addr().expect("local address");
    let task = tokio::spawn(async move {
        axum::serve(listener, app).await.expect("the server runs");
    });
    Server { addr, task }
}

/// A response.
#[derive(Debug)]
struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {self:?}"))
    }

    /// Asserts a JSON error `{"error": "...", "code": code}` with `status`.
    #[track_caller]
    fn assert_error(&self, status: u16, code: &str) {
        assert_eq!(self.status, status, "{self:?}");
        assert_eq!(self.header("content-type"), Some("application/json"), "{self:?}");
        let body = self.json();
        assert_eq!(body["code"], code, "{self:?}");
        assert!(body["error"].as_str().is_some_and(|e| !e.is_empty()), "{self:?}");
    }
}

/// One request on a fresh connection (`Connection: close`).
async fn request(addr: SocketAddr, method: &str, path: &str, headers: &[(&str, &str)], body: Option<&str>) -> Reply {
    let mut head = format!("{method} {path} HTTP/1.1\r\nConnection: close\r\n");
    if !headers.iter().any(|(n, _)| n.eq_ignore_ascii_case("host")) {
        head.push_str(&format!("Host: {addr}\r\n"));
    }
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    let body = body.unwrap_or("");
    if !body.is_empty() || matches!(method, "POST" | "PATCH" | "PUT") {
        head.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    head.push_str("\r\n");
    head.push_str(body);

    let mut stream = TcpStream::connect(addr).await.expect("connect");
    stream.write_all(head.as_bytes()).await.expect("send the request");
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await.expect("read the response");
    parse(&raw)
}

fn parse(raw: &[u8]) -> Reply {
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n").expect("a complete response head");
    let head = std::str::from_utf8(&raw[..split]).expect("an ASCII head");
    let mut lines = head.split("\r\n");
    let status_line = lines.next().expect("a status line");
    let status = status_line.split(' ').nth(1).and_then(|s| s.parse().ok()).expect("a status code");
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let mut body = raw[split + 4..].to_vec();
    if headers.iter().any(|(n, v)| n == "transfer-encoding" && v.eq_ignore_ascii_case("chunked")) {
        body = dechunk(&body);
    } else if let Some((_, len)) = headers.iter().find(|(n, _)| n == "content-length") {
        body.truncate(len.parse().expect("a numeric Content-Length"));
    }
    Reply { status, headers, body: String::from_utf8(body).expect("a UTF-8 body") }
}

fn dechunk(mut rest: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let eol = rest.windows(2).position(|w| w == b"\r\n").expect("a chunk size line");
        let size = std::str::from_utf8(&rest[..eol]).ok().and_then(|s| usize::from_str_radix(s.trim(), 16).ok());
        let size = size.expect("a hexadecimal chunk size");
        if size == 0 {
            return out;
        }
        out.extend_from_slice(&rest[eol + 2..eol + 2 + size]);
        rest = &rest[eol + 2 + size + 2..];
    }
}

/// Requests as a tenant's API key (or none).
#[derive(Clone, Copy)]
struct Client<'a> {
    addr: SocketAddr,
    key: Option<&'a str>,
}

impl<'a> Client<'a> {
    fn new(server: &Server, key: Option<&'a str>) -> Self {
        Client { addr: server.addr, key }
    }

    async fn send(&self, method: &str, path: &str, body: Option<&str>) -> Reply {
        let auth = self.key.map(|k| format!("Bearer {k}"));
        let mut headers = Vec::new();
        if let Some(auth) = &auth {
            headers.push(("Authorization", auth.as_str()));
        }
        if body.is_some() {
            headers.push(("Content-Type", "application/json"));
        }
        request(self.addr, method, path, &headers, body).await
    }

    async fn get(&self, path: &str) -> Reply {
        self.send("GET", path, None).await
    }

    async fn customers(&self) -> Vec<String> {
        let reply = self.get("/invoices").await;
        assert_eq!(reply.status, 200, "{reply:?}");
        reply.json().as_array().expect("a list").iter().map(|i| i["customer"].as_str().unwrap().to_string()).collect()
    }

    async fn id_of(&self, customer: &str) -> i64 {
        let reply = self.get("/invoices").await;
        let invoices = reply.json();
        let found = invoices.as_array().expect("a list").iter().find(|i| i["customer"] == customer);
        found.unwrap_or_else(|| panic!("no invoice for {customer}: {reply:?}"))["id"].as_i64().unwrap()
    }
}

const ACME: Option<&str> = Some("acme-secret");
const GLOBEX: Option<&str> = Some("globex-secret");
const INITECH: Option<&str> = Some("initech-secret");

// ---------------------------------------------------------------------------------------
// The example service, on both backends.

/// Runs each scenario on SQLite and on PostgreSQL (skipped when the server is down,
/// unless `TENANTRY_REQUIRE_DB=1`).
macro_rules! on_both_backends {
    ($($scenario:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $scenario() {
                    tenantry_tests::run::<sqlx::Sqlite, _, _>(super::$scenario).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $scenario() {
                    tenantry_tests::run::<sqlx::Postgres, _, _>(super::$scenario).await;
                }
            )*
        }
    };
}

on_both_backends!(
    every_route_is_confined_to_the_callers_tenant,
    refusals_have_their_status_and_code,
    concurrent_tenants_see_only_their_own_rows
);

async fn service<DB: Backend + ServiceBackend>(db: Db<DB>) -> tenantry::Result<(Service<DB>, Server)> {
    let service = Service::open(db.pool().clone()).await?;
    let server = start(service.router()).await;
    Ok((service, server))
}

async fn every_route_is_confined_to_the_callers_tenant<DB: Backend + ServiceBackend>(
    db: Db<DB>,
) -> tenantry::Result<()> {
    let (service, server) = service(db).await?;
    let (acme, globex) = (Client::new(&server, ACME), Client::new(&server, GLOBEX));

    // GET / needs no tenant.
    let health = Client::new(&server, None).get("/").await;
    assert_eq!(health.status, 200, "{health:?}");
    assert_eq!(health.json()["status"], "ok");

    // GET /invoices
    assert_eq!(acme.customers().await, ["Road Runner", "Wile E. Coyote"]);
    assert_eq!(globex.customers().await, ["Hank Scorpio"]);
    let hank = globex.id_of("Hank Scorpio").await;
    let road_runner = acme.id_of("Road Runner").await;

    // GET /invoices/{id}: another tenant's id reads exactly like an id that does not exist.
    let own = acme.get(&format!("/invoices/{road_runner}")).await;
    assert_eq!(own.status, 200, "{own:?}");
    assert_eq!(own.json()["customer"], "Road Runner");
    let foreign = acme.get(&format!("/invoices/{hank}")).await;
    foreign.assert_error(404, "not_found");
    let missing = acme.get("/invoices/987654321").await;
    assert_eq!((foreign.status, &foreign.body), (missing.status, &missing.body));
    assert!(!foreign.body.contains("Hank") && !foreign.body.contains("globex"), "{foreign:?}");

    // POST /invoices: created for the caller, invisible to the other tenant.
    let created = acme.send("POST", "/invoices", Some(r#"{"customer": "Marvin", "amount_cents": 4200}"#)).await;
    assert_eq!(created.status, 201, "{created:?}");
    let marvin = created.json()["id"].as_i64().expect("an id");
    assert_eq!(created.json(), json!({"id": marvin, "customer": "Marvin", "amount_cents": 4200, "sent": false}));
    assert_eq!(created.header("location"), Some(format!("/invoices/{marvin}").as_str()));
    assert_eq!(acme.customers().await, ["Road Runner", "Wile E. Coyote", "Marvin"]);
    assert_eq!(globex.customers().await, ["Hank Scorpio"]);
    globex.get(&format!("/invoices/{marvin}")).await.assert_error(404, "not_found");

    // PATCH /invoices/{id}
    let patch = Some(r#"{"amount_cents": 1}"#);
    acme.send("PATCH", &format!("/invoices/{hank}"), patch).await.assert_error(404, "not_found");
    let untouched = globex.get(&format!("/invoices/{hank}")).await.json();
    assert_eq!(
        (untouched["customer"].as_str(), untouched["amount_cents"].as_i64()),
        (Some("Hank Scorpio"), Some(25_000))
    );
    globex.send("PATCH", &format!("/invoices/{marvin}"), patch).await.assert_error(404, "not_found");
    let patched =
        acme.send("PATCH", &format!("/invoices/{marvin}"), Some(r#"{"customer": "Marvin the Martian"}"#)).await;
    assert_eq!(patched.status, 200, "{patched:?}");
    assert_eq!(
        (patched.json()["customer"].as_str(), patched.json()["amount_cents"].as_i64()),
        (Some("Marvin the Martian"), Some(4200))
    );

    // GET /invoices/{id}/history (written in the POST and PATCH transactions)
    let history = acme.get(&format!("/invoices/{marvin}/history")).await;
    assert_eq!(history.json(), json!(["created: 4200 cents", "updated: customer: Marvin the Martian"]));
    globex.get(&format!("/invoices/{marvin}/history")).await.assert_error(404, "not_found");
    acme.get(&format!("/invoices/{hank}/history")).await.assert_error(404, "not_found");

    // DELETE /invoices/{id}
    acme.send("DELETE", &format!("/invoices/{hank}"), None).await.assert_error(404, "not_found");
    assert_eq!(globex.customers().await, ["Hank Scorpio"]);
    globex.send("DELETE", &format!("/invoices/{marvin}"), None).await.assert_error(404, "not_found");
    let deleted = acme.send("DELETE", &format!("/invoices/{marvin}"), None).await;
    assert_eq!((deleted.status, deleted.body.as_str()), (204, ""), "{deleted:?}");
    acme.get(&format!("/invoices/{marvin}")).await.assert_error(404, "not_found");
    acme.send("DELETE", &format!("/invoices/{marvin}"), None).await.assert_error(404, "not_found");
    assert_eq!(acme.customers().await, ["Road Runner", "Wile E. Coyote"]);

    // GET /audit: exactly the caller's tenant's events. Only acme committed a transaction.
    let trail = globex.get("/audit").await;
    assert_eq!(trail.status, 200, "{trail:?}");
    let shown: Vec<String> =
        trail.json().as_array().expect("a list").iter().map(|e| e["event"].as_str().unwrap().to_string()).collect();
    let recorded: Vec<String> = service
        .audit()
        .events()
        .into_iter()
        .filter(|e| e.tenant.as_deref() == Some("globex"))
        .map(|e| e.kind.to_string())
        .collect();
    assert_eq!(shown, recorded[recorded.len().saturating_sub(100)..]);
    assert!(shown.iter().any(|e| e == "Invoices::list done"), "{shown:?}");
    assert!(!shown.iter().any(|e| e == "transaction committed"), "acme's events in globex's trail: {shown:?}");
    let acme_trail = acme.get("/audit").await.json();
    assert!(acme_trail.as_array().unwrap().iter().any(|e| e["event"] == "transaction committed"), "{acme_trail}");
    Ok(())
}

async fn refusals_have_their_status_and_code<DB: Backend + ServiceBackend>(db: Db<DB>) -> tenantry::Result<()> {
    let (service, server) = service(db).await?;
    let acme = Client::new(&server, ACME);
    let nobody = Client::new(&server, None);
    let forged = Client::new(&server, Some("acme-secret-but-not-quite"));
    let initech = Client::new(&server, INITECH);
    let routes = [
        ("GET", "/invoices", None),
        ("POST", "/invoices", Some(r#"{"customer": "X", "amount_cents": 1}"#)),
        ("GET", "/invoices/1", None),
        ("PATCH", "/invoices/1", Some(r#"{"amount_cents": 1}"#)),
        ("DELETE", "/invoices/1", None),
        ("GET", "/invoices/1/history", None),
        ("GET", "/audit", None),
    ];

    // 401 without valid credentials, 403 for the suspended tenant, on every tenant route.
    for (method, path, body) in routes {
        nobody.send(method, path, body).await.assert_error(401, "unauthenticated");
        forged.send(method, path, body).await.assert_error(401, "unauthenticated");
        initech.send(method, path, body).await.assert_error(403, "tenant_denied");
    }
    for auth in ["Basic YWNtZTphY21lLXNlY3JldA==", "Bearer", "Bearer   ", "acme-secret"] {
        let reply = request(server.addr, "GET", "/invoices", &[("Authorization", auth)], None).await;
        reply.assert_error(401, "unauthenticated");
    }
    // Credentials are checked before the body is read.
    nobody.send("POST", "/invoices", Some("{not json")).await.assert_error(401, "unauthenticated");
    // The refusal names neither another tenant nor the key's owner.
    let refused = forged.get("/invoices").await;
    assert!(!refused.body.contains("acme") && !refused.body.contains("globex"), "{refused:?}");

    // A suspension takes effect on the next request, and so does lifting it.
    let globex = Client::new(&server, GLOBEX);
    service.suspended().insert("globex");
    globex.get("/invoices").await.assert_error(403, "tenant_denied");
    service.suspended().remove("globex");
    assert_eq!(globex.customers().await, ["Hank Scorpio"]);

    // Bad input is a 4xx JSON error, never a 500.
    let bad_bodies = [
        ("{not json", 400),
        (r#"{"customer": "X", "amount_cents": "12"}"#, 422),
        (r#"{"customer": "X"}"#, 422),
        (r#"{"customer": "X", "amount_cents": 1, "tenant_id": "globex"}"#, 422),
        (r#"{"customer": "X", "amount_cents": 99999999999999999999}"#, 422),
        (r#"{"customer": "   ", "amount_cents": 1}"#, 422),
        (r#"{"customer": "X", "amount_cents": -1}"#, 422),
        ("[]", 422),
    ];
    for (body, status) in bad_bodies {
        acme.send("POST", "/invoices", Some(body)).await.assert_error(status, "invalid_body");
    }
    let road_runner = acme.id_of("Road Runner").await;
    for (body, status) in [("{}", 422), (r#"{"amount_cents": null, "customer": null}"#, 422), ("", 400), ("{", 400)] {
        acme.send("PATCH", &format!("/invoices/{road_runner}"), Some(body)).await.assert_error(status, "invalid_body");
    }
    let no_content_type =
        request(server.addr, "POST", "/invoices", &[("Authorization", "Bearer acme-secret")], Some("{}")).await;
    no_content_type.assert_error(415, "invalid_body");
    for path in ["/invoices/abc", "/invoices/99999999999999999999", "/invoices/1.5/history"] {
        acme.get(path).await.assert_error(400, "invalid_id");
    }
    // Nothing of the above changed acme's data.
    assert_eq!(acme.customers().await, ["Road Runner", "Wile E. Coyote"]);

    // An unknown path is a plain 404 with or without credentials: it resolves no tenant.
    assert_eq!(nobody.get("/nowhere").await.status, 404);
    assert_eq!(acme.get("/nowhere").await.status, 404);
    Ok(())
}

async fn concurrent_tenants_see_only_their_own_rows<DB: Backend + ServiceBackend>(db: Db<DB>) -> tenantry::Result<()> {
    let (_service, server) = service(db).await?;
    let addr = server.addr;
    const REQUESTS: usize = 50;
    let start_together = Arc::new(tokio::sync::Barrier::new(REQUESTS));
    let tasks: Vec<_> = (0..REQUESTS)
        .map(|i| {
            let start_together = start_together.clone();
            tokio::spawn(async move {
                let (tenant, key) = if i % 2 == 0 { ("acme", ACME) } else { ("globex", GLOBEX) };
                let client = Client { addr, key };
                start_together.wait().await;
                let body = json!({"customer": format!("{tenant} #{i}"), "amount_cents": i}).to_string();
                let created = client.send("POST", "/invoices", Some(&body)).await;
                assert_eq!(created.status, 201, "{created:?}");
                let id = created.json()["id"].as_i64().unwrap();
                let own = client.get(&format!("/invoices/{id}")).await;
                assert_eq!(own.json()["customer"], format!("{tenant} #{i}"), "{own:?}");
                for customer in client.customers().await {
                    let seeded = match tenant {
                        "acme" => ["Road Runner", "Wile E. Coyote"].contains(&customer.as_str()),
                        _ => customer == "Hank Scorpio",
                    };
                    assert!(seeded || customer.starts_with(&format!("{tenant} #")), "{tenant} sees {customer}");
                }
                (tenant, id)
            })
        })
        .collect();
    let mut created = Vec::new();
    for task in tasks {
        created.push(task.await.expect("a request task"));
    }

    // Every invoice is visible to its tenant only.
    let (acme, globex) = (Client { addr, key: ACME }, Client { addr, key: GLOBEX });
    assert_eq!(acme.customers().await.len(), 2 + REQUESTS / 2);
    assert_eq!(globex.customers().await.len(), 1 + REQUESTS / 2);
    for (tenant, id) in created.iter().take(10) {
        let (owner, other) = if *tenant == "acme" { (acme, globex) } else { (globex, acme) };
        assert_eq!(owner.get(&format!("/invoices/{id}")).await.status, 200);
        other.get(&format!("/invoices/{id}")).await.assert_error(404, "not_found");
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------
// The other strategies, on small routers over the service's database (SQLite).

/// The authorization hook of the header, path and subdomain strategies: the bearer API
/// key must belong to the tenant the request names.
fn api_key_hook() -> impl Authorize {
    authorize_fn(|parts, tenant| {
        let key = bearer(&parts.headers)?;
        match DEMO_API_KEYS.iter().find(|(k, _)| *k == key) {
            None => Err(WebError::unauthenticated("unknown API key")),
            Some((_, owner)) if *owner == tenant.as_str() => Ok(()),
            Some(_) => Err(WebError::forbidden()),
        }
    })
}

async fn customers(State(service): State<Service<Sqlite>>, scope: Scope) -> Result<Json<Vec<String>>, tenantry::Error> {
    let invoices = service.invoices().list(&scope).await?;
    Ok(Json(invoices.into_iter().map(|i| i.customer).collect()))
}

/// The service's data, with `path` behind `strategy` (and [`api_key_hook`] if `hook`).
async fn strategy_server(strategy: Strategy, hook: bool, path: &str) -> Server {
    let service = Service::open(tenantry_tests::sqlite().await.pool().clone()).await.expect("the service opens");
    let mut builder = TenantResolver::builder(service.db(), strategy);
    if hook {
        builder = builder.authorize(api_key_hook());
    }
    let resolver = builder.build().expect("a strategy with a hook or trusted by name");
    start(Router::new().route(path, get(customers)).route_layer(resolver.layer()).with_state(service)).await
}

async fn get_with(server: &Server, path: &str, headers: &[(&str, &str)]) -> Reply {
    request(server.addr, "GET", path, headers, None).await
}

fn names(reply: &Reply) -> Vec<String> {
    assert_eq!(reply.status, 200, "{reply:?}");
    serde_json::from_str(&reply.body).expect("a list of customers")
}

#[tokio::test]
async fn trusting_the_client_must_be_opted_into_by_name() {
    let db = tenantry_tests::sqlite().await;
    for (strategy, name) in [
        (Strategy::header("x-tenant-id"), "header"),
        (Strategy::path_segment(1), "path"),
        (Strategy::subdomain("tenants.test"), "subdomain"),
    ] {
        let error = TenantResolver::builder(&db, strategy).build().err().expect("refused without a hook");
        assert_eq!(error.0, name);
        assert!(error.to_string().contains(".authorize(") && error.to_string().contains("trusted_"), "{error}");
    }
    for strategy in [
        Strategy::trusted_header("x-tenant-id"),
        Strategy::trusted_path_segment(1),
        Strategy::trusted_subdomain("tenants.test"),
    ] {
        assert!(TenantResolver::builder(&db, strategy).build().is_ok());
    }
}

#[tokio::test]
async fn header_strategy_with_an_authorization_hook() {
    let server = strategy_server(Strategy::header("x-tenant-id"), true, "/invoices").await;
    let as_ = |tenant: &'static str, key: &'static str| [("X-Tenant-Id", tenant), ("Authorization", key)];

    assert_eq!(
        names(&get_with(&server, "/invoices", &as_("acme", "Bearer acme-secret")).await),
        ["Road Runner", "Wile E. Coyote"]
    );
    assert_eq!(names(&get_with(&server, "/invoices", &as_("globex", "Bearer globex-secret")).await), ["Hank Scorpio"]);

    get_with(&server, "/invoices", &[("Authorization", "Bearer acme-secret")])
        .await
        .assert_error(400, "tenant_missing");
    get_with(&server, "/invoices", &as_("acme%", "Bearer acme-secret")).await.assert_error(400, "invalid_tenant");
    let too_long = "a".repeat(tenantry::MAX_TENANT_ID_LEN + 1);
    let reply =
        get_with(&server, "/invoices", &[("X-Tenant-Id", &too_long), ("Authorization", "Bearer acme-secret")]).await;
    reply.assert_error(400, "invalid_tenant");
    get_with(&server, "/invoices", &[("X-Tenant-Id", "acme")]).await.assert_error(401, "unauthenticated");
    get_with(&server, "/invoices", &as_("acme", "Bearer forged")).await.assert_error(401, "unauthenticated");
    // A valid key for another tenant: forbidden, and the body does not say whether the
    // named tenant exists.
    let forbidden = get_with(&server, "/invoices", &as_("globex", "Bearer acme-secret")).await;
    forbidden.assert_error(403, "forbidden");
    let unknown = get_with(&server, "/invoices", &as_("no-such-tenant", "Bearer acme-secret")).await;
    assert_eq!((forbidden.status, &forbidden.body), (unknown.status, &unknown.body));
    get_with(&server, "/invoices", &as_("initech", "Bearer initech-secret")).await.assert_error(403, "tenant_denied");
}

#[tokio::test]
async fn trusted_header_needs_no_credentials() {
    // Only behind a proxy that sets the header itself: opted into by name.
    let server = strategy_server(Strategy::trusted_header("x-tenant-id"), false, "/invoices").await;
    assert_eq!(names(&get_with(&server, "/invoices", &[("X-Tenant-Id", "globex")]).await), ["Hank Scorpio"]);
    get_with(&server, "/invoices", &[("X-Tenant-Id", "initech")]).await.assert_error(403, "tenant_denied");
    get_with(&server, "/invoices", &[]).await.assert_error(400, "tenant_missing");
}

#[tokio::test]
async fn path_strategy_with_an_authorization_hook() {
    let server = strategy_server(Strategy::path_segment(1), true, "/t/{tenant}/invoices").await;
    let acme_key = [("Authorization", "Bearer acme-secret")];

    assert_eq!(names(&get_with(&server, "/t/acme/invoices", &acme_key).await), ["Road Runner", "Wile E. Coyote"]);
    let globex_key = [("Authorization", "Bearer globex-secret")];
    assert_eq!(names(&get_with(&server, "/t/globex/invoices", &globex_key).await), ["Hank Scorpio"]);
    get_with(&server, "/t/globex/invoices", &acme_key).await.assert_error(403, "forbidden");
    get_with(&server, "/t/ac%20me/invoices", &acme_key).await.assert_error(400, "invalid_tenant");
    get_with(&server, "/t/acme/invoices", &[]).await.assert_error(401, "unauthenticated");
    let initech_key = [("Authorization", "Bearer initech-secret")];
    get_with(&server, "/t/initech/invoices", &initech_key).await.assert_error(403, "tenant_denied");
}

#[tokio::test]
async fn subdomain_strategy_with_an_authorization_hook() {
    let server = strategy_server(Strategy::subdomain("tenants.test"), true, "/invoices").await;
    let acme = |host: &'static str| [("Host", host), ("Authorization", "Bearer acme-secret")];

    assert_eq!(
        names(&get_with(&server, "/invoices", &acme("acme.tenants.test")).await),
        ["Road Runner", "Wile E. Coyote"]
    );
    assert_eq!(
        names(&get_with(&server, "/invoices", &acme("ACME.tenants.test:8080")).await),
        ["Road Runner", "Wile E. Coyote"]
    );
    get_with(&server, "/invoices", &acme("globex.tenants.test")).await.assert_error(403, "forbidden");
    get_with(&server, "/invoices", &acme("tenants.test")).await.assert_error(400, "tenant_missing");
    get_with(&server, "/invoices", &acme("acme.elsewhere.test")).await.assert_error(400, "tenant_missing");
    get_with(&server, "/invoices", &[("Host", "acme.tenants.test")]).await.assert_error(401, "unauthenticated");
}

/// Two values of the header a strategy reads are refused, never resolved to the first:
/// behind a proxy that appends its own value, the first is the client's.
#[tokio::test]
async fn two_tenant_headers_are_a_400_not_the_first_one() {
    let trusted = strategy_server(Strategy::trusted_header("x-tenant-id"), false, "/invoices").await;
    for pair in [["acme", "globex"], ["globex", "globex"]] {
        let reply = get_with(&trusted, "/invoices", &[("X-Tenant-Id", pair[0]), ("x-tenant-id", pair[1])]).await;
        reply.assert_error(400, "duplicate_header");
        assert!(reply.json()["error"].as_str().unwrap().contains("x-tenant-id"), "{reply:?}");
    }
    assert_eq!(names(&get_with(&trusted, "/invoices", &[("X-Tenant-Id", "globex")]).await), ["Hank Scorpio"]);

    let hooked = strategy_server(Strategy::header("x-tenant-id"), true, "/invoices").await;
    let acme_key = ("Authorization", "Bearer acme-secret");
    get_with(&hooked, "/invoices", &[("X-Tenant-Id", "acme"), ("X-Tenant-Id", "globex"), acme_key])
        .await
        .assert_error(400, "duplicate_header");
    // `bearer` refuses two credentials the same way.
    let two_keys = [("X-Tenant-Id", "acme"), acme_key, ("Authorization", "Bearer globex-secret")];
    get_with(&hooked, "/invoices", &two_keys).await.assert_error(400, "duplicate_header");
    assert_eq!(
        names(&get_with(&hooked, "/invoices", &[("X-Tenant-Id", "acme"), acme_key]).await),
        ["Road Runner", "Wile E. Coyote"]
    );
}

/// A request with two `Host` headers gets a 400 (RFC 9112, section 3.2) on every
/// strategy, the trusted ones included; so does a `Host` that lists two hosts.
#[tokio::test]
async fn two_hosts_are_a_400_on_every_strategy() {
    let two_hosts = [("Host", "acme.tenants.test"), ("Host", "globex.tenants.test")];
    let acme_key = ("Authorization", "Bearer acme-secret");

    let subdomain = strategy_server(Strategy::trusted_subdomain("tenants.test"), false, "/invoices").await;
    get_with(&subdomain, "/invoices", &two_hosts).await.assert_error(400, "duplicate_header");
    get_with(&subdomain, "/invoices", &[("Host", "acme.tenants.test, globex.tenants.test")])
        .await
        .assert_error(400, "duplicate_header");
    assert_eq!(names(&get_with(&subdomain, "/invoices", &[("Host", "globex.tenants.test")]).await), ["Hank Scorpio"]);

    let hooked = strategy_server(Strategy::subdomain("tenants.test"), true, "/invoices").await;
    get_with(&hooked, "/invoices", &[two_hosts[0], two_hosts[1], acme_key]).await.assert_error(400, "duplicate_header");

    let header = strategy_server(Strategy::trusted_header("x-tenant-id"), false, "/invoices").await;
    get_with(&header, "/invoices", &[two_hosts[0], two_hosts[1], ("X-Tenant-Id", "acme")])
        .await
        .assert_error(400, "duplicate_header");

    let path = strategy_server(Strategy::trusted_path_segment(1), false, "/t/{tenant}/invoices").await;
    get_with(&path, "/t/acme/invoices", &two_hosts).await.assert_error(400, "duplicate_header");
    assert_eq!(names(&get_with(&path, "/t/acme/invoices", &[]).await), ["Road Runner", "Wile E. Coyote"]);
}

/// A `Host` with bytes outside ASCII is named as such, not reported as missing.
#[tokio::test]
async fn a_host_that_is_not_ascii_says_so() {
    let server = strategy_server(Strategy::trusted_subdomain("tenants.test"), false, "/invoices").await;
    let reply = get_with(&server, "/invoices", &[("Host", "münchen.tenants.test")]).await;
    reply.assert_error(400, "invalid_tenant");
    let message = reply.json()["error"].as_str().unwrap().to_string();
    assert!(message.contains("not ASCII") && !message.contains("no `Host`"), "{message}");
    // The punycode form is ASCII, and a valid tenant id (with no invoices).
    assert!(names(&get_with(&server, "/invoices", &[("Host", "xn--mnchen-3ya.tenants.test")]).await).is_empty());
}

#[tokio::test]
async fn a_scope_without_the_tenant_layer_is_an_error_not_a_guess() {
    let service = Service::open(tenantry_tests::sqlite().await.pool().clone()).await.expect("the service opens");
    let server = start(Router::new().route("/invoices", get(customers)).with_state(service)).await;
    get_with(&server, "/invoices", &[("Authorization", "Bearer acme-secret")])
        .await
        .assert_error(500, "tenant_layer_missing");
}

mod jwt {
    use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation, encode, get_current_timestamp};

    use super::*;

    const SECRET: &[u8] = b"the issuer's secret, 32 bytes or more";

    fn token(claims: Value, secret: &[u8]) -> String {
        encode(&Header::new(Algorithm::HS256), &claims, &EncodingKey::from_secret(secret)).expect("a signed token")
    }

    fn valid_for(tenant: &str) -> String {
        token(json!({"sub": "user-1", "tenant": tenant, "exp": get_current_timestamp() + 600}), SECRET)
    }

    async fn with_token(server: &Server, token: &str) -> Reply {
        let auth = format!("Bearer {token}");
        get_with(server, "/invoices", &[("Authorization", &auth)]).await
    }

    #[tokio::test]
    async fn jwt_strategy_verifies_signature_and_expiry() {
        let strategy = Strategy::jwt(DecodingKey::from_secret(SECRET), Validation::new(Algorithm::HS256), "tenant");
        let server = strategy_server(strategy, false, "/invoices").await;

        assert_eq!(names(&with_token(&server, &valid_for("acme")).await), ["Road Runner", "Wile E. Coyote"]);
        assert_eq!(names(&with_token(&server, &valid_for("globex")).await), ["Hank Scorpio"]);

        let expired = token(json!({"tenant": "acme", "exp": get_current_timestamp() - 3600}), SECRET);
        with_token(&server, &expired).await.assert_error(401, "unauthenticated");
        let forged = token(json!({"tenant": "acme", "exp": get_current_timestamp() + 600}), b"someone else's secret!!");
        with_token(&server, &forged).await.assert_error(401, "unauthenticated");
        // acme's token with the payload swapped for one naming globex, signature kept.
        let acme_token = valid_for("acme");
        let globex_token = valid_for("globex");
        let acme_parts: Vec<&str> = acme_token.split('.').collect();
        let globex_payload = globex_token.split('.').nth(1).unwrap();
        let spliced = format!("{}.{}.{}", acme_parts[0], globex_payload, acme_parts[2]);
        with_token(&server, &spliced).await.assert_error(401, "unauthenticated");
        let no_tenant = token(json!({"sub": "user-1", "exp": get_current_timestamp() + 600}), SECRET);
        with_token(&server, &no_tenant).await.assert_error(401, "unauthenticated");
        let no_expiry = token(json!({"tenant": "acme"}), SECRET);
        with_token(&server, &no_expiry).await.assert_error(401, "unauthenticated");
        with_token(&server, "not-a-jwt").await.assert_error(401, "unauthenticated");
        get_with(&server, "/invoices", &[]).await.assert_error(401, "unauthenticated");

        with_token(&server, &valid_for("ac me")).await.assert_error(400, "invalid_tenant");
        with_token(&server, &valid_for("initech")).await.assert_error(403, "tenant_denied");
    }

    /// A token whose `nbf` (not before) is in the future is refused, even with a
    /// `Validation` that turned the check off (jsonwebtoken's default is off).
    #[tokio::test]
    async fn a_token_not_valid_yet_is_refused() {
        let mut lax = Validation::new(Algorithm::HS256);
        lax.validate_nbf = false;
        for validation in [Validation::new(Algorithm::HS256), lax] {
            let strategy = Strategy::jwt(DecodingKey::from_secret(SECRET), validation, "tenant");
            let server = strategy_server(strategy, false, "/invoices").await;
            let now = get_current_timestamp();
            let later = token(json!({"tenant": "acme", "nbf": now + 3600, "exp": now + 7200}), SECRET);
            let reply = with_token(&server, &later).await;
            reply.assert_error(401, "unauthenticated");
            assert!(reply.body.contains("ImmatureSignature"), "{reply:?}");
            let already = token(json!({"tenant": "acme", "nbf": now - 60, "exp": now + 600}), SECRET);
            assert_eq!(names(&with_token(&server, &already).await), ["Road Runner", "Wile E. Coyote"]);
        }
    }
}
