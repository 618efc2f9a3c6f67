//! The binder: which source a name refers to, nearest scope first.

use super::*;
use crate::schema::Ownership;

impl Checker<'_> {
    /// What an unqualified table name in FROM refers to: the nearest CTE of that name,
    /// else the base table. A name that MySQL may or may not take for a CTE's (by
    /// `lower_case_table_names`) is uncertain.
    pub(super) fn cte(&self, name: &Ident) -> CteRef {
        let mut uncertain = false;
        for scope in self.ctes.iter().rev() {
            for c in scope.iter().rev() {
                match names::compare_stored(self.backend, Kind::Relation, name, &c.name) {
                    Match::Same if !uncertain => return CteRef::Cte(c.out.clone()),
                    Match::Same | Match::Uncertain => uncertain = true,
                    Match::Different => {}
                }
            }
        }
        if uncertain { CteRef::Uncertain } else { CteRef::Base }
    }

    /// Every qualified column reference of `node` (its own clauses, not its subqueries',
    /// which are checked with their own scope) must name a table of the statement.
    pub(super) fn unresolved_references<V: Visit + ?Sized>(
        &mut self,
        node: &V,
        level: &Level<'_>,
        outer: &[&[Source]],
        ctx: &str,
    ) {
        let mut found = Vec::new();
        own_exprs(node, |e| {
            if matches!(e, Expr::CompoundIdentifier(p) if p.len() >= 2) {
                found.push(e.clone());
            }
        });
        for e in found {
            let Expr::CompoundIdentifier(parts) = &e else { continue };
            // MySQL's `@@session.x` is a variable, refused as such.
            if parts[0].quote_style.is_none() && parts[0].value.starts_with('@') {
                continue;
            }
            let bound = self.bind(&e, level, outer);
            if let Ref::At { depth, idx, .. } = bound {
                let source = source_at(level, outer, (depth, idx));
                let column = &parts[parts.len() - 1];
                if matches!(self.has_column(source, column), Has::No) {
                    self.no_such_column(&e, column, source, ctx);
                }
                continue;
            }
            if bound == Ref::Unknown {
                let qualifier = parts[..parts.len() - 1].iter().map(|p| p.value.as_str()).collect::<Vec<_>>().join(".");
                self.problem(
                    Rule::UnresolvedName,
                    format!("`{e}`{ctx} names no table of the statement: `{qualifier}` is neither a table nor an alias in scope"),
                    "qualify the column with a table or alias of the FROM, spelled as the FROM spells it (an alias hides its table's name; PostgreSQL keeps the case of quoted names)".to_string(),
                    locate(self.sql, parts[0].span),
                );
            }
        }
    }

    /// Unqualified column references of a select list, WHERE and ON conditions (`exprs`,
    /// not their subqueries) that no table in scope has: the database refuses them, and a misspelt
    /// tenant column is better named than reported as a leak. Names the select list
    /// defines (`aliases`; SQLite lets WHERE use them) and whole-row references to a
    /// table (`WHERE t IS NOT NULL` in PostgreSQL) are not columns.
    pub(super) fn unknown_columns(
        &mut self,
        exprs: &[&Expr],
        aliases: &[Ident],
        level: &Level<'_>,
        outer: &[&[Source]],
        ctx: &str,
    ) {
        let mut found = Vec::new();
        for e in exprs {
            own_exprs(*e, |e| {
                if let Expr::Identifier(id) = e {
                    found.push(id.clone());
                }
            });
        }
        for id in found {
            // SQLite takes an unknown "name" for a string; MySQL's `@x` is a variable.
            let string = self.backend == Backend::Sqlite && id.quote_style == Some('"');
            let variable = id.quote_style.is_none() && id.value.starts_with('@');
            let alias = aliases.iter().any(|a| names::compare(self.backend, Kind::Column, a, &id) != Match::Different);
            let scopes = std::iter::once(level.sources.as_slice()).chain(outer.iter().rev().copied());
            let row = scopes.flatten().any(|s| self.qualifies(s, std::slice::from_ref(&id)) != Match::Different);
            if string || variable || alias || row {
                continue;
            }
            if self.bind(&Expr::Identifier(id.clone()), level, outer) == Ref::Unknown {
                let columns: Vec<String> =
                    level.sources.iter().flat_map(|s| s.columns.iter().flatten().cloned()).collect();
                let hint = match similar(&names::stored(self.backend, &id), columns.iter().map(String::as_str)) {
                    Some(s) => format!("did you mean `{}`?", names::quoted(self.backend, &s, None)),
                    None => "correct the name, or qualify it with the table that has it".to_string(),
                };
                self.problem(
                    Rule::Unknown,
                    format!("column `{id}`{ctx} is not a column of any table in scope"),
                    hint,
                    locate(self.sql, id.span),
                );
            }
        }
    }

    /// `t.col` where `t` has no column `col`.
    fn no_such_column(&mut self, e: &Expr, column: &Ident, source: &Source, ctx: &str) {
        let columns = source.columns.iter().flatten().map(String::as_str);
        let hint = match similar(&names::stored(self.backend, column), columns) {
            Some(s) => format!("did you mean `{}`?", names::quoted(self.backend, &s, None)),
            None => format!("correct the name; `{}` has no column of that name", source.display),
        };
        let span = match e {
            Expr::CompoundIdentifier(parts) => locate(self.sql, parts[0].span.union(&column.span)),
            _ => None,
        };
        self.problem(
            Rule::Unknown,
            format!("`{e}`{ctx}: `{}` has no column `{}`", source.display, column.value),
            hint,
            span,
        );
    }

    /// The source of `level` a qualified wildcard (`i.*`) names.
    pub(super) fn qualified_source(&self, name: &ObjectName, level: &Level<'_>) -> Option<Ref> {
        let parts: Vec<Ident> = name.0.iter().filter_map(|p| p.as_ident().cloned()).collect();
        let found: Vec<usize> =
            (0..level.sources.len()).filter(|i| self.qualifies(&level.sources[*i], &parts) == Match::Same).collect();
        match found[..] {
            [idx] => Some(Ref::At { depth: 0, idx, tenant: false }),
            _ => None,
        }
    }

    /// What a base table is to the tenant (see [`crate::schema::Ownership`]), or that it is
    /// a system catalog.
    pub(super) fn relation_kind(&self, parts: &[Ident]) -> RelationKind {
        if is_catalog(self.backend, parts) {
            return RelationKind::Catalog;
        }
        let Some(last) = parts.last() else { return RelationKind::Unknown(None) };
        let shared = self.schema.shared.iter().any(|entry| {
            let declared: Vec<&str> = entry.split('.').collect();
            declared.len() == parts.len()
                && parts
                    .iter()
                    .zip(&declared)
                    .all(|(p, d)| names::compare_stored(self.backend, Kind::Relation, p, d) == Match::Same)
        });
        if shared {
            return RelationKind::Shared;
        }
        let name = names::stored(self.backend, last);
        if parts.len() > 1 {
            match &self.schema.catalog {
                // Without migrations a qualified name is tenant-owned unless declared
                // shared by that very path.
                None => return RelationKind::Owned(self.schema.tenant_column_of(self.backend, &name).to_string()),
                Some(catalog) => {
                    let qualifier = names::stored(self.backend, &parts[parts.len() - 2]);
                    let table = catalog.table(self.backend, &name);
                    let default = match self.backend {
                        Backend::Postgres => "public",
                        Backend::Sqlite => "main",
                        Backend::MySql => "",
                    };
                    let same_schema = table.is_some_and(|t| match &t.schema {
                        Some(s) => names::compare_values(self.backend, Kind::Relation, s, &qualifier) == Match::Same,
                        None => parts.len() == 2 && qualifier == default,
                    });
                    if !same_schema {
                        return RelationKind::Unknown(None);
                    }
                }
            }
        }
        match self.schema.ownership(self.backend, &name) {
            Ownership::Tenant { column } => RelationKind::Owned(column),
            Ownership::Child { links } => RelationKind::Child(links),
            Ownership::Global => RelationKind::Shared,
            Ownership::Unclassified => RelationKind::Unclassified,
            Ownership::Unknown => RelationKind::Unknown(self.similar_table(&name)),
        }
    }

    /// The catalog table closest in spelling to `name`, for a "did you mean".
    fn similar_table(&self, name: &str) -> Option<String> {
        let catalog = self.schema.catalog.as_ref()?;
        similar(name, catalog.tables.iter().map(|t| t.name.as_str()))
    }

    /// The columns of base table `name` (as stored), when the migrations say.
    pub(super) fn catalog_columns(&self, name: &str) -> Option<Vec<String>> {
        let table = self.schema.catalog.as_ref()?.table(self.backend, name)?;
        Some(table.columns.iter().map(|c| c.name.clone()).collect())
    }

    /// The tenant column as a fix should write it.
    pub(super) fn tc_sql(&self) -> String {
        names::quoted(self.backend, self.tc(), None)
    }

    /// Whether `ident` names column `column` (as stored), e.g. a table's tenant column.
    pub(super) fn is_column(&self, ident: &Ident, column: &str) -> bool {
        names::compare_stored(self.backend, Kind::Column, ident, column) == Match::Same
    }

    /// Whether `ident` may name column `column` (for refusing writes to it).
    pub(super) fn may_be_column(&self, ident: &Ident, column: &str) -> bool {
        names::compare_stored(self.backend, Kind::Column, ident, column) != Match::Different
    }

    /// Whether an assignment (`SET col = ...`, `SET (a, b) = ...`) sets `column`.
    pub(super) fn assigns(&self, target: &AssignmentTarget, column: &str) -> bool {
        self.assigned(target).any(|i| self.is_column(i, column))
    }

    /// Whether an assignment may set `column` (MySQL's case rules included).
    pub(super) fn may_assign(&self, target: &AssignmentTarget, column: &str) -> bool {
        self.assigned(target).any(|i| self.may_be_column(i, column))
    }

    /// The columns whose assignment would move a source's rows to another tenant: its
    /// tenant column (without a link), or a child's owning key columns, with their key.
    pub(super) fn owning_columns(&self, s: &Source) -> Vec<(String, Option<Link>)> {
        match &s.kind {
            SourceKind::Owned => vec![(s.tc.clone(), None)],
            SourceKind::Child(links) => {
                links.iter().flat_map(|l| l.columns.iter().map(|(c, _)| (c.clone(), Some(l.clone())))).collect()
            }
            _ => Vec::new(),
        }
    }

    pub(super) fn assigned<'t>(&self, target: &'t AssignmentTarget) -> impl Iterator<Item = &'t Ident> {
        let names: Vec<&ObjectName> = match target {
            AssignmentTarget::ColumnName(n) => vec![n],
            AssignmentTarget::Tuple(names) => names.iter().collect(),
        };
        names.into_iter().filter_map(last_ident)
    }

    /// Whether a derived source's tenant-holding output `names` include `ident`.
    pub(super) fn holds(&self, names: &[String], ident: &Ident) -> bool {
        names.iter().any(|n| names::compare_stored(self.backend, Kind::Column, ident, n) == Match::Same)
    }

    /// Whether column `column` of `s` provably holds the tenant: a confined table's tenant
    /// column, or a derived column that selects one.
    pub(super) fn holds_tenant(&self, s: &Source, column: &Ident) -> bool {
        match &s.kind {
            SourceKind::Owned => s.confined && self.is_column(column, &s.tc),
            SourceKind::Derived(cols) => self.holds(cols, column),
            _ => false,
        }
    }

    /// The sources among `ids` whose column `column` is a tenant column for a `USING
    /// (column)` join: tenant-owned tables with that tenant column not merged into another
    /// yet, and derived tables whose column of that name provably holds the tenant.
    pub(super) fn tenant_column_sources(&self, ids: &[usize], level: &Level<'_>, column: &Ident) -> Vec<usize> {
        ids.iter()
            .copied()
            .filter(|i| {
                let s = &level.sources[*i];
                match &s.kind {
                    SourceKind::Owned => !self.holds(&s.merged, column) && self.is_column(column, &s.tc),
                    SourceKind::Derived(cols) => self.holds(cols, column),
                    _ => false,
                }
            })
            .collect()
    }

    pub(super) fn seen(&mut self, name: &ObjectName) {
        if let Some(ident) = name.0.first().and_then(|p| p.as_ident()) {
            self.seen_relations.insert((ident.span.start.line, ident.span.start.column));
        }
    }

    /// The local owned source whose tenant column `e` names, if any.
    pub(super) fn owned_tenant_column(&self, e: &Expr, level: &Level<'_>) -> Option<usize> {
        match self.bind(e, level, &[]) {
            Ref::At { depth: 0, idx, tenant: true } if matches!(level.sources[idx].kind, SourceKind::Owned) => {
                Some(idx)
            }
            _ => None,
        }
    }

    /// Whether `e` provably equals the tenant: `:tenant`, or a confined tenant column.
    pub(super) fn is_anchor(&self, e: &Expr, level: &Level<'_>, outer: &[&[Source]]) -> bool {
        if self.is_tenant(e) {
            return true;
        }
        let Ref::At { depth, idx, tenant: true } = self.bind(e, level, outer) else { return false };
        let source = source_at(level, outer, (depth, idx));
        match &source.kind {
            SourceKind::Owned => source.confined,
            SourceKind::Derived(_) => true,
            _ => false,
        }
    }

    /// The row key `e` holds, as (table, column): a column of a confined base table, or a
    /// derived column that selects one. Any column of a confined row qualifies; whether it
    /// is the key a child references is the caller's question.
    pub(super) fn key_of(&self, e: &Expr, level: &Level<'_>, outer: &[&[Source]]) -> Option<(String, String)> {
        let ident = column_ident(e)?;
        let Ref::At { depth, idx, .. } = self.bind(e, level, outer) else { return None };
        let s = source_at(level, outer, (depth, idx));
        match &s.kind {
            SourceKind::Owned | SourceKind::Child(_) if s.confined && !s.renamed && !s.table.is_empty() => {
                Some((s.table.clone(), names::stored(self.backend, ident)))
            }
            SourceKind::Derived(_) => s
                .keys
                .iter()
                .find(|k| names::compare_stored(self.backend, Kind::Column, ident, &k.name) == Match::Same)
                .map(|k| (k.table.clone(), k.column.clone())),
            _ => None,
        }
    }

    /// Whether a child's `column` holding `key` (a confined row's (table, column)) ties it
    /// to its parent: `column` is one of `links`' one-column owning keys, and `key` is the
    /// parent key it references, as the database compares names.
    pub(super) fn owns(&self, links: &[Link], column: &str, key: &(String, String)) -> bool {
        links.iter().filter_map(|l| Some((l, l.single()?))).any(|(l, (c, p))| {
            names::compare_values(self.backend, Kind::Column, c, column) == Match::Same
                && names::compare_values(self.backend, Kind::Relation, &key.0, &l.parent) == Match::Same
                && names::compare_values(self.backend, Kind::Column, &key.1, p) == Match::Same
        })
    }

    /// The confined key a scalar or `IN` subquery's first column holds (see
    /// [`Checker::probe`]).
    pub(super) fn subquery_key(&mut self, q: &Query, outer: &[&[Source]]) -> Option<(String, String)> {
        self.probe(q, outer).first_key()
    }

    /// [`Checker::bind`], for callers that only need where a reference points.
    pub(super) fn resolve(&self, e: &Expr, level: &Level<'_>, outer: &[&[Source]]) -> Option<(usize, usize)> {
        match self.bind(e, level, outer) {
            Ref::At { depth, idx, .. } => Some((depth, idx)),
            _ => None,
        }
    }

    /// Resolves a column reference as the database does: the nearest scope in which a
    /// source has (or may have) the column, or whose name qualifies it. Depth 0 is
    /// `level`, depth n the n-th enclosing scope.
    pub(super) fn bind(&self, e: &Expr, level: &Level<'_>, outer: &[&[Source]]) -> Ref {
        let scopes = std::iter::once(level.sources.as_slice()).chain(outer.iter().rev().copied());
        match strip(e) {
            Expr::Identifier(id) => {
                for (depth, sources) in scopes.enumerate() {
                    let mut has = Vec::new();
                    let mut maybe = None;
                    for (i, s) in sources.iter().enumerate() {
                        match self.has_column(s, id) {
                            Has::Yes(tenant) => has.push((i, tenant)),
                            Has::Maybe => maybe = maybe.or(Some(i)),
                            Has::No => {}
                        }
                    }
                    // `USING (tenant_id)` merged some of them into one column.
                    let unmerged: Vec<(usize, bool)> =
                        has.iter().copied().filter(|(i, _)| !self.holds(&sources[*i].merged, id)).collect();
                    let has = if unmerged.len() == 1 { unmerged } else { has };
                    match (has.as_slice(), maybe) {
                        // Were the column also in a source that may have it, the database
                        // would refuse the name as ambiguous: no other meaning is possible.
                        ([(idx, tenant)], _) => return Ref::At { depth, idx: *idx, tenant: *tenant },
                        ([], None) => continue,
                        ([], Some(i)) => return Ref::Uncertain(sources[i].display.clone(), Why::Columns),
                        _ => return Ref::Ambiguous,
                    }
                }
                Ref::Unknown
            }
            Expr::CompoundIdentifier(parts) if parts.len() >= 2 => {
                let (column, qualifier) = parts.split_last().expect("two parts");
                for (depth, sources) in scopes.enumerate() {
                    let mut found = Vec::new();
                    let mut uncertain = None;
                    for (i, s) in sources.iter().enumerate() {
                        match self.qualifies(s, qualifier) {
                            Match::Same => found.push(i),
                            Match::Uncertain => uncertain = uncertain.or(Some(i)),
                            Match::Different => {}
                        }
                    }
                    match (found.as_slice(), uncertain) {
                        ([idx], None) => {
                            let tenant = matches!(self.has_column(&sources[*idx], column), Has::Yes(true));
                            return Ref::At { depth, idx: *idx, tenant };
                        }
                        ([], None) => continue,
                        ([], Some(i)) | ([_], Some(i)) => {
                            let why = if qualifier.len() > 1 { Why::Schema } else { Why::Case };
                            return Ref::Uncertain(sources[i].display.clone(), why);
                        }
                        _ => return Ref::Ambiguous,
                    }
                }
                Ref::Unknown
            }
            _ => Ref::Unknown,
        }
    }

    /// Whether `qualifier` (`i`, `invoices`, `public.invoices`) names source `s`.
    pub(super) fn qualifies(&self, s: &Source, qualifier: &[Ident]) -> Match {
        let compare = |q: &Ident, w: &String| names::compare_stored(self.backend, Kind::Relation, q, w);
        match qualifier {
            _ if s.binding.is_empty() => Match::Different,
            [one] => compare(one, &s.binding),
            // An alias hides the table's name; a derived table has no schema.
            _ if s.path.is_empty() => Match::Different,
            _ if s.path.len() == qualifier.len() => {
                qualifier.iter().zip(&s.path).fold(Match::Same, |acc, (q, w)| match (acc, compare(q, w)) {
                    (Match::Different, _) | (_, Match::Different) => Match::Different,
                    (Match::Uncertain, _) | (_, Match::Uncertain) => Match::Uncertain,
                    _ => Match::Same,
                })
            }
            // `public.invoices.tenant_id` against `FROM invoices`: whether the schema is
            // the table's depends on the search path, which tenantry does not know.
            _ => match compare(&qualifier[qualifier.len() - 1], &s.binding) {
                Match::Different => Match::Different,
                _ => Match::Uncertain,
            },
        }
    }

    /// Whether source `s` has a column `ident`, and if so whether it holds the tenant
    /// (a tenant-owned table's tenant column, or a derived column that selects it).
    fn has_column(&self, s: &Source, ident: &Ident) -> Has {
        let known = |columns: &Option<Vec<String>>| match columns {
            Some(cols) => {
                let m = cols.iter().map(|c| names::compare_stored(self.backend, Kind::Column, ident, c));
                m.fold(Has::No, |acc, m| match (acc, m) {
                    (Has::Yes(t), _) => Has::Yes(t),
                    (_, Match::Same) => Has::Yes(false),
                    (_, Match::Uncertain) => Has::Maybe,
                    (acc, Match::Different) => acc,
                })
            }
            None => Has::Maybe,
        };
        match &s.kind {
            SourceKind::Owned if self.is_column(ident, &s.tc) => Has::Yes(true),
            SourceKind::Derived(tenant) if self.holds(tenant, ident) => Has::Yes(true),
            _ => known(&s.columns),
        }
    }
}

/// Where a column reference points.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Ref {
    /// Source `idx` of the scope `depth` levels out; `tenant` when the column is its
    /// tenant column (or a derived column that holds the tenant).
    At { depth: usize, idx: usize, tenant: bool },
    /// Two sources of the nearest scope have the column: the database refuses the name.
    Ambiguous,
    /// The named source may or may not be the one meant: the reference cannot be resolved
    /// for sure, for the reason given.
    Uncertain(String, Why),
    /// No source in scope has it.
    Unknown,
}

/// Why a reference is uncertain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Why {
    /// MySQL compares table names and aliases with or without case, by server setting.
    Case,
    /// The source's columns are unknown: it may hold a column of that name.
    Columns,
    /// The schema a column is qualified with may or may not be the table's.
    Schema,
}

enum Has {
    /// The column exists; `true` when it holds the tenant.
    Yes(bool),
    Maybe,
    No,
}

/// What a base table is to the tenant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum RelationKind {
    /// Tenant-owned, with this tenant column.
    Owned(String),
    /// Owned through a parent.
    Child(Vec<Link>),
    Shared,
    Catalog,
    /// In the migrations, but nobody said whose rows it holds.
    Unclassified,
    /// Not in the migrations; the closest name there is.
    Unknown(Option<String>),
}

/// The candidate closest to `name` by edit distance, when it is close enough to be a
/// plausible misspelling.
pub(super) fn similar<'a>(name: &str, candidates: impl Iterator<Item = &'a str>) -> Option<String> {
    let distance = |a: &str, b: &str| {
        let (a, b): (Vec<char>, Vec<char>) = (a.to_lowercase().chars().collect(), b.to_lowercase().chars().collect());
        let mut row: Vec<usize> = (0..=b.len()).collect();
        for (i, ca) in a.iter().enumerate() {
            let mut prev = row[0];
            row[0] = i + 1;
            for (j, cb) in b.iter().enumerate() {
                let cur = row[j + 1];
                row[j + 1] = (prev + usize::from(ca != cb)).min(row[j] + 1).min(cur + 1);
                prev = cur;
            }
        }
        row[b.len()]
    };
    candidates
        .map(|c| (distance(name, c), c))
        .filter(|(d, c)| *d <= name.chars().count().max(c.chars().count()).div_ceil(3))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c.to_string())
}

/// What an unqualified name in FROM refers to.
pub(super) enum CteRef {
    Cte(Output),
    Base,
    Uncertain,
}
