//! Fuzzes the analyser's promise: any input gets an analysis or typed violations, never a
//! panic, and everything a caller does with the result (the set form, the placeholder
//! rewrite, rendering each violation against the statement) is panic-free too.
//!
//! The first byte picks the backend (`% 3`: SQLite, PostgreSQL, MySQL), the mode
//! (`/ 3 % 2`: scoped, unscoped) and the schema (`/ 6 % 3`: the tests' schema, one with a
//! camel-case tenant column and an opted-in function, or one read from migrations with
//! child tables, a tenant table and an unclassified table); ASCII `0`..`5` are the first
//! six combinations with the tests' schema. The rest is the statement, as UTF-8.

#![no_main]

use libfuzzer_sys::fuzz_target;
use tenantry_analyzer::schema::{Catalog, Migration};
use tenantry_analyzer::{Backend, Mode, Schema, analyze, placeholders, render, set_form};

/// The migrations of the third schema, shared with `tests/robustness.rs`.
const MIGRATIONS: &str = include_str!("../../tests/robustness.sql");

fn with_migrations(backend: Backend) -> Schema {
    let migration = Migration { version: 1, path: "1_schema.sql".into(), sql: MIGRATIONS.to_string() };
    Schema {
        tenant_table: Some("tenants".into()),
        shared: vec!["countries".into()],
        catalog: Some(Catalog::from_migrations(&[migration], backend).expect("the migrations apply")),
        ..Schema::default()
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&first, rest)) = data.split_first() else { return };
    let Ok(sql) = std::str::from_utf8(rest) else { return };
    let backend = Backend::ALL[usize::from(first % 3)];
    let mode = if first / 3 % 2 == 0 { Mode::Scoped } else { Mode::Unscoped };
    let schema = match first / 6 % 3 {
        0 => Schema::with_shared(["countries", "currencies"]),
        1 => Schema {
            tenant_column: "tenantId".to_string(),
            shared: vec!["countries".to_string()],
            allowed_functions: vec!["my_fn".to_string(), "app.audit".to_string()],
            ..Schema::default()
        },
        _ => with_migrations(backend),
    };
    match analyze(sql, backend, &schema, mode) {
        Ok(analysis) => {
            let _ = set_form(sql, &analysis, backend);
            let _ = placeholders::rewrite(sql, &analysis.placeholders, backend);
        }
        Err(violations) => {
            for v in &violations {
                let _ = render(sql, v);
            }
        }
    }
});
