//! Checks every method: its statement (through the analyser, once per backend), its
//! placeholders against its arguments, and its return type against the statement.

use std::collections::BTreeMap;

use syn::LitStr;
use tenantry_analyzer::{Backend, Mode, Rule, TENANT_PLACEHOLDER, Violation, analyze, placeholders, render, set_form};

use crate::model::{Method, Repo};
use crate::shape::Shape;

/// Argument names generated code uses itself.
const RESERVED: &[&str] = &["scope", "unscoped"];

/// Checks every method that parsed; its errors go to [`Method::errors`].
pub fn validate(repo: &mut Repo) {
    let trait_name = repo.ident.to_string();
    for m in &mut repo.methods {
        if !m.ok {
            continue;
        }
        let mut errors = Vec::new();
        method(&trait_name, &repo.options, m, &mut errors);
        m.ok = errors.is_empty();
        m.errors.extend(errors);
    }
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
        match analyze(&sql, backend, options.schema(backend), mode) {
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

    for (_, a) in &analyses {
        for t in &a.tables {
            if !m.tables.contains(t) {
                m.tables.push(t.clone());
            }
        }
        for w in &a.warnings {
            let finding = tenantry_analyzer::schema::Finding {
                table: format!("`{name}`"),
                problem: w.problem.clone(),
                fix: w.fix.clone(),
            };
            if !m.warnings.contains(&finding) {
                m.warnings.push(finding);
            }
        }
    }
    let (_, first) = &analyses[0];
    m.writes = analyses.iter().any(|(_, a)| a.writes);
    m.at_most_one_row = analyses.iter().all(|(_, a)| a.at_most_one_row);
    let shape = Shape::of(&m.output, m.scalar.is_some());
    if let (Some(span), Some(s)) = (m.scalar, &shape)
        && !s.reads_rows()
    {
        errors.push(syn::Error::new(
            span,
            format!(
                "`{name}` returns {}, not rows: `#[scalar]` applies to a method that returns a column's values",
                s.describe()
            ),
        ));
    }
    match &shape {
        None => errors.push(syn::Error::new_spanned(
            &m.output,
            format!("`{name}` must return `tenantry::Result<...>` of `Vec<T>`, `Option<T>`, `T`, `u64` (rows affected) or `()`"),
        )),
        Some(s) if s.reads_rows() && !first.returns_rows => errors.push(syn::Error::new_spanned(
            &m.output,
            format!(
                "`{name}` returns {} but its statement returns no rows; return `tenantry::Result<u64>` (rows affected) or `tenantry::Result<()>`, or add `RETURNING ...`",
                s.describe()
            ),
        )),
        Some(Shape::RowsAffected) if first.returns_rows => errors.push(syn::Error::new_spanned(
            &m.output,
            format!(
                "`{name}` returns `u64`, which means rows affected, but its statement returns rows; return `Vec<T>`, `Option<T>` or `T` (use `i64` for a `COUNT(*)`)"
            ),
        )),
        // `()` runs any statement and discards what it returns (`SELECT ... FOR UPDATE`
        // takes row locks and is run for that alone).
        _ => {}
    }
    m.shape = shape;
    m.generated = analyses
        .iter()
        .map(|(backend, a)| (*backend, placeholders::rewrite(&a.sql, &a.placeholders, *backend)))
        .collect();
    // A read whose every `:tenant` is a tenant predicate also accepts a `ScopeSet`, on
    // every backend or none (the trait's signature is shared).
    let sets: Vec<_> = analyses
        .iter()
        .filter_map(|(backend, a)| {
            let set_sql = set_form(&a.sql, a, *backend)?;
            let found = placeholders::scan(&set_sql, *backend);
            Some((*backend, placeholders::rewrite(&set_sql, &found, *backend)))
        })
        .collect();
    if m.unscoped.is_none() && sets.len() == analyses.len() {
        m.set_sql = sets;
    }
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
    let unused: Vec<String> = m
        .args
        .iter()
        .map(|a| a.ident.to_string())
        .filter(|a| a != TENANT_PLACEHOLDER && !names.contains(&a.as_str()))
        .collect();
    // An unknown placeholder close to an unused argument is one typo, reported once.
    let mut explained: Vec<&str> = Vec::new();
    for p in &found.occurrences {
        if p.name == TENANT_PLACEHOLDER || m.args.iter().any(|a| a.ident == p.name) {
            continue;
        }
        if found.occurrences.iter().take_while(|q| q.start < p.start).any(|q| q.name == p.name) {
            continue;
        }
        let guess = unused
            .iter()
            .filter(|a| edit_distance(a, &p.name) <= 2.max(a.len() / 3))
            .min_by_key(|a| edit_distance(a, &p.name));
        let args: Vec<String> = m.args.iter().map(|a| format!("`{}`", a.ident)).collect();
        let fix = match guess {
            Some(g) => {
                explained.push(g);
                format!("did you mean `:{g}`? (the argument `{g}` is not used otherwise)")
            }
            None if args.is_empty() => {
                format!("add an argument `{}` to the method, or correct the placeholder", p.name)
            }
            None => format!("add an argument `{}`, or use one of the method's arguments: {}", p.name, args.join(", ")),
        };
        let v = Violation {
            rule: Rule::Parameter,
            problem: format!("placeholder `:{}` matches no argument of the method", p.name),
            fix,
            span: Some((p.start, p.end)),
        };
        errors.push(syn::Error::new(lit.span(), format!("`{name}`: {}", render(sql, &v))));
    }
    for arg in &m.args {
        let a = arg.ident.to_string();
        if unused.contains(&a) && !explained.contains(&a.as_str()) {
            errors.push(syn::Error::new(
                arg.ident.span(),
                format!("`{name}`: argument `{a}` is not used by the statement; refer to it as `:{a}` or remove it"),
            ));
        }
    }
}

/// Levenshtein distance, for "did you mean" hints.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let current = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != *cb)).min(row[j] + 1).min(current + 1);
            prev = current;
        }
    }
    row[b.len()]
}
