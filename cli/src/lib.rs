//! `tenantry check`: audits the SQL of an existing sqlx or sqlc code base for statements
//! that are not confined to one tenant, with the analyser behind `#[tenant_repository]`.
//!
//! The pipeline: [`check::check`] walks the tree, [`rust`] and [`sqlfile`] find the
//! statements, [`params`] reads their parameters, [`judge`] finds the tenant parameter
//! and asks the analyser, [`baseline`] drops accepted findings, [`report`] prints them.
//! [`run`] is the whole command, so that tests run it as a user does.

pub mod args;
pub mod baseline;
pub mod check;
pub mod judge;
pub mod literal;
pub mod marker;
pub mod params;
pub mod report;
pub mod rust;
pub mod sqlfile;

use std::io::Write;

use args::{Command, Format};
use check::Level;

/// Exit status: no finding.
pub const CLEAN: i32 = 0;
/// Exit status: findings.
pub const FINDINGS: i32 = 1;
/// Exit status: a usage or configuration error.
pub const USAGE: i32 = 2;

/// Runs the command line `args` (without the program name), printing to `out` and `err`;
/// returns the exit status.
pub fn run(args: &[String], out: &mut dyn Write, err: &mut dyn Write) -> i32 {
    let check = match args::parse(args) {
        Ok(Command::Help) => {
            let _ = writeln!(out, "{}", args::USAGE);
            return CLEAN;
        }
        Ok(Command::Version) => {
            let _ = writeln!(out, "tenantry {}", env!("CARGO_PKG_VERSION"));
            return CLEAN;
        }
        Ok(Command::Check(check)) => check,
        Ok(Command::Policies(policies)) => return print_migration(policy_migration(&policies), out, err),
        Ok(Command::Distribution(path)) => return print_migration(distribution_migration(&path), out, err),
        Err(message) => {
            let _ = writeln!(err, "error: {message}\n\n{}", args::USAGE);
            return USAGE;
        }
    };
    match audit(&check, out) {
        Ok(status) => status,
        Err(message) => {
            let _ = writeln!(err, "error: {message}");
            USAGE
        }
    }
}

/// Writes a generated migration to `out`, or its error to `err`; the exit status.
fn print_migration(sql: Result<String, String>, out: &mut dyn Write, err: &mut dyn Write) -> i32 {
    let written =
        sql.and_then(|sql| out.write_all(sql.as_bytes()).map_err(|e| format!("cannot write the output: {e}")));
    match written {
        Ok(()) => CLEAN,
        Err(message) => {
            let _ = writeln!(err, "error: {message}");
            USAGE
        }
    }
}

/// The PostgreSQL schema of the tree at `path`, as the macro reads it.
fn postgres_schema(path: &std::path::Path) -> Result<tenantry_analyzer::Schema, String> {
    if !path.is_dir() {
        return Err(format!("`{}` is not a directory", path.display()));
    }
    let project = check::Project::load(path).map_err(|e| e.to_string())?;
    project.schema(tenantry_analyzer::Backend::Postgres).map_err(|e| e.to_string())
}

/// `tenantry distribution`: the Citus migration of the tree's schema.
fn distribution_migration(path: &std::path::Path) -> Result<String, String> {
    let schema = postgres_schema(path)?;
    tenantry_analyzer::schema::distribution_migration(&schema).map_err(|e| e.to_string())
}

/// `tenantry policies`: the row-level security migration of the tree's schema.
fn policy_migration(args: &args::Policies) -> Result<String, String> {
    use tenantry_analyzer::schema::{RlsOptions, policy_migration};
    let schema = postgres_schema(&args.path)?;
    let mut options = RlsOptions::default();
    if let Some(setting) = &args.setting {
        options.setting = setting.clone();
    }
    if let Some(role) = &args.role {
        options.role = role.clone();
    }
    policy_migration(&schema, &options).map_err(|e| e.to_string())
}

fn audit(args: &args::Check, out: &mut dyn Write) -> Result<i32, String> {
    // Read before the audit, so that a wrong path fails fast.
    let baseline = match &args.baseline {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| format!("cannot read the baseline `{}`: {e}", path.display()))?;
            Some(baseline::Baseline::parse(&text).map_err(|e| format!("{}: {e}", path.display()))?)
        }
        None => None,
    };
    let options = check::Options { root: args.path.clone(), backend: args.backend, exclude: args.exclude.clone() };
    let report = check::check(&options).map_err(|e| e.to_string())?;
    let mut findings = report.findings.clone();
    if let Some(path) = &args.write_baseline {
        std::fs::write(path, baseline::write(&findings))
            .map_err(|e| format!("cannot write the baseline `{}`: {e}", path.display()))?;
    }
    let suppressed = baseline.map_or(0, |b| b.suppress(&mut findings));
    let output = report::Output { report: &report, findings: &findings, suppressed };
    let text = match args.format {
        Format::Text => output.text(),
        Format::Json => output.json(),
        Format::Sarif => output.sarif(),
    };
    out.write_all(text.as_bytes()).map_err(|e| format!("cannot write the output: {e}"))?;
    if args.write_baseline.is_some() {
        // The findings are accepted now: writing the baseline succeeded.
        return Ok(CLEAN);
    }
    let fails = findings.iter().any(|f| f.level == Level::Error || args.deny_unchecked);
    Ok(if fails { FINDINGS } else { CLEAN })
}
