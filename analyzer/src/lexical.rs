//! Constructs whose meaning the parser and the server disagree on, found in the tokens.
//!
//! sqlparser reads each of these one way; the server reads it another, or as a server
//! setting says. A statement the analyser proved confined could then run as another
//! statement, so each is refused wherever it appears (measured against the servers by
//! `scripts/operator-precedence.py`):
//!
//! * MySQL `||`: OR unless `sql_mode` has `PIPES_AS_CONCAT`, while sqlparser reads string
//!   concatenation binding tighter than `=`: `tenant_id = :tenant AND 0 || 1` is every row.
//! * MySQL `XOR`: sqlparser binds it tighter than `=`, the server between AND and OR.
//! * MySQL prefix `BINARY x`: sqlparser casts everything to its right, OR included; the
//!   server binds it tightest of all.
//! * A backslash in a string: MySQL under `NO_BACKSLASH_ESCAPES`, and PostgreSQL under
//!   `standard_conforming_strings = off`, end the string at `\'` where sqlparser does not,
//!   and run the rest as SQL.
//! * MySQL `"..."`: a string, or an identifier under `ANSI_QUOTES`.
//! * MySQL `--` followed by a character that is not ASCII white space: a comment to
//!   sqlparser, an operator to the server.

use sqlparser::dialect::Dialect;
use sqlparser::keywords::Keyword;
use sqlparser::tokenizer::{Token, Tokenizer, Whitespace};

use crate::{Backend, Rule, Violation, confinement};

/// The setting-dependent constructs of `sql`, one violation each.
pub(crate) fn check(sql: &str, backend: Backend, dialect: &dyn Dialect) -> Vec<Violation> {
    let Ok(tokens) = Tokenizer::new(dialect, sql).with_unescape(false).tokenize_with_location() else {
        // The parser reports a statement that does not tokenize.
        return Vec::new();
    };
    let mut found = Vec::new();
    let mut previous: Option<&Token> = None;
    let mut locator = confinement::Locator::new(sql);
    for t in &tokens {
        let span = locator.locate(t.span);
        let raw = span.map_or("", |(a, b)| &sql[a..b]);
        let problem = match (&t.token, backend) {
            (Token::StringConcat, Backend::MySql) => Some((
                "`||` is OR in MySQL unless `sql_mode` has PIPES_AS_CONCAT, and tenantry's parser reads it as string concatenation: the two group a condition differently",
                "write `OR`, or `CONCAT(a, b)` to join strings",
            )),
            (Token::Word(w), Backend::MySql) if w.quote_style.is_none() && w.keyword == Keyword::XOR => Some((
                "MySQL binds `XOR` between AND and OR, tenantry's parser tighter than `=`: the two read the condition differently",
                "write the condition with AND, OR and NOT, in parentheses",
            )),
            (Token::Word(w), Backend::MySql)
                if w.quote_style.is_none()
                    && w.keyword == Keyword::BINARY
                    && !matches!(previous, Some(Token::Word(p)) if p.keyword == Keyword::AS)
                    && !matches!(previous, Some(Token::Comma)) =>
            {
                Some((
                    "prefix `BINARY` binds tightest in MySQL, but tenantry's parser applies it to everything on its right (an OR included)",
                    "write `CAST(x AS BINARY)`",
                ))
            }
            (Token::SingleQuotedString(_) | Token::DoubleQuotedString(_), Backend::MySql)
            | (Token::SingleQuotedString(_), Backend::Postgres)
                if raw.contains('\\') =>
            {
                Some((
                    "a backslash in a string ends the string or not depending on a server setting (MySQL's NO_BACKSLASH_ESCAPES, PostgreSQL's standard_conforming_strings): the rest of the statement may run as SQL",
                    "pass the text as an argument of the method (`:name`) instead of a literal",
                ))
            }
            (Token::DoubleQuotedString(_), Backend::MySql) => Some((
                "`\"...\"` is a string in MySQL, or an identifier when `sql_mode` has ANSI_QUOTES",
                "write strings in single quotes and identifiers in backticks",
            )),
            (Token::Whitespace(Whitespace::SingleLineComment { prefix, comment }), Backend::MySql)
                if prefix == "--" && comment.chars().next().is_some_and(|c| !c.is_ascii_whitespace()) =>
            {
                Some((
                    "`--` starts a comment in MySQL only when an ASCII space or control character follows",
                    "put a space after `--`, or use `/* ... */`",
                ))
            }
            _ => None,
        };
        if let Some((problem, fix)) = problem {
            found.push(Violation::new(Rule::ServerSetting, problem, fix, span));
        }
        if !matches!(t.token, Token::Whitespace(_)) {
            previous = Some(&t.token);
        }
    }
    found
}
