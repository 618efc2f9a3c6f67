//! The audit: walk the tree, find the statements, judge each, and collect the findings.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use tenantry_analyzer::config::{self, Config};
use tenantry_analyzer::schema::{self, Catalog, Migration};
use tenantry_analyzer::{Backend, Schema};
use toml::de::{DeTable, DeValue};

use crate::judge::{Verdict, judge};
use crate::literal::{Lines, Mapped};
use crate::marker::{self, Marker};
use crate::params::{Syntax, scan};
use crate::rust::{self, Sql};
use crate::sqlfile;

/// What to audit and how.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Options {
    /// The tree: `tenantry.toml` and `migrations/` are read there, paths are shown
    /// relative to it.
    pub root: PathBuf,
    /// `--backend`: over `tenantry.toml`'s `[check] backend`.
    pub backend: Option<Backend>,
    /// `--exclude`: paths relative to the root, added to `[check] exclude`.
    pub exclude: Vec<String>,
}

/// Why the audit could not run: the exit code is 2.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fatal(pub String);

impl std::fmt::Display for Fatal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// How serious a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    /// A statement that may leak, or a marker that is not understood: exit code 1.
    Error,
    /// A statement that could not be checked (exit code 1 with `--deny-unchecked`).
    Warning,
}

impl Level {
    /// `error` or `warning`, as rustc and SARIF write them.
    pub fn name(self) -> &'static str {
        match self {
            Level::Error => "error",
            Level::Warning => "warning",
        }
    }
}

/// One finding, located in the file as rustc locates errors.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// The rule id.
    pub rule: &'static str,
    /// Error or warning.
    pub level: Level,
    /// The file, relative to the root, with `/`.
    pub file: String,
    /// 1-based line of the start.
    pub line: usize,
    /// 1-based column (in characters) of the start.
    pub column: usize,
    /// 1-based line of the end.
    pub end_line: usize,
    /// 1-based column just past the end.
    pub end_column: usize,
    /// What is wrong.
    pub message: String,
    /// How to fix it, when there is a fix.
    pub fix: Option<String>,
    /// The statement as written (whitespace kept), or the expression that builds it.
    pub statement: String,
    /// The call or query that holds it (`sqlx::query`, `query_as!`, `sqlc GetInvoice :one`).
    pub origin: String,
    /// The text of `line`, for the caret.
    pub source_line: String,
    /// Stable across edits elsewhere in the file: rule, file and statement.
    pub fingerprint: String,
}

/// What a statement turned out to be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    /// Confined to the tenant bound to this parameter.
    Confined(String),
    /// It touches no tenant-owned table.
    NoTenantTable,
    /// Marked deliberately cross-tenant, with this reason.
    CrossTenant(String),
    /// Not provably confined: it has findings.
    Flagged,
    /// Its SQL cannot be read before run time.
    NotCheckable,
}

/// One statement found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    /// The file holding the call, relative to the root.
    pub file: String,
    /// 1-based line of the call.
    pub line: usize,
    /// 1-based column of the call.
    pub column: usize,
    /// What holds it (`sqlx::query`, ...).
    pub origin: String,
    /// The dialect it was read in, when it was read.
    pub backend: Option<Backend>,
    /// What it is.
    pub status: Status,
}

/// The result of an audit, sorted by file and position.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    /// Every statement found.
    pub statements: Vec<Statement>,
    /// Every finding.
    pub findings: Vec<Finding>,
    /// Files read (`.rs`, and `.sql` with queries).
    pub files: usize,
    /// `.sql` files without a `-- name:` query (migrations elsewhere, scripts): not read.
    pub sql_without_queries: Vec<String>,
}

impl Report {
    /// How many statements have `status` (compared by kind).
    pub fn count(&self, kind: fn(&Status) -> bool) -> usize {
        self.statements.iter().filter(|s| kind(&s.status)).count()
    }
}

/// A file's text and line index, under the name it is shown with.
struct Text {
    shown: String,
    text: String,
    lines: Lines,
}

impl Text {
    fn new(shown: String, text: String) -> Text {
        // A byte order mark is not part of the first line's columns.
        let text = text.strip_prefix('\u{feff}').map(str::to_string).unwrap_or(text);
        let lines = Lines::new(&text);
        Text { shown, text, lines }
    }

    fn position(&self, offset: usize) -> (usize, usize) {
        self.lines.position(&self.text, offset)
    }
}

/// What `tenantry.toml` and the migrations of a tree say, as `#[tenant_repository]` reads them.
#[derive(Debug)]
pub struct Project {
    /// `tenantry.toml` (the defaults without one).
    pub config: Config,
    /// The migrations folder, if there is one.
    pub migrations_dir: Option<PathBuf>,
    /// Its migrations, in order.
    pub migrations: Vec<Migration>,
}

impl Project {
    /// Reads `root/tenantry.toml` and the migrations folder it names (else `migrations/`).
    pub fn load(root: &Path) -> Result<Project, Fatal> {
        let config = config::load(root).map_err(|errors| Fatal(errors.join("\n")))?;
        let migrations_dir = match &config.migrations {
            Some(written) => {
                let dir = root.join(written);
                if !dir.is_dir() {
                    return Err(Fatal(format!(
                        "{}: the migrations folder `{}` (`migrations = \"{written}\"`) does not exist",
                        root.join(config::FILE_NAME).display(),
                        dir.display()
                    )));
                }
                Some(dir)
            }
            None => Some(root.join("migrations")).filter(|d| d.is_dir()),
        };
        let migrations = match &migrations_dir {
            Some(dir) => schema::read_migrations(dir).map_err(|e| Fatal(format!("cannot read the migrations: {e}")))?,
            None => Vec::new(),
        };
        Ok(Project { config, migrations_dir, migrations })
    }

    /// The schema the analyser judges `backend`'s statements against; the configuration
    /// must agree with the migrations.
    pub fn schema(&self, backend: Backend) -> Result<Schema, Fatal> {
        let mut schema = Schema::default();
        if let Some(c) = &self.config.tenant_column {
            schema.tenant_column = c.clone();
        }
        schema.tenant_columns = self.config.tables.clone();
        schema.tenant_table = self.config.tenant_table.clone();
        schema.shared = self.config.global.clone();
        // `distributed = true` is about the PostgreSQL database (Citus), as in the macro.
        schema.distributed = self.config.distributed && backend == Backend::Postgres;
        if self.migrations_dir.is_some() {
            let catalog = Catalog::from_migrations(&self.migrations, backend)
                .map_err(|e| Fatal(format!("cannot apply the migrations as {} SQL: {e}", backend.name())))?;
            schema.catalog = Some(catalog);
        }
        let wrong = schema.configuration_errors(backend);
        if !wrong.is_empty() {
            let messages: Vec<String> = wrong.iter().map(|e| format!("{}: {e}", config::FILE_NAME)).collect();
            return Err(Fatal(messages.join("\n")));
        }
        Ok(schema)
    }
}

/// The audit's state: configuration, schemas by backend, what was found so far.
struct Audit {
    root: PathBuf,
    project: Project,
    /// `--backend` or `[check] backend`: every statement is read in it.
    fixed: Option<Backend>,
    /// The backends sqlx is built with anywhere in the tree (all three when no
    /// `Cargo.toml` says), for a crate whose own manifest does not say.
    tree_backends: Vec<Backend>,
    /// Each crate's own sqlx backends, by the crate's folder.
    crate_backends: HashMap<PathBuf, Vec<Backend>>,
    schemas: HashMap<Backend, Schema>,
    excluded: Vec<String>,
    report: Report,
}

/// Runs the audit of `options.root`.
pub fn check(options: &Options) -> Result<Report, Fatal> {
    let root = &options.root;
    if !root.is_dir() {
        return Err(Fatal(format!("`{}` is not a directory", root.display())));
    }
    let project = Project::load(root)?;
    let mut excluded: Vec<String> =
        project.config.check.exclude.iter().chain(&options.exclude).map(|e| normalize(e)).collect();
    excluded.retain(|e| !e.is_empty());
    let mut audit = Audit {
        root: root.clone(),
        fixed: options.backend.or(project.config.check.backend),
        tree_backends: Vec::new(),
        crate_backends: HashMap::new(),
        project,
        schemas: HashMap::new(),
        excluded,
        report: Report::default(),
    };
    let mut files = Vec::new();
    audit.walk(root, &mut files);
    // Without a backend named, the sqlx features of the tree's crates tell.
    let order = [Backend::Postgres, Backend::MySql, Backend::Sqlite];
    let mut tree: Vec<Backend> = Vec::new();
    for manifest in files.iter().filter(|f| f.file_name().is_some_and(|n| n == "Cargo.toml")) {
        let found = std::fs::read_to_string(manifest).map(|text| sqlx_backends(&text)).unwrap_or_default();
        let found: Vec<Backend> = order.into_iter().filter(|b| found.contains(b)).collect();
        tree.extend(&found);
        if let Some(dir) = manifest.parent() {
            audit.crate_backends.insert(dir.to_path_buf(), found);
        }
    }
    audit.tree_backends = order.into_iter().filter(|b| tree.is_empty() || tree.contains(b)).collect();
    for file in &files {
        match file.extension().and_then(|e| e.to_str()) {
            Some("rs") => audit.rust_file(file)?,
            Some("sql") => audit.sql_file(file)?,
            _ => {}
        }
    }
    let mut report = audit.report;
    report.statements.sort_by(|a, b| (&a.file, a.line, a.column).cmp(&(&b.file, b.line, b.column)));
    report.findings.sort_by(|a, b| {
        (&a.file, a.line, a.column, a.rule, &a.message).cmp(&(&b.file, b.line, b.column, b.rule, &b.message))
    });
    Ok(report)
}

impl Audit {
    /// The files under `dir`, sorted, without hidden folders, build output, the
    /// migrations and what is excluded.
    fn walk(&self, dir: &Path, out: &mut Vec<PathBuf>) {
        let Ok(entries) = std::fs::read_dir(dir) else { return };
        let mut entries: Vec<_> = entries.filter_map(Result::ok).collect();
        entries.sort_by_key(|e| e.file_name());
        for entry in entries {
            let path = entry.path();
            let name = entry.file_name().to_string_lossy().to_string();
            let shown = self.shown(&path);
            if self.excluded.iter().any(|e| shown == *e || shown.starts_with(&format!("{e}/"))) {
                continue;
            }
            // Symbolic links are not followed: a link to a parent folder would loop.
            let Ok(kind) = entry.file_type() else { continue };
            if kind.is_dir() {
                let skip = name.starts_with('.')
                    || name == "target"
                    || name == "node_modules"
                    || self.project.migrations_dir.as_deref() == Some(path.as_path());
                if !skip {
                    self.walk(&path, out);
                }
            } else if kind.is_file() {
                out.push(path);
            }
        }
    }

    /// `path` relative to the root, with `/`.
    fn shown(&self, path: &Path) -> String {
        let relative = path.strip_prefix(&self.root).unwrap_or(path);
        relative.components().map(|c| c.as_os_str().to_string_lossy()).collect::<Vec<_>>().join("/")
    }

    /// Reads a file as text; a file that cannot be read is a finding, not an error.
    fn read(&mut self, path: &Path) -> Option<Text> {
        let shown = self.shown(path);
        match std::fs::read_to_string(path) {
            Ok(text) => Some(Text::new(shown, text)),
            Err(e) => {
                self.unreadable(&shown, &format!("cannot read the file: {e}"));
                None
            }
        }
    }

    fn unreadable(&mut self, shown: &str, reason: &str) {
        let text = Text::new(shown.to_string(), String::new());
        let statement = format!("{shown}: {reason}");
        self.not_checkable(&text, (0, 0), "file", reason, &statement);
    }

    fn schema(&mut self, backend: Backend) -> Result<&Schema, Fatal> {
        if !self.schemas.contains_key(&backend) {
            let schema = self.project.schema(backend)?;
            self.schemas.insert(backend, schema);
        }
        Ok(&self.schemas[&backend])
    }

    /// The backends to read `sql` of the crate in `crate_dir` in, most likely first: the
    /// one named, else the crate's (or the tree's), those its parameters imply first.
    fn backends_for(&self, sql: &str, syntax: Syntax, crate_dir: &Path) -> Vec<Backend> {
        if let Some(backend) = self.fixed {
            return vec![backend];
        }
        let mut candidates = match self.crate_backends.get(crate_dir) {
            Some(own) if !own.is_empty() => own.clone(),
            _ => self.tree_backends.clone(),
        };
        let has = |b: Backend, prefix: char| scan(sql, b, syntax, None).iter().any(|p| p.text(sql).starts_with(prefix));
        let preferred: &[Backend] = if has(Backend::Postgres, '$') {
            &[Backend::Postgres, Backend::Sqlite]
        } else if has(Backend::MySql, '?') {
            &[Backend::MySql, Backend::Sqlite]
        } else {
            &[]
        };
        // A stable sort: the preferred ones first, the others in their order.
        candidates.sort_by_key(|b| preferred.iter().position(|p| p == b).unwrap_or(preferred.len()));
        candidates
    }

    fn rust_file(&mut self, path: &Path) -> Result<(), Fatal> {
        let Some(text) = self.read(path) else { return Ok(()) };
        self.report.files += 1;
        let crate_dir = crate_dir(path, &self.root);
        for found in rust::find(&text.text, path, &crate_dir) {
            let at = found.at;
            if let Some(Marker::Malformed { problem, line, column }) = &found.marker {
                self.malformed_marker(&text, *line, *column, problem, &found.origin);
            }
            let cross = match &found.marker {
                Some(Marker::CrossTenant { reason }) => Some(reason.clone()),
                _ => None,
            };
            match found.sql {
                Sql::Here(mapped) => self.statement(
                    &text,
                    &crate_dir,
                    at,
                    &found.origin,
                    &mapped,
                    Syntax::Sqlx,
                    found.binds.as_deref(),
                    cross,
                )?,
                Sql::File(file) => match std::fs::read_to_string(&file) {
                    Ok(sql) => {
                        let other = Text::new(self.shown(&file), sql);
                        let mapped = Mapped::verbatim(other.text.trim_end(), 0);
                        let (line, column) = text.position(at);
                        let origin = format!("{} at {}:{line}:{column}", found.origin, text.shown);
                        self.statement(
                            &other,
                            &crate_dir,
                            0,
                            &origin,
                            &mapped,
                            Syntax::Sqlx,
                            found.binds.as_deref(),
                            cross,
                        )?;
                    }
                    Err(e) => {
                        let shown = self.shown(&file);
                        let reason = format!("cannot read `{shown}`: {e}");
                        self.not_checkable(&text, (at, at), &found.origin, &reason, &shown);
                    }
                },
                Sql::Dynamic { reason, at: built, end, expression } => match cross {
                    Some(reason) => self.cross_tenant(&text, at, &found.origin, reason),
                    None => self.not_checkable(&text, (built, end), &found.origin, &reason, &expression),
                },
            }
        }
        Ok(())
    }

    fn sql_file(&mut self, path: &Path) -> Result<(), Fatal> {
        let Some(text) = self.read(path) else { return Ok(()) };
        let queries = sqlfile::queries(&text.text);
        if queries.is_empty() {
            self.report.sql_without_queries.push(text.shown.clone());
            return Ok(());
        }
        self.report.files += 1;
        let crate_dir = crate_dir(path, &self.root);
        for query in queries {
            // The marker may sit between the `-- name:` line and the SQL, or above both.
            let first_sql = query.sql.lines().position(|l| !l.trim_start().starts_with("--")).unwrap_or(0);
            let sql_line = text.position(query.start).0 + first_sql;
            let marker = marker::above(&text.text, &text.lines, sql_line, "--");
            let origin = format!("sqlc {}", query.name);
            if let Some(Marker::Malformed { problem, line, column }) = &marker {
                self.malformed_marker(&text, *line, *column, problem, &origin);
            }
            let cross = match marker {
                Some(Marker::CrossTenant { reason }) => Some(reason),
                _ => None,
            };
            let mapped = Mapped::verbatim(&query.sql, query.start);
            self.statement(&text, &crate_dir, query.header, &origin, &mapped, Syntax::Sqlc, None, cross)?;
        }
        Ok(())
    }

    /// Judges one statement of the crate in `crate_dir` whose SQL is `mapped` (offsets
    /// into `text`); the call or header is at offset `at` of `text`.
    #[allow(clippy::too_many_arguments)]
    fn statement(
        &mut self,
        text: &Text,
        crate_dir: &Path,
        at: usize,
        origin: &str,
        mapped: &Mapped,
        syntax: Syntax,
        binds: Option<&[String]>,
        cross: Option<String>,
    ) -> Result<(), Fatal> {
        if let Some(reason) = cross {
            self.cross_tenant(text, at, origin, reason);
            return Ok(());
        }
        let sql = &mapped.text;
        // Without a backend named, the first in which the statement parses.
        let mut judged: Option<(Backend, Verdict)> = None;
        for backend in self.backends_for(sql, syntax, crate_dir) {
            let params = scan(sql, backend, syntax, binds);
            let verdict = judge(sql, &params, backend, self.schema(backend)?);
            // A parameter the backend does not have (`?` on PostgreSQL) misfits it too.
            let parses = !matches!(&verdict, Verdict::Flagged(p) if p.iter().any(|p| p.rule == "syntax" || p.rule == "parameter"));
            if parses || judged.is_none() {
                judged = Some((backend, verdict));
            }
            if parses {
                break;
            }
        }
        let Some((backend, verdict)) = judged else { return Ok(()) };
        let (line, column) = text.position(at);
        let status = match verdict {
            Verdict::Confined { tenant } => Status::Confined(tenant),
            Verdict::NoTenantTable => Status::NoTenantTable,
            Verdict::Flagged(problems) => {
                for p in problems {
                    let (start, end) = match p.span {
                        Some((s, e)) if s < sql.len() => (mapped.origin(s), mapped.origin(e.max(s + 1) - 1)),
                        _ => (mapped.origin(0), mapped.origin(0)),
                    };
                    let finding =
                        self.finding(text, start, Some(end), p.rule, Level::Error, p.message, Some(p.fix), sql, origin);
                    self.report.findings.push(finding);
                }
                Status::Flagged
            }
        };
        self.report.statements.push(Statement {
            file: text.shown.clone(),
            line,
            column,
            origin: origin.to_string(),
            backend: Some(backend),
            status,
        });
        Ok(())
    }

    fn cross_tenant(&mut self, text: &Text, at: usize, origin: &str, reason: String) {
        let (line, column) = text.position(at);
        self.report.statements.push(Statement {
            file: text.shown.clone(),
            line,
            column,
            origin: origin.to_string(),
            backend: None,
            status: Status::CrossTenant(reason),
        });
    }

    /// A statement built from `range` of `text`, which cannot be read before run time.
    fn not_checkable(&mut self, text: &Text, range: (usize, usize), origin: &str, reason: &str, expression: &str) {
        let (at, end) = range;
        let (line, column) = text.position(at);
        let message = format!("not checked: {reason}");
        let fix = "write the statement as one literal (a `const` in this file works too), or mark it `// tenantry: cross-tenant(reason)` if it is meant to reach every tenant";
        let last = (end > at).then(|| text.text.floor_char_boundary(end - 1));
        let finding = self.finding(
            text,
            at,
            last,
            "not-checked",
            Level::Warning,
            message,
            Some(fix.to_string()),
            expression,
            origin,
        );
        self.report.findings.push(finding);
        self.report.statements.push(Statement {
            file: text.shown.clone(),
            line,
            column,
            origin: origin.to_string(),
            backend: None,
            status: Status::NotCheckable,
        });
    }

    fn malformed_marker(&mut self, text: &Text, line: usize, column: usize, problem: &str, origin: &str) {
        let at = text.lines.offset(&text.text, line, column - 1);
        let comment = text.lines.line(&text.text, line).trim().to_string();
        let last = text.text.floor_char_boundary(at + comment.len() - 1);
        let finding =
            self.finding(text, at, Some(last), "marker", Level::Error, problem.to_string(), None, &comment, origin);
        self.report.findings.push(finding);
    }

    /// A finding from byte `start` to the character at byte `last` (inclusive) of `text`.
    #[allow(clippy::too_many_arguments)]
    fn finding(
        &self,
        text: &Text,
        start: usize,
        last: Option<usize>,
        rule: &'static str,
        level: Level,
        message: String,
        fix: Option<String>,
        statement: &str,
        origin: &str,
    ) -> Finding {
        let (line, column) = text.position(start);
        let (end_line, end_column) = match last {
            Some(last) => {
                let (l, c) = text.position(last);
                (l, c + 1)
            }
            None => (line, column + 1),
        };
        Finding {
            rule,
            level,
            file: text.shown.clone(),
            line,
            column,
            end_line,
            end_column,
            message,
            fix,
            statement: statement.to_string(),
            origin: origin.to_string(),
            source_line: text.lines.line(&text.text, line).to_string(),
            fingerprint: crate::baseline::fingerprint(rule, &text.shown, statement),
        }
    }
}

/// `a/./b/` → `a/b`, `\` → `/`: paths compared as shown.
fn normalize(path: &str) -> String {
    path.replace('\\', "/").split('/').filter(|p| !p.is_empty() && *p != ".").collect::<Vec<_>>().join("/")
}

/// The folder of the nearest `Cargo.toml` above `file` (within `root`): where sqlx's
/// `query_file!` paths start.
fn crate_dir(file: &Path, root: &Path) -> PathBuf {
    let mut dir = file.parent();
    while let Some(d) = dir {
        if d.join("Cargo.toml").is_file() {
            return d.to_path_buf();
        }
        if d == root {
            break;
        }
        dir = d.parent();
    }
    root.to_path_buf()
}

/// The backends a `Cargo.toml` turns on in sqlx (`features = ["postgres", ...]`), in its
/// dependencies, dev-dependencies, workspace dependencies and target dependencies.
pub fn sqlx_backends(manifest: &str) -> Vec<Backend> {
    let Ok(document) = DeTable::parse(manifest) else { return Vec::new() };
    let mut out = Vec::new();
    collect_sqlx(document.get_ref(), 0, &mut out);
    out
}

fn collect_sqlx(table: &DeTable<'_>, depth: usize, out: &mut Vec<Backend>) {
    for (key, value) in table.iter() {
        let DeValue::Table(inner) = value.get_ref() else { continue };
        let key: &str = key.get_ref().as_ref();
        if key == "sqlx" {
            for (k, v) in inner.iter() {
                if <_ as AsRef<str>>::as_ref(k.get_ref()) != "features" {
                    continue;
                }
                let DeValue::Array(features) = v.get_ref() else { continue };
                for feature in features {
                    if let DeValue::String(f) = feature.get_ref() {
                        out.extend(match f.as_ref() {
                            "postgres" => Some(Backend::Postgres),
                            "mysql" => Some(Backend::MySql),
                            "sqlite" | "sqlite-unbundled" => Some(Backend::Sqlite),
                            _ => None,
                        });
                    }
                }
            }
        } else if depth < 3 {
            // `[dependencies]`, `[workspace.dependencies]`, `[target.'cfg(..)'.dependencies]`.
            collect_sqlx(inner, depth + 1, out);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlx_features_name_the_backends() {
        let manifest = "[dependencies]\nsqlx = { version = \"0.8\", features = [\"runtime-tokio\", \"postgres\"] }\n[dev-dependencies.sqlx]\nfeatures = [\"sqlite\"]\n";
        assert_eq!(sqlx_backends(manifest), [Backend::Postgres, Backend::Sqlite]);
        let manifest = "[workspace.dependencies]\nsqlx = { version = \"0.8\", features = [\"mysql\"] }\n";
        assert_eq!(sqlx_backends(manifest), [Backend::MySql]);
        assert!(sqlx_backends("[dependencies]\nsqlx = \"0.8\"\n").is_empty());
        assert!(sqlx_backends("not toml [").is_empty());
    }

    #[test]
    fn paths_are_normalized() {
        assert_eq!(normalize("./tests//fixtures/"), "tests/fixtures");
        assert_eq!(normalize("a\\b"), "a/b");
    }
}
