//! The second fixture: ownership learned from migrations ([`OWNERSHIP_SQL`]), with the
//! tenant table, per-table tenant columns, child and grandchild tables and a global table.
//! The analyser sees it as [`schema`]: the catalog read from the fixture's own DDL, and
//! the configuration `analyzer/tests/ownership.rs` gives its `app` schema.

use std::path::PathBuf;

use tenantry_analyzer::schema::{Catalog, Migration};
use tenantry_analyzer::{Backend, Schema};

/// The fixture, as the database creates it and as the analyser reads it.
pub const OWNERSHIP_SQL: &str = include_str!("ownership.sql");

/// The analyser's view of [`OWNERSHIP_SQL`]: its catalog as `Catalog::from_migrations`
/// reads the file (data, grants, policies and the DO block are skipped), `workspaces` the
/// tenant table, `countries` global, `legacy_jobs`'s tenant column `"tenantId"`.
///
/// # Panics
/// When the analyser cannot read the fixture's DDL.
pub fn schema() -> Schema {
    let migration = Migration { version: 1, path: PathBuf::from("ownership.sql"), sql: OWNERSHIP_SQL.to_string() };
    let catalog = Catalog::from_migrations(&[migration], Backend::Postgres)
        .unwrap_or_else(|e| panic!("the analyser cannot read the ownership fixture: {e}"));
    Schema {
        tenant_table: Some("workspaces".into()),
        shared: vec!["countries".into()],
        tenant_columns: vec![("legacy_jobs".into(), "tenantId".into())],
        catalog: Some(catalog),
        ..Schema::default()
    }
}

/// What the placeholders of `analyzer/tests/ownership.rs` stand for on this fixture.
/// Ids are ones that several tables share across tenants: `:id` 1 is globex's comment and
/// acme's page; `:page` 1 is acme's page.
pub fn corpus_value(name: &str) -> String {
    match name {
        "page" => "1",
        "id" => "1",
        "other" => "globex",
        "code" => "FR",
        // A new setting: `INSERT INTO settings` meets no row.
        "k" => "color",
        _ => "x",
    }
    .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use tenantry_analyzer::schema::Ownership;

    #[test]
    fn the_analyser_reads_the_fixture_as_intended() {
        let s = schema();
        assert!(
            s.configuration_errors(Backend::Postgres).is_empty(),
            "{:?}",
            s.configuration_errors(Backend::Postgres)
        );
        let kind = |t: &str| s.ownership(Backend::Postgres, t);
        assert_eq!(kind("workspaces"), Ownership::Tenant { column: "id".into() });
        assert_eq!(kind("pages"), Ownership::Tenant { column: "tenant_id".into() });
        assert_eq!(kind("legacy_jobs"), Ownership::Tenant { column: "tenantId".into() });
        assert_eq!(kind("settings"), Ownership::Tenant { column: "workspace_id".into() });
        assert_eq!(kind("countries"), Ownership::Global);
        for child in ["comments", "reactions", "attachments", "job_steps"] {
            assert!(matches!(kind(child), Ownership::Child { .. }), "{child}: {:?}", kind(child));
        }
        assert_eq!(kind("drafts"), Ownership::Unclassified);
        assert_eq!(kind("audit_log"), Ownership::Unclassified);
    }
}
