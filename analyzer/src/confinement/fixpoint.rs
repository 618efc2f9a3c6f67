//! The fixpoint: which sources a level's conditions confine.

use super::*;

impl Checker<'_> {
    // ----- the fixpoint ------------------------------------------------------------

    /// Marks every source that some group's conditions confine, until nothing changes.
    pub(super) fn confine(&mut self, level: &mut Level<'_>, outer: &[&[Source]]) {
        self.record_tenant_predicates(level);
        // Sources confined only through another table's tenant column, each with the
        // predicate that would state its tenant explicitly (see [`Pin`]).
        let mut pins: Vec<(usize, Pin)> = Vec::new();
        loop {
            let mut changed = false;
            for g in 0..level.groups.len() {
                for c in 0..level.groups[g].conjuncts.len() {
                    match level.groups[g].conjuncts[c] {
                        Conj::Expr(e) => {
                            for (target, other) in equalities(e).into_iter().flat_map(|(a, b)| [(a, b), (b, a)]) {
                                let Some(idx) = self.owned_tenant_column(target, level) else { continue };
                                if level.sources[idx].confined || !level.groups[g].filters.contains(&idx) {
                                    continue;
                                }
                                if !self.is_anchor(other, level, outer) {
                                    continue;
                                }
                                // Every anchor comes down to `:tenant`, directly or through
                                // a confined table or a derived column that selects it.
                                if !self.is_tenant(other)
                                    && let Some(pin) = self.pin(e, target)
                                {
                                    pins.push((idx, pin));
                                }
                                self.tenant_reached = true;
                                level.sources[idx].confined = true;
                                changed = true;
                            }
                            if self.confines_child(e, g, level, outer) {
                                self.tenant_reached = true;
                                changed = true;
                            }
                        }
                        Conj::UsingEq(l, r, ref column) => {
                            for (anchor, target) in [(l, r), (r, l)] {
                                if self.holds_tenant(&level.sources[anchor], column)
                                    && !level.sources[target].confined
                                    && level.groups[g].filters.contains(&target)
                                {
                                    level.sources[target].confined = true;
                                    changed = true;
                                }
                            }
                        }
                    }
                }
            }
            if !changed {
                break;
            }
        }
        let direct = self.directly_confined(level);
        for (idx, pin) in pins {
            if !direct.contains(&idx) && !self.pins.iter().any(|p| p.at == pin.at) {
                self.pins.push(pin);
            }
        }
    }

    /// The predicate that states the tenant of the table whose tenant column `target` is,
    /// proven equal to the tenant by conjunct `e` (`p.tenant_id = i.tenant_id`, with `i`
    /// confined): `AND p.tenant_id = :tenant`, written right after `e`. Only for an
    /// equality of two plain column references, whose extent in the text is exact, so
    /// that what follows `e` is the `AND`, `)` or clause end that followed the conjunct.
    fn pin(&self, e: &Expr, target: &Expr) -> Option<Pin> {
        let Expr::BinaryOp { left, op: BinaryOperator::Eq, right } = strip_nested(e) else { return None };
        let column = |x: &Expr| matches!(x, Expr::Identifier(_) | Expr::CompoundIdentifier(_));
        if !column(left) || !column(right) {
            return None;
        }
        let (_, at) = locate(self.sql, right.span())?;
        let (start, end) = locate(self.sql, target.span())?;
        Some(Pin { at, column: self.sql[start..end].to_string() })
    }

    /// The sources of `level` that some conjunct compares directly with `:tenant`.
    fn directly_confined(&self, level: &Level<'_>) -> Vec<usize> {
        let mut direct = Vec::new();
        for g in &level.groups {
            for c in &g.conjuncts {
                let Conj::Expr(e) = c else { continue };
                for (column, value) in equalities(e).into_iter().flat_map(|(a, b)| [(a, b), (b, a)]) {
                    if let Some(idx) = self.owned_tenant_column(column, level)
                        && g.filters.contains(&idx)
                        && self.is_tenant(value)
                    {
                        direct.push(idx);
                    }
                }
            }
        }
        direct
    }

    /// Whether conjunct `e` of group `g` confines a child table of the level: its owning
    /// key equal to the key of a confined parent row (`c.page_id = p.id`, with `p`
    /// confined), to a subquery's (`c.page_id IN (SELECT id FROM pages WHERE tenant_id =
    /// :tenant)`, or `= (SELECT ...)`), or to a derived column that selects one. The
    /// parent's key is unique, so the child row has that parent, and so its tenant.
    /// Marks the child confined.
    fn confines_child(&mut self, e: &Expr, g: usize, level: &mut Level<'_>, outer: &[&[Source]]) -> bool {
        let mut candidates: Vec<(&Expr, Option<&Query>, &Expr)> = Vec::new();
        for (a, b) in equalities(e) {
            for (child, other) in [(a, b), (b, a)] {
                match strip_nested(other) {
                    Expr::Subquery(q) => candidates.push((child, Some(q), other)),
                    _ => candidates.push((child, None, other)),
                }
            }
        }
        if let Expr::In { expr, target: InTarget::Subquery(subquery), negated: false, .. } = strip_nested(e) {
            candidates.push((expr, Some(subquery), e));
        }
        if let Expr::Exists { subquery, negated: false } = strip_nested(e)
            && let Some(idx) = self.exists_confines(subquery, level, outer)
            && level.groups[g].filters.contains(&idx)
        {
            level.sources[idx].confined = true;
            return true;
        }
        for (child, subquery, other) in candidates {
            let Ref::At { depth: 0, idx, .. } = self.bind(child, level, &[]) else { continue };
            let SourceKind::Child(links) = &level.sources[idx].kind else { continue };
            if level.sources[idx].confined || !level.groups[g].filters.contains(&idx) {
                continue;
            }
            let Some(column) = column_ident(child).map(|i| names::stored(self.backend, i)) else { continue };
            let links = links.clone();
            let key = match subquery {
                Some(q) => {
                    let sources = level.sources.clone();
                    let mut chain: Vec<&[Source]> = outer.to_vec();
                    chain.push(&sources);
                    self.subquery_key(q, &chain)
                }
                None => self.key_of(other, level, outer),
            };
            if key.is_some_and(|key| self.owns(&links, &column, &key)) {
                level.sources[idx].confined = true;
                return true;
            }
        }
        false
    }

    /// The child of the level that `EXISTS (subquery)` ties by its owning key to a
    /// confined parent row (see [`Output::correlated`]).
    fn exists_confines(&mut self, subquery: &Query, level: &Level<'_>, outer: &[&[Source]]) -> Option<usize> {
        let sources = level.sources.clone();
        let mut chain: Vec<&[Source]> = outer.to_vec();
        chain.push(&sources);
        let out = self.probe(subquery, &chain);
        out.correlated.iter().find_map(|(idx, column, key)| {
            let s = &level.sources[*idx];
            let SourceKind::Child(links) = &s.kind else { return None };
            let key = (key.table.clone(), key.column.clone());
            (!s.confined && self.owns(links, column, &key)).then_some(*idx)
        })
    }

    /// Notes each `<tenant column> = :tenant` conjunct that filters its table, so that
    /// generated code can confine the statement to a set of tenants instead of one.
    pub(super) fn record_tenant_predicates(&mut self, level: &Level<'_>) {
        for g in &level.groups {
            for c in &g.conjuncts {
                let Conj::Expr(e) = c else { continue };
                let Expr::BinaryOp { left, op: BinaryOperator::Eq, right } = strip_nested(e) else { continue };
                for (column, value) in [(left, right), (right, left)] {
                    let bare_tenant = matches!(strip_nested(value), Expr::Value(v)
                        if matches!(&v.value, Value::Placeholder(p) if p.strip_prefix(':') == Some(TENANT_PLACEHOLDER)));
                    let Some(idx) = self.owned_tenant_column(column, level) else { continue };
                    if !bare_tenant || !g.filters.contains(&idx) {
                        continue;
                    }
                    let whole = locate(self.sql, strip_nested(e).span());
                    let col = locate(self.sql, column.span());
                    if let (Some((start, end)), Some((cs, ce))) = (whole, col)
                        && !self.tenant_predicates.iter().any(|p| p.start == start)
                    {
                        let column = self.sql[cs..ce].to_string();
                        self.tenant_predicates.push(crate::TenantPredicate { start, end, column });
                    }
                }
            }
        }
    }
}
