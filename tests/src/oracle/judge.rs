//! The judge: runs one accepted statement on the fixture twice, once as a superuser
//! (no row-level security) and once as `oracle_rls` with the tenant set (RLS forces the
//! tenant), and reports every way the two runs differ.
//!
//! Both runs happen in one transaction, each after a savepoint that is rolled back, so
//! that `now()` is the same in both and neither run sees the other's changes. Sequences
//! are not transactional: they are reset before each run, so that an `INSERT` draws the
//! same ids twice. `random()` is seeded the same way before each run.
//!
//! The statement runs with the simple query protocol (`raw_sql`): PostgreSQL then sends
//! every value as text, so rows of any statement (a query, DML with `RETURNING`, a
//! data-modifying CTE) compare as text without knowing their types. Placeholders become
//! untyped literals (`'acme'`), substituted at the byte ranges the analyser found them
//! at; PostgreSQL coerces them to the type their context wants.
//!
//! What is compared, and what is not:
//! * the rows returned, as a multiset: the order of rows is the plan's, and RLS changes
//!   plans. A leak through ORDER BY alone therefore goes unseen, unless a LIMIT makes it
//!   pick other rows (the generator orders by every output column before a LIMIT, so that
//!   ties cannot pick different rows);
//! * the rows affected;
//! * every table's rows after the statement, read as the superuser;
//! * failures: a failure in one run only (a `WITH CHECK` violation, say) or different
//!   failures are differences; the same failure in both makes the statement *not
//!   executable* (a column the fixture lacks), which tells nothing;
//! * two exceptions, where RLS fails a statement that is confined, which says nothing
//!   about confinement: an upsert whose conflicting row is another tenant's fails under
//!   RLS whatever its `DO UPDATE ... WHERE` guard says (PostgreSQL checks the existing row
//!   against the UPDATE policy even when the guard skips it); and a statement whose
//!   data-modifying CTE inserts a parent row fails the WITH CHECK of a child row the main
//!   statement inserts under it (the policy's subquery reads the statement's snapshot, in
//!   which the CTE's row does not exist yet). When an `ON CONFLICT` statement or one with
//!   a data-modifying CTE fails only with RLS, on a policy (42501), the judge instead
//!   checks that the run without RLS left every row the tenant cannot see (other tenants'
//!   rows) as it was, and added none. The rows such a statement returns are then not
//!   compared: a leak through them alone goes unseen;
//! * identity values: an `INSERT ... SELECT` draws them in the order its SELECT produces
//!   rows, which is the plan's again. The generator orders such SELECTs; a hand-written
//!   statement that does not may show a difference in ids alone.
//!
//! Statements whose result may differ without a leak are skipped (see
//! `nondeterministic`).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::str::FromStr;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use futures_util::TryStreamExt;
use sqlx::postgres::{PgConnectOptions, PgConnection, PgRow};
use sqlx::{AssertSqlSafe, Connection, Either, Row, ValueRef};
use tenantry_analyzer::{Analysis, Backend, Mode, Placeholder, Schema, Violation, analyze, placeholders};

use crate::{DEFAULT_PG_URL, database_required};

/// The tenant the RLS run is confined to, and what `:tenant` becomes.
pub const TENANT: &str = "acme";
/// The role of the RLS run: not the tables' owner, no `BYPASSRLS`.
pub const RLS_ROLE: &str = "oracle_rls";
/// The setting the fixture's policies read the tenant from.
const TENANT_SETTING: &str = "oracle.tenant";
/// Databases of the oracle are named `tenantry_oracle_<unix seconds>_<pid>_<counter>`.
const DATABASE_PREFIX: &str = "tenantry_oracle_";
/// A database older than this was left behind by a killed run.
const STALE_AFTER: Duration = Duration::from_secs(3600);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// A generated statement may be a cross join of cross joins: cut it off rather than wait.
const STATEMENT_TIMEOUT: &str = "5s";
/// Rows of a difference shown per table and side; the rest are counted.
const SHOWN_ROWS: usize = 6;

/// The fixture, created in a fresh database by [`Oracle::open`].
pub const SCHEMA_SQL: &str = include_str!("schema.sql");

/// What the judge says about one statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// The analyser refused it: nothing to judge.
    Refused(Vec<Violation>),
    /// Accepted, but its result cannot be compared across runs (the reason says why).
    Skipped(&'static str),
    /// Accepted, and it fails the same way in both runs (a column the fixture lacks, a
    /// value of the wrong type): the oracle cannot tell anything about it.
    NotExecutable(String),
    /// Accepted, and both runs agree.
    Same,
    /// Accepted, and the runs differ: a statement that is not confined to the tenant.
    Differs(Vec<String>),
}

/// How one run of a statement ended.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Outcome {
    Failed(String),
    Ran {
        rows: Vec<String>,
        affected: u64,
        tables: Snapshot,
        /// For an upsert without RLS: the rows RLS hides from the tenant afterwards.
        hidden: Option<Snapshot>,
    },
}

/// Every table's rows as text, per table, sorted.
type Snapshot = BTreeMap<String, Vec<String>>;

/// A database with the fixture, and the connection that judges statements on it.
pub struct Oracle {
    conn: PgConnection,
    /// A connection to the server's default database, which drops the oracle's.
    admin: PgConnection,
    database: String,
    /// The analyser's view of the fixture.
    schema: Schema,
    /// One query that returns `(table, row)` for every row of every table.
    snapshot_sql: String,
    /// Resets every sequence to its start.
    reset_sql: String,
    /// The rows of the fixture RLS hides from the tenant: other tenants' rows.
    hidden: Snapshot,
}

impl Oracle {
    /// Creates a fresh database with the fixture on the server of `TENANTRY_PG_URL`.
    /// Returns `None` (after saying so on stderr) when the server is unreachable, unless
    /// `TENANTRY_REQUIRE_DB=1`, which makes that a panic.
    ///
    /// # Panics
    /// When the server is reachable but the fixture cannot be created.
    pub async fn open() -> Option<Oracle> {
        Oracle::open_with(SCHEMA_SQL, Schema::with_shared(["countries", "currencies"])).await
    }

    /// Like [`Oracle::open`], on the fixture `fixture_sql`, which the analyser sees as
    /// `schema`.
    ///
    /// # Panics
    /// When the server is reachable but the fixture cannot be created.
    pub async fn open_with(fixture_sql: &str, schema: Schema) -> Option<Oracle> {
        let url = std::env::var("TENANTRY_PG_URL").ok().filter(|u| !u.is_empty()).unwrap_or(DEFAULT_PG_URL.into());
        let options = PgConnectOptions::from_str(&url).unwrap_or_else(|e| panic!("bad TENANTRY_PG_URL `{url}`: {e}"));
        let mut admin = match tokio::time::timeout(CONNECT_TIMEOUT, PgConnection::connect_with(&options)).await {
            Ok(Ok(conn)) => conn,
            Ok(Err(e)) => return unreachable(&url, &e.to_string()),
            Err(_) => return unreachable(&url, &format!("no connection within {CONNECT_TIMEOUT:?}")),
        };
        sweep_stale(&mut admin).await;
        // Roles belong to the cluster, not to a database: one role serves every run, and
        // two runs creating it at once is not an error.
        run(
            &mut admin,
            &format!(
                "DO $$ BEGIN CREATE ROLE {RLS_ROLE} NOLOGIN NOBYPASSRLS; \
                 EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$"
            ),
        )
        .await
        .unwrap_or_else(|e| panic!("creating role {RLS_ROLE}: {e}"));
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let database =
            format!("{DATABASE_PREFIX}{}_{}_{}", now_secs(), std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed));
        run(&mut admin, &format!("CREATE DATABASE {database}"))
            .await
            .unwrap_or_else(|e| panic!("creating database {database}: {e}"));
        let mut conn = PgConnection::connect_with(&options.clone().database(&database))
            .await
            .unwrap_or_else(|e| panic!("connecting to {database}: {e}"));
        run(&mut conn, fixture_sql).await.unwrap_or_else(|e| panic!("creating the oracle's fixture: {e}"));
        run(&mut conn, &format!("SET statement_timeout = '{STATEMENT_TIMEOUT}'")).await.expect("statement_timeout");

        let tables: Vec<String> = sqlx::query_scalar(
            "SELECT quote_ident(relname) FROM pg_class \
             WHERE relnamespace = 'public'::regnamespace AND relkind = 'r' ORDER BY relname",
        )
        .fetch_all(&mut conn)
        .await
        .expect("listing the fixture's tables");
        let snapshot_sql = tables
            .iter()
            .map(|t| format!("SELECT '{}', x::text FROM {t} x", t.replace('\'', "''")))
            .collect::<Vec<_>>()
            .join(" UNION ALL ");
        let reset_sql =
            "SELECT setval(c.oid, s.seqstart, false) FROM pg_class c JOIN pg_sequence s ON s.seqrelid = c.oid \
                         WHERE c.relnamespace = 'public'::regnamespace"
                .to_string();
        let mut oracle = Oracle { conn, admin, database, schema, snapshot_sql, reset_sql, hidden: Snapshot::new() };
        let hidden = async {
            run(&mut oracle.conn, "BEGIN").await?;
            run(&mut oracle.conn, &format!("SELECT set_config('{TENANT_SETTING}', '{TENANT}', true)")).await?;
            let hidden = oracle.hidden_rows().await;
            run(&mut oracle.conn, "ROLLBACK").await?;
            hidden
        }
        .await
        .unwrap_or_else(|e| panic!("reading the rows the tenant cannot see: {e}"));
        oracle.hidden = hidden;
        Some(oracle)
    }

    /// Drops the oracle's database.
    pub async fn remove(self) {
        let Oracle { conn, mut admin, database, .. } = self;
        let _ = conn.close().await;
        if let Err(e) = run(&mut admin, &format!("DROP DATABASE IF EXISTS {database} WITH (FORCE)")).await {
            eprintln!("could not drop the oracle's database {database}: {e}");
        }
        let _ = admin.close().await;
    }

    /// The analyser's verdict on `sql` for PostgreSQL, as a repository method would get it.
    pub fn analyze(&self, sql: &str) -> Result<Analysis, Vec<Violation>> {
        analyze(sql, Backend::Postgres, &self.schema, Mode::Scoped)
    }

    /// Judges `sql`: analyses it, and if it is accepted, runs it without RLS and the
    /// statement as generated (`Analysis::sql`, the tenant stated where it was proven
    /// transitively) with RLS, `:tenant` as [`TENANT`] and every other placeholder as
    /// `values(name)`: the same outcome means both that the statement is confined and
    /// that the generated one means what it means.
    pub async fn judge(&mut self, sql: &str, values: &dyn Fn(&str) -> String) -> Verdict {
        let analysis = match self.analyze(sql) {
            Ok(a) => a,
            Err(violations) => return Verdict::Refused(violations),
        };
        if let Some(why) = nondeterministic(sql) {
            return Verdict::Skipped(why);
        }
        let written = substitute(sql, &placeholders::scan(sql, Backend::Postgres).occurrences, values);
        let generated = substitute(&analysis.sql, &analysis.placeholders.occurrences, values);
        match self.both_runs(&written, &generated).await {
            Ok((plain, rls)) => compare(&plain, &rls, &self.hidden),
            Err(e) => {
                // The judge's own statements failed: the connection is unusable.
                panic!("the oracle's bookkeeping failed around `{generated}`: {e}")
            }
        }
    }

    /// Runs `sql` (no placeholders) with and without RLS without asking the analyser:
    /// for tests of the judge and the fixtures themselves, which must see a known leak.
    pub async fn judge_unanalysed(&mut self, sql: &str) -> Verdict {
        if let Some(why) = nondeterministic(sql) {
            return Verdict::Skipped(why);
        }
        match self.both_runs(sql, sql).await {
            Ok((plain, rls)) => compare(&plain, &rls, &self.hidden),
            Err(e) => panic!("the oracle's bookkeeping failed around `{sql}`: {e}"),
        }
    }

    /// `plain` as the superuser, then `rls` under RLS, each in a savepoint undone after.
    async fn both_runs(&mut self, plain: &str, rls: &str) -> Result<(Outcome, Outcome), sqlx::Error> {
        run(&mut self.conn, "BEGIN").await?;
        let result: Result<_, sqlx::Error> = async {
            run(&mut self.conn, "SAVEPOINT judge").await?;
            let plain = self.one_run(plain, false).await?;
            run(&mut self.conn, "ROLLBACK TO SAVEPOINT judge").await?;
            let rls = self.one_run(rls, true).await?;
            Ok((plain, rls))
        }
        .await;
        // Whatever happened, nothing of either run stays.
        let rollback = run(&mut self.conn, "ROLLBACK").await;
        let outcomes = result?;
        rollback?;
        Ok(outcomes)
    }

    /// One run inside the savepoint `judge`; leaves the transaction usable (the
    /// savepoint is rolled back after a failure) and the role reset.
    async fn one_run(&mut self, sql: &str, rls: bool) -> Result<Outcome, sqlx::Error> {
        // The tenant setting in both runs, as tenantry's runtime sets it: a statement
        // that reads it sees the same value, and only the role differs.
        run(
            &mut self.conn,
            &format!(
                "{}; SELECT setseed(0.5); SELECT set_config('{TENANT_SETTING}', '{TENANT}', true)",
                self.reset_sql
            ),
        )
        .await?;
        if rls {
            run(&mut self.conn, &format!("SET LOCAL ROLE {RLS_ROLE}")).await?;
        }
        let mut rows = Vec::new();
        let mut affected = 0;
        let mut failure = None;
        {
            let mut stream = sqlx::raw_sql(AssertSqlSafe(sql)).fetch_many(&mut self.conn);
            loop {
                match stream.try_next().await {
                    Ok(Some(Either::Left(done))) => affected += done.rows_affected(),
                    Ok(Some(Either::Right(row))) => rows.push(render_row(&row)),
                    Ok(None) => break,
                    Err(e) => {
                        failure = Some(describe(&e));
                        break;
                    }
                }
            }
        }
        if let Some(failure) = failure {
            // Also undoes `SET LOCAL ROLE`: the savepoint was set before it.
            run(&mut self.conn, "ROLLBACK TO SAVEPOINT judge").await?;
            return Ok(Outcome::Failed(failure));
        }
        if rls {
            // The statement may have changed other tenants' rows, which RLS would hide.
            run(&mut self.conn, "RESET ROLE").await?;
        }
        let tables = self.snapshot().await?;
        let hidden = if !rls && (is_upsert(sql) || has_dml_cte(sql)) {
            Some(self.hidden_rows_given(&tables).await?)
        } else {
            None
        };
        rows.sort();
        Ok(Outcome::Ran { rows, affected, tables, hidden })
    }

    /// Every table's rows that the tenant cannot see under RLS, now.
    async fn hidden_rows(&mut self) -> Result<Snapshot, sqlx::Error> {
        let all = self.snapshot().await?;
        self.hidden_rows_given(&all).await
    }

    /// `all` (the superuser's snapshot, now) minus the rows visible to the RLS role.
    async fn hidden_rows_given(&mut self, all: &Snapshot) -> Result<Snapshot, sqlx::Error> {
        run(&mut self.conn, &format!("SET LOCAL ROLE {RLS_ROLE}")).await?;
        let visible = self.snapshot().await;
        run(&mut self.conn, "RESET ROLE").await?;
        let visible = visible?;
        let mut hidden = Snapshot::new();
        for (table, rows) in all {
            let seen = visible.get(table).map_or(&[][..], Vec::as_slice);
            let (only_all, _) = multiset_difference(rows, seen);
            hidden.insert(table.clone(), only_all.into_iter().cloned().collect());
        }
        Ok(hidden)
    }

    async fn snapshot(&mut self) -> Result<Snapshot, sqlx::Error> {
        let rows: Vec<(String, String)> =
            sqlx::query_as(AssertSqlSafe(self.snapshot_sql.as_str())).fetch_all(&mut self.conn).await?;
        let mut snapshot = Snapshot::new();
        for (table, row) in rows {
            snapshot.entry(table).or_default().push(row);
        }
        for rows in snapshot.values_mut() {
            rows.sort();
        }
        Ok(snapshot)
    }
}

/// `SKIPPED` on stderr, or a panic under `TENANTRY_REQUIRE_DB=1`.
fn unreachable(url: &str, why: &str) -> Option<Oracle> {
    if database_required() {
        panic!("PostgreSQL at {url} is unreachable and TENANTRY_REQUIRE_DB=1 requires it: {why}");
    }
    // Straight to the process's stderr: libtest swallows `eprintln!` of a passing test.
    let _ = std::io::Write::write_all(
        &mut std::io::stderr(),
        format!(
            "SKIPPED: PostgreSQL at {url} is unreachable ({why}); start it or point TENANTRY_PG_URL at one, \
             and set TENANTRY_REQUIRE_DB=1 to fail instead of skipping\n"
        )
        .as_bytes(),
    );
    None
}

/// Drops the databases of oracle runs that were killed before they could.
async fn sweep_stale(admin: &mut PgConnection) {
    let names: Vec<String> = sqlx::query_scalar(AssertSqlSafe(format!(
        "SELECT datname::text FROM pg_database WHERE datname LIKE '{DATABASE_PREFIX}%'"
    )))
    .fetch_all(&mut *admin)
    .await
    .unwrap_or_default();
    for name in names {
        let created = name.strip_prefix(DATABASE_PREFIX).and_then(|rest| rest.split('_').next()?.parse::<u64>().ok());
        if created.is_some_and(|secs| secs + STALE_AFTER.as_secs() < now_secs()) {
            // Another run may sweep the same one: a failure here is harmless.
            let _ = run(admin, &format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).await;
        }
    }
}

fn now_secs() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

async fn run(conn: &mut PgConnection, sql: &str) -> Result<(), sqlx::Error> {
    sqlx::raw_sql(AssertSqlSafe(sql)).execute(conn).await.map(drop)
}

/// A row as `(v1, v2, NULL)`, every value as PostgreSQL's text form.
fn render_row(row: &PgRow) -> String {
    let values: Vec<String> = (0..row.len())
        .map(|i| match row.try_get_raw(i) {
            Ok(v) if v.is_null() => "NULL".to_string(),
            Ok(v) => v.as_str().map_or_else(|e| format!("<{e}>"), |s| format!("{s:?}")),
            Err(e) => format!("<{e}>"),
        })
        .collect();
    format!("({})", values.join(", "))
}

/// A failure as the server reports it: SQLSTATE and message.
fn describe(e: &sqlx::Error) -> String {
    match e {
        sqlx::Error::Database(db) => format!("{} ({})", db.message(), db.code().unwrap_or_default()),
        other => other.to_string(),
    }
}

/// Why the output of `sql` may differ between two runs without any leak, if it may.
///
/// * `LIMIT`, `OFFSET` or `FETCH` without any `ORDER BY`: which rows come first depends
///   on the plan, and RLS changes plans. With an `ORDER BY` the rows are compared; a tie
///   in the order could still pick different rows, which the generator avoids by
///   ordering by every output column.
/// * Volatile functions (`random()`, clocks, `nextval`): a different plan calls them a
///   different number of times, or for other rows.
/// * The current role (`current_user`, privilege checks): the runs differ in role.
///
/// The check is lexical, which errs towards skipping (a column named `limit_x` does not
/// occur in the fixture).
fn nondeterministic(sql: &str) -> Option<&'static str> {
    let upper = sql.to_ascii_uppercase();
    let words: Vec<&str> = upper.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).collect();
    let has = |w: &str| words.contains(&w);
    if (has("LIMIT") || has("OFFSET") || has("FETCH")) && !has("ORDER") {
        return Some("LIMIT/OFFSET/FETCH without ORDER BY");
    }
    // `nextval` hands out its values in the order the plan produces rows.
    const VOLATILE: &[&str] = &[
        "RANDOM",
        "CLOCK_TIMESTAMP",
        "STATEMENT_TIMESTAMP",
        "TIMEOFDAY",
        "GEN_RANDOM_UUID",
        "TXID_CURRENT",
        "NEXTVAL",
    ];
    if VOLATILE.iter().any(|f| has(f)) {
        return Some("a volatile function");
    }
    // The runs differ in role, by design: what names the role differs with it.
    const ROLE: &[&str] = &["CURRENT_USER", "CURRENT_ROLE", "USER", "PG_HAS_ROLE", "ROW_SECURITY_ACTIVE"];
    if ROLE.iter().any(|f| has(f)) || words.iter().any(|w| w.starts_with("HAS_") && w.ends_with("_PRIVILEGE")) {
        return Some("reads the role");
    }
    None
}

/// `sql` with each placeholder replaced by an untyped string literal: `:tenant` by
/// [`TENANT`], any other by `values(name)`.
pub fn substitute(sql: &str, occurrences: &[Placeholder], values: &dyn Fn(&str) -> String) -> String {
    let mut out = String::with_capacity(sql.len() + 16);
    let mut last = 0;
    for p in occurrences {
        out.push_str(&sql[last..p.start]);
        let value = if p.name == tenantry_analyzer::TENANT_PLACEHOLDER { TENANT.to_string() } else { values(&p.name) };
        out.push('\'');
        out.push_str(&value.replace('\'', "''"));
        out.push('\'');
        last = p.end;
    }
    out.push_str(&sql[last..]);
    out
}

/// Whether `sql` may be an upsert (lexically: it says `ON CONFLICT`).
fn is_upsert(sql: &str) -> bool {
    let upper = sql.to_ascii_uppercase();
    let words: Vec<&str> =
        upper.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).filter(|w| !w.is_empty()).collect();
    words.windows(2).any(|w| w == ["ON", "CONFLICT"])
}

/// Whether `sql` may have a data-modifying CTE (lexically: `AS (INSERT`, `AS (UPDATE`,
/// `AS (DELETE`, also `MATERIALIZED`).
fn has_dml_cte(sql: &str) -> bool {
    let upper = sql.to_ascii_uppercase().replace('(', " ( ");
    let words: Vec<&str> = upper.split_whitespace().filter(|w| *w != "MATERIALIZED" && *w != "NOT").collect();
    words.windows(3).any(|w| w[0] == "AS" && w[1] == "(" && ["INSERT", "UPDATE", "DELETE"].contains(&w[2]))
}

/// A row-level security policy's error: a WITH CHECK, or an upsert's check of the
/// existing row.
fn policy_failure(error: &str) -> bool {
    error.contains("violates row-level security policy") && error.ends_with("(42501)")
}

/// `plain` and `rls` compared; `hidden` is what the tenant could not see before.
fn compare(plain: &Outcome, rls: &Outcome, hidden: &Snapshot) -> Verdict {
    match (plain, rls) {
        (Outcome::Ran { hidden: Some(after), .. }, Outcome::Failed(b)) if policy_failure(b) => {
            let mut what = Vec::new();
            for (table, before) in hidden {
                let now = after.get(table).map_or(&[][..], Vec::as_slice);
                if before.as_slice() != now {
                    what.push(format!(
                        "fails only with RLS ({b}), and without RLS changes rows the tenant cannot see in {table}:"
                    ));
                    what.extend(diff_lines("  ", before, now));
                }
            }
            if what.is_empty() { Verdict::Same } else { Verdict::Differs(what) }
        }
        (Outcome::Failed(a), Outcome::Failed(b)) if a == b => Verdict::NotExecutable(a.clone()),
        (Outcome::Failed(a), Outcome::Failed(b)) => {
            Verdict::Differs(vec![format!("fails differently: without RLS `{a}`, with RLS `{b}`")])
        }
        (Outcome::Ran { .. }, Outcome::Failed(b)) => Verdict::Differs(vec![format!("fails only with RLS: {b}")]),
        (Outcome::Failed(a), Outcome::Ran { .. }) => Verdict::Differs(vec![format!("fails only without RLS: {a}")]),
        (
            Outcome::Ran { rows: rows_a, affected: affected_a, tables: tables_a, .. },
            Outcome::Ran { rows: rows_b, affected: affected_b, tables: tables_b, .. },
        ) => {
            let mut what = Vec::new();
            if rows_a != rows_b {
                what.push(format!("rows returned: {} without RLS, {} with RLS", rows_a.len(), rows_b.len()));
                what.extend(diff_lines("  ", rows_a, rows_b));
            }
            // For a read (or DML's RETURNING) the counts repeat the rows: said once.
            if affected_a != affected_b && (rows_a.len() as u64, rows_b.len() as u64) != (*affected_a, *affected_b) {
                what.push(format!("rows affected: {affected_a} without RLS, {affected_b} with RLS"));
            }
            for (table, a) in tables_a {
                let b = tables_b.get(table).map_or(&[][..], Vec::as_slice);
                if a.as_slice() != b {
                    what.push(format!("table {table} after the statement, rows that only one run left:"));
                    what.extend(diff_lines("  ", a, b));
                }
            }
            if what.is_empty() { Verdict::Same } else { Verdict::Differs(what) }
        }
    }
}

/// The rows only one side has, as a multiset difference of two sorted lists.
fn diff_lines(indent: &str, a: &[String], b: &[String]) -> Vec<String> {
    let (only_a, only_b) = multiset_difference(a, b);
    let mut lines = Vec::new();
    for (label, rows) in [("only without RLS", only_a), ("only with RLS", only_b)] {
        if rows.is_empty() {
            continue;
        }
        let mut line = format!("{indent}{label}: ");
        let shown: Vec<&str> = rows.iter().take(SHOWN_ROWS).map(|s| s.as_str()).collect();
        line.push_str(&shown.join(" "));
        if rows.len() > SHOWN_ROWS {
            let _ = write!(line, " ... ({} more)", rows.len() - SHOWN_ROWS);
        }
        lines.push(line);
    }
    lines
}

fn multiset_difference<'a>(a: &'a [String], b: &'a [String]) -> (Vec<&'a String>, Vec<&'a String>) {
    let (mut i, mut j) = (0, 0);
    let (mut only_a, mut only_b) = (Vec::new(), Vec::new());
    while i < a.len() || j < b.len() {
        match (a.get(i), b.get(j)) {
            (Some(x), Some(y)) if x == y => {
                i += 1;
                j += 1;
            }
            (Some(x), Some(y)) if x < y => {
                only_a.push(x);
                i += 1;
            }
            (Some(_), Some(y)) => {
                only_b.push(y);
                j += 1;
            }
            (Some(x), None) => {
                only_a.push(x);
                i += 1;
            }
            (None, Some(y)) => {
                only_b.push(y);
                j += 1;
            }
            (None, None) => break,
        }
    }
    (only_a, only_b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_become_literals_at_their_byte_ranges() {
        let sql = "SELECT ':tenant' FROM t WHERE tenant_id = :tenant AND note = :note::text AND id = :id";
        let a = analyze(sql, Backend::Postgres, &Schema::default(), Mode::Scoped).unwrap();
        let values = |name: &str| if name == "note" { "it's".to_string() } else { "7".to_string() };
        assert_eq!(
            substitute(sql, &a.placeholders.occurrences, &values),
            "SELECT ':tenant' FROM t WHERE tenant_id = 'acme' AND note = 'it''s'::text AND id = '7'"
        );
    }

    #[test]
    fn upserts_and_data_modifying_ctes_are_recognised() {
        assert!(is_upsert("INSERT INTO t VALUES (1) on  conflict (id) DO NOTHING"));
        assert!(!is_upsert("SELECT conflict FROM t"));
        assert!(has_dml_cte("WITH i AS(INSERT INTO t VALUES (1) RETURNING id) SELECT * FROM i"));
        assert!(has_dml_cte("WITH d AS NOT MATERIALIZED (DELETE FROM t) SELECT 1"));
        assert!(!has_dml_cte("WITH m AS (SELECT 1) DELETE FROM t"));
    }

    #[test]
    fn limit_without_order_is_not_compared() {
        assert!(nondeterministic("SELECT id FROM t LIMIT 1").is_some());
        assert!(nondeterministic("SELECT id FROM t ORDER BY id LIMIT 1").is_none());
        assert!(nondeterministic("SELECT random() FROM t").is_some());
        assert!(nondeterministic("SELECT limits FROM t").is_none());
    }

    #[test]
    fn multiset_difference_counts_duplicates() {
        let s = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let (a, b) = (s(&["1", "1", "2", "4"]), s(&["1", "2", "3"]));
        let (only_a, only_b) = multiset_difference(&a, &b);
        assert_eq!(only_a, [&"1".to_string(), &"4".to_string()]);
        assert_eq!(only_b, [&"3".to_string()]);
    }
}
