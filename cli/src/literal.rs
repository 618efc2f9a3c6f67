//! Rust string literals decoded as rustc decodes them, keeping for every byte of the value
//! the place in the file it came from, so that a caret under a part of the SQL lands on
//! the right line and column of the source, escapes and `\` line continuations included.

/// Text and, for each of its bytes, the byte offset in the file of the source character
/// that produced it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Mapped {
    /// The decoded text.
    pub text: String,
    /// `origins[k]` is where byte `k` of `text` came from; one entry more than `text` has
    /// bytes: where the text ends in the file (the closing quote).
    pub origins: Vec<usize>,
}

impl Mapped {
    /// Text that maps 1:1 onto the file from offset `base` (a `.sql` file, a raw string).
    pub fn verbatim(text: &str, base: usize) -> Mapped {
        let mut origins: Vec<usize> = (0..text.len()).map(|k| base + k).collect();
        origins.push(base + text.len());
        Mapped { text: text.to_string(), origins }
    }

    /// Appends `other` (`concat!`): the end entry of `self` gives way to `other`'s.
    pub fn append(&mut self, other: Mapped) {
        self.origins.pop();
        self.text.push_str(&other.text);
        self.origins.extend(other.origins);
    }

    /// The file offset byte `k` of the text came from (the end for `k` past it).
    pub fn origin(&self, k: usize) -> usize {
        self.origins.get(k).or(self.origins.last()).copied().unwrap_or(0)
    }

    fn push(&mut self, c: char, origin: usize) {
        self.text.push(c);
        self.origins.extend(std::iter::repeat_n(origin, c.len_utf8()));
    }
}

/// Decodes a string or char literal whose source text is `src`, starting at file offset
/// `base`. A byte or C string (`b"..."`, `c"..."`) is an error: sqlx takes `&str`.
pub fn decode(src: &str, base: usize) -> Result<Mapped, String> {
    let raw = src.starts_with('r');
    if src.starts_with(['b', 'c']) {
        return Err("a byte or C string literal, not a `&str`".into());
    }
    let body = if raw { &src[1..] } else { src };
    let hashes = body.len() - body.trim_start_matches('#').len();
    let quote = body[hashes..].chars().next().filter(|c| *c == '"' || *c == '\'');
    let Some(quote) = quote else { return Err(format!("`{src}` is not a string literal")) };
    let open = src.len() - body.len() + hashes + 1;
    let close = src.rfind(quote).filter(|&c| c >= open).ok_or_else(|| format!("`{src}` is not closed"))?;
    let inner = &src[open..close];
    let mut out = Mapped::default();
    let mut chars = inner.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        let at = base + open + i;
        match c {
            // rustc reads a CRLF file as LF.
            '\r' if chars.peek().is_some_and(|(_, n)| *n == '\n') => {}
            '\\' if !raw => {
                let Some((_, e)) = chars.next() else { return Err("a string ends in a lone `\\`".into()) };
                let decoded = match e {
                    'n' => '\n',
                    'r' => '\r',
                    't' => '\t',
                    '\\' => '\\',
                    '0' => '\0',
                    '\'' => '\'',
                    '"' => '"',
                    'x' => {
                        let hex: String = (0..2).filter_map(|_| chars.next().map(|(_, h)| h)).collect();
                        u8::from_str_radix(&hex, 16)
                            .ok()
                            .filter(u8::is_ascii)
                            .map(char::from)
                            .ok_or_else(|| format!("bad escape `\\x{hex}`"))?
                    }
                    'u' => {
                        let mut hex = String::new();
                        for (_, h) in chars.by_ref() {
                            match h {
                                '{' | '_' => {}
                                '}' => break,
                                h => hex.push(h),
                            }
                        }
                        u32::from_str_radix(&hex, 16)
                            .ok()
                            .and_then(char::from_u32)
                            .ok_or_else(|| format!("bad escape `\\u{{{hex}}}`"))?
                    }
                    // A line continuation: the newline and the next line's indentation
                    // are not part of the string.
                    '\n' | '\r' => {
                        while chars.peek().is_some_and(|(_, w)| matches!(w, ' ' | '\t' | '\n' | '\r')) {
                            chars.next();
                        }
                        continue;
                    }
                    other => return Err(format!("unknown escape `\\{other}`")),
                };
                out.push(decoded, at);
            }
            c => out.push(c, at),
        }
    }
    out.origins.push(base + close);
    Ok(out)
}

/// Where lines start in a file: byte offsets to 1-based lines and columns (columns count
/// characters, as rustc's do) and back.
#[derive(Debug, Clone)]
pub struct Lines {
    starts: Vec<usize>,
}

impl Lines {
    /// Indexes `text`.
    pub fn new(text: &str) -> Lines {
        let mut starts = vec![0];
        starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        Lines { starts }
    }

    /// The 1-based line and column of byte `offset` of `text`.
    pub fn position(&self, text: &str, offset: usize) -> (usize, usize) {
        let offset = text.floor_char_boundary(offset.min(text.len()));
        let line = self.starts.partition_point(|&s| s <= offset);
        let start = self.starts[line - 1];
        (line, text[start..offset].chars().count() + 1)
    }

    /// The byte offset of 1-based `line` and 0-based character `column` (what
    /// proc-macro2's `LineColumn` holds).
    pub fn offset(&self, text: &str, line: usize, column: usize) -> usize {
        let Some(&start) = self.starts.get(line.saturating_sub(1)) else { return text.len() };
        text[start..].char_indices().nth(column).map_or(text.len(), |(i, _)| start + i)
    }

    /// The text of 1-based `line`, without its line ending.
    pub fn line<'a>(&self, text: &'a str, line: usize) -> &'a str {
        let Some(&start) = self.starts.get(line.saturating_sub(1)) else { return "" };
        let end = self.starts.get(line).map_or(text.len(), |&e| e - 1);
        text[start..end.max(start)].trim_end_matches('\r')
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Decodes `lit` placed at offset 10 of a file and gives, for each needle of the
    /// value, the offset in `lit` it came from.
    fn origin_in_source(lit: &str, needle: &str) -> usize {
        let m = decode(lit, 10).unwrap();
        let k = m.text.find(needle).unwrap();
        m.origin(k) - 10
    }

    #[test]
    fn plain_strings_map_one_to_one() {
        let lit = r#""SELECT a FROM t""#;
        assert_eq!(decode(lit, 0).unwrap().text, "SELECT a FROM t");
        assert_eq!(origin_in_source(lit, "FROM"), lit.find("FROM").unwrap());
    }

    #[test]
    fn escapes_shift_what_follows() {
        let lit = r#""a\tb \"q\" \u{e9}t\x41 FROM t""#;
        let m = decode(lit, 0).unwrap();
        assert_eq!(m.text, "a\tb \"q\" étA FROM t");
        assert_eq!(origin_in_source(lit, "FROM"), lit.find("FROM").unwrap());
        // The escape itself maps to its backslash.
        assert_eq!(origin_in_source(lit, "\t"), 2);
        assert_eq!(origin_in_source(lit, "é"), lit.find("\\u").unwrap());
    }

    #[test]
    fn line_continuations_drop_the_newline_and_indentation() {
        let lit = "\"SELECT a \\\n        FROM t\"";
        let m = decode(lit, 0).unwrap();
        assert_eq!(m.text, "SELECT a FROM t");
        assert_eq!(origin_in_source(lit, "FROM"), lit.find("FROM").unwrap());
    }

    #[test]
    fn raw_strings_keep_backslashes_and_quotes() {
        let lit = r####"r#"SELECT "a\n" FROM t"#"####;
        let m = decode(lit, 0).unwrap();
        assert_eq!(m.text, r#"SELECT "a\n" FROM t"#);
        assert_eq!(origin_in_source(lit, "FROM"), lit.find("FROM").unwrap());
        assert_eq!(*m.origins.last().unwrap(), lit.len() - 2);
    }

    #[test]
    fn crlf_reads_as_lf() {
        let m = decode("\"a\r\nb\"", 0).unwrap();
        assert_eq!(m.text, "a\nb");
        assert_eq!(m.origin(2), 4);
    }

    #[test]
    fn byte_strings_and_bad_escapes_are_errors() {
        assert!(decode(r#"b"SELECT 1""#, 0).is_err());
        assert!(decode(r#""\q""#, 0).is_err());
        assert!(decode("1", 0).is_err());
    }

    #[test]
    fn concatenation_keeps_each_part_where_it_was() {
        let mut m = decode("\"SELECT a \"", 100).unwrap();
        m.append(decode("\"FROM t\"", 200).unwrap());
        assert_eq!(m.text, "SELECT a FROM t");
        assert_eq!(m.origin(9), 201);
        assert_eq!(m.origins.len(), m.text.len() + 1);
    }

    #[test]
    fn lines_and_columns_count_characters() {
        let text = "ab\né€x\n";
        let lines = Lines::new(text);
        let x = text.find('x').unwrap();
        assert_eq!(lines.position(text, x), (2, 3));
        assert_eq!(lines.offset(text, 2, 2), x);
        assert_eq!(lines.line(text, 2), "é€x");
        assert_eq!(lines.position(text, 0), (1, 1));
    }
}
