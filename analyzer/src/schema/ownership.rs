//! What a table is to a tenant: derived from the catalog and the configuration.
//!
//! * a table with its tenant column is **tenant-owned** (so is a table whose NOT NULL
//!   foreign key references the tenant table's key: that column holds the tenant);
//! * the **tenant table** is confined by its primary key, its tenant column;
//! * a table without one, with a NOT NULL foreign key to a unique key of an owned table,
//!   is **owned through that parent**;
//! * **global** tables only when declared (`global`, `shared(...)`);
//! * any other table is **unclassified**, and refused wherever it is used.
//!
//! Without a catalog (no migrations), every table not declared global is tenant-owned
//! with the configured tenant column: what tenantry did before it read migrations.

use super::{Catalog, Table};
use crate::names::{self, Kind, Match};
use crate::{Backend, Schema};

/// What a table is to a tenant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ownership {
    /// Each row holds its tenant in `column` (as stored).
    Tenant {
        /// The tenant column.
        column: String,
    },
    /// Each row belongs to the tenant of the parent row its foreign key references.
    Child {
        /// Its owning keys: any one of them joined to a confined parent confines it.
        links: Vec<Link>,
    },
    /// Declared global: every tenant may read it, no scoped statement may write it.
    Global,
    /// In the catalog, but no tenant column, no owning key and not declared global.
    Unclassified,
    /// Not in the catalog.
    Unknown,
}

/// A configured name the migrations contradict (see [`Schema::configuration_errors`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigurationError {
    /// The configured table the error is about (a `global` entry, the tenant table, a
    /// `[tables.X]`), for pointing at where it was written.
    pub name: String,
    /// What is wrong, for people.
    pub message: String,
}

impl std::fmt::Display for ConfigurationError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

/// A child table's owning key: a NOT NULL foreign key to a unique key of an owned table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    /// The parent table.
    pub parent: String,
    /// Pairs of (child column, parent column).
    pub columns: Vec<(String, String)>,
}

impl Link {
    /// The (child column, parent column) of a one-column key: the only kind a child is
    /// confined through (two columns taken from two confined rows need not name a row of
    /// the tenant).
    pub fn single(&self) -> Option<(&str, &str)> {
        match self.columns.as_slice() {
            [(c, p)] => Some((c, p)),
            _ => None,
        }
    }
}

impl Schema {
    /// What table `name` (its last part, as stored) is to a tenant in `backend`.
    ///
    /// ```
    /// use tenantry_analyzer::{Backend, Schema, schema::Ownership};
    /// let schema = Schema::with_shared(["countries"]);
    /// assert_eq!(schema.ownership(Backend::Postgres, "countries"), Ownership::Global);
    /// assert_eq!(
    ///     schema.ownership(Backend::Postgres, "invoices"),
    ///     Ownership::Tenant { column: "tenant_id".into() }
    /// );
    /// ```
    pub fn ownership(&self, backend: Backend, name: &str) -> Ownership {
        if self.is_global(backend, name) {
            return Ownership::Global;
        }
        match &self.catalog {
            None => Ownership::Tenant { column: self.tenant_column_of(backend, name).to_string() },
            Some(catalog) => match catalog.table(backend, name) {
                None => Ownership::Unknown,
                Some(table) => self.derive(backend, catalog, table, &mut Vec::new(), &mut Vec::new()),
            },
        }
    }

    /// Whether `name` is declared global (a qualified entry, `app.countries`, names only
    /// the qualified reference).
    pub fn is_global(&self, backend: Backend, name: &str) -> bool {
        self.shared.iter().any(|g| same(backend, g, name))
    }

    /// Whether `name` is the tenant table.
    pub fn is_tenant_table(&self, backend: Backend, name: &str) -> bool {
        self.tenant_table.as_deref().is_some_and(|t| same(backend, t, name))
    }

    /// The configured tenant column of `name`: its `[tables.X] tenant_column`, else the
    /// default.
    pub fn tenant_column_of(&self, backend: Backend, name: &str) -> &str {
        self.tenant_columns
            .iter()
            .find(|(t, _)| same(backend, t, name))
            .map_or(self.tenant_column.as_str(), |(_, c)| c.as_str())
    }

    /// What the configuration says that the catalog contradicts: a global table, the
    /// tenant table or a `[tables.X]` entry the migrations do not create, a per-table tenant
    /// column the table does not have, a tenant table without a one-column primary key.
    /// Empty without a catalog (nothing to check against).
    ///
    /// ```
    /// use tenantry_analyzer::schema::{Catalog, Migration};
    /// use tenantry_analyzer::{Backend, Schema};
    /// let m = Migration { version: 1, path: "1_t.sql".into(), sql: "CREATE TABLE tenants (id INT PRIMARY KEY)".into() };
    /// let catalog = Catalog::from_migrations(&[m], Backend::Sqlite).unwrap();
    /// let schema = Schema { catalog: Some(catalog), shared: vec!["countries".into()], ..Schema::default() };
    /// assert!(schema.configuration_errors(Backend::Sqlite)[0].message.contains("`countries`"));
    /// ```
    pub fn configuration_errors(&self, backend: Backend) -> Vec<ConfigurationError> {
        let Some(catalog) = &self.catalog else { return Vec::new() };
        let mut errors = Vec::new();
        let mut push =
            |name: &str, message: String| errors.push(ConfigurationError { name: name.to_string(), message });
        let known = |name: &str| catalog.table(backend, name.rsplit('.').next().unwrap_or(name));
        let suggest =
            |name: &str| match crate::confinement::similar_name(name, catalog.tables.iter().map(|t| t.name.as_str())) {
                Some(s) => format!(" (did you mean `{s}`?)"),
                None => String::new(),
            };
        for g in &self.shared {
            if known(g).is_none() {
                push(g, format!("global table `{g}` is not created by any migration{}", suggest(g)));
            }
        }
        if let Some(t) = &self.tenant_table {
            match known(t) {
                None => push(t, format!("tenant table `{t}` is not created by any migration{}", suggest(t))),
                Some(table) if table.primary_key.len() != 1 => push(
                    t,
                    format!(
                        "tenant table `{t}` needs a primary key of one column (the tenant's id); it has {}",
                        if table.primary_key.is_empty() {
                            "none".to_string()
                        } else {
                            format!("({})", table.primary_key.join(", "))
                        }
                    ),
                ),
                Some(_) => {}
            }
        }
        for (t, column) in &self.tenant_columns {
            match known(t) {
                None => push(t, format!("`[tables.{t}]`: table `{t}` is not created by any migration{}", suggest(t))),
                Some(table) if table.column(backend, column).is_none() => push(
                    t,
                    format!(
                        "`[tables.{t}] tenant_column = \"{column}\"`: `{t}` has no column `{column}`{}",
                        match crate::confinement::similar_name(column, table.columns.iter().map(|c| c.name.as_str())) {
                            Some(s) => format!(" (did you mean `{s}`?)"),
                            None => String::new(),
                        }
                    ),
                ),
                Some(_) => {}
            }
        }
        errors
    }

    /// `visiting`: the tables whose ownership is being derived (a cycle of references
    /// owns nothing by itself); `memo`: the parents already classified in this question,
    /// each perhaps short of a path through a table being visited, which errs on the side
    /// of refusing.
    fn derive(
        &self,
        backend: Backend,
        catalog: &Catalog,
        table: &Table,
        visiting: &mut Vec<String>,
        memo: &mut Vec<(String, bool)>,
    ) -> Ownership {
        if self.is_global(backend, &table.name) {
            return Ownership::Global;
        }
        if self.is_tenant_table(backend, &table.name) {
            return match table.primary_key.as_slice() {
                [key] => Ownership::Tenant { column: key.clone() },
                _ => Ownership::Unclassified,
            };
        }
        let configured = self.tenant_column_of(backend, &table.name);
        if let Some(c) = table.column(backend, configured) {
            return Ownership::Tenant { column: c.name.clone() };
        }
        // A NOT NULL foreign key to the tenant table's key holds the tenant itself.
        for fk in &table.foreign_keys {
            if let ([column], true) = (fk.columns.as_slice(), self.is_tenant_table(backend, &fk.table))
                && let Some(parent) = catalog.table(backend, &fk.table)
                && parent.primary_key.len() == 1
                && fk.referenced.len() == 1
                && same_column(backend, &fk.referenced[0], &parent.primary_key[0])
                && table.column(backend, column).is_some_and(|c| c.not_null)
            {
                return Ownership::Tenant { column: column.clone() };
            }
        }
        visiting.push(table.name.clone());
        let mut links = Vec::new();
        for fk in &table.foreign_keys {
            let Some(parent) = catalog.table(backend, &fk.table) else { continue };
            if visiting.iter().any(|v| same(backend, v, &parent.name)) {
                continue;
            }
            let not_null = fk.columns.iter().all(|c| table.column(backend, c).is_some_and(|c| c.not_null));
            if !not_null || fk.columns.len() != fk.referenced.len() || !unique(backend, parent, &fk.referenced) {
                continue;
            }
            // Each parent is classified once per question: a schema whose tables all
            // reference each other would otherwise be walked along every path.
            let owned = match memo.iter().find(|(name, _)| same(backend, name, &parent.name)) {
                Some((_, owned)) => *owned,
                None => {
                    let owned = matches!(
                        self.derive(backend, catalog, parent, visiting, memo),
                        Ownership::Tenant { .. } | Ownership::Child { .. }
                    );
                    memo.push((parent.name.clone(), owned));
                    owned
                }
            };
            if owned {
                links.push(Link {
                    parent: parent.name.clone(),
                    columns: fk.columns.iter().cloned().zip(fk.referenced.iter().cloned()).collect(),
                });
            }
        }
        visiting.pop();
        if links.is_empty() { Ownership::Unclassified } else { Ownership::Child { links } }
    }
}

/// Whether `columns` are (in any order) the primary key or a full unique key of `table`:
/// then a foreign key to them references at most one row.
fn unique(backend: Backend, table: &Table, columns: &[String]) -> bool {
    let equal = |key: &[String]| {
        key.len() == columns.len() && key.iter().all(|k| columns.iter().any(|c| same_column(backend, c, k)))
    };
    equal(&table.primary_key) || table.unique_keys.iter().any(|u| !u.partial && equal(&u.columns))
}

fn same(backend: Backend, a: &str, b: &str) -> bool {
    names::compare_values(backend, Kind::Relation, a, b) == Match::Same
}

fn same_column(backend: Backend, a: &str, b: &str) -> bool {
    names::compare_values(backend, Kind::Column, a, b) == Match::Same
}
