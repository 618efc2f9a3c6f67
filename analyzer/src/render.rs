//! Turns a [`Violation`] into the text a user reads: the problem, the statement line
//! with a caret under the offending part, and the fix.
//!
//! Stable Rust cannot point inside a string literal, so the caret is drawn in the message.

use crate::Violation;

/// Renders one violation of `sql` for a compile error.
///
/// ```
/// use tenantry_analyzer::{render, Violation};
/// let v = Violation { problem: "table `t` is not confined".into(), fix: "add a WHERE".into(), span: Some((14, 15)) };
/// let text = render("SELECT a FROM t", &v);
/// assert!(text.contains("SELECT a FROM t\n"));
/// assert!(text.contains("             ^"));
/// ```
pub fn render(sql: &str, v: &Violation) -> String {
    let mut out = v.problem.clone();
    out.push('\n');
    match v.span {
        Some((start, end)) if start < sql.len() => {
            let line_start = sql[..start].rfind('\n').map_or(0, |i| i + 1);
            let line_end = sql[start..].find('\n').map_or(sql.len(), |i| start + i);
            let line = &sql[line_start..line_end];
            let indent = line.len() - line.trim_start().len();
            let shown = line.trim();
            let col = sql[line_start + indent..start].chars().count();
            let width = sql[start..end.min(line_end).max(start)].chars().count().max(1);
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
