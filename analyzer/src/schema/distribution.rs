//! Citus from the schema: the tables distributed so that a statement confined to one
//! tenant runs on one node.
//!
//! [`distribution_migration`] writes a migration that distributes every **tenant-owned**
//! table (the tenant table too) on its tenant column, co-located with the first one, so
//! that one tenant's rows of every table live on one shard; and makes every **global**
//! table a reference table, copied to every node, which any shard can join. A statement
//! that compares each tenant table's tenant column with the tenant then runs on that
//! shard's node alone (what tenantry generates: see `Analysis::sql`).
//!
//! Not every schema can be distributed as it is. [`obstacles`] says what Citus refuses and
//! the fix, and the schema lint reports the same when the repository targets a distributed
//! database ([`crate::Schema::distributed`]):
//!
//! * a table **owned through a parent**, without a tenant column: Citus distributes a
//!   table on a column of its own, so it cannot be co-located with its parent (the fix is
//!   the tenant column and a composite foreign key);
//! * a **primary or unique key** of a tenant table without the tenant column: Citus
//!   enforces a key within a shard, and refuses one without the distribution column;
//! * a **foreign key** between tenant tables without the tenant column: Citus supports
//!   foreign keys between distributed tables only on the distribution column;
//! * **tenant columns of different types**: only tables whose distribution columns have
//!   one type are co-located;
//! * a **global table referencing a tenant table**: a reference table cannot reference a
//!   distributed one.

use std::fmt;

use super::rls::{ident, literal, qualified, unclassified};
use super::{ConfigurationError, Finding, Ownership, Table};
use crate::{Backend, Schema};

const PG: Backend = Backend::Postgres;

/// Why [`distribution_migration`] wrote no migration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DistributionError {
    /// The schema has no catalog (no migrations): nothing says which tables exist.
    NoCatalog,
    /// The configuration contradicts the migrations (see
    /// [`Schema::configuration_errors`]).
    Configuration(Vec<ConfigurationError>),
    /// A table that belongs to no tenant and is not declared global: it could be neither
    /// distributed on a tenant column nor made a reference table on good grounds.
    Unclassified {
        /// The table.
        table: String,
        /// The migration that created it.
        origin: String,
        /// Why it is not owned, and what to do.
        why: String,
    },
    /// Tables Citus refuses to distribute as they are, each with its fix (see
    /// [`obstacles`]).
    NotDistributable(Vec<Finding>),
}

impl fmt::Display for DistributionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DistributionError::NoCatalog => f.write_str(
                "distributing the tables needs the schema's migrations: without them tenantry does not know which tables exist and whose their rows are",
            ),
            DistributionError::Configuration(errors) => {
                f.write_str("the configuration contradicts the migrations: ")?;
                let messages: Vec<&str> = errors.iter().map(|e| e.message.as_str()).collect();
                f.write_str(&messages.join("; "))
            }
            DistributionError::Unclassified { table, origin, why } => write!(
                f,
                "table `{table}` (created in {origin}) belongs to no tenant and is not declared global, so it can be neither distributed nor a reference table: {why}"
            ),
            DistributionError::NotDistributable(findings) => {
                f.write_str("Citus cannot distribute the tables as they are: ")?;
                let each: Vec<String> =
                    findings.iter().map(|x| format!("`{}`: {}; fix: {}", x.table, x.problem, x.fix)).collect();
                f.write_str(&each.join("; "))
            }
        }
    }
}

impl std::error::Error for DistributionError {}

/// A Citus migration for the catalog of `schema`: `create_reference_table` for each
/// global table, then `create_distributed_table` on its tenant column for each
/// tenant-owned table, co-located with the first; referenced tables before the tables
/// that reference them (Citus wants a foreign key's target distributed first).
///
/// Errors: no catalog, a configuration the migrations contradict, a table that is
/// neither owned nor declared global, or what Citus refuses ([`obstacles`]).
///
/// ```
/// use tenantry_analyzer::schema::{Catalog, Migration, distribution_migration};
/// use tenantry_analyzer::{Backend, Schema};
/// let sql = "CREATE TABLE countries (code TEXT PRIMARY KEY);
///            CREATE TABLE invoices (id BIGINT, tenant_id TEXT NOT NULL, PRIMARY KEY (tenant_id, id));
///            CREATE TABLE payments (id BIGINT, tenant_id TEXT NOT NULL, invoice_id BIGINT NOT NULL,
///                PRIMARY KEY (tenant_id, id), FOREIGN KEY (tenant_id, invoice_id) REFERENCES invoices (tenant_id, id))";
/// let migration = Migration { version: 1, path: "1_billing.sql".into(), sql: sql.into() };
/// let catalog = Catalog::from_migrations(&[migration], Backend::Postgres).unwrap();
/// let schema = Schema { catalog: Some(catalog), shared: vec!["countries".into()], ..Schema::default() };
/// let ddl = distribution_migration(&schema).unwrap();
/// assert!(ddl.contains(r#"SELECT create_reference_table('"countries"');"#));
/// assert!(ddl.contains(r#"SELECT create_distributed_table('"invoices"', 'tenant_id');"#));
/// assert!(ddl.contains(r#"SELECT create_distributed_table('"payments"', 'tenant_id', colocate_with => '"invoices"');"#));
/// ```
pub fn distribution_migration(schema: &Schema) -> Result<String, DistributionError> {
    let catalog = schema.catalog.as_ref().ok_or(DistributionError::NoCatalog)?;
    let errors = schema.configuration_errors(PG);
    if !errors.is_empty() {
        return Err(DistributionError::Configuration(errors));
    }
    let owners: Vec<Ownership> = catalog.tables.iter().map(|t| schema.ownership(PG, &t.name)).collect();
    for (table, ownership) in catalog.tables.iter().zip(&owners) {
        if matches!(ownership, Ownership::Unclassified | Ownership::Unknown) {
            return Err(match unclassified(schema, table, &owners) {
                super::RlsError::Unclassified { table, origin, why } => {
                    DistributionError::Unclassified { table, origin, why }
                }
                _ => unreachable!("`unclassified` words an unclassified table"),
            });
        }
    }
    let found = obstacles(schema);
    if !found.is_empty() {
        return Err(DistributionError::NotDistributable(found));
    }
    let order = dependency_order(&catalog.tables);
    let mut reference = Vec::new();
    let mut distributed = Vec::new();
    for i in order {
        match &owners[i] {
            Ownership::Global => reference.push(i),
            Ownership::Tenant { column } => distributed.push((i, column.clone())),
            _ => {}
        }
    }
    let mut out = String::from(
        "-- Citus distribution of the tables, generated by tenantry from the schema.\n\
         --\n\
         -- Each tenant-owned table is distributed on its tenant column, all co-located: one tenant's\n\
         -- rows of every table are on one shard, and a statement that compares each table's tenant\n\
         -- column with the tenant runs on that shard's node alone. Each global table becomes a\n\
         -- reference table, copied to every node. Referenced tables come first. Run it once, on the\n\
         -- coordinator, after the migrations that create the tables.\n",
    );
    if !reference.is_empty() {
        out.push_str("\n-- Global tables: a copy on every node.\n");
        for i in &reference {
            let name = literal(&qualified(&catalog.tables[*i]));
            out.push_str(&format!("SELECT create_reference_table({name});\n"));
        }
    }
    if let Some(((first, _), _)) = distributed.split_first() {
        let anchor = literal(&qualified(&catalog.tables[*first]));
        out.push_str("\n-- Tenant-owned tables: distributed on the tenant column, co-located.\n");
        for (n, (i, column)) in distributed.iter().enumerate() {
            let name = literal(&qualified(&catalog.tables[*i]));
            let column = literal(column);
            if n == 0 {
                out.push_str(&format!("SELECT create_distributed_table({name}, {column});\n"));
            } else {
                out.push_str(&format!(
                    "SELECT create_distributed_table({name}, {column}, colocate_with => {anchor});\n"
                ));
            }
        }
    }
    Ok(out)
}

/// What keeps the tables of `schema` from being distributed on their tenant columns and
/// co-located, each with its fix (see the module's list). Empty without a catalog.
pub fn obstacles(schema: &Schema) -> Vec<Finding> {
    let Some(catalog) = &schema.catalog else { return Vec::new() };
    let q = |n: &str| ident(n);
    let same = |a: &str, b: &str| {
        crate::names::compare_values(PG, crate::names::Kind::Column, a, b) == crate::names::Match::Same
    };
    let list = |cols: &[String]| cols.iter().map(|c| q(c)).collect::<Vec<_>>().join(", ");
    let mut findings = Vec::new();
    // The first tenant column's type: every other must be of it to be co-located.
    let mut first_type: Option<(String, String)> = None;
    for table in &catalog.tables {
        let push = |findings: &mut Vec<Finding>, problem: String, fix: String| {
            findings.push(Finding { table: table.name.clone(), problem, fix });
        };
        match schema.ownership(PG, &table.name) {
            Ownership::Tenant { column } => {
                let data_type = table.column(PG, &column).map_or(String::new(), |c| type_name(&c.data_type));
                match &first_type {
                    None => first_type = Some((table.name.clone(), data_type)),
                    Some((first, t)) if !data_type.is_empty() && !t.is_empty() && *t != data_type => push(
                        &mut findings,
                        format!(
                            "its tenant column {} is of type `{data_type}` and `{first}`'s of `{t}`: Citus co-locates only tables whose distribution columns have one type",
                            q(&column)
                        ),
                        format!(
                            "give every tenant column one type: `ALTER TABLE {} ALTER COLUMN {} TYPE {t}`",
                            q(&table.name),
                            q(&column)
                        ),
                    ),
                    Some(_) => {}
                }
                if !table.primary_key.is_empty() && !table.primary_key.iter().any(|c| same(c, &column)) {
                    push(
                        &mut findings,
                        format!(
                            "its primary key ({}) does not include the tenant column {}: Citus refuses a primary key of a distributed table without its distribution column",
                            list(&table.primary_key),
                            q(&column)
                        ),
                        format!("make it `PRIMARY KEY ({}, {})`", q(&column), list(&table.primary_key)),
                    );
                }
                for key in table.unique_keys.iter().filter(|k| !k.columns.is_empty()) {
                    if !key.columns.iter().any(|c| same(c, &column)) {
                        push(
                            &mut findings,
                            format!(
                                "its unique key ({}) does not include the tenant column {}: Citus refuses a unique key of a distributed table without its distribution column",
                                list(&key.columns),
                                q(&column)
                            ),
                            format!("make it `UNIQUE ({}, {})`: unique per tenant", q(&column), list(&key.columns)),
                        );
                    }
                }
                for fk in &table.foreign_keys {
                    let Ownership::Tenant { column: parent_tc } = schema.ownership(PG, &fk.table) else { continue };
                    if fk.columns.iter().any(|c| same(c, &column)) {
                        continue;
                    }
                    // A foreign key to the tenant table's key is the tenant column itself.
                    if schema.is_tenant_table(PG, &fk.table) && fk.columns.len() == 1 && same(&fk.columns[0], &column) {
                        continue;
                    }
                    push(
                        &mut findings,
                        format!(
                            "its foreign key ({}) → `{}` does not include the tenant column: Citus supports foreign keys between distributed tables only on the distribution column",
                            list(&fk.columns),
                            fk.table
                        ),
                        format!(
                            "reference the parent by tenant and key: `FOREIGN KEY ({}, {}) REFERENCES {} ({}, {})` (with `UNIQUE ({}, {})` on `{}`), and drop the old foreign key",
                            q(&column),
                            list(&fk.columns),
                            q(&fk.table),
                            q(&parent_tc),
                            list(&fk.referenced),
                            q(&parent_tc),
                            list(&fk.referenced),
                            fk.table
                        ),
                    );
                }
            }
            Ownership::Child { links } => {
                let link = &links[0];
                let tc = schema.tenant_column_of(PG, &table.name);
                let parent_tc = match schema.ownership(PG, &link.parent) {
                    Ownership::Tenant { column } => column,
                    _ => tc.to_string(),
                };
                let cols: Vec<String> = link.columns.iter().map(|(c, _)| c.clone()).collect();
                let refs: Vec<String> = link.columns.iter().map(|(_, p)| p.clone()).collect();
                push(
                    &mut findings,
                    format!(
                        "it belongs to a tenant only through ({}) → `{}`: Citus distributes a table on a column of its own, so it cannot be co-located with `{}`",
                        list(&cols),
                        link.parent,
                        link.parent
                    ),
                    format!(
                        "give it the tenant column and reference the parent by tenant and key: `ALTER TABLE {table} ADD COLUMN {tc} ... NOT NULL`, then `FOREIGN KEY ({tc}, {}) REFERENCES {parent} ({parent_tc}, {})` (with `UNIQUE ({parent_tc}, {})` on {parent})",
                        list(&cols),
                        list(&refs),
                        list(&refs),
                        table = q(&table.name),
                        tc = q(tc),
                        parent = q(&link.parent),
                        parent_tc = q(&parent_tc),
                    ),
                );
            }
            Ownership::Global => {
                for fk in &table.foreign_keys {
                    if matches!(schema.ownership(PG, &fk.table), Ownership::Tenant { .. } | Ownership::Child { .. }) {
                        push(
                            &mut findings,
                            format!(
                                "it is global and its foreign key ({}) references the tenant table `{}`: a reference table cannot reference a distributed one",
                                list(&fk.columns),
                                fk.table
                            ),
                            "drop the foreign key, or give the table the tenant column if its rows belong to tenants"
                                .to_string(),
                        );
                    }
                }
            }
            _ => {}
        }
    }
    findings
}

/// A column type as Citus compares distribution columns: the base name, lower case,
/// PostgreSQL's aliases folded (`int8` is `bigint`, `varchar(64)` is `character varying`).
fn type_name(declared: &str) -> String {
    let base = declared.split('(').next().unwrap_or("").split_whitespace().collect::<Vec<_>>().join(" ");
    match base.to_ascii_lowercase().as_str() {
        "varchar" | "character varying" | "char varying" => "character varying".to_string(),
        "char" | "character" | "bpchar" => "character".to_string(),
        "int2" | "smallint" | "smallserial" | "serial2" => "smallint".to_string(),
        "int" | "int4" | "integer" | "serial" | "serial4" => "integer".to_string(),
        "int8" | "bigint" | "bigserial" | "serial8" => "bigint".to_string(),
        "decimal" | "numeric" => "numeric".to_string(),
        other => other.to_string(),
    }
}

/// The tables' positions, each after the tables its foreign keys reference (in the
/// catalog's order otherwise; a cycle keeps that order).
fn dependency_order(tables: &[Table]) -> Vec<usize> {
    let position = |name: &str| tables.iter().position(|t| t.name == name);
    let mut done = vec![false; tables.len()];
    let mut order = Vec::with_capacity(tables.len());
    while order.len() < tables.len() {
        let ready = (0..tables.len()).find(|&i| {
            !done[i] && tables[i].foreign_keys.iter().all(|fk| position(&fk.table).is_none_or(|p| p == i || done[p]))
        });
        // A cycle: the first table left, in the catalog's order.
        let next = ready.unwrap_or_else(|| (0..tables.len()).find(|&i| !done[i]).expect("a table is left"));
        done[next] = true;
        order.push(next);
    }
    order
}
