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
//! Within those bounds a deep statement still takes a lot of stack: sqlparser's frames in a
//! debug build are 100–200 kB per nested subquery or parenthesised FROM item, so the
//! nesting its recursion limit lets through takes up to 5 MiB, and a dozen nested
//! subqueries overflowed a test thread's 2 MiB. A statement deeper than [`Depth::shallow`]
//! is therefore analysed on a thread of its own with [`DEEP_STACK`].
//!
//! The count is an upper bound on the depth: the operator tokens of the expression being
//! written, plus those of each expression that the open parentheses interrupt; a group's
//! count stays with its level when it closes (`(a + b) + c`). A comma or a semicolon
//! starts a new expression at its level. Real statements stay far below the bound.

use sqlparser::keywords::Keyword;
use sqlparser::tokenizer::{Span, Token, TokenWithSpan};

use crate::{Rule, Violation, confinement};

/// The most operators one chain of expressions may hold (see the module doc). In a debug
/// build 256 levels take up to 2 MiB of stack.
pub(crate) const MAX_OPERATORS: usize = 256;

/// The stack a deep statement is analysed on: four times what the deepest statement
/// within the bounds takes in a debug build (sqlparser's nesting and a chain of
/// [`MAX_OPERATORS`]). Only the pages used are ever backed by memory.
pub(crate) const DEEP_STACK: usize = 32 << 20;

/// A statement with at most this many open parentheses and operators in a chain runs on
/// the caller's thread: in a debug build it takes under 2 MiB of stack (Rust's default for
/// a thread), with room to spare.
const SHALLOW_OPEN: usize = 4;
const SHALLOW_OPERATORS: usize = 64;

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

/// How deep a statement's tree can be, as its tokens tell (see the module doc).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Depth {
    /// The most operators in one chain.
    pub operators: usize,
    /// The most parentheses, brackets and braces open at once.
    pub open: usize,
    /// The token past [`MAX_OPERATORS`], if any.
    over: Option<Span>,
}

impl Depth {
    /// Whether the statement can be analysed on any thread (see [`SHALLOW_OPEN`]).
    pub(crate) fn shallow(&self) -> bool {
        self.open <= SHALLOW_OPEN && self.operators <= SHALLOW_OPERATORS
    }

    /// The violation of a statement whose chain holds more than [`MAX_OPERATORS`].
    pub(crate) fn violation(&self, sql: &str) -> Option<Violation> {
        let over = self.over?;
        Some(Violation::new(
            Rule::Syntax,
            format!(
                "the statement nests too deeply for tenantry to analyse: more than {MAX_OPERATORS} operators (`AND`, `OR`, `+`, `::`, `UNION`, ...) chained in one expression"
            ),
            "split the statement, or pass a long list of values as one argument (`= ANY(:ids)` in PostgreSQL)",
            confinement::locate(sql, over),
        ))
    }
}

/// Measures the depth of a statement from its tokens.
pub(crate) fn measure(tokens: &[TokenWithSpan]) -> Depth {
    // The operators counted since the last comma in the innermost open parenthesis, those
    // of each enclosing one (an inner group's stay with the group's level when it closes:
    // `(a + b) + c` is as deep as its five tokens say), and their sum.
    let mut current = 0usize;
    let mut enclosing: Vec<usize> = Vec::new();
    let mut chain = 0usize;
    let mut depth = Depth::default();
    for t in tokens {
        match t.token {
            Token::Comma | Token::SemiColon => {
                chain -= current;
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
            chain += 1;
            depth.operators = depth.operators.max(chain);
            if chain > MAX_OPERATORS && depth.over.is_none() {
                depth.over = Some(t.span);
            }
        }
        if matches!(t.token, Token::LParen | Token::LBracket | Token::LBrace) {
            enclosing.push(current);
            current = 0;
            depth.open = depth.open.max(enclosing.len());
        }
    }
    depth
}
