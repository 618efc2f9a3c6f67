//! Named placeholders (`:name`) and their rewrite into each backend's positional form.
//!
//! The scan is lexical, not a parse: it must agree with the database about what is a
//! string, a quoted identifier or a comment, because a `:name` inside any of those is
//! text, not a parameter. `::` (PostgreSQL's cast) is never a placeholder.

use crate::Backend;

/// One `:name` occurrence in the statement, in source order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placeholder {
    /// The name without the colon.
    pub name: String,
    /// Byte range of `:name` in the statement.
    pub start: usize,
    /// Byte offset just past the name.
    pub end: usize,
}

/// A parameter in the database's own syntax (`?`, `$1`, `?1`, SQLite's `@name` and
/// `$name`) written by hand: tenantry binds its own `:name` placeholders only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Positional {
    /// The text as written.
    pub text: String,
    /// Byte offset in the statement.
    pub start: usize,
}

/// The placeholders of one statement.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Placeholders {
    /// Every `:name`, in source order.
    pub occurrences: Vec<Placeholder>,
    /// Hand-written positional parameters, which are an error in a repository.
    pub positional: Vec<Positional>,
    /// Byte offsets of MySQL's `/*! ... */` and MariaDB's `/*M! ... */` comments, which
    /// the server runs as SQL (or skips, by version): what the analyser parsed is then not
    /// what runs, so they are an error in a repository.
    pub executable_comments: Vec<usize>,
}

impl Placeholders {
    /// Distinct names in order of first appearance.
    pub fn names(&self) -> Vec<&str> {
        let mut names: Vec<&str> = Vec::new();
        for p in &self.occurrences {
            if !names.contains(&p.name.as_str()) {
                names.push(&p.name);
            }
        }
        names
    }

    /// How often `name` occurs.
    pub fn count(&self, name: &str) -> usize {
        self.occurrences.iter().filter(|p| p.name == name).count()
    }
}

/// The statement as the backend's driver wants it, and the names to bind in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rewritten {
    /// SQL with every `:name` replaced by `$n` (PostgreSQL) or `?` (SQLite, MySQL).
    pub sql: String,
    /// Names to bind, in bind order. PostgreSQL reuses `$n`, so each name appears once;
    /// `?` is strictly positional, so a name used twice is bound twice.
    pub binds: Vec<String>,
}

/// Finds the placeholders of `sql` as `backend` would lex it.
pub fn scan(sql: &str, backend: Backend) -> Placeholders {
    let bytes = sql.as_bytes();
    let mut out = Placeholders::default();
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        if let Some(end) = skip_text(sql, i, backend) {
            if backend == Backend::MySql && matches!(&bytes[i..], [b'/', b'*', b'!', ..] | [b'/', b'*', b'M', b'!', ..])
            {
                out.executable_comments.push(i);
            }
            i = end;
            continue;
        }
        match c {
            b'$' if backend == Backend::Postgres => {
                if bytes.get(i + 1).is_some_and(u8::is_ascii_digit) {
                    let end = digits_end(bytes, i + 1);
                    out.positional.push(Positional { text: sql[i..end].to_string(), start: i });
                    i = end;
                } else {
                    i += 1;
                }
            }
            // SQLite also binds `$name`, `@name` and `$1` itself: left unbound by the
            // generated code, they would silently be NULL.
            b'$' | b'@'
                if backend == Backend::Sqlite
                    && bytes.get(i + 1).is_some_and(|b| b.is_ascii_digit() || is_ident_start(*b)) =>
            {
                let end = ident_end(bytes, i + 1);
                out.positional.push(Positional { text: sql[i..end].to_string(), start: i });
                i = end;
            }
            // In PostgreSQL `?` is a jsonb operator, not a parameter.
            b'?' if backend != Backend::Postgres => {
                let end = digits_end(bytes, i + 1);
                out.positional.push(Positional { text: sql[i..end].to_string(), start: i });
                i = end;
            }
            b':' => {
                if bytes.get(i + 1) == Some(&b':') {
                    i += 2;
                } else if bytes.get(i + 1).is_some_and(|b| is_ident_start(*b)) {
                    let end = ident_end(bytes, i + 1);
                    out.occurrences.push(Placeholder { name: sql[i + 1..end].to_string(), start: i, end });
                    i = end;
                } else {
                    i += 1;
                }
            }
            _ if is_ident_start(c) => {
                // Skip whole words so that `a:b`-like text inside an identifier run, or an
                // `E'...'` prefix, is lexed with its word.
                i = ident_end(bytes, i);
            }
            _ => i += 1,
        }
    }
    out
}

/// Where the string, quoted identifier or comment starting at byte `at` of `sql` ends
/// (the offset just past it), as `backend` lexes it; `None` when none starts there.
///
/// For tools that look for their own syntax in SQL (`tenantry check` reads sqlx's `$1`
/// and `?`, sqlc's `@name`): what is inside these is text, never a parameter.
///
/// ```
/// use tenantry_analyzer::{placeholders::skip_text, Backend};
/// let sql = "SELECT '$1', $q$ ? $q$ -- ?\n";
/// assert_eq!(skip_text(sql, 7, Backend::Postgres), Some(11));
/// assert_eq!(skip_text(sql, 13, Backend::Postgres), Some(22));
/// assert_eq!(skip_text(sql, 23, Backend::Postgres), Some(27));
/// assert_eq!(skip_text(sql, 0, Backend::Postgres), None);
/// ```
pub fn skip_text(sql: &str, at: usize, backend: Backend) -> Option<usize> {
    let bytes = sql.as_bytes();
    Some(match *bytes.get(at)? {
        b'\'' => skip_quoted(bytes, at, b'\'', backslash_escapes(sql, at, backend)),
        b'"' => skip_quoted(bytes, at, b'"', backend == Backend::MySql),
        b'`' => skip_quoted(bytes, at, b'`', false),
        // MySQL only starts a comment at `--` followed by whitespace: `1--1` is 2.
        b'-' if bytes.get(at + 1) == Some(&b'-')
            && (backend != Backend::MySql
                || bytes.get(at + 2).is_none_or(|b| b.is_ascii_whitespace() || b.is_ascii_control())) =>
        {
            skip_line(bytes, at)
        }
        b'#' if backend == Backend::MySql => skip_line(bytes, at),
        b'/' if bytes.get(at + 1) == Some(&b'*') => skip_block_comment(bytes, at, backend),
        b'$' if backend == Backend::Postgres => skip_dollar_quoted(sql, at)?,
        _ => return None,
    })
}

/// Rewrites every placeholder of `sql` into the backend's positional form.
pub fn rewrite(sql: &str, placeholders: &Placeholders, backend: Backend) -> Rewritten {
    let mut out = String::with_capacity(sql.len());
    let mut binds: Vec<String> = Vec::new();
    let mut last = 0;
    for p in &placeholders.occurrences {
        out.push_str(&sql[last..p.start]);
        match backend {
            Backend::Postgres => {
                let n = match binds.iter().position(|b| *b == p.name) {
                    Some(n) => n + 1,
                    None => {
                        binds.push(p.name.clone());
                        binds.len()
                    }
                };
                out.push('$');
                out.push_str(&n.to_string());
            }
            Backend::Sqlite | Backend::MySql => {
                binds.push(p.name.clone());
                out.push('?');
            }
        }
        last = p.end;
    }
    out.push_str(&sql[last..]);
    Rewritten { sql: out, binds }
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

/// MySQL always treats `\` in a string as an escape; PostgreSQL only in `E'...'`.
fn backslash_escapes(sql: &str, quote: usize, backend: Backend) -> bool {
    match backend {
        Backend::MySql => true,
        Backend::Postgres => {
            let before = &sql.as_bytes()[..quote];
            matches!(before.last(), Some(b'e' | b'E'))
                && !before[..before.len() - 1].last().is_some_and(|b| b.is_ascii_alphanumeric() || *b == b'_')
        }
        Backend::Sqlite => false,
    }
}

/// Skips a quoted run starting at `start`; a doubled quote is an escaped quote.
fn skip_quoted(bytes: &[u8], start: usize, quote: u8, backslash: bool) -> usize {
    let mut i = start + 1;
    while i < bytes.len() {
        if backslash && bytes[i] == b'\\' {
            i += 2;
            continue;
        }
        if bytes[i] == quote {
            if bytes.get(i + 1) == Some(&quote) {
                i += 2;
                continue;
            }
            return i + 1;
        }
        i += 1;
    }
    bytes.len()
}

fn skip_line(bytes: &[u8], start: usize) -> usize {
    let mut i = start;
    while i < bytes.len() && bytes[i] != b'\n' {
        i += 1;
    }
    i
}

/// PostgreSQL block comments nest; the others end at the first `*/`.
fn skip_block_comment(bytes: &[u8], start: usize, backend: Backend) -> usize {
    let mut depth = 0usize;
    let mut i = start;
    while i < bytes.len() {
        if bytes[i] == b'/' && bytes.get(i + 1) == Some(&b'*') {
            depth += 1;
            i += 2;
            if backend != Backend::Postgres && depth > 1 {
                depth = 1;
            }
        } else if bytes[i] == b'*' && bytes.get(i + 1) == Some(&b'/') {
            depth -= 1;
            i += 2;
            if depth == 0 {
                return i;
            }
        } else {
            i += 1;
        }
    }
    bytes.len()
}

/// `$tag$ ... $tag$` (tag possibly empty); `None` when `start` does not open one.
fn skip_dollar_quoted(sql: &str, start: usize) -> Option<usize> {
    let bytes = sql.as_bytes();
    let mut i = start + 1;
    while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_') {
        if i == start + 1 && bytes[i].is_ascii_digit() {
            return None;
        }
        i += 1;
    }
    if bytes.get(i) != Some(&b'$') {
        return None;
    }
    let tag = &sql[start..=i];
    let body = i + 1;
    Some(match sql[body..].find(tag) {
        Some(at) => body + at + tag.len(),
        None => bytes.len(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(sql: &str, backend: Backend) -> Vec<String> {
        scan(sql, backend).occurrences.into_iter().map(|p| p.name).collect()
    }

    #[test]
    fn finds_named_placeholders_in_order() {
        let sql = "SELECT a FROM t WHERE tenant_id = :tenant AND id = :id OR x = :id";
        assert_eq!(names(sql, Backend::Postgres), ["tenant", "id", "id"]);
    }

    #[test]
    fn casts_strings_and_comments_hold_no_placeholders() {
        let sql = "SELECT a::text, ':fake', \"col:x\" FROM t -- :c1\n /* :c2 /* :nested */ :still */ WHERE b = :real";
        assert_eq!(names(sql, Backend::Postgres), ["real"]);
        let sql = "SELECT 'it''s :x', `a:b` FROM t # :c\n WHERE b = :real AND c = 'a\\':y'";
        assert_eq!(names(sql, Backend::MySql), ["real"]);
        let sql = "SELECT $$ :x $$, $q$ :y $q$ FROM t WHERE b = :real";
        assert_eq!(names(sql, Backend::Postgres), ["real"]);
        let sql = "SELECT E'\\' :x' FROM t WHERE b = :real";
        assert_eq!(names(sql, Backend::Postgres), ["real"]);
    }

    #[test]
    fn mysql_double_dash_needs_a_space_to_start_a_comment() {
        assert_eq!(names("SELECT a FROM t WHERE b = 1 --:x", Backend::MySql), ["x"]);
        assert!(names("SELECT a FROM t WHERE b = 1 -- :x", Backend::MySql).is_empty());
        assert!(names("SELECT a FROM t WHERE b = 1 --:x", Backend::Postgres).is_empty());
    }

    #[test]
    fn mysql_executable_comments_are_reported() {
        let sql = "SELECT a FROM t WHERE b = :b /*!50000 OR 1 */ /*M! OR 2 */ /* plain */ /*+ hint */";
        assert_eq!(scan(sql, Backend::MySql).executable_comments, [29, 46]);
        assert!(scan(sql, Backend::Postgres).executable_comments.is_empty());
    }

    #[test]
    fn positional_parameters_are_reported() {
        let p = scan("SELECT * FROM t WHERE a = ? AND b = ?2", Backend::Sqlite);
        assert_eq!(p.positional.len(), 2);
        let p = scan("SELECT * FROM t WHERE a = $1", Backend::Postgres);
        assert_eq!(p.positional[0].text, "$1");
        // SQLite's own named forms would be left unbound, and so NULL.
        let p = scan("SELECT * FROM t WHERE a = @a AND b = $b AND c = $3", Backend::Sqlite);
        assert_eq!(p.positional.iter().map(|p| p.text.as_str()).collect::<Vec<_>>(), ["@a", "$b", "$3"]);
        // jsonb's `?` operator is not a parameter in PostgreSQL.
        assert!(scan("SELECT * FROM t WHERE doc ? 'k'", Backend::Postgres).positional.is_empty());
    }

    #[test]
    fn postgres_reuses_numbers_and_question_marks_repeat() {
        let sql = "SELECT * FROM t WHERE tenant_id = :tenant AND (a = :x OR b = :x)";
        let pg = rewrite(sql, &scan(sql, Backend::Postgres), Backend::Postgres);
        assert_eq!(pg.sql, "SELECT * FROM t WHERE tenant_id = $1 AND (a = $2 OR b = $2)");
        assert_eq!(pg.binds, ["tenant", "x"]);
        let my = rewrite(sql, &scan(sql, Backend::MySql), Backend::MySql);
        assert_eq!(my.sql, "SELECT * FROM t WHERE tenant_id = ? AND (a = ? OR b = ?)");
        assert_eq!(my.binds, ["tenant", "x", "x"]);
    }
}
