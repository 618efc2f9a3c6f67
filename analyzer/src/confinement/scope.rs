//! The binder: which source a name refers to, nearest scope first.

use super::*;

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
        struct Columns {
            depth: usize,
            found: Vec<Expr>,
        }
        impl Visitor for Columns {
            type Break = ();
            fn pre_visit_query(&mut self, _q: &Query) -> ControlFlow<()> {
                self.depth += 1;
                ControlFlow::Continue(())
            }
            fn post_visit_query(&mut self, _q: &Query) -> ControlFlow<()> {
                self.depth -= 1;
                ControlFlow::Continue(())
            }
            fn pre_visit_expr(&mut self, e: &Expr) -> ControlFlow<()> {
                if self.depth == 0 && matches!(e, Expr::CompoundIdentifier(p) if p.len() >= 2) {
                    self.found.push(e.clone());
                }
                ControlFlow::Continue(())
            }
        }
        let mut v = Columns { depth: 0, found: Vec::new() };
        let _ = node.visit(&mut v);
        for e in v.found {
            let Expr::CompoundIdentifier(parts) = &e else { continue };
            // MySQL's `@@session.x` is a variable, refused as such.
            if parts[0].quote_style.is_none() && parts[0].value.starts_with('@') {
                continue;
            }
            if self.bind(&e, level, outer) == Ref::Unknown {
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

    /// What a base table is to the tenant: owned, shared (declared so), or a catalog.
    pub(super) fn relation_kind(&self, parts: &[Ident]) -> RelationKind {
        if is_catalog(self.backend, parts) {
            return RelationKind::Catalog;
        }
        let shared = self.schema.shared.iter().any(|entry| {
            let declared: Vec<&str> = entry.split('.').collect();
            declared.len() == parts.len()
                && parts
                    .iter()
                    .zip(&declared)
                    .all(|(p, d)| names::compare_stored(self.backend, Kind::Relation, p, d) == Match::Same)
        });
        if shared { RelationKind::Shared } else { RelationKind::Owned }
    }

    /// The tenant column as a fix should write it.
    pub(super) fn tc_sql(&self) -> String {
        names::quoted(self.backend, self.tc(), None)
    }

    /// Whether `ident` names the tenant column.
    pub(super) fn is_tc(&self, ident: &Ident) -> bool {
        names::compare_stored(self.backend, Kind::Column, ident, self.tc()) == Match::Same
    }

    /// Whether `ident` may name the tenant column (for refusing writes to it).
    pub(super) fn may_be_tc(&self, ident: &Ident) -> bool {
        names::compare_stored(self.backend, Kind::Column, ident, self.tc()) != Match::Different
    }

    /// Whether an assignment (`SET col = ...`, `SET (a, b) = ...`) sets the tenant column.
    pub(super) fn assigns_tc(&self, target: &AssignmentTarget) -> bool {
        self.assigned(target).any(|i| self.is_tc(i))
    }

    /// Whether an assignment may set the tenant column (MySQL's case rules included).
    pub(super) fn may_assign_tc(&self, target: &AssignmentTarget) -> bool {
        self.assigned(target).any(|i| self.may_be_tc(i))
    }

    fn assigned<'t>(&self, target: &'t AssignmentTarget) -> impl Iterator<Item = &'t Ident> {
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

    /// Whether the tenant column of `s` provably holds the tenant.
    pub(super) fn holds_tenant(&self, s: &Source) -> bool {
        match &s.kind {
            SourceKind::Owned => s.confined,
            SourceKind::Derived(cols) => {
                cols.iter().any(|c| names::compare_values(self.backend, Kind::Column, c, self.tc()) == Match::Same)
            }
            _ => false,
        }
    }

    /// The sources among `ids` that show a tenant column to a `USING (tenant_id)` join:
    /// tenant-owned tables not merged into another yet, and derived tables whose
    /// `tenant_id` provably holds the tenant.
    pub(super) fn tenant_column_sources(&self, ids: &[usize], level: &Level<'_>) -> Vec<usize> {
        ids.iter()
            .copied()
            .filter(|i| {
                let s = &level.sources[*i];
                match &s.kind {
                    SourceKind::Owned => !s.merged,
                    SourceKind::Derived(cols) => cols
                        .iter()
                        .any(|c| names::compare_values(self.backend, Kind::Column, c, self.tc()) == Match::Same),
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
                        has.iter().copied().filter(|(i, _)| !sources[*i].merged).collect();
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
    fn qualifies(&self, s: &Source, qualifier: &[Ident]) -> Match {
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
            SourceKind::Owned if self.is_tc(ident) => Has::Yes(true),
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
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum RelationKind {
    Owned,
    Shared,
    Catalog,
}

/// What an unqualified name in FROM refers to.
pub(super) enum CteRef {
    Cte(Output),
    Base,
    Uncertain,
}
