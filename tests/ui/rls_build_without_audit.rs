// A `Db` in row-level security mode starts through the isolation audit: its builder has
// no `build()`, only `build_verified(&tables)` (or, said out loud, `build_unverified()`).
use sqlx::PgPool;
use tenantry::{Db, Rls};

fn start(pool: PgPool) -> Db<sqlx::Postgres> {
    Db::builder(pool).row_level_security(Rls::per_transaction()).build()
}

fn main() {}
