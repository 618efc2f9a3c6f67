//! Statements analysed per second over a mix of 200 realistic, confined statements
//! (point reads, lists, joins, subqueries, CTEs, unions, inserts, INSERT ... SELECT,
//! updates, UPDATE ... FROM, upserts, deletes), generated from templates over ten
//! tenant-owned tables and two shared ones.
//!
//! ```text
//! cargo bench -p tenantry-analyzer --bench analyze -- --warm-up-time 1 --measurement-time 3
//! ```
//!
//! Criterion reports the throughput in statements per second (`Kelem/s`).

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, Throughput};
use tenantry_analyzer::{Backend, Mode, Schema, analyze, render};

/// A tenant-owned table, its parent (for joins) and two columns.
struct Table {
    name: &'static str,
    parent: &'static str,
    text: &'static str,
    number: &'static str,
}

const TABLES: [Table; 10] = [
    Table { name: "invoices", parent: "customers", text: "customer", number: "amount_cents" },
    Table { name: "customers", parent: "accounts", text: "name", number: "credit_limit" },
    Table { name: "orders", parent: "customers", text: "reference", number: "total_cents" },
    Table { name: "order_lines", parent: "orders", text: "sku", number: "quantity" },
    Table { name: "payments", parent: "invoices", text: "method", number: "amount_cents" },
    Table { name: "projects", parent: "accounts", text: "title", number: "budget" },
    Table { name: "tasks", parent: "projects", text: "summary", number: "estimate" },
    Table { name: "comments", parent: "tasks", text: "body", number: "likes" },
    Table { name: "memberships", parent: "users", text: "role", number: "seats" },
    Table { name: "subscriptions", parent: "accounts", text: "plan", number: "price_cents" },
];

/// One statement per (template, table); 20 templates x 10 tables = 200.
fn statements() -> Vec<String> {
    let templates: [fn(&Table) -> String; 20] = [
        |t| format!("SELECT id, {}, {} FROM {} WHERE tenant_id = :tenant AND id = :id", t.text, t.number, t.name),
        |t| {
            format!(
                "SELECT id, {x}, {n}, created_at FROM {t} WHERE tenant_id = :tenant AND created_at >= :since \
                 ORDER BY created_at DESC, id LIMIT :limit OFFSET :offset",
                x = t.text,
                n = t.number,
                t = t.name
            )
        },
        |t| {
            format!(
                "SELECT c.id, c.{x}, p.id AS parent_id FROM {t} c JOIN {p} p ON p.id = c.{ps}_id AND p.tenant_id = c.tenant_id \
                 WHERE c.tenant_id = :tenant AND c.{n} > :min ORDER BY c.id",
                x = t.text,
                n = t.number,
                t = t.name,
                p = t.parent,
                ps = singular(t.parent)
            )
        },
        |t| {
            format!(
                "SELECT c.id, c.{x}, co.name AS country, cu.symbol FROM {t} c \
                 LEFT JOIN countries co ON co.code = c.country_code \
                 LEFT JOIN currencies cu ON cu.code = c.currency \
                 WHERE c.tenant_id = :tenant",
                x = t.text,
                t = t.name
            )
        },
        |t| {
            format!(
                "SELECT id, {x} FROM {t} WHERE tenant_id = :tenant AND {ps}_id IN \
                 (SELECT id FROM {p} WHERE tenant_id = :tenant AND archived = false)",
                x = t.text,
                t = t.name,
                p = t.parent,
                ps = singular(t.parent)
            )
        },
        |t| {
            format!(
                "SELECT p.id, p.created_at FROM {p} p WHERE p.tenant_id = :tenant AND EXISTS \
                 (SELECT 1 FROM {t} c WHERE c.tenant_id = :tenant AND c.{ps}_id = p.id AND c.{n} >= :min)",
                n = t.number,
                t = t.name,
                p = t.parent,
                ps = singular(t.parent)
            )
        },
        |t| {
            format!(
                "WITH recent AS (SELECT id, {ps}_id, {n} FROM {t} WHERE tenant_id = :tenant AND created_at > :since) \
                 SELECT p.id, count(*) AS items, sum(r.{n}) AS total FROM recent r \
                 JOIN {p} p ON p.id = r.{ps}_id AND p.tenant_id = :tenant \
                 GROUP BY p.id HAVING count(*) > :min ORDER BY total DESC",
                n = t.number,
                t = t.name,
                p = t.parent,
                ps = singular(t.parent)
            )
        },
        |t| {
            format!(
                "SELECT {x}, count(*), avg({n}), max(created_at) FROM {t} WHERE tenant_id = :tenant \
                 AND created_at BETWEEN :from AND :to GROUP BY {x} ORDER BY 2 DESC LIMIT 20",
                x = t.text,
                n = t.number,
                t = t.name
            )
        },
        |t| {
            format!(
                "SELECT id, {x} FROM {t} WHERE tenant_id = :tenant AND status = 'open' \
                 UNION ALL SELECT id, {x} FROM {t} WHERE tenant_id = :tenant AND status = 'overdue' AND due_at < :now",
                x = t.text,
                t = t.name
            )
        },
        |t| {
            format!(
                "SELECT c.id, (SELECT count(*) FROM comments m WHERE m.tenant_id = :tenant AND m.target_id = c.id) AS comments \
                 FROM {t} c WHERE c.tenant_id = :tenant AND lower(c.{x}) LIKE :pattern ORDER BY c.id LIMIT 50",
                x = t.text,
                t = t.name
            )
        },
        |t| {
            format!(
                "INSERT INTO {t} (tenant_id, {x}, {n}, created_at) VALUES (:tenant, :{x}, :{n}, :now) RETURNING id",
                x = t.text,
                n = t.number,
                t = t.name
            )
        },
        |t| {
            format!(
                "INSERT INTO {t} (tenant_id, {x}, {n}) VALUES (:tenant, :a, :n1), (:tenant, :b, :n2), (:tenant, :c, :n3)",
                x = t.text,
                n = t.number,
                t = t.name
            )
        },
        |t| {
            format!(
                "INSERT INTO {t}_archive (tenant_id, id, {x}, {n}) SELECT tenant_id, id, {x}, {n} FROM {t} \
                 WHERE tenant_id = :tenant AND created_at < :before",
                x = t.text,
                n = t.number,
                t = t.name
            )
        },
        |t| {
            format!(
                "UPDATE {t} SET {x} = :{x}, {n} = :{n}, updated_at = :now WHERE tenant_id = :tenant AND id = :id",
                x = t.text,
                n = t.number,
                t = t.name
            )
        },
        |t| {
            format!(
                "UPDATE {t} SET {n} = {n} + 1 WHERE tenant_id = :tenant AND {ps}_id IN \
                 (SELECT id FROM {p} WHERE tenant_id = :tenant AND active)",
                n = t.number,
                t = t.name,
                p = t.parent,
                ps = singular(t.parent)
            )
        },
        |t| {
            format!(
                "UPDATE {t} SET status = 'closed' FROM {p} p \
                 WHERE {t}.tenant_id = :tenant AND p.tenant_id = :tenant AND p.id = {t}.{ps}_id AND p.closed_at < :now",
                t = t.name,
                p = t.parent,
                ps = singular(t.parent)
            )
        },
        |t| {
            format!(
                "INSERT INTO {t} (tenant_id, id, {x}, {n}) VALUES (:tenant, :id, :{x}, :{n}) \
                 ON CONFLICT (tenant_id, id) DO UPDATE SET {x} = excluded.{x}, {n} = excluded.{n}",
                x = t.text,
                n = t.number,
                t = t.name
            )
        },
        |t| {
            format!(
                "INSERT INTO {t} (tenant_id, id, {n}) VALUES (:tenant, :id, 1) \
                 ON CONFLICT (tenant_id, id) DO UPDATE SET {n} = {t}.{n} + 1 RETURNING {n}",
                n = t.number,
                t = t.name
            )
        },
        |t| format!("DELETE FROM {} WHERE tenant_id = :tenant AND id = :id", t.name),
        |t| {
            format!(
                "DELETE FROM {t} WHERE tenant_id = :tenant AND {ps}_id IN \
                 (SELECT id FROM {p} WHERE tenant_id = :tenant AND deleted_at IS NOT NULL) RETURNING id",
                t = t.name,
                p = t.parent,
                ps = singular(t.parent)
            )
        },
    ];
    templates.iter().flat_map(|template| TABLES.iter().map(template)).collect()
}

fn singular(table: &str) -> &str {
    table.strip_suffix('s').unwrap_or(table)
}

fn main() {
    let schema = Schema::with_shared(["countries", "currencies"]);
    let statements = statements();
    assert_eq!(statements.len(), 200);
    let backends = [Backend::Postgres, Backend::Sqlite];
    // The mix is of statements a repository compiles: every one must be accepted, or the
    // benchmark would time the error path.
    for backend in backends {
        for sql in &statements {
            if let Err(problems) = analyze(sql, backend, &schema, Mode::Scoped) {
                let shown: Vec<String> = problems.iter().map(|p| render(sql, p)).collect();
                panic!("{backend:?} refuses a benchmark statement:\n{}", shown.join("\n"));
            }
        }
    }

    let mut c = Criterion::default().configure_from_args();
    let mut g = c.benchmark_group("analyzer/mix_200");
    g.throughput(Throughput::Elements(statements.len() as u64));
    for backend in backends {
        g.bench_function(BenchmarkId::from_parameter(backend.name()), |b| {
            b.iter(|| {
                for sql in &statements {
                    black_box(analyze(black_box(sql), backend, &schema, Mode::Scoped).is_ok());
                }
            })
        });
    }
    g.finish();
    c.final_summary();
}
