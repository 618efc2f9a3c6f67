//! Corpus 2: seeded random statements over the fixture, built to be confined and then,
//! at random decision points, twisted in the ways real statements go wrong.
//!
//! Each statement is built from the fixture's model (`TABLES`) the way a careful
//! author would write it: every tenant-owned table confined where it is read, by
//! `= :tenant` or by equality with the tenant column of a table that is confined. At each
//! place where that can go wrong the generator may, with the statement's *twist rate*,
//! do the wrong thing instead: compare another column or another table with `:tenant`,
//! put the predicate under OR, NOT, CASE or COALESCE, in the ON of a join that does not
//! filter the table, shadow a table with a CTE or an alias, quote a name into another
//! table, call a function that reads or changes what it should not, and so on. Some
//! statements get no twist at all, so the confined constructs themselves are judged too.
//! The analyser should refuse every twisted statement that leaks; the oracle judges those
//! it accepts.
//!
//! Reads are SELECTs of one to three FROM items (base tables under varied names and
//! aliases, derived and LATERAL tables, CTE references, table functions) joined every
//! way (JOIN, LEFT/RIGHT/FULL, CROSS, comma; ON or USING), with subqueries in WHERE, the
//! SELECT list, FROM, HAVING, ORDER BY and LIMIT, set operations and CTEs (recursive,
//! and named like base tables). A tenth of them are *scope games*: a subquery that
//! reuses an enclosing query's alias and refers to it from one of its clauses. Writes
//! are INSERT (VALUES or SELECT, upserts with and without guards), UPDATE (with FROM)
//! and DELETE (with USING), with RETURNING, and with CTEs before them, also data-modifying
//! ones and ones named like the target.
//!
//! A statement is a pure function of `(seed, index)` ([`statement`]), so one case of a
//! long campaign can be replayed alone. The generator knows the fixture's tables and
//! columns, so that most statements run; it does not need to be right about what is
//! confined, since the analyser and the oracle decide that.

use std::fmt::Write as _;

/// What the generator's placeholders stand for (`:tenant` is the oracle's tenant).
pub fn value(name: &str) -> String {
    match name {
        // Another tenant's id, for twists that compare the tenant column with it.
        "other" => "globex",
        "id" => "1",
        "amount" => "100",
        "name" => "acme",
        // acme's own invoice number: an upsert on `number` meets acme's row only (another
        // tenant's number would make RLS raise an error, which tells nothing about
        // confinement).
        "number" => "A-001",
        "code" => "FR",
        "flag" => "true",
        _ => "1",
    }
    .to_string()
}

/// Statement `index` of the campaign with `seed`.
pub fn statement(seed: u64, index: u64) -> String {
    let mut generator = Generator::new(splitmix(seed ^ splitmix(index.wrapping_add(0x5EED))));
    generator.statement()
}

/// SplitMix64's finaliser: a well-mixed 64-bit value of `x`.
pub(crate) fn splitmix(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A small, seeded random number generator (xorshift64*).
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(splitmix(seed) | 1)
    }

    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A number in `0..n` (`n > 0`).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }

    /// True with `percent`% probability.
    pub fn chance(&mut self, percent: u32) -> bool {
        self.below(100) < percent as usize
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

// ----- the fixture's model ---------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ty {
    Int,
    Text,
    Bool,
    Date,
    Time,
    Tags,
}

use Ty::*;

/// A table of `schema.sql`, columns in their order there (alias lists rename by position).
#[derive(Debug)]
struct Table {
    /// As written in SQL.
    name: &'static str,
    cols: &'static [(&'static str, Ty)],
    /// Tenant-owned (has `tenant_id`), or shared.
    owned: bool,
    /// Conflict targets for `ON CONFLICT`, as written.
    unique: &'static [&'static str],
    /// Primary key constraint name.
    pkey: &'static str,
}

const TABLES: &[Table] = &[
    Table {
        name: "invoices",
        cols: &[
            ("tenant_id", Text),
            ("id", Int),
            ("number", Text),
            ("customer_id", Int),
            ("customer", Text),
            ("amount", Int),
            ("country", Text),
            ("currency", Text),
            ("parent_id", Int),
            ("paid", Bool),
            ("due", Date),
            ("overdue", Bool),
            ("note", Text),
            ("tags", Tags),
            ("copies", Int),
            ("position", Int),
            ("n", Int),
            ("created", Time),
            ("locked", Bool),
        ],
        owned: true,
        unique: &["(tenant_id, id)", "(tenant_id, number)", "(number)", "ON CONSTRAINT invoices_number_key"],
        pkey: "invoices_pkey",
    },
    Table {
        name: "customers",
        cols: &[
            ("tenant_id", Text),
            ("id", Int),
            ("name", Text),
            ("customer_id", Int),
            ("email", Text),
            ("region", Text),
            ("vip", Bool),
            ("public", Bool),
            ("balance", Int),
            ("last_invoice_id", Int),
        ],
        owned: true,
        unique: &["(tenant_id, id)"],
        pkey: "customers_pkey",
    },
    Table {
        name: "addresses",
        cols: &[
            ("tenant_id", Text),
            ("id", Int),
            ("customer_id", Int),
            ("street", Text),
            ("city", Text),
            ("country", Text),
        ],
        owned: true,
        unique: &["(tenant_id, id)"],
        pkey: "addresses_pkey",
    },
    Table {
        name: "lines",
        cols: &[("tenant_id", Text), ("id", Int), ("invoice_id", Int), ("description", Text), ("amount", Int)],
        owned: true,
        unique: &["(tenant_id, id)"],
        pkey: "lines_pkey",
    },
    Table {
        name: "payments",
        cols: &[("tenant_id", Text), ("id", Int), ("invoice_id", Int), ("method", Text), ("amount", Int)],
        owned: true,
        unique: &["(tenant_id, id)"],
        pkey: "payments_pkey",
    },
    Table {
        name: "jobs",
        cols: &[("tenant_id", Text), ("id", Int), ("payload", Text), ("claimed_at", Time)],
        owned: true,
        unique: &["(tenant_id, id)"],
        pkey: "jobs_pkey",
    },
    Table {
        name: "nodes",
        cols: &[("tenant_id", Text), ("id", Int), ("parent_id", Int), ("owner_id", Text), ("name", Text)],
        owned: true,
        unique: &["(tenant_id, id)"],
        pkey: "nodes_pkey",
    },
    Table {
        name: "comments",
        cols: &[("tenant_id", Text), ("id", Int), ("node_id", Int), ("name", Text), ("body", Text)],
        owned: true,
        unique: &["(tenant_id, id)"],
        pkey: "comments_pkey",
    },
    Table {
        name: "drafts",
        cols: &[("tenant_id", Text), ("id", Int), ("customer", Text), ("amount", Int)],
        owned: true,
        unique: &["(tenant_id, id)"],
        pkey: "drafts_pkey",
    },
    Table {
        name: "credit_notes",
        cols: &[("tenant_id", Text), ("id", Int), ("customer_id", Int), ("reason", Text), ("amount", Int)],
        owned: true,
        unique: &["(tenant_id, id)"],
        pkey: "credit_notes_pkey",
    },
    Table {
        name: "refunds",
        cols: &[("tenant_id", Text), ("id", Int), ("invoice_id", Int), ("reason", Text), ("amount", Int)],
        owned: true,
        unique: &["(tenant_id, id)"],
        pkey: "refunds_pkey",
    },
    Table {
        name: "orders",
        cols: &[("tenant_id", Text), ("id", Int), ("customer_id", Int), ("status", Text), ("total", Int)],
        owned: true,
        unique: &["(tenant_id, id)"],
        pkey: "orders_pkey",
    },
    Table {
        name: "line_items",
        cols: &[("tenant_id", Text), ("id", Int), ("order_id", Int), ("sku", Text), ("quantity", Int), ("price", Int)],
        owned: true,
        unique: &["(tenant_id, id)"],
        pkey: "line_items_pkey",
    },
    Table {
        name: "notes",
        cols: &[("tenant_id", Text), ("id", Int), ("invoice_id", Int), ("body", Text)],
        owned: true,
        unique: &["(tenant_id, id)"],
        pkey: "notes_pkey",
    },
    Table {
        name: "\"Invoices\"",
        cols: &[("tenant_id", Text), ("id", Int), ("\"TENANT_ID\"", Text), ("amount", Int)],
        owned: true,
        unique: &["(tenant_id, id)"],
        pkey: "\"Invoices_pkey\"",
    },
    Table {
        name: "countries",
        cols: &[("code", Text), ("name", Text), ("currency", Text)],
        owned: false,
        unique: &["(code)"],
        pkey: "countries_pkey",
    },
    Table {
        name: "currencies",
        cols: &[("code", Text), ("symbol", Text), ("country", Text)],
        owned: false,
        unique: &["(code)"],
        pkey: "currencies_pkey",
    },
];

/// How tables refer to each other: `(table, column, referenced table, column)`.
const RELATIONS: &[(&str, &str, &str, &str)] = &[
    ("invoices", "customer_id", "customers", "id"),
    ("invoices", "parent_id", "invoices", "id"),
    ("invoices", "country", "countries", "code"),
    ("invoices", "currency", "currencies", "code"),
    ("customers", "last_invoice_id", "invoices", "id"),
    ("addresses", "customer_id", "customers", "id"),
    ("addresses", "country", "countries", "code"),
    ("lines", "invoice_id", "invoices", "id"),
    ("payments", "invoice_id", "invoices", "id"),
    ("notes", "invoice_id", "invoices", "id"),
    ("refunds", "invoice_id", "invoices", "id"),
    ("credit_notes", "customer_id", "customers", "id"),
    ("orders", "customer_id", "customers", "id"),
    ("line_items", "order_id", "orders", "id"),
    ("comments", "node_id", "nodes", "id"),
    ("nodes", "parent_id", "nodes", "id"),
    ("countries", "currency", "currencies", "code"),
    ("\"Invoices\"", "id", "invoices", "id"),
];

/// Columns without a default that an INSERT must set.
fn required(t: &Table) -> &'static [&'static str] {
    match t.name {
        "customers" => &["name"],
        "countries" => &["name", "currency"],
        "currencies" => &["symbol"],
        _ => &[],
    }
}

fn table(name: &str) -> &'static Table {
    TABLES.iter().find(|t| t.name == name).expect("a table of the model")
}

/// A column visible in a scope.
#[derive(Debug, Clone)]
struct Col {
    /// As written after the qualifier.
    name: String,
    /// The base table's column it shows, for relations (empty for computed ones).
    orig: &'static str,
    ty: Ty,
}

/// A FROM item as the statement sees it.
#[derive(Debug, Clone)]
struct Src {
    /// The qualifier its columns are written with.
    q: String,
    /// The base table, if it is one.
    table: Option<&'static Table>,
    cols: Vec<Col>,
    /// A tenant-owned base table: must be confined.
    owned: bool,
    /// The column that holds (or, for an owned table, is) the tenant.
    tenant: Option<usize>,
}

impl Src {
    fn col(&self, i: usize) -> String {
        format!("{}.{}", self.q, self.cols[i].name)
    }

    fn tenant_col(&self) -> Option<String> {
        self.tenant.map(|i| self.col(i))
    }

    fn cols_of(&self, ty: Ty) -> Vec<usize> {
        (0..self.cols.len()).filter(|&i| self.cols[i].ty == ty && Some(i) != self.tenant).collect()
    }

    fn find(&self, orig: &str) -> Option<usize> {
        self.cols.iter().position(|c| c.orig == orig)
    }
}

/// A query's output: its SQL and the columns it shows.
#[derive(Debug, Clone)]
struct Query {
    sql: String,
    cols: Vec<Col>,
    /// The output column that holds the tenant.
    tenant: Option<usize>,
}

/// What a query must return.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Shape {
    /// Whatever it likes (a top-level read).
    Free,
    /// Exactly these column types, in order (set operations, IN, scalar subqueries).
    Types(Vec<Ty>),
    /// The tenant column first, as `tenant_id`, then some others (derived tables, CTEs).
    Tenant,
    /// `SELECT 1` (EXISTS).
    Exists,
    /// Like `Types`, ordered by every column: an `INSERT ... SELECT` whose rows draw
    /// identity values in the same order in both runs, whatever the plan.
    Rows(Vec<Ty>),
}

/// Where a source's tenant condition goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Slot {
    Where,
    /// The ON of the join that brought source `n` in.
    On(usize),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Join {
    Inner,
    Left,
    Right,
    Full,
    Cross,
    Comma,
}

struct Generator {
    rng: Rng,
    /// Percent chance that a decision point takes the twisted branch.
    twist: u32,
    /// Aliases handed out so far (unique per statement, so that any scope's are).
    aliases: usize,
    /// Names of the statement's CTEs as PostgreSQL folds them: a base table of that
    /// name is the CTE from there on, so the generator does not pick it as a table.
    cte_names: Vec<String>,
    /// A CTE the next FROM item refers to: one whose name is a twist is worth reading.
    force_cte: Option<usize>,
}

impl Generator {
    fn new(seed: u64) -> Generator {
        Generator { rng: Rng::new(seed), twist: 0, aliases: 0, cte_names: Vec::new(), force_cte: None }
    }

    fn twisted(&mut self) -> bool {
        self.rng.chance(self.twist)
    }

    fn statement(&mut self) -> String {
        // A third of the statements are built without any twist: the confined forms must
        // pass the oracle too, and they are what the analyser accepts most.
        self.twist = *self.rng.pick(&[0, 0, 0, 4, 8, 12, 20, 30]);
        match self.rng.below(100) {
            0..=49 => self.read(),
            50..=64 => self.insert(),
            65..=82 => self.update(),
            _ => self.delete(),
        }
    }

    fn alias(&mut self, table: &str) -> String {
        self.aliases += 1;
        let initial = table.trim_matches('"').chars().next().unwrap_or('t').to_ascii_lowercase();
        format!("{initial}{}", self.aliases)
    }

    // ----- reads ---------------------------------------------------------------------

    fn read(&mut self) -> String {
        if self.rng.chance(10) {
            return self.scope_game();
        }
        let (with, ctes) = self.ctes(&[]);
        let body = if self.rng.chance(12) {
            let types = self.types();
            self.set_operation(&ctes, &[], &Shape::Types(types), 0).sql
        } else {
            self.select(&ctes, &[], &Shape::Free, 0).sql
        };
        format!("{with}{body}")
    }

    /// A subquery that reuses an enclosing query's alias, or not, and refers to that alias
    /// from one of its clauses: which table the name means there is what a scope rule
    /// must get right. The inner item may hold another tenant's id as `tenant_id`.
    ///
    /// `SELECT a.id FROM invoices a WHERE a.tenant_id = :tenant AND a.id IN (SELECT ...
    /// FROM <inner> [AS a] ... <a probe in WHERE, the SELECT list, ORDER BY, HAVING or
    /// LIMIT>)`, where the probe reads a third table through `a.tenant_id`.
    fn scope_game(&mut self) -> String {
        let outer_t = *self.rng.pick(&["invoices", "customers", "orders", "nodes"]);
        let a = self.alias(outer_t);
        let shadow = self.rng.chance(60);
        let inner_q = if shadow { a.clone() } else { self.alias("s") };
        let inner_t = *self.rng.pick(&["invoices", "drafts", "payments", "jobs"]);
        let text_col = match inner_t {
            "invoices" => "customer",
            "drafts" => "customer",
            "payments" => "method",
            _ => "payload",
        };
        let inner = match self.rng.below(4) {
            0 => format!("(SELECT id, :other AS tenant_id FROM {inner_t} WHERE tenant_id = :tenant) AS {inner_q}"),
            1 => format!("(SELECT id, {text_col} AS tenant_id FROM {inner_t} WHERE tenant_id = :tenant) AS {inner_q}"),
            2 => format!("(SELECT id, tenant_id FROM {inner_t} WHERE tenant_id = :tenant) AS {inner_q}"),
            _ => format!("{inner_t} AS {inner_q}"),
        };
        let inner_where = if inner.starts_with('(') { String::new() } else { format!("{inner_q}.tenant_id = :tenant") };
        let (probe_t, probe_col) =
            *self.rng.pick(&[("lines", "invoice_id"), ("payments", "invoice_id"), ("refunds", "invoice_id")]);
        let anchor = if self.rng.chance(80) { format!("{a}.tenant_id") } else { "tenant_id".to_string() };
        // LIMIT may not read its own level, so there the inner item does not shadow.
        let clause = if shadow { self.rng.below(4) } else { self.rng.below(5) };
        let row = if clause == 4 || self.rng.chance(50) { a.clone() } else { inner_q.clone() };
        // A sum orders the rows it reads by their values; a count only tells whether
        // there are any.
        let measure = if self.rng.chance(50) { "count(*)" } else { "COALESCE(sum(p.amount), 0)" };
        let probe =
            format!("(SELECT {measure} FROM {probe_t} p WHERE p.tenant_id = {anchor} AND p.{probe_col} = {row}.id)");
        let direction = if self.rng.chance(50) { "DESC" } else { "ASC" };
        let and_where = |w: &str, extra: &str| match (w.is_empty(), extra.is_empty()) {
            (true, true) => String::new(),
            (true, false) => format!(" WHERE {extra}"),
            (false, true) => format!(" WHERE {w}"),
            (false, false) => format!(" WHERE {w} AND {extra}"),
        };
        let sub = match clause {
            0 => format!("SELECT {inner_q}.id FROM {inner}{}", and_where(&inner_where, &format!("{probe} > 0"))),
            1 => format!("SELECT {probe} FROM {inner}{}", and_where(&inner_where, "")),
            2 => format!(
                "SELECT {inner_q}.id FROM {inner}{} ORDER BY {probe} {direction}, 1 LIMIT 1",
                and_where(&inner_where, "")
            ),
            3 => format!(
                "SELECT {inner_q}.id FROM {inner}{} GROUP BY {inner_q}.id, {inner_q}.tenant_id HAVING count(*) <= {probe}",
                and_where(&inner_where, "")
            ),
            _ => format!("SELECT {inner_q}.id FROM {inner}{} ORDER BY 1 LIMIT {probe}", and_where(&inner_where, "")),
        };
        format!("SELECT {a}.id FROM {outer_t} {a} WHERE {a}.tenant_id = :tenant AND {a}.id IN ({sub})")
    }

    /// Zero or more CTEs, as `WITH ... ` and the sources they define.
    fn ctes(&mut self, outer: &[Src]) -> (String, Vec<Src>) {
        if !self.rng.chance(30) {
            return (String::new(), Vec::new());
        }
        if self.rng.chance(12) {
            return self.recursive_cte();
        }
        let mut defs = Vec::new();
        let mut srcs: Vec<Src> = Vec::new();
        for _ in 0..1 + self.rng.below(2) {
            // The CTE's name: its own, or a base table's it shadows, written so that it
            // may or may not be the same name to PostgreSQL as the references.
            let base = self.rng.pick(&["invoices", "customers", "payments"]).to_string();
            let taken = self.cte_names.iter().any(|n| n.eq_ignore_ascii_case(&base));
            let case_twist = !taken && self.twisted() && self.rng.chance(40);
            let query = if case_twist {
                // Columns the base table has too, so that the reference runs whichever
                // it names.
                Query {
                    sql: format!("SELECT tenant_id, id FROM {base} WHERE tenant_id = :tenant"),
                    cols: vec![
                        Col { name: "tenant_id".into(), orig: "tenant_id", ty: Text },
                        Col { name: "id".into(), orig: "id", ty: Int },
                    ],
                    tenant: Some(0),
                }
            } else {
                self.select(&srcs, outer, &Shape::Tenant, 1)
            };
            let (defined, referenced) = match self.rng.below(10) {
                _ if case_twist => {
                    // `"Invoices"` is not `invoices` on PostgreSQL: the reference is the
                    // base table (or the fixture's `"Invoices"`), not the CTE.
                    let mut quoted = base.clone();
                    quoted[..1].make_ascii_uppercase();
                    self.force_cte = Some(srcs.len());
                    // The other way round only where the quoted name is a table too.
                    if base != "invoices" || self.rng.chance(50) {
                        (format!("\"{quoted}\""), base)
                    } else {
                        (base, format!("\"{quoted}\""))
                    }
                }
                _ if taken => {
                    let name = format!("cte{}", self.aliases);
                    self.aliases += 1;
                    (name.clone(), name)
                }
                0..=5 => {
                    let name = format!("{}{}", self.rng.pick(&["mine", "recent", "open", "src"]), self.aliases);
                    self.aliases += 1;
                    (name.clone(), name)
                }
                6 | 7 => (base.clone(), base.clone()),
                8 => (format!("\"{base}\""), base.to_ascii_uppercase()),
                _ => (base.clone(), format!("\"{base}\"")),
            };
            let materialized = if self.rng.chance(15) { "MATERIALIZED " } else { "" };
            defs.push(format!("{defined} AS {materialized}({})", query.sql));
            self.cte_names.push(folded(&defined));
            srcs.push(Src { q: referenced, table: None, cols: query.cols, owned: false, tenant: query.tenant });
        }
        (format!("WITH {} ", defs.join(", ")), srcs)
    }

    /// A tree walk over `nodes`, its recursive step confined through the CTE or not.
    fn recursive_cte(&mut self) -> (String, Vec<Src>) {
        let step = if self.twisted() {
            self.rng.pick(&[
                "n.parent_id = t.id",
                "n.parent_id = t.id AND n.owner_id = t.tenant_id",
                "n.parent_id = t.id AND t.tenant_id = t.tenant_id",
            ])
        } else {
            self.rng.pick(&[
                "n.parent_id = t.id AND n.tenant_id = t.tenant_id",
                "n.parent_id = t.id AND n.tenant_id = :tenant",
            ])
        };
        let kept = if self.twisted() { "n.owner_id" } else { "n.tenant_id" };
        self.cte_names.push("tree".into());
        let sql = format!(
            "WITH RECURSIVE tree AS (SELECT id, parent_id, tenant_id, name FROM nodes WHERE tenant_id = :tenant AND parent_id IS NULL \
             UNION ALL SELECT n.id, n.parent_id, {kept}, n.name FROM nodes n JOIN tree t ON {step}) "
        );
        // In the CTE's column order: id, parent_id, tenant_id, name.
        let cols = vec![
            Col { name: "id".into(), orig: "id", ty: Int },
            Col { name: "parent_id".into(), orig: "parent_id", ty: Int },
            Col { name: "tenant_id".into(), orig: "tenant_id", ty: Text },
            Col { name: "name".into(), orig: "name", ty: Text },
        ];
        (sql, vec![Src { q: "tree".into(), table: None, cols, owned: false, tenant: Some(2) }])
    }

    fn types(&mut self) -> Vec<Ty> {
        self.rng.pick(&[vec![Int], vec![Text], vec![Int, Text], vec![Text, Int], vec![Int, Int]]).clone()
    }

    /// `a UNION b`, `a INTERSECT ALL b`, ...: every branch confined on its own.
    fn set_operation(&mut self, ctes: &[Src], outer: &[Src], shape: &Shape, depth: u32) -> Query {
        let op =
            self.rng.pick(&["UNION", "UNION ALL", "INTERSECT", "EXCEPT", "INTERSECT ALL", "EXCEPT ALL"]).to_string();
        // Branches must agree on their columns: a tenant-holding set is `(tenant, id)`.
        let tenant_shape = Shape::Types(vec![Text, Int]);
        let shape = if shape == &Shape::Tenant { &tenant_shape } else { shape };
        let a = self.select(ctes, outer, shape, depth + 1);
        let b = self.select(ctes, outer, shape, depth + 1);
        let tenant = if a.tenant.is_some() && a.tenant == b.tenant { a.tenant } else { None };
        // A branch with its own ORDER BY or LIMIT needs parentheses.
        let branch = |q: &Query| if q.sql.contains(" ORDER BY ") { format!("({})", q.sql) } else { q.sql.clone() };
        Query { sql: format!("{} {op} {}", branch(&a), branch(&b)), cols: a.cols, tenant }
    }

    /// One SELECT, confined as written unless twisted.
    fn select(&mut self, ctes: &[Src], outer: &[Src], shape: &Shape, depth: u32) -> Query {
        let mut level = Level::default();
        let n = 1 + self.rng.below(if depth == 0 { 3 } else { 2 });
        for k in 0..n {
            let join = if k == 0 {
                None
            } else {
                Some(*self.rng.pick(&[
                    Join::Inner,
                    Join::Inner,
                    Join::Inner,
                    Join::Left,
                    Join::Left,
                    Join::Right,
                    Join::Full,
                    Join::Cross,
                    Join::Comma,
                ]))
            };
            self.add_item(&mut level, ctes, outer, join, depth);
        }
        self.confine(&mut level, outer);

        // Conditions that do not involve the tenant.
        for _ in 0..self.rng.below(3) {
            let all: Vec<Src> = outer.iter().chain(&level.srcs).cloned().collect();
            let p = self.predicate(&level.srcs, &all, ctes, depth);
            level.wheres.push(p);
        }

        let (projection, cols, tenant, grouped) = self.projection(&level, outer, ctes, shape, depth);
        let mut sql = String::from("SELECT ");
        let distinct = shape == &Shape::Free && self.rng.chance(8);
        if distinct {
            sql.push_str("DISTINCT ");
        }
        sql.push_str(&projection);
        sql.push_str(" FROM ");
        sql.push_str(&level.render_from());
        if !level.wheres.is_empty() {
            let _ = write!(sql, " WHERE {}", level.wheres.join(" AND "));
        }
        let grouped_sql = grouped.as_ref().map(|g| g.0.clone());
        if let Some((group, having)) = grouped {
            let _ = write!(sql, " GROUP BY {group}");
            if let Some(h) = having {
                let _ = write!(sql, " HAVING {h}");
            }
        }
        let ordered = match shape {
            Shape::Free => depth == 0 && self.rng.chance(30),
            // A subquery's own ORDER BY ... LIMIT, whose expressions see this level.
            Shape::Types(_) | Shape::Tenant => depth > 0 && self.rng.chance(20),
            Shape::Rows(_) => true,
            Shape::Exists => false,
        };
        if ordered && !cols.is_empty() {
            // Order by every output column, so that LIMIT picks the same rows from the
            // same input whatever the plan; an expression may come first.
            let mut keys = Vec::new();
            if self.rng.chance(40) && !distinct && grouped_sql.is_none() {
                let all: Vec<Src> = outer.iter().chain(&level.srcs).cloned().collect();
                keys.push(self.order_expression(&level.srcs, &all, ctes));
            }
            keys.extend((1..=cols.len()).map(|i| i.to_string()));
            let _ = write!(sql, " ORDER BY {}", keys.join(", "));
            if self.rng.chance(60) {
                let limit = if self.rng.chance(35) {
                    self.limit_subquery(ctes, outer)
                } else {
                    (1 + self.rng.below(3)).to_string()
                };
                let _ = write!(sql, " LIMIT {limit}");
                if self.rng.chance(20) {
                    sql.push_str(" OFFSET 1");
                }
            }
        }
        Query { sql, cols, tenant }
    }

    /// Adds one FROM item to `level`, joined to what is there by `join`.
    fn add_item(&mut self, level: &mut Level, ctes: &[Src], outer: &[Src], join: Option<Join>, depth: u32) {
        let choice = self.rng.below(100);
        // LATERAL items and table functions may read the items to their left, which a
        // RIGHT or FULL join does not allow.
        let lateral_ok = matches!(join, Some(Join::Inner | Join::Left | Join::Cross | Join::Comma));
        let forced = self.force_cte.take().and_then(|i| ctes.get(i)).cloned();
        let (sql, src) = if let Some(cte) = forced {
            self.cte_reference(level, cte)
        } else if choice < 20 && !ctes.is_empty() {
            let cte = self.rng.pick(ctes).clone();
            self.cte_reference(level, cte)
        } else if choice < 18 && depth < 2 {
            let lateral = lateral_ok && self.rng.chance(50);
            self.derived(level, ctes, outer, depth, lateral)
        } else if choice < 22 && lateral_ok {
            self.table_function(level)
        } else {
            self.base_table(level, outer)
        };
        let idx = level.srcs.len();
        match join {
            None => level.from.push(sql),
            Some(join) => {
                level.srcs.push(src.clone());
                // Comma and CROSS joins take no condition.
                let on = match join {
                    Join::Cross | Join::Comma => None,
                    _ => Some(self.join_condition(level, idx, join)),
                };
                level.srcs.pop();
                let keyword = match join {
                    Join::Inner => *self.rng.pick(&["JOIN", "INNER JOIN"]),
                    Join::Left => *self.rng.pick(&["LEFT JOIN", "LEFT OUTER JOIN"]),
                    Join::Right => *self.rng.pick(&["RIGHT JOIN", "RIGHT OUTER JOIN"]),
                    Join::Full => *self.rng.pick(&["FULL JOIN", "FULL OUTER JOIN"]),
                    Join::Cross => "CROSS JOIN",
                    Join::Comma => ",",
                };
                level.joins.push((idx, join));
                level.from.push(if keyword == "," { format!(", {sql}") } else { format!(" {keyword} {sql}") });
                level.on.push((idx, on.unwrap_or_default()));
            }
        }
        level.srcs.push(src);
    }

    /// `invoices`, `INVOICES i`, `"invoices" AS i`, `public.invoices x(t, k)`, ...
    fn base_table(&mut self, level: &Level, outer: &[Src]) -> (String, Src) {
        // Tenant-owned tables mostly; "Invoices" and shared tables now and then.
        let t = match self.rng.below(100) {
            0..=8 => table(if self.rng.chance(50) { "countries" } else { "currencies" }),
            9..=11 => table("\"Invoices\""),
            _ => {
                let owned: Vec<&Table> = TABLES.iter().filter(|t| t.owned && t.name != "\"Invoices\"").collect();
                *self.rng.pick(&owned)
            }
        };
        // A table a CTE shadows: another one (a CTE reference is made on purpose, by
        // `cte_reference`).
        let t = if self.cte_names.contains(&folded(t.name)) {
            match TABLES.iter().find(|t| t.owned && !self.cte_names.contains(&folded(t.name))) {
                Some(t) => t,
                None => t,
            }
        } else {
            t
        };
        let written = if t.name.starts_with('"') {
            t.name.to_string()
        } else {
            match self.rng.below(12) {
                0 => t.name.to_ascii_uppercase(),
                1 => format!("\"{}\"", t.name),
                2 => format!("public.{}", t.name),
                3 => format!("\"public\".\"{}\"", t.name),
                _ => t.name.to_string(),
            }
        };
        let mut cols: Vec<Col> =
            t.cols.iter().map(|&(name, ty)| Col { name: name.to_string(), orig: name, ty }).collect();
        let used = |q: &str| level.srcs.iter().any(|s| s.q.eq_ignore_ascii_case(q));
        let bare = written.rsplit('.').next().unwrap_or(&written).to_string();
        let (alias_sql, q) = match self.rng.below(10) {
            // No alias: the table's own name qualifies (unless it is already taken).
            0 | 1 if !used(&bare.trim_matches('"').to_ascii_lowercase()) && !bare.starts_with("\"I") => {
                (String::new(), bare.trim_matches('"').to_ascii_lowercase())
            }
            0 | 1 if bare == "\"Invoices\"" && !used("Invoices") => (String::new(), bare.clone()),
            // Another table's name as alias.
            2 => {
                let other = self.rng.pick(&["invoices", "customers", "payments", "lines"]).to_string();
                if used(&other) || outer.iter().any(|s| s.q == other) {
                    let a = self.alias(t.name);
                    (format!(" {a}"), a)
                } else {
                    (format!(" {other}"), other)
                }
            }
            // An enclosing query's alias: the inner table shadows the outer one.
            3 if !outer.is_empty() && self.twisted() => {
                let q = self.rng.pick(outer).q.clone();
                (format!(" AS {q}"), q)
            }
            _ => {
                let a = self.alias(t.name);
                (format!("{}{a}", if self.rng.chance(50) { " AS " } else { " " }), a)
            }
        };
        let mut alias_sql = alias_sql;
        if !alias_sql.is_empty() && self.rng.chance(10) {
            // A column alias list renames the first columns; a twist may rename another
            // text column to `tenant_id`.
            let k = 1 + self.rng.below(3.min(cols.len()));
            let mut names: Vec<String> = (0..k).map(|i| format!("c{i}_{}", self.aliases)).collect();
            if self.twisted()
                && let Some(i) = (1..cols.len()).find(|&i| cols[i].ty == Text && i < 4)
            {
                while names.len() <= i {
                    names.push(format!("c{}_{}", names.len(), self.aliases));
                }
                names[i] = "tenant_id".into();
            }
            for (i, n) in names.iter().enumerate() {
                cols[i].name = n.clone();
            }
            let _ = write!(alias_sql, "({})", names.join(", "));
        }
        let tenant = if t.owned { Some(0) } else { None };
        (format!("{written}{alias_sql}"), Src { q, table: Some(t), cols, owned: t.owned, tenant })
    }

    fn cte_reference(&mut self, level: &Level, cte: Src) -> (String, Src) {
        let taken = level.srcs.iter().any(|s| s.q.eq_ignore_ascii_case(&cte.q));
        if taken || self.rng.chance(40) {
            let a = self.alias("x");
            let sql = format!("{} {a}", cte.q);
            (sql, Src { q: a, ..cte })
        } else {
            let q = cte.q.trim_matches('"').to_string();
            let q = if cte.q.starts_with('"') { cte.q.clone() } else { q };
            (cte.q.clone(), Src { q, ..cte })
        }
    }

    /// `(SELECT ...) AS d`, or `LATERAL (SELECT ...) d` correlated to the sources so far.
    fn derived(&mut self, level: &Level, ctes: &[Src], outer: &[Src], depth: u32, lateral: bool) -> (String, Src) {
        let visible: Vec<Src> =
            if lateral { outer.iter().chain(&level.srcs).cloned().collect() } else { outer.to_vec() };
        let query = if self.rng.chance(15) {
            self.set_operation(ctes, &visible, &Shape::Tenant, depth + 1)
        } else {
            self.select(ctes, &visible, &Shape::Tenant, depth + 1)
        };
        // An enclosing query's alias: inside, it names this derived table.
        let a = if !outer.is_empty() && self.twisted() && self.rng.chance(30) {
            self.rng.pick(outer).q.clone()
        } else {
            self.alias("d")
        };
        let mut cols = query.cols;
        let mut list = String::new();
        if self.rng.chance(15) {
            // `AS d(t, k, ...)`: the tenant column is renamed with the rest.
            let names: Vec<String> = (0..cols.len()).map(|i| format!("{a}_{i}")).collect();
            for (c, n) in cols.iter_mut().zip(&names) {
                c.name = n.clone();
            }
            list = format!("({})", names.join(", "));
        }
        let sql = format!("{}({}) AS {a}{list}", if lateral { "LATERAL " } else { "" }, query.sql);
        (sql, Src { q: a, table: None, cols, owned: false, tenant: query.tenant })
    }

    /// `generate_series(1, 3) AS g(n)`, `unnest(i.tags) AS u(tag)`.
    fn table_function(&mut self, level: &Level) -> (String, Src) {
        let a = self.alias("g");
        if self.twisted() && self.rng.chance(30) {
            // A column named `tenant_id` that holds another tenant: the generator uses it
            // as an anchor, which it is not.
            let sql = match self.rng.below(2) {
                0 => format!("unnest(ARRAY[:other]) AS {a}(tenant_id)"),
                _ => format!("(VALUES (:other)) AS {a}(tenant_id)"),
            };
            let cols = vec![Col { name: "tenant_id".into(), orig: "tenant_id", ty: Text }];
            return (sql, Src { q: a, table: None, cols, owned: false, tenant: Some(0) });
        }
        let tags =
            level.srcs.iter().find_map(|s| s.cols.iter().find(|c| c.ty == Tags).map(|c| format!("{}.{}", s.q, c.name)));
        match tags {
            Some(tags) if self.rng.chance(50) => (
                format!("unnest({tags}) AS {a}(tag)"),
                Src {
                    q: a,
                    table: None,
                    cols: vec![Col { name: "tag".into(), orig: "", ty: Text }],
                    owned: false,
                    tenant: None,
                },
            ),
            _ => (
                format!(
                    "{}generate_series(1, {}) AS {a}(k)",
                    if self.rng.chance(20) { "pg_catalog." } else { "" },
                    1 + self.rng.below(3)
                ),
                Src {
                    q: a,
                    table: None,
                    cols: vec![Col { name: "k".into(), orig: "", ty: Int }],
                    owned: false,
                    tenant: None,
                },
            ),
        }
    }

    /// The ON of joining `level.srcs[idx]` to the sources before it.
    fn join_condition(&mut self, level: &Level, idx: usize, join: Join) -> String {
        let right = &level.srcs[idx];
        // USING: both sides tenant-owned base tables with their own tenant column name.
        let left_using =
            level.srcs[..idx].iter().rposition(|s| s.owned && s.tenant.is_some_and(|t| s.cols[t].name == "tenant_id"));
        if matches!(join, Join::Inner | Join::Left)
            && idx == 1
            && right.owned
            && right.cols[0].name == "tenant_id"
            && left_using.is_some()
            && self.rng.chance(15)
        {
            return "USING (tenant_id)".into();
        }
        // The nearest related source to the left.
        if let Some(cond) = level.srcs[..idx].iter().rev().find_map(|left| relation(left, right)) {
            return cond;
        }
        // No relation: ids, which pair rows of different tenants unless confined.
        let left = &level.srcs[idx - 1];
        match (left.find("id"), right.find("id")) {
            (Some(a), Some(b)) => format!("{} = {}", left.col(a), right.col(b)),
            _ => "true".into(),
        }
    }

    /// Decides where each tenant-owned source is confined and writes those conditions
    /// (twisted or not) into the ON and WHERE of `level`.
    fn confine(&mut self, level: &mut Level, outer: &[Src]) {
        // Anchors so far: `:tenant`, and the tenant columns of confined sources (outer
        // ones are confined by their own level, or the twist is theirs).
        let mut anchors: Vec<String> = outer.iter().filter_map(Src::tenant_col).collect();
        let mut pending_where: Vec<String> = Vec::new();
        for idx in 0..level.srcs.len() {
            let src = level.srcs[idx].clone();
            if !src.owned {
                if let Some(t) = src.tenant_col() {
                    anchors.push(t);
                }
                continue;
            }
            let join = level.joins.iter().find(|(i, _)| *i == idx).map(|(_, j)| *j);
            let using = level.on.iter().any(|(i, on)| *i == idx && on.starts_with("USING"));
            if using {
                // Confined through the merged tenant column, as the left side is.
                anchors.push(src.tenant_col().unwrap_or_default());
                continue;
            }
            let slot = match join {
                Some(Join::Inner) if self.rng.chance(50) => Slot::On(idx),
                Some(Join::Left) if self.rng.chance(80) => Slot::On(idx),
                _ => Slot::Where,
            };
            // A twist: the condition goes to the ON of a later join that does not filter
            // this source (LEFT JOIN's ON for its left side, FULL JOIN's for either).
            let slot = match level
                .joins
                .iter()
                .find(|(i, j)| *i > idx && matches!(j, Join::Left | Join::Full | Join::Right))
            {
                Some((later, _)) if self.twisted() => Slot::On(*later),
                _ => slot,
            };
            let anchor = if anchors.is_empty() || self.rng.chance(45) {
                ":tenant".to_string()
            } else {
                self.rng.pick(&anchors).clone()
            };
            let Some(column) = src.tenant_col() else { continue };
            let predicate = if self.twisted() {
                self.twisted_tenant_predicate(level, idx, &column, &anchor)
            } else {
                self.tenant_predicate(&src, &column, &anchor)
            };
            anchors.push(column);
            if predicate.is_empty() {
                continue;
            }
            match slot {
                Slot::Where => pending_where.push(predicate),
                Slot::On(i) => {
                    let on = level.on.iter_mut().find(|(j, _)| *j == i).expect("the join's ON");
                    if on.1.starts_with("USING") || on.1.is_empty() {
                        pending_where.push(predicate);
                    } else {
                        on.1 = format!("{} AND {predicate}", on.1);
                    }
                }
            }
        }
        level.wheres.extend(pending_where);
    }

    /// A condition that confines `column` to `anchor`, in one of the forms that mean it.
    fn tenant_predicate(&mut self, src: &Src, column: &str, anchor: &str) -> String {
        let column = match self.rng.below(10) {
            0 => format!("{}.{}", src.q, "TENANT_ID"),
            1 => format!("{}.\"tenant_id\"", src.q),
            _ => column.to_string(),
        };
        // A renamed tenant column keeps its new name.
        let column = if src.tenant.is_some_and(|t| src.cols[t].name != "tenant_id") {
            src.tenant_col().unwrap_or(column)
        } else {
            column
        };
        let tenant = anchor == ":tenant";
        match self.rng.below(12) {
            0 => format!("{anchor} = {column}"),
            1 if tenant => format!("{column} IN (:tenant)"),
            2 if tenant => format!("{column} = CAST(:tenant AS text)"),
            3 if tenant => format!("{column} = :tenant::text"),
            4 if tenant && src.find("id").is_some() => {
                let id = src.col(src.find("id").unwrap_or(0));
                format!("({column}, {id}) = (:tenant, {id})")
            }
            _ => format!("{column} = {anchor}"),
        }
    }

    /// A condition that looks like it confines `column` and may not.
    fn twisted_tenant_predicate(&mut self, level: &Level, idx: usize, column: &str, anchor: &str) -> String {
        let src = &level.srcs[idx];
        let text_col = src.cols_of(Text).first().map(|&i| src.col(i));
        let bool_col = src.cols_of(Bool).first().map(|&i| src.col(i));
        let other_src = level.srcs.iter().enumerate().find(|(i, s)| *i != idx && s.tenant.is_some()).map(|(_, s)| s);
        match self.rng.below(22) {
            // Another column than the tenant's.
            0..=3 => match text_col {
                Some(c) => format!("{c} = {anchor}"),
                None => format!("{column} = {anchor}"),
            },
            // Another table's tenant column.
            4 | 5 => match other_src.and_then(Src::tenant_col) {
                Some(c) => format!("{c} = {anchor}"),
                None => String::new(),
            },
            6 => format!("{column} = :other"),
            7 => format!("({column} = {anchor} OR {})", bool_col.unwrap_or_else(|| "true".into())),
            8 => format!("NOT ({column} <> {anchor})"),
            9 => format!("COALESCE({column}, {anchor}) = {anchor}"),
            10 => format!(
                "CASE WHEN {column} = {anchor} THEN true ELSE {} END",
                bool_col.unwrap_or_else(|| "false".into())
            ),
            11 => format!("{column} {} {anchor}", self.rng.pick(&[">=", "LIKE", "<>", "IS NOT DISTINCT FROM", "<="])),
            12 => format!("lower({column}) = {anchor}"),
            13 => format!("{column} = {column}"),
            14 => String::new(),
            15 => format!("{column} IN ({anchor}, :other)"),
            // Unqualified: inside a subquery that is the subquery's own table.
            16 => format!("tenant_id = {anchor}"),
            17 => format!("{column} = (SELECT {anchor})"),
            18 => format!("{column} = COALESCE({anchor}, {column})"),
            19 => format!("{column} = {anchor} COLLATE \"C\""),
            20 => format!("{column} = current_setting('oracle.tenant')"),
            _ => format!("({column}, {column}) = ({anchor}, {column})"),
        }
    }

    /// A condition about something else than the tenant: a comparison, or a subquery.
    fn predicate(&mut self, local: &[Src], visible: &[Src], ctes: &[Src], depth: u32) -> String {
        let src = self.rng.pick(local).clone();
        let ints = src.cols_of(Int);
        let texts = src.cols_of(Text);
        match self.rng.below(14) {
            0 | 1 if !ints.is_empty() => {
                let c = src.col(*self.rng.pick(&ints));
                format!("{c} {} {}", self.rng.pick(&[">", "<", ">=", "<>"]), self.rng.below(5))
            }
            2 if !ints.is_empty() => format!("{} = :id", src.col(*self.rng.pick(&ints))),
            3 if !texts.is_empty() => {
                format!("{} LIKE '%{}%'", src.col(*self.rng.pick(&texts)), self.rng.pick(&["a", "e", "1"]))
            }
            4 if !texts.is_empty() => format!("{} IS NOT NULL", src.col(*self.rng.pick(&texts))),
            5 if !texts.is_empty() && !ints.is_empty() => {
                format!("({} > 1 OR {} = :name)", src.col(*self.rng.pick(&ints)), src.col(*self.rng.pick(&texts)))
            }
            6..=8 if depth < 2 => {
                // `x IN (SELECT ...)`, correlated or not.
                let ty = if !ints.is_empty() && self.rng.chance(70) { Int } else { Text };
                let cols = src.cols_of(ty);
                if cols.is_empty() {
                    return "true".into();
                }
                let c = src.col(*self.rng.pick(&cols));
                let sub = self.subquery(ctes, visible, &Shape::Types(vec![ty]), depth);
                format!("{c} {} ({sub})", if self.rng.chance(20) { "NOT IN" } else { "IN" })
            }
            9..=11 if depth < 2 => {
                let sub = self.subquery(ctes, visible, &Shape::Exists, depth);
                format!("{}EXISTS ({sub})", if self.rng.chance(25) { "NOT " } else { "" })
            }
            12 if depth < 2 && !ints.is_empty() => {
                let c = src.col(*self.rng.pick(&ints));
                let sub = self.scalar(ctes, visible, depth);
                format!("{c} <= ({sub})")
            }
            13 if depth < 2 && src.tenant.is_some() && src.find("id").is_some() => {
                // A row value with the tenant column in it.
                let t = src.tenant_col().unwrap_or_default();
                let id = src.col(src.find("id").unwrap_or(1));
                let sub = self.subquery(ctes, visible, &Shape::Types(vec![Text, Int]), depth);
                format!("({t}, {id}) IN ({sub})")
            }
            _ => "true".into(),
        }
    }

    fn subquery(&mut self, ctes: &[Src], visible: &[Src], shape: &Shape, depth: u32) -> String {
        if self.rng.chance(10) && shape != &Shape::Exists {
            self.set_operation(ctes, visible, shape, depth + 1).sql
        } else {
            self.select(ctes, visible, shape, depth + 1).sql
        }
    }

    /// `(SELECT count(*) ...)`, `(SELECT max(x.amount) ...)`: one row, one integer.
    fn scalar(&mut self, ctes: &[Src], visible: &[Src], depth: u32) -> String {
        let mut level = Level::default();
        self.add_item(&mut level, ctes, visible, None, depth + 2);
        if self.rng.chance(30) {
            let join = *self.rng.pick(&[Join::Inner, Join::Left]);
            self.add_item(&mut level, ctes, visible, Some(join), depth + 2);
        }
        self.confine(&mut level, visible);
        // Correlate with an enclosing source now and then.
        if let Some(outer) = visible.iter().rev().find(|s| s.find("id").is_some())
            && self.rng.chance(50)
            && let Some(inner) = level.srcs.iter().find(|s| s.find("id").is_some())
        {
            let (a, b) = (inner.col(inner.find("id").unwrap_or(0)), outer.col(outer.find("id").unwrap_or(0)));
            level.wheres.push(format!("{a} = {b}"));
        }
        let src = level.srcs[0].clone();
        let ints = src.cols_of(Int);
        let aggregate = match ints.first() {
            Some(_) if self.rng.chance(60) => {
                format!("{}({})", self.rng.pick(&["max", "min", "sum"]), src.col(*self.rng.pick(&ints)))
            }
            _ => "count(*)".into(),
        };
        let mut sql = format!("SELECT {aggregate} FROM {}", level.render_from());
        if !level.wheres.is_empty() {
            let _ = write!(sql, " WHERE {}", level.wheres.join(" AND "));
        }
        sql
    }

    /// An ORDER BY expression that may read another table.
    fn order_expression(&mut self, local: &[Src], visible: &[Src], ctes: &[Src]) -> String {
        let src = self.rng.pick(local).clone();
        match self.rng.below(3) {
            0 => format!("({}) DESC", self.scalar(ctes, visible, 1)),
            1 => format!("({})", self.scalar(ctes, &[], 1)),
            _ => match src.cols_of(Int).first() {
                Some(&c) => format!("{} DESC", src.col(c)),
                None => "1".into(),
            },
        }
    }

    /// `(SELECT count(*) FROM t WHERE ...)` as a LIMIT, which may read enclosing queries
    /// (not its own level).
    fn limit_subquery(&mut self, ctes: &[Src], outer: &[Src]) -> String {
        format!("({})", self.scalar(ctes, outer, 1))
    }

    /// The SELECT list for `shape`: its SQL, output columns, tenant column, and GROUP BY.
    #[allow(clippy::type_complexity)]
    fn projection(
        &mut self,
        level: &Level,
        outer: &[Src],
        ctes: &[Src],
        shape: &Shape,
        depth: u32,
    ) -> (String, Vec<Col>, Option<usize>, Option<(String, Option<String>)>) {
        let srcs = &level.srcs;
        let visible: Vec<Src> = outer.iter().chain(srcs).cloned().collect();
        match shape {
            Shape::Exists => (self.rng.pick(&["1", "*", "NULL"]).to_string(), Vec::new(), None, None),
            Shape::Types(types) | Shape::Rows(types) => {
                let mut items = Vec::new();
                let mut cols = Vec::new();
                let mut tenant = None;
                for (i, &ty) in types.iter().enumerate() {
                    // The tenant column of a confined table is the natural text column of
                    // a row value `(tenant_id, id)`.
                    let holder = srcs.iter().find(|s| s.tenant.is_some());
                    let item = if i == 0 && ty == Text && holder.is_some() && self.rng.chance(70) {
                        tenant = Some(0);
                        holder.and_then(Src::tenant_col).unwrap_or_default()
                    } else {
                        self.value_of(srcs, ty)
                    };
                    items.push(format!("{item} AS v{i}"));
                    cols.push(Col { name: format!("v{i}"), orig: "", ty });
                }
                (items.join(", "), cols, tenant, None)
            }
            Shape::Tenant => {
                let holder = srcs.iter().find(|s| s.tenant.is_some()).cloned();
                let mut items = Vec::new();
                let mut cols = Vec::new();
                let mut tenant = None;
                let value = match &holder {
                    _ if self.twisted() => {
                        // Something else under the tenant column's name.
                        let src = self.rng.pick(srcs).clone();
                        match src.cols_of(Text).first() {
                            Some(&c) if self.rng.chance(60) => src.col(c),
                            _ => ":other".into(),
                        }
                    }
                    Some(h) if self.rng.chance(85) => {
                        tenant = Some(0);
                        h.tenant_col().unwrap_or_default()
                    }
                    _ => {
                        tenant = Some(0);
                        ":tenant".into()
                    }
                };
                items.push(format!("{value} AS tenant_id"));
                cols.push(Col { name: "tenant_id".into(), orig: "tenant_id", ty: Text });
                // An id, then whatever else.
                let src = self.rng.pick(srcs).clone();
                for (i, c) in src.cols.iter().enumerate() {
                    if Some(i) == src.tenant
                        || cols.iter().any(|k| k.name == c.orig)
                        || c.orig.is_empty() && c.ty != Int
                    {
                        continue;
                    }
                    if c.orig == "id" || self.rng.chance(25) {
                        let name = if c.orig.is_empty() {
                            format!("k{i}")
                        } else {
                            c.orig.trim_matches('"').to_ascii_lowercase()
                        };
                        if cols.iter().any(|k| k.name == name) {
                            continue;
                        }
                        items.push(format!("{} AS {name}", src.col(i)));
                        cols.push(Col { name, orig: c.orig, ty: c.ty });
                    }
                }
                (items.join(", "), cols, tenant, None)
            }
            Shape::Free => {
                if self.rng.chance(15) {
                    return self.aggregate_projection(level, outer, ctes, depth);
                }
                let mut items = Vec::new();
                let mut cols = Vec::new();
                for i in 0..1 + self.rng.below(3) {
                    let src = self.rng.pick(srcs).clone();
                    let (item, ty) = match self.rng.below(20) {
                        0..=10 => {
                            let c = self.rng.below(src.cols.len());
                            (src.col(c), src.cols[c].ty)
                        }
                        11 if src.tenant.is_some() => (src.tenant_col().unwrap_or_default(), Text),
                        12 | 13 if depth < 2 => (format!("({})", self.scalar(ctes, &visible, depth)), Int),
                        14 => (format!("COALESCE({}, 'none')", self.value_of(srcs, Text)), Text),
                        15 => (format!("CASE WHEN {} THEN 1 ELSE 0 END", self.value_of(srcs, Bool)), Int),
                        16 => (format!("upper({})", self.value_of(srcs, Text)), Text),
                        _ => self.function_item(srcs),
                    };
                    items.push(format!("{item} AS o{i}"));
                    cols.push(Col { name: format!("o{i}"), orig: "", ty });
                }
                (items.join(", "), cols, None, None)
            }
        }
    }

    /// `x.status, count(*), sum(x.total) ... GROUP BY x.status [HAVING ...]`.
    #[allow(clippy::type_complexity)]
    fn aggregate_projection(
        &mut self,
        level: &Level,
        outer: &[Src],
        ctes: &[Src],
        depth: u32,
    ) -> (String, Vec<Col>, Option<usize>, Option<(String, Option<String>)>) {
        let src = self.rng.pick(&level.srcs).clone();
        let key = self.rng.below(src.cols.len());
        let key_sql = src.col(key);
        let int = self.value_of(&level.srcs, Int);
        let items = format!("{key_sql} AS g0, count(*) AS g1, sum({int}) AS g2");
        let cols = vec![
            Col { name: "g0".into(), orig: "", ty: src.cols[key].ty },
            Col { name: "g1".into(), orig: "", ty: Int },
            Col { name: "g2".into(), orig: "", ty: Int },
        ];
        let having = match self.rng.below(4) {
            0 => Some("count(*) > 0".to_string()),
            1 if depth < 2 => {
                // Correlated only with enclosing queries: this level's columns are grouped.
                Some(format!("count(*) <= ({})", self.scalar(ctes, outer, depth)))
            }
            // HAVING filters groups after every row was read: a tenant condition here
            // confines nothing.
            2 if self.twisted() && src.owned => {
                Some(format!("{key_sql} IS NOT NULL AND max({}) = :tenant", src.col(0)))
            }
            _ => None,
        };
        (items, cols, None, Some((key_sql, having)))
    }

    /// A column or expression of type `ty` from `srcs`, or a literal.
    fn value_of(&mut self, srcs: &[Src], ty: Ty) -> String {
        let candidates: Vec<String> =
            srcs.iter().flat_map(|s| s.cols_of(ty).into_iter().map(move |i| s.col(i))).collect();
        if !candidates.is_empty() && self.rng.chance(85) {
            return self.rng.pick(&candidates).clone();
        }
        match ty {
            Int => (self.rng.below(4) as i64).to_string(),
            Text => "'x'".into(),
            Bool => "true".into(),
            Date => "DATE '2024-03-01'".into(),
            Time => "TIMESTAMPTZ '2024-03-01 00:00+00'".into(),
            Tags => "ARRAY['x']".into(),
        }
    }

    /// A function call in the SELECT list: harmless ones, and ones that read tables by
    /// name, read or change settings, or touch sequences and catalogs.
    fn function_item(&mut self, srcs: &[Src]) -> (String, Ty) {
        let text = self.value_of(srcs, Text);
        if !self.twisted() {
            if let Some(c) = srcs.iter().find_map(|s| s.find("customer_id").map(|i| s.col(i)))
                && self.rng.chance(15)
            {
                return (format!("customer_balance({c})"), Int);
            }
            return match self.rng.below(6) {
                0 => (format!("length({text})"), Int),
                1 => (format!("md5({text})"), Text),
                2 => (format!("concat_ws('-', {text}, {})", self.value_of(srcs, Int)), Text),
                3 => (format!("greatest({}, 1)", self.value_of(srcs, Int)), Int),
                4 => ("current_setting('oracle.tenant', true)".into(), Text),
                _ => (format!("to_char({}, 'FM999')", self.value_of(srcs, Int)), Text),
            };
        }
        let f = match self.rng.below(12) {
            0 => "pg_catalog.query_to_xml('SELECT tenant_id, id FROM invoices', false, false, '')::text",
            1 => "QUERY_TO_XML('SELECT tenant_id, id FROM invoices', false, false, '')::text",
            2 => "pg_catalog.table_to_xml('customers', false, false, '')::text",
            3 => "\"table_to_xml\"('customers', false, false, '')::text",
            4 => "pg_catalog.set_config('oracle.tenant', :other, true)",
            5 => "SET_CONFIG('oracle.tenant', :other, true)",
            6 => "nextval('invoices_id_seq')::text",
            7 => "(SELECT string_agg(most_common_vals::text, ',') FROM pg_stats st WHERE st.tablename = :tenant)",
            8 => {
                "(SELECT string_agg(most_common_vals::text, ',') FROM pg_catalog.pg_stats st WHERE st.schemaname = 'public' AND st.attname = 'tenant_id')"
            }
            9 => "pg_stat_get_live_tuples('invoices'::regclass)::text",
            10 => "(SELECT count(*) FROM pg_class WHERE relname = :name)::text",
            // A function of the schema that reads a table the statement does not show.
            _ => "customer_balance(1)::text",
        };
        (f.to_string(), Text)
    }

    // ----- writes --------------------------------------------------------------------

    fn writable_table(&mut self) -> &'static Table {
        if self.twisted() && self.rng.chance(20) {
            return table(if self.rng.chance(50) { "countries" } else { "currencies" });
        }
        let owned: Vec<&'static Table> = TABLES.iter().filter(|t| t.owned).collect();
        owned[self.rng.below(owned.len())]
    }

    /// A literal of the column's type.
    fn literal(&mut self, ty: Ty) -> String {
        match ty {
            Int => self.rng.pick(&["7", "0", ":amount", "42"]).to_string(),
            Text => self.rng.pick(&["'new'", "'x'", ":name", "'A-001'"]).to_string(),
            Bool => self.rng.pick(&["true", "false"]).to_string(),
            Date => "DATE '2024-06-01'".into(),
            Time => "TIMESTAMPTZ '2024-06-01 00:00+00'".into(),
            Tags => "ARRAY['new']".into(),
        }
    }

    /// The tenant value of an inserted row.
    fn tenant_value(&mut self) -> String {
        if self.twisted() {
            self.rng
                .pick(&[
                    ":other",
                    "'globex'",
                    "(SELECT :tenant)",
                    "lower(:tenant)",
                    "COALESCE(:tenant, 'x')",
                    "(SELECT tenant_id FROM customers ORDER BY 1 DESC LIMIT 1)",
                    "current_setting('oracle.tenant')",
                ])
                .to_string()
        } else {
            self.rng.pick(&[":tenant", ":tenant", "CAST(:tenant AS text)", ":tenant::text"]).to_string()
        }
    }

    fn insert(&mut self) -> String {
        let t = self.writable_table();
        // The conflict target first: it decides whether the row may meet an existing one.
        let conflict = if self.rng.chance(35) { Some(*self.rng.pick(t.unique)) } else { None };
        let on_key = conflict.is_some_and(|c| c.contains("id)") || c == "(code)");
        let on_number = conflict.is_some_and(|c| c.contains("number"));
        // The tenant column (if any), what must be set, and a few others; `id` only to
        // meet an existing row through an upsert on the key.
        let select_source = self.rng.chance(30) && !on_key && !on_number;
        let mut cols: Vec<(&str, Ty)> = vec![t.cols[0]];
        if t.owned && on_key {
            cols.push(t.cols[1]);
        }
        for &c in &t.cols[if t.owned { 2 } else { 1 }..] {
            // Numbers are unique: a SELECT would copy existing ones.
            if select_source && c.0 == "number" {
                continue;
            }
            if required(t).contains(&c.0) || (on_number && c.0 == "number") || self.rng.chance(30) {
                cols.push(c);
            }
        }
        if self.rng.chance(15) && cols.len() > 1 {
            cols.swap(0, 1);
        }
        let (with, ctes) = if self.rng.chance(20) { self.ctes(&[]) } else { (String::new(), Vec::new()) };
        let fresh = self.aliases;
        let row = |g: &mut Generator, n: usize| -> String {
            let values: Vec<String> = cols
                .iter()
                .map(|&(name, ty)| match name {
                    "tenant_id" => g.tenant_value(),
                    "id" => g.rng.pick(&["1", "2", "3"]).to_string(),
                    "code" => "'ZZ'".into(),
                    // An existing number only to meet acme's row through the upsert.
                    "number" if on_number && n == 0 => g.rng.pick(&[":number", "'A-002'", "'N-1'"]).to_string(),
                    "number" => format!("'N-{fresh}-{n}'"),
                    _ if ty == Int && g.rng.chance(15) => format!("({})", g.scalar(&ctes, &[], 1)),
                    _ => g.literal(ty),
                })
                .collect();
            format!("({})", values.join(", "))
        };
        let source = if select_source {
            // INSERT ... SELECT from a confined source.
            let types: Vec<Ty> = cols.iter().map(|c| c.1).collect();
            let q = self.select(&ctes, &[], &Shape::Rows(types), 1);
            let tenant_first = t.owned && cols[0].0 == "tenant_id";
            if tenant_first && q.tenant != Some(0) && !self.twisted() {
                // The row's tenant column must hold the tenant: select `:tenant` there.
                match q.sql.split_once(" AS v0") {
                    Some((_, rest)) => format!("SELECT :tenant AS v0{rest}"),
                    None => q.sql,
                }
            } else {
                q.sql
            }
        } else {
            let n = if on_key || on_number { 1 } else { 1 + usize::from(self.rng.chance(20)) };
            let rows: Vec<String> = (0..n).map(|i| row(self, i)).collect();
            format!("VALUES {}", rows.join(", "))
        };
        let alias = if self.rng.chance(15) { " AS t0" } else { "" };
        let target_q = if alias.is_empty() { t.name.to_string() } else { "t0".to_string() };
        let names: Vec<&str> = cols.iter().map(|c| c.0).collect();
        let mut sql = format!("{with}INSERT INTO {}{alias} ({}) {source}", t.name, names.join(", "));
        if let Some(target) = conflict {
            let target = if target.starts_with("ON CONSTRAINT") || self.rng.chance(80) || !on_key {
                target.to_string()
            } else {
                format!("ON CONSTRAINT {}", t.pkey)
            };
            if self.rng.chance(30) {
                let _ = write!(sql, " ON CONFLICT {target} DO NOTHING");
            } else {
                let settable: Vec<&(&str, Ty)> = t.cols.iter().skip(2).filter(|c| names.contains(&c.0)).collect();
                let set = match settable.first() {
                    Some(c) if self.rng.chance(70) => format!("{0} = excluded.{0}", c.0),
                    _ => {
                        let c = t.cols.last().expect("a column");
                        format!("{} = {}", c.0, self.literal(c.1))
                    }
                };
                let guard = match self.rng.below(6) {
                    0 | 1 => String::new(),
                    2 => format!(" WHERE {target_q}.tenant_id = :tenant"),
                    3 => format!(" WHERE excluded.tenant_id = {target_q}.tenant_id"),
                    4 if self.twisted() => " WHERE excluded.tenant_id = :tenant".to_string(),
                    _ => format!(" WHERE {target_q}.tenant_id = :tenant AND {target_q}.{} IS NOT NULL", t.cols[1].0),
                };
                let guard = if t.owned { guard } else { String::new() };
                let _ = write!(sql, " ON CONFLICT {target} DO UPDATE SET {set}{guard}");
            }
        }
        if self.rng.chance(30) {
            sql.push_str(&self.returning(t, &target_q));
        }
        sql
    }

    /// `RETURNING ...`, possibly with a correlated subquery.
    fn returning(&mut self, t: &'static Table, q: &str) -> String {
        match self.rng.below(4) {
            0 => " RETURNING *".into(),
            1 if t.owned && t.name == "invoices" => format!(
                " RETURNING {q}.id, (SELECT c.name FROM customers c WHERE c.id = {q}.customer_id AND {})",
                if self.twisted() { "c.vip" } else { "c.tenant_id = :tenant" }
            ),
            _ => format!(" RETURNING {q}.{}", t.cols[usize::from(t.owned)].0),
        }
    }

    fn update(&mut self) -> String {
        let t = self.writable_table();
        let (with, ctes, target_is_cte) = self.dml_ctes(t);
        let alias = if self.rng.chance(40) { self.alias(t.name) } else { String::new() };
        let q = if alias.is_empty() { t.name.trim_matches('"').to_string() } else { alias.clone() };
        let q = if t.name.starts_with('"') && alias.is_empty() { t.name.to_string() } else { q };
        let target = Src {
            q: q.clone(),
            table: Some(t),
            cols: t.cols.iter().map(|&(n, ty)| Col { name: n.into(), orig: n, ty }).collect(),
            owned: t.owned,
            tenant: if t.owned { Some(0) } else { None },
        };
        // SET: a value, an expression, or a scalar subquery.
        let settable: Vec<usize> = (if t.owned { 2 } else { 1 }..t.cols.len()).collect();
        let c = *self.rng.pick(&settable);
        let (name, ty) = t.cols[c];
        let value = match self.rng.below(5) {
            0 if ty == Int => format!("{q}.{name} + 1"),
            1 if ty == Int => format!("({})", self.scalar(&ctes, std::slice::from_ref(&target), 1)),
            2 if self.twisted() && t.owned => {
                let set = format!("tenant_id = {}", self.tenant_value());
                return self.finish_update(&with, t, &alias, &set, &target, &ctes, target_is_cte);
            }
            _ => self.literal(ty),
        };
        self.finish_update(&with, t, &alias, &format!("{name} = {value}"), &target, &ctes, target_is_cte)
    }

    #[allow(clippy::too_many_arguments)]
    fn finish_update(
        &mut self,
        with: &str,
        t: &'static Table,
        alias: &str,
        set: &str,
        target: &Src,
        ctes: &[Src],
        target_is_cte: bool,
    ) -> String {
        let mut level = Level::default();
        level.srcs.push(target.clone());
        let mut from = String::new();
        if self.rng.chance(30) {
            // UPDATE ... FROM another table, joined in the WHERE.
            let (sql, src) = self.base_table(&level, &[]);
            let cond = relation(target, &src).or_else(|| match (target.find("id"), src.find("id")) {
                (Some(a), Some(b)) => Some(format!("{} = {}", target.col(a), src.col(b))),
                _ => None,
            });
            from = format!(" FROM {sql}");
            level.srcs.push(src);
            if let Some(cond) = cond {
                level.wheres.push(cond);
            }
        }
        if !ctes.is_empty() {
            let cte = &ctes[0];
            if let (Some(id), Some(cid)) = (target.find("id"), cte.find("id")) {
                level.wheres.push(format!("{} IN (SELECT {} FROM {})", target.col(id), cte.cols[cid].name, cte.q));
            }
        }
        self.dml_confine(&mut level, target_is_cte);
        for _ in 0..self.rng.below(2) {
            let srcs = level.srcs.clone();
            let p = self.predicate(&srcs[..1], &srcs, ctes, 1);
            level.wheres.push(p);
        }
        let alias_sql = if alias.is_empty() { String::new() } else { format!(" AS {alias}") };
        let mut sql = format!("{with}UPDATE {}{alias_sql} SET {set}{from}", t.name);
        if !level.wheres.is_empty() {
            let _ = write!(sql, " WHERE {}", level.wheres.join(" AND "));
        }
        if self.rng.chance(25) {
            sql.push_str(&self.returning(t, &target.q));
        }
        sql
    }

    fn delete(&mut self) -> String {
        let t = self.writable_table();
        let (with, ctes, target_is_cte) = self.dml_ctes(t);
        let alias = if self.rng.chance(40) { self.alias(t.name) } else { String::new() };
        let q = if alias.is_empty() { t.name.to_string() } else { alias.clone() };
        let target = Src {
            q,
            table: Some(t),
            cols: t.cols.iter().map(|&(n, ty)| Col { name: n.into(), orig: n, ty }).collect(),
            owned: t.owned,
            tenant: if t.owned { Some(0) } else { None },
        };
        let mut level = Level::default();
        level.srcs.push(target.clone());
        let mut using = String::new();
        if self.rng.chance(30) {
            let (sql, src) = self.base_table(&level, &[]);
            if let Some(cond) = relation(&target, &src) {
                level.wheres.push(cond);
            }
            using = format!(" USING {sql}");
            level.srcs.push(src);
        }
        if !ctes.is_empty() {
            let cte = &ctes[0];
            if let (Some(id), Some(cid)) = (target.find("id"), cte.find("id")) {
                level.wheres.push(format!("{} IN (SELECT {} FROM {})", target.col(id), cte.cols[cid].name, cte.q));
            }
        }
        self.dml_confine(&mut level, target_is_cte);
        for _ in 0..self.rng.below(2) {
            let srcs = level.srcs.clone();
            let p = self.predicate(&srcs[..1], &srcs, &ctes, 1);
            level.wheres.push(p);
        }
        let alias_sql = if alias.is_empty() { String::new() } else { format!(" AS {alias}") };
        let mut sql = format!("{with}DELETE FROM {}{alias_sql}{using}", t.name);
        if !level.wheres.is_empty() {
            let _ = write!(sql, " WHERE {}", level.wheres.join(" AND "));
        }
        if self.rng.chance(25) {
            sql.push_str(&self.returning(t, &target.q));
        }
        sql
    }

    /// CTEs before an UPDATE or DELETE: a confined read, a data-modifying CTE, or (a
    /// twist) a CTE named like the target, which does not replace the target on
    /// PostgreSQL.
    fn dml_ctes(&mut self, t: &'static Table) -> (String, Vec<Src>, bool) {
        if !self.rng.chance(25) {
            return (String::new(), Vec::new(), false);
        }
        if t.owned && self.twisted() {
            let query = self.select(&[], &[], &Shape::Tenant, 1);
            let sql = format!("WITH {} AS ({}) ", t.name, query.sql);
            self.cte_names.push(folded(t.name));
            let src = Src { q: t.name.into(), table: None, cols: query.cols, owned: false, tenant: query.tenant };
            return (sql, vec![src], true);
        }
        if self.rng.chance(30) {
            // A data-modifying CTE whose RETURNING rows the statement reads.
            let d = *self.rng.pick(&["drafts", "notes", "jobs"]);
            let cond = if self.twisted() { "id = :id" } else { "tenant_id = :tenant AND id = :id" };
            let sql = format!("WITH gone AS (DELETE FROM {d} WHERE {cond} RETURNING tenant_id, id) ");
            self.cte_names.push("gone".into());
            let cols = vec![
                Col { name: "tenant_id".into(), orig: "tenant_id", ty: Text },
                Col { name: "id".into(), orig: "id", ty: Int },
            ];
            return (sql, vec![Src { q: "gone".into(), table: None, cols, owned: false, tenant: Some(0) }], false);
        }
        let (with, ctes) = self.ctes(&[]);
        (with, ctes, false)
    }

    /// Confines the target of an UPDATE/DELETE (in WHERE) and its FROM/USING table.
    fn dml_confine(&mut self, level: &mut Level, target_is_cte: bool) {
        if target_is_cte && self.rng.chance(70) {
            // The author believes the CTE confines the target.
            let rest = level.srcs.split_off(1);
            let mut sub = Level { srcs: rest, ..Level::default() };
            self.confine(&mut sub, &level.srcs);
            level.srcs.extend(sub.srcs);
            level.wheres.extend(sub.wheres);
            return;
        }
        let mut sub = Level { srcs: level.srcs.clone(), ..Level::default() };
        self.confine(&mut sub, &[]);
        level.wheres.extend(sub.wheres);
    }
}

/// The join condition between two sources from [`RELATIONS`], if they are related.
fn relation(left: &Src, right: &Src) -> Option<String> {
    let (lt, rt) = (left.table?, right.table?);
    for &(a, ac, b, bc) in RELATIONS {
        for (x, xt, y, yt) in [(left, lt, right, rt), (right, rt, left, lt)] {
            if xt.name == a
                && yt.name == b
                && let (Some(i), Some(j)) = (x.find(ac), y.find(bc))
            {
                return Some(format!("{} = {}", x.col(i), y.col(j)));
            }
        }
    }
    None
}

/// One level of a SELECT: its FROM items and conditions, as they are built.
#[derive(Debug, Default)]
struct Level {
    srcs: Vec<Src>,
    /// FROM text, item by item (joins carry their keyword).
    from: Vec<String>,
    /// `(source index, join)` for every joined item.
    joins: Vec<(usize, Join)>,
    /// `(source index, ON condition or USING)` for every joined item (empty: none).
    on: Vec<(usize, String)>,
    wheres: Vec<String>,
}

impl Level {
    fn render_from(&self) -> String {
        let mut sql = String::new();
        for (i, item) in self.from.iter().enumerate() {
            sql.push_str(item);
            if let Some((_, on)) = self.on.iter().find(|(j, _)| *j == i) {
                if on.starts_with("USING") {
                    let _ = write!(sql, " {on}");
                } else if !on.is_empty() {
                    let _ = write!(sql, " ON {on}");
                }
            }
        }
        sql
    }
}

/// A name as PostgreSQL folds it: quoted names keep their case, others are lower-cased.
fn folded(name: &str) -> String {
    match name.strip_prefix('"').and_then(|n| n.strip_suffix('"')) {
        Some(quoted) => quoted.to_string(),
        None => name.to_ascii_lowercase(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_case_is_a_function_of_seed_and_index() {
        assert_eq!(statement(7, 3), statement(7, 3));
        assert_ne!(statement(7, 3), statement(7, 4));
        assert_ne!(statement(7, 3), statement(8, 3));
    }

    #[test]
    fn the_model_matches_the_fixture() {
        // Every table of the model is created by schema.sql, with its columns in order.
        let schema = super::super::judge::SCHEMA_SQL;
        for t in TABLES {
            let create = format!("CREATE TABLE {} (", t.name);
            let at = schema.find(&create).unwrap_or_else(|| panic!("{} is not in schema.sql", t.name));
            let body = &schema[at + create.len()..];
            let body = &body[..body.find(");").expect("the end of the table")];
            // One column a line, or all on one line.
            let defs: Vec<&str> = if body.contains('\n') { body.lines().collect() } else { body.split(',').collect() };
            let columns: Vec<&str> = defs
                .iter()
                .filter_map(|d| d.split_whitespace().next())
                .filter(|w| !w.starts_with("--") && !["PRIMARY", "CONSTRAINT", "UNIQUE"].contains(w))
                .collect();
            let model: Vec<&str> = t.cols.iter().map(|c| c.0).collect();
            assert!(columns.starts_with(&model), "{}: schema.sql has {columns:?}, the model {model:?}", t.name);
        }
    }
}
