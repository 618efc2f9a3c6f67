//! Checks every method: its statement (through the analyser, once per backend), its
//! placeholders against its arguments, and its return type against the statement.

use std::collections::BTreeMap;

use syn::LitStr;
use tenantry_analyzer::{Backend, Mode, TENANT_PLACEHOLDER, analyze, placeholders, render};

use crate::model::{Method, Repo};
use crate::shape::Shape;

/// Argument names generated code uses itself.
const RESERVED: &[&str] = &["scope", "unscoped"];

pub fn validate(repo: &mut Repo) -> Vec<syn::Error> {
    let mut errors = Vec::new();
    let trait_name = repo.ident.to_string();
    for m in &mut repo.methods {
        if !m.ok {
            continue;
        }
        let before = errors.len();
        method(&trait_name, &repo.options, m, &mut errors);
        m.ok = errors.len() == before;
    }
    errors
}

fn method(trait_name: &str, options: &crate::options::Options, m: &mut Method, errors: &mut Vec<syn::Error>) {
    let name = format!("{trait_name}::{}", m.ident);
    let Some(lit) = m.sql.clone() else { return };
    let sql = lit.value();
    let mode = if m.unscoped.is_some() { Mode::Unscoped } else { Mode::Scoped };

    for arg in &m.args {
        let arg_name = arg.ident.to_string();
        if arg_name == TENANT_PLACEHOLDER {
            errors.push(syn::Error::new(
                arg.ident.span(),
                format!("`{name}`: an argument cannot be named `tenant`: `:tenant` is bound from the scope guard, never from the caller; remove the argument"),
            ));
        } else if RESERVED.contains(&arg_name.as_str()) || arg_name.starts_with("__") {
            errors.push(syn::Error::new(
                arg.ident.span(),
                format!(
                    "`{name}`: the argument name `{arg_name}` is reserved for the guard that tenantry adds; rename it"
                ),
            ));
        }
    }

    // The statement, in each backend's dialect. Identical problems are reported once.
    let mut problems: BTreeMap<String, Vec<Backend>> = BTreeMap::new();
    let mut analyses = Vec::new();
    for &backend in &options.backends {
        match analyze(&sql, backend, &options.schema, mode) {
            Ok(a) => analyses.push((backend, a)),
            Err(vs) => {
                for v in vs {
                    problems.entry(render(&sql, &v)).or_default().push(backend);
                }
            }
        }
    }
    let mut sql_ok = true;
    for (text, backends) in &problems {
        sql_ok = false;
        let only = if backends.len() < options.backends.len() {
            let names: Vec<&str> = backends.iter().map(|b| b.name()).collect();
            format!(" [{}]", names.join(", "))
        } else {
            String::new()
        };
        errors.push(syn::Error::new(lit.span(), format!("`{name}`{only}: {text}")));
    }
    if !sql_ok {
        return;
    }

    placeholders_match_arguments(&name, &sql, &lit, m, options.backends[0], errors);

    let (_, first) = &analyses[0];
    m.writes = analyses.iter().any(|(_, a)| a.writes);
    let shape = Shape::of(&m.output);
    match &shape {
        None => errors.push(syn::Error::new(
            m.output_span,
            format!("`{name}` must return `tenantry::Result<...>` of `Vec<T>`, `Option<T>`, `T`, `u64` (rows affected) or `()`"),
        )),
        Some(s) if s.reads_rows() && !first.returns_rows => errors.push(syn::Error::new(
            m.output_span,
            format!(
                "`{name}` returns {} but its statement returns no rows; return `tenantry::Result<u64>` (rows affected) or `tenantry::Result<()>`, or add `RETURNING ...`",
                s.describe()
            ),
        )),
        Some(Shape::RowsAffected) if first.returns_rows => errors.push(syn::Error::new(
            m.output_span,
            format!(
                "`{name}` returns `u64`, which means rows affected, but its statement returns rows; return `Vec<T>`, `Option<T>` or `T` (use `i64` for a `COUNT(*)`)"
            ),
        )),
        Some(Shape::Unit) if first.returns_rows && !first.writes => errors.push(syn::Error::new(
            m.output_span,
            format!("`{name}` returns `()` but its statement only reads rows; return `Vec<T>`, `Option<T>` or `T`"),
        )),
        _ => {}
    }
    m.shape = shape;
    m.generated = analyses
        .iter()
        .map(|(backend, a)| (*backend, placeholders::rewrite(&sql, &a.placeholders, *backend)))
        .collect();
}

fn placeholders_match_arguments(
    name: &str,
    sql: &str,
    lit: &LitStr,
    m: &Method,
    backend: Backend,
    errors: &mut Vec<syn::Error>,
) {
    let found = placeholders::scan(sql, backend);
    let names = found.names();
    for p in &names {
        if *p == TENANT_PLACEHOLDER {
            continue;
        }
        if !m.args.iter().any(|a| a.ident == p) {
            let args: Vec<String> = m.args.iter().map(|a| format!("`{}`", a.ident)).collect();
            let known = if args.is_empty() {
                "it has no arguments".to_string()
            } else {
                format!("its arguments are {}", args.join(", "))
            };
            errors.push(syn::Error::new(
                lit.span(),
                format!("`{name}`: placeholder `:{p}` matches no argument ({known}); add an argument `{p}` or correct the placeholder"),
            ));
        }
    }
    for arg in &m.args {
        let a = arg.ident.to_string();
        if a != TENANT_PLACEHOLDER && !names.contains(&a.as_str()) {
            errors.push(syn::Error::new(
                arg.ident.span(),
                format!("`{name}`: argument `{a}` is not used by the statement; refer to it as `:{a}` or remove it"),
            ));
        }
    }
}
