//! The options of one trait: `#[tenant_repository(...)]` over `tenantry.toml` over the
//! defaults, and the catalog the migrations build, one [`Schema`] per backend.
//!
//! ```text
//! #[tenant_repository(
//!     backends(postgres, sqlite),      // required
//!     global(countries), shared(...),  // added to tenantry.toml's `global`
//!     allow_functions(risk_score),
//!     tenant_column = "org_id",        // overrides tenantry.toml's default column
//!     tenant_table = "orgs",           // overrides tenantry.toml's `tenant_table`
//!     migrations = "../migrations",    // overrides tenantry.toml's `migrations`
//!     distributed,                     // the PostgreSQL database is Citus (or tenantry.toml's
//!                                      // `distributed = true`)
//! )]
//! ```
//!
//! # Paths
//!
//! Each path is relative to the file it is written in, as `include_str!` is:
//! `migrations` in `tenantry.toml` to the crate's folder (`CARGO_MANIFEST_DIR`, where
//! `tenantry.toml` is), `migrations = "..."` on a trait to the folder of the source file
//! holding the trait (`proc_macro::Span::local_file`; `CARGO_MANIFEST_DIR` when the
//! compiler names no file). That second rule is what makes a trait's `migrations`
//! usable from a trybuild case: trybuild compiles each case as a binary of a project
//! it generates under `target/tests/trybuild/<crate>/`, which is the case's
//! `CARGO_MANIFEST_DIR` (it copies nothing there but `Cargo.lock`), while the case's
//! source file stays where it is.
//!
//! A missing migrations folder means no catalog (every table not declared global is
//! tenant-owned with the tenant column), unless the folder was named explicitly (in
//! `tenantry.toml` or on the trait): then it is an error.
//!
//! # Recompiling
//!
//! The expansion `include_bytes!`s `tenantry.toml` and every migration file it read, so
//! that changing one recompiles the repositories. A *new* file (a new migration, a
//! `tenantry.toml` created later) is not seen that way: rustc only tracks files it was
//! given. As with sqlx's `migrate!`, a build script fixes that for migrations:
//!
//! ```text
//! // build.rs
//! fn main() {
//!     // Cargo reruns the build script, and so recompiles the crate, whenever anything
//!     // in the folder changes, a new file included.
//!     println!("cargo:rerun-if-changed=migrations");
//! }
//! ```
//!
//! Do not add `cargo:rerun-if-changed=tenantry.toml` while the file does not exist:
//! Cargo then rebuilds the crate on every build.

use std::path::{Path, PathBuf};

use proc_macro2::Span;
use syn::LitStr;
use tenantry_analyzer::config::{self, Config};
use tenantry_analyzer::schema::{self, Catalog, Finding};
use tenantry_analyzer::{Backend, Schema};

const OPTIONS: &str = "`backends(...)`, `global(...)` (or `shared(...)`), `allow_functions(...)`, `tenant_column = \"...\"`, `tenant_table = \"...\"`, `migrations = \"...\"` and `distributed`";

pub struct Options {
    pub backends: Vec<Backend>,
    /// One per backend, in the order of `backends`: the catalog depends on the dialect.
    schemas: Vec<(Backend, Schema)>,
    /// Files read (`tenantry.toml`, migrations): the expansion includes them, so that
    /// changing one recompiles the trait.
    pub tracked: Vec<PathBuf>,
    /// Warnings about the configuration, shown on the trait.
    pub findings: Vec<Finding>,
    /// The schema lint's findings, shown on a trait whose statements use their table.
    pub lint: Vec<Finding>,
}

/// Where the macro runs: what paths are relative to.
#[derive(Debug, Clone, Default)]
pub struct Context {
    /// `CARGO_MANIFEST_DIR`: where `tenantry.toml` is.
    pub manifest_dir: Option<PathBuf>,
    /// The source file holding the trait, when the compiler names one.
    pub source_file: Option<PathBuf>,
}

impl Context {
    /// The context of the running expansion. Only callable inside a proc macro.
    pub fn current() -> Self {
        Context {
            manifest_dir: std::env::var_os("CARGO_MANIFEST_DIR").map(PathBuf::from),
            // Relative to rustc's working directory (the workspace root under cargo);
            // made absolute, since `include_bytes!` of a relative path is taken
            // relative to the source file instead.
            source_file: proc_macro::Span::call_site().local_file().map(|file| match std::env::current_dir() {
                Ok(cwd) if file.is_relative() => cwd.join(file),
                _ => file,
            }),
        }
    }
}

/// `#[tenant_repository(...)]` as written.
#[derive(Default)]
pub struct Attr {
    pub backends: Vec<Backend>,
    pub global: Vec<String>,
    pub allowed_functions: Vec<String>,
    pub tenant_column: Option<String>,
    pub tenant_table: Option<String>,
    pub migrations: Option<LitStr>,
    /// `distributed`: where it is written.
    pub distributed: Option<Span>,
    /// Where each table the attribute names (`global(...)`, `tenant_table`) is written,
    /// for the errors about it.
    pub table_spans: Vec<(String, Span)>,
}

/// Options that could not be read: the error, and what to expand with meanwhile.
pub struct Failure {
    pub error: syn::Error,
    pub fallback: Options,
    /// Whether the methods are worth checking with the fallback: not when the
    /// configuration or the migrations are wrong (the checks would report what the
    /// broken configuration implies).
    pub check_methods: bool,
}

impl Options {
    /// What to expand with when the options themselves are wrong, so that the methods
    /// still get checked.
    pub fn fallback(backends: Vec<Backend>) -> Self {
        let backends = if backends.is_empty() { vec![Backend::Sqlite] } else { backends };
        let schemas = backends.iter().map(|b| (*b, Schema::default())).collect();
        Options { backends, schemas, tracked: Vec::new(), findings: Vec::new(), lint: Vec::new() }
    }

    /// The schema statements are checked against on `backend` (one of `backends`).
    pub fn schema(&self, backend: Backend) -> &Schema {
        &self.schemas.iter().find(|(b, _)| *b == backend).unwrap_or(&self.schemas[0]).1
    }

    /// Reads the attribute, `tenantry.toml` and the migrations.
    pub fn parse(args: proc_macro2::TokenStream, context: &Context) -> Result<Self, Box<Failure>> {
        let attr = Attr::parse(args).map_err(|error| {
            Box::new(Failure { error, fallback: Options::fallback(Vec::new()), check_methods: true })
        })?;
        Options::load(attr, context)
    }

    /// The options of `attr` over `tenantry.toml` in `context`'s crate.
    pub fn load(attr: Attr, context: &Context) -> Result<Self, Box<Failure>> {
        let mut tracked = Vec::new();
        let fail = |error: syn::Error, tracked: Vec<PathBuf>| {
            let mut fallback = Options::fallback(attr.backends.clone());
            fallback.tracked = tracked;
            Box::new(Failure { error, fallback, check_methods: false })
        };
        let config = match &context.manifest_dir {
            Some(dir) => match config::load(dir) {
                Ok(config) => config,
                Err(messages) => {
                    tracked.push(dir.join(config::FILE_NAME));
                    return Err(fail(combine(messages.into_iter().map(|m| error(Span::call_site(), m))), tracked));
                }
            },
            None => Config::default(),
        };
        tracked.extend(config.path.clone());

        let mut findings = Vec::new();
        let mut base = Schema::default();
        if let Some(c) = config.tenant_column.as_ref() {
            base.tenant_column = c.clone();
        }
        if let Some(c) = attr.tenant_column.as_ref() {
            base.tenant_column = c.clone();
        }
        base.tenant_columns = config.tables.clone();
        base.tenant_table = attr.tenant_table.clone().or(config.tenant_table.clone());
        for name in config.global.iter().chain(&attr.global) {
            if base.shared.contains(name) {
                findings.push(Finding {
                    table: name.clone(),
                    problem: "is declared global twice".into(),
                    fix: "remove one of them (`global` in tenantry.toml, `global(...)`/`shared(...)` on the trait)"
                        .into(),
                });
            } else {
                base.shared.push(name.clone());
            }
        }
        base.allowed_functions = attr.allowed_functions.clone();

        let folder = match migrations_folder(&attr, &config, context) {
            Ok(folder) => folder,
            Err(e) => return Err(fail(e, tracked)),
        };
        let mut catalogs: Vec<(Backend, Option<Catalog>)> = attr.backends.iter().map(|b| (*b, None)).collect();
        if let Some((dir, span)) = folder {
            let migrations = match schema::read_migrations(&dir) {
                Ok(m) => m,
                Err(e) => return Err(fail(error(span, format!("cannot read the migrations: {e}")), tracked)),
            };
            tracked.extend(migrations.iter().map(|m| m.path.clone()));
            // One error per distinct problem, tagged with its backends when not all.
            let mut problems: Vec<(String, Vec<Backend>)> = Vec::new();
            for (backend, catalog) in &mut catalogs {
                match Catalog::from_migrations(&migrations, *backend) {
                    Ok(c) => *catalog = Some(c),
                    Err(e) => match problems.iter_mut().find(|(p, _)| *p == e.to_string()) {
                        Some((_, backends)) => backends.push(*backend),
                        None => problems.push((e.to_string(), vec![*backend])),
                    },
                }
            }
            if !problems.is_empty() {
                let all = attr.backends.len();
                let errors = problems.into_iter().map(|(p, backends)| {
                    let only = if backends.len() < all {
                        let names: Vec<&str> = backends.iter().map(|b| b.name()).collect();
                        format!(" [{}]", names.join(", "))
                    } else {
                        String::new()
                    };
                    error(span, format!("cannot apply the migrations{only}: {p}"))
                });
                return Err(fail(combine(errors), tracked));
            }
        }
        // Citus is PostgreSQL's: the other backends' statements are checked as before.
        let distributed = attr.distributed.is_some() || config.distributed;
        if distributed && !attr.backends.contains(&Backend::Postgres) {
            let span = attr.distributed.unwrap_or_else(Span::call_site);
            let from = if attr.distributed.is_some() { "" } else { " (`distributed = true` in tenantry.toml)" };
            return Err(fail(
                error(
                    span,
                    format!(
                        "`distributed`{from} means a PostgreSQL database distributed with Citus, and this repository generates no PostgreSQL code: add `postgres` to `backends(...)`"
                    ),
                ),
                tracked,
            ));
        }
        let schemas: Vec<(Backend, Schema)> = catalogs
            .into_iter()
            .map(|(backend, catalog)| {
                (backend, Schema { catalog, distributed: distributed && backend == Backend::Postgres, ..base.clone() })
            })
            .collect();
        // The configuration names tables and columns the migrations must have.
        let mut wrong: Vec<schema::ConfigurationError> = Vec::new();
        for (backend, schema) in &schemas {
            for e in schema.configuration_errors(*backend) {
                if !wrong.contains(&e) {
                    wrong.push(e);
                }
            }
        }
        if !wrong.is_empty() {
            let place = match config.path.as_deref() {
                Some(p) => format!("`{}` or the trait's options", p.display()),
                None => "the trait's options".to_string(),
            };
            // On the trait's own option when it names the table, else on the attribute.
            let errors = wrong.into_iter().map(|e| match attr.table_spans.iter().find(|(n, _)| *n == e.name) {
                Some((_, span)) => error(*span, e.message),
                None => error(Span::call_site(), format!("{e}; correct it in {place}")),
            });
            return Err(fail(combine(errors), tracked));
        }
        let mut lint: Vec<Finding> = Vec::new();
        for (backend, schema) in &schemas {
            for finding in schema::lint(schema, *backend) {
                if !lint.contains(&finding) {
                    lint.push(finding);
                }
            }
        }
        Ok(Options { backends: attr.backends, schemas, tracked, findings, lint })
    }
}

/// The migrations folder to read, and the span its errors go to; `None` when there is
/// none to read.
fn migrations_folder(attr: &Attr, config: &Config, context: &Context) -> syn::Result<Option<(PathBuf, Span)>> {
    let manifest = context.manifest_dir.as_deref();
    if let Some(lit) = &attr.migrations {
        let base = context.source_file.as_deref().and_then(Path::parent).or(manifest);
        let dir = resolve(base, &lit.value());
        if !dir.is_dir() {
            let relative_to = match (context.source_file.is_some(), manifest.is_some()) {
                (true, _) => "the folder of the file holding the trait",
                (false, true) => "CARGO_MANIFEST_DIR",
                (false, false) => "the current directory",
            };
            return Err(error(
                lit.span(),
                format!(
                    "the migrations folder `{}` does not exist; a trait's `migrations = \"...\"` is relative to {relative_to}: correct the path, or remove the option to use tenantry.toml's `migrations`",
                    dir.display()
                ),
            ));
        }
        return Ok(Some((dir, lit.span())));
    }
    let config_dir = config.path.as_deref().and_then(Path::parent).or(manifest);
    if let Some(written) = &config.migrations {
        let dir = resolve(config_dir, written);
        if !dir.is_dir() {
            let file = config.path.as_deref().map_or_else(|| config::FILE_NAME.into(), |p| p.display().to_string());
            return Err(error(
                Span::call_site(),
                format!(
                    "{file}: the migrations folder `{}` (`migrations = \"{written}\"`, relative to that file) does not exist; correct the path, or remove the key for the default `migrations`",
                    dir.display()
                ),
            ));
        }
        return Ok(Some((dir, Span::call_site())));
    }
    let Some(manifest) = manifest else { return Ok(None) };
    let dir = manifest.join("migrations");
    Ok(dir.is_dir().then_some((dir, Span::call_site())))
}

fn resolve(base: Option<&Path>, path: &str) -> PathBuf {
    match base {
        Some(base) => base.join(path),
        None => PathBuf::from(path),
    }
}

fn error(span: Span, message: impl std::fmt::Display) -> syn::Error {
    syn::Error::new(span, message.to_string())
}

fn combine(errors: impl IntoIterator<Item = syn::Error>) -> syn::Error {
    let mut all: Option<syn::Error> = None;
    for e in errors {
        match &mut all {
            Some(all) => all.combine(e),
            None => all = Some(e),
        }
    }
    all.unwrap_or_else(|| syn::Error::new(Span::call_site(), "invalid options"))
}

impl Attr {
    pub fn parse(args: proc_macro2::TokenStream) -> syn::Result<Self> {
        let mut backends: Option<Vec<Backend>> = None;
        let mut attr = Attr::default();
        let parser = syn::meta::parser(|meta| {
            if meta.path.is_ident("backends") {
                let content;
                syn::parenthesized!(content in meta.input);
                let names = syn::punctuated::Punctuated::<syn::Ident, syn::Token![,]>::parse_terminated(&content)?;
                if names.is_empty() {
                    return Err(meta.error("`backends()` is empty: list at least one of `sqlite`, `postgres`, `mysql`"));
                }
                let mut list = Vec::new();
                for ident in names {
                    let name = ident.to_string();
                    match Backend::from_name(&name) {
                        Some(backend) if list.contains(&backend) => {
                            return Err(syn::Error::new(ident.span(), format!("backend `{name}` is listed twice")));
                        }
                        Some(backend) => list.push(backend),
                        None => {
                            return Err(syn::Error::new(
                                ident.span(),
                                format!(
                                    "unknown backend `{name}`: tenantry generates code for `sqlite`, `postgres` and `mysql`"
                                ),
                            ));
                        }
                    }
                }
                backends = Some(list);
                Ok(())
            } else if meta.path.is_ident("shared") || meta.path.is_ident("global") {
                // `global(countries, app::currencies)`: a path names a schema-qualified
                // table, as `global` in tenantry.toml does with `app.currencies`.
                meta.parse_nested_meta(|t| {
                    let name = t.path.segments.iter().map(|s| s.ident.to_string()).collect::<Vec<_>>().join(".");
                    attr.table_spans.push((name.clone(), syn::spanned::Spanned::span(&t.path)));
                    attr.global.push(name);
                    Ok(())
                })
            } else if meta.path.is_ident("allow_functions") {
                // `allow_functions(risk_score, app::score)`: a path names a schema-qualified
                // function, written `app.score` in SQL.
                meta.parse_nested_meta(|f| {
                    let name = f.path.segments.iter().map(|s| s.ident.to_string()).collect::<Vec<_>>().join(".");
                    attr.allowed_functions.push(name);
                    Ok(())
                })
            } else if meta.path.is_ident("tenant_column") || meta.path.is_ident("tenant_table") {
                let key = if meta.path.is_ident("tenant_column") { "tenant_column" } else { "tenant_table" };
                let lit: LitStr = meta.value()?.parse()?;
                let name = lit.value();
                if !config::plain_name(&name) {
                    let example = if key == "tenant_column" { "org_id" } else { "orgs" };
                    let what = if key == "tenant_column" { "column" } else { "table" };
                    return Err(syn::Error::new(
                        lit.span(),
                        format!("`{key}` must be a plain {what} name such as \"{example}\""),
                    ));
                }
                if key == "tenant_column" {
                    attr.tenant_column = Some(name);
                } else {
                    attr.table_spans.push((name.clone(), lit.span()));
                    attr.tenant_table = Some(name);
                }
                Ok(())
            } else if meta.path.is_ident("distributed") {
                attr.distributed = Some(syn::spanned::Spanned::span(&meta.path));
                Ok(())
            } else if meta.path.is_ident("migrations") {
                let lit: LitStr = meta.value()?.parse()?;
                if lit.value().trim().is_empty() {
                    return Err(syn::Error::new(
                        lit.span(),
                        "`migrations` must be a folder's path, relative to this file: `migrations = \"../migrations\"`",
                    ));
                }
                attr.migrations = Some(lit);
                Ok(())
            } else {
                let name = meta.path.get_ident().map(|i| i.to_string()).unwrap_or_default();
                Err(meta.error(format!("unknown option `{name}`: `#[tenant_repository]` takes {OPTIONS}")))
            }
        });
        syn::parse::Parser::parse2(parser, args)?;
        match backends {
            Some(backends) => Ok(Attr { backends, ..attr }),
            None => Err(syn::Error::new(
                Span::call_site(),
                "`#[tenant_repository]` needs the backends to generate code for, e.g. `#[tenant_repository(backends(postgres))]` (one or more of `sqlite`, `postgres`, `mysql`)",
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use quote::quote;

    /// A fresh crate folder under the temp dir, removed on drop.
    struct Crate(PathBuf);

    impl Crate {
        fn new(name: &str) -> Self {
            let dir = std::env::temp_dir().join(format!("tenantry-options-{}-{name}", std::process::id()));
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(dir.join("src")).unwrap();
            Crate(dir)
        }
        fn file(&self, path: &str, text: &str) -> &Self {
            let path = self.0.join(path);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
            self
        }
        fn context(&self) -> Context {
            Context { manifest_dir: Some(self.0.clone()), source_file: Some(self.0.join("src/repo/invoices.rs")) }
        }
        fn load(&self, args: proc_macro2::TokenStream) -> Result<Options, Box<Failure>> {
            Options::parse(args, &self.context())
        }
    }

    impl Drop for Crate {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn message(failure: &Failure) -> Vec<String> {
        failure.error.clone().into_iter().map(|e| e.to_string()).collect()
    }

    #[test]
    fn without_tenantry_toml_the_defaults() {
        let krate = Crate::new("defaults");
        let o = krate.load(quote!(backends(postgres, sqlite))).ok().unwrap();
        assert_eq!(o.backends, vec![Backend::Postgres, Backend::Sqlite]);
        for b in [Backend::Postgres, Backend::Sqlite] {
            assert_eq!(o.schema(b), &Schema::default());
        }
        assert!(o.tracked.is_empty());
        assert!(o.findings.is_empty());
    }

    #[test]
    fn tenantry_toml_sets_every_key_and_is_tracked() {
        let krate = Crate::new("every-key");
        krate.file(
            "tenantry.toml",
            "migrations = \"db\"\ntenant_column = \"org_id\"\ntenant_table = \"orgs\"\nglobal = [\"countries\"]\n[tables.jobs]\ntenant_column = \"orgId\"\n",
        );
        krate.file(
            "db/1_schema.sql",
            "CREATE TABLE orgs (id INT PRIMARY KEY); CREATE TABLE countries (code TEXT PRIMARY KEY);
             CREATE TABLE currencies (code TEXT PRIMARY KEY); CREATE TABLE jobs (id INT PRIMARY KEY, \"orgId\" INT);",
        );
        let o = krate.load(quote!(backends(postgres), shared(currencies), allow_functions(score))).ok().unwrap();
        let s = o.schema(Backend::Postgres);
        assert_eq!(s.tenant_column, "org_id");
        assert_eq!(s.tenant_columns, vec![("jobs".to_string(), "orgId".to_string())]);
        assert_eq!(s.tenant_table.as_deref(), Some("orgs"));
        assert_eq!(s.shared, vec!["countries".to_string(), "currencies".to_string()]);
        assert_eq!(s.allowed_functions, vec!["score".to_string()]);
        // The folder exists: a catalog of its tables, and every file is tracked.
        assert_eq!(s.catalog.as_ref().map(|c| c.tables.len()), Some(4));
        assert_eq!(o.tracked, vec![krate.0.join("tenantry.toml"), krate.0.join("db/1_schema.sql")]);
    }

    #[test]
    fn the_trait_overrides_the_file() {
        let krate = Crate::new("overrides");
        krate.file("tenantry.toml", "tenant_column = \"org_id\"\ntenant_table = \"orgs\"\nglobal = [\"countries\"]\n");
        let o = krate
            .load(quote!(
                backends(mysql),
                tenant_column = "account_id",
                tenant_table = "accounts",
                global(app::currencies)
            ))
            .ok()
            .unwrap();
        let s = o.schema(Backend::MySql);
        assert_eq!(s.tenant_column, "account_id");
        assert_eq!(s.tenant_table.as_deref(), Some("accounts"));
        assert_eq!(s.shared, vec!["countries".to_string(), "app.currencies".to_string()]);
    }

    #[test]
    fn distributed_applies_to_the_postgresql_statements() {
        let krate = Crate::new("distributed");
        let o = krate.load(quote!(backends(sqlite, postgres), distributed)).ok().unwrap();
        assert!(o.schema(Backend::Postgres).distributed);
        assert!(!o.schema(Backend::Sqlite).distributed);
        krate.file("tenantry.toml", "distributed = true\n");
        assert!(krate.load(quote!(backends(postgres))).ok().unwrap().schema(Backend::Postgres).distributed);
        let failure = krate.load(quote!(backends(sqlite))).err().unwrap();
        assert_eq!(
            message(&failure),
            [
                "`distributed` (`distributed = true` in tenantry.toml) means a PostgreSQL database distributed with Citus, and this repository generates no PostgreSQL code: add `postgres` to `backends(...)`"
            ]
        );
    }

    #[test]
    fn a_table_declared_global_twice_is_a_warning() {
        let krate = Crate::new("twice");
        krate.file("tenantry.toml", "global = [\"countries\"]\n");
        let o = krate.load(quote!(backends(sqlite), shared(countries), global(currencies, currencies))).ok().unwrap();
        assert_eq!(o.schema(Backend::Sqlite).shared, vec!["countries".to_string(), "currencies".to_string()]);
        let tables: Vec<&str> = o.findings.iter().map(|f| f.table.as_str()).collect();
        assert_eq!(tables, vec!["countries", "currencies"]);
        assert_eq!(o.findings[0].problem, "is declared global twice");
    }

    #[test]
    fn the_default_migrations_folder_is_optional() {
        let krate = Crate::new("default-folder");
        let o = krate.load(quote!(backends(sqlite))).ok().unwrap();
        assert_eq!(o.schema(Backend::Sqlite).catalog, None);
        krate.file("migrations/.keep", "");
        let o = krate.load(quote!(backends(sqlite, postgres))).ok().unwrap();
        assert!(o.schema(Backend::Sqlite).catalog.is_some());
        assert!(o.schema(Backend::Postgres).catalog.is_some());
    }

    #[test]
    fn a_trait_migrations_path_is_relative_to_its_source_file() {
        let krate = Crate::new("relative");
        krate.file("src/repo/fixtures/.keep", "");
        let o = krate.load(quote!(backends(sqlite), migrations = "fixtures")).ok().unwrap();
        assert!(o.schema(Backend::Sqlite).catalog.is_some());
        // Without a source file, relative to CARGO_MANIFEST_DIR.
        let context = Context { source_file: None, ..krate.context() };
        let o = Options::parse(quote!(backends(sqlite), migrations = "src/repo/fixtures"), &context).ok().unwrap();
        assert!(o.schema(Backend::Sqlite).catalog.is_some());
    }

    #[test]
    fn an_explicit_missing_migrations_folder_is_an_error() {
        let krate = Crate::new("missing");
        let failure = krate.load(quote!(backends(sqlite), migrations = "nowhere")).err().unwrap();
        assert!(!failure.check_methods);
        assert_eq!(
            message(&failure),
            vec![format!(
                "the migrations folder `{}` does not exist; a trait's `migrations = \"...\"` is relative to the folder of the file holding the trait: correct the path, or remove the option to use tenantry.toml's `migrations`",
                krate.0.join("src/repo/nowhere").display()
            )]
        );
        krate.file("tenantry.toml", "migrations = \"db\"\n");
        let failure = krate.load(quote!(backends(sqlite))).err().unwrap();
        assert_eq!(
            message(&failure),
            vec![format!(
                "{}: the migrations folder `{}` (`migrations = \"db\"`, relative to that file) does not exist; correct the path, or remove the key for the default `migrations`",
                krate.0.join("tenantry.toml").display(),
                krate.0.join("db").display()
            )]
        );
        // Still tracked, so that fixing the file recompiles.
        assert_eq!(failure.fallback.tracked, vec![krate.0.join("tenantry.toml")]);
        assert_eq!(failure.fallback.backends, vec![Backend::Sqlite]);
    }

    #[test]
    fn a_bad_tenantry_toml_is_one_error_per_problem() {
        let krate = Crate::new("bad");
        krate.file("tenantry.toml", "globals = []\ntenant_table = 3\n");
        let failure = krate.load(quote!(backends(postgres))).err().unwrap();
        let path = krate.0.join("tenantry.toml");
        assert_eq!(
            message(&failure),
            vec![
                format!(
                    "{}:1:1: unknown key `globals`: tenantry.toml takes `migrations`, `tenant_column`, `tenant_table`, `global`, `distributed`, `[tables.<table>]` and `[check]`",
                    path.display()
                ),
                format!(
                    "{}:2:1: `tenant_table` must be a plain table name, as the database stores it: `tenant_table = \"tenants\"`",
                    path.display()
                ),
            ]
        );
        assert!(!failure.check_methods);
        assert_eq!(failure.fallback.backends, vec![Backend::Postgres]);
    }

    #[test]
    fn attribute_errors() {
        let krate = Crate::new("attr");
        let cases = [
            (
                quote!(shared(countries)),
                "`#[tenant_repository]` needs the backends to generate code for, e.g. `#[tenant_repository(backends(postgres))]` (one or more of `sqlite`, `postgres`, `mysql`)",
            ),
            (
                quote!(backends(postgres), shared_tables(x)),
                "unknown option `shared_tables`: `#[tenant_repository]` takes `backends(...)`, `global(...)` (or `shared(...)`), `allow_functions(...)`, `tenant_column = \"...\"`, `tenant_table = \"...\"`, `migrations = \"...\"` and `distributed`",
            ),
            (
                quote!(backends(postgres), tenant_table = "my table"),
                "`tenant_table` must be a plain table name such as \"orgs\"",
            ),
            (
                quote!(backends(postgres), tenant_column = ""),
                "`tenant_column` must be a plain column name such as \"org_id\"",
            ),
            (
                quote!(backends(postgres), migrations = " "),
                "`migrations` must be a folder's path, relative to this file: `migrations = \"../migrations\"`",
            ),
            (quote!(backends(postgres), migrations = 3), "expected string literal"),
        ];
        for (args, expected) in cases {
            let failure = krate.load(args).err().unwrap();
            assert!(failure.check_methods);
            assert_eq!(message(&failure), vec![expected.to_string()]);
        }
    }
}
