//! The isolation audit: does the database itself keep tenants apart?
//!
//! Compile-time confinement covers the SQL inside repositories. [`Db::verify_isolation`]
//! checks what the database adds (or takes away) at run time, for SQL anywhere:
//!
//! - **PostgreSQL**: every table has row-level security enabled *and* forced, with a policy
//!   that compares the tenant column to `current_setting(..)`, and no permissive policy that
//!   lets other rows through; the role the `Db` runs as is not a superuser, has no
//!   `BYPASSRLS` and does not own the tables (an owner can turn row-level security off).
//! - **MySQL/MariaDB**: the tenant column compares exactly: a binary collation (`*_bin`), an
//!   accent- and case-sensitive one (`*_as_cs`), or a type without a collation (numbers,
//!   `BINARY`, `VARBINARY`, `BLOB`). Under `utf8mb4_general_ci` (MariaDB's default) the tenant
//!   `ACME` reads `acme`'s rows; under `*_ai_cs`, `ácme` does.
//! - **SQLite**: the tenant column is not declared `COLLATE NOCASE` (or `RTRIM`).
//! - **Every backend**: each table exists and has its tenant column.
//!
//! Each [`IsolationFinding`] says what is wrong and the SQL that fixes it.

use std::fmt;

use crate::backend::Backend;
use crate::{Db, Error, Result};

#[cfg(feature = "mysql")]
pub(crate) mod mysql;
#[cfg(feature = "postgres")]
pub(crate) mod postgres;
#[cfg(feature = "sqlite")]
pub(crate) mod sqlite;

/// A table whose rows belong to tenants, as the audit checks it.
///
/// The name is the table as the `Db`'s connections resolve it: on the `search_path` on
/// PostgreSQL (or `schema.table`), in the current database on MySQL/MariaDB, in `main` on
/// SQLite.
///
/// ```
/// use tenantry::TenantTable;
/// let tables = [TenantTable::new("pages", "tenant_id"), TenantTable::child("comments")];
/// assert_eq!(tables[0].tenant_column.as_deref(), Some("tenant_id"));
/// assert_eq!(tables[1].tenant_column, None);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TenantTable {
    /// The table's name.
    pub name: String,
    /// Its tenant column; `None` for a child table, owned through a foreign key to its
    /// parent (checked for row-level security only: it has no tenant column to compare).
    pub tenant_column: Option<String>,
}

impl TenantTable {
    /// A table with its own tenant column.
    pub fn new(name: impl Into<String>, tenant_column: impl Into<String>) -> Self {
        TenantTable { name: name.into(), tenant_column: Some(tenant_column.into()) }
    }

    /// A child table: owned through a foreign key to its parent, no tenant column.
    pub fn child(name: impl Into<String>) -> Self {
        TenantTable { name: name.into(), tenant_column: None }
    }
}

/// What [`Db::verify_isolation`] found: nothing ([`is_clean`](Self::is_clean)), or the
/// misconfigurations, each with its fix.
///
/// ```
/// # async fn demo() -> tenantry::Result<()> {
/// use tenantry::{Db, IsolationFinding, TenantTable};
/// let db: Db<sqlx::Sqlite> = Db::connect("sqlite::memory:").await?;
/// sqlx::query("CREATE TABLE notes (tenant_id TEXT NOT NULL COLLATE NOCASE, body TEXT)")
///     .execute(db.pool()).await?;
/// let report = db.verify_isolation(&[TenantTable::new("notes", "tenant_id")]).await?;
/// assert!(!report.is_clean());
/// assert!(matches!(report.findings()[0], IsolationFinding::InexactCollation { .. }));
/// let err = report.into_result().unwrap_err(); // refuse to start
/// assert!(err.is_isolation());
/// # Ok(()) }
/// # tokio::runtime::Runtime::new().unwrap().block_on(demo()).unwrap();
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IsolationReport {
    findings: Vec<IsolationFinding>,
}

impl IsolationReport {
    pub(crate) fn from_findings(findings: Vec<IsolationFinding>) -> Self {
        IsolationReport { findings }
    }

    /// Whether the audit found nothing.
    pub fn is_clean(&self) -> bool {
        self.findings.is_empty()
    }

    /// The misconfigurations found, role-wide ones first, then table by table in the
    /// order the tables were given.
    pub fn findings(&self) -> &[IsolationFinding] {
        &self.findings
    }

    /// `Ok(())` when clean, else [`Error::Isolation`] with this report: for a service that
    /// refuses to start on a finding (`db.verify_isolation(&tables).await?.into_result()?`).
    pub fn into_result(self) -> Result<()> {
        if self.is_clean() { Ok(()) } else { Err(Error::Isolation(self)) }
    }
}

impl fmt::Display for IsolationReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.findings.len() {
            0 => f.write_str("no findings"),
            1 => write!(f, "1 finding: {}", self.findings[0]),
            n => {
                write!(f, "{n} findings:")?;
                for (i, finding) in self.findings.iter().enumerate() {
                    write!(f, "\n{}. {finding}", i + 1)?;
                }
                Ok(())
            }
        }
    }
}

/// One way the database fails to keep tenants apart. Display names the table, column or
/// role and ends with the fix (also [`fix`](Self::fix)).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum IsolationFinding {
    /// The table does not exist (or the connection's role cannot see it).
    MissingTable {
        /// The table as given.
        table: String,
    },
    /// The table has no column of that name.
    MissingTenantColumn {
        /// The table.
        table: String,
        /// The tenant column as given.
        column: String,
    },
    /// PostgreSQL: row-level security is off on the table, so every row is visible.
    RowSecurityDisabled {
        /// The table.
        table: String,
    },
    /// PostgreSQL: row-level security is enabled but not forced: the table's owner
    /// bypasses its policies.
    RowSecurityNotForced {
        /// The table.
        table: String,
    },
    /// PostgreSQL: no policy that applies to the role confines the table's rows to the
    /// tenant (for a table with a tenant column: none compares it to `current_setting`).
    /// With row-level security on and no policy, the table shows no rows at all.
    MissingPolicy {
        /// The table.
        table: String,
        /// Its tenant column (`None` for a child table).
        column: Option<String>,
        /// The policies that apply to the role and do not confine it.
        existing: Vec<String>,
        /// A `CREATE POLICY` statement that would.
        example: String,
    },
    /// PostgreSQL: a permissive policy that applies to the role does not compare the tenant
    /// column to `current_setting`: permissive policies are OR-ed, so its rows are visible
    /// to every tenant.
    UnconfinedPolicy {
        /// The table.
        table: String,
        /// Its tenant column.
        column: String,
        /// The policy.
        policy: String,
    },
    /// PostgreSQL: the role is a superuser, which bypasses every policy (even forced ones).
    Superuser {
        /// The role (`current_user`).
        role: String,
    },
    /// PostgreSQL: the role has `BYPASSRLS`.
    BypassesRowSecurity {
        /// The role (`current_user`).
        role: String,
    },
    /// PostgreSQL: the role owns the table (or is a member of its owner): an owner bypasses
    /// row-level security unless it is forced, and can turn it off.
    OwnsTable {
        /// The table.
        table: String,
        /// The role (`current_user`).
        role: String,
        /// The table's owner.
        owner: String,
    },
    /// MySQL/MariaDB, SQLite: the tenant column's collation equates distinct tenant ids
    /// (by case, accent, width or trailing spaces), so one tenant reads another's rows.
    InexactCollation {
        /// The table.
        table: String,
        /// The tenant column.
        column: String,
        /// Its collation.
        collation: String,
        /// The statement(s) that give it an exact one. On MySQL/MariaDB an
        /// `ALTER TABLE .. MODIFY` that restates the column's type and nullability: add back a
        /// `DEFAULT` or `COMMENT` it had, and change the columns of a foreign key together.
        fix: String,
    },
    /// SQLite: the table's definition could not be read to find the tenant column's
    /// collation.
    UnreadableDefinition {
        /// The table.
        table: String,
        /// The tenant column.
        column: String,
    },
}

impl IsolationFinding {
    /// The table the finding is about; `None` for one about the role.
    pub fn table(&self) -> Option<&str> {
        match self {
            IsolationFinding::MissingTable { table }
            | IsolationFinding::MissingTenantColumn { table, .. }
            | IsolationFinding::RowSecurityDisabled { table }
            | IsolationFinding::RowSecurityNotForced { table }
            | IsolationFinding::MissingPolicy { table, .. }
            | IsolationFinding::UnconfinedPolicy { table, .. }
            | IsolationFinding::OwnsTable { table, .. }
            | IsolationFinding::InexactCollation { table, .. }
            | IsolationFinding::UnreadableDefinition { table, .. } => Some(table),
            IsolationFinding::Superuser { .. } | IsolationFinding::BypassesRowSecurity { .. } => None,
        }
    }

    /// What to do about it: SQL to run where there is one.
    pub fn fix(&self) -> String {
        match self {
            IsolationFinding::MissingTable { .. } => {
                "create it (run the migrations), or correct the name; on PostgreSQL check the `search_path` \
                 and that the role has USAGE on the schema"
                    .into()
            }
            IsolationFinding::MissingTenantColumn { .. } => {
                "add the tenant column, or give the table as a child (`TenantTable::child`) if it is owned \
                 through a foreign key"
                    .into()
            }
            IsolationFinding::RowSecurityDisabled { table } => {
                let t = pg_ident(table);
                format!("ALTER TABLE {t} ENABLE ROW LEVEL SECURITY; ALTER TABLE {t} FORCE ROW LEVEL SECURITY;")
            }
            IsolationFinding::RowSecurityNotForced { table } => {
                format!("ALTER TABLE {} FORCE ROW LEVEL SECURITY;", pg_ident(table))
            }
            IsolationFinding::MissingPolicy { example, .. } => example.clone(),
            IsolationFinding::UnconfinedPolicy { table, column, policy } => format!(
                "drop it (`DROP POLICY {} ON {};`), make it `AS RESTRICTIVE`, or make its USING and WITH CHECK \
                 compare {} to current_setting(..)",
                pg_ident(policy),
                pg_ident(table),
                pg_ident(column)
            ),
            IsolationFinding::Superuser { role } => format!(
                "connect as a role that is not a superuser, e.g. `CREATE ROLE app LOGIN NOSUPERUSER NOBYPASSRLS;` \
                 granted the tables (the superuser {} may own and migrate them)",
                pg_ident(role)
            ),
            IsolationFinding::BypassesRowSecurity { role } => format!("ALTER ROLE {} NOBYPASSRLS;", pg_ident(role)),
            IsolationFinding::OwnsTable { table, .. } => format!(
                "connect as a role that does not own the tables (grant it SELECT, INSERT, UPDATE, DELETE \
                 ON {} instead), or `ALTER TABLE {} OWNER TO <a migration role>;`",
                pg_ident(table),
                pg_ident(table)
            ),
            IsolationFinding::InexactCollation { fix, .. } => fix.clone(),
            IsolationFinding::UnreadableDefinition { .. } => {
                "declare the table with a plain `CREATE TABLE` statement the audit can read, and the tenant column \
                 without COLLATE NOCASE or RTRIM"
                    .into()
            }
        }
    }
}

impl fmt::Display for IsolationFinding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IsolationFinding::MissingTable { table } => write!(f, "table `{table}` does not exist"),
            IsolationFinding::MissingTenantColumn { table, column } => {
                write!(f, "table `{table}` has no tenant column `{column}`")
            }
            IsolationFinding::RowSecurityDisabled { table } => {
                write!(f, "table `{table}` does not have row-level security enabled: every tenant sees every row")
            }
            IsolationFinding::RowSecurityNotForced { table } => write!(
                f,
                "table `{table}` has row-level security enabled but not forced: its owner bypasses the policies"
            ),
            IsolationFinding::MissingPolicy { table, column, existing, .. } => {
                write!(f, "table `{table}` has no policy")?;
                if let Some(column) = column {
                    write!(f, " comparing `{column}` to current_setting(..)")?;
                }
                if !existing.is_empty() {
                    write!(f, " (its policies: {})", existing.join(", "))?;
                }
                Ok(())
            }
            IsolationFinding::UnconfinedPolicy { table, column, policy } => write!(
                f,
                "policy `{policy}` on table `{table}` is permissive and does not compare `{column}` to \
                 current_setting(..): every tenant sees the rows it admits"
            ),
            IsolationFinding::Superuser { role } => {
                write!(f, "role `{role}` is a superuser: it bypasses row-level security")
            }
            IsolationFinding::BypassesRowSecurity { role } => {
                write!(f, "role `{role}` has BYPASSRLS: it bypasses row-level security")
            }
            IsolationFinding::OwnsTable { table, role, owner } => {
                if role == owner {
                    write!(f, "role `{role}` owns table `{table}`")?;
                } else {
                    write!(f, "role `{role}` is a member of `{owner}`, which owns table `{table}`")?;
                }
                f.write_str(": an owner bypasses row-level security unless forced, and can turn it off")
            }
            IsolationFinding::InexactCollation { table, column, collation, .. } => write!(
                f,
                "tenant column `{column}` of table `{table}` has collation `{collation}`, under which distinct \
                 tenant ids compare equal"
            ),
            IsolationFinding::UnreadableDefinition { table, column } => {
                write!(f, "the definition of table `{table}` could not be read to check tenant column `{column}`")
            }
        }?;
        write!(f, "; fix: {}", self.fix())
    }
}

/// A PostgreSQL identifier, quoted (`schema.table` as two).
fn pg_ident(name: &str) -> String {
    name.split('.').map(|part| format!("\"{}\"", part.replace('"', "\"\""))).collect::<Vec<_>>().join(".")
}

impl<DB: Backend> Db<DB> {
    /// Checks that the database itself keeps the tenants of `tables` apart, for the role
    /// this `Db`'s connections run as:
    ///
    /// - **PostgreSQL**: every table has row-level security enabled *and* forced, with a
    ///   policy that compares the tenant column to `current_setting(..)` and no permissive
    ///   policy that lets other rows through (a child table: some policy); the role is not a
    ///   superuser, has no `BYPASSRLS` and does not own the tables.
    /// - **MySQL/MariaDB**: the tenant column compares exactly: a binary collation (`*_bin`),
    ///   an accent- and case-sensitive one (`*_as_cs`), or a type without a collation.
    /// - **SQLite**: the tenant column is not declared `COLLATE NOCASE` (or `RTRIM`).
    /// - **Every backend**: each table exists and has its tenant column.
    ///
    /// Run it at startup and refuse to start on a finding:
    ///
    /// ```
    /// # async fn demo() -> tenantry::Result<()> {
    /// use tenantry::{Db, TenantTable};
    /// let db: Db<sqlx::Sqlite> = Db::connect("sqlite::memory:").await?;
    /// sqlx::query("CREATE TABLE notes (tenant_id TEXT NOT NULL, body TEXT)").execute(db.pool()).await?;
    /// db.verify_isolation(&[TenantTable::new("notes", "tenant_id")]).await?.into_result()?;
    /// # Ok(()) }
    /// # tokio::runtime::Runtime::new().unwrap().block_on(demo()).unwrap();
    /// ```
    ///
    /// The checks run on one connection of the pool; give every connection the same role.
    /// A failed catalogue query is [`Error::Database`].
    pub async fn verify_isolation(&self, tables: &[TenantTable]) -> Result<IsolationReport> {
        Ok(IsolationReport::from_findings(DB::audit_isolation(self.pool(), tables).await?))
    }
}

/// The backend half of the audit: the catalogue queries, on one connection.
pub(crate) type AuditFuture<'a> = crate::BoxFuture<'a, std::result::Result<Vec<IsolationFinding>, sqlx::Error>>;
