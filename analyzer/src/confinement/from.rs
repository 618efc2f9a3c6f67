//! FROM items and joins: which sources a SELECT or DML reads, and which conditions
//! filter which of them.

use super::*;

impl Checker<'_> {
    // ----- FROM ---------------------------------------------------------------------

    pub(super) fn table_with_joins<'a>(
        &mut self,
        level: &mut Level<'a>,
        twj: &'a TableWithJoins,
        outer: &[&[Source]],
        ctx: &str,
        clause: &'static str,
    ) -> Vec<usize> {
        let mut left = self.table_factor(level, &twj.relation, outer, ctx, clause);
        for join in &twj.joins {
            let (clause, constraint, filters) = match &join.join_operator {
                JoinOperator::Join(c) | JoinOperator::Inner(c) => ("JOIN", c, Filters::Both),
                JoinOperator::CrossJoin(c) => ("CROSS JOIN", c, Filters::Both),
                JoinOperator::StraightJoin(c) => ("STRAIGHT_JOIN", c, Filters::Both),
                JoinOperator::Left(c) | JoinOperator::LeftOuter(c) => ("LEFT JOIN", c, Filters::Right),
                JoinOperator::Right(c) | JoinOperator::RightOuter(c) => ("RIGHT JOIN", c, Filters::Left),
                JoinOperator::FullOuter(c) => ("FULL JOIN", c, Filters::Neither),
                JoinOperator::Semi(c)
                | JoinOperator::LeftSemi(c)
                | JoinOperator::RightSemi(c)
                | JoinOperator::Anti(c)
                | JoinOperator::LeftAnti(c)
                | JoinOperator::RightAnti(c) => ("SEMI/ANTI JOIN", c, Filters::Neither),
                JoinOperator::AsOf { constraint, .. } => ("ASOF JOIN", constraint, Filters::Neither),
                JoinOperator::CrossApply => ("CROSS APPLY", &JoinConstraint::None, Filters::Both),
                JoinOperator::OuterApply => ("OUTER APPLY", &JoinConstraint::None, Filters::Right),
                JoinOperator::ArrayJoin | JoinOperator::LeftArrayJoin | JoinOperator::InnerArrayJoin => {
                    ("ARRAY JOIN", &JoinConstraint::None, Filters::Neither)
                }
            };
            let right = self.table_factor(level, &join.relation, outer, ctx, clause);
            let filtered: Vec<usize> = match filters {
                Filters::Both => left.iter().chain(&right).copied().collect(),
                Filters::Right => right.clone(),
                Filters::Left => left.clone(),
                Filters::Neither => Vec::new(),
            };
            match constraint {
                JoinConstraint::On(on) => {
                    level.exprs.push((on, format!("the {clause} ON")));
                    level.groups.push(Group {
                        conjuncts: conjuncts(on).into_iter().map(Conj::Expr).collect(),
                        filters: filtered,
                        whole: Some(on),
                        clause,
                        join_sources: right.clone(),
                    });
                }
                JoinConstraint::Using(columns) if columns.iter().any(|c| same_name(&last_part(c), self.tc())) => {
                    // The sides' tenant columns are equal. Each side shows one tenant column
                    // to the join (a source already merged into another shows none).
                    let (l, r) = (self.tenant_column_sources(&left, level), self.tenant_column_sources(&right, level));
                    let mut conj = Vec::new();
                    if let [l] = l[..] {
                        conj.extend(r.iter().map(|r| Conj::UsingEq(l, *r)));
                        // In an inner or left join, the merged column is the left side's
                        // value (right and full joins coalesce the sides, so it is neither).
                        if matches!(filters, Filters::Both | Filters::Right) {
                            for r in r {
                                level.sources[r].merged = true;
                            }
                        }
                    }
                    level.groups.push(Group {
                        conjuncts: conj,
                        filters: filtered,
                        whole: None,
                        clause,
                        join_sources: right.clone(),
                    });
                }
                _ => level.groups.push(Group {
                    conjuncts: Vec::new(),
                    filters: Vec::new(),
                    whole: None,
                    clause,
                    join_sources: right.clone(),
                }),
            }
            left.extend(right);
        }
        left
    }

    pub(super) fn table_factor<'a>(
        &mut self,
        level: &mut Level<'a>,
        factor: &'a TableFactor,
        outer: &[&[Source]],
        ctx: &str,
        clause: &'static str,
    ) -> Vec<usize> {
        let idx = level.sources.len();
        match factor {
            TableFactor::Table { name, alias, args, .. } => {
                self.seen(name);
                let table = last_part(name);
                let binding = alias.as_ref().map(|a| a.name.value.to_ascii_lowercase()).unwrap_or(table.clone());
                let display = match alias {
                    Some(a) => format!("{} {}", unquoted(name), a.name.value),
                    None => unquoted(name),
                };
                let span = name.0.last().and_then(|p| p.as_ident()).and_then(|i| locate(self.sql, i.span));
                let kind = if args.is_some() {
                    if let Some(args) = args {
                        let what = format!("table function `{table}`");
                        level.exprs.extend(args.args.iter().flat_map(function_arg_exprs).map(|e| (e, what.clone())));
                    }
                    self.table_function(name, ctx, span)
                } else if name.0.len() == 1
                    && let Some(cols) = self.cte_columns(&table)
                {
                    SourceKind::Derived(cols)
                } else if self.schema.is_shared(&table) {
                    SourceKind::Shared
                } else {
                    SourceKind::Owned
                };
                level.sources.push(Source { binding, display, clause, kind, span, confined: false, merged: false });
            }
            TableFactor::Derived { lateral, subquery, alias, .. } => {
                let binding = alias.as_ref().map(|a| a.name.value.to_ascii_lowercase()).unwrap_or_default();
                let display = alias.as_ref().map(|a| a.name.value.clone()).unwrap_or_else(|| "(subquery)".into());
                let kind = if *lateral {
                    level.lateral.push((idx, subquery));
                    SourceKind::Derived(Vec::new())
                } else {
                    let out = self.query(subquery, outer, &format!(" in derived table `{display}`{ctx}"));
                    SourceKind::Derived(renamed(out, alias.as_ref().map(|a| a.columns.as_slice()).unwrap_or(&[])))
                };
                let span = locate(self.sql, subquery.span());
                level.sources.push(Source { binding, display, clause, kind, span, confined: true, merged: false });
            }
            TableFactor::Function { name, args, alias, .. } => {
                let table = last_part(name);
                let what = format!("table function `{table}`");
                level.exprs.extend(args.iter().flat_map(function_arg_exprs).map(|e| (e, what.clone())));
                let span = locate(self.sql, name.span());
                let kind = self.table_function(name, ctx, span);
                let binding = alias.as_ref().map(|a| a.name.value.to_ascii_lowercase()).unwrap_or(table.clone());
                level.sources.push(Source {
                    binding,
                    display: table,
                    clause,
                    kind,
                    span,
                    confined: true,
                    merged: false,
                });
            }
            TableFactor::UNNEST { alias, array_exprs, .. } => {
                level.exprs.extend(array_exprs.iter().map(|e| (e, "UNNEST".to_string())));
                let binding = alias.as_ref().map(|a| a.name.value.to_ascii_lowercase()).unwrap_or_default();
                level.sources.push(Source {
                    binding,
                    display: "UNNEST(...)".into(),
                    clause,
                    kind: SourceKind::Function,
                    span: None,
                    confined: true,
                    merged: false,
                });
            }
            TableFactor::NestedJoin { table_with_joins, .. } => {
                return self.table_with_joins(level, table_with_joins, outer, ctx, clause);
            }
            other => {
                self.problem(
                    format!("`{other}`{ctx} is a FROM item tenantry cannot check for confinement"),
                    "use plain tables, subqueries and joins".to_string(),
                    locate(self.sql, other.span()),
                );
                return Vec::new();
            }
        }
        vec![idx]
    }

    pub(super) fn table_function(
        &mut self,
        function: &ObjectName,
        ctx: &str,
        span: Option<(usize, usize)>,
    ) -> SourceKind {
        let name = last_part(function);
        // A function of that name in another schema is the user's own, and may read anything.
        let builtin = match function.0.as_slice() {
            [_] => true,
            [schema, _] => schema.as_ident().is_some_and(|s| same_name(&s.value, "pg_catalog")),
            _ => false,
        };
        if builtin && PURE_TABLE_FUNCTIONS.iter().any(|f| same_name(f, &name)) {
            SourceKind::Function
        } else {
            self.problem(
                format!("table function `{}`{ctx} may read any tenant's rows and cannot be checked", unquoted(function)),
                format!("select from the tables themselves, confined with `{} = :tenant`, or move the call to an `#[unscoped(reason = \"...\")]` method", self.tc()),
                span,
            );
            SourceKind::Function
        }
    }
}
