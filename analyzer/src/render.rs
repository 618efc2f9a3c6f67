//! Turns a [`Violation`] into the text a user reads: the problem, the statement line
//! with a caret under the offending part, and the fix.
//!
//! Stable Rust cannot point inside a string literal, so the caret is drawn in the message.

use crate::Violation;

/// Renders one violation of `sql` for a compile error.
///
/// ```
/// use tenantry_analyzer::{render, Rule, Violation};
/// let v = Violation { rule: Rule::Unconfined, problem: "table `t` is not confined".into(), fix: "add a WHERE".into(), span: Some((14, 15)) };
/// let text = render("SELECT a FROM t", &v);
/// assert!(text.contains("SELECT a FROM t\n"));
/// assert!(text.contains("             ^"));
/// ```
pub fn render(sql: &str, v: &Violation) -> String {
    let mut out = v.problem.clone();
    out.push('\n');
    match v.span {
        Some((start, end)) if start < sql.len() => {
            // `Violation` is plain data: a span made by hand may cut a character, end
            // before it starts or point into the line's indentation. Snap it to
            // character boundaries so that every slice below is valid.
            let start = sql.floor_char_boundary(start);
            let end = sql.ceil_char_boundary(end).max(start);
            let line_start = sql[..start].rfind('\n').map_or(0, |i| i + 1);
            let line_end = sql[start..].find('\n').map_or(sql.len(), |i| start + i);
            let line = &sql[line_start..line_end];
            let indent = line.len() - line.trim_start().len();
            let shown: Vec<char> = line.trim().chars().collect();
            let col = sql[(line_start + indent).min(start)..start].chars().count();
            let width = sql[start..end.min(line_end).max(start)].chars().count().max(1);
            let (shown, col) = window(&shown, col, width);
            out.push_str(&format!("\n    {shown}\n    {}{}\n", " ".repeat(col), "^".repeat(width)));
        }
        _ => {
            let collapsed = sql.split_whitespace().collect::<Vec<_>>().join(" ");
            out.push_str(&format!("\n    {collapsed}\n"));
        }
    }
    out.push_str(&format!("\nfix: {}", v.fix));
    out
}

/// The widest line shown; a longer one is cut around the caret, with `...` where it was
/// cut, so that the caret stays on screen.
const MAX_LINE: usize = 160;

/// `line` cut to at most about [`MAX_LINE`] characters around `col..col + width`, and the
/// caret's column in the cut line.
fn window(line: &[char], col: usize, width: usize) -> (String, usize) {
    if line.len() <= MAX_LINE {
        return (line.iter().collect(), col);
    }
    let context = MAX_LINE.saturating_sub(width) / 2;
    let from = col.saturating_sub(context);
    let to = (col + width + context).min(line.len());
    let from = if to == line.len() { line.len().saturating_sub(MAX_LINE).min(from) } else { from };
    let mut shown = String::new();
    let mut caret = col - from;
    if from > 0 {
        shown.push_str("...");
        caret += 3;
    }
    shown.extend(&line[from..to]);
    if to < line.len() {
        shown.push_str("...");
    }
    (shown, caret)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_lines_are_cut_around_the_caret() {
        let sql = format!("SELECT {} FROM invoices WHERE id = :id", "a, ".repeat(90));
        let start = sql.find("invoices").unwrap();
        let v = Violation {
            rule: crate::Rule::Unconfined,
            problem: "p".into(),
            fix: "f".into(),
            span: Some((start, start + 8)),
        };
        let text = render(&sql, &v);
        let lines: Vec<&str> = text.lines().collect();
        let (shown, caret) = (lines[2], lines[3]);
        assert!(shown.starts_with("    ...") && shown.len() <= MAX_LINE + 10, "{shown}");
        let at = caret.find('^').unwrap();
        assert_eq!(&shown[at..at + 8], "invoices");
    }
}
