//! A line protocol for `scripts/operator-precedence.py`.
//!
//! Each input line is `COMMAND \t DIALECT \t HEX(SQL)`; each output line is
//! `OK \t HEX(...) [\t HEX(...)]` or `ERR \t HEX(message)`.
//!
//! * `parse`: parses SQL with sqlparser 0.64 in DIALECT (`postgres`, `mysql`, `sqlite`) and
//!   answers the statement re-rendered with every compound expression parenthesised (so
//!   the grouping sqlparser chose is explicit and the text can be sent to a server), and
//!   the top-level AND-conjuncts of the first SELECT/UPDATE/DELETE's WHERE, one a line, as
//!   tenantry's analyser collects them (through `AND` and parentheses).
//! * `sqlite`: runs SQL (one or more statements) on the bundled SQLite, one connection for
//!   the whole run, and answers the last statement's rows (`|` between columns, `\n`
//!   between rows, `NULL` for null) and what SQLite left unparsed after the last statement.
//!   Every parameter is bound to the integer 1 (the tenant, in the leak checks).
//!   `regexp(pattern, subject)` is substring search and `match(pattern, subject)` equality.
//! * `analyze`: tenantry's own analyser (feature `analyzer`, on by default): `OK` with the
//!   statement as generated code sends it and the bind names, or `ERR` with its problems.
//! * `sqlite-version`: the bundled SQLite's version.
use std::ffi::{CStr, CString};
use std::io::{BufRead, Write};
use std::ops::ControlFlow;

use sqlparser::ast::{visit_expressions_mut, Expr, SetExpr, Statement};
use sqlparser::dialect::{Dialect, MySqlDialect, PostgreSqlDialect, SQLiteDialect};
use sqlparser::parser::Parser;

fn hex(s: &str) -> String {
    s.bytes().map(|b| format!("{b:02x}")).collect()
}

fn unhex(s: &str) -> String {
    let bytes: Vec<u8> = (0..s.len() / 2).map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).unwrap()).collect();
    String::from_utf8(bytes).unwrap()
}

fn is_leaf(e: &Expr) -> bool {
    matches!(
        e,
        Expr::Identifier(_)
            | Expr::CompoundIdentifier(_)
            | Expr::Value(_)
            | Expr::Nested(_)
            | Expr::TypedString(_)
            | Expr::Function(_)
            | Expr::Wildcard(_)
            | Expr::QualifiedWildcard(_, _)
            | Expr::Subquery(_)
    )
}

/// Drops the parentheses that were written and puts one pair around every compound
/// expression: the rendering then shows sqlparser's tree, not the input's spelling.
fn canonical<V: sqlparser::ast::VisitMut>(v: &mut V) {
    let _ = visit_expressions_mut(v, |e| {
        while let Expr::Nested(inner) = e {
            *e = std::mem::replace(&mut **inner, Expr::Value(sqlparser::ast::Value::Null.into()));
        }
        if !is_leaf(e) {
            let inner = std::mem::replace(e, Expr::Value(sqlparser::ast::Value::Null.into()));
            *e = Expr::Nested(Box::new(inner));
        }
        ControlFlow::<()>::Continue(())
    });
}

fn conjuncts(e: &Expr, out: &mut Vec<Expr>) {
    match e {
        Expr::BinaryOp { left, op: sqlparser::ast::BinaryOperator::And, right } => {
            conjuncts(left, out);
            conjuncts(right, out);
        }
        Expr::Nested(inner) => conjuncts(inner, out),
        other => out.push(other.clone()),
    }
}

fn where_of(s: &Statement) -> Option<&Expr> {
    match s {
        Statement::Query(q) => match &*q.body {
            SetExpr::Select(sel) => sel.selection.as_ref(),
            _ => None,
        },
        Statement::Update(u) => u.selection.as_ref(),
        Statement::Delete(d) => d.selection.as_ref(),
        _ => None,
    }
}

fn parse(dialect: &str, sql: &str) -> Result<(String, String), String> {
    let d: Box<dyn Dialect> = match dialect {
        "postgres" => Box::new(PostgreSqlDialect {}),
        "mysql" => Box::new(MySqlDialect {}),
        "sqlite" => Box::new(SQLiteDialect {}),
        other => return Err(format!("unknown dialect {other}")),
    };
    let mut statements = Parser::parse_sql(&*d, sql).map_err(|e| e.to_string())?;
    let mut conj = Vec::new();
    if let Some(w) = statements.first().and_then(where_of) {
        conjuncts(w, &mut conj);
    }
    let conj: Vec<String> = conj
        .into_iter()
        .map(|mut c| {
            canonical(&mut c);
            c.to_string()
        })
        .collect();
    canonical(&mut statements);
    let text: Vec<String> = statements.iter().map(|s| s.to_string()).collect();
    Ok((text.join(";\n"), conj.join("\n")))
}

/// tenantry's analyser on `sql` (schema: tenant column `tenant_id`, no shared table,
/// scoped mode): `OK` with the SQL as generated code sends it (placeholders rewritten) and
/// the bind names, or `ERR` with the problems.
#[cfg(feature = "analyzer")]
fn analyze(dialect: &str, sql: &str) -> Result<(String, String), String> {
    use tenantry_analyzer::{analyze, placeholders, Backend, Mode, Schema};
    let backend = Backend::from_name(dialect).ok_or_else(|| format!("unknown backend {dialect}"))?;
    match analyze(sql, backend, &Schema::default(), Mode::Scoped) {
        Ok(a) => {
            let r = placeholders::rewrite(sql, &a.placeholders, backend);
            Ok((r.sql, r.binds.join(",")))
        }
        Err(problems) => Err(problems.iter().map(|p| p.problem.clone()).collect::<Vec<_>>().join("; ")),
    }
}

#[cfg(not(feature = "analyzer"))]
fn analyze(_dialect: &str, _sql: &str) -> Result<(String, String), String> {
    Err("UNAVAILABLE: probe built without the `analyzer` feature".to_string())
}

struct Sqlite(*mut libsqlite3_sys::sqlite3);

impl Sqlite {
    fn open() -> Sqlite {
        let mut db = std::ptr::null_mut();
        let name = CString::new(":memory:").unwrap();
        let rc = unsafe { libsqlite3_sys::sqlite3_open(name.as_ptr(), &mut db) };
        assert_eq!(rc, libsqlite3_sys::SQLITE_OK);
        // `X REGEXP Y` calls regexp(Y, X) and `X MATCH Y` calls match(Y, X); neither has a
        // built-in definition. Give both a simple one (substring, equality) so that
        // expressions using them evaluate and their grouping can be observed.
        for (name, f) in [("regexp", regexp as Func), ("match", matchfn as Func)] {
            let name = CString::new(name).unwrap();
            unsafe {
                libsqlite3_sys::sqlite3_create_function_v2(
                    db,
                    name.as_ptr(),
                    2,
                    libsqlite3_sys::SQLITE_UTF8 | libsqlite3_sys::SQLITE_DETERMINISTIC,
                    std::ptr::null_mut(),
                    Some(f),
                    None,
                    None,
                    None,
                )
            };
        }
        Sqlite(db)
    }

    fn error(&self) -> String {
        unsafe { CStr::from_ptr(libsqlite3_sys::sqlite3_errmsg(self.0)) }.to_string_lossy().into_owned()
    }

    /// Runs every statement of `sql`; the rows of the last one that has any, and the tail.
    fn run(&self, sql: &str) -> Result<(String, String), String> {
        use libsqlite3_sys::*;
        let c = CString::new(sql).map_err(|e| e.to_string())?;
        let mut at = c.as_ptr();
        let mut rows: Vec<String> = Vec::new();
        loop {
            let mut stmt = std::ptr::null_mut();
            let mut tail = std::ptr::null();
            let rc = unsafe { sqlite3_prepare_v2(self.0, at, -1, &mut stmt, &mut tail) };
            if rc != SQLITE_OK {
                return Err(self.error());
            }
            if stmt.is_null() {
                // Only whitespace or comments were left.
                let rest = unsafe { CStr::from_ptr(at) }.to_string_lossy().into_owned();
                return Ok((rows.join("\n"), rest));
            }
            let params = unsafe { sqlite3_bind_parameter_count(stmt) };
            for i in 1..=params {
                unsafe { sqlite3_bind_int(stmt, i, 1) };
            }
            let mut these = Vec::new();
            let has_columns = unsafe { sqlite3_column_count(stmt) } > 0;
            loop {
                let rc = unsafe { sqlite3_step(stmt) };
                if rc == SQLITE_DONE {
                    break;
                }
                if rc != SQLITE_ROW {
                    let e = self.error();
                    unsafe { sqlite3_finalize(stmt) };
                    return Err(e);
                }
                let n = unsafe { sqlite3_column_count(stmt) };
                let mut cols = Vec::new();
                for i in 0..n {
                    let text = unsafe {
                        if sqlite3_column_type(stmt, i) == SQLITE_NULL {
                            "NULL".to_string()
                        } else {
                            let p = sqlite3_column_text(stmt, i);
                            CStr::from_ptr(p as *const _).to_string_lossy().into_owned()
                        }
                    };
                    cols.push(text);
                }
                these.push(cols.join("|"));
            }
            unsafe { sqlite3_finalize(stmt) };
            if has_columns {
                rows = these;
            }
            at = tail;
        }
    }
}

type Func = unsafe extern "C" fn(*mut libsqlite3_sys::sqlite3_context, i32, *mut *mut libsqlite3_sys::sqlite3_value);

unsafe fn text_arg(argv: *mut *mut libsqlite3_sys::sqlite3_value, i: usize) -> Option<String> {
    let v = *argv.add(i);
    if libsqlite3_sys::sqlite3_value_type(v) == libsqlite3_sys::SQLITE_NULL {
        return None;
    }
    let p = libsqlite3_sys::sqlite3_value_text(v);
    Some(CStr::from_ptr(p as *const _).to_string_lossy().into_owned())
}

unsafe extern "C" fn regexp(ctx: *mut libsqlite3_sys::sqlite3_context, _n: i32, argv: *mut *mut libsqlite3_sys::sqlite3_value) {
    match (text_arg(argv, 0), text_arg(argv, 1)) {
        (Some(pattern), Some(subject)) => libsqlite3_sys::sqlite3_result_int(ctx, subject.contains(&pattern) as i32),
        _ => libsqlite3_sys::sqlite3_result_null(ctx),
    }
}

unsafe extern "C" fn matchfn(ctx: *mut libsqlite3_sys::sqlite3_context, _n: i32, argv: *mut *mut libsqlite3_sys::sqlite3_value) {
    match (text_arg(argv, 0), text_arg(argv, 1)) {
        (Some(pattern), Some(subject)) => libsqlite3_sys::sqlite3_result_int(ctx, (subject == pattern) as i32),
        _ => libsqlite3_sys::sqlite3_result_null(ctx),
    }
}

fn main() {
    let stdin = std::io::stdin();
    let mut out = std::io::stdout().lock();
    let mut sqlite: Option<Sqlite> = None;
    for line in stdin.lock().lines() {
        let line = line.unwrap();
        if line.is_empty() {
            continue;
        }
        let mut parts = line.splitn(3, '\t');
        let cmd = parts.next().unwrap_or("");
        let dialect = parts.next().unwrap_or("");
        let sql = unhex(parts.next().unwrap_or(""));
        let answer = match cmd {
            "parse" => parse(dialect, &sql),
            "sqlite" => sqlite.get_or_insert_with(Sqlite::open).run(&sql),
            "analyze" => analyze(dialect, &sql),
            "sqlite-reset" => {
                sqlite = None;
                Ok((String::new(), String::new()))
            }
            "sqlite-version" => Ok((
                unsafe { CStr::from_ptr(libsqlite3_sys::sqlite3_libversion()) }.to_string_lossy().into_owned(),
                String::new(),
            )),
            other => Err(format!("unknown command {other}")),
        };
        match answer {
            Ok((a, b)) => writeln!(out, "OK\t{}\t{}", hex(&a), hex(&b)).unwrap(),
            Err(e) => writeln!(out, "ERR\t{}", hex(&e)).unwrap(),
        }
        out.flush().unwrap();
    }
}
