//! Corpus 3: seeded adversarial statements over the ownership fixture
//! ([`super::ownership`]), aimed at child tables — tables without a tenant column that
//! belong to a tenant through a NOT NULL foreign key to an owned parent.
//!
//! Each statement confines its child tables the ways the analyser accepts — joined to a
//! confined parent through the owning key, `IN`/`=`/`EXISTS` subqueries on a confined
//! parent, CTEs and derived tables carrying a confined parent's key, grandchildren through
//! their chain — and at each decision point, with the statement's twist rate, does the
//! wrong thing instead: the wrong key on either side, a key changed by arithmetic, an outer
//! join whose ON does not filter the child, NOT IN / NOT EXISTS, OR, an aggregate that
//! always yields a row, a UNION branch or a CTE that adds unconfined keys, column alias
//! lists that rename another column into the key, a CTE named like the parent. Writes:
//! child and grandchild INSERTs (the parent key from a scalar subquery, INSERT ... SELECT,
//! a data-modifying CTE), UPDATEs (also re-parenting ones), DELETEs, and upserts with and
//! without the guard on the owning key.
//!
//! A statement is a pure function of `(seed, index)` ([`statement`]).

use super::generator::{Rng, splitmix};

/// What the generator's placeholders stand for (`:tenant` is the oracle's tenant).
/// Numeric ones are ids of the fixture: `:page` 1 is acme's page, `:comment` 2 and `:job`
/// 2 acme's comment and job; `:id` 1 is a comment, reaction, attachment and step of
/// globex (and acme's page), `:other_page` 2 globex's page.
pub fn value(name: &str) -> String {
    match name {
        "other" => "globex",
        "page" => "1",
        "comment" => "2",
        "job" => "2",
        "id" => "1",
        "mine" => "2",
        "other_page" => "2",
        "other_comment" => "1",
        "k" => "theme",
        _ => "x",
    }
    .to_string()
}

/// Statement `index` of the campaign with `seed`.
pub fn statement(seed: u64, index: u64) -> String {
    let mut g = Gen { rng: Rng::new(splitmix(seed ^ splitmix(index.wrapping_add(0xC417)))), twist: 0, aliases: 0 };
    g.statement()
}

// ----- the fixture's model ---------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// Tenant-owned, with this tenant column (as written).
    Owned(&'static str),
    /// A child: its parent and the owning key's (child column, parent column) pairs.
    Child(&'static str, &'static [(&'static str, &'static str)]),
}

#[derive(Debug)]
struct Tbl {
    name: &'static str,
    kind: Kind,
    /// Its text column that statements read and write.
    text: &'static str,
    /// Its bigint columns (the first is the key, when it has one).
    ints: &'static [&'static str],
    /// The placeholder naming one of acme's rows, for `AND id = :x`.
    mine: &'static str,
}

const TABLES: &[Tbl] = &[
    Tbl { name: "workspaces", kind: Kind::Owned("id"), text: "name", ints: &[], mine: "" },
    Tbl { name: "pages", kind: Kind::Owned("tenant_id"), text: "title", ints: &["id"], mine: "page" },
    Tbl { name: "legacy_jobs", kind: Kind::Owned("\"tenantId\""), text: "state", ints: &["id"], mine: "job" },
    Tbl { name: "settings", kind: Kind::Owned("workspace_id"), text: "v", ints: &[], mine: "" },
    Tbl {
        name: "comments",
        kind: Kind::Child("pages", &[("page_id", "id")]),
        text: "body",
        ints: &["id", "page_id"],
        mine: "comment",
    },
    Tbl {
        name: "reactions",
        kind: Kind::Child("comments", &[("comment_id", "id")]),
        text: "kind",
        ints: &["id", "comment_id"],
        mine: "mine",
    },
    Tbl {
        name: "attachments",
        kind: Kind::Child("comments", &[("page_id", "page_id"), ("comment_id", "id")]),
        text: "name",
        ints: &["id", "page_id", "comment_id"],
        mine: "mine",
    },
    Tbl {
        name: "job_steps",
        kind: Kind::Child("legacy_jobs", &[("job_id", "id")]),
        text: "step",
        ints: &["id", "job_id"],
        mine: "mine",
    },
];

fn table(name: &str) -> &'static Tbl {
    TABLES.iter().find(|t| t.name == name).unwrap_or_else(|| panic!("no table {name} in the model"))
}

/// The children, and the tables with an `id` and a text column (for UNIONs).
const CHILDREN: &[&str] = &["comments", "reactions", "attachments", "job_steps"];
const WITH_ID: &[&str] = &["pages", "legacy_jobs", "comments", "reactions", "attachments", "job_steps"];

/// How a fragment's extra FROM items may be written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Style {
    /// `JOIN ... ON ...` after the table (a SELECT).
    Join,
    /// Comma-separated items, conditions in WHERE (UPDATE ... FROM, DELETE ... USING).
    Comma,
    /// No extra items: conditions only (a plain UPDATE or DELETE).
    Where,
}

/// What confines one table: CTEs, FROM items and WHERE conditions.
#[derive(Debug, Default)]
struct Frag {
    ctes: Vec<String>,
    /// `JOIN x ON ...` (with its leading space) in Join style; `pages x` in Comma style.
    items: Vec<String>,
    conds: Vec<String>,
}

impl Frag {
    fn extend(&mut self, other: Frag) {
        self.ctes.extend(other.ctes);
        self.items.extend(other.items);
        self.conds.extend(other.conds);
    }

    fn with(&self) -> String {
        if self.ctes.is_empty() { String::new() } else { format!("WITH {} ", self.ctes.join(", ")) }
    }

    fn joins(&self) -> String {
        self.items.concat()
    }

    fn where_(&self) -> String {
        if self.conds.is_empty() { String::new() } else { format!(" WHERE {}", self.conds.join(" AND ")) }
    }
}

struct Gen {
    rng: Rng,
    twist: u32,
    aliases: usize,
}

impl Gen {
    fn twisted(&mut self) -> bool {
        self.rng.chance(self.twist)
    }

    fn alias(&mut self, table: &str) -> String {
        self.aliases += 1;
        format!("{}{}", table.chars().next().unwrap_or('t'), self.aliases)
    }

    fn statement(&mut self) -> String {
        self.twist = *self.rng.pick(&[0, 0, 5, 10, 15, 25, 40]);
        match self.rng.below(100) {
            0..=39 => self.read(),
            40..=47 => self.parent_side(),
            48..=57 => self.delete(),
            58..=67 => self.update(),
            68..=72 => self.reparent(),
            73..=80 => self.insert_values(),
            81..=87 => self.insert_select(),
            88..=94 => self.upsert(),
            95..=97 => self.dm_cte(),
            _ => self.tenant_table(),
        }
    }

    fn pick_table(&mut self, names: &[&'static str]) -> &'static Tbl {
        table(names[self.rng.below(names.len())])
    }

    fn child(&mut self) -> &'static Tbl {
        self.pick_table(CHILDREN)
    }

    // ----- confinement ---------------------------------------------------------------

    /// The tenant predicate of owned table `t` under alias `a`, or a twist of it.
    fn tenant_pred(&mut self, t: &Tbl, a: &str) -> String {
        let Kind::Owned(tc) = t.kind else { unreachable!("{} is not tenant-owned", t.name) };
        let good = format!("{a}.{tc} = :tenant");
        if !self.twisted() {
            return if self.rng.chance(20) { format!(":tenant = {a}.{tc}") } else { good };
        }
        match self.rng.below(8) {
            0 => format!("{a}.{tc} = :other"),
            1 => format!("{a}.{tc} <> :tenant"),
            2 => format!("{a}.{} = :tenant", t.text),
            3 => format!("({good} OR {a}.{} = :id)", t.text),
            4 => format!("{a}.{tc} IS NOT NULL"),
            5 => format!("NOT ({a}.{tc} <> :tenant)"),
            6 => format!("{a}.{tc} IN (:tenant, :other)"),
            _ => format!("({good} OR true)"),
        }
    }

    /// `x.pc = a.cc AND ...` for the owning key, or a twist of it.
    fn link_eq(&mut self, child: &Tbl, a: &str, parent: &Tbl, x: &str) -> String {
        let Kind::Child(_, cols) = child.kind else { unreachable!() };
        let mut parts: Vec<String> = Vec::new();
        for (cc, pc) in cols.iter() {
            let (mut l, mut r) = (format!("{x}.{pc}"), format!("{a}.{cc}"));
            if self.twisted() {
                match self.rng.below(7) {
                    // The wrong column of the child, or of the parent.
                    0 => r = format!("{a}.{}", self.rng.pick(child.ints)),
                    1 => l = format!("{x}.{}", self.rng.pick(parent.ints)),
                    2 => r = format!("{a}.{cc} + 1"),
                    3 => l = format!("abs({x}.{pc} - 1)"),
                    // These keep the key: the analyser may refuse them, they do not leak.
                    4 => l = format!("CAST({x}.{pc} AS bigint)"),
                    5 => (l, r) = (format!("CAST({x}.{pc} AS text)"), format!("CAST({a}.{cc} AS text)")),
                    _ => (l, r) = (r, l),
                }
            } else if self.rng.chance(25) {
                (l, r) = (r, l);
            }
            parts.push(format!("{l} = {r}"));
        }
        if parts.len() > 1 && self.twisted() {
            // Half the composite key.
            parts.remove(self.rng.below(parts.len()));
        }
        parts.join(" AND ")
    }

    /// What confines table `t` under alias `a`, written in `style`.
    fn confine(&mut self, t: &'static Tbl, a: &str, style: Style) -> Frag {
        match t.kind {
            Kind::Owned(_) => Frag { conds: vec![self.tenant_pred(t, a)], ..Frag::default() },
            Kind::Child(..) => self.confine_child(t, a, style),
        }
    }

    /// A SELECT of `proj(x)` from the rows of `t` (alias `x`) the tenant may see, with
    /// `extra` conditions: `SELECT x.id FROM pages x WHERE x.tenant_id = :tenant`.
    fn confined_select(&mut self, t: &'static Tbl, proj: &dyn Fn(&str) -> String, extra: &[String]) -> String {
        let x = self.alias(t.name);
        let mut f = self.confine(t, &x, Style::Join);
        f.conds.extend(extra.iter().map(|e| e.replace("$", &x)));
        let with = f.with();
        format!("{with}SELECT {} FROM {} {x}{}{}", proj(&x), t.name, f.joins(), f.where_())
    }

    /// The parent keys of `child`'s owning key the tenant may use, as a SELECT whose
    /// columns are the parent columns in the key's order, or a twist of it.
    fn parent_keys(&mut self, child: &Tbl) -> String {
        let Kind::Child(parent, cols) = child.kind else { unreachable!() };
        let parent = table(parent);
        let pcols: Vec<&str> = cols.iter().map(|c| c.1).collect();
        let wrong = self.twisted();
        let proj = move |x: &str| {
            pcols
                .iter()
                .map(|c| if wrong && *c == "id" { format!("{x}.id + 1") } else { format!("{x}.{c}") })
                .collect::<Vec<_>>()
                .join(", ")
        };
        let mut sql = self.confined_select(parent, &proj, &[]);
        if self.twisted() {
            // A UNION branch that adds every parent's keys.
            let x = self.alias(parent.name);
            sql = format!("{sql} UNION SELECT {} FROM {} {x}", proj(&x), parent.name);
        } else if self.rng.chance(15) {
            // A second confined branch.
            let other = self.confined_select(parent, &proj, &[]);
            sql = format!("{sql} UNION ALL {other}");
        }
        sql
    }

    fn confine_child(&mut self, t: &'static Tbl, a: &str, style: Style) -> Frag {
        let Kind::Child(parent, cols) = t.kind else { unreachable!() };
        let parent = table(parent);
        let lhs = if cols.len() == 1 {
            format!("{a}.{}", cols[0].0)
        } else {
            format!("({})", cols.iter().map(|c| format!("{a}.{}", c.0)).collect::<Vec<_>>().join(", "))
        };
        let method = match style {
            Style::Join => self.rng.below(7),
            Style::Comma => *self.rng.pick(&[0, 1, 2, 3, 4, 1, 3]),
            Style::Where => *self.rng.pick(&[1, 2, 3, 4]),
        };
        let mut f = Frag::default();
        match method {
            // Joined to the parent, itself confined.
            0 => {
                let x = self.alias(parent.name);
                let on = self.link_eq(t, a, parent, &x);
                let pf = self.confine(parent, &x, style);
                if style == Style::Comma {
                    f.items.push(format!("{} {x}", parent.name));
                    f.conds.push(on);
                    f.extend(pf);
                } else {
                    let kind = if self.twisted() {
                        *self.rng.pick(&["LEFT JOIN", "RIGHT JOIN", "FULL JOIN"])
                    } else {
                        *self.rng.pick(&["JOIN", "INNER JOIN"])
                    };
                    // The parent's conditions in ON or in WHERE (in ON only when they
                    // name no item joined after it).
                    if pf.items.is_empty() && !pf.conds.is_empty() && self.rng.chance(40) {
                        let cond = pf.conds.join(" AND ");
                        f.items.push(format!(" {kind} {} {x} ON {on} AND {cond}", parent.name));
                        f.ctes.extend(pf.ctes);
                        f.items.extend(pf.items);
                    } else {
                        f.items.push(format!(" {kind} {} {x} ON {on}", parent.name));
                        f.extend(pf);
                    }
                }
            }
            // IN a confined parent's keys.
            1 => {
                let keys = self.parent_keys(t);
                let op = if self.twisted() { "NOT IN" } else { "IN" };
                f.conds.push(format!("{lhs} {op} ({keys})"));
            }
            // Equal to one confined parent key.
            2 if cols.len() == 1 => {
                let (cc, pc) = cols[0];
                let sub = if self.twisted() {
                    match self.rng.below(4) {
                        0 => format!("SELECT min({pc}) FROM {}", parent.name),
                        1 => self.confined_select(parent, &|_| "count(*)".to_string(), &[]),
                        2 => format!("SELECT {pc} FROM {} WHERE {pc} = :{}", parent.name, parent.mine),
                        _ => self.confined_select(parent, &|x| format!("max({x}.{pc}) + 1"), &[]),
                    }
                } else {
                    match self.rng.below(3) {
                        0 => self.confined_select(parent, &|x| format!("max({x}.{pc})"), &[]),
                        1 => {
                            let s = self.confined_select(parent, &|x| format!("{x}.{pc}"), &[]);
                            format!("{s} ORDER BY 1 LIMIT 1")
                        }
                        _ => self.confined_select(
                            parent,
                            &|x| format!("{x}.{pc}"),
                            &[format!("$.{pc} = :{}", parent.mine)],
                        ),
                    }
                };
                let op = if self.twisted() { *self.rng.pick(&["<>", ">=", "IS DISTINCT FROM"]) } else { "=" };
                f.conds.push(format!("{a}.{cc} {op} ({sub})"));
            }
            // A correlated EXISTS on the parent.
            2 | 3 => {
                let x = self.alias(parent.name);
                let on = self.link_eq(t, a, parent, &x);
                let pf = self.confine(parent, &x, Style::Join);
                let conj = if self.twisted() { " OR " } else { " AND " };
                let cond = std::iter::once(on).chain(pf.conds.iter().cloned()).collect::<Vec<_>>().join(conj);
                let select = if self.twisted() { "count(*)" } else { *self.rng.pick(&["1", "*", "NULL"]) };
                let not = if self.twisted() { "NOT " } else { "" };
                f.conds.push(format!(
                    "{not}EXISTS ({}SELECT {select} FROM {} {x}{} WHERE {cond})",
                    pf.with(),
                    parent.name,
                    pf.joins()
                ));
            }
            // A CTE carrying the confined parent's keys, under renamed columns.
            4 => {
                self.aliases += 1;
                let m = format!("m{}", self.aliases);
                let names: Vec<String> = (0..cols.len()).map(|i| format!("k{i}")).collect();
                let pcols: Vec<&str> = cols.iter().map(|c| c.1).collect();
                let (def, used) = if self.twisted() {
                    // An alias list that names another column as the key: `m(k0, j)`
                    // over `SELECT x.id, x.id + 1`, used through `j`.
                    let body = self.confined_select(
                        parent,
                        &|x| pcols.iter().map(|c| format!("{x}.{c}, {x}.{c} + 1")).collect::<Vec<_>>().join(", "),
                        &[],
                    );
                    let list: Vec<String> = (0..cols.len()).flat_map(|i| [format!("j{i}"), format!("k{i}")]).collect();
                    (format!("{m}({}) AS ({body})", list.join(", ")), names.clone())
                } else if self.rng.chance(50) {
                    let body = self.parent_keys(t);
                    (format!("{m}({}) AS ({body})", names.join(", ")), names.clone())
                } else {
                    // No alias list: the parent's own column names.
                    let body = self.confined_select(
                        parent,
                        &|x| pcols.iter().map(|c| format!("{x}.{c}")).collect::<Vec<_>>().join(", "),
                        &[],
                    );
                    (format!("{m} AS ({body})"), pcols.iter().map(|c| c.to_string()).collect())
                };
                f.ctes.push(def);
                let ccols: Vec<&str> = cols.iter().map(|c| c.0).collect();
                if style == Style::Join && self.rng.chance(50) {
                    let on = ccols
                        .iter()
                        .zip(&used)
                        .map(|(cc, k)| format!("{m}.{k} = {a}.{cc}"))
                        .collect::<Vec<_>>()
                        .join(" AND ");
                    let kind = if self.twisted() { "LEFT JOIN" } else { "JOIN" };
                    f.items.push(format!(" {kind} {m} ON {on}"));
                } else {
                    f.conds.push(format!("{lhs} IN (SELECT {} FROM {m})", used.join(", ")));
                }
            }
            // A derived table of the confined parent's keys, with an alias list.
            _ => {
                let d = self.alias("d");
                let pcols: Vec<&str> = cols.iter().map(|c| c.1).collect();
                let swap = self.twisted();
                let body = self.confined_select(
                    parent,
                    &|x| {
                        pcols
                            .iter()
                            .map(|c| if swap { format!("{x}.{c} + 1, {x}.{c}") } else { format!("{x}.{c}, {x}.{c}") })
                            .collect::<Vec<_>>()
                            .join(", ")
                    },
                    &[],
                );
                let list: Vec<String> = (0..cols.len()).flat_map(|i| [format!("k{i}"), format!("o{i}")]).collect();
                let on = cols
                    .iter()
                    .enumerate()
                    .map(|(i, (cc, _))| format!("{d}.k{i} = {a}.{cc}"))
                    .collect::<Vec<_>>()
                    .join(" AND ");
                f.items.push(format!(" JOIN ({body}) {d}({}) ON {on}", list.join(", ")));
            }
        }
        f
    }

    // ----- reads ---------------------------------------------------------------------

    /// A SELECT from a child (or an owned table) confined as above, with its output
    /// columns: `(sql, number of output columns, whether they are (id, text))`.
    fn select_from(&mut self, t: &'static Tbl, shape_id_text: bool) -> (String, usize) {
        let a = self.alias(t.name);
        let f = self.confine(t, &a, Style::Join);
        let text = t.text;
        let (cols, group, n) = if shape_id_text {
            let id = if self.rng.chance(20) { format!("CAST({a}.id AS bigint)") } else { format!("{a}.id") };
            (format!("{id}, {a}.{text}"), String::new(), 2)
        } else {
            match self.rng.below(7) {
                0 => (format!("count(*), max({a}.{text})"), String::new(), 2),
                1 if !t.ints.is_empty() => {
                    let c = t.ints[t.ints.len() - 1];
                    (format!("{a}.{c}, count(*)"), format!(" GROUP BY {a}.{c}"), 2)
                }
                2 => (format!("DISTINCT {a}.{text}"), String::new(), 1),
                3 if t.name == "comments" || t.name == "legacy_jobs" || t.name == "pages" => {
                    // A correlated subquery in the select list: the rows of its child.
                    let (child, fk) = match t.name {
                        "comments" => ("reactions", "comment_id"),
                        "pages" => ("comments", "page_id"),
                        _ => ("job_steps", "job_id"),
                    };
                    let y = self.alias(child);
                    let key = if t.name == "comments" && self.twisted() { "page_id" } else { "id" };
                    let wrong_fk = if self.twisted() { "id" } else { fk };
                    (
                        format!("{a}.id, (SELECT count(*) FROM {child} {y} WHERE {y}.{wrong_fk} = {a}.{key})"),
                        String::new(),
                        2,
                    )
                }
                _ => {
                    let mut cols: Vec<String> = t.ints.iter().map(|c| format!("{a}.{c}")).collect();
                    cols.push(format!("{a}.{text}"));
                    let n = cols.len();
                    (cols.join(", "), String::new(), n)
                }
            }
        };
        let sql = format!("{}SELECT {cols} FROM {} {a}{}{}{group}", f.with(), t.name, f.joins(), f.where_());
        (sql, n)
    }

    fn read(&mut self) -> String {
        let t = if self.rng.chance(85) { self.child() } else { self.pick_table(&["pages", "legacy_jobs"]) };
        if self.rng.chance(20) {
            // UNION of (id, text) branches, one of them maybe unconfined.
            let (first, _) = self.select_from(t, true);
            let other = self.pick_table(WITH_ID);
            let second = if self.twisted() {
                let x = self.alias(other.name);
                format!("SELECT {x}.id, {x}.{} FROM {} {x}", other.text, other.name)
            } else {
                self.select_from(other, true).0
            };
            let op = *self.rng.pick(&["UNION", "UNION ALL", "INTERSECT", "EXCEPT"]);
            return format!("({first}) {op} ({second})");
        }
        let (sql, n) = self.select_from(t, false);
        let sql = if self.rng.chance(15) {
            // Read through a derived table or a CTE.
            if self.rng.chance(50) {
                format!("SELECT * FROM ({sql}) s")
            } else {
                format!("WITH s AS ({sql}) SELECT * FROM s")
            }
        } else {
            sql
        };
        if self.rng.chance(20) {
            let order = (1..=n).map(|i| i.to_string()).collect::<Vec<_>>().join(", ");
            format!("{sql} ORDER BY {order} LIMIT 2")
        } else {
            sql
        }
    }

    /// A confined parent with its child joined in ON: `FROM pages p LEFT JOIN comments c
    /// ON c.page_id = p.id WHERE p.tenant_id = :tenant`; the child is confined by the ON
    /// only if the join does not preserve it.
    fn parent_side(&mut self) -> String {
        let t = self.child();
        let Kind::Child(parent, _) = t.kind else { unreachable!() };
        let parent = table(parent);
        let x = self.alias(parent.name);
        let pf = self.confine(parent, &x, Style::Join);
        let a = self.alias(t.name);
        let on = self.link_eq(t, &a, parent, &x);
        let kind = if self.twisted() {
            *self.rng.pick(&["RIGHT JOIN", "FULL JOIN"])
        } else {
            *self.rng.pick(&["LEFT JOIN", "JOIN", "LEFT OUTER JOIN"])
        };
        format!(
            "{}SELECT {x}.{}, {a}.id, {a}.{} FROM {} {x}{} {kind} {} {a} ON {on}{}",
            pf.with(),
            parent.text,
            t.text,
            parent.name,
            pf.joins(),
            t.name,
            pf.where_()
        )
    }

    // ----- writes --------------------------------------------------------------------

    fn returning(&mut self, t: &Tbl, a: &str) -> String {
        if self.rng.chance(35) {
            let mut cols: Vec<String> = t.ints.iter().map(|c| format!("{a}.{c}")).collect();
            cols.push(format!("{a}.{}", t.text));
            format!(" RETURNING {}", cols.join(", "))
        } else {
            String::new()
        }
    }

    /// Confines `t` (alias `a`) for UPDATE/DELETE: `(with, from items, where)`.
    fn dml_frag(&mut self, t: &'static Tbl, a: &str) -> Frag {
        let style = if self.rng.chance(30) { Style::Comma } else { Style::Where };
        let mut f = self.confine(t, a, style);
        if self.rng.chance(40) {
            f.conds.push(format!("{a}.id = :id"));
        }
        f
    }

    fn delete(&mut self) -> String {
        let t = self.child();
        let a = self.alias(t.name);
        let f = self.dml_frag(t, &a);
        let using = if f.items.is_empty() { String::new() } else { format!(" USING {}", f.items.join(", ")) };
        let ret = self.returning(t, &a);
        format!("{}DELETE FROM {} {a}{using}{}{ret}", f.with(), t.name, f.where_())
    }

    fn update(&mut self) -> String {
        let t = self.child();
        let a = self.alias(t.name);
        let f = self.dml_frag(t, &a);
        let from = if f.items.is_empty() { String::new() } else { format!(" FROM {}", f.items.join(", ")) };
        let ret = self.returning(t, &a);
        format!("{}UPDATE {} {a} SET {} = :text{from}{}{ret}", f.with(), t.name, t.text, f.where_())
    }

    /// A scalar subquery of one confined parent key for `child`'s column `cc`
    /// (referencing parent column `pc`), or a twist of it.
    fn parent_scalar(&mut self, parent: &'static Tbl, pc: &str) -> String {
        if self.twisted() {
            return match self.rng.below(6) {
                0 => format!(":{}", parent.mine),
                1 => format!(":other_{}", if parent.name == "pages" { "page" } else { "comment" }),
                2 => {
                    let s =
                        self.confined_select(parent, &|x| format!("{x}.{pc}"), &[format!("$.{pc} = :{}", parent.mine)]);
                    format!("COALESCE(({s}), :id)")
                }
                3 => {
                    let s = self.confined_select(parent, &|x| format!("max({x}.{pc})"), &[]);
                    format!("({s}) + 1")
                }
                4 => format!("(SELECT {pc} FROM {} WHERE {pc} = :id)", parent.name),
                _ => {
                    let s = self.confined_select(parent, &|_| "count(*)".into(), &[]);
                    format!("({s})")
                }
            };
        }
        let s = match self.rng.below(3) {
            0 => self.confined_select(parent, &|x| format!("max({x}.{pc})"), &[]),
            1 => {
                let s = self.confined_select(parent, &|x| format!("{x}.{pc}"), &[]);
                format!("{s} ORDER BY 1 LIMIT 1")
            }
            _ => self.confined_select(parent, &|x| format!("{x}.{pc}"), &[format!("$.{pc} = :{}", parent.mine)]),
        };
        format!("({s})")
    }

    /// `UPDATE comments SET page_id = (<a confined page>) WHERE <confined>`.
    fn reparent(&mut self) -> String {
        let t = self.pick_table(&["comments", "reactions", "job_steps"]);
        let Kind::Child(parent, cols) = t.kind else { unreachable!() };
        let parent = table(parent);
        let (cc, pc) = cols[0];
        let a = self.alias(t.name);
        let value = if self.twisted() && self.rng.chance(30) {
            format!("{a}.{cc} + 1")
        } else {
            self.parent_scalar(parent, pc)
        };
        let f = self.dml_frag(t, &a);
        let from = if f.items.is_empty() { String::new() } else { format!(" FROM {}", f.items.join(", ")) };
        let ret = self.returning(t, &a);
        format!("{}UPDATE {} {a} SET {cc} = {value}{from}{}{ret}", f.with(), t.name, f.where_())
    }

    fn insert_values(&mut self) -> String {
        let t = self.pick_table(&["comments", "reactions", "job_steps", "attachments"]);
        let Kind::Child(parent, cols) = t.kind else { unreachable!() };
        let parent = table(parent);
        let ret = if self.rng.chance(40) { format!(" RETURNING id, {}", t.text) } else { String::new() };
        if cols.len() == 2 {
            // Each column of the composite key from its own scalar subquery.
            let p = self.parent_scalar(parent, "page_id");
            let c = self.parent_scalar(parent, "id");
            return format!("INSERT INTO {} (page_id, comment_id, {}) VALUES ({p}, {c}, :text){ret}", t.name, t.text);
        }
        let (cc, pc) = cols[0];
        let v = self.parent_scalar(parent, pc);
        format!("INSERT INTO {} ({cc}, {}) VALUES ({v}, :text){ret}", t.name, t.text)
    }

    fn insert_select(&mut self) -> String {
        let t = self.pick_table(&["comments", "reactions", "job_steps", "attachments"]);
        let Kind::Child(parent, cols) = t.kind else { unreachable!() };
        let parent = table(parent);
        let x = self.alias(parent.name);
        let f = self.confine(parent, &x, Style::Join);
        let ccols: Vec<&str> = cols.iter().map(|c| c.0).collect();
        let proj: Vec<String> = cols
            .iter()
            .map(
                |(_, pc)| {
                    if self.twisted() { format!("{x}.{}", self.rng.pick(parent.ints)) } else { format!("{x}.{pc}") }
                },
            )
            .collect();
        let mut sql = format!("SELECT {}, :text FROM {} {x}{}{}", proj.join(", "), parent.name, f.joins(), f.where_());
        if self.twisted() {
            let y = self.alias(parent.name);
            let pcols: Vec<String> = cols.iter().map(|(_, pc)| format!("{y}.{pc}")).collect();
            sql = format!("{sql} UNION SELECT {}, :text FROM {} {y}", pcols.join(", "), parent.name);
        }
        // Identity values are drawn in the SELECT's order: fix it.
        let order = (1..=proj.len()).map(|i| i.to_string()).collect::<Vec<_>>().join(", ");
        let ret = if self.rng.chance(40) { format!(" RETURNING id, {}", t.text) } else { String::new() };
        format!("{}INSERT INTO {} ({}, {}) {sql} ORDER BY {order}{ret}", f.with(), t.name, ccols.join(", "), t.text)
    }

    fn upsert(&mut self) -> String {
        if self.rng.chance(10) {
            let target = if self.twisted() { "(k)" } else { "(workspace_id, k)" };
            return format!(
                "INSERT INTO settings (workspace_id, k, v) VALUES (:tenant, :k, :text) \
                 ON CONFLICT {target} DO UPDATE SET v = excluded.v"
            );
        }
        let t = self.pick_table(&["comments", "reactions", "job_steps"]);
        let Kind::Child(parent, cols) = t.kind else { unreachable!() };
        let parent = table(parent);
        let (cc, pc) = cols[0];
        let v = self.parent_scalar(parent, pc);
        let id = *self.rng.pick(&[":id", ":mine"]);
        let n = t.name;
        let text = t.text;
        let guard = format!("{n}.{cc} = excluded.{cc}");
        let action = if self.twisted() {
            match self.rng.below(6) {
                0 => format!("(id) DO UPDATE SET {text} = excluded.{text}"),
                1 => format!("(id) DO UPDATE SET {text} = excluded.{text} WHERE excluded.{cc} = excluded.{cc}"),
                2 => format!("(id) DO UPDATE SET {text} = excluded.{text} WHERE {n}.id = excluded.id"),
                3 => format!("(id) DO UPDATE SET {cc} = excluded.{cc} WHERE {guard}"),
                4 => format!("(id) DO UPDATE SET {text} = excluded.{text} WHERE {guard} OR {n}.{text} = :text"),
                _ => format!("(id) DO UPDATE SET {text} = {n}.{text} || excluded.{text}"),
            }
        } else {
            match self.rng.below(5) {
                0 if n == "comments" => "(page_id, id) DO UPDATE SET body = excluded.body".to_string(),
                1 => "(id) DO NOTHING".to_string(),
                2 => format!("(id) DO UPDATE SET {text} = excluded.{text} WHERE excluded.{cc} = {n}.{cc}"),
                _ => format!("(id) DO UPDATE SET {text} = excluded.{text} WHERE {guard}"),
            }
        };
        let ret = if self.rng.chance(40) { format!(" RETURNING id, {cc}, {text}") } else { String::new() };
        format!("INSERT INTO {n} (id, {cc}, {text}) VALUES ({id}, {v}, :text) ON CONFLICT {action}{ret}")
    }

    /// A data-modifying CTE whose RETURNING keys confine the next statement's child.
    fn dm_cte(&mut self) -> String {
        match self.rng.below(3) {
            0 => {
                // Delete confined comments, then their reactions through the CTE.
                let a = self.alias("comments");
                let f = self.confine(table("comments"), &a, Style::Where);
                let key = if self.twisted() { "page_id" } else { "id" };
                format!(
                    "WITH {}d AS (DELETE FROM comments {a}{} RETURNING {a}.{key} AS id) \
                     DELETE FROM reactions r WHERE r.comment_id IN (SELECT id FROM d) RETURNING r.id, r.kind",
                    f.ctes.iter().map(|c| format!("{c}, ")).collect::<String>(),
                    f.where_()
                )
            }
            1 => {
                // Insert a confined comment, then a reaction to it.
                let v = self.parent_scalar(table("pages"), "id");
                let key = if self.twisted() { "page_id" } else { "id" };
                format!(
                    "WITH i AS (INSERT INTO comments (page_id, body) VALUES ({v}, :text) RETURNING id, page_id) \
                     INSERT INTO reactions (comment_id, kind) SELECT {key}, :text FROM i RETURNING id, comment_id, kind"
                )
            }
            _ => {
                // Update confined rows and read what they returned.
                let t = self.child();
                let a = self.alias(t.name);
                let f = self.confine(t, &a, Style::Where);
                format!(
                    "WITH {}u AS (UPDATE {} {a} SET {} = :text{} RETURNING {a}.id) SELECT count(*) FROM u",
                    f.ctes.iter().map(|c| format!("{c}, ")).collect::<String>(),
                    t.name,
                    t.text,
                    f.where_()
                )
            }
        }
    }

    /// The tenant table and the table whose tenant column references it.
    fn tenant_table(&mut self) -> String {
        let pred = if self.twisted() { "w.name = :tenant" } else { "w.id = :tenant" };
        match self.rng.below(4) {
            0 => format!(
                "SELECT w.name, s.k, s.v FROM workspaces w JOIN settings s ON s.workspace_id = w.id WHERE {pred}"
            ),
            1 => format!("UPDATE workspaces w SET name = :text WHERE {pred}"),
            2 => {
                let p = self.tenant_pred(table("settings"), "s");
                format!("SELECT s.k, s.v FROM settings s WHERE {p}")
            }
            _ => format!(
                "SELECT p.title FROM pages p JOIN workspaces w ON w.id = p.tenant_id WHERE {pred} ORDER BY 1 LIMIT 2"
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_case_is_a_function_of_seed_and_index() {
        assert_eq!(statement(7, 3), statement(7, 3));
        assert_ne!(statement(7, 3), statement(7, 4));
    }

    #[test]
    fn the_model_matches_the_fixture() {
        let schema = super::super::ownership::OWNERSHIP_SQL;
        for t in TABLES {
            let create = format!("CREATE TABLE {} (", t.name);
            let at = schema.find(&create).unwrap_or_else(|| panic!("{} is not in ownership.sql", t.name));
            let body = &schema[at..at + schema[at..].find(");").expect("the end of the table")];
            for c in t.ints.iter().chain([&t.text]) {
                assert!(body.contains(&format!("{c} ")), "{}.{c} is not in ownership.sql", t.name);
            }
        }
    }
}
