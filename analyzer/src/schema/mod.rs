//! What the analyser knows of the database's tables: the catalog its migrations build
//! ([`Catalog`]), and what each table is to a tenant ([`Ownership`]).
//!
//! Names here are the names as the database stores them (PostgreSQL folds unquoted names
//! to lower case; the others keep them as written): `Table::name` of `CREATE TABLE
//! Pages` is `pages` on PostgreSQL and `Pages` elsewhere.

mod catalog;
mod ownership;

pub use catalog::{Migration, SchemaError, read_migrations};
pub use ownership::{Link, Ownership};

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

/// A schema lint finding: a design that the analyser accepts, but that lets the data
/// itself mix tenants, or that the database will refuse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// The table it is about.
    pub table: String,
    /// What is wrong.
    pub problem: String,
    /// How to fix it (DDL for a migration, where there is one).
    pub fix: String,
}

/// The schema lint: see [`Finding`].
pub fn lint(schema: &crate::Schema, backend: crate::Backend) -> Vec<Finding> {
    let _ = (schema, backend);
    Vec::new()
}
