//! Compile-fail cases of `#[tenant_repository]` and of the guards: every file in
//! `tests/ui/` must fail to compile with exactly the error in its `.stderr` snapshot.
//!
//! Regenerate the snapshots after a deliberate change of a message with
//! `TRYBUILD=overwrite cargo test -p tenantry-tests --test ui`, then read every diff.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.compile_fail("ui/*.rs");
}
