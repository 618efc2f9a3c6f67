//! The command line, read by hand: a handful of flags do not need a parser crate.

use std::path::PathBuf;

use tenantry_analyzer::Backend;

/// `--help`.
pub const USAGE: &str = "\
tenantry check: finds the SQL of a sqlx or sqlc code base that is not confined to one tenant

usage: tenantry check [PATH] [OPTIONS]
       cargo tenantry check [PATH] [OPTIONS]
       tenantry policies [PATH] [--setting NAME] [--role NAME]
       tenantry distribution [PATH]

PATH is the tree to audit (default: the current folder); its tenantry.toml and migrations/
give the schema, as for #[tenant_repository].

options:
  --format text|json|sarif   output format (default: text)
  --backend postgres|mysql|sqlite
                             the SQL dialect (default: tenantry.toml's [check] backend, else
                             the sqlx features of the tree's Cargo.toml files)
  --baseline FILE            do not report the findings FILE accepts
  --write-baseline FILE      accept every current finding: write them to FILE
  --exclude PATH             do not audit PATH (relative to the tree); repeatable
  --deny-unchecked           statements that cannot be checked fail the run too
  -h, --help                 this text
  -V, --version              the version

`tenantry policies` prints the PostgreSQL migration that enables row-level security on every
tenant-owned table of PATH's schema (as tenantry_analyzer::schema::policy_migration):
  --setting NAME             the setting the policies read (default: tenantry.tenant)
  --role NAME                the role the application runs as (default: tenantry_app)
`tenantry distribution` prints the Citus migration that distributes every tenant table on its
tenant column, co-located, and makes the global tables reference tables, or says what stops it
(as tenantry_analyzer::schema::distribution_migration).

exit status: 0 clean, 1 findings, 2 usage or configuration error";

/// The output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Format {
    /// rustc-like text.
    #[default]
    Text,
    /// One JSON document.
    Json,
    /// SARIF 2.1.0.
    Sarif,
}

/// What the command line asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// `--help`.
    Help,
    /// `--version`.
    Version,
    /// `check`.
    Check(Check),
    /// `policies`.
    Policies(Policies),
    /// `distribution`: the tree.
    Distribution(PathBuf),
}

/// `tenantry policies`' arguments.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Policies {
    /// The tree.
    pub path: PathBuf,
    /// `--setting`.
    pub setting: Option<String>,
    /// `--role`.
    pub role: Option<String>,
}

/// `tenantry check`'s arguments.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Check {
    /// The tree.
    pub path: PathBuf,
    /// `--format`.
    pub format: Format,
    /// `--backend`.
    pub backend: Option<Backend>,
    /// `--baseline`.
    pub baseline: Option<PathBuf>,
    /// `--write-baseline`.
    pub write_baseline: Option<PathBuf>,
    /// `--exclude`, each.
    pub exclude: Vec<String>,
    /// `--deny-unchecked`.
    pub deny_unchecked: bool,
}

/// Reads the arguments after the program name (for `cargo-tenantry`, after `tenantry`).
pub fn parse(args: &[String]) -> Result<Command, String> {
    let mut args = args.iter().peekable();
    match args.next().map(String::as_str) {
        None => return Err("no command: the command is `tenantry check [PATH]`".into()),
        Some("-h" | "--help" | "help") => return Ok(Command::Help),
        Some("-V" | "--version") => return Ok(Command::Version),
        Some("check") => {}
        Some("policies") => return policies(args),
        Some("distribution") => return distribution(args),
        Some(other) => {
            return Err(format!(
                "unknown command `{other}`: the commands are `tenantry check [PATH]`, `tenantry policies [PATH]` and `tenantry distribution [PATH]`"
            ));
        }
    }
    let mut check = Check::default();
    let mut path: Option<PathBuf> = None;
    while let Some(arg) = args.next() {
        let (flag, inline) = split_flag(arg);
        let mut value = |name: &str| value_of(name, &inline, &mut args);
        match flag {
            "-h" | "--help" => return Ok(Command::Help),
            "--format" => {
                check.format = match value(flag)?.as_str() {
                    "text" => Format::Text,
                    "json" => Format::Json,
                    "sarif" => Format::Sarif,
                    other => return Err(format!("unknown format `{other}`: `--format` takes text, json or sarif")),
                }
            }
            "--backend" => {
                let name = value(flag)?;
                match Backend::from_name(&name) {
                    Some(b) => check.backend = Some(b),
                    None => {
                        return Err(format!("unknown backend `{name}`: `--backend` takes postgres, mysql or sqlite"));
                    }
                }
            }
            "--baseline" => check.baseline = Some(PathBuf::from(value(flag)?)),
            "--write-baseline" => check.write_baseline = Some(PathBuf::from(value(flag)?)),
            "--exclude" => check.exclude.push(value(flag)?),
            "--deny-unchecked" if inline.is_none() => check.deny_unchecked = true,
            f if f.starts_with('-') && f.len() > 1 => {
                return Err(format!("unknown option `{arg}` (see `tenantry --help`)"));
            }
            _ if path.is_none() => path = Some(PathBuf::from(arg)),
            _ => return Err(format!("one PATH only: `{arg}` is a second one")),
        }
    }
    check.path = path.unwrap_or_else(|| PathBuf::from("."));
    Ok(Command::Check(check))
}

/// `--flag=value` and `--flag value` alike: the flag, and the value if it came inline.
fn split_flag(arg: &str) -> (&str, Option<String>) {
    match arg.split_once('=') {
        Some((f, v)) if f.starts_with("--") => (f, Some(v.to_string())),
        _ => (arg, None),
    }
}

/// The value of flag `name`: inline, else the next argument.
fn value_of<'a>(
    name: &str,
    inline: &Option<String>,
    args: &mut impl Iterator<Item = &'a String>,
) -> Result<String, String> {
    match inline.clone().or_else(|| args.next().cloned()) {
        Some(v) if !v.is_empty() => Ok(v),
        _ => Err(format!("`{name}` needs a value")),
    }
}

/// Reads `tenantry distribution`'s arguments: a PATH at most.
fn distribution<'a>(args: impl Iterator<Item = &'a String>) -> Result<Command, String> {
    let mut path: Option<PathBuf> = None;
    for arg in args {
        match arg.as_str() {
            "-h" | "--help" => return Ok(Command::Help),
            f if f.starts_with('-') && f.len() > 1 => {
                return Err(format!("unknown option `{arg}` of `tenantry distribution` (see `tenantry --help`)"));
            }
            _ if path.is_none() => path = Some(PathBuf::from(arg)),
            _ => return Err(format!("one PATH only: `{arg}` is a second one")),
        }
    }
    Ok(Command::Distribution(path.unwrap_or_else(|| PathBuf::from("."))))
}

/// Reads `tenantry policies`' arguments.
fn policies<'a>(mut args: impl Iterator<Item = &'a String>) -> Result<Command, String> {
    let mut policies = Policies::default();
    let mut path: Option<PathBuf> = None;
    while let Some(arg) = args.next() {
        let (flag, inline) = split_flag(arg);
        let mut value = |name: &str| value_of(name, &inline, &mut args);
        match flag {
            "-h" | "--help" => return Ok(Command::Help),
            "--setting" => policies.setting = Some(value(flag)?),
            "--role" => policies.role = Some(value(flag)?),
            f if f.starts_with('-') && f.len() > 1 => {
                return Err(format!("unknown option `{arg}` of `tenantry policies` (see `tenantry --help`)"));
            }
            _ if path.is_none() => path = Some(PathBuf::from(arg)),
            _ => return Err(format!("one PATH only: `{arg}` is a second one")),
        }
    }
    policies.path = path.unwrap_or_else(|| PathBuf::from("."));
    Ok(Command::Policies(policies))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(line: &str) -> Vec<String> {
        line.split_whitespace().map(str::to_string).collect()
    }

    #[test]
    fn flags_in_both_spellings() {
        let Command::Check(c) = parse(&args(
            "check app --format=sarif --backend mysql --baseline b.txt --exclude tests --exclude=vendor --deny-unchecked",
        ))
        .unwrap() else {
            panic!()
        };
        assert_eq!(c.path, PathBuf::from("app"));
        assert_eq!(c.format, Format::Sarif);
        assert_eq!(c.backend, Some(Backend::MySql));
        assert_eq!(c.baseline, Some(PathBuf::from("b.txt")));
        assert_eq!(c.exclude, ["tests", "vendor"]);
        assert!(c.deny_unchecked);
        let Command::Check(c) = parse(&args("check")).unwrap() else { panic!() };
        assert_eq!(c.path, PathBuf::from("."));
        assert_eq!(parse(&args("--version")).unwrap(), Command::Version);
        assert_eq!(parse(&args("check --help")).unwrap(), Command::Help);
    }

    #[test]
    fn usage_errors() {
        for (line, message) in [
            ("", "no command"),
            ("audit", "unknown command `audit`"),
            ("check --colour", "unknown option `--colour`"),
            ("check --format", "`--format` needs a value"),
            ("check --format xml", "unknown format `xml`"),
            ("check --backend oracle", "unknown backend `oracle`"),
            ("check a b", "one PATH only"),
            ("check --deny-unchecked=yes", "unknown option"),
        ] {
            let e = parse(&args(line)).unwrap_err();
            assert!(e.contains(message), "{line}: {e}");
        }
    }
}
