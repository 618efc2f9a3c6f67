//! `tenantry.toml`: the crate-wide configuration, beside the crate's `Cargo.toml`.
//!
//! ```toml
//! migrations = "migrations"          # the default: sqlx's folder, relative to this file
//! tenant_column = "tenant_id"        # the default
//! tenant_table = "tenants"           # its primary key is the tenant
//! global = ["countries", "currencies"]   # reference data every tenant may read (never write)
//!
//! [tables.jobs]
//! tenant_column = "tenantId"         # this table's tenant column, as the database stores it
//!
//! [check]                            # `tenantry check` only; the macro ignores it
//! backend = "postgres"               # the dialect of SQL outside the repositories
//! exclude = ["tests/fixtures"]       # paths (relative to this file) not to audit
//! ```
//!
//! Shared by the macro and `tenantry check`, so that both read one file the same way.
//! Read with `toml`'s spanned document parser (`toml::de::DeTable`, features `std` and
//! `parse`): no serde, no derive, and every key keeps its position for the messages.

use std::ops::Range;
use std::path::{Path, PathBuf};

use toml::Spanned;
use toml::de::{DeTable, DeValue};

/// The file's name, looked for in `CARGO_MANIFEST_DIR`.
pub const FILE_NAME: &str = "tenantry.toml";

const TOP_KEYS: &str =
    "`migrations`, `tenant_column`, `tenant_table`, `global`, `distributed`, `[tables.<table>]` and `[check]`";
const TABLE_KEYS: &str = "`tenant_column`";
const CHECK_KEYS: &str = "`backend` and `exclude`";

/// What `tenantry.toml` says; `None`/empty where it says nothing.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Config {
    /// The file read, when there is one.
    pub path: Option<PathBuf>,
    /// `migrations = "..."`, as written (relative to the file's folder).
    pub migrations: Option<String>,
    /// `tenant_column = "..."`.
    pub tenant_column: Option<String>,
    /// `[tables.X] tenant_column = "..."`: pairs of (table, column).
    pub tables: Vec<(String, String)>,
    /// `tenant_table = "..."`.
    pub tenant_table: Option<String>,
    /// `global = [...]`.
    pub global: Vec<String>,
    /// `distributed = true`: the PostgreSQL database is distributed with Citus.
    pub distributed: bool,
    /// `[check]`: what `tenantry check` reads; the macro takes its backends from
    /// `#[tenant_repository(backends(...))]` instead.
    pub check: Check,
}

/// The `[check]` table of `tenantry.toml`.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Check {
    /// `backend = "postgres"`: the dialect of the audited SQL.
    pub backend: Option<crate::Backend>,
    /// `exclude = [...]`: paths relative to the file's folder that are not audited.
    pub exclude: Vec<String>,
}

/// Reads `dir/tenantry.toml`: the defaults when there is none. Errors are whole
/// messages, each naming the file, the line and the key.
pub fn load(dir: &Path) -> Result<Config, Vec<String>> {
    let path = dir.join(FILE_NAME);
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Config::default()),
        Err(e) => return Err(vec![format!("{}: cannot read it: {e}", path.display())]),
    };
    let mut config = parse(&text, &path)?;
    config.path = Some(path);
    Ok(config)
}

/// Parses the text of a `tenantry.toml` at `path` (named in the messages).
pub fn parse(text: &str, path: &Path) -> Result<Config, Vec<String>> {
    let at = |span: Range<usize>, message: String| {
        let (line, column) = line_column(text, span.start);
        format!("{}:{line}:{column}: {message}", path.display())
    };
    let document = match DeTable::parse(text) {
        Ok(document) => document,
        Err(e) => {
            let message = e.message().trim_end().to_string();
            return Err(vec![match e.span() {
                Some(span) => at(span, format!("not valid TOML: {message}")),
                None => format!("{}: not valid TOML: {message}", path.display()),
            }]);
        }
    };
    let mut errors = Vec::new();
    let mut config = Config::default();
    let mut entries: Vec<_> = document.get_ref().iter().collect();
    entries.sort_by_key(|(k, _)| k.span().start);
    for (key, value) in entries {
        let name = key.get_ref().as_ref();
        let span = key.span();
        match name {
            "migrations" => match string(value) {
                Some(s) if !s.trim().is_empty() => config.migrations = Some(s.to_string()),
                _ => errors.push(at(
                    span,
                    "`migrations` must be the migrations folder's path, relative to this file: `migrations = \"migrations\"`"
                        .into(),
                )),
            },
            "tenant_column" => match string(value).filter(|s| plain_name(s)) {
                Some(s) => config.tenant_column = Some(s.to_string()),
                None => errors.push(at(
                    span,
                    "`tenant_column` must be a plain column name, as the database stores it: `tenant_column = \"tenant_id\"`"
                        .into(),
                )),
            },
            "tenant_table" => match string(value).filter(|s| plain_name(s)) {
                Some(s) => config.tenant_table = Some(s.to_string()),
                None => errors.push(at(
                    span,
                    "`tenant_table` must be a plain table name, as the database stores it: `tenant_table = \"tenants\"`"
                        .into(),
                )),
            },
            "global" => {
                let names: Option<Vec<&str>> = match value.get_ref() {
                    DeValue::Array(items) => items.iter().map(|i| string(i).filter(|s| table_name(s))).collect(),
                    _ => None,
                };
                match names {
                    Some(names) => config.global.extend(names.into_iter().map(str::to_string)),
                    None => errors.push(at(
                        span,
                        "`global` must be a list of table names: `global = [\"countries\", \"currencies\"]`".into(),
                    )),
                }
            }
            "distributed" => match value.get_ref() {
                DeValue::Boolean(b) => config.distributed = *b,
                _ => errors.push(at(
                    span,
                    "`distributed` is `true` when the PostgreSQL database is distributed with Citus: `distributed = true`"
                        .into(),
                )),
            },
            "tables" => match value.get_ref() {
                DeValue::Table(tables) => {
                    let mut tables: Vec<_> = tables.iter().collect();
                    tables.sort_by_key(|(k, _)| k.span().start);
                    for (table, settings) in tables {
                        table_settings(table, settings, &at, &mut config, &mut errors);
                    }
                }
                _ => errors.push(at(
                    span,
                    "`tables` holds one table per database table: `[tables.jobs]` then `tenant_column = \"tenantId\"`"
                        .into(),
                )),
            },
            "check" => match value.get_ref() {
                DeValue::Table(settings) => check_settings(settings, &at, &mut config.check, &mut errors),
                _ => errors.push(at(span, "`check` is a table: `[check]` then `backend = \"postgres\"`".into())),
            },
            other => errors.push(at(span, format!("unknown key `{other}`: {FILE_NAME} takes {TOP_KEYS}"))),
        }
    }
    if errors.is_empty() { Ok(config) } else { Err(errors) }
}

fn check_settings(
    settings: &DeTable<'_>,
    at: &impl Fn(Range<usize>, String) -> String,
    check: &mut Check,
    errors: &mut Vec<String>,
) {
    let mut settings: Vec<_> = settings.iter().collect();
    settings.sort_by_key(|(k, _)| k.span().start);
    for (key, value) in settings {
        match key.get_ref().as_ref() {
            "backend" => match string(value).and_then(crate::Backend::from_name) {
                Some(backend) => check.backend = Some(backend),
                None => errors.push(at(
                    key.span(),
                    "`check.backend` must be one of \"postgres\", \"mysql\" and \"sqlite\"".into(),
                )),
            },
            "exclude" => {
                let paths: Option<Vec<&str>> = match value.get_ref() {
                    DeValue::Array(items) => items.iter().map(string).collect(),
                    _ => None,
                };
                match paths {
                    Some(paths) => check.exclude.extend(paths.into_iter().map(str::to_string)),
                    None => errors.push(at(
                        key.span(),
                        "`check.exclude` must be a list of paths relative to this file: `exclude = [\"tests/fixtures\"]`"
                            .into(),
                    )),
                }
            }
            other => errors.push(at(key.span(), format!("unknown key `{other}` in `[check]`: it takes {CHECK_KEYS}"))),
        }
    }
}

fn table_settings(
    table: &Spanned<toml::de::DeString<'_>>,
    settings: &Spanned<DeValue<'_>>,
    at: &impl Fn(Range<usize>, String) -> String,
    config: &mut Config,
    errors: &mut Vec<String>,
) {
    let name = table.get_ref().as_ref();
    let DeValue::Table(settings) = settings.get_ref() else {
        errors.push(at(
            table.span(),
            format!("`tables.{name}` must be a table: `[tables.{name}]` then `tenant_column = \"...\"`"),
        ));
        return;
    };
    let mut settings: Vec<_> = settings.iter().collect();
    settings.sort_by_key(|(k, _)| k.span().start);
    for (key, value) in settings {
        match key.get_ref().as_ref() {
            "tenant_column" => match string(value).filter(|s| plain_name(s)) {
                Some(column) => config.tables.push((name.to_string(), column.to_string())),
                None => errors.push(at(
                    key.span(),
                    format!("`tables.{name}.tenant_column` must be a plain column name, as the database stores it: `tenant_column = \"tenant_id\"`"),
                )),
            },
            other => errors.push(at(
                key.span(),
                format!("unknown key `{other}` in `[tables.{name}]`: a table takes {TABLE_KEYS}"),
            )),
        }
    }
}

fn string<'a>(value: &'a Spanned<DeValue<'_>>) -> Option<&'a str> {
    match value.get_ref() {
        DeValue::String(s) => Some(s.as_ref()),
        _ => None,
    }
}

/// A column or table name: letters, digits and `_`.
pub fn plain_name(s: &str) -> bool {
    !s.is_empty() && s.chars().all(|c| c.is_alphanumeric() || c == '_')
}

/// A table name, optionally schema-qualified (`app.countries`).
fn table_name(s: &str) -> bool {
    s.split('.').all(plain_name)
}

/// 1-based line and column of byte `offset`.
fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(text: &str) -> Config {
        parse(text, Path::new("/c/tenantry.toml")).unwrap()
    }

    fn err(text: &str) -> Vec<String> {
        parse(text, Path::new("/c/tenantry.toml")).unwrap_err()
    }

    #[test]
    fn the_documented_example() {
        let config = ok(r#"
migrations = "migrations"          # the default
tenant_column = "tenant_id"        # the default
tenant_table = "tenants"           # its primary key is the tenant
global = ["countries", "currencies"]   # reference data every tenant may read (never write)

[tables.jobs]
tenant_column = "tenantId"
"#);
        assert_eq!(
            config,
            Config {
                path: None,
                migrations: Some("migrations".into()),
                tenant_column: Some("tenant_id".into()),
                tables: vec![("jobs".into(), "tenantId".into())],
                tenant_table: Some("tenants".into()),
                global: vec!["countries".into(), "currencies".into()],
                check: Check::default(),
                distributed: false,
            }
        );
    }

    #[test]
    fn distributed_is_a_boolean() {
        assert!(ok("distributed = true\n").distributed);
        assert!(!ok("distributed = false\n").distributed);
        assert_eq!(
            err("distributed = \"citus\"\n"),
            [
                "/c/tenantry.toml:1:1: `distributed` is `true` when the PostgreSQL database is distributed with Citus: `distributed = true`"
            ]
        );
    }

    #[test]
    fn an_empty_file_is_the_defaults() {
        assert_eq!(ok(""), Config::default());
        assert_eq!(ok("# nothing\n"), Config::default());
    }

    #[test]
    fn tables_inline_and_qualified_global() {
        let config = ok(
            "tables = { jobs = { tenant_column = \"org\" }, pages = { tenant_column = \"t\" } }\nglobal = [\"app.countries\"]",
        );
        assert_eq!(config.tables, vec![("jobs".into(), "org".into()), ("pages".into(), "t".into())]);
        assert_eq!(config.global, vec!["app.countries".to_string()]);
    }

    #[test]
    fn an_unknown_key_names_the_file_the_line_and_the_accepted_keys() {
        assert_eq!(
            err("tenant_column = \"org_id\"\nglobals = [\"countries\"]\n"),
            vec![
                "/c/tenantry.toml:2:1: unknown key `globals`: tenantry.toml takes `migrations`, `tenant_column`, `tenant_table`, `global`, `distributed`, `[tables.<table>]` and `[check]`"
            ]
        );
    }

    #[test]
    fn an_unknown_per_table_key() {
        assert_eq!(
            err("[tables.jobs]\ntenant_colum = \"tenantId\"\n"),
            vec!["/c/tenantry.toml:2:1: unknown key `tenant_colum` in `[tables.jobs]`: a table takes `tenant_column`"]
        );
    }

    #[test]
    fn wrong_types() {
        assert_eq!(
            err(
                "migrations = 1\ntenant_column = \"tenant id\"\ntenant_table = [\"t\"]\nglobal = \"countries\"\ntables = 3\n"
            ),
            vec![
                "/c/tenantry.toml:1:1: `migrations` must be the migrations folder's path, relative to this file: `migrations = \"migrations\"`",
                "/c/tenantry.toml:2:1: `tenant_column` must be a plain column name, as the database stores it: `tenant_column = \"tenant_id\"`",
                "/c/tenantry.toml:3:1: `tenant_table` must be a plain table name, as the database stores it: `tenant_table = \"tenants\"`",
                "/c/tenantry.toml:4:1: `global` must be a list of table names: `global = [\"countries\", \"currencies\"]`",
                "/c/tenantry.toml:5:1: `tables` holds one table per database table: `[tables.jobs]` then `tenant_column = \"tenantId\"`",
            ]
        );
        assert_eq!(
            err("global = [\"countries\", 2]"),
            vec![
                "/c/tenantry.toml:1:1: `global` must be a list of table names: `global = [\"countries\", \"currencies\"]`"
            ]
        );
        assert_eq!(
            err("tables.jobs = \"x\""),
            vec!["/c/tenantry.toml:1:8: `tables.jobs` must be a table: `[tables.jobs]` then `tenant_column = \"...\"`"]
        );
        assert_eq!(
            err("[tables.jobs]\ntenant_column = 1"),
            vec![
                "/c/tenantry.toml:2:1: `tables.jobs.tenant_column` must be a plain column name, as the database stores it: `tenant_column = \"tenant_id\"`"
            ]
        );
    }

    #[test]
    fn the_check_table() {
        let config = ok("[check]\nbackend = \"mysql\"\nexclude = [\"tests\", \"vendor/x\"]\n");
        assert_eq!(
            config.check,
            Check { backend: Some(crate::Backend::MySql), exclude: vec!["tests".into(), "vendor/x".into()] }
        );
        assert_eq!(
            err("[check]\nbackend = \"oracle\"\nexclude = \"tests\"\nformat = 1\n"),
            vec![
                "/c/tenantry.toml:2:1: `check.backend` must be one of \"postgres\", \"mysql\" and \"sqlite\"",
                "/c/tenantry.toml:3:1: `check.exclude` must be a list of paths relative to this file: `exclude = [\"tests/fixtures\"]`",
                "/c/tenantry.toml:4:1: unknown key `format` in `[check]`: it takes `backend` and `exclude`",
            ]
        );
        assert_eq!(
            err("check = 1"),
            vec!["/c/tenantry.toml:1:1: `check` is a table: `[check]` then `backend = \"postgres\"`"]
        );
    }

    #[test]
    fn invalid_toml() {
        let e = err("global = [\"countries\"\n");
        assert_eq!(e.len(), 1);
        assert!(e[0].starts_with("/c/tenantry.toml:"), "{e:?}");
        assert!(e[0].contains("not valid TOML"), "{e:?}");
    }

    #[test]
    fn load_reads_the_file_or_gives_the_defaults() {
        let dir = std::env::temp_dir().join(format!("tenantry-config-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        assert_eq!(load(&dir).unwrap(), Config::default());
        std::fs::write(dir.join(FILE_NAME), "tenant_table = \"orgs\"").unwrap();
        let config = load(&dir).unwrap();
        assert_eq!(config.tenant_table.as_deref(), Some("orgs"));
        assert_eq!(config.path, Some(dir.join(FILE_NAME)));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
