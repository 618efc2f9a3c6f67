//! The binder: which source a name refers to, nearest scope first.

use super::*;

impl Checker<'_> {
    pub(super) fn cte_columns(&self, name: &str) -> Option<Vec<String>> {
        self.ctes
            .iter()
            .rev()
            .flat_map(|scope| scope.iter().rev())
            .find(|c| same_name(&c.name, name))
            .map(|c| c.tenant_columns.clone())
    }

    /// Whether the tenant column of `s` provably holds the tenant.
    pub(super) fn holds_tenant(&self, s: &Source) -> bool {
        match &s.kind {
            SourceKind::Owned => s.confined,
            SourceKind::Derived(cols) => cols.iter().any(|c| same_name(c, self.tc())),
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
                    SourceKind::Derived(cols) => cols.iter().any(|c| same_name(c, self.tc())),
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
        match self.resolve(e, level, &[])? {
            (0, idx) if matches!(level.sources[idx].kind, SourceKind::Owned) => Some(idx),
            _ => None,
        }
    }

    /// Whether `e` provably equals the tenant: `:tenant`, or a confined tenant column.
    pub(super) fn is_anchor(&self, e: &Expr, level: &Level<'_>, outer: &[&[Source]]) -> bool {
        if self.is_tenant(e) {
            return true;
        }
        let Some(at) = self.resolve(e, level, outer) else { return false };
        let source = source_at(level, outer, at);
        let col = column_name(e).unwrap_or_default();
        match &source.kind {
            SourceKind::Owned => source.confined && same_name(&col, self.tc()),
            SourceKind::Derived(cols) => cols.iter().any(|c| same_name(c, &col)),
            _ => false,
        }
    }

    /// Resolves a column reference to (depth, source index): depth 0 is `level`, depth
    /// n is the n-th enclosing scope. Only references that can be a tenant column
    /// resolve; an ambiguous unqualified name resolves to nothing.
    pub(super) fn resolve(&self, e: &Expr, level: &Level<'_>, outer: &[&[Source]]) -> Option<(usize, usize)> {
        let e = strip(e);
        let scopes = std::iter::once(level.sources.as_slice()).chain(outer.iter().rev().copied());
        match e {
            Expr::Identifier(id) => {
                let col = id.value.to_ascii_lowercase();
                for (depth, sources) in scopes.enumerate() {
                    let has: Vec<usize> = sources
                        .iter()
                        .enumerate()
                        .filter(|(_, s)| match &s.kind {
                            SourceKind::Owned => same_name(&col, self.tc()),
                            SourceKind::Derived(cols) => cols.iter().any(|c| same_name(c, &col)),
                            _ => false,
                        })
                        .map(|(i, _)| i)
                        .collect();
                    // `USING (tenant_id)` merged some of them into one column.
                    let unmerged: Vec<usize> = has.iter().copied().filter(|i| !sources[*i].merged).collect();
                    let has = if unmerged.len() == 1 { unmerged } else { has };
                    match has.as_slice() {
                        [one] => return Some((depth, *one)),
                        [] => continue,
                        _ => return None,
                    }
                }
                None
            }
            Expr::CompoundIdentifier(parts) if parts.len() >= 2 => {
                let qualifier = parts[parts.len() - 2].value.to_ascii_lowercase();
                for (depth, sources) in scopes.enumerate() {
                    if let Some(i) = sources.iter().position(|s| same_name(&s.binding, &qualifier)) {
                        return Some((depth, i));
                    }
                }
                None
            }
            _ => None,
        }
    }
}
