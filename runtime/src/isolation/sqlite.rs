//! SQLite: the tenant column is not declared with a collation that equates distinct ids
//! (`NOCASE`: `ACME` = `acme`; `RTRIM`: `acme ` = `acme`).
//!
//! A column's collation is only in its declaration, so the audit reads the table's
//! `CREATE TABLE` from `sqlite_schema` and finds the column's definition in it.

use std::ops::Range;

use sqlx::{Pool, Sqlite, SqliteConnection};

use super::{IsolationFinding, TenantTable};

const DEFINITION: &str = "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?1 COLLATE NOCASE";
const COLUMN: &str = "SELECT name FROM pragma_table_info(?1) WHERE name = ?2 COLLATE NOCASE";

pub(crate) async fn audit(pool: &Pool<Sqlite>, tables: &[TenantTable]) -> Result<Vec<IsolationFinding>, sqlx::Error> {
    let mut conn = pool.acquire().await?;
    let conn: &mut SqliteConnection = &mut conn;
    let mut findings = Vec::new();
    for table in tables {
        let sql: Option<Option<String>> =
            sqlx::query_scalar(DEFINITION).bind(&table.name).fetch_optional(&mut *conn).await?;
        let Some(sql) = sql else {
            findings.push(IsolationFinding::MissingTable { table: table.name.clone() });
            continue;
        };
        let Some(column) = &table.tenant_column else { continue };
        let declared: Option<String> =
            sqlx::query_scalar(COLUMN).bind(&table.name).bind(column).fetch_optional(&mut *conn).await?;
        if declared.is_none() {
            findings.push(IsolationFinding::MissingTenantColumn { table: table.name.clone(), column: column.clone() });
            continue;
        }
        let definition = sql.as_deref().and_then(|sql| column_collation(sql, column).map(|c| (sql, c)));
        match definition {
            None => findings
                .push(IsolationFinding::UnreadableDefinition { table: table.name.clone(), column: column.clone() }),
            Some((sql, Some(collate))) if is_inexact(&collate.name) => {
                findings.push(IsolationFinding::InexactCollation {
                    table: table.name.clone(),
                    column: column.clone(),
                    fix: recreate(&table.name, sql, &collate),
                    collation: collate.name,
                });
            }
            Some(_) => {}
        }
    }
    Ok(findings)
}

fn is_inexact(collation: &str) -> bool {
    collation.eq_ignore_ascii_case("NOCASE") || collation.eq_ignore_ascii_case("RTRIM")
}

/// SQLite cannot change a column's collation in place: the table is made anew from its own
/// definition, less the `COLLATE` clause.
fn recreate(table: &str, sql: &str, collate: &Collate) -> String {
    let new = ident(&format!("{table}_new"));
    let old = ident(table);
    let body = format!("{}{}", &sql[collate.body_start..collate.clause.start], &sql[collate.clause.end..]);
    format!(
        "recreate the table without the collation (foreign keys off, in one transaction, then recreate its \
         indexes and triggers): CREATE TABLE {new} {}; INSERT INTO {new} SELECT * FROM {old}; DROP TABLE {old}; \
         ALTER TABLE {new} RENAME TO {old};",
        body.trim_end()
    )
}

fn ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// A column's `COLLATE` clause.
#[derive(Debug, PartialEq, Eq)]
struct Collate {
    /// The collation, unquoted.
    name: String,
    /// The clause's bytes (`COLLATE NOCASE`, with the space before it).
    clause: Range<usize>,
    /// Where the table's column list starts (its `(`).
    body_start: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// A bare word or number.
    Word,
    /// `"..."`, `` `...` `` or `[...]`: an identifier.
    Quoted,
    /// `'...'`: a string (which SQLite also takes as a name in a column definition).
    Str,
    Open,
    Close,
    Comma,
    /// Any other punctuation.
    Other,
}

#[derive(Debug)]
struct Token {
    kind: Kind,
    span: Range<usize>,
}

/// Splits SQL into tokens, skipping whitespace and comments; `None` on an unterminated
/// quote or comment.
fn tokens(sql: &str) -> Option<Vec<Token>> {
    let bytes = sql.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let start = i;
        let kind = match bytes[i] {
            b if b.is_ascii_whitespace() => {
                i += 1;
                continue;
            }
            b'-' if bytes.get(i + 1) == Some(&b'-') => {
                i = sql[i..].find('\n').map_or(bytes.len(), |n| i + n + 1);
                continue;
            }
            b'/' if bytes.get(i + 1) == Some(&b'*') => {
                i = i + 2 + sql[i + 2..].find("*/")? + 2;
                continue;
            }
            quote @ (b'"' | b'`' | b'\'' | b'[') => {
                let close = if quote == b'[' { b']' } else { quote };
                i += 1;
                loop {
                    let at = i + bytes[i..].iter().position(|&b| b == close)?;
                    i = at + 1;
                    // A doubled quote is one quote character (not in `[...]`).
                    if quote != b'[' && bytes.get(i) == Some(&close) {
                        i += 1;
                    } else {
                        break;
                    }
                }
                if quote == b'\'' { Kind::Str } else { Kind::Quoted }
            }
            b'(' => {
                i += 1;
                Kind::Open
            }
            b')' => {
                i += 1;
                Kind::Close
            }
            b',' => {
                i += 1;
                Kind::Comma
            }
            b if b.is_ascii_alphanumeric() || b == b'_' || b == b'$' || b >= 0x80 => {
                while i < bytes.len()
                    && (bytes[i].is_ascii_alphanumeric() || matches!(bytes[i], b'_' | b'$') || bytes[i] >= 0x80)
                {
                    i += 1;
                }
                Kind::Word
            }
            _ => {
                // One character, whole (a multi-byte one cannot start here: those are words).
                i += 1;
                Kind::Other
            }
        };
        out.push(Token { kind, span: start..i });
    }
    Some(out)
}

/// A token's text as a name: unquoted, doubled quotes undone.
fn name(sql: &str, token: &Token) -> String {
    let text = &sql[token.span.clone()];
    match token.kind {
        Kind::Quoted | Kind::Str => {
            let quote = &text[..1];
            let inner = &text[1..text.len() - 1];
            if quote == "[" { inner.to_string() } else { inner.replace(&quote.repeat(2), quote) }
        }
        _ => text.to_string(),
    }
}

/// The first words of a table constraint, which is not a column definition.
const CONSTRAINTS: [&str; 5] = ["CONSTRAINT", "PRIMARY", "UNIQUE", "CHECK", "FOREIGN"];

/// The collation of `column` in the `CREATE TABLE` statement `sql`: `Some(None)` when it is
/// declared without one, `None` when the statement or the column cannot be found in it.
fn column_collation(sql: &str, column: &str) -> Option<Option<Collate>> {
    let tokens = tokens(sql)?;
    let open = tokens.iter().position(|t| t.kind == Kind::Open)?;
    let body_start = tokens[open].span.start;
    let mut depth = 0usize;
    let mut element: Vec<&Token> = Vec::new();
    for token in &tokens[open + 1..] {
        match token.kind {
            Kind::Open => depth += 1,
            Kind::Close if depth == 0 => return definition(sql, &element, column, body_start),
            Kind::Close => depth -= 1,
            Kind::Comma if depth == 0 => {
                if let Some(found) = definition(sql, &element, column, body_start) {
                    return Some(found);
                }
                element.clear();
                continue;
            }
            _ => {}
        }
        // Only the element's own words: a COLLATE inside a CHECK (...) or DEFAULT (...)
        // is not the column's.
        if depth == 0 || (token.kind == Kind::Open && depth == 1) {
            element.push(token);
        }
    }
    None
}

/// If `element` (the top-level tokens of one item of the column list) defines `column`,
/// its collation (the last `COLLATE` wins, as in SQLite).
fn definition(sql: &str, element: &[&Token], column: &str, body_start: usize) -> Option<Option<Collate>> {
    let first = element.first()?;
    if first.kind == Kind::Word && CONSTRAINTS.iter().any(|c| sql[first.span.clone()].eq_ignore_ascii_case(c)) {
        return None;
    }
    if !matches!(first.kind, Kind::Word | Kind::Quoted | Kind::Str) || !name(sql, first).eq_ignore_ascii_case(column) {
        return None;
    }
    let mut collate = None;
    for (i, token) in element.iter().enumerate().skip(1) {
        if token.kind == Kind::Word && sql[token.span.clone()].eq_ignore_ascii_case("COLLATE") {
            let named = element.get(i + 1).filter(|t| matches!(t.kind, Kind::Word | Kind::Quoted | Kind::Str))?;
            let before = element[i - 1].span.end;
            collate = Some(Collate { name: name(sql, named), clause: before..named.span.end, body_start });
        }
    }
    Some(collate)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn collation(sql: &str, column: &str) -> Option<Option<String>> {
        column_collation(sql, column).map(|c| c.map(|c| c.name))
    }

    #[test]
    fn finds_the_column_and_its_collation() {
        let sql = "CREATE TABLE notes (id INTEGER PRIMARY KEY, tenant_id TEXT NOT NULL COLLATE NOCASE, body TEXT)";
        assert_eq!(collation(sql, "tenant_id"), Some(Some("NOCASE".into())));
        assert_eq!(collation(sql, "TENANT_ID"), Some(Some("NOCASE".into())), "names are case-insensitive");
        assert_eq!(collation(sql, "body"), Some(None));
        assert_eq!(collation(sql, "missing"), None);
    }

    #[test]
    fn quoted_names_comments_and_nested_parentheses() {
        let sql = r#"CREATE TABLE "we(ird" ( -- a comment, with (parens
            [id] INTEGER, "ten""ant" VARCHAR(10, 2) DEFAULT ('a,b') CHECK ("ten""ant" COLLATE NOCASE <> 'x')
            /* COLLATE NOCASE */ COLLATE "rtrim", `b` TEXT COLLATE BINARY)"#;
        assert_eq!(collation(sql, "ten\"ant"), Some(Some("rtrim".into())));
        assert_eq!(collation(sql, "b"), Some(Some("BINARY".into())));
        assert_eq!(collation(sql, "id"), Some(None));
    }

    #[test]
    fn a_collation_in_a_check_or_a_table_constraint_is_not_the_column_s() {
        let sql = "CREATE TABLE t (tenant_id TEXT CHECK (tenant_id COLLATE NOCASE <> ''), \
                   UNIQUE (tenant_id COLLATE NOCASE), CONSTRAINT c CHECK (tenant_id <> ''))";
        assert_eq!(collation(sql, "tenant_id"), Some(None));
        assert_eq!(collation(sql, "unique"), None);
        assert_eq!(collation(sql, "constraint"), None);
    }

    #[test]
    fn malformed_definitions_are_unreadable_not_a_panic() {
        for sql in
            ["", "CREATE TABLE t", "CREATE TABLE t (a TEXT", "CREATE TABLE t (\"a TEXT)", "/* x", "(a COLLATE", "(,)"]
        {
            let _ = column_collation(sql, "a");
        }
        assert_eq!(collation("CREATE TABLE t (a TEXT", "a"), None);
        assert_eq!(collation("CREATE TABLE t (a TEXT COLLATE)", "a"), None);
    }

    #[test]
    fn the_fix_recreates_the_table_without_the_collation() {
        let sql = "CREATE TABLE notes (tenant_id TEXT NOT NULL COLLATE NOCASE, body TEXT)";
        let collate = column_collation(sql, "tenant_id").unwrap().unwrap();
        assert_eq!(
            recreate("notes", sql, &collate),
            "recreate the table without the collation (foreign keys off, in one transaction, then recreate its \
             indexes and triggers): CREATE TABLE \"notes_new\" (tenant_id TEXT NOT NULL, body TEXT); INSERT INTO \
             \"notes_new\" SELECT * FROM \"notes\"; DROP TABLE \"notes\"; ALTER TABLE \"notes_new\" RENAME TO \
             \"notes\";"
        );
    }
}
