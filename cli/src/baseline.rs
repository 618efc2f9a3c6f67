//! The baseline: findings a team has accepted, so that `tenantry check` fails only on new
//! ones. Each line is one finding: its fingerprint, rule and file, then the statement's
//! start for the reader, separated by tabs (shown as spaces here):
//!
//! ```text
//! # tenantry check baseline v1: fingerprint, rule, file, statement
//! 9c1d0f3a5b2e7d41  unconfined  src/reports.rs  SELECT id FROM invoices WHERE id = $1
//! ```
//!
//! The fingerprint hashes the rule, the file and the statement with its whitespace
//! collapsed: no line numbers, so edits above a statement keep it; editing the statement
//! itself makes it new. A statement with two findings of one rule is two lines.

use std::collections::HashMap;

use crate::check::Finding;

/// The first line of a baseline file.
pub const HEADER: &str = "# tenantry check baseline v1: fingerprint, rule, file, statement";

/// The fingerprint of a finding of `rule` in `file` on `statement`: 16 hex digits of
/// 64-bit FNV-1a, the same on every platform and release.
pub fn fingerprint(rule: &str, file: &str, statement: &str) -> String {
    let collapsed = statement.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for part in [rule, file, &collapsed] {
        for b in part.bytes().chain([0]) {
            hash ^= u64::from(b);
            hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    format!("{hash:016x}")
}

/// The baseline text for `findings`, sorted, one line each.
pub fn write(findings: &[Finding]) -> String {
    let mut lines: Vec<String> = findings
        .iter()
        .map(|f| {
            let excerpt: String = f.statement.split_whitespace().collect::<Vec<_>>().join(" ");
            let excerpt = match excerpt.char_indices().nth(100) {
                Some((i, _)) => format!("{}...", &excerpt[..i]),
                None => excerpt,
            };
            format!("{}\t{}\t{}\t{excerpt}", f.fingerprint, f.rule, f.file)
        })
        .collect();
    lines.sort();
    let mut out = format!("{HEADER}\n");
    for line in lines {
        out.push_str(&line);
        out.push('\n');
    }
    out
}

/// Accepted findings: how many of each fingerprint.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Baseline {
    accepted: HashMap<String, usize>,
}

impl Baseline {
    /// Reads a baseline's text; `Err` names the first line that is not one.
    pub fn parse(text: &str) -> Result<Baseline, String> {
        let mut accepted: HashMap<String, usize> = HashMap::new();
        for (n, line) in text.lines().enumerate() {
            let line = line.trim_end_matches('\r');
            if line.trim().is_empty() || line.starts_with('#') {
                continue;
            }
            let fingerprint = line.split('\t').next().unwrap_or("");
            if fingerprint.len() != 16 || !fingerprint.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(format!("line {}: expected a 16-digit fingerprint, a tab, the rule and the file", n + 1));
            }
            *accepted.entry(fingerprint.to_ascii_lowercase()).or_default() += 1;
        }
        Ok(Baseline { accepted })
    }

    /// Removes the accepted findings from `findings` (each accepted line once) and
    /// returns how many it removed.
    pub fn suppress(&self, findings: &mut Vec<Finding>) -> usize {
        let mut left = self.accepted.clone();
        let before = findings.len();
        findings.retain(|f| match left.get_mut(&f.fingerprint) {
            Some(n) if *n > 0 => {
                *n -= 1;
                false
            }
            _ => true,
        });
        before - findings.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprints_ignore_whitespace_but_not_the_statement_rule_or_file() {
        let a = fingerprint("unconfined", "src/a.rs", "SELECT id\n    FROM t");
        assert_eq!(a, fingerprint("unconfined", "src/a.rs", "SELECT id FROM t"));
        assert_eq!(a.len(), 16);
        assert_ne!(a, fingerprint("unconfined", "src/a.rs", "SELECT id FROM u"));
        assert_ne!(a, fingerprint("syntax", "src/a.rs", "SELECT id FROM t"));
        assert_ne!(a, fingerprint("unconfined", "src/b.rs", "SELECT id FROM t"));
        // Fixed for good: a baseline written today still matches after an upgrade.
        assert_eq!(fingerprint("r", "f", "s"), "2deac99a482c87d2");
    }

    #[test]
    fn bad_lines_are_refused() {
        assert!(Baseline::parse("# c\n\n0123456789abcdef\tr\tf\n").is_ok());
        assert_eq!(
            Baseline::parse("0123\tr\tf\n").unwrap_err(),
            "line 1: expected a 16-digit fingerprint, a tab, the rule and the file"
        );
    }
}
