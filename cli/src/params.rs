//! The parameters of SQL written for sqlx (`$1`, `?`, SQLite's `?NNN`, `:name`, `@name`,
//! `$name`) or for sqlc (`@name`, `sqlc.arg(name)`, `sqlc.narg(name)`, `sqlc.slice(name)`),
//! and their rewrite into the analyser's `:name` placeholders, with offsets mapped back.
//!
//! Which occurrences are *one* parameter decides confinement (two tenant columns compared
//! with two parameters are two tenants), so each occurrence gets a key: `$2` is `$2`
//! wherever it occurs; each MySQL `?` is its own parameter, unless the Rust code binds the
//! same variable to several of them; sqlc's names are names.

use tenantry_analyzer::Backend;
use tenantry_analyzer::placeholders::skip_text;

/// Whose syntax the SQL is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Syntax {
    /// SQL passed to sqlx: the database's own parameters.
    Sqlx,
    /// A sqlc query file: sqlc's named parameters, and the database's.
    Sqlc,
}

/// One parameter occurrence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Param {
    /// Byte range in the statement.
    pub start: usize,
    /// Byte offset just past it.
    pub end: usize,
    /// Occurrences with one key are one parameter.
    pub key: String,
    /// A list (`sqlc.slice`): never a tenant, it expands to several values.
    pub list: bool,
}

impl Param {
    /// The parameter as written.
    pub fn text<'a>(&self, sql: &'a str) -> &'a str {
        &sql[self.start..self.end]
    }
}

/// Finds the parameters of `sql` as `backend` lexes it (strings, quoted names and
/// comments hold none). `binds` are the Rust expressions bound to positions 1, 2, ...
/// when the call shows them: positions bound to one plain variable are one parameter.
pub fn scan(sql: &str, backend: Backend, syntax: Syntax, binds: Option<&[String]>) -> Vec<Param> {
    let bytes = sql.as_bytes();
    let mut out = Vec::new();
    // SQLite numbers `?` after the highest number so far, and a name at its first use.
    let mut highest = 0usize;
    let mut named: Vec<(String, usize)> = Vec::new();
    let mut questions = 0usize;
    let mut i = 0;
    let positional = |n: usize| match binds.and_then(|b| b.get(n.wrapping_sub(1))) {
        Some(expr) if plain_expression(expr) => format!("bind {}", expr.trim_start_matches('&').trim()),
        _ => format!("#{n}"),
    };
    while i < bytes.len() {
        if let Some(end) = skip_text(sql, i, backend) {
            i = end;
            continue;
        }
        let c = bytes[i];
        let next = bytes.get(i + 1).copied();
        match c {
            b'$' if backend == Backend::Postgres && next.is_some_and(|b| b.is_ascii_digit()) => {
                let end = digits_end(bytes, i + 1);
                let n: usize = sql[i + 1..end].parse().unwrap_or(usize::MAX);
                out.push(Param { start: i, end, key: positional(n), list: false });
                i = end;
            }
            b'?' if backend != Backend::Postgres => {
                let end = digits_end(bytes, i + 1);
                let n = if end > i + 1 && backend == Backend::Sqlite {
                    sql[i + 1..end].parse().unwrap_or(usize::MAX)
                } else if backend == Backend::Sqlite {
                    highest + 1
                } else {
                    questions += 1;
                    questions
                };
                highest = highest.max(n);
                out.push(Param { start: i, end, key: positional(n), list: false });
                i = end;
            }
            b'@' if syntax == Syntax::Sqlc && next.is_some_and(is_ident_start) => {
                let end = ident_end(bytes, i + 1);
                out.push(Param { start: i, end, key: sql[i + 1..end].to_string(), list: false });
                i = end;
            }
            b':' | b'@' | b'$'
                if syntax == Syntax::Sqlx
                    && backend == Backend::Sqlite
                    && next.is_some_and(|b| is_ident_start(b) || b.is_ascii_digit()) =>
            {
                let end = ident_end(bytes, i + 1);
                let name = sql[i..end].to_string();
                let n = match named.iter().find(|(n, _)| *n == name) {
                    Some((_, n)) => *n,
                    None => {
                        highest += 1;
                        named.push((name, highest));
                        highest
                    }
                };
                out.push(Param { start: i, end, key: positional(n), list: false });
                i = end;
            }
            b':' if next == Some(b':') => i += 2,
            _ if is_ident_start(c) => {
                let end = ident_end(bytes, i);
                if syntax == Syntax::Sqlc
                    && sql[i..end].eq_ignore_ascii_case("sqlc")
                    && let Some((param, after)) = sqlc_function(sql, i, end)
                {
                    out.push(param);
                    i = after;
                } else {
                    i = end;
                }
            }
            _ => i += 1,
        }
    }
    out
}

/// `sqlc.arg(name)`, `sqlc.narg(name)` or `sqlc.slice(name)` at `start` (`word_end` just
/// past `sqlc`): the parameter and where it ends.
fn sqlc_function(sql: &str, start: usize, word_end: usize) -> Option<(Param, usize)> {
    let bytes = sql.as_bytes();
    if bytes.get(word_end) != Some(&b'.') {
        return None;
    }
    let f_end = ident_end(bytes, word_end + 1);
    let function = sql[word_end + 1..f_end].to_ascii_lowercase();
    let list = match function.as_str() {
        "arg" | "narg" => false,
        "slice" => true,
        _ => return None,
    };
    let open = f_end + sql[f_end..].len() - sql[f_end..].trim_start().len();
    if bytes.get(open) != Some(&b'(') {
        return None;
    }
    let close = open + sql[open..].find(')')?;
    let name = sql[open + 1..close].trim().trim_matches(['\'', '"', '`']).to_string();
    (!name.is_empty()).then(|| (Param { start, end: close + 1, key: name, list }, close + 1))
}

/// A variable, a field or a reference to one: the same text is the same value each time
/// it is bound. A call (`tenant()`) may not be.
fn plain_expression(expr: &str) -> bool {
    let expr = expr.trim_start_matches('&').trim();
    !expr.is_empty() && expr.chars().all(|c| c.is_alphanumeric() || matches!(c, '_' | '.' | ':' | ' '))
}

fn is_ident_start(b: u8) -> bool {
    b.is_ascii_alphabetic() || b == b'_' || b >= 0x80
}

fn ident_end(bytes: &[u8], mut i: usize) -> usize {
    while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_' || bytes[i] >= 0x80) {
        i += 1;
    }
    i
}

fn digits_end(bytes: &[u8], mut i: usize) -> usize {
    while i < bytes.len() && bytes[i].is_ascii_digit() {
        i += 1;
    }
    i
}

/// A statement with some ranges replaced, and the way back to the original's offsets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rewritten {
    /// The rewritten statement.
    pub sql: String,
    /// (start in `sql`, end in `sql`, start in the original, end in the original) of each
    /// replaced range, in order.
    replaced: Vec<(usize, usize, usize, usize)>,
}

impl Rewritten {
    /// Replaces each `(start, end, text)` range of `sql` (in order, not overlapping).
    pub fn new<'a>(sql: &str, replacements: impl IntoIterator<Item = (usize, usize, &'a str)>) -> Rewritten {
        let mut out = String::with_capacity(sql.len() + 16);
        let mut replaced = Vec::new();
        let mut last = 0;
        for (start, end, text) in replacements {
            out.push_str(&sql[last..start]);
            replaced.push((out.len(), out.len() + text.len(), start, end));
            out.push_str(text);
            last = end;
        }
        out.push_str(&sql[last..]);
        Rewritten { sql: out, replaced }
    }

    /// The original offset of offset `at` of the rewritten statement; inside a
    /// replacement, its start (or, for the `end` of a range, its end).
    pub fn original(&self, at: usize, end: bool) -> usize {
        let mut shift: isize = 0;
        for &(new_start, new_end, old_start, old_end) in &self.replaced {
            if at < new_start || (end && at == new_start) {
                break;
            }
            if at < new_end || (end && at == new_end) {
                return if end && at > new_start { old_end } else { old_start };
            }
            shift = old_end as isize - new_end as isize;
        }
        (at as isize + shift).max(0) as usize
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(sql: &str, backend: Backend, syntax: Syntax) -> Vec<(String, String)> {
        scan(sql, backend, syntax, None).into_iter().map(|p| (p.text(sql).to_string(), p.key)).collect()
    }

    fn pairs(items: &[(&str, &str)]) -> Vec<(String, String)> {
        items.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect()
    }

    #[test]
    fn postgres_numbers_are_reused_and_strings_hold_none() {
        let sql = "SELECT '$1', \"$2\", $tag$ $3 $tag$ FROM t WHERE a = $1 AND b = $2 OR c = $1 -- $4";
        assert_eq!(keys(sql, Backend::Postgres, Syntax::Sqlx), pairs(&[("$1", "#1"), ("$2", "#2"), ("$1", "#1")]));
        // `?` is a jsonb operator there.
        assert!(keys("SELECT a FROM t WHERE d ? 'k'", Backend::Postgres, Syntax::Sqlx).is_empty());
    }

    #[test]
    fn each_mysql_question_mark_is_its_own_parameter() {
        let sql = "SELECT a FROM t WHERE a = ? AND b = '?' AND c = ? # ?";
        assert_eq!(keys(sql, Backend::MySql, Syntax::Sqlx), pairs(&[("?", "#1"), ("?", "#2")]));
    }

    #[test]
    fn sqlite_numbers_questions_and_names_as_sqlite_does() {
        let sql = "SELECT a FROM t WHERE a = ?2 AND b = ? AND c = :n AND d = @n AND e = :n AND f = $1";
        assert_eq!(
            keys(sql, Backend::Sqlite, Syntax::Sqlx),
            pairs(&[("?2", "#2"), ("?", "#3"), (":n", "#4"), ("@n", "#5"), (":n", "#4"), ("$1", "#6")])
        );
    }

    #[test]
    fn sqlc_names() {
        let sql = "SELECT a FROM t WHERE t.tenant_id = @tenant_id AND id = sqlc.arg(id) AND x = sqlc.narg('x') AND y IN (sqlc.slice(ys)) AND z = $1 AND a @> b";
        let found = scan(sql, Backend::Postgres, Syntax::Sqlc, None);
        let texts: Vec<&str> = found.iter().map(|p| p.text(sql)).collect();
        assert_eq!(texts, ["@tenant_id", "sqlc.arg(id)", "sqlc.narg('x')", "sqlc.slice(ys)", "$1"]);
        let found_keys: Vec<&str> = found.iter().map(|p| p.key.as_str()).collect();
        assert_eq!(found_keys, ["tenant_id", "id", "x", "ys", "#1"]);
        assert!(found[3].list && !found[0].list);
        // sqlx SQL has no `@name` on PostgreSQL (it is an operator there).
        assert!(keys(sql, Backend::Postgres, Syntax::Sqlx).iter().all(|(t, _)| !t.starts_with('@')));
    }

    #[test]
    fn one_variable_bound_twice_is_one_parameter() {
        let binds = ["tenant".to_string(), "id".to_string(), "&tenant".to_string(), "next()".to_string()];
        let sql = "SELECT 1 FROM a, b WHERE a.t = ? AND a.id = ? AND b.t = ? AND b.x = ?";
        let found = scan(sql, Backend::MySql, Syntax::Sqlx, Some(&binds));
        let keys: Vec<&str> = found.iter().map(|p| p.key.as_str()).collect();
        assert_eq!(keys, ["bind tenant", "bind id", "bind tenant", "#4"]);
    }

    #[test]
    fn offsets_map_back_through_the_rewrite() {
        let sql = "SELECT a FROM t WHERE b = $1 AND c = $2";
        let b = sql.find("$1").unwrap();
        let c = sql.find("$2").unwrap();
        let r = Rewritten::new(sql, [(b, b + 2, ":tenant"), (c, c + 2, ":tenantry_p2")]);
        assert_eq!(r.sql, "SELECT a FROM t WHERE b = :tenant AND c = :tenantry_p2");
        let and = r.sql.find("AND").unwrap();
        assert_eq!(r.original(and, false), sql.find("AND").unwrap());
        let p2 = r.sql.find(":tenantry_p2").unwrap();
        assert_eq!(r.original(p2 + 3, false), c);
        assert_eq!(r.original(p2 + 12, true), c + 2);
        assert_eq!(r.original(r.sql.len(), true), sql.len());
        assert_eq!(r.original(3, false), 3);
    }
}
