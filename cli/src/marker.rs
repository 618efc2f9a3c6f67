//! The inline marker for a deliberately cross-tenant statement: a comment on the line(s)
//! right above it, `// tenantry: cross-tenant(reason)` in Rust and
//! `-- tenantry: cross-tenant(reason)` in a `.sql` file. The reason is required: it is what
//! a reviewer reads, and a marker without one is itself a finding.

use crate::literal::Lines;

/// The usage line shown when a marker is not understood.
pub const SYNTAX: &str = "tenantry: cross-tenant(why this statement reads or writes every tenant's rows)";

/// A marker found above a statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Marker {
    /// `tenantry: cross-tenant(reason)`.
    CrossTenant {
        /// The reason, trimmed.
        reason: String,
    },
    /// A `tenantry:` comment that is not a well-formed marker.
    Malformed {
        /// What is wrong with it.
        problem: String,
        /// Its 1-based line.
        line: usize,
        /// Its 1-based column (the comment's start).
        column: usize,
    },
}

/// The marker in the comment lines directly above 1-based `line` (`comment` is `//` or
/// `--`); attribute lines (`#[...]`) between them are skipped. Blank lines end the search:
/// a marker belongs to the statement right under it.
pub fn above(text: &str, lines: &Lines, line: usize, comment: &str) -> Option<Marker> {
    let mut n = line;
    while n > 1 {
        n -= 1;
        let raw = lines.line(text, n);
        let trimmed = raw.trim_start();
        if let Some(body) = trimmed.strip_prefix(comment) {
            let column = raw[..raw.len() - trimmed.len()].chars().count() + 1;
            if let Some(marker) = parse(body.trim_start_matches(['/', '!']), n, column) {
                return Some(marker);
            }
        } else if !(trimmed.starts_with("#[") || trimmed.starts_with("#![")) {
            return None;
        }
    }
    None
}

/// Reads one comment's text (after `//` or `--`): `None` when it is no `tenantry:` comment.
pub fn parse(body: &str, line: usize, column: usize) -> Option<Marker> {
    let directive = body.trim().strip_prefix("tenantry:")?.trim();
    let malformed = |problem: String| Some(Marker::Malformed { problem, line, column });
    let Some(rest) = directive.strip_prefix("cross-tenant") else {
        return malformed(format!("unknown tenantry marker `{directive}`: the marker is `{SYNTAX}`"));
    };
    let rest = rest.trim();
    let reason = rest.strip_prefix('(').and_then(|r| r.strip_suffix(')')).map(str::trim);
    match reason {
        Some(reason) if !reason.is_empty() => Some(Marker::CrossTenant { reason: reason.to_string() }),
        Some(_) => malformed(format!("a cross-tenant marker needs its reason: `{SYNTAX}`")),
        None if rest.is_empty() => malformed(format!("a cross-tenant marker needs its reason: `{SYNTAX}`")),
        None => malformed(format!("the cross-tenant marker is written `{SYNTAX}`")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn find(text: &str, line: usize) -> Option<Marker> {
        above(text, &Lines::new(text), line, "//")
    }

    #[test]
    fn a_marker_with_its_reason() {
        let text = "fn f() {\n    // tenantry: cross-tenant(nightly totals over all tenants)\n    #[allow(unused)]\n    let q = 1;\n}";
        assert_eq!(find(text, 4), Some(Marker::CrossTenant { reason: "nightly totals over all tenants".into() }));
        // Only directly above: a blank line ends the comment block.
        let text = "// tenantry: cross-tenant(x)\n\nlet q = 1;";
        assert_eq!(find(text, 3), None);
        // Other comments in the block do not hide it.
        let text = "// totals\n// tenantry: cross-tenant(billing (all tenants))\n// see #12\nlet q = 1;";
        assert_eq!(find(text, 4), Some(Marker::CrossTenant { reason: "billing (all tenants)".into() }));
    }

    #[test]
    fn a_marker_without_a_reason_or_misspelt_is_malformed() {
        for (body, needle) in [
            (" tenantry: cross-tenant", "needs its reason"),
            (" tenantry: cross-tenant( )", "needs its reason"),
            (" tenantry: cross-tenant because", "is written"),
            (" tenantry: crosstenant(x)", "unknown tenantry marker"),
        ] {
            match parse(body, 3, 5) {
                Some(Marker::Malformed { problem, line: 3, column: 5 }) => {
                    assert!(problem.contains(needle), "{problem}")
                }
                other => panic!("{body}: {other:?}"),
            }
        }
        assert_eq!(parse(" an ordinary comment", 1, 1), None);
    }

    #[test]
    fn sql_comments() {
        let text = "-- name: All :many\n-- tenantry: cross-tenant(admin export)\nSELECT * FROM invoices;";
        assert_eq!(
            above(text, &Lines::new(text), 3, "--"),
            Some(Marker::CrossTenant { reason: "admin export".into() })
        );
    }
}
