//! Queries: WITH, set operations, SELECT and what their output columns hold.

use super::*;

/// Sets its flag when it meets a function call.
struct FunctionFinder<'a>(&'a mut bool);

impl Visitor for FunctionFinder<'_> {
    type Break = ();
    fn pre_visit_expr(&mut self, e: &Expr) -> ControlFlow<()> {
        if matches!(e, Expr::Function(_)) {
            *self.0 = true;
            return ControlFlow::Break(());
        }
        ControlFlow::Continue(())
    }
}

impl Checker<'_> {
    // ----- queries ------------------------------------------------------------------

    pub(super) fn query(&mut self, q: &Query, outer: &[&[Source]], ctx: &str) -> Output {
        self.ctes.push(Vec::new());
        if let Some(with) = &q.with {
            for cte in &with.cte_tables {
                let name = names::stored(self.backend, &cte.alias.name);
                let cte_ctx = format!(" in CTE `{}`", cte.alias.name.value);
                let columns: Vec<Ident> = cte.alias.columns.iter().map(|c| c.name.clone()).collect();
                if with.recursive {
                    // Checked for real under the assumption the induction proved, which
                    // is also what the rest of the statement may rely on.
                    let out = self.recursive_output(cte, &columns, outer, &cte_ctx);
                    self.ctes.last_mut().unwrap().push(CteInfo { name, out });
                    self.query(&cte.query, outer, &cte_ctx);
                } else {
                    let out = self.query(&cte.query, outer, &cte_ctx);
                    let out = renamed(out, &columns, self.backend);
                    self.ctes.last_mut().unwrap().push(CteInfo { name, out });
                }
            }
        }
        // A plain SELECT's ORDER BY and LIMIT see its FROM first (the nearest scope
        // wins); after a set operation they see only its output, so the enclosing scopes.
        let mut tail: Vec<Query> = Vec::new();
        if let Some(order_by) = &q.order_by {
            tail.extend(subqueries(order_by));
        }
        if let Some(limit) = &q.limit_clause {
            tail.extend(subqueries(limit));
        }
        if let Some(fetch) = &q.fetch {
            tail.extend(subqueries(fetch));
        }
        let out = match q.body.as_ref() {
            SetExpr::Select(s) => {
                let mut out = self.select(s, outer, ctx, &tail);
                // An aggregate in ORDER BY makes the query an aggregate: one row of none.
                let mut calls = false;
                if let Some(order_by) = &q.order_by {
                    let _ = order_by.visit(&mut FunctionFinder(&mut calls));
                }
                if calls {
                    out.correlated.clear();
                }
                out
            }
            body => {
                let out = self.set_expr(body, outer, ctx);
                for sub in &tail {
                    self.query(sub, outer, &format!(" in a subquery of ORDER BY/LIMIT{ctx}"));
                }
                out
            }
        };
        self.ctes.pop();
        out
    }

    /// The output of a recursive CTE, by induction: its non-recursive branches hold the
    /// tenant in some columns; assuming the rows read back from the CTE do too, the
    /// recursive branches must keep them. A column that a branch does not keep is dropped
    /// from the assumption, until the assumption holds. The dry runs report nothing: the
    /// caller checks the CTE for real with the result.
    pub(super) fn recursive_output(&mut self, cte: &Cte, columns: &[Ident], outer: &[&[Source]], ctx: &str) -> Output {
        let name = names::stored(self.backend, &cte.alias.name);
        let backend = self.backend;
        let before = self.problems.len();
        let mut branches = Vec::new();
        flatten_set_operation(&cte.query.body, &mut branches, &mut "UNION");
        let base: Vec<Output> = branches
            .into_iter()
            .filter(|b| !reads_relation(b, &cte.alias.name, backend))
            .map(|b| self.set_expr(b, outer, ctx))
            .collect();
        let mut assumed =
            if base.is_empty() { Output::default() } else { renamed(intersect(base), columns, self.backend) };
        // A probe answers under the assumption of its pass, and the assumption shrinks:
        // no answer may outlive its pass.
        let probes = std::mem::take(&mut self.probes);
        loop {
            self.probes.clear();
            self.ctes.last_mut().unwrap().push(CteInfo { name: name.clone(), out: assumed.clone() });
            let kept = renamed(self.query(&cte.query, outer, ctx), columns, self.backend);
            self.ctes.last_mut().unwrap().pop();
            let next = match (&assumed.positions, &kept.positions) {
                (Some(a), Some(k)) if a.len() == k.len() => {
                    Output::from_positions(a.iter().zip(k).map(|((n, x), (_, y))| (n.clone(), *x && *y)).collect())
                }
                _ => Output::default(),
            };
            if next.tenant_names == assumed.tenant_names {
                break;
            }
            assumed = next;
        }
        self.problems.truncate(before);
        self.probes = probes;
        assumed
    }

    pub(super) fn set_expr(&mut self, body: &SetExpr, outer: &[&[Source]], ctx: &str) -> Output {
        match body {
            SetExpr::Select(s) => self.select(s, outer, ctx, &[]),
            SetExpr::Query(q) => self.query(q, outer, ctx),
            SetExpr::SetOperation { .. } => {
                let mut branches = Vec::new();
                let mut op_name = "UNION";
                flatten_set_operation(body, &mut branches, &mut op_name);
                let mut outputs = Vec::new();
                for (n, branch) in branches.iter().enumerate() {
                    let branch_ctx = format!(" in {op_name} branch {}{ctx}", n + 1);
                    outputs.push(self.set_expr(branch, outer, &branch_ctx));
                }
                intersect(outputs)
            }
            SetExpr::Values(values) => {
                for row in &values.rows {
                    for e in &row.content {
                        for sub in subqueries(e) {
                            self.query(&sub, outer, &format!(" in a subquery of VALUES{ctx}"));
                        }
                    }
                }
                Output::default()
            }
            // A data-modifying CTE's RETURNING rows are read like a query's.
            SetExpr::Insert(s) | SetExpr::Update(s) | SetExpr::Delete(s) | SetExpr::Merge(s) => {
                self.statement(s, outer, ctx)
            }
            SetExpr::Table(t) => {
                let Some(table) = &t.table_name else { return Output::default() };
                // `TABLE schema.name` is the base table, never a CTE of that name.
                let path: Vec<Ident> = t.schema_name.iter().chain([table]).cloned().collect();
                let name = path.iter().map(|i| i.to_string()).collect::<Vec<_>>().join(".");
                let cte = match t.schema_name {
                    None => self.cte(table),
                    Some(_) => CteRef::Base,
                };
                match cte {
                    CteRef::Cte(out) => return out,
                    CteRef::Base if self.relation_kind(&path) == RelationKind::Shared => {}
                    CteRef::Base | CteRef::Uncertain => self.problem(
                        Rule::Unconfined,
                        format!("`TABLE {name}`{ctx} reads every tenant's rows"),
                        format!("write `SELECT * FROM {name} WHERE {} = :tenant`", self.tc_sql()),
                        None,
                    ),
                }
                Output::default()
            }
        }
    }

    /// A SELECT, with the subqueries of its query's ORDER BY and LIMIT (`tail`), which see
    /// its FROM.
    pub(super) fn select(&mut self, select: &Select, outer: &[&[Source]], ctx: &str, tail: &[Query]) -> Output {
        let mut level = Level::default();
        for (n, twj) in select.from.iter().enumerate() {
            let clause = if n == 0 { "FROM" } else { "FROM (comma join)" };
            self.table_with_joins(&mut level, twj, outer, ctx, clause);
        }
        if !select.lateral_views.is_empty() || select.prewhere.is_some() || !select.connect_by.is_empty() {
            self.problem(
                Rule::Uncheckable,
                format!("a dialect-specific clause{ctx} (LATERAL VIEW, PREWHERE or CONNECT BY) cannot be checked"),
                "rewrite the query with standard joins and WHERE".to_string(),
                locate(self.sql, select.span()),
            );
        }
        let all: Vec<usize> = (0..level.sources.len()).collect();
        if let Some(selection) = &select.selection {
            level.groups.push(Group {
                conjuncts: conjuncts(selection).into_iter().map(Conj::Expr).collect(),
                filters: all,
                whole: Some(selection),
                clause: "WHERE",
                join_sources: Vec::new(),
            });
        }
        self.confine(&mut level, outer);
        self.report_unconfined(&level, outer, ctx, select.selection.is_some());

        let mut chain: Vec<&[Source]> = outer.to_vec();
        chain.push(&level.sources);
        self.lateral_and_nested(&level, &chain, ctx);

        // Subqueries anywhere else in the SELECT (projection, WHERE, HAVING, ...). The
        // FROM was walked above, so it is emptied out of this copy.
        let mut rest = select.clone();
        rest.from.clear();
        for sub in subqueries(&rest) {
            let where_ctx = format!(" in a subquery{ctx}");
            self.query(&sub, &chain, &where_ctx);
        }
        for sub in tail {
            self.query(sub, &chain, &format!(" in a subquery of ORDER BY/LIMIT{ctx}"));
        }
        self.unresolved_references(select, &level, outer, ctx);
        let mut conditions: Vec<&Expr> = level.groups.iter().filter_map(|g| g.whole).collect();
        conditions.extend(select.projection.iter().filter_map(|i| match i {
            SelectItem::UnnamedExpr(e) | SelectItem::ExprWithAlias { expr: e, .. } => Some(e),
            _ => None,
        }));
        let aliases: Vec<Ident> = select
            .projection
            .iter()
            .filter_map(|i| match i {
                SelectItem::ExprWithAlias { alias, .. } => Some(alias.clone()),
                _ => None,
            })
            .collect();
        self.unknown_columns(&conditions, &aliases, &level, outer, ctx);

        let mut out = self.output(&select.projection, &level, outer);
        out.correlated = self.correlated(select, &level, outer);
        out
    }

    /// See [`Output::correlated`]. Only a SELECT whose rows are its WHERE's rows counts: no
    /// GROUP BY or HAVING, no function in its projection (an aggregate makes one row of
    /// none, and `EXISTS` would hold for any outer row).
    fn correlated(&self, select: &Select, level: &Level<'_>, outer: &[&[Source]]) -> Vec<(usize, String, Key)> {
        let grouped = !matches!(&select.group_by, GroupByExpr::Expressions(v, _) if v.is_empty());
        let mut calls = false;
        for item in &select.projection {
            let _ = item.visit(&mut FunctionFinder(&mut calls));
        }
        if grouped || select.having.is_some() || calls || outer.is_empty() {
            return Vec::new();
        }
        let mut found = Vec::new();
        for g in &level.groups {
            for c in &g.conjuncts {
                let Conj::Expr(e) = c else { continue };
                for (a, b) in equalities(e) {
                    for (theirs, ours) in [(a, b), (b, a)] {
                        let Ref::At { depth: 1, idx, .. } = self.bind(theirs, level, outer) else { continue };
                        let Some(column) = column_ident(theirs).map(|i| names::stored(self.backend, i)) else {
                            continue;
                        };
                        let Ref::At { depth: 0, idx: mine, .. } = self.bind(ours, level, outer) else { continue };
                        // Every row of the SELECT satisfies the condition with a real row of
                        // `mine`: a WHERE, or an ON of a side no outer join NULL-extends.
                        let every_row =
                            g.clause == "WHERE" || (g.filters.contains(&mine) && !level.sources[mine].nullable);
                        if !every_row {
                            continue;
                        }
                        if let Some((table, key)) = self.key_of(ours, level, &[]) {
                            found.push((idx, column, Key { name: String::new(), table, column: key }));
                        }
                    }
                }
            }
        }
        found
    }

    pub(super) fn lateral_and_nested(&mut self, level: &Level<'_>, chain: &[&[Source]], ctx: &str) {
        for (idx, q) in &level.lateral {
            let lateral_ctx = format!(" in LATERAL `{}`{ctx}", level.sources[*idx].display);
            self.query(q, chain, &lateral_ctx);
        }
        for (e, what) in &level.exprs {
            for sub in subqueries(*e) {
                self.query(&sub, chain, &format!(" in a subquery of {what}{ctx}"));
            }
        }
    }

    /// The output columns of a SELECT: their names, and which hold the tenant.
    pub(super) fn output(&self, projection: &[SelectItem], level: &Level<'_>, outer: &[&[Source]]) -> Output {
        let mut out =
            Output { tenant_names: Vec::new(), positions: Some(Vec::new()), keys: Vec::new(), correlated: Vec::new() };
        let wildcard_of = |s: &Source, names: &mut Vec<String>| match &s.kind {
            _ if s.nullable => {}
            SourceKind::Owned if s.confined => names.push(s.tc.clone()),
            SourceKind::Derived(cols) => names.extend(cols.iter().cloned()),
            _ => {}
        };
        // A column of a source that may be NULL-extended does not hold the tenant in every row.
        let holds = |e: &Expr| {
            self.is_anchor(e, level, outer)
                && !matches!(self.bind(e, level, outer), Ref::At { depth, idx, .. } if source_at(level, outer, (depth, idx)).nullable)
        };
        for (position, item) in projection.iter().enumerate() {
            let (expr, name) = match item {
                SelectItem::UnnamedExpr(e) => (Some(e), column_ident(e).map(|i| names::stored(self.backend, i))),
                SelectItem::ExprWithAlias { expr, alias } => (Some(expr), Some(names::stored(self.backend, alias))),
                _ => (None, None),
            };
            if let Some((table, column)) = expr.and_then(|e| self.key_of(e, level, outer))
                && out.positions.is_some()
            {
                out.keys.push((position, Key { name: name.clone().unwrap_or_default(), table, column }));
            }
            match item {
                SelectItem::UnnamedExpr(e) => {
                    let anchored = holds(e);
                    let name = column_ident(e).map(|i| names::stored(self.backend, i));
                    if anchored && let Some(name) = &name {
                        out.tenant_names.push(name.clone());
                    }
                    if let Some(p) = &mut out.positions {
                        p.push((name, anchored));
                    }
                }
                SelectItem::ExprWithAlias { expr, alias } => {
                    let anchored = holds(expr);
                    let name = names::stored(self.backend, alias);
                    if anchored {
                        out.tenant_names.push(name.clone());
                    }
                    if let Some(p) = &mut out.positions {
                        p.push((Some(name), anchored));
                    }
                }
                SelectItem::ExprWithAliases { .. } => out.positions = None,
                SelectItem::Wildcard(_) => {
                    for s in &level.sources {
                        wildcard_of(s, &mut out.tenant_names);
                    }
                    out.positions = None;
                }
                SelectItem::QualifiedWildcard(kind, _) => {
                    if let SelectItemQualifiedWildcardKind::ObjectName(name) = kind
                        && let Some(Ref::At { depth: 0, idx, .. }) = self.qualified_source(name, level)
                    {
                        wildcard_of(&level.sources[idx], &mut out.tenant_names);
                    }
                    out.positions = None;
                }
            }
        }
        // A name that two output columns share is ambiguous to whoever reads it.
        let all: Vec<&String> = out.positions.iter().flatten().filter_map(|(n, _)| n.as_ref()).collect();
        out.tenant_names.retain(|n| all.iter().filter(|m| *m == &n).count() <= 1);
        out
    }
}
