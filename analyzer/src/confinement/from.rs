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
                JoinConstraint::Using(columns) => {
                    // The sides' columns of each name are equal: a tenant column on one side
                    // equals the other side's. Each side shows one column of a name to the
                    // join (a source already merged into another shows none).
                    let mut conj = Vec::new();
                    for column in columns.iter().filter_map(last_ident) {
                        let l = self.tenant_column_sources(&left, level, column);
                        let r = self.tenant_column_sources(&right, level, column);
                        if let [l] = l[..] {
                            conj.extend(r.iter().map(|r| Conj::UsingEq(l, *r, column.clone())));
                            // In an inner or left join, the merged column is the left side's
                            // value (right and full joins coalesce the sides, so it is neither).
                            if matches!(filters, Filters::Both | Filters::Right) {
                                for r in r {
                                    level.sources[r].merged.push(names::stored(self.backend, column));
                                }
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
            // The optional side of an outer join: a LEFT JOIN's right, a RIGHT JOIN's left,
            // both sides of a FULL JOIN.
            let optional: Vec<usize> = match (&join.join_operator, filters) {
                (JoinOperator::FullOuter(_), _) => left.iter().chain(&right).copied().collect(),
                (_, Filters::Right) => right.clone(),
                (_, Filters::Left) => left.clone(),
                _ => Vec::new(),
            };
            for i in optional {
                level.sources[i].nullable = true;
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
                let parts: Vec<Ident> = name.0.iter().filter_map(|p| p.as_ident().cloned()).collect();
                let Some(last) = parts.last().filter(|_| parts.len() == name.0.len()) else {
                    self.problem(
                        Rule::UnresolvedName,
                        format!("table `{name}`{ctx} has a name tenantry cannot resolve"),
                        "name the table plainly (`schema.table`)".to_string(),
                        locate(self.sql, name.span()),
                    );
                    return Vec::new();
                };
                let table = last_part(name);
                let (binding, path) = match alias {
                    Some(a) => (names::stored(self.backend, &a.name), Vec::new()),
                    None => (
                        names::stored(self.backend, last),
                        parts.iter().map(|p| names::stored(self.backend, p)).collect(),
                    ),
                };
                let display = match alias {
                    Some(a) => format!("{} {}", unquoted(name), a.name.value),
                    None => unquoted(name),
                };
                let span = locate(self.sql, last.span);
                let alias_columns: Vec<Ident> = alias.iter().flat_map(|a| &a.columns).map(|c| c.name.clone()).collect();
                // An UPDATE or DELETE writes a base table: a CTE of that name is not it.
                let dml_target = matches!(clause, "UPDATE" | "DELETE FROM");
                let cte = if args.is_some() || parts.len() > 1 || dml_target { CteRef::Base } else { self.cte(last) };
                let mut keys = Vec::new();
                let mut base = String::new();
                let kind_columns = if let Some(args) = args {
                    let what = format!("table function `{table}`");
                    level.exprs.extend(args.args.iter().flat_map(function_arg_exprs).map(|e| (e, what.clone())));
                    (self.table_function(name, ctx, span), None, String::new())
                } else {
                    match cte {
                        CteRef::Cte(out) => {
                            let out = renamed(out, &alias_columns, self.backend);
                            keys = out.named_keys();
                            (SourceKind::Derived(out.tenant_names.clone()), out.names(), String::new())
                        }
                        CteRef::Uncertain => {
                            self.problem(Rule::UnresolvedName,
                                format!("`{display}`{ctx} may name a CTE or the table of that name: MySQL compares table names with or without case depending on the server's `lower_case_table_names`"),
                                "spell the name exactly as the CTE is named, or rename the CTE so that it differs from every table name in more than case".to_string(),
                                span,
                            );
                            (SourceKind::Refused, None, String::new())
                        }
                        CteRef::Base => {
                            base = names::stored(self.backend, last);
                            self.base_table(&parts, &display, &alias_columns, alias.as_ref(), ctx, span)
                        }
                    }
                };
                let (kind, columns, tc) = kind_columns;
                level.sources.push(Source {
                    binding,
                    path,
                    columns,
                    display,
                    clause,
                    kind,
                    table: base,
                    tc,
                    keys,
                    renamed: !alias_columns.is_empty(),
                    span,
                    confined: false,
                    merged: Vec::new(),
                    nullable: false,
                });
            }
            TableFactor::Derived { lateral, subquery, alias, .. } => {
                let binding = alias.as_ref().map(|a| names::stored(self.backend, &a.name)).unwrap_or_default();
                let display = alias.as_ref().map(|a| a.name.value.clone()).unwrap_or_else(|| "(subquery)".into());
                let alias_columns: Vec<Ident> = alias.iter().flat_map(|a| &a.columns).map(|c| c.name.clone()).collect();
                let (kind, columns, keys) = if *lateral {
                    level.lateral.push((idx, subquery));
                    (SourceKind::Derived(Vec::new()), None, Vec::new())
                } else {
                    let out = self.query(subquery, outer, &format!(" in derived table `{display}`{ctx}"));
                    let out = renamed(out, &alias_columns, self.backend);
                    (SourceKind::Derived(out.tenant_names.clone()), out.names(), out.named_keys())
                };
                let span = locate(self.sql, subquery.span());
                level.sources.push(Source {
                    binding,
                    path: Vec::new(),
                    columns,
                    display,
                    clause,
                    kind,
                    table: String::new(),
                    tc: String::new(),
                    keys,
                    renamed: false,
                    span,
                    confined: true,
                    merged: Vec::new(),
                    nullable: false,
                });
            }
            TableFactor::Function { name, args, alias, .. } => {
                let table = last_part(name);
                let what = format!("table function `{table}`");
                level.exprs.extend(args.iter().flat_map(function_arg_exprs).map(|e| (e, what.clone())));
                let span = locate(self.sql, name.span());
                let kind = self.table_function(name, ctx, span);
                let binding = match alias {
                    Some(a) => names::stored(self.backend, &a.name),
                    None => name
                        .0
                        .last()
                        .and_then(|p| p.as_ident())
                        .map(|i| names::stored(self.backend, i))
                        .unwrap_or_default(),
                };
                level.sources.push(Source {
                    binding,
                    path: Vec::new(),
                    columns: None,
                    display: table,
                    clause,
                    kind,
                    table: String::new(),
                    tc: String::new(),
                    keys: Vec::new(),
                    renamed: false,
                    span,
                    confined: true,
                    merged: Vec::new(),
                    nullable: false,
                });
            }
            TableFactor::UNNEST { alias, array_exprs, .. } => {
                level.exprs.extend(array_exprs.iter().map(|e| (e, "UNNEST".to_string())));
                let binding = alias.as_ref().map(|a| names::stored(self.backend, &a.name)).unwrap_or_default();
                level.sources.push(Source {
                    binding,
                    path: Vec::new(),
                    columns: None,
                    display: "UNNEST(...)".into(),
                    clause,
                    kind: SourceKind::Function,
                    table: String::new(),
                    tc: String::new(),
                    keys: Vec::new(),
                    renamed: false,
                    span: None,
                    confined: true,
                    merged: Vec::new(),
                    nullable: false,
                });
            }
            TableFactor::NestedJoin { table_with_joins, .. } => {
                return self.table_with_joins(level, table_with_joins, outer, ctx, clause);
            }
            other => {
                self.problem(
                    Rule::Uncheckable,
                    format!("`{other}`{ctx} is a FROM item tenantry cannot check for confinement"),
                    "use plain tables, subqueries and joins".to_string(),
                    locate(self.sql, other.span()),
                );
                return Vec::new();
            }
        }
        vec![idx]
    }

    /// What a base table in FROM is: its kind, its columns (when the migrations say) and
    /// its tenant column, after the alias's column list renamed the first columns. A table
    /// that no rule can confine (a catalog, an unclassified or unknown table) is reported
    /// here and read on as shared, so that one mistake is one error.
    pub(super) fn base_table(
        &mut self,
        parts: &[Ident],
        display: &str,
        alias_columns: &[Ident],
        alias: Option<&sqlparser::ast::TableAlias>,
        ctx: &str,
        span: Option<(usize, usize)>,
    ) -> (SourceKind, Option<Vec<String>>, String) {
        let name = parts.last().map(|p| names::stored(self.backend, p)).unwrap_or_default();
        let columns = self.catalog_columns(&name);
        let new_names: Vec<String> = alias_columns.iter().map(|c| names::stored(self.backend, c)).collect();
        // `FROM t AS x(a, b)` renames t's first two columns, in the table's order.
        let backend = self.backend;
        let rename = |col: &str| -> String {
            let position = columns.as_ref().and_then(|cols| {
                cols.iter().position(|c| names::compare_values(backend, Kind::Column, c, col) == Match::Same)
            });
            match position.and_then(|p| new_names.get(p)) {
                Some(n) => n.clone(),
                None => col.to_string(),
            }
        };
        let renamed_columns = columns.as_ref().map(|cols| cols.iter().map(|c| rename(c)).collect::<Vec<_>>());
        match self.relation_kind(parts) {
            RelationKind::Catalog => {
                self.problem(Rule::Catalog,
                    format!("`{display}`{ctx} is a system catalog or statistics table: it describes (and may show samples of) every tenant's data"),
                    "read the tenant's own tables instead, or move the statement to an `#[unscoped(reason = \"...\")]` method".to_string(),
                    span,
                );
                (SourceKind::Refused, None, String::new())
            }
            RelationKind::Shared => (SourceKind::Shared, renamed_columns, String::new()),
            RelationKind::Owned(tc) => {
                if !alias_columns.is_empty() && columns.is_none() {
                    self.problem(Rule::UnresolvedName,
                        format!("`{}`{ctx} renames the columns of `{display}` by position: without migrations tenantry does not know the table's column order, so it cannot tell which name is the tenant column", parts.iter().map(|p| p.value.as_str()).collect::<Vec<_>>().join(".")),
                        format!("drop the column list after the alias and rename columns in the select list (`{}.col AS x`)", alias.map_or(String::new(), |a| a.name.to_string())),
                        span,
                    );
                }
                let tc = rename(&tc);
                (SourceKind::Owned, renamed_columns, tc)
            }
            RelationKind::Child(links) => {
                let links = links
                    .into_iter()
                    .map(|l| Link {
                        parent: l.parent,
                        columns: l.columns.into_iter().map(|(c, p)| (rename(&c), p)).collect(),
                    })
                    .collect();
                (SourceKind::Child(links), renamed_columns, String::new())
            }
            RelationKind::Unclassified => {
                self.unclassified(display, &name, ctx, span);
                (SourceKind::Refused, renamed_columns, String::new())
            }
            RelationKind::Unknown(similar) => {
                self.unknown_table(display, similar, ctx, span);
                (SourceKind::Refused, None, String::new())
            }
        }
    }

    /// A table the migrations create, but whose rows no rule ties to a tenant.
    pub(super) fn unclassified(&mut self, display: &str, name: &str, ctx: &str, span: Option<(usize, usize)>) {
        let tc = names::quoted(self.backend, self.schema.tenant_column_of(self.backend, name), None);
        let table = names::quoted(self.backend, name, None);
        self.problem(Rule::Unclassified,
            format!("table `{display}`{ctx} belongs to no tenant tenantry can see: it has no tenant column `{tc}`, no NOT NULL foreign key to a tenant-owned table, and it is not declared global"),
            format!("in a migration, add the tenant column (`ALTER TABLE {table} ADD COLUMN {tc} ... NOT NULL`) or a NOT NULL foreign key to the table that owns its rows; or, if every tenant may read all of it, declare it global: `global = [\"{name}\"]` in tenantry.toml, or `global({name})` on the trait"),
            span,
        );
    }

    /// A table the migrations do not create.
    pub(super) fn unknown_table(
        &mut self,
        display: &str,
        similar: Option<String>,
        ctx: &str,
        span: Option<(usize, usize)>,
    ) {
        let fix = match similar {
            Some(s) => format!("did you mean `{s}`? Otherwise create the table in a migration"),
            None => "create the table in a migration, or correct the name".to_string(),
        };
        self.problem(Rule::Unknown, format!("table `{display}`{ctx} is not created by any migration"), fix, span);
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
            [schema, _] => {
                self.backend == Backend::Postgres
                    && schema.as_ident().is_some_and(|s| same_name(&s.value, "pg_catalog"))
            }
            _ => false,
        };
        let folded = match (self.backend, last_ident(function)) {
            (Backend::Postgres, Some(i)) => names::stored(self.backend, i),
            _ => name.clone(),
        };
        if builtin && functions::is_pure_table_function(self.backend, &folded) {
            SourceKind::Function
        } else {
            self.problem(Rule::Uncheckable,
                format!("table function `{}`{ctx} may read any tenant's rows and cannot be checked", unquoted(function)),
                format!("select from the tables themselves, confined with `{} = :tenant`, or move the call to an `#[unscoped(reason = \"...\")]` method", self.tc_sql()),
                span,
            );
            SourceKind::Function
        }
    }
}
