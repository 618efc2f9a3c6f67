//! tenantry's warnings are `deprecated` warnings on the trait: `#[allow(deprecated)]` on
//! the trait silences them, even where the crate denies `deprecated` (the denied case is
//! `tests/ui/warning_global_twice.rs`).
#![deny(deprecated)]

use tenantry::{Result, tenant_repository};

#[allow(deprecated)]
#[tenant_repository(backends(sqlite), shared(countries), global(countries))]
pub trait Countries {
    #[sql("SELECT COUNT(*) FROM countries")]
    async fn count(&self) -> Result<i64>;
}

#[test]
fn allowed_warnings_compile() {
    let _ = CountriesRepo::<tenantry::__private::sqlx::Sqlite>::new;
}
