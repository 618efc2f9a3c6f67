//! What the analyser knows of the database's tables: the catalog its migrations build
//! ([`Catalog`]), what each table is to a tenant ([`Ownership`]), and the PostgreSQL
//! row-level security ([`policy_migration`]) and Citus distribution
//! ([`distribution_migration`]) that follow from it.
//!
//! Names here are the names as the database stores them (PostgreSQL folds unquoted names
//! to lower case; the others keep them as written): `Table::name` of `CREATE TABLE
//! Pages` is `pages` on PostgreSQL and `Pages` elsewhere.

mod catalog;
mod distribution;
mod ownership;
mod rls;

pub use catalog::{Migration, SchemaError, read_migrations};
pub use distribution::{DistributionError, distribution_migration, obstacles};
pub use ownership::{ConfigurationError, Link, Ownership};
pub use rls::{POLICY_NAME, RUNTIME_ROLE, RlsError, RlsOptions, TENANT_SETTING, policy_migration};

/// The tables of a database, as its migrations leave them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Catalog {
    /// Every table, in the order they were created.
    pub tables: Vec<Table>,
}

/// One table of the [`Catalog`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Table {
    /// The schema (PostgreSQL, SQLite) or database (MySQL) the table was created in, when
    /// the migration names one.
    pub schema: Option<String>,
    /// The table's name.
    pub name: String,
    /// Its columns, in order.
    pub columns: Vec<Column>,
    /// Its primary key's columns (empty without one).
    pub primary_key: Vec<String>,
    /// Its unique constraints and unique indexes.
    pub unique_keys: Vec<UniqueKey>,
    /// Its foreign keys.
    pub foreign_keys: Vec<ForeignKey>,
    /// The migration that created it (a file name), for messages.
    pub origin: String,
}

/// A column of a [`Table`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Column {
    /// The column's name.
    pub name: String,
    /// Whether it is `NOT NULL` (a primary key column is).
    pub not_null: bool,
    /// Its SQL type as the migrations last declared it, in sqlparser's spelling
    /// (`BIGINT`, `TEXT`, `VARCHAR(64)`, `uuid`, `bigserial`); empty for a column declared
    /// without one (SQLite allows that).
    pub data_type: String,
}

/// A unique constraint or unique index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UniqueKey {
    /// The constraint's or index's name, when it has one.
    pub name: Option<String>,
    /// Its columns (empty for an index on expressions).
    pub columns: Vec<String>,
    /// A partial index (`CREATE UNIQUE INDEX ... WHERE ...`), or one on expressions.
    pub partial: bool,
}

/// A foreign key of a [`Table`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForeignKey {
    /// The constraint's name, when it has one.
    pub name: Option<String>,
    /// The referencing columns, in order.
    pub columns: Vec<String>,
    /// The referenced table's name (its last part).
    pub table: String,
    /// The referenced columns, in the order of `columns`; the referenced table's primary
    /// key when the DDL names none.
    pub referenced: Vec<String>,
}

impl Catalog {
    /// The tables named `name` (its last part compared as `backend` compares table names).
    pub fn table(&self, backend: crate::Backend, name: &str) -> Option<&Table> {
        self.tables.iter().find(|t| {
            crate::names::compare_values(backend, crate::names::Kind::Relation, &t.name, name)
                == crate::names::Match::Same
        })
    }
}

impl Table {
    /// The column named `name`, compared as `backend` compares column names.
    pub fn column(&self, backend: crate::Backend, name: &str) -> Option<&Column> {
        self.columns.iter().find(|c| {
            crate::names::compare_values(backend, crate::names::Kind::Column, &c.name, name)
                == crate::names::Match::Same
        })
    }
}

/// A schema lint finding: a design the analyser accepts, but that lets the data itself
/// mix tenants (or that a distributed database refuses).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// The table it is about.
    pub table: String,
    /// What is wrong.
    pub problem: String,
    /// How to fix it: DDL for a migration.
    pub fix: String,
}

/// The schema lint (see [`Finding`]), empty without a catalog:
///
/// * a tenant-owned table whose foreign key to another tenant-owned table does not include
///   the tenant column: a row may reference another tenant's row; `(tenant_id, page_id)
///   REFERENCES pages (tenant_id, id)` makes that impossible in the data itself;
/// * a table owned through a parent, without a tenant column of its own: the same pattern
///   (its own tenant column and a composite foreign key) makes it tenant-owned;
/// * a unique key of a tenant-owned table without the tenant column: one tenant's row
///   blocks another's, and an upsert on it collides across tenants;
/// * a table declared global that has the tenant column: every tenant reads all of it;
/// * with [`crate::Schema::distributed`], what keeps a table from being distributed by
///   Citus ([`obstacles`]), in place of the first three (the same designs, worded for
///   Citus, and its primary keys too).
///
/// ```
/// use tenantry_analyzer::schema::{Catalog, Migration, lint};
/// use tenantry_analyzer::{Backend, Schema};
/// let sql = "CREATE TABLE users (id INT PRIMARY KEY, tenant_id INT NOT NULL, email TEXT UNIQUE)";
/// let migration = Migration { version: 1, path: "1_users.sql".into(), sql: sql.into() };
/// let catalog = Catalog::from_migrations(&[migration], Backend::Postgres).unwrap();
/// let schema = Schema { catalog: Some(catalog), ..Schema::default() };
/// let findings = lint(&schema, Backend::Postgres);
/// assert!(findings[0].fix.contains("UNIQUE (tenant_id, email)"));
/// ```
pub fn lint(schema: &crate::Schema, backend: crate::Backend) -> Vec<Finding> {
    let Some(catalog) = &schema.catalog else { return Vec::new() };
    let q = |n: &str| crate::names::quoted(backend, n, None);
    let same = |a: &str, b: &str| {
        crate::names::compare_values(backend, crate::names::Kind::Column, a, b) == crate::names::Match::Same
    };
    let mut findings = Vec::new();
    for table in &catalog.tables {
        if schema.is_tenant_table(backend, &table.name) {
            continue;
        }
        let tc = schema.tenant_column_of(backend, &table.name);
        if schema.is_global(backend, &table.name)
            && let Some(column) = table.column(backend, tc)
        {
            findings.push(Finding {
                table: table.name.clone(),
                problem: format!(
                    "it is declared global but has the tenant column `{}`: every tenant reads every tenant's rows of it",
                    column.name
                ),
                fix: format!("drop `{}` from `global` if its rows belong to tenants", table.name),
            });
        }
        if schema.distributed && backend == crate::Backend::Postgres {
            continue;
        }
        match schema.ownership(backend, &table.name) {
            Ownership::Tenant { column } => {
                for fk in &table.foreign_keys {
                    let Ownership::Tenant { column: parent_tc } = schema.ownership(backend, &fk.table) else {
                        continue;
                    };
                    if schema.is_tenant_table(backend, &fk.table) || fk.columns.iter().any(|c| same(c, &column)) {
                        continue;
                    }
                    let cols = fk.columns.iter().map(|c| q(c)).collect::<Vec<_>>().join(", ");
                    let refs = fk.referenced.iter().map(|c| q(c)).collect::<Vec<_>>().join(", ");
                    findings.push(Finding {
                        table: table.name.clone(),
                        problem: format!(
                            "its foreign key ({cols}) → `{}` does not include the tenant column: a row of one tenant may reference another tenant's `{}` row",
                            fk.table, fk.table
                        ),
                        fix: format!(
                            "reference the parent by tenant and key: `ALTER TABLE {} ADD FOREIGN KEY ({}, {cols}) REFERENCES {} ({}, {refs})` (with `UNIQUE ({}, {refs})` on `{}`), and drop the old foreign key",
                            q(&table.name), q(&column), q(&fk.table), q(&parent_tc), q(&parent_tc), fk.table
                        ),
                    });
                }
                for key in table.unique_keys.iter().filter(|k| !k.columns.is_empty()) {
                    if key.columns.iter().any(|c| same(c, &column)) {
                        continue;
                    }
                    let cols = key.columns.iter().map(|c| q(c)).collect::<Vec<_>>().join(", ");
                    findings.push(Finding {
                        table: table.name.clone(),
                        problem: format!("its unique key ({cols}) does not include the tenant column: one tenant's row blocks another's, and an upsert on it collides across tenants"),
                        fix: format!("make it `UNIQUE ({}, {cols})`", q(&column)),
                    });
                }
            }
            Ownership::Child { links } => {
                let link = &links[0];
                let tc = schema.tenant_column_of(backend, &table.name);
                let parent_tc = match schema.ownership(backend, &link.parent) {
                    Ownership::Tenant { column } => column,
                    _ => tc.to_string(),
                };
                let cols = link.columns.iter().map(|(c, _)| q(c)).collect::<Vec<_>>().join(", ");
                let refs = link.columns.iter().map(|(_, p)| q(p)).collect::<Vec<_>>().join(", ");
                findings.push(Finding {
                    table: table.name.clone(),
                    problem: format!(
                        "it belongs to a tenant only through ({cols}) → `{}`: the data does not say whose its rows are, every statement must join the parent, and a distributed database cannot co-locate it",
                        link.parent
                    ),
                    fix: format!(
                        "give it the tenant column and reference the parent by tenant and key: `ALTER TABLE {table} ADD COLUMN {tc} ... NOT NULL`, then `FOREIGN KEY ({tc}, {cols}) REFERENCES {parent} ({parent_tc}, {refs})` (with `UNIQUE ({parent_tc}, {refs})` on `{parent}`)",
                        table = q(&table.name),
                        tc = q(tc),
                        parent = q(&link.parent),
                        parent_tc = q(&parent_tc),
                    ),
                });
            }
            _ => {}
        }
    }
    if schema.distributed && backend == crate::Backend::Postgres {
        findings.extend(obstacles(schema));
    }
    findings
}
