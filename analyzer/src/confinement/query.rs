//! Queries: WITH, set operations, SELECT and what their output columns hold.

use super::*;

impl Checker<'_> {
    // ----- queries ------------------------------------------------------------------

    pub(super) fn query(&mut self, q: &Query, outer: &[&[Source]], ctx: &str) -> Output {
        self.ctes.push(Vec::new());
        if let Some(with) = &q.with {
            for cte in &with.cte_tables {
                let name = cte.alias.name.value.to_ascii_lowercase();
                let cte_ctx = format!(" in CTE `{}`", cte.alias.name.value);
                if with.recursive {
                    // Checked for real under the assumption the induction proved, which
                    // is also what the rest of the statement may rely on.
                    let tenant_columns = self.recursive_tenant_columns(cte, outer, &cte_ctx);
                    self.ctes.last_mut().unwrap().push(CteInfo { name, tenant_columns });
                    self.query(&cte.query, outer, &cte_ctx);
                } else {
                    let out = self.query(&cte.query, outer, &cte_ctx);
                    self.ctes
                        .last_mut()
                        .unwrap()
                        .push(CteInfo { name, tenant_columns: renamed(out, &cte.alias.columns) });
                }
            }
        }
        let out = self.set_expr(&q.body, outer, ctx);
        let mut tail: Vec<Query> = Vec::new();
        if let Some(order_by) = &q.order_by {
            tail.extend(subqueries(order_by));
        }
        if let Some(limit) = &q.limit_clause {
            tail.extend(subqueries(limit));
        }
        for sub in &tail {
            self.query(sub, outer, &format!(" in a subquery of ORDER BY/LIMIT{ctx}"));
        }
        self.ctes.pop();
        out
    }

    /// The columns of a recursive CTE that hold the tenant, by induction: its
    /// non-recursive branches hold the tenant in some columns; assuming the rows read back
    /// from the CTE do too, the recursive branches must keep them. A column that a branch
    /// does not keep is dropped from the assumption, until the assumption holds. The dry
    /// runs report nothing: the caller checks the CTE for real with the result.
    pub(super) fn recursive_tenant_columns(&mut self, cte: &Cte, outer: &[&[Source]], ctx: &str) -> Vec<String> {
        let name = cte.alias.name.value.to_ascii_lowercase();
        let before = self.problems.len();
        let mut branches = Vec::new();
        flatten_set_operation(&cte.query.body, &mut branches, &mut "UNION");
        let base: Vec<Output> =
            branches.into_iter().filter(|b| !reads_relation(b, &name)).map(|b| self.set_expr(b, outer, ctx)).collect();
        let mut assumed = if base.is_empty() { Vec::new() } else { renamed(intersect(base), &cte.alias.columns) };
        loop {
            self.ctes.last_mut().unwrap().push(CteInfo { name: name.clone(), tenant_columns: assumed.clone() });
            let kept = renamed(self.query(&cte.query, outer, ctx), &cte.alias.columns);
            self.ctes.last_mut().unwrap().pop();
            let before_len = assumed.len();
            assumed.retain(|c| kept.contains(c));
            if assumed.len() == before_len {
                break;
            }
        }
        self.problems.truncate(before);
        assumed
    }

    pub(super) fn set_expr(&mut self, body: &SetExpr, outer: &[&[Source]], ctx: &str) -> Output {
        match body {
            SetExpr::Select(s) => self.select(s, outer, ctx),
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
                let name = t.table_name.as_ref().map(|i| i.value.clone()).unwrap_or_default();
                // `TABLE schema.name` is the base table, never a CTE of that name.
                let cte = t.schema_name.is_none() && self.cte_columns(&name).is_some();
                if !cte && !self.schema.is_shared(&name) {
                    self.problem(
                        format!("`TABLE {name}`{ctx} reads every tenant's rows"),
                        format!("write `SELECT * FROM {name} WHERE {} = :tenant`", self.tc()),
                        None,
                    );
                }
                Output::default()
            }
        }
    }

    pub(super) fn select(&mut self, select: &Select, outer: &[&[Source]], ctx: &str) -> Output {
        let mut level = Level::default();
        for (n, twj) in select.from.iter().enumerate() {
            let clause = if n == 0 { "FROM" } else { "FROM (comma join)" };
            self.table_with_joins(&mut level, twj, outer, ctx, clause);
        }
        if !select.lateral_views.is_empty() || select.prewhere.is_some() || !select.connect_by.is_empty() {
            self.problem(
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

        self.output(&select.projection, &level, outer)
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

    /// The output columns of a SELECT that hold the tenant.
    pub(super) fn output(&self, projection: &[SelectItem], level: &Level<'_>, outer: &[&[Source]]) -> Output {
        let mut out = Output { tenant_names: Vec::new(), positions: Some(Vec::new()) };
        let wildcard_of = |s: &Source, names: &mut Vec<String>| match &s.kind {
            SourceKind::Owned if s.confined => names.push(self.tc().to_ascii_lowercase()),
            SourceKind::Derived(cols) => names.extend(cols.iter().cloned()),
            _ => {}
        };
        for item in projection {
            match item {
                SelectItem::UnnamedExpr(e) => {
                    let anchored = self.is_anchor(e, level, outer);
                    if anchored && let Some(name) = column_name(e) {
                        out.tenant_names.push(name);
                    }
                    if let Some(p) = &mut out.positions {
                        p.push(anchored);
                    }
                }
                SelectItem::ExprWithAlias { expr, alias } => {
                    let anchored = self.is_anchor(expr, level, outer);
                    if anchored {
                        out.tenant_names.push(alias.value.to_ascii_lowercase());
                    }
                    if let Some(p) = &mut out.positions {
                        p.push(anchored);
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
                        && let Some(s) = level.sources.iter().find(|s| same_name(&s.binding, &last_part(name)))
                    {
                        wildcard_of(s, &mut out.tenant_names);
                    }
                    out.positions = None;
                }
            }
        }
        out
    }
}
