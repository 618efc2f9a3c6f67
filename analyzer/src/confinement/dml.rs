//! INSERT, UPDATE and DELETE: targets, assigned columns, upserts.

use super::*;

impl Checker<'_> {
    // ----- INSERT ------------------------------------------------------------------

    pub(super) fn insert(&mut self, ins: &Insert, outer: &[&[Source]], ctx: &str) -> Output {
        let TableObject::TableName(name) = &ins.table else {
            self.problem(
                Rule::Uncheckable,
                format!("INSERT into a table function{ctx} cannot be checked"),
                "insert into a table by name".to_string(),
                locate(self.sql, ins.table.span()),
            );
            return Output::default();
        };
        self.seen(name);
        let table = unquoted(name);
        let span = last_ident(name).and_then(|i| locate(self.sql, i.span));
        let parts: Vec<Ident> = name.0.iter().filter_map(|p| p.as_ident().cloned()).collect();
        let stored = last_ident(name).map(|i| names::stored(self.backend, i)).unwrap_or_default();
        let (kind, tc) = match self.relation_kind(&parts) {
            RelationKind::Shared => {
                self.shared_write("INSERT into", &table, ctx, span);
                (SourceKind::Refused, String::new())
            }
            RelationKind::Catalog => {
                self.problem(
                    Rule::Catalog,
                    format!("INSERT into `{table}`{ctx} writes a system catalog"),
                    "change the schema in a migration, not in a repository method".to_string(),
                    span,
                );
                (SourceKind::Refused, String::new())
            }
            RelationKind::Unclassified => {
                self.unclassified(&table, &stored, ctx, span);
                (SourceKind::Refused, String::new())
            }
            RelationKind::Unknown(similar) => {
                self.unknown_table(&table, similar, ctx, span);
                (SourceKind::Refused, String::new())
            }
            RelationKind::Owned(tc) => (SourceKind::Owned, tc),
            RelationKind::Child(links) => (SourceKind::Child(links), String::new()),
        };
        let tc_sql = if tc.is_empty() { self.tc_sql() } else { names::quoted(self.backend, &tc, None) };
        let tc_written = tc_sql.clone();
        let tc_name = tc.clone();
        if ins.replace_into || matches!(ins.or, Some(SqliteOnConflict::Replace)) {
            self.problem(Rule::Upsert,
                format!("`REPLACE` into `{table}`{ctx} deletes whatever row it collides with, which may belong to another tenant"),
                format!("use `INSERT ... ON CONFLICT ({tc_sql}, ...) DO UPDATE` (PostgreSQL, SQLite) or a guarded `ON DUPLICATE KEY UPDATE` (MySQL)"),
                span,
            );
        }
        let binding = match &ins.table_alias {
            Some(a) => names::stored(self.backend, &a.alias),
            None => last_ident(name).map(|i| names::stored(self.backend, i)).unwrap_or_default(),
        };
        let target = Source {
            binding,
            path: Vec::new(),
            columns: self.catalog_columns(&stored),
            display: table.clone(),
            clause: "INSERT",
            kind: kind.clone(),
            table: stored,
            tc,
            keys: Vec::new(),
            span,
            confined: true,
            merged: Vec::new(),
            nullable: false,
            renamed: false,
        };
        let tc = tc_written;
        if self.distributed() {
            self.distributed_insert(ins, &table, &tc_name, ctx);
        }
        if let Some(known) = &target.columns {
            for c in ins.columns.iter().filter_map(last_ident) {
                let found = known.iter().any(|k| self.may_be_column(c, k));
                if !found {
                    let hint = match similar(&names::stored(self.backend, c), known.iter().map(String::as_str)) {
                        Some(s) => format!("did you mean `{}`?", names::quoted(self.backend, &s, None)),
                        None => format!("correct the name; `{table}` has no column of that name"),
                    };
                    self.problem(
                        Rule::Unknown,
                        format!("INSERT into `{table}`{ctx} names column `{}`, which the table does not have", c.value),
                        hint,
                        locate(self.sql, c.span),
                    );
                }
            }
        }

        match &kind {
            SourceKind::Owned => self.insert_owned(ins, &tc_name, &table, outer, ctx, span),
            SourceKind::Child(links) => self.insert_child(ins, &links.clone(), &table, outer, ctx, span),
            _ => {
                if let Some(source) = &ins.source {
                    self.query(source, outer, ctx);
                }
            }
        }

        // The rows an INSERT writes or an upsert may update hold the tenant (or are refused).
        let level = Level { sources: vec![target], ..Level::default() };
        let sources = &level.sources;
        let mut chain: Vec<&[Source]> = outer.to_vec();
        chain.push(sources);
        // What keeps an upsert's update on the tenant's own rows: the tenant column of a
        // tenant-owned table, a child's single-column owning keys (the proposed row's key
        // is a confined parent's, so an existing row with the same key has that parent).
        let guards: Vec<String> = match &kind {
            SourceKind::Owned => vec![tc_name.clone()],
            SourceKind::Child(links) => links.iter().filter_map(|l| Some(l.single()?.0.to_string())).collect(),
            _ => Vec::new(),
        };
        let owning: Vec<String> = self.owning_columns(&sources[0]).into_iter().map(|(c, _)| c).collect();
        let owned = matches!(kind, SourceKind::Owned);
        let backend = self.backend;
        let what = |column: &str| {
            let column = names::quoted(backend, column, None);
            if owned {
                format!("the tenant column `{column}`")
            } else {
                format!("`{column}`, the key through which `{table}` belongs to a tenant")
            }
        };
        let guard_sql = guards.first().map_or(tc.clone(), |g| names::quoted(self.backend, g, None));
        let checked = matches!(kind, SourceKind::Owned | SourceKind::Child(_));
        match &ins.on {
            Some(OnInsert::OnConflict(oc)) if checked => {
                if let OnConflictAction::DoUpdate(du) = &oc.action {
                    for a in &du.assignments {
                        if let Some(column) = owning.iter().find(|c| self.may_assign(&a.target, c)) {
                            let written = names::quoted(self.backend, column, None);
                            self.problem(
                                Rule::TenantColumnWrite,
                                format!("the upsert into `{table}`{ctx} changes {}", what(column)),
                                format!("remove `{written}` from the DO UPDATE SET list"),
                                locate(self.sql, a.span()),
                            );
                        }
                    }
                    let target_has_tenant = matches!(&oc.conflict_target,
                        Some(ConflictTarget::Columns { columns: cols, .. })
                            if cols.iter().any(|c| guards.iter().any(|g| self.is_column(c, g))));
                    let guarded = du.selection.as_ref().is_some_and(|w| {
                        conjuncts(w)
                            .into_iter()
                            .any(|c| guards.iter().any(|g| self.guards_existing_row(c, &sources[0], g, owned)))
                    });
                    if guarded {
                        self.tenant_reached = true;
                    }
                    self.conflict_target_warnings(
                        oc.conflict_target.as_ref(),
                        &sources[0],
                        target_has_tenant,
                        &guard_sql,
                        span,
                    );
                    if !target_has_tenant && !guarded {
                        let (why, cols) = match &oc.conflict_target {
                            Some(ConflictTarget::Columns { columns: cols, .. }) => {
                                let cols = cols.iter().map(|c| c.value.as_str()).collect::<Vec<_>>().join(", ");
                                (format!("`ON CONFLICT ({cols})` does not include `{guard_sql}`"), cols)
                            }
                            Some(ConflictTarget::OnConstraint(c)) => (
                                format!("tenantry cannot see which columns constraint `{c}` covers"),
                                "...".to_string(),
                            ),
                            None => (
                                "`ON CONFLICT` without a target collides on any unique index".to_string(),
                                "...".to_string(),
                            ),
                        };
                        let binding = names::quoted(self.backend, &sources[0].binding, None);
                        let guard = if owned {
                            format!("`WHERE {binding}.{guard_sql} = :tenant`")
                        } else {
                            format!("`WHERE {binding}.{guard_sql} = excluded.{guard_sql}`")
                        };
                        let by = if owned { "by the tenant" } else { "by the parent key" };
                        self.problem(Rule::Upsert,
                            format!(
                                "the upsert into `{table}`{ctx} can overwrite another tenant's row: {why} and the DO UPDATE is not guarded {by}"
                            ),
                            format!(
                                "conflict on `({guard_sql}, {cols})` (with a unique index on those columns), or add {guard} to the DO UPDATE"
                            ),
                            span,
                        );
                    }
                    for sub in subqueries(&du.assignments).into_iter().chain(du.selection.iter().flat_map(subqueries)) {
                        self.query(&sub, &chain, &format!(" in a subquery of the upsert{ctx}"));
                    }
                }
            }
            Some(OnInsert::DuplicateKeyUpdate(assignments)) if checked => {
                for a in assignments {
                    if let Some(column) = owning.iter().find(|c| self.may_assign(&a.target, c)) {
                        let written = names::quoted(self.backend, column, None);
                        self.problem(
                            Rule::TenantColumnWrite,
                            format!("the upsert into `{table}`{ctx} changes {}", what(column)),
                            format!("remove `{written}` from the ON DUPLICATE KEY UPDATE list"),
                            locate(self.sql, a.span()),
                        );
                    } else if guards
                        .iter()
                        .any(|g| self.guarded_assignment(&a.value, &a.target, &sources[0], ins, g, owned))
                    {
                        self.tenant_reached = true;
                    } else {
                        let col = a.target.to_string();
                        let guard = if owned { ":tenant".to_string() } else { format!("VALUES({guard_sql})") };
                        let by = if owned { "the tenant" } else { "the parent key" };
                        self.problem(Rule::Upsert,
                            format!(
                                "`ON DUPLICATE KEY UPDATE {col} = ...` on `{table}`{ctx} can overwrite another tenant's row: MySQL does not say which unique key collided"
                            ),
                            format!(
                                "guard the assignment by {by}: `{col} = IF({guard_sql} = {guard}, VALUES({col}), {col})`"
                            ),
                            locate(self.sql, a.span()),
                        );
                    }
                }
                for sub in subqueries(assignments) {
                    self.query(&sub, &chain, &format!(" in a subquery of the upsert{ctx}"));
                }
            }
            _ => {}
        }
        if let Some(returning) = &ins.returning {
            for sub in subqueries(returning) {
                self.query(&sub, &chain, &format!(" in a subquery of RETURNING{ctx}"));
            }
        }
        self.returned(ins.returning.as_deref(), &level, outer)
    }

    /// Warns of an `ON CONFLICT (cols)` that no unique key of the migrations matches, and
    /// of one without the tenant (or parent) column, whose guard makes the upsert skip the
    /// rows of other tenants it collides with.
    fn conflict_target_warnings(
        &mut self,
        target: Option<&ConflictTarget>,
        table: &Source,
        has_tenant: bool,
        guard: &str,
        span: Option<(usize, usize)>,
    ) {
        let Some(ConflictTarget::Columns { columns, .. }) = target else { return };
        let written = columns.iter().map(|c| c.value.as_str()).collect::<Vec<_>>().join(", ");
        if !has_tenant {
            self.warnings.push(Violation::new(Rule::Upsert,
                if matches!(table.kind, SourceKind::Owned) {
                    format!("the upsert into `{}` conflicts on ({written}), without `{guard}`: a row that collides with another tenant's row is neither inserted nor updated", table.display)
                } else {
                    format!("the upsert into `{}` conflicts on ({written}), without `{guard}`: a row that collides with a row under another parent (perhaps another tenant's) is neither inserted nor updated", table.display)
                },
                format!("conflict on `({guard}, {written})`, with a unique key on those columns"),
                span,
            ));
        }
        let Some(t) = self.schema.catalog.as_ref().and_then(|c| c.table(self.backend, &table.table)) else { return };
        let matches = |key: &[String]| {
            key.len() == columns.len() && key.iter().all(|k| columns.iter().any(|c| self.is_column(c, k)))
        };
        let unique = matches(&t.primary_key) || t.unique_keys.iter().any(|k| matches(&k.columns));
        if !unique {
            self.warnings.push(Violation::new(Rule::Upsert,
                format!("`ON CONFLICT ({written})` on `{}` matches no primary or unique key of the migrations: the database refuses the statement when it runs", table.display),
                format!("add `UNIQUE ({written})` to `{}` in a migration, or conflict on one of its unique keys", table.display),
                span,
            ));
        }
    }

    /// The INSERT into a tenant-owned table gives its tenant column `:tenant` in every row.
    fn insert_owned(
        &mut self,
        ins: &Insert,
        tc_name: &str,
        table: &str,
        outer: &[&[Source]],
        ctx: &str,
        span: Option<(usize, usize)>,
    ) {
        let tc = names::quoted(self.backend, tc_name, None);
        let position = ins.columns.iter().position(|c| last_ident(c).is_some_and(|i| self.is_column(i, tc_name)));
        if !ins.assignments.is_empty() {
            // MySQL's `INSERT INTO t SET a = 1, ...`
            match ins.assignments.iter().find(|a| self.assigns(&a.target, tc_name)) {
                Some(a) if self.is_tenant(&a.value) => self.tenant_reached = true,
                Some(a) => self.problem(
                    Rule::InsertTenant,
                    format!("INSERT into `{table}`{ctx} sets `{tc}` to `{}` instead of `:tenant`", a.value),
                    format!("write `{tc} = :tenant`"),
                    span,
                ),
                None => self.problem(
                    Rule::InsertTenant,
                    format!("INSERT into `{table}`{ctx} does not set the tenant column `{tc}`"),
                    format!("add `{tc} = :tenant` to the SET list"),
                    span,
                ),
            }
        } else if let Some(source) = &ins.source {
            match position {
                None if ins.columns.is_empty() => self.problem(
                    Rule::InsertTenant,
                    format!(
                        "INSERT into `{table}`{ctx} does not name its columns, so the tenant column cannot be checked"
                    ),
                    format!("list the columns, including `{tc}`, and give `{tc}` the value `:tenant`"),
                    span,
                ),
                None => self.problem(
                    Rule::InsertTenant,
                    format!("INSERT into `{table}`{ctx} does not set the tenant column `{tc}`"),
                    format!("add `{tc}` to the column list and `:tenant` to every row"),
                    span,
                ),
                Some(pos) => self.insert_source(source, pos, &tc, table, outer, ctx),
            }
        } else {
            self.problem(
                Rule::InsertTenant,
                format!("INSERT into `{table}`{ctx} has no rows that set `{tc}` (DEFAULT VALUES)"),
                format!("write `INSERT INTO {table} ({tc}, ...) VALUES (:tenant, ...)`"),
                span,
            );
        }
    }

    /// The INSERT into a child table takes an owning key, in every row, from a row of the
    /// parent that is confined to the tenant: a scalar subquery on the parent, or an
    /// `INSERT ... SELECT` whose column for the key selects a confined parent's key. A
    /// caller's value alone could be another tenant's parent.
    fn insert_child(
        &mut self,
        ins: &Insert,
        links: &[Link],
        table: &str,
        outer: &[&[Source]],
        ctx: &str,
        span: Option<(usize, usize)>,
    ) {
        // Multi-column keys are not taken (see `Link::single`).
        let single: Vec<(&Link, &str, &str)> =
            links.iter().filter_map(|l| l.single().map(|(c, p)| (l, c, p))).collect();
        // Whether `e` is a scalar subquery whose value is a confined row's key that
        // `link` references.
        let keyed = |checker: &mut Self, e: &Expr, link: &Link, column: &str| match strip_nested(e) {
            Expr::Subquery(q) => {
                checker.subquery_key(q, outer).is_some_and(|k| checker.owns(std::slice::from_ref(link), column, &k))
            }
            _ => false,
        };
        let mut proven = false;
        if !ins.assignments.is_empty() {
            for (link, c, _) in &single {
                if let Some(a) = ins.assignments.iter().find(|a| self.assigns(&a.target, c))
                    && keyed(self, &a.value, link, c)
                {
                    proven = true;
                }
            }
        } else if let Some(source) = &ins.source {
            let values = matches!(source.body.as_ref(), SetExpr::Values(_)) && source.with.is_none();
            if !values {
                let out = self.query(source, outer, &format!(" in the SELECT of INSERT{ctx}"));
                for (link, c, _) in &single {
                    if let Some(pos) =
                        ins.columns.iter().position(|x| last_ident(x).is_some_and(|i| self.is_column(i, c)))
                        && out.keys.iter().any(|(at, k)| {
                            *at == pos
                                && self.owns(std::slice::from_ref(*link), c, &(k.table.clone(), k.column.clone()))
                        })
                    {
                        proven = true;
                    }
                }
            } else if let SetExpr::Values(v) = source.body.as_ref() {
                for (link, c, _) in &single {
                    let Some(pos) =
                        ins.columns.iter().position(|x| last_ident(x).is_some_and(|i| self.is_column(i, c)))
                    else {
                        continue;
                    };
                    let rows_ok =
                        v.rows.iter().all(|row| row.content.get(pos).is_some_and(|e| keyed(self, e, link, c)));
                    proven |= rows_ok && !v.rows.is_empty();
                }
                for row in &v.rows {
                    for e in &row.content {
                        for sub in subqueries(e) {
                            self.query(&sub, outer, &format!(" in a subquery of VALUES{ctx}"));
                        }
                    }
                }
            }
        }
        if proven {
            self.tenant_reached = true;
            return;
        }
        let Some((link, c, p)) = single.first() else {
            self.problem(Rule::InsertTenant,
                format!("INSERT into `{table}`{ctx}: its owning key has several columns, and tenantry cannot prove that values from two parent rows name a row of the tenant"),
                "add the tenant column to the table (with a foreign key that includes it), or insert in an `#[unscoped(reason = \"...\")]` method".to_string(),
                span,
            );
            return;
        };
        let column = names::quoted(self.backend, c, None);
        let parent = names::quoted(self.backend, &link.parent, None);
        let pcol = names::quoted(self.backend, p, None);
        let condition = self.confining_condition(&link.parent, 0);
        let given = ins
            .source
            .as_ref()
            .and_then(|s| match s.body.as_ref() {
                SetExpr::Values(v) => {
                    let pos = ins.columns.iter().position(|x| last_ident(x).is_some_and(|i| self.is_column(i, c)))?;
                    v.rows.first()?.content.get(pos).map(|e| e.to_string())
                }
                _ => None,
            })
            .or_else(|| ins.assignments.iter().find(|a| self.assigns(&a.target, c)).map(|a| a.value.to_string()));
        let fix = match given {
            Some(v) => format!(
                "take `{column}` from the tenant's own `{parent}` row: replace `{v}` with `(SELECT {pcol} FROM {parent} WHERE {condition} AND {pcol} = {v})` (another tenant's key then finds no row, and the NOT NULL column refuses the insert)"
            ),
            None => format!(
                "name `{column}` in the column list and give it `(SELECT {pcol} FROM {parent} WHERE {condition} AND {pcol} = :{c})`, or insert with `INSERT ... SELECT` from `{parent}` confined by `{condition}`"
            ),
        };
        self.problem(Rule::InsertTenant,
            format!("INSERT into `{table}`{ctx} does not take `{column}` from a `{parent}` row of the tenant: `{table}` belongs to a tenant through `{column}` → `{parent}.{pcol}`, and a caller's value may be another tenant's"),
            fix,
            span,
        );
    }

    /// A condition that confines table `name` to the tenant, written for a fix: its tenant
    /// column, or its owning key in a subquery on its parent.
    pub(super) fn confining_condition(&self, name: &str, depth: usize) -> String {
        use crate::schema::Ownership;
        match self.schema.ownership(self.backend, name) {
            // Bounded: two tables may each be the other's parent (each also owned otherwise).
            Ownership::Child { links } if depth < 8 => {
                let single = links.iter().find_map(|l| l.single().map(|(c, p)| (l, c, p)));
                match single {
                    Some((l, c, p)) => format!(
                        "{} IN (SELECT {} FROM {} WHERE {})",
                        names::quoted(self.backend, c, None),
                        names::quoted(self.backend, p, None),
                        names::quoted(self.backend, &l.parent, None),
                        self.confining_condition(&l.parent, depth + 1)
                    ),
                    None => format!("{} = :tenant", self.tc_sql()),
                }
            }
            Ownership::Tenant { column } => format!("{} = :tenant", names::quoted(self.backend, &column, None)),
            _ => format!("{} = :tenant", self.tc_sql()),
        }
    }

    /// What the rows of a DML's RETURNING hold, read like a projection of its tables.
    pub(super) fn returned(&self, returning: Option<&[SelectItem]>, level: &Level<'_>, outer: &[&[Source]]) -> Output {
        returning.map_or_else(Output::default, |items| self.output(items, level, outer))
    }

    pub(super) fn insert_source(
        &mut self,
        source: &Query,
        pos: usize,
        tc: &str,
        table: &str,
        outer: &[&[Source]],
        ctx: &str,
    ) {
        if let SetExpr::Values(values) = source.body.as_ref()
            && source.with.is_none()
        {
            for (n, row) in values.rows.iter().enumerate() {
                match row.content.get(pos) {
                    Some(v) if self.is_tenant(v) => self.tenant_reached = true,
                    Some(v) => self.problem(
                        Rule::InsertTenant,
                        format!(
                            "INSERT into `{table}`{ctx}: VALUES row {} sets `{tc}` to `{v}` instead of `:tenant`",
                            n + 1
                        ),
                        format!("write `:tenant` for `{tc}` in every row; the tenant comes from the scope guard"),
                        locate(self.sql, v.span()),
                    ),
                    None => self.problem(
                        Rule::InsertTenant,
                        format!("INSERT into `{table}`{ctx}: VALUES row {} has fewer values than columns", n + 1),
                        "give every row one value per column".to_string(),
                        locate(self.sql, source.span()),
                    ),
                }
                for e in &row.content {
                    for sub in subqueries(e) {
                        self.query(&sub, outer, &format!(" in a subquery of VALUES{ctx}"));
                    }
                }
            }
            return;
        }
        let out = self.query(source, outer, &format!(" in the SELECT of INSERT{ctx}"));
        match out.positions {
            // Whatever anchors that position comes down to `:tenant`, which so reaches the
            // inserted row's tenant column.
            Some(p) if p.get(pos).is_some_and(|(_, tenant)| *tenant) => self.tenant_reached = true,
            _ => self.problem(Rule::InsertTenant,
                format!(
                    "INSERT into `{table}` ... SELECT{ctx}: the selected value for `{tc}` is not provably the tenant"
                ),
                format!("select `:tenant` (or the confined source's `{tc}`) in that position, and list columns instead of `*`"),
                locate(self.sql, source.span()),
            ),
        }
    }

    /// Whether `q` names `target` (a table or its alias).
    fn names_target(&self, q: &Ident, target: &Source) -> bool {
        names::compare_stored(self.backend, Kind::Relation, q, &target.binding) == Match::Same
    }

    /// `t.tenant_id = :tenant` or `t.tenant_id = excluded.tenant_id` in an upsert's
    /// DO UPDATE WHERE: the existing row belongs to the tenant. `column` is the guarding
    /// column (the tenant column, or a child's owning key, which only the proposed row's
    /// own key guards: `tenant` is false then).
    pub(super) fn guards_existing_row(&self, c: &Expr, target: &Source, column: &str, tenant: bool) -> bool {
        let existing = |e: &Expr| match strip(e) {
            Expr::Identifier(id) => self.is_column(id, column),
            Expr::CompoundIdentifier(p) if p.len() == 2 => {
                self.is_column(&p[1], column) && self.names_target(&p[0], target)
            }
            _ => false,
        };
        let proposed = |e: &Expr| {
            (tenant && self.is_tenant(e))
                || matches!(strip(e), Expr::CompoundIdentifier(p) if p.len() == 2
                    && names::compare_stored(self.backend, Kind::Relation, &p[0], "excluded") == Match::Same
                    && self.is_column(&p[1], column))
        };
        equalities(c).into_iter().any(|(a, b)| (existing(a) && proposed(b)) || (existing(b) && proposed(a)))
    }

    /// `col = IF(tenant_id = :tenant, new, col)` or the CASE form: another tenant's row
    /// keeps its value. In an `ON DUPLICATE KEY UPDATE`, a bare or table-qualified column
    /// is the existing row; `VALUES(col)` and `new.col` (the row alias of `INSERT ... AS
    /// new`) are the proposed row, whose tenant column the INSERT already set to `:tenant`.
    /// So the guard must read the existing row's tenant column and the fallback the
    /// existing row's own column: anything proposed there would write it anyway.
    pub(super) fn guarded_assignment(
        &self,
        value: &Expr,
        target: &AssignmentTarget,
        table: &Source,
        ins: &Insert,
        column: &str,
        tenant: bool,
    ) -> bool {
        let AssignmentTarget::ColumnName(col) = target else { return false };
        let Some(col) = last_ident(col) else { return false };
        let same_column = |a: &Ident, b: &Ident| names::compare(self.backend, Kind::Column, a, b) == Match::Same;
        let existing = |e: &Expr, is_column: &dyn Fn(&Ident) -> bool| match strip(e) {
            Expr::Identifier(id) => is_column(id),
            Expr::CompoundIdentifier(p) if p.len() == 2 => is_column(&p[1]) && self.names_target(&p[0], table),
            _ => false,
        };
        let is_tc = |i: &Ident| self.is_column(i, column);
        let row_alias = ins
            .insert_alias
            .as_ref()
            .filter(|a| a.col_aliases.as_ref().is_none_or(Vec::is_empty))
            .and_then(|a| last_ident(&a.row_alias));
        let is_function = |f: &sqlparser::ast::Function, name: &str| {
            f.name.0.len() == 1 && last_ident(&f.name).is_some_and(|i| i.value.eq_ignore_ascii_case(name))
        };
        let proposed_tenant = |e: &Expr| {
            (tenant && self.is_tenant(e))
                || match strip(e) {
                    Expr::Function(f) if is_function(f, "values") => {
                        matches!(function_args(f)[..], [arg] if existing(arg, &is_tc))
                    }
                    Expr::CompoundIdentifier(p) if p.len() == 2 => {
                        row_alias.is_some_and(|r| names::compare(self.backend, Kind::Relation, &p[0], r) == Match::Same)
                            && self.is_column(&p[1], column)
                    }
                    _ => false,
                }
        };
        let guard = |e: &Expr| {
            equalities(e).into_iter().any(|(a, b)| {
                (existing(a, &is_tc) && proposed_tenant(b)) || (existing(b, &is_tc) && proposed_tenant(a))
            })
        };
        let own = |i: &Ident| same_column(i, col);
        match strip(value) {
            Expr::Function(f) if is_function(f, "if") => {
                let args = function_args(f);
                args.len() == 3 && guard(args[0]) && existing(args[2], &own)
            }
            Expr::Case { operand: None, conditions, else_result: Some(else_result), .. } => {
                conditions.len() == 1 && guard(&conditions[0].condition) && existing(else_result, &own)
            }
            _ => false,
        }
    }

    pub(super) fn shared_write(&mut self, verb: &str, table: &str, ctx: &str, span: Option<(usize, usize)>) {
        self.problem(Rule::SharedWrite,
            format!("{verb} global table `{table}`{ctx}: it belongs to every tenant, so a tenant-scoped method may read it but not change it"),
            "move the write to an `#[unscoped(reason = \"...\")]` method, or, if each row belongs to one tenant, stop declaring the table global (`global` in tenantry.toml, `shared(...)` on the trait)".to_string(),
            span,
        );
    }

    // ----- UPDATE and DELETE -------------------------------------------------------

    pub(super) fn update(&mut self, u: &Update, outer: &[&[Source]], ctx: &str) -> Output {
        let mut level = Level::default();
        let targets = self.table_with_joins(&mut level, &u.table, outer, ctx, "UPDATE");
        if let Some(from) = &u.from {
            let (UpdateTableFromKind::BeforeSet(from) | UpdateTableFromKind::AfterSet(from)) = from;
            for twj in from {
                self.table_with_joins(&mut level, twj, outer, ctx, "UPDATE ... FROM");
            }
        }
        if matches!(u.or, Some(SqliteOnConflict::Replace)) {
            self.problem(
                Rule::Upsert,
                format!(
                    "`UPDATE OR REPLACE`{ctx} deletes whatever row it collides with, which may belong to another tenant"
                ),
                "use a plain UPDATE".to_string(),
                locate(self.sql, u.span()),
            );
        }
        let primary = targets.first().copied();
        // The columns that say whose rows these are: tenant columns, and children's owning
        // keys with the parent key they reference.
        let owning: Vec<(String, Option<Link>)> = level.sources.iter().flat_map(|s| self.owning_columns(s)).collect();
        let sources = level.sources.clone();
        let mut chain: Vec<&[Source]> = outer.to_vec();
        chain.push(&sources);
        for a in &u.assignments {
            let assigned: Vec<&(String, Option<Link>)> =
                owning.iter().filter(|(c, _)| self.may_assign(&a.target, c)).collect();
            for (column, link) in assigned {
                let written = names::quoted(self.backend, column, None);
                match link {
                    None => self.problem(
                        Rule::TenantColumnWrite,
                        format!("UPDATE{ctx} changes the tenant column `{written}`: that moves rows to another tenant"),
                        format!(
                            "remove `{}` from the SET list; moving data between tenants needs an `#[unscoped]` method",
                            a.target
                        ),
                        locate(self.sql, a.span()),
                    ),
                    Some(link) => {
                        // A one-column key may take its new value from a confined parent.
                        let keyed = match (link.single(), strip_nested(&a.value)) {
                            (Some(_), Expr::Subquery(q)) => self
                                .subquery_key(q, &chain)
                                .is_some_and(|k| self.owns(std::slice::from_ref(link), column, &k)),
                            _ => false,
                        };
                        if keyed {
                            continue;
                        }
                        let (parent, key) =
                            (&link.parent, link.columns.iter().find(|(c, _)| c == column).map_or("", |(_, p)| p));
                        let condition = self.confining_condition(parent, 0);
                        let (parent_sql, key_sql) =
                            (names::quoted(self.backend, parent, None), names::quoted(self.backend, key, None));
                        self.problem(
                            Rule::TenantColumnWrite,
                            format!("UPDATE{ctx} sets `{written}`, the key through which its rows belong to a tenant, to a value that may name another tenant's `{parent_sql}` row"),
                            format!(
                                "take the new value from the tenant's own row: `SET {} = (SELECT {key_sql} FROM {parent_sql} WHERE {condition} AND {key_sql} = {})`",
                                a.target, a.value
                            ),
                            locate(self.sql, a.span()),
                        );
                    }
                }
            }
            let written = match &a.target {
                AssignmentTarget::ColumnName(n) if n.0.len() >= 2 => match n.0[n.0.len() - 2].as_ident() {
                    Some(q) => level.sources.iter().position(|s| self.names_target(q, s)),
                    None => primary,
                },
                // MySQL's multi-table UPDATE writes a bare column to whichever of its
                // tables has one of that name, which tenantry cannot see.
                AssignmentTarget::ColumnName(n) if targets.len() > 1 => {
                    if let Some(&shared) =
                        targets.iter().find(|t| matches!(level.sources[**t].kind, SourceKind::Shared))
                    {
                        let (display, span) = (level.sources[shared].display.clone(), level.sources[shared].span);
                        let owner = targets
                            .iter()
                            .find(|t| matches!(level.sources[**t].kind, SourceKind::Owned))
                            .map_or("t".to_string(), |t| level.sources[*t].binding.clone());
                        self.problem(Rule::SharedWrite,
                            format!("`SET {n} = ...` in a multi-table UPDATE{ctx} may write global table `{display}`: a bare column belongs to whichever joined table has it"),
                            format!("qualify the column with the tenant-owned table it belongs to: `SET {owner}.{n} = ...`"),
                            span,
                        );
                    }
                    primary
                }
                _ => primary,
            };
            if let Some(w) = written
                && matches!(level.sources[w].kind, SourceKind::Shared)
            {
                let display = level.sources[w].display.clone();
                let span = level.sources[w].span;
                self.shared_write("UPDATE of", &display, ctx, span);
            }
        }
        let all: Vec<usize> = (0..level.sources.len()).collect();
        if let Some(selection) = &u.selection {
            level.groups.push(Group {
                conjuncts: conjuncts(selection).into_iter().map(Conj::Expr).collect(),
                filters: all,
                whole: Some(selection),
                clause: "WHERE",
                join_sources: Vec::new(),
            });
        }
        self.confine(&mut level, outer);
        self.report_unconfined(&level, outer, ctx, u.selection.is_some());
        let mut chain: Vec<&[Source]> = outer.to_vec();
        chain.push(&level.sources);
        self.lateral_and_nested(&level, &chain, ctx);
        let mut subs = subqueries(&u.assignments);
        subs.extend(u.selection.iter().flat_map(subqueries));
        subs.extend(u.returning.iter().flat_map(subqueries));
        for sub in subs {
            self.query(&sub, &chain, &format!(" in a subquery of the UPDATE{ctx}"));
        }
        self.unresolved_references(&u.selection, &level, outer, ctx);
        self.unresolved_references(&u.returning, &level, outer, ctx);
        let conditions: Vec<&Expr> = level.groups.iter().filter_map(|g| g.whole).collect();
        self.unknown_columns(&conditions, &[], &level, outer, ctx);
        for a in &u.assignments {
            self.unresolved_references(&a.value, &level, outer, ctx);
        }
        self.returned(u.returning.as_deref(), &level, outer)
    }

    pub(super) fn delete(&mut self, d: &Delete, outer: &[&[Source]], ctx: &str) -> Output {
        let mut level = Level::default();
        let (FromTable::WithFromKeyword(from) | FromTable::WithoutKeyword(from)) = &d.from;
        // MySQL's `DELETE FROM i USING invoices i JOIN ...` names its targets in FROM and
        // its tables in USING: a bare FROM name that USING binds is a target, not a table.
        let using_bindings: Vec<&Ident> = d.using.iter().flatten().flat_map(bindings).collect();
        let mut named_targets: Vec<&Ident> = d.tables.iter().filter_map(last_ident).collect();
        let mut first = None;
        for twj in from {
            if let TableFactor::Table { name, alias: None, args: None, .. } = &twj.relation
                && twj.joins.is_empty()
                && name.0.len() == 1
                && let Some(target) = last_ident(name)
                && using_bindings
                    .iter()
                    .any(|b| names::compare(self.backend, Kind::Relation, b, target) != Match::Different)
            {
                self.seen(name);
                named_targets.push(target);
                continue;
            }
            let added = self.table_with_joins(&mut level, twj, outer, ctx, "DELETE FROM");
            first = first.or(added.first().copied());
        }
        if let Some(using) = &d.using {
            for twj in using {
                self.table_with_joins(&mut level, twj, outer, ctx, "DELETE ... USING");
            }
        }
        let targets: Vec<usize> = if named_targets.is_empty() {
            first.into_iter().collect()
        } else {
            named_targets.iter().filter_map(|t| level.sources.iter().position(|s| self.names_target(t, s))).collect()
        };
        for t in targets {
            if matches!(level.sources[t].kind, SourceKind::Shared) {
                let display = level.sources[t].display.clone();
                let span = level.sources[t].span;
                self.shared_write("DELETE from", &display, ctx, span);
            }
        }
        let all: Vec<usize> = (0..level.sources.len()).collect();
        if let Some(selection) = &d.selection {
            level.groups.push(Group {
                conjuncts: conjuncts(selection).into_iter().map(Conj::Expr).collect(),
                filters: all,
                whole: Some(selection),
                clause: "WHERE",
                join_sources: Vec::new(),
            });
        }
        self.confine(&mut level, outer);
        self.report_unconfined(&level, outer, ctx, d.selection.is_some());
        let mut chain: Vec<&[Source]> = outer.to_vec();
        chain.push(&level.sources);
        self.lateral_and_nested(&level, &chain, ctx);
        let mut subs: Vec<Query> = d.selection.iter().flat_map(subqueries).collect();
        subs.extend(d.returning.iter().flat_map(subqueries));
        for sub in subs {
            self.query(&sub, &chain, &format!(" in a subquery of the DELETE{ctx}"));
        }
        self.unresolved_references(&d.selection, &level, outer, ctx);
        self.unresolved_references(&d.returning, &level, outer, ctx);
        let conditions: Vec<&Expr> = level.groups.iter().filter_map(|g| g.whole).collect();
        self.unknown_columns(&conditions, &[], &level, outer, ctx);
        self.returned(d.returning.as_deref(), &level, outer)
    }
}

/// The names the tables of a FROM item are qualified with (alias, else table name).
pub(super) fn bindings(twj: &TableWithJoins) -> Vec<&Ident> {
    std::iter::once(&twj.relation)
        .chain(twj.joins.iter().map(|j| &j.relation))
        .flat_map(|factor| match factor {
            TableFactor::Table { name, alias, .. } => {
                alias.as_ref().map(|a| &a.name).or_else(|| last_ident(name)).into_iter().collect()
            }
            TableFactor::NestedJoin { table_with_joins, .. } => bindings(table_with_joins),
            _ => Vec::new(),
        })
        .collect()
}
