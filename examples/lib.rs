//! Shared code of the examples.

pub mod service_app;

#[cfg(test)]
mod tests {
    use std::path::Path;

    use tenantry_analyzer::Backend;
    use tenantry_analyzer::schema::{Catalog, read_migrations};

    /// The catalog a migrations folder builds for PostgreSQL, without the file names and
    /// the column types (the ids are SQLite's `INTEGER` rowid in one, identity `BIGINT`s
    /// in the other, by design).
    fn catalog(folder: &str) -> Catalog {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join(folder);
        let migrations = read_migrations(&dir).expect("the migrations read");
        let mut catalog = Catalog::from_migrations(&migrations, Backend::Postgres).expect("the migrations apply");
        for table in &mut catalog.tables {
            table.origin.clear();
            table.columns.iter_mut().for_each(|c| c.data_type.clear());
        }
        catalog
    }

    /// The macro checks the PostgreSQL statements against `migrations/`, and the service
    /// runs `migrations/postgres/` on PostgreSQL: the two must be the same tables.
    #[test]
    fn postgres_migrations_build_the_same_catalog() {
        let (checked, run) = (catalog("migrations"), catalog("migrations/postgres"));
        assert!(!checked.tables.is_empty());
        assert_eq!(checked, run);
    }
}
