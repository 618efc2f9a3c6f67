//! PostgreSQL row-level security from the schema: the database itself refuses other
//! tenants' rows, also to SQL that no repository checked (admin tools, a query written by
//! hand).
//!
//! [`policy_migration`] writes a migration that, for every table of the catalog:
//!
//! * a **tenant-owned** table and the **tenant table** get `ENABLE` and `FORCE ROW LEVEL
//!   SECURITY` and one policy, [`POLICY_NAME`], whose `USING` and `WITH CHECK` compare the
//!   tenant column with the setting ([`TENANT_SETTING`] unless [`RlsOptions::setting`] says
//!   otherwise), cast to the column's type (the column is never cast: its index stays
//!   usable);
//! * a table **owned through a parent** gets the same, with `EXISTS (SELECT 1 FROM
//!   <parent> WHERE <parent key> = <owning key>)`: the parent's own policy applies inside
//!   the subquery, so grandchildren follow the chain;
//! * a **global** table gets no policy; the runtime role may only read it;
//! * any other table is an error ([`RlsError::Unclassified`]): no table is left
//!   unprotected silently.
//!
//! Fail-closed: with no tenant set (or the empty string a finished transaction leaves),
//! the setting is NULL, no row compares equal to it, every read finds nothing and every
//! write is refused. The migration then creates the runtime role (`NOLOGIN NOBYPASSRLS`,
//! unless it exists) and grants it what a repository needs. It can be applied again: it
//! replaces its own policies.

use std::fmt;

use super::{ConfigurationError, Ownership, Table};
use crate::{Backend, Schema};

/// The setting the policies compare tenant columns with, unless [`RlsOptions::setting`]
/// names another: the application sets it per transaction with `SELECT
/// set_config('tenantry.tenant', $1, true)`.
pub const TENANT_SETTING: &str = "tenantry.tenant";

/// The runtime role the migration creates and grants, unless [`RlsOptions::role`] names
/// another.
pub const RUNTIME_ROLE: &str = "tenantry_app";

/// The name of the one policy the migration gives each protected table (it replaces a
/// policy of that name when applied again).
pub const POLICY_NAME: &str = "tenantry_isolation";

/// The dollar-quote tag of the migration's `DO` blocks.
const TAG: &str = "$tenantry$";

/// PostgreSQL's longest identifier (`NAMEDATALEN - 1` bytes): a longer role name would be
/// cut short where it is an identifier and not where it is a string.
const MAX_IDENTIFIER: usize = 63;

/// What [`policy_migration`] writes into the migration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RlsOptions {
    /// The setting that holds the tenant of the current transaction (a custom setting:
    /// two or more dotted parts, `tenantry.tenant`).
    pub setting: String,
    /// The role the application runs as: created `NOLOGIN NOBYPASSRLS` unless it
    /// exists, granted the tables. It must own none of them and must not be a superuser.
    pub role: String,
}

impl Default for RlsOptions {
    /// [`TENANT_SETTING`] and [`RUNTIME_ROLE`].
    fn default() -> Self {
        RlsOptions { setting: TENANT_SETTING.to_string(), role: RUNTIME_ROLE.to_string() }
    }
}

/// Why [`policy_migration`] wrote no migration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RlsError {
    /// The schema has no catalog (no migrations): nothing says which tables exist.
    NoCatalog,
    /// The configuration contradicts the migrations (see
    /// [`Schema::configuration_errors`]): the tables would be classified on wrong premises.
    Configuration(Vec<ConfigurationError>),
    /// A table that belongs to no tenant and is not declared global: a policy could not
    /// say whose its rows are, and leaving it without one would leave it unprotected.
    Unclassified {
        /// The table.
        table: String,
        /// The migration that created it.
        origin: String,
        /// Why it is not owned, and what to do.
        why: String,
    },
    /// A tenant column whose type the setting (text) cannot be compared with exactly.
    TenantColumnType {
        /// The table.
        table: String,
        /// Its tenant column.
        column: String,
        /// The column's type, as the migrations declare it.
        data_type: String,
        /// Why it cannot be compared, and what to do.
        why: String,
    },
    /// [`RlsOptions::setting`] is not a name PostgreSQL accepts for a custom setting.
    Setting(String),
    /// [`RlsOptions::role`] cannot be written into the migration.
    Role {
        /// The name.
        role: String,
        /// Why not.
        why: String,
    },
}

impl fmt::Display for RlsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RlsError::NoCatalog => f.write_str(
                "row-level security needs the schema's migrations: without them tenantry does not know which tables exist and whose their rows are",
            ),
            RlsError::Configuration(errors) => {
                f.write_str("the configuration contradicts the migrations: ")?;
                let messages: Vec<&str> = errors.iter().map(|e| e.message.as_str()).collect();
                f.write_str(&messages.join("; "))
            }
            RlsError::Unclassified { table, origin, why } => write!(
                f,
                "table `{table}` (created in {origin}) belongs to no tenant and is not declared global, so no policy can protect it: {why}"
            ),
            RlsError::TenantColumnType { table, column, data_type, why } => {
                write!(f, "the tenant column `{column}` of `{table}` is of type `{data_type}`: {why}")
            }
            RlsError::Setting(setting) => write!(
                f,
                "`{setting}` is not a custom setting's name: PostgreSQL wants two or more dotted parts, each a letter or `_` followed by letters, digits, `_` or `$` (`{TENANT_SETTING}`)"
            ),
            RlsError::Role { role, why } => write!(f, "role `{role}`: {why}"),
        }
    }
}

impl std::error::Error for RlsError {}

/// A PostgreSQL migration that enables row-level security for every tenant-owned table
/// of `schema` (a tenant-owned table on its tenant column, the tenant table on its key, a
/// child table through its owning key; global tables read-only), with the runtime role and
/// its grants.
///
/// Errors: no catalog, a configuration the migrations contradict, a table that is
/// neither owned nor declared global, a tenant column of a type the setting cannot be
/// compared with, or options that are not valid names — the first, in the catalog's
/// order.
///
/// ```
/// use tenantry_analyzer::schema::{Catalog, Migration, RlsOptions, policy_migration};
/// use tenantry_analyzer::{Backend, Schema};
/// let sql = "CREATE TABLE notes (id BIGINT PRIMARY KEY, tenant_id TEXT NOT NULL, body TEXT)";
/// let migration = Migration { version: 1, path: "1_notes.sql".into(), sql: sql.into() };
/// let catalog = Catalog::from_migrations(&[migration], Backend::Postgres).unwrap();
/// let schema = Schema { catalog: Some(catalog), ..Schema::default() };
/// let ddl = policy_migration(&schema, &RlsOptions::default()).unwrap();
/// assert!(ddl.contains(r#"ALTER TABLE "notes" FORCE ROW LEVEL SECURITY;"#));
/// assert!(ddl.contains(r#"USING ("tenant_id" = NULLIF(current_setting('tenantry.tenant', true), ''))"#));
/// ```
pub fn policy_migration(schema: &Schema, options: &RlsOptions) -> Result<String, RlsError> {
    const PG: Backend = Backend::Postgres;
    check_setting(&options.setting)?;
    check_role(&options.role)?;
    let catalog = schema.catalog.as_ref().ok_or(RlsError::NoCatalog)?;
    let errors = schema.configuration_errors(PG);
    if !errors.is_empty() {
        return Err(RlsError::Configuration(errors));
    }
    let owners: Vec<Ownership> = catalog.tables.iter().map(|t| schema.ownership(PG, &t.name)).collect();
    for (table, ownership) in catalog.tables.iter().zip(&owners) {
        if matches!(ownership, Ownership::Unclassified | Ownership::Unknown) {
            return Err(unclassified(schema, table, &owners));
        }
    }
    let depth = depths(&catalog.tables, &owners);
    let setting = literal(&options.setting);
    let role = ident(&options.role);

    let mut out = header(options);
    out.push_str(&role_block(options));
    let (mut owned, mut global) = (Vec::new(), Vec::new());
    for (i, (table, ownership)) in catalog.tables.iter().zip(&owners).enumerate() {
        let name = qualified(table);
        let (what, condition) = match ownership {
            Ownership::Tenant { column } => {
                let cast = setting_cast(table, column)?;
                let what = if schema.is_tenant_table(PG, &table.name) {
                    format!("the tenant table (its key {} is the tenant)", ident(column))
                } else {
                    format!("tenant-owned (its tenant column is {})", ident(column))
                };
                let value = format!("NULLIF(current_setting({setting}, true), ''){cast}");
                (what, format!("{} = {value}", ident(column)))
            }
            Ownership::Child { links } => {
                // Only links to parents nearer a tenant column: the policies then never
                // refer to each other in a cycle, which PostgreSQL refuses as infinite
                // recursion. Each child keeps at least its nearest link.
                let kept =
                    links.iter().filter(|l| index(&catalog.tables, &l.parent).is_some_and(|p| depth[p] < depth[i]));
                let mut parents = Vec::new();
                let mut conditions = Vec::new();
                for link in kept {
                    let parent = catalog.table(PG, &link.parent);
                    let parent_name = parent.map_or_else(|| ident(&link.parent), qualified);
                    let pairs = link
                        .columns
                        .iter()
                        .map(|(c, p)| format!("tenantry_parent.{} = {}.{}", ident(p), ident(&table.name), ident(c)))
                        .collect::<Vec<_>>()
                        .join(" AND ");
                    let columns = link.columns.iter().map(|(c, _)| ident(c)).collect::<Vec<_>>().join(", ");
                    parents.push(format!("({columns}) → {parent_name}"));
                    conditions.push(format!("EXISTS (SELECT 1 FROM {parent_name} AS tenantry_parent WHERE {pairs})"));
                }
                (format!("owned through its parent ({})", parents.join(", ")), conditions.join(" AND "))
            }
            Ownership::Global => {
                global.push(name);
                continue;
            }
            Ownership::Unclassified | Ownership::Unknown => continue,
        };
        owned.push(name.clone());
        out.push_str(&format!(
            "\n-- {name}: {what}\n\
             ALTER TABLE {name} ENABLE ROW LEVEL SECURITY;\n\
             ALTER TABLE {name} FORCE ROW LEVEL SECURITY;\n\
             DROP POLICY IF EXISTS {POLICY_NAME} ON {name};\n\
             CREATE POLICY {POLICY_NAME} ON {name}\n    USING ({condition})\n    WITH CHECK ({condition});\n"
        ));
    }
    out.push_str("\n-- What the runtime role may do: read and write the tenants' rows, read the global tables.\n");
    if !owned.is_empty() {
        out.push_str(&format!("GRANT SELECT, INSERT, UPDATE, DELETE ON {} TO {role};\n", owned.join(", ")));
    }
    if !global.is_empty() {
        out.push_str(&format!("GRANT SELECT ON {} TO {role};\n", global.join(", ")));
    }
    if !owned.is_empty() || !global.is_empty() {
        out.push_str(&grants_block(options, &owned, &global));
    }
    Ok(out)
}

/// The migration's opening comment: what it is and what it assumes.
fn header(options: &RlsOptions) -> String {
    let role = ident(&options.role);
    let setting = literal(&options.setting);
    format!(
        "-- Row-level security for the tenant-owned tables, generated by tenantry from the schema.\n\
         --\n\
         -- Each tenant-owned table, and each table owned through a parent, shows and accepts only\n\
         -- the rows of the tenant in the setting {setting}; with no tenant set, none: reads\n\
         -- find no rows and writes are refused. Global tables are read-only to the runtime role.\n\
         --\n\
         -- The application runs as {role} (created NOLOGIN: grant it to the login role that\n\
         -- then runs `SET ROLE {role}`, or `ALTER ROLE {role} LOGIN PASSWORD '...'`). That\n\
         -- role must not own these tables and must not be a superuser or BYPASSRLS: either\n\
         -- would bypass the policies. The application sets the tenant per transaction:\n\
         --     SELECT set_config({setting}, $1, true)\n\
         -- or as the startup parameter of a connection only that tenant ever uses (tenantry's\n\
         -- Rls::pinned), never per session on a connection another tenant may get.\n\
         -- FORCE subjects the tables' owner to the policies too: run data migrations as a\n\
         -- superuser or a BYPASSRLS role, or with the tenant set.\n\
         \n"
    )
}

/// Creates the runtime role unless it exists; refuses one that would bypass the policies.
fn role_block(options: &RlsOptions) -> String {
    let (name, role) = (literal(&options.role), ident(&options.role));
    format!(
        "-- The runtime role.\n\
         DO {TAG}\n\
         BEGIN\n\
         \x20   IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = {name}) THEN\n\
         \x20       CREATE ROLE {role} NOLOGIN NOBYPASSRLS;\n\
         \x20   ELSIF EXISTS (SELECT FROM pg_roles WHERE rolname = {name} AND (rolsuper OR rolbypassrls)) THEN\n\
         \x20       RAISE EXCEPTION 'role % is a superuser or has BYPASSRLS: row-level security would not apply to it', {name};\n\
         \x20   END IF;\n\
         END\n\
         {TAG};\n"
    )
}

/// Refuses a runtime role that owns a protected table; grants it the use of the tables'
/// schemas, and the sequences of the owned tables' serial and identity columns (an INSERT
/// needs them).
fn grants_block(options: &RlsOptions, owned: &[String], global: &[String]) -> String {
    let regclasses = |names: &[String]| names.iter().map(|n| format!("{}::regclass", literal(n))).collect::<Vec<_>>();
    let owned_oids = regclasses(owned).join(", ");
    let all_oids = regclasses(owned).into_iter().chain(regclasses(global)).collect::<Vec<_>>().join(", ");
    let name = literal(&options.role);
    let mut block = format!(
        "DO {TAG}\n\
         DECLARE\n\
         \x20   object text;\n\
         BEGIN\n"
    );
    if !owned.is_empty() {
        block.push_str(&format!(
            "\x20   IF EXISTS (SELECT FROM pg_class WHERE oid IN ({owned_oids}) AND relowner = (SELECT oid FROM pg_roles WHERE rolname = {name})) THEN\n\
             \x20       RAISE EXCEPTION 'role % owns a protected table: FORCE ROW LEVEL SECURITY applies to it, but it may turn it off', {name};\n\
             \x20   END IF;\n"
        ));
    }
    block.push_str(&format!(
        "\x20   FOR object IN SELECT DISTINCT relnamespace::regnamespace::text FROM pg_class WHERE oid IN ({all_oids}) LOOP\n\
         \x20       EXECUTE format('GRANT USAGE ON SCHEMA %s TO %I', object, {name});\n\
         \x20   END LOOP;\n"
    ));
    if !owned.is_empty() {
        block.push_str(&format!(
            "\x20   FOR object IN\n\
             \x20       SELECT d.objid::regclass::text FROM pg_depend d JOIN pg_class s ON s.oid = d.objid AND s.relkind = 'S'\n\
             \x20       WHERE d.classid = 'pg_class'::regclass AND d.refclassid = 'pg_class'::regclass\n\
             \x20         AND d.deptype IN ('a', 'i') AND d.refobjid IN ({owned_oids})\n\
             \x20   LOOP\n\
             \x20       EXECUTE format('GRANT USAGE, SELECT ON SEQUENCE %s TO %I', object, {name});\n\
             \x20   END LOOP;\n"
        ));
    }
    block.push_str(&format!("END\n{TAG};\n"));
    block
}

/// What follows the setting in the policy so that it has the tenant column's type
/// (`::bigint`), or why the column cannot be compared with it.
fn setting_cast(table: &Table, column: &str) -> Result<&'static str, RlsError> {
    let declared = table.column(Backend::Postgres, column).map_or("", |c| c.data_type.as_str());
    let base = declared.split('(').next().unwrap_or("").split_whitespace().collect::<Vec<_>>().join(" ");
    let refuse = |why: &str| RlsError::TenantColumnType {
        table: table.name.clone(),
        column: column.to_string(),
        data_type: declared.to_string(),
        why: why.to_string(),
    };
    Ok(match base.to_ascii_lowercase().as_str() {
        "text" | "varchar" | "character varying" | "char varying" => "",
        "char" | "character" | "bpchar" => "::bpchar",
        "smallint" | "int2" | "smallserial" | "serial2" => "::smallint",
        "integer" | "int" | "int4" | "serial" | "serial4" => "::integer",
        "bigint" | "int8" | "bigserial" | "serial8" => "::bigint",
        "uuid" => "::uuid",
        "numeric" | "decimal" => "::numeric",
        "citext" => {
            return Err(refuse(
                "citext compares without case, so the tenant `ACME` would see `acme`'s rows; make it `text`",
            ));
        }
        _ if declared.is_empty() => return Err(refuse("tenantry does not know its type; declare one")),
        _ => {
            return Err(refuse(
                "the policy compares it with the setting, a string, and tenantry knows an exact comparison only for text, varchar, char, smallint, integer, bigint, numeric and uuid; give the tenant column one of these types",
            ));
        }
    })
}

/// The error for a table that is neither owned nor global, with the likely reason.
pub(super) fn unclassified(schema: &Schema, table: &Table, owners: &[Ownership]) -> RlsError {
    const PG: Backend = Backend::Postgres;
    let owned = |name: &str| {
        let catalog = schema.catalog.as_ref();
        catalog
            .and_then(|c| index(&c.tables, name))
            .is_some_and(|i| matches!(owners[i], Ownership::Tenant { .. } | Ownership::Child { .. }))
    };
    let nullable = table
        .foreign_keys
        .iter()
        .find(|fk| owned(&fk.table) && fk.columns.iter().any(|c| table.column(PG, c).is_some_and(|c| !c.not_null)));
    let hint = match nullable {
        Some(fk) => format!(
            "its foreign key ({}) → `{}` may be NULL, and a row without a parent belongs to no tenant; make it NOT NULL, ",
            fk.columns.join(", "),
            fk.table
        ),
        None => String::new(),
    };
    RlsError::Unclassified {
        table: table.name.clone(),
        origin: table.origin.clone(),
        why: format!(
            "{hint}give it the tenant column `{}`, a NOT NULL foreign key to the tenant table or to a unique key of an owned table, or declare it global (`global = [\"{}\"]` in tenantry.toml)",
            schema.tenant_column_of(PG, &table.name),
            table.name
        ),
    }
}

/// Each table's distance from a tenant column along the owning links (0 for tenant-owned
/// tables; `usize::MAX` for the others).
fn depths(tables: &[Table], owners: &[Ownership]) -> Vec<usize> {
    let mut depth: Vec<usize> =
        owners.iter().map(|o| if matches!(o, Ownership::Tenant { .. }) { 0 } else { usize::MAX }).collect();
    // Each round settles at least one more table; a shortest path has fewer links than
    // there are tables.
    for _ in 0..tables.len() {
        let mut changed = false;
        for (i, ownership) in owners.iter().enumerate() {
            let Ownership::Child { links } = ownership else { continue };
            let nearest = links
                .iter()
                .filter_map(|l| index(tables, &l.parent))
                .map(|p| depth[p].saturating_add(1))
                .min()
                .unwrap_or(usize::MAX);
            if nearest < depth[i] {
                depth[i] = nearest;
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }
    depth
}

/// The position of table `name` (as stored) in `tables`.
fn index(tables: &[Table], name: &str) -> Option<usize> {
    tables.iter().position(|t| t.name == name)
}

/// A table's name for the DDL, with its schema when the migrations name one.
pub(super) fn qualified(table: &Table) -> String {
    match &table.schema {
        Some(schema) => format!("{}.{}", ident(schema), ident(&table.name)),
        None => ident(&table.name),
    }
}

/// A quoted identifier: the catalog holds names as the database stores them, so quoting
/// every one keeps its case and spares keywords.
pub(super) fn ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// A string literal (standard-conforming: only `'` is special).
pub(super) fn literal(value: &str) -> String {
    format!("'{}'", value.replace('\'', "''"))
}

fn check_setting(setting: &str) -> Result<(), RlsError> {
    let part = |p: &str| {
        let mut chars = p.chars();
        chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$')
    };
    let parts: Vec<&str> = setting.split('.').collect();
    if parts.len() >= 2 && parts.iter().all(|p| part(p)) { Ok(()) } else { Err(RlsError::Setting(setting.to_string())) }
}

fn check_role(role: &str) -> Result<(), RlsError> {
    let why = if role.is_empty() {
        "a role needs a name".to_string()
    } else if role.len() > MAX_IDENTIFIER {
        format!("longer than PostgreSQL's {MAX_IDENTIFIER} bytes, it would be cut short")
    } else if role.contains('\0') || role.contains(TAG) {
        format!("it may contain neither NUL nor `{TAG}`")
    } else if role.starts_with("pg_") {
        "names starting with `pg_` are reserved for PostgreSQL's own roles".to_string()
    } else {
        return Ok(());
    };
    Err(RlsError::Role { role: role.to_string(), why })
}
