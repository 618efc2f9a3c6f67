//! What a distributed database (Citus, [`crate::Schema::distributed`]) cannot run on the
//! tenant's shard alone, or at all: found here, worded in `wording.rs`. Measured on Citus
//! 13.2 with tenant tables distributed on the tenant column and co-located:
//!
//! * a subquery anywhere in an INSERT (VALUES, RETURNING, ON CONFLICT) is refused by Citus
//!   ("subqueries are not supported within INSERT queries");
//! * `INSERT ... SELECT` from a tenant table runs on every shard: Citus plans it per
//!   shard before it binds the tenant parameter (a CTE that selects the rows first runs on
//!   one shard, and its rows are inserted on theirs);
//! * an `ON CONFLICT` target without the tenant column matches no unique key: Citus
//!   refuses every unique key that does not include the distribution column.
//!
//! What the generated SQL fixes itself (a table confined only through a correlated
//! subquery, which Citus runs on every shard) is not refused: see `Pin`.

use super::*;

/// Why Citus cannot run an INSERT on one shard.
pub(super) enum Obstacle<'a> {
    /// A subquery inside the INSERT (not its SELECT source).
    Subquery { table: &'a str, at: Option<(usize, usize)> },
    /// `INSERT ... SELECT` reading a tenant table.
    InsertSelect { table: &'a str, source: String, at: Option<(usize, usize)> },
    /// An `ON CONFLICT (...)` target without the tenant column.
    ConflictTarget { table: &'a str, target: String, tc: &'a str, at: Option<(usize, usize)> },
}

impl Checker<'_> {
    /// Whether statements must run on one shard of a Citus cluster.
    pub(super) fn distributed(&self) -> bool {
        self.schema.distributed && self.backend == Backend::Postgres
    }

    /// The obstacles of an INSERT into `table` (tenant column `tc`, empty for a child).
    pub(super) fn distributed_insert(&mut self, ins: &Insert, table: &str, tc: &str, ctx: &str) {
        let values = ins.source.as_ref().and_then(|s| match s.body.as_ref() {
            SetExpr::Values(values) => first_subquery(values),
            _ => None,
        });
        let subquery = values.or_else(|| first_subquery(&ins.returning)).or_else(|| first_subquery(&ins.on));
        if let Some(q) = subquery {
            let at = locate(self.sql, q);
            self.report_distributed(Obstacle::Subquery { table, at }, ctx);
        }
        if let Some(source) = &ins.source
            && !matches!(source.body.as_ref(), SetExpr::Values(_))
            && let Some(read) = self.tenant_table_read(source)
        {
            let at = last_ident(&read).and_then(|i| locate(self.sql, i.span));
            self.report_distributed(Obstacle::InsertSelect { table, source: unquoted(&read), at }, ctx);
        }
        if let Some(OnInsert::OnConflict(oc)) = &ins.on
            && let Some(ConflictTarget::Columns { columns, .. }) = &oc.conflict_target
            && !tc.is_empty()
            && !columns.iter().any(|c| self.is_column(c, tc))
        {
            let target = columns.iter().map(|c| c.to_string()).collect::<Vec<_>>().join(", ");
            let at = match (columns.first(), columns.last()) {
                (Some(first), Some(last)) => locate(self.sql, first.span.union(&last.span)),
                _ => None,
            };
            self.report_distributed(Obstacle::ConflictTarget { table, target, tc, at }, ctx);
        }
    }

    /// The first base table of `q` that is tenant-owned or owned through a parent (not a
    /// CTE of the statement).
    fn tenant_table_read(&self, q: &Query) -> Option<ObjectName> {
        let mut found = None;
        let _ = q.visit(&mut RelationVisitor(|r: &ObjectName| {
            let parts: Vec<Ident> = r.0.iter().filter_map(|p| p.as_ident().cloned()).collect();
            let cte = matches!(parts.as_slice(), [one] if !matches!(self.cte(one), CteRef::Base));
            let owned = matches!(self.relation_kind(&parts), RelationKind::Owned(_) | RelationKind::Child(_));
            if !cte && owned && found.is_none() {
                found = Some(r.clone());
            }
        }));
        found
    }
}

/// Where the first subquery of `node` is.
fn first_subquery<T: Visit>(node: &T) -> Option<Span> {
    struct First(Option<Span>);
    impl Visitor for First {
        type Break = ();
        fn pre_visit_expr(&mut self, e: &Expr) -> ControlFlow<()> {
            match e {
                Expr::Subquery(_) | Expr::Exists { .. } | Expr::In { target: InTarget::Subquery(_), .. } => {
                    self.0 = Some(e.span());
                    ControlFlow::Break(())
                }
                _ => ControlFlow::Continue(()),
            }
        }
    }
    let mut first = First(None);
    let _ = node.visit(&mut first);
    first.0
}

/// Calls its closure on every table reference.
struct RelationVisitor<F>(F);

impl<F: FnMut(&ObjectName)> Visitor for RelationVisitor<F> {
    type Break = ();
    fn pre_visit_relation(&mut self, r: &ObjectName) -> ControlFlow<()> {
        (self.0)(r);
        ControlFlow::Continue(())
    }
}
