//! A new file in `migrations/` recompiles the crate: `#[tenant_repository]` and
//! `sqlx::migrate!` only see the files that were there when they last expanded.
fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
