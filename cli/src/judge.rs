//! Which parameter is the tenant, and whether the statement is confined to it.
//!
//! The analyser proves confinement to `:tenant`. SQL written for sqlx or sqlc has no
//! `:tenant`: it has parameters, and the tenant is the one compared with (or inserted
//! into) the tenant columns. So each parameter is tried as the tenant in turn (the others
//! renamed `:tenantry_pN`): the statement is confined when one of them confines it. When
//! none does, and calling several of them the tenant would, the tenant columns are
//! compared with different parameters: a finding of its own (two parameters, two tenants).

use tenantry_analyzer::{Backend, Mode, Rule, Schema, Violation, analyze};

use crate::params::{Param, Rewritten};

/// What a statement is to the tenants.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Confined to the tenant bound to this parameter (as written, e.g. `$1`).
    Confined {
        /// The tenant parameter, as [`label`] words it.
        tenant: String,
    },
    /// It touches no tenant-owned table (global tables, `SELECT 1`): confined trivially.
    NoTenantTable,
    /// Not provably confined.
    Flagged(Vec<Problem>),
}

/// One reason a statement is flagged, in terms of the statement as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// A stable rule id (`unconfined`, `tenant-parameters`, ...).
    pub rule: &'static str,
    /// What is wrong.
    pub message: String,
    /// How to fix it.
    pub fix: String,
    /// Byte range in the statement as written.
    pub span: Option<(usize, usize)>,
}

/// The rule id of an analyser rule.
pub fn rule_id(rule: Rule) -> &'static str {
    match rule {
        Rule::Syntax => "syntax",
        Rule::Parameter => "parameter",
        Rule::Statement => "statement",
        Rule::Unconfined => "unconfined",
        Rule::UnresolvedName => "unresolved-name",
        Rule::Catalog => "catalog",
        Rule::Function => "function",
        Rule::Variable => "variable",
        Rule::ServerSetting => "server-setting",
        Rule::TenantUnused => "tenant-unused",
        Rule::InsertTenant => "insert-tenant",
        Rule::TenantColumnWrite => "tenant-column-write",
        Rule::Upsert => "upsert",
        Rule::SharedWrite => "shared-write",
        Rule::Uncheckable => "uncheckable",
        Rule::Unclassified => "unclassified",
        Rule::Unknown => "unknown-name",
        _ => "other",
    }
}

/// One parameter of the statement: its occurrences share a key.
struct Distinct<'a> {
    key: &'a str,
    /// As first written.
    text: &'a str,
    list: bool,
}

/// Judges `sql` with `params` (from [`crate::params::scan`]).
pub fn judge(sql: &str, params: &[Param], backend: Backend, schema: &Schema) -> Verdict {
    let mut distinct: Vec<Distinct> = Vec::new();
    for p in params {
        if !distinct.iter().any(|d| d.key == p.key) {
            distinct.push(Distinct { key: &p.key, text: p.text(sql), list: p.list });
        }
    }
    let trial = |tenant: &[usize]| -> (Rewritten, Result<(), Vec<Violation>>) {
        let names: Vec<String> = (0..distinct.len())
            .map(|k| if tenant.contains(&k) { ":tenant".to_string() } else { format!(":tenantry_p{}", k + 1) })
            .collect();
        let rewritten = Rewritten::new(
            sql,
            params.iter().map(|p| {
                let k = distinct.iter().position(|d| d.key == p.key).unwrap_or(0);
                (p.start, p.end, names[k].as_str())
            }),
        );
        let result = analyze(&rewritten.sql, backend, schema, Mode::Scoped).map(|_| ());
        (rewritten, result)
    };
    let problems = |tenant: &[usize], rewritten: &Rewritten, violations: Vec<Violation>| -> Vec<Problem> {
        let tenant_text = match tenant.first() {
            Some(&k) => distinct[k].text.to_string(),
            None => fresh_parameter(&distinct, backend, schema),
        };
        violations
            .into_iter()
            .map(|v| Problem {
                rule: rule_id(v.rule),
                message: words(&v.problem, &distinct, &tenant_text),
                fix: words(&v.fix, &distinct, &tenant_text),
                span: v.span.map(|(s, e)| (rewritten.original(s, false), rewritten.original(e, true))),
            })
            .collect()
    };

    let (base_sql, base) = trial(&[]);
    let Err(base) = base else { return Verdict::NoTenantTable };
    let candidates: Vec<usize> = (0..distinct.len()).filter(|&k| !distinct[k].list).collect();
    let mut best: (Vec<usize>, Rewritten, Vec<Violation>) = (Vec::new(), base_sql, base);
    for &k in &candidates {
        match trial(&[k]) {
            (_, Ok(())) => return Verdict::Confined { tenant: label(distinct[k].text, distinct[k].key) },
            // The fewest problems are the nearest to confined; on a tie the statement
            // with no tenant at all says it best ("no parameter is compared with ...").
            (rewritten, Err(v)) if v.len() < best.2.len() => best = (vec![k], rewritten, v),
            _ => {}
        }
    }
    // Would the statement be confined if some of its parameters were one? Start from all
    // of them and drop each one that is not needed.
    if candidates.len() > 1 && trial(&candidates).1.is_ok() {
        let mut needed = candidates.clone();
        for k in candidates {
            let without: Vec<usize> = needed.iter().copied().filter(|&n| n != k).collect();
            if trial(&without).1.is_ok() {
                needed = without;
            }
        }
        if needed.len() > 1 {
            return Verdict::Flagged(vec![several_tenants(params, &distinct, &needed)]);
        }
    }
    let (tenant, rewritten, violations) = best;
    Verdict::Flagged(problems(&tenant, &rewritten, violations))
}

/// The finding for tenant columns compared with different parameters `needed`.
fn several_tenants(params: &[Param], distinct: &[Distinct], needed: &[usize]) -> Problem {
    let labels: Vec<String> =
        needed.iter().map(|&k| format!("`{}`", label(distinct[k].text, distinct[k].key))).collect();
    let second = params.iter().find(|p| p.key == distinct[needed[1]].key);
    let questions = needed.iter().all(|&k| distinct[k].text == "?");
    let fix = if questions {
        "bind one tenant value to each of them in a `.bind(..)` chain on the query call (the same variable each time, so that tenantry check sees it), or accept the finding in the baseline".to_string()
    } else {
        format!("compare every tenant column with `{}`", distinct[needed[0]].text)
    };
    Problem {
        rule: "tenant-parameters",
        message: format!(
            "the tenant columns are compared with {} different parameters, {}: the statement is confined to one tenant only if they are always bound to the same value",
            needed.len(),
            labels.join(" and ")
        ),
        fix,
        span: second.map(|p| (p.start, p.end)),
    }
}

/// How a parameter is named in messages: as written, and which `?` a `?` is.
pub fn label(text: &str, key: &str) -> String {
    match (text, key.strip_prefix("bind ")) {
        ("?", Some(expr)) => format!("? bound to {expr}"),
        ("?", None) => format!("? #{}", key.trim_start_matches('#')),
        _ => text.to_string(),
    }
}

/// The parameter a fix adds for the tenant when no parameter of the statement is one:
/// the next `$n`, sqlc's `@name`, or `?`.
fn fresh_parameter(distinct: &[Distinct], backend: Backend, schema: &Schema) -> String {
    let highest = distinct.iter().filter_map(|d| d.text.strip_prefix('$')?.parse::<usize>().ok()).max();
    if let Some(n) = highest {
        return format!("${}", n + 1);
    }
    if distinct.iter().any(|d| d.text.starts_with('@')) {
        return format!("@{}", schema.tenant_column);
    }
    if distinct.iter().any(|d| d.text.to_ascii_lowercase().starts_with("sqlc.")) {
        return format!("sqlc.arg({})", schema.tenant_column);
    }
    match backend {
        Backend::Postgres => "$1".to_string(),
        Backend::Sqlite | Backend::MySql => "?".to_string(),
    }
}

/// The analyser's wording with its placeholders put back as the statement writes them.
fn words(text: &str, distinct: &[Distinct], tenant: &str) -> String {
    // The analyser words some messages for repository methods.
    let mut out = text
        .replace(
            "(the statement never uses `:tenant`)",
            "(no parameter of the statement is compared with its tenant column)",
        )
        .replace(
            "statements in one method: a method runs exactly one",
            "statements in one string: each is checked alone",
        )
        .replace("split the statements into separate methods", "split the statements into separate calls");
    // Longest names first: `:tenantry_p12` before `:tenantry_p1`, all before `:tenant`.
    for k in (0..distinct.len()).rev() {
        out = out.replace(&format!(":tenantry_p{}", k + 1), distinct[k].text);
    }
    out.replace(":tenant", tenant)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::params::{Syntax, scan};

    fn verdict(sql: &str, backend: Backend) -> Verdict {
        let params = scan(sql, backend, Syntax::Sqlx, None);
        judge(sql, &params, backend, &Schema::with_shared(["countries"]))
    }

    fn flagged(sql: &str, backend: Backend) -> Vec<Problem> {
        match verdict(sql, backend) {
            Verdict::Flagged(p) => p,
            other => panic!("{sql}: {other:?}"),
        }
    }

    #[test]
    fn the_parameter_compared_with_the_tenant_column_is_the_tenant() {
        let sql = "SELECT id FROM invoices WHERE id = $1 AND tenant_id = $2";
        assert_eq!(verdict(sql, Backend::Postgres), Verdict::Confined { tenant: "$2".into() });
        let sql = "INSERT INTO invoices (tenant_id, customer) VALUES (?, ?)";
        assert_eq!(verdict(sql, Backend::MySql), Verdict::Confined { tenant: "? #1".into() });
    }

    #[test]
    fn global_tables_only_is_no_tenant_table() {
        assert_eq!(verdict("SELECT name FROM countries WHERE code = $1", Backend::Postgres), Verdict::NoTenantTable);
    }

    #[test]
    fn a_missing_tenant_is_worded_with_a_new_parameter() {
        let sql = "SELECT id FROM invoices WHERE id = $1";
        let p = flagged(sql, Backend::Postgres);
        assert_eq!(p[0].rule, "unconfined");
        assert!(p[0].message.contains("no parameter of the statement is compared"), "{p:?}");
        assert!(p[0].fix.contains("tenant_id = $2"), "{p:?}");
        let (s, e) = p[0].span.unwrap();
        assert_eq!(&sql[s..e], "invoices");
    }

    #[test]
    fn two_tenant_parameters_are_two_tenants() {
        let sql = "SELECT i.id FROM invoices i JOIN customers c ON c.tenant_id = $2 AND c.id = i.customer_id WHERE i.tenant_id = $1";
        let p = flagged(sql, Backend::Postgres);
        assert_eq!(p.len(), 1, "{p:?}");
        assert_eq!(p[0].rule, "tenant-parameters");
        assert!(p[0].message.contains("`$2` and `$1`"), "{p:?}");
        assert_eq!(p[0].span, Some((sql.find("$1").unwrap(), sql.find("$1").unwrap() + 2)));
        // A bulk insert with `?`: each row's tenant is its own parameter.
        let p = flagged("INSERT INTO invoices (tenant_id, customer) VALUES (?, ?), (?, ?)", Backend::MySql);
        assert_eq!(p[0].rule, "tenant-parameters");
        assert!(p[0].fix.contains(".bind("), "{p:?}");
    }

    #[test]
    fn the_nearest_trial_names_the_tenant_parameter_in_its_fix() {
        let sql = "SELECT i.id FROM invoices i JOIN customers c ON c.id = i.customer_id WHERE i.tenant_id = $1";
        let p = flagged(sql, Backend::Postgres);
        assert_eq!(p.len(), 1, "{p:?}");
        assert!(p[0].message.contains("customers"), "{p:?}");
        assert!(p[0].fix.contains("$1") && !p[0].fix.contains(":tenant"), "{p:?}");
    }
}
