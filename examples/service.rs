//! An axum invoice service: two tenants behind API keys, one suspended, every route
//! confined to the caller's tenant. The routes, handlers and repositories are in
//! `service_app.rs`; the tables in `migrations/`, which it runs at start.
//!
//! ```sh
//! cargo run --example service                 # embedded SQLite on 127.0.0.1:3000
//! PORT=8080 DATABASE_URL=postgres://postgres@127.0.0.1:5432/test cargo run --example service
//!
//! curl -H 'Authorization: Bearer acme-secret' 127.0.0.1:3000/invoices
//! curl -H 'Authorization: Bearer globex-secret' 127.0.0.1:3000/invoices
//! curl -H 'Authorization: Bearer acme-secret' -H 'Content-Type: application/json' \
//!      -d '{"customer": "Marvin", "amount_cents": 4200}' 127.0.0.1:3000/invoices
//! curl -H 'Authorization: Bearer acme-secret' 127.0.0.1:3000/tenant                 # the tenant's row
//! curl -H 'Authorization: Bearer acme-secret' 127.0.0.1:3000/invoices/1/lines        # a child table
//! curl -H 'Authorization: Bearer globex-secret' 127.0.0.1:3000/invoices/1/lines      # acme's: 404
//! curl -H 'Authorization: Bearer forged' 127.0.0.1:3000/invoices          # 401
//! curl -H 'Authorization: Bearer initech-secret' 127.0.0.1:3000/invoices  # 403, suspended
//! ```

use std::error::Error;

use sqlx::postgres::PgPoolOptions;
use sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions};
use tenantry_examples::service_app::{DEMO_API_KEYS, SUSPENDED_TENANT, Service, memory_sqlite};
use tokio::net::TcpListener;

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    // Shows tenantry's request spans and refusals (`tenantry::web`) on stderr.
    tracing_subscriber::fmt().with_writer(std::io::stderr).init();

    let port: u16 = match std::env::var("PORT") {
        Ok(port) => port.parse().map_err(|e| format!("PORT `{port}`: {e}"))?,
        Err(_) => 3000,
    };

    let database_url = std::env::var("DATABASE_URL").unwrap_or_default();
    let (app, backend) = if database_url.starts_with("postgres") {
        let pool = PgPoolOptions::new().max_connections(10).connect(&database_url).await?;
        (Service::open(pool).await?.router(), "PostgreSQL (DATABASE_URL)")
    } else if database_url.starts_with("sqlite:") {
        let options: SqliteConnectOptions = database_url.parse()?;
        let pool = SqlitePoolOptions::new().connect_with(options.create_if_missing(true)).await?;
        (Service::open(pool).await?.router(), "SQLite (DATABASE_URL)")
    } else if database_url.is_empty() {
        (Service::open(memory_sqlite().await?).await?.router(), "embedded SQLite, in memory")
    } else {
        return Err("DATABASE_URL must start with postgres:// or sqlite: (or be unset for in-memory SQLite)".into());
    };

    let listener = TcpListener::bind(("127.0.0.1", port)).await?;
    let address = listener.local_addr()?;
    println!("tenantry invoice service on http://{address} ({backend})");
    for (key, tenant) in DEMO_API_KEYS {
        let note = if tenant == SUSPENDED_TENANT { " (suspended: 403)" } else { "" };
        println!("  tenant {tenant:<8} Authorization: Bearer {key}{note}");
    }
    println!("try: curl -H 'Authorization: Bearer acme-secret' {address}/invoices");
    axum::serve(listener, app).await?;
    Ok(())
}
