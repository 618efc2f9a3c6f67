//! A bound on how deep a statement's syntax tree can be, checked on the tokens before the
//! statement is parsed.
//!
//! sqlparser limits its own recursion (nested parentheses and subqueries), but it builds
//! a chain of left-associative operators (`a AND b AND c ...`, `1 + 1 + ...`, `x::t::t
//! ...`, `... UNION ...`) in a loop, one tree level per operator, with no limit. Every walk
//! of that tree then recurses once per level: the analyser's, and sqlparser's own `Clone`,
//! `Drop`, `Display` and visitors. A 4 kB statement of `+1` is 2,000 levels, which
//! overflowed the 8 MiB stack that rustc runs the proc macro on, in a debug build, before
//! the analyser could answer. The bound is counted before parsing, since even dropping the parsed tree
//! recurses.
//!
//! The count is an upper bound on the depth: the operator tokens of the expression being
//! written, plus those of each expression that the open parentheses interrupt; a group's
//! count stays with its level when it closes (`(a + b) + c`). A comma or a semicolon
//! starts a new expression at its level. Real statements stay far below the bound.

use sqlparser::keywords::Keyword;
use sqlparser::tokenizer::{Token, TokenWithSpan};

use crate::{Rule, Violation, confinement};

/// The most operators one chain of expressions may hold (see the module doc). In a debug
/// build 256 levels take up to 2 MiB of stack, and the nesting sqlparser allows up to 5
/// MiB: together within the 8 MiB that rustc runs a proc macro on.
pub(crate) const MAX_OPERATORS: usize = 256;

/// Keywords that join two operands (or follow one), each adding a level to the tree.
const OPERATOR_KEYWORDS: &[Keyword] = &[
    Keyword::AND,
    Keyword::OR,
    Keyword::XOR,
    Keyword::NOT,
    Keyword::IS,
    Keyword::IN,
    Keyword::LIKE,
    Keyword::ILIKE,
    Keyword::RLIKE,
    Keyword::REGEXP,
    Keyword::GLOB,
    Keyword::MATCH,
    Keyword::SIMILAR,
    Keyword::BETWEEN,
    Keyword::COLLATE,
    Keyword::AT,
    Keyword::DIV,
    Keyword::MOD,
    Keyword::OVERLAPS,
    Keyword::OPERATOR,
    Keyword::MEMBER,
    Keyword::ESCAPE,
    Keyword::UNION,
    Keyword::INTERSECT,
    Keyword::EXCEPT,
    Keyword::MINUS,
];

/// Whether `token` can add a level to the tree: an operator symbol or keyword. Operands,
/// names, literals and punctuation do not; an unknown token counts, which only makes the
/// bound looser.
fn is_operator(token: &Token) -> bool {
    match token {
        Token::Word(w) => w.quote_style.is_none() && OPERATOR_KEYWORDS.contains(&w.keyword),
        Token::EOF
        | Token::Number(..)
        | Token::Char(_)
        | Token::Placeholder(_)
        | Token::Whitespace(_)
        | Token::Period
        | Token::Colon
        | Token::Comma
        | Token::SemiColon
        | Token::LParen
        | Token::RParen
        | Token::RBracket
        | Token::LBrace
        | Token::RBrace
        | Token::SingleQuotedString(_)
        | Token::DoubleQuotedString(_)
        | Token::TripleSingleQuotedString(_)
        | Token::TripleDoubleQuotedString(_)
        | Token::DollarQuotedString(_)
        | Token::SingleQuotedByteStringLiteral(_)
        | Token::DoubleQuotedByteStringLiteral(_)
        | Token::TripleSingleQuotedByteStringLiteral(_)
        | Token::TripleDoubleQuotedByteStringLiteral(_)
        | Token::SingleQuotedRawStringLiteral(_)
        | Token::DoubleQuotedRawStringLiteral(_)
        | Token::TripleSingleQuotedRawStringLiteral(_)
        | Token::TripleDoubleQuotedRawStringLiteral(_)
        | Token::NationalStringLiteral(_)
        | Token::EscapedStringLiteral(_)
        | Token::UnicodeStringLiteral(_)
        | Token::HexStringLiteral(_) => false,
        // `[` subscripts its left side (a level) and opens a bracket.
        _ => true,
    }
}

/// A violation when some chain of `sql` (as `tokens`) holds more than [`MAX_OPERATORS`]
/// operators.
pub(crate) fn check(sql: &str, tokens: &[TokenWithSpan]) -> Option<Violation> {
    // The operators counted since the last comma in the innermost open parenthesis, those
    // of each enclosing one (an inner group's stay with the group's level when it closes:
    // `(a + b) + c` is as deep as its five tokens say), and their sum.
    let mut current = 0usize;
    let mut enclosing: Vec<usize> = Vec::new();
    let mut depth = 0usize;
    for t in tokens {
        match t.token {
            Token::Comma | Token::SemiColon => {
                depth -= current;
                current = 0;
            }
            Token::RParen | Token::RBracket | Token::RBrace => {
                if let Some(outer) = enclosing.pop() {
                    current += outer;
                }
            }
            _ => {}
        }
        if is_operator(&t.token) {
            current += 1;
            depth += 1;
            if depth > MAX_OPERATORS {
                return Some(Violation::new(
                    Rule::Syntax,
                    format!(
                        "the statement nests too deeply for tenantry to analyse: more than {MAX_OPERATORS} operators (`AND`, `OR`, `+`, `::`, `UNION`, ...) chained in one expression"
                    ),
                    "split the statement, or pass a long list of values as one argument (`= ANY(:ids)` in PostgreSQL)",
                    confinement::locate(sql, t.span),
                ));
            }
        }
        if matches!(t.token, Token::LParen | Token::LBracket | Token::LBrace) {
            enclosing.push(current);
            current = 0;
        }
    }
    None
}
