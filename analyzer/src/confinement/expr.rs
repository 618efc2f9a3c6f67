//! Helpers on expressions, names and locations.

use super::*;

// ----- helpers on expressions ----------------------------------------------------------

/// The top-level AND-conjuncts of a condition.
pub(super) fn conjuncts(e: &Expr) -> Vec<&Expr> {
    match e {
        Expr::BinaryOp { left, op: BinaryOperator::And, right } => {
            let mut v = conjuncts(left);
            v.extend(conjuncts(right));
            v
        }
        Expr::Nested(inner) => conjuncts(inner),
        other => vec![other],
    }
}

/// The pairs of values a condition holds equal: `a = b`, `a IN (b)`, and each pair of a
/// row-value equality `(a, b) = (c, d)`, which means `a = c AND b = d`.
pub(super) fn equalities(e: &Expr) -> Vec<(&Expr, &Expr)> {
    match strip_nested(e) {
        Expr::BinaryOp { left, op: BinaryOperator::Eq, right } => pairs(left, right),
        Expr::In { expr, target: InTarget::List(list), negated: false, .. } if list.len() == 1 => pairs(expr, &list[0]),
        _ => Vec::new(),
    }
}

/// `a = b`, or pair by pair for row values.
pub(super) fn pairs<'a>(left: &'a Expr, right: &'a Expr) -> Vec<(&'a Expr, &'a Expr)> {
    match (strip_nested(left), strip_nested(right)) {
        (Expr::Tuple(ls), Expr::Tuple(rs)) if ls.len() == rs.len() => ls.iter().zip(rs).collect(),
        _ => vec![(left, right)],
    }
}

pub(super) fn strip_nested(e: &Expr) -> &Expr {
    match e {
        Expr::Nested(inner) => strip_nested(inner),
        other => other,
    }
}

/// Parentheses, and casts around a placeholder: what a value is, for resolving and for
/// messages. Whether a cast keeps `:tenant` the tenant is [`lossless_cast`]'s call.
pub(super) fn strip(e: &Expr) -> &Expr {
    match e {
        Expr::Nested(inner) => strip(inner),
        // Stripped once: stripping in the guard and again in the arm doubled the work at
        // each cast, and `:tenant::text::text...` (thirty casts) took minutes.
        Expr::Cast { expr, .. } => match strip(expr) {
            inner if is_placeholder(inner) => inner,
            _ => e,
        },
        other => other,
    }
}

pub(super) fn is_placeholder(e: &Expr) -> bool {
    matches!(e, Expr::Value(v) if matches!(&v.value, Value::Placeholder(_)))
}

pub(super) fn is_literal(e: &Expr) -> bool {
    matches!(e, Expr::Value(v) if !matches!(&v.value, Value::Placeholder(_)))
}

/// Whether casting the bound tenant to `ty` keeps every value as it is (or fails), so that
/// `tenant_id = CAST(:tenant AS ty)` still means one tenant. Casts that shorten
/// (`varchar(1)`, PostgreSQL's `char` is `char(1)`), round (`numeric(3, 0)`, floats) or
/// parse a numeric prefix (MySQL's `SIGNED` and SQLite's numeric affinities turn `'12abc'`
/// into 12 and `'acme'` into 0) would compare with another tenant's id.
pub(super) fn lossless_cast(ty: &DataType, backend: Backend) -> bool {
    let unbounded_text = matches!(
        ty,
        DataType::Text | DataType::Varchar(None) | DataType::CharacterVarying(None) | DataType::CharVarying(None)
    );
    unbounded_text
        || match backend {
            // PostgreSQL casts text to uuid or an integer strictly: a value that does
            // not fit is an error, never another value.
            Backend::Postgres => matches!(
                ty,
                DataType::Uuid
                    | DataType::Int(None)
                    | DataType::Integer(None)
                    | DataType::BigInt(None)
                    | DataType::Int4(None)
                    | DataType::Int8(None)
            ),
            // MySQL's `CAST(x AS CHAR)` has no length limit.
            Backend::MySql => matches!(ty, DataType::Char(None)),
            Backend::Sqlite => false,
        }
}

/// The column a bare or qualified reference names.
pub(super) fn column_ident(e: &Expr) -> Option<&Ident> {
    match strip(e) {
        Expr::Identifier(id) => Some(id),
        Expr::CompoundIdentifier(parts) => parts.last(),
        _ => None,
    }
}

/// The last part of an object name, when it is an identifier.
pub(super) fn last_ident(name: &ObjectName) -> Option<&Ident> {
    name.0.last().and_then(|p| p.as_ident())
}

/// A name as the user means it, without the quotes (`"Invoices"`, `` `invoices` ``) that
/// would clash with the backticks of a message.
pub(super) fn unquoted(name: &ObjectName) -> String {
    name.0.iter().map(|p| p.as_ident().map_or_else(|| p.to_string(), |i| i.value.clone())).collect::<Vec<_>>().join(".")
}

pub(super) fn last_part(name: &ObjectName) -> String {
    name.0
        .last()
        .and_then(|p| p.as_ident())
        .map(|i| i.value.to_ascii_lowercase())
        .unwrap_or_else(|| name.to_string().to_ascii_lowercase())
}

/// Whether `e` mentions a column named `column`, however qualified.
pub(super) fn mentions_column(e: &Expr, column: &str) -> bool {
    struct Find<'a>(&'a str, bool);
    impl Visitor for Find<'_> {
        type Break = ();
        fn pre_visit_expr(&mut self, e: &Expr) -> ControlFlow<()> {
            self.1 |= match e {
                Expr::Identifier(id) => same_name(&id.value, self.0),
                Expr::CompoundIdentifier(p) => p.last().is_some_and(|id| same_name(&id.value, self.0)),
                _ => false,
            };
            if self.1 { ControlFlow::Break(()) } else { ControlFlow::Continue(()) }
        }
    }
    let mut f = Find(column, false);
    let _ = e.visit(&mut f);
    f.1
}

/// Whether `e` mentions `binding.tenant_column` (or the bare column when it can only
/// mean that source).
pub(super) fn mentions_tenant_column(e: &Expr, binding: &str, tc: &str, qualified_only: bool) -> bool {
    let mut found = false;
    own_exprs(e, |e| {
        found |= match e {
            Expr::Identifier(id) => !qualified_only && same_name(&id.value, tc),
            Expr::CompoundIdentifier(p) if p.len() >= 2 => {
                same_name(&p[p.len() - 1].value, tc) && same_name(&p[p.len() - 2].value, binding)
            }
            _ => false,
        }
    });
    found
}

pub(super) fn function_args(f: &sqlparser::ast::Function) -> Vec<&Expr> {
    match &f.args {
        sqlparser::ast::FunctionArguments::List(list) => list.args.iter().flat_map(function_arg_exprs).collect(),
        _ => Vec::new(),
    }
}

pub(super) fn function_arg_exprs(a: &sqlparser::ast::FunctionArg) -> Option<&Expr> {
    use sqlparser::ast::{FunctionArg, FunctionArgExpr};
    let arg = match a {
        FunctionArg::Named { arg, .. } | FunctionArg::ExprNamed { arg, .. } | FunctionArg::Unnamed(arg) => arg,
    };
    match arg {
        FunctionArgExpr::Expr(e) => Some(e),
        _ => None,
    }
}

/// Whether `body` reads a table (or CTE) called `name`, anywhere inside.
pub(super) fn reads_relation(body: &SetExpr, name: &Ident, backend: Backend) -> bool {
    struct Reads<'a>(&'a Ident, Backend, bool);
    impl Visitor for Reads<'_> {
        type Break = ();
        fn pre_visit_relation(&mut self, r: &ObjectName) -> ControlFlow<()> {
            // A name that may be the CTE's (by case rules) counts as reading it: the
            // branch is then not taken as a base case of the induction.
            self.2 |= r.0.len() == 1
                && last_ident(r).is_some_and(|i| names::compare(self.1, Kind::Relation, i, self.0) != Match::Different);
            ControlFlow::Continue(())
        }
    }
    let mut v = Reads(name, backend, false);
    let _ = body.visit(&mut v);
    v.2
}

pub(super) fn flatten_set_operation<'a>(e: &'a SetExpr, out: &mut Vec<&'a SetExpr>, op_name: &mut &'static str) {
    match e {
        SetExpr::SetOperation { left, right, op, .. } => {
            *op_name = match op {
                SetOperator::Union => "UNION",
                SetOperator::Intersect => "INTERSECT",
                SetOperator::Except | SetOperator::Minus => "EXCEPT",
            };
            flatten_set_operation(left, out, op_name);
            flatten_set_operation(right, out, op_name);
        }
        other => out.push(other),
    }
}

/// The output of a set operation: the first branch names the columns, and a column
/// holds the tenant when it does in every branch, position by position (the names of
/// later branches do not matter to the database).
pub(super) fn intersect(outputs: Vec<Output>) -> Output {
    // A key holds when every branch has the same key in that position.
    let keys: Vec<(usize, Key)> = match outputs.first() {
        Some(first) => first
            .keys
            .iter()
            .filter(|(pos, k)| {
                outputs
                    .iter()
                    .all(|o| o.keys.iter().any(|(p, x)| p == pos && x.table == k.table && x.column == k.column))
            })
            .cloned()
            .collect(),
        None => Vec::new(),
    };
    let mut iter = outputs.into_iter();
    let Some(first) = iter.next() else { return Output::default() };
    let positions = iter.try_fold(first.positions, |acc, o| match (acc, o.positions) {
        (Some(a), Some(b)) if a.len() == b.len() => {
            Some(Some(a.into_iter().zip(b).map(|((name, x), (_, y))| (name, x && y)).collect()))
        }
        _ => None,
    });
    match positions {
        Some(Some(positions)) => Output { keys, ..Output::from_positions(positions) },
        // A wildcard in some branch: which position holds what is unknown.
        _ => Output::default(),
    }
}

/// Applies a `name(col, ...)` column list of a CTE or derived table to its output: the
/// list renames the first columns, position by position.
pub(super) fn renamed(out: Output, columns: &[Ident], backend: Backend) -> Output {
    if columns.is_empty() {
        return out;
    }
    match out.positions {
        Some(p) => {
            let positions: Vec<(Option<String>, bool)> = p
                .into_iter()
                .enumerate()
                .map(|(i, (name, tenant))| (columns.get(i).map(|c| names::stored(backend, c)).or(name), tenant))
                .collect();
            let keys = out
                .keys
                .into_iter()
                .map(|(pos, k)| {
                    let name = positions.get(pos).and_then(|(n, _)| n.clone()).unwrap_or_default();
                    (pos, Key { name, ..k })
                })
                .collect();
            Output { keys, ..Output::from_positions(positions) }
        }
        // After a wildcard the positions are unknown, and so is what the new names hold.
        None => Output::default(),
    }
}

/// Calls `f` on every expression of `node` outside its subqueries: a subquery's own
/// columns are its business, and a correlated reference there is judged with it.
pub(super) fn own_exprs<V: Visit + ?Sized>(node: &V, mut f: impl FnMut(&Expr)) {
    struct Own<F> {
        depth: usize,
        f: F,
    }
    impl<F: FnMut(&Expr)> Visitor for Own<F> {
        type Break = ();
        fn pre_visit_query(&mut self, _q: &Query) -> ControlFlow<()> {
            self.depth += 1;
            ControlFlow::Continue(())
        }
        fn post_visit_query(&mut self, _q: &Query) -> ControlFlow<()> {
            self.depth -= 1;
            ControlFlow::Continue(())
        }
        fn pre_visit_expr(&mut self, e: &Expr) -> ControlFlow<()> {
            if self.depth == 0 {
                (self.f)(e);
            }
            ControlFlow::Continue(())
        }
    }
    let _ = node.visit(&mut Own { depth: 0, f: &mut f });
}

/// The subqueries directly inside `node` (not those nested in them: each query checks
/// its own).
pub(super) fn subqueries<V: Visit + ?Sized>(node: &V) -> Vec<Query> {
    struct Collect {
        depth: usize,
        found: Vec<Query>,
    }
    impl Visitor for Collect {
        type Break = ();
        fn pre_visit_query(&mut self, q: &Query) -> ControlFlow<()> {
            if self.depth == 0 {
                self.found.push(q.clone());
            }
            self.depth += 1;
            ControlFlow::Continue(())
        }
        fn post_visit_query(&mut self, _q: &Query) -> ControlFlow<()> {
            self.depth -= 1;
            ControlFlow::Continue(())
        }
    }
    let mut c = Collect { depth: 0, found: Vec::new() };
    let _ = node.visit(&mut c);
    c.found
}

pub(super) fn truncate(s: &str) -> String {
    const MAX: usize = 80;
    if s.chars().count() <= MAX {
        s.to_string()
    } else {
        let cut: String = s.chars().take(MAX).collect();
        format!("{cut}...")
    }
}

// ----- locations ----------------------------------------------------------------------

/// Converts sqlparser's 1-based line/column span into a byte range of `sql`.
///
/// Both ends are character boundaries, so that the range can slice `sql`. A span that
/// ends at or before its start (as a parse error's location does) or past the statement
/// is widened to the one character at its start: `start + 1` would cut a multi-byte
/// character (a statement starting with `ź` panicked in `render`).
pub(crate) fn locate(sql: &str, span: Span) -> Option<(usize, usize)> {
    Locator::new(sql).locate(span)
}

/// [`locate`] for many spans in source order (the tokens of a statement): each search
/// starts where the last one stopped, so that locating every token is linear in the
/// statement's length, not quadratic (each search from the start took seconds on a
/// 20 kB statement).
pub(crate) struct Locator<'s> {
    sql: &'s str,
    /// The position the next search starts from: byte offset, line, column.
    at: (usize, u64, u64),
}

impl<'s> Locator<'s> {
    pub(crate) fn new(sql: &'s str) -> Self {
        Locator { sql, at: (0, 1, 1) }
    }

    /// See [`locate`].
    pub(crate) fn locate(&mut self, span: Span) -> Option<(usize, usize)> {
        let start = self.offset(span.start)?;
        let one_char = start + self.sql[start..].chars().next().map_or(0, char::len_utf8);
        let end = self.offset(span.end).filter(|&end| end > start).unwrap_or(one_char);
        Some((start, end))
    }

    /// The byte offset of a 1-based line and column; the statement's length just past its
    /// end, `None` for a location outside it.
    fn offset(&mut self, at: Location) -> Option<usize> {
        if at.line == 0 || at.column == 0 {
            return None;
        }
        if (at.line, at.column) < (self.at.1, self.at.2) {
            self.at = (0, 1, 1);
        }
        let (from, mut line, mut column) = self.at;
        for (i, ch) in self.sql[from..].char_indices() {
            if line == at.line && column == at.column {
                self.at = (from + i, line, column);
                return Some(from + i);
            }
            if ch == '\n' {
                line += 1;
                column = 1;
            } else {
                column += 1;
            }
        }
        self.at = (self.sql.len(), line, column);
        (line == at.line && column == at.column).then_some(self.sql.len())
    }
}
