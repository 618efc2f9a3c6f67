//! The fixpoint: which sources a level's conditions confine.

use super::*;

impl Checker<'_> {
    // ----- the fixpoint ------------------------------------------------------------

    /// Marks every source that some group's conditions confine, until nothing changes.
    pub(super) fn confine(&mut self, level: &mut Level<'_>, outer: &[&[Source]]) {
        self.record_tenant_predicates(level);
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
                                self.tenant_reached = true;
                                level.sources[idx].confined = true;
                                changed = true;
                            }
                        }
                        Conj::UsingEq(l, r) => {
                            for (anchor, target) in [(l, r), (r, l)] {
                                if self.holds_tenant(&level.sources[anchor])
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
