//! Queries in `.sql` files, sqlc style: each starts at a `-- name: GetInvoice :one` line
//! and runs to the next one. A `.sql` file without such a line (a migration, a seed
//! script) holds no queries, and the caller says it was not read.

/// One named query of a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Query {
    /// `GetInvoice :one`, as written after `name:`.
    pub name: String,
    /// Byte offset of the `-- name:` line.
    pub header: usize,
    /// Byte offset of the statement (its first line after the header that is not blank).
    pub start: usize,
    /// The statement, comments included, without trailing blanks.
    pub sql: String,
}

/// The named queries of a `.sql` file, in order; empty when it has none.
pub fn queries(text: &str) -> Vec<Query> {
    let mut headers: Vec<(usize, usize, String)> = Vec::new();
    let mut at = 0;
    for line in text.split_inclusive('\n') {
        if let Some(name) = header(line) {
            headers.push((at, at + line.len(), name));
        }
        at += line.len();
    }
    let mut out = Vec::new();
    for (k, (header, body, name)) in headers.iter().enumerate() {
        let end = headers.get(k + 1).map_or(text.len(), |h| h.0);
        let block = &text[*body..end];
        let start = body + (block.len() - block.trim_start().len());
        let sql = text[start..end].trim_end().to_string();
        out.push(Query { name: name.clone(), header: *header, start, sql });
    }
    out
}

/// `-- name: X :one` → `X :one`.
fn header(line: &str) -> Option<String> {
    let rest = line.trim_start().strip_prefix("--")?.trim_start().strip_prefix("name:")?;
    let name = rest.trim();
    (!name.is_empty()).then(|| name.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_between_name_lines() {
        let text = "-- a file comment\n-- name: GetInvoice :one\n-- the one invoice\nSELECT 1;\n\n--  name:  ListAll :many\n\nSELECT 2\n  FROM t;\n\n";
        let q = queries(text);
        assert_eq!(q.len(), 2);
        assert_eq!(q[0].name, "GetInvoice :one");
        assert_eq!(q[0].sql, "-- the one invoice\nSELECT 1;");
        assert_eq!(&text[q[0].start..q[0].start + 6], "-- the");
        assert_eq!(q[1].name, "ListAll :many");
        assert_eq!(q[1].sql, "SELECT 2\n  FROM t;");
        assert_eq!(&text[q[1].header..q[1].header + 5], "--  n");
    }

    #[test]
    fn no_name_line_no_queries() {
        assert!(queries("CREATE TABLE t (id int);\n-- named: x\n").is_empty());
    }
}
