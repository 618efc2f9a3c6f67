//! What the user reads: why a table is not confined, and the fix.

use super::*;

impl Checker<'_> {
    pub(super) fn report_unconfined(&mut self, level: &Level<'_>, outer: &[&[Source]], ctx: &str, has_where: bool) {
        let multi = level.sources.len() > 1;
        for (idx, s) in level.sources.iter().enumerate() {
            if let (SourceKind::Child(links), false) = (&s.kind, s.confined) {
                self.report_unconfined_child(level, idx, links, ctx, has_where);
                continue;
            }
            if s.confined || !matches!(s.kind, SourceKind::Owned) {
                continue;
            }
            // The nearest confined table, here or in an enclosing query, to tie this one to.
            let local_anchor = level.sources.iter().any(|o| o.confined && matches!(o.kind, SourceKind::Owned));
            let anchor = std::iter::once(&level.sources[..])
                .chain(outer.iter().rev().copied())
                .flat_map(|sources| sources.iter())
                .find(|o| {
                    o.confined && matches!(o.kind, SourceKind::Owned) && !o.binding.is_empty() && o.binding != s.binding
                })
                .map(|o| self.column_of(o));
            // Qualify the column when a bare name could be read as another table's: several
            // tables here, an alias, or a tie to an enclosing query's table. (Inside a
            // subquery a bare name means the subquery's own table.)
            let qualified = multi || s.display.contains(' ') || (anchor.is_some() && !local_anchor && has_where);
            let column = if qualified { self.column_of(s) } else { names::quoted(self.backend, &s.tc, None) };
            let (hint, culprit) = self.hint(level, idx, outer);
            let of_ctx = ctx.strip_prefix(" in ").unwrap_or(ctx);
            let add = match &anchor {
                Some(a) => format!("`AND {column} = {a}` (or `AND {column} = :tenant`)"),
                None => format!("`AND {column} = :tenant`"),
            };
            let own_join = level.groups.iter().find(|g| g.join_sources.contains(&idx) && g.filters.contains(&idx));
            let fix = match own_join {
                Some(g) if g.whole.is_some() => match &anchor {
                    Some(a) => format!(
                        "add `AND {column} = {a}` (or `AND {column} = :tenant`) to the {} ON of `{}`",
                        g.clause, s.display
                    ),
                    None => format!("add `AND {column} = :tenant` to the {} ON of `{}`", g.clause, s.display),
                },
                Some(g) => format!("write `{} {} ON ... AND {column} = :tenant`", g.clause, s.display),
                None if has_where && of_ctx.is_empty() => format!("add {add} to the WHERE clause"),
                None if has_where => format!("add {add} to the WHERE clause of {of_ctx}"),
                None if of_ctx.is_empty() => format!("add `WHERE {column} = :tenant`"),
                None => format!("add `WHERE {column} = :tenant` to {of_ctx}"),
            };
            let full_join = s.clause == "FULL JOIN";
            let fix = if full_join {
                format!("{fix}; a FULL JOIN keeps unmatched rows of both sides, so confine both sides in WHERE")
            } else {
                fix
            };
            let place = match own_join {
                Some(g)
                    if culprit.is_some_and(|c| {
                        g.conjuncts.iter().any(|x| matches!(x, Conj::Expr(e) if std::ptr::eq(*e, c)))
                    }) =>
                {
                    format!("{} ON of `{}`", g.clause, s.display)
                }
                _ => "WHERE clause".to_string(),
            };
            let corrected =
                culprit.and_then(|c| self.correct(c, s, &column, anchor.as_deref(), &place).map(|f| (f, c)));
            let (fix, span) = match corrected {
                Some((f, c)) => (f, locate(self.sql, c.span()).or(s.span)),
                None => (fix, s.span),
            };
            let clause = if of_ctx.is_empty() { s.clause.to_string() } else { format!("{} of {of_ctx}", s.clause) };
            self.problem(
                Rule::Unconfined,
                format!("table `{}` in {clause} is not confined to the tenant{hint}", s.display),
                fix,
                span,
            );
        }
    }

    /// A child table that no condition ties to a confined parent row: the fix adds its
    /// owning key's confinement as a subquery on the parent, which keeps the statement's
    /// meaning and needs nothing else of it.
    fn report_unconfined_child(&mut self, level: &Level<'_>, idx: usize, links: &[Link], ctx: &str, has_where: bool) {
        let s = &level.sources[idx];
        let of_ctx = ctx.strip_prefix(" in ").unwrap_or(ctx);
        let clause = if of_ctx.is_empty() { s.clause.to_string() } else { format!("{} of {of_ctx}", s.clause) };
        let single = links.iter().find_map(|l| l.single().map(|(c, p)| (l, c, p)));
        let Some((link, c, p)) = single else {
            self.problem(Rule::Unconfined,
                format!("table `{}` in {clause} is not confined to the tenant: it belongs to a tenant only through a foreign key of several columns, which tenantry does not follow", s.display),
                format!("add the tenant column to `{}` (with a foreign key that includes it)", s.display),
                s.span,
            );
            return;
        };
        let q = |n: &str| names::quoted(self.backend, n, None);
        let qualified = level.sources.len() > 1 || s.display.contains(' ');
        let column = if qualified { format!("{}.{}", q(&s.binding), q(c)) } else { q(c) };
        let condition = format!(
            "{column} IN (SELECT {} FROM {} WHERE {})",
            q(p),
            q(&link.parent),
            self.confining_condition(&link.parent, 0)
        );
        let own_join = level.groups.iter().find(|g| g.join_sources.contains(&idx) && g.filters.contains(&idx));
        let fix = match own_join {
            Some(g) if g.whole.is_some() => format!("add `AND {condition}` to the {} ON of `{}`", g.clause, s.display),
            Some(g) => format!("write `{} {} ON {condition}`", g.clause, s.display),
            None if has_where && of_ctx.is_empty() => format!("add `AND {condition}` to the WHERE clause"),
            None if has_where => format!("add `AND {condition}` to the WHERE clause of {of_ctx}"),
            None if of_ctx.is_empty() => format!("add `WHERE {condition}`"),
            None => format!("add `WHERE {condition}` to {of_ctx}"),
        };
        self.problem(Rule::Unconfined,
            format!(
                "table `{}` in {clause} is not confined to the tenant: its rows belong to a tenant through `{}` → `{}.{}`, and no condition ties `{}` to a `{}` row of the tenant",
                s.display, q(c), q(&link.parent), q(p), q(c), q(&link.parent)
            ),
            format!("{fix} (or join `{}` on that key and confine it)", q(&link.parent)),
            s.span,
        );
    }

    /// Explains why the conditions that mention a source's tenant column do not count,
    /// and returns the culprit when it is a condition that filters the table (the fix is
    /// then to correct it, not to add another).
    pub(super) fn hint<'e>(&self, level: &'e Level<'_>, idx: usize, outer: &[&[Source]]) -> (String, Option<&'e Expr>) {
        let s = &level.sources[idx];
        let multi = level.sources.len() > 1;
        // A condition that filters the table but does not confine it is the likelier
        // mistake; one in an ON that does not filter it comes second.
        let (filtering, other): (Vec<&Group<'_>>, Vec<&Group<'_>>) =
            level.groups.iter().partition(|g| g.filters.contains(&idx));
        for g in filtering.into_iter().chain(other) {
            for c in &g.conjuncts {
                let Conj::Expr(e) = c else { continue };
                if !mentions_tenant_column(e, &s.binding, &s.tc, multi) {
                    continue;
                }
                let text = truncate(&e.to_string());
                if !g.filters.contains(&idx) {
                    let hint =
                        format!(": `{text}` is in the ON of a {}, which does not filter `{}`", g.clause, s.display);
                    return (hint, None);
                }
                return (format!(": {}", self.describe(e, level, outer)), Some(*e));
            }
        }
        // `:tenant` compared with a column that resolves to this table but is not its
        // tenant column (`i.customer = :tenant`).
        for g in level.groups.iter().filter(|g| g.filters.contains(&idx)) {
            for c in &g.conjuncts {
                let Conj::Expr(e) = c else { continue };
                for (a, b) in equalities(e) {
                    for (column, value) in [(a, b), (b, a)] {
                        if self.is_tenant(value)
                            && self.bind(column, level, &[]) == (Ref::At { depth: 0, idx, tenant: false })
                        {
                            let text = truncate(&e.to_string());
                            return (
                                format!(
                                    ": `{text}` compares `:tenant` with `{column}`, which is not its tenant column `{}`",
                                    names::quoted(self.backend, &s.tc, None)
                                ),
                                None,
                            );
                        }
                    }
                }
            }
        }
        (String::new(), None)
    }

    /// The fix for a condition that mentions the tenant column but does not confine:
    /// correct it in place. `None` when the condition is sound and something else is
    /// missing (an equality to another table's tenant column: that table needs confining).
    ///
    /// A fix, applied literally, keeps a subset of what the statement meant: an OR gets
    /// the tenant predicate beside it, never inside; a condition that says more than
    /// which tenant (other columns, a subquery) is kept and the predicate added; only a
    /// condition on the tenant column alone is replaced.
    pub(super) fn correct(
        &self,
        culprit: &Expr,
        s: &Source,
        column: &str,
        anchor: Option<&str>,
        place: &str,
    ) -> Option<String> {
        // sqlparser's spans do not always cover a whole expression (`x IS NULL` ends at
        // `x`); its rendering is the same expression.
        let text = culprit.to_string();
        let is_column = |x: &Expr| matches!(strip_nested(x), Expr::Identifier(_) | Expr::CompoundIdentifier(_));
        if let Expr::BinaryOp { op: BinaryOperator::Or, .. } = strip_nested(culprit) {
            let condition = if text.chars().count() <= 80 { format!("({text})") } else { "(...)".to_string() };
            return Some(format!("confine outside the OR in the {place}: write `{column} = :tenant AND {condition}`"));
        }
        let pairs = equalities(culprit);
        if !pairs.is_empty() && pairs.iter().all(|(a, b)| is_column(a) && is_column(b)) {
            return None;
        }
        if !self.only_tenant_column(culprit, s) {
            let with = match anchor {
                Some(a) => format!("`AND {column} = {a}` (or `AND {column} = :tenant`)"),
                None => format!("`AND {column} = :tenant`"),
            };
            return Some(format!("keep the condition and add {with} to the {place}"));
        }
        let text = truncate(&text);
        let other_placeholder = pairs.iter().find_map(|(a, b)| {
            [*a, *b].into_iter().find_map(|x| match strip(x) {
                Expr::Value(v) => match &v.value {
                    Value::Placeholder(p) => {
                        p.strip_prefix(':').filter(|n| *n != TENANT_PLACEHOLDER).map(str::to_string)
                    }
                    _ => None,
                },
                _ => None,
            })
        });
        let with = match anchor {
            Some(a) => format!("`{column} = {a}` (or `{column} = :tenant`)"),
            None => format!("`{column} = :tenant`"),
        };
        Some(match other_placeholder {
            Some(arg) => format!(
                "replace `{text}` with {with} and remove the argument `{arg}`: the tenant comes from the scope guard, never from the caller"
            ),
            None => format!("replace `{text}` with {with}"),
        })
    }

    /// `binding.tenant_column` of a tenant-owned source, quoted as the database needs.
    pub(super) fn column_of(&self, s: &Source) -> String {
        format!("{}.{}", names::quoted(self.backend, &s.binding, None), names::quoted(self.backend, &s.tc, None))
    }

    /// Whether a condition reads nothing but the tenant column of `s` (and values): then
    /// replacing it with the tenant predicate keeps the rest of the statement's meaning.
    fn only_tenant_column(&self, e: &Expr, s: &Source) -> bool {
        struct Columns<'a, 'c> {
            checker: &'a Checker<'c>,
            source: &'a Source,
            other: bool,
        }
        impl Visitor for Columns<'_, '_> {
            type Break = ();
            fn pre_visit_expr(&mut self, e: &Expr) -> ControlFlow<()> {
                let tenant = match e {
                    Expr::Identifier(id) => Some(self.checker.is_column(id, &self.source.tc)),
                    Expr::CompoundIdentifier(p) if p.len() == 2 => Some(
                        self.checker.is_column(&p[1], &self.source.tc)
                            && names::compare_stored(self.checker.backend, Kind::Relation, &p[0], &self.source.binding)
                                == Match::Same,
                    ),
                    Expr::CompoundIdentifier(_) => Some(false),
                    _ => None,
                };
                if tenant == Some(false) {
                    self.other = true;
                    return ControlFlow::Break(());
                }
                ControlFlow::Continue(())
            }
            fn pre_visit_query(&mut self, _q: &Query) -> ControlFlow<()> {
                self.other = true;
                ControlFlow::Break(())
            }
        }
        let mut v = Columns { checker: self, source: s, other: false };
        let _ = e.visit(&mut v);
        !v.other
    }

    /// Why a column reference compared with `:tenant` resolves to no tenant column for
    /// sure, when that is the reason.
    fn unresolved(&self, column: &Expr, level: &Level<'_>, outer: &[&[Source]]) -> Option<String> {
        if !matches!(strip(column), Expr::Identifier(_) | Expr::CompoundIdentifier(_)) {
            return None;
        }
        match self.bind(column, level, outer) {
            Ref::Uncertain(d, Why::Case) => Some(format!(
                "may or may not name `{d}`: MySQL compares table names and aliases with or without case by the server's `lower_case_table_names`; write the name exactly as FROM does"
            )),
            Ref::Uncertain(d, Why::Columns) => Some(format!(
                "may name a column of `{d}`, whose columns tenantry does not know; qualify it with the table it belongs to"
            )),
            Ref::Uncertain(d, Why::Schema) => Some(format!(
                "may or may not name `{d}`: which schema a table is found in depends on the search path; qualify the column as FROM names the table"
            )),
            Ref::Ambiguous => Some("names a column several tables of the FROM have: qualify it".to_string()),
            Ref::Unknown => Some("names no table of the statement (PostgreSQL keeps the case of quoted names, and an alias hides its table's name)".to_string()),
            Ref::At { .. } => None,
        }
    }

    pub(super) fn describe(&self, e: &Expr, level: &Level<'_>, outer: &[&[Source]]) -> String {
        let text = truncate(&e.to_string());
        let tc = self.tc();
        match strip(e) {
            Expr::BinaryOp { op: BinaryOperator::Or, .. } => {
                format!("`{text}` is under OR, so rows of other tenants can match the other branch")
            }
            Expr::BinaryOp { left, op: BinaryOperator::Eq, right }
                if let Some(why) = [(left, right), (right, left)]
                    .into_iter()
                    .find(|(_, v)| self.is_tenant(v))
                    .and_then(|(c, _)| self.unresolved(c, level, outer)) =>
            {
                format!("`{text}` {why}")
            }
            Expr::BinaryOp { left, op: BinaryOperator::Eq, right } => {
                let (l, r) = (strip(left), strip(right));
                if let (Expr::Tuple(ls), Expr::Tuple(rs)) = (l, r)
                    && let Some((a, b)) =
                        ls.iter().zip(rs).find(|(a, b)| mentions_column(a, tc) || mentions_column(b, tc))
                {
                    // A row-value equality confines pair by pair: explain the tenant's pair.
                    let pair = Expr::BinaryOp {
                        left: Box::new(a.clone()),
                        op: BinaryOperator::Eq,
                        right: Box::new(b.clone()),
                    };
                    return self.describe(&pair, level, outer);
                }
                let is_column = |x: &Expr| matches!(x, Expr::Identifier(_) | Expr::CompoundIdentifier(_));
                let lossy_cast = [left, right].into_iter().map(|x| strip_nested(x)).find(|x| {
                    matches!(x, Expr::Cast { expr, .. } if is_placeholder(strip(expr))) && !self.is_tenant(x)
                });
                if l == r {
                    format!("`{text}` compares the column with itself and is always true")
                } else if let Some(Expr::Cast { data_type, .. }) = lossy_cast {
                    format!(
                        "`{text}` casts the placeholder to `{data_type}`, which can change the value (shorten it, round it or parse a number out of it) and so match another tenant's id"
                    )
                } else if let Some(Expr::Collate { collation, .. }) =
                    [l, r].into_iter().find(|x| matches!(x, Expr::Collate { .. }))
                {
                    format!(
                        "`{text}` compares under collation `{collation}`, which can match another tenant's id (ignoring case, accents or padding)"
                    )
                } else if matches!(l, Expr::Subquery(_)) || matches!(r, Expr::Subquery(_)) {
                    format!(
                        "`{text}` compares the tenant column with a subquery's result; only `:tenant` or the tenant column of a confined table confines"
                    )
                } else if let Some(wrapped) = [l, r].into_iter().find(|x| !is_column(x) && mentions_column(x, tc)) {
                    let around = match wrapped {
                        Expr::Function(f) => format!("`{}(...)`", f.name),
                        Expr::Cast { .. } => "a cast".to_string(),
                        _ => "an expression".to_string(),
                    };
                    format!(
                        "`{text}` wraps the tenant column in {around}; only the bare column, compared with `:tenant` or a confined tenant column, confines"
                    )
                } else if [l, r]
                    .into_iter()
                    .any(|x| is_literal(x) && x.to_string().contains(&format!(":{TENANT_PLACEHOLDER}")))
                {
                    format!("`{text}` compares with a string literal, not the placeholder: `:tenant` in quotes is text")
                } else if is_placeholder(l) || is_placeholder(r) || is_literal(l) || is_literal(r) {
                    format!(
                        "`{text}` compares the tenant column with a value other than `:tenant`; the tenant must come from the scope guard"
                    )
                } else if let (Some(a), Some(b)) = (self.resolve(l, level, outer), self.resolve(r, level, outer)) {
                    if a == b {
                        // `tenant_id = invoices.tenant_id` inside a subquery that reads
                        // `invoices` again: the inner table shadows the outer one.
                        let s = source_at(level, outer, a);
                        return format!(
                            "`{text}` compares the tenant column of `{}` with itself and is always true",
                            s.display
                        );
                    }
                    let derived = [(l, a), (r, b)].into_iter().find_map(|(x, at)| {
                        let s = source_at(level, outer, at);
                        matches!(s.kind, SourceKind::Derived(_)).then(|| (x, s))
                    });
                    match derived {
                        Some((x, s)) => format!(
                            "`{text}` ties it to `{x}`, which is not a column of `{}` that provably holds the tenant (it should select `:tenant` or a confined table's tenant column under that name)",
                            s.display
                        ),
                        None => format!("`{text}` ties it to a table that is not confined itself"),
                    }
                } else {
                    format!("`{text}` does not compare the tenant column with `:tenant`")
                }
            }
            Expr::BinaryOp { op, .. } => format!("`{text}` uses `{op}`; only `=` confines to one tenant"),
            Expr::In { negated: true, .. } => format!("`{text}` excludes values instead of confining to one"),
            Expr::In { target: InTarget::List(_), .. } => {
                format!("`{text}` admits more than one value; only `= :tenant` confines")
            }
            Expr::In { .. } => {
                format!("`{text}` admits whatever the subquery returns; only `= :tenant` confines")
            }
            Expr::Between { .. } => format!("`{text}` is a range; only `= :tenant` confines"),
            Expr::Like { .. } | Expr::ILike { .. } | Expr::SimilarTo { .. } => {
                format!("`{text}` is a pattern match; only `= :tenant` confines")
            }
            Expr::UnaryOp { .. } => format!("`{text}` is negated; only a plain `= :tenant` confines"),
            Expr::Case { .. } => format!("`{text}` is inside CASE; only a plain `= :tenant` confines"),
            Expr::Function(f) => {
                format!("`{text}` is inside `{}(...)`; compare the column itself with `:tenant`", f.name)
            }
            _ => format!("`{text}` does not confine; write `= :tenant`"),
        }
    }
}

impl Checker<'_> {
    /// What Citus does with a statement it cannot run on one shard, and the fix (see
    /// `distributed.rs`).
    pub(super) fn report_distributed(&mut self, obstacle: distributed::Obstacle<'_>, ctx: &str) {
        use distributed::Obstacle;
        let q = |name: &str| names::quoted(self.backend, name, None);
        let (problem, fix, at) = match obstacle {
            Obstacle::Subquery { table, at } => (
                format!(
                    "INSERT into `{table}`{ctx} holds a subquery: a subquery in an INSERT is what Citus refuses on a distributed table (\"subqueries are not supported within INSERT queries\")"
                ),
                format!(
                    "pass the value as an argument, or run the subquery as a method of its own; a parent's key needs no subquery once the foreign key includes the tenant column (`FOREIGN KEY ({tc}, parent_id) REFERENCES parents ({tc}, id)`): the database then refuses another tenant's key",
                    tc = self.tc_sql()
                ),
                at,
            ),
            Obstacle::InsertSelect { table, source, at } => (
                format!(
                    "`INSERT ... SELECT` into `{table}`{ctx} reads `{source}`: Citus plans it for every shard before it binds `:tenant`, so it runs on every shard"
                ),
                format!(
                    "select the rows in a CTE first: `WITH src AS (SELECT ... FROM {source} WHERE ...) INSERT INTO {table} (...) SELECT ... FROM src` (Citus runs the CTE on the tenant's shard and inserts its rows on theirs)"
                ),
                at,
            ),
            Obstacle::ConflictTarget { table, target, tc, at } => (
                format!(
                    "the upsert into `{table}`{ctx} conflicts on `ON CONFLICT ({target})`, without the tenant column: on a distributed table every unique key includes it (Citus refuses any other), so no key matches this target"
                ),
                format!("conflict on `ON CONFLICT ({}, {target})`, a unique key of the table", q(tc)),
                at,
            ),
        };
        self.problem(Rule::Distributed, problem, fix, at);
    }
}
