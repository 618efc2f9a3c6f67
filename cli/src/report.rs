//! The three outputs: text as rustc writes errors, JSON, and SARIF 2.1.0 for code
//! scanning. JSON is written by hand (a tiny tree and its escaper): the tool needs no
//! serialisation framework for three fixed shapes.

use crate::check::{Finding, Level, Report, Status};

/// Each rule id with what it checks (SARIF's rule descriptions, `--help`).
pub const RULES: [(&str, &str); 20] = [
    ("unconfined", "A tenant-owned table is read or written without being confined to the tenant"),
    ("tenant-parameters", "The tenant columns are compared with different parameters"),
    ("insert-tenant", "An INSERT does not give the tenant column the tenant in every row"),
    ("tenant-column-write", "An UPDATE or upsert assigns the tenant column"),
    ("upsert", "An upsert or REPLACE can overwrite another tenant's row"),
    ("shared-write", "A write to a global table"),
    ("tenant-unused", "The tenant parameter never reaches a tenant column"),
    ("statement", "Not one SELECT, INSERT, UPDATE or DELETE"),
    ("syntax", "The statement does not parse, or holds several statements"),
    ("parameter", "A parameter tenantry cannot follow"),
    ("unresolved-name", "A name the database may resolve in more than one way"),
    ("catalog", "A system catalog or statistics table"),
    ("function", "A function off the allow-list"),
    ("variable", "A user or system variable, carried from tenant to tenant by the connection"),
    ("server-setting", "An operator or literal whose meaning a server setting decides"),
    ("uncheckable", "A construct the rules cannot see into"),
    ("unclassified", "A table nobody said whose rows it holds"),
    ("unknown-name", "A table or column the migrations do not create"),
    ("marker", "A `tenantry:` marker comment that is not understood"),
    ("not-checked", "SQL built at run time, or not readable: not checked"),
];

/// What is printed: the report, the findings left after the baseline, and how many it
/// suppressed.
pub struct Output<'a> {
    /// The audit.
    pub report: &'a Report,
    /// Findings not in the baseline.
    pub findings: &'a [Finding],
    /// Findings the baseline suppressed.
    pub suppressed: usize,
}

impl Output<'_> {
    fn errors(&self) -> usize {
        self.findings.iter().filter(|f| f.level == Level::Error).count()
    }

    fn warnings(&self) -> usize {
        self.findings.iter().filter(|f| f.level == Level::Warning).count()
    }

    /// The rustc-like text.
    pub fn text(&self) -> String {
        let mut out = String::new();
        for f in self.findings {
            out.push_str(&finding_text(f));
            out.push('\n');
        }
        let r = self.report;
        let confined = r.count(|s| matches!(s, Status::Confined(_) | Status::NoTenantTable));
        let shared = r.count(|s| matches!(s, Status::NoTenantTable));
        let flagged = r.count(|s| matches!(s, Status::Flagged));
        let cross = r.count(|s| matches!(s, Status::CrossTenant(_)));
        let unchecked = r.count(|s| matches!(s, Status::NotCheckable));
        out.push_str(&format!(
            "summary: {} in {}: {} checked ({confined} confined, {shared} of them touching no tenant table; {flagged} flagged), {cross} cross-tenant by marker, {unchecked} not checkable\n",
            plural(r.statements.len(), "statement"),
            plural(r.files, "file"),
            confined + flagged,
        ));
        out.push_str(&format!("findings: {}, {}", plural(self.errors(), "error"), plural(self.warnings(), "warning")));
        if self.suppressed > 0 {
            out.push_str(&format!(" ({} suppressed by the baseline)", self.suppressed));
        }
        out.push('\n');
        if !r.sql_without_queries.is_empty() {
            // The first few; the JSON output lists them all.
            let mut shown = r.sql_without_queries.iter().take(5).cloned().collect::<Vec<_>>().join(", ");
            if r.sql_without_queries.len() > 5 {
                shown.push_str(&format!(" and {} more", r.sql_without_queries.len() - 5));
            }
            out.push_str(&format!(
                "not read: {} without a `-- name:` query: {shown}\n",
                plural(r.sql_without_queries.len(), ".sql file"),
            ));
        }
        out
    }

    /// The JSON document.
    pub fn json(&self) -> String {
        let r = self.report;
        let count = |kind: fn(&Status) -> bool| Json::Int(r.count(kind));
        let summary = Json::object([
            ("files", Json::Int(r.files)),
            ("statements", Json::Int(r.statements.len())),
            ("confined", count(|s| matches!(s, Status::Confined(_) | Status::NoTenantTable))),
            ("no_tenant_table", count(|s| matches!(s, Status::NoTenantTable))),
            ("flagged", count(|s| matches!(s, Status::Flagged))),
            ("cross_tenant", count(|s| matches!(s, Status::CrossTenant(_)))),
            ("not_checkable", count(|s| matches!(s, Status::NotCheckable))),
            ("errors", Json::Int(self.errors())),
            ("warnings", Json::Int(self.warnings())),
            ("suppressed", Json::Int(self.suppressed)),
        ]);
        let findings = self.findings.iter().map(|f| {
            Json::object([
                ("rule", Json::str(f.rule)),
                ("level", Json::str(f.level.name())),
                ("file", Json::str(&f.file)),
                ("line", Json::Int(f.line)),
                ("column", Json::Int(f.column)),
                ("end_line", Json::Int(f.end_line)),
                ("end_column", Json::Int(f.end_column)),
                ("message", Json::str(&f.message)),
                ("fix", f.fix.as_deref().map_or(Json::Null, Json::str)),
                ("statement", Json::str(&f.statement)),
                ("origin", Json::str(&f.origin)),
                ("fingerprint", Json::str(&f.fingerprint)),
            ])
        });
        let statements = r.statements.iter().map(|s| {
            let (status, detail) = match &s.status {
                Status::Confined(tenant) => ("confined", Some(("tenant_parameter", tenant.as_str()))),
                Status::NoTenantTable => ("no-tenant-table", None),
                Status::CrossTenant(reason) => ("cross-tenant", Some(("reason", reason.as_str()))),
                Status::Flagged => ("flagged", None),
                Status::NotCheckable => ("not-checkable", None),
            };
            let mut fields = vec![
                ("file", Json::str(&s.file)),
                ("line", Json::Int(s.line)),
                ("column", Json::Int(s.column)),
                ("origin", Json::str(&s.origin)),
                ("backend", s.backend.map_or(Json::Null, |b| Json::str(b.name()))),
                ("status", Json::str(status)),
            ];
            fields.extend(detail.map(|(k, v)| (k, Json::str(v))));
            Json::object(fields)
        });
        let doc = Json::object([
            ("tool", Json::str("tenantry check")),
            ("version", Json::str(env!("CARGO_PKG_VERSION"))),
            ("summary", summary),
            ("findings", Json::Array(findings.collect())),
            ("statements", Json::Array(statements.collect())),
            ("sql_files_without_queries", Json::Array(r.sql_without_queries.iter().map(|s| Json::str(s)).collect())),
        ]);
        let mut out = doc.render();
        out.push('\n');
        out
    }

    /// The SARIF 2.1.0 log: one run, the rules that have results, a result per finding.
    pub fn sarif(&self) -> String {
        let mut used: Vec<&str> = self.findings.iter().map(|f| f.rule).collect();
        used.sort_by_key(|id| RULES.iter().position(|(r, _)| r == id));
        used.dedup();
        let rules = used.iter().map(|id| {
            let description = RULES.iter().find(|(r, _)| r == id).map_or("", |(_, d)| d);
            Json::object([
                ("id", Json::str(id)),
                ("name", Json::str(&camel(id))),
                ("shortDescription", Json::object([("text", Json::str(description))])),
                (
                    "helpUri",
                    Json::str("https://github.com/tenantry/tenantry#auditing-an-existing-code-base-tenantry-check"),
                ),
            ])
        });
        let results = self.findings.iter().map(|f| {
            let mut text = f.message.clone();
            if let Some(fix) = &f.fix {
                text.push_str(&format!("\nfix: {fix}"));
            }
            let region = Json::object([
                ("startLine", Json::Int(f.line)),
                ("startColumn", Json::Int(f.column)),
                ("endLine", Json::Int(f.end_line)),
                ("endColumn", Json::Int(f.end_column)),
            ]);
            let location = Json::object([(
                "physicalLocation",
                Json::object([
                    (
                        "artifactLocation",
                        Json::object([("uri", Json::str(&uri(&f.file))), ("uriBaseId", Json::str("%SRCROOT%"))]),
                    ),
                    ("region", region),
                ]),
            )]);
            Json::object([
                ("ruleId", Json::str(f.rule)),
                ("ruleIndex", Json::Int(used.iter().position(|r| *r == f.rule).unwrap_or(0))),
                ("level", Json::str(f.level.name())),
                ("message", Json::object([("text", Json::str(&text))])),
                ("locations", Json::Array(vec![location])),
                ("partialFingerprints", Json::object([("tenantry/v1", Json::str(&f.fingerprint))])),
            ])
        });
        let driver = Json::object([
            ("name", Json::str("tenantry")),
            ("version", Json::str(env!("CARGO_PKG_VERSION"))),
            ("informationUri", Json::str("https://github.com/tenantry/tenantry")),
            ("rules", Json::Array(rules.collect())),
        ]);
        let run = Json::object([
            ("tool", Json::object([("driver", driver)])),
            ("columnKind", Json::str("unicodeCodePoints")),
            ("results", Json::Array(results.collect())),
        ]);
        let doc = Json::object([
            (
                "$schema",
                Json::str("https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"),
            ),
            ("version", Json::str("2.1.0")),
            ("runs", Json::Array(vec![run])),
        ]);
        let mut out = doc.render();
        out.push('\n');
        out
    }
}

/// One finding as rustc shows an error: header, `-->` line, the source line, the caret,
/// then the statement and the fix.
fn finding_text(f: &Finding) -> String {
    let number = f.line.to_string();
    let pad = " ".repeat(number.len());
    let line = &f.source_line;
    // The caret goes under the characters; tabs stay tabs so that it lines up.
    let before: String = line.chars().take(f.column - 1).map(|c| if c == '\t' { '\t' } else { ' ' }).collect();
    let width = if f.end_line == f.line {
        f.end_column.saturating_sub(f.column)
    } else {
        line.chars().count().saturating_sub(f.column - 1)
    }
    .max(1);
    let mut out = format!("{}[{}]: {}\n", f.level.name(), f.rule, f.message);
    out.push_str(&format!("{pad}--> {}:{}:{}\n", f.file, f.line, f.column));
    out.push_str(&format!("{pad} |\n{number} | {line}\n{pad} | {before}{}\n{pad} |\n", "^".repeat(width)));
    if !f.statement.is_empty() {
        let collapsed = f.statement.split_whitespace().collect::<Vec<_>>().join(" ");
        out.push_str(&format!("{pad} = statement: {collapsed}\n"));
    }
    if let Some(fix) = &f.fix {
        out.push_str(&format!("{pad} = fix: {fix}\n"));
    }
    out.push_str(&format!("{pad} = in: {}\n", f.origin));
    out
}

fn plural(n: usize, word: &str) -> String {
    if n == 1 { format!("1 {word}") } else { format!("{n} {word}s") }
}

/// `tenant-parameters` → `TenantParameters` (SARIF's rule `name`).
fn camel(id: &str) -> String {
    id.split('-').map(|w| w[..1].to_ascii_uppercase() + &w[1..]).collect()
}

/// A relative path as a URI reference: each byte outside the unreserved set and `/`
/// percent-encoded (a space in a file name must not end the URI).
fn uri(path: &str) -> String {
    let mut out = String::new();
    for b in path.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A JSON value.
#[derive(Debug, Clone, PartialEq)]
pub enum Json {
    /// `null`.
    Null,
    /// A non-negative integer.
    Int(usize),
    /// A string.
    Str(String),
    /// An array.
    Array(Vec<Json>),
    /// An object, keys in the order given.
    Object(Vec<(String, Json)>),
}

impl Json {
    fn str(s: &str) -> Json {
        Json::Str(s.to_string())
    }

    fn object<'a>(fields: impl IntoIterator<Item = (&'a str, Json)>) -> Json {
        Json::Object(fields.into_iter().map(|(k, v)| (k.to_string(), v)).collect())
    }

    /// Pretty-printed with two spaces, as `serde_json::to_string_pretty` does.
    pub fn render(&self) -> String {
        let mut out = String::new();
        self.write(&mut out, 0);
        out
    }

    fn write(&self, out: &mut String, indent: usize) {
        let inner = "  ".repeat(indent + 1);
        match self {
            Json::Null => out.push_str("null"),
            Json::Int(n) => out.push_str(&n.to_string()),
            Json::Str(s) => escape(s, out),
            Json::Array(items) if items.is_empty() => out.push_str("[]"),
            Json::Object(fields) if fields.is_empty() => out.push_str("{}"),
            Json::Array(items) => {
                out.push_str("[\n");
                for (k, item) in items.iter().enumerate() {
                    out.push_str(&inner);
                    item.write(out, indent + 1);
                    out.push_str(if k + 1 < items.len() { ",\n" } else { "\n" });
                }
                out.push_str(&"  ".repeat(indent));
                out.push(']');
            }
            Json::Object(fields) => {
                out.push_str("{\n");
                for (k, (key, value)) in fields.iter().enumerate() {
                    out.push_str(&inner);
                    escape(key, out);
                    out.push_str(": ");
                    value.write(out, indent + 1);
                    out.push_str(if k + 1 < fields.len() { ",\n" } else { "\n" });
                }
                out.push_str(&"  ".repeat(indent));
                out.push('}');
            }
        }
    }
}

/// A JSON string literal: quotes, backslashes and control characters escaped; the rest
/// is UTF-8 as is (JSON is UTF-8).
fn escape(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 || c == '\u{2028}' || c == '\u{2029}' => {
                out.push_str(&format!("\\u{:04x}", c as u32))
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_are_escaped() {
        let mut out = String::new();
        escape("a\"b\\c\nd\u{1}é", &mut out);
        assert_eq!(out, r#""a\"b\\c\nd\u0001é""#);
    }

    #[test]
    fn nested_values_render_like_serde_pretty() {
        let doc = Json::object([
            ("a", Json::Array(vec![Json::Int(1), Json::Null])),
            ("b", Json::object([])),
            ("c", Json::Array(vec![])),
        ]);
        assert_eq!(doc.render(), "{\n  \"a\": [\n    1,\n    null\n  ],\n  \"b\": {},\n  \"c\": []\n}");
    }

    #[test]
    fn uris_and_rule_names() {
        assert_eq!(uri("src/my file.rs"), "src/my%20file.rs");
        assert_eq!(uri("src/é.rs"), "src/%C3%A9.rs");
        assert_eq!(camel("tenant-parameters"), "TenantParameters");
    }

    #[test]
    fn every_rule_has_a_description() {
        use tenantry_analyzer::Rule;
        let all = [
            Rule::Syntax,
            Rule::Parameter,
            Rule::Statement,
            Rule::Unconfined,
            Rule::UnresolvedName,
            Rule::Catalog,
            Rule::Function,
            Rule::Variable,
            Rule::ServerSetting,
            Rule::TenantUnused,
            Rule::InsertTenant,
            Rule::TenantColumnWrite,
            Rule::Upsert,
            Rule::SharedWrite,
            Rule::Uncheckable,
            Rule::Unclassified,
            Rule::Unknown,
        ];
        for rule in all {
            let id = crate::judge::rule_id(rule);
            assert!(RULES.iter().any(|(r, _)| *r == id), "{id}");
        }
    }
}
