//! SQL in Rust sources, found with `syn`: the string passed to `sqlx::query`, `query_as`,
//! `query_scalar` (and their `_with` forms, `raw_sql`), to the `query!` family of macros,
//! and to `QueryBuilder::new`. A call whose SQL is not a literal (a variable, `format!`)
//! is found too, as "not checkable", with its place: nothing is skipped silently.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use proc_macro2::{Span, TokenStream, TokenTree};
use quote::ToTokens;
use syn::punctuated::Punctuated;
use syn::spanned::Spanned;
use syn::visit::{self, Visit};
use syn::{Expr, Lit, Token, UseTree};

use crate::literal::{Lines, Mapped, decode};
use crate::marker::{self, Marker};

/// The sqlx functions whose first argument is SQL.
const FUNCTIONS: [&str; 7] =
    ["query", "query_as", "query_scalar", "query_with", "query_as_with", "query_scalar_with", "raw_sql"];

/// A statement found in a Rust file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    /// Byte offset of the call in the file.
    pub at: usize,
    /// What was called: `sqlx::query`, `query_as!`, ...
    pub origin: String,
    /// The SQL, or why it cannot be read.
    pub sql: Sql,
    /// The Rust expressions bound to the parameters, in order, when the call shows them
    /// (a macro's arguments, a `.bind(..)` chain on the call).
    pub binds: Option<Vec<String>>,
    /// The marker comment above the call's statement.
    pub marker: Option<Marker>,
}

/// Where a statement's SQL is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sql {
    /// In this file, each byte mapped to its place.
    Here(Mapped),
    /// In another file, read whole (`query_file!`, `include_str!`).
    File(PathBuf),
    /// Not readable before run time.
    Dynamic {
        /// Why, for the message.
        reason: String,
        /// Byte offset in the file of what builds it.
        at: usize,
        /// Byte offset just past it.
        end: usize,
        /// That expression as written, on one line.
        expression: String,
    },
}

/// Finds the statements of the Rust file `path` whose text is `text`. `crate_dir` is
/// where `query_file!` paths start (the crate's `Cargo.toml` folder, as sqlx has it).
/// A file that does not parse is one [`Sql::Dynamic`] statement saying so.
pub fn find(text: &str, path: &Path, crate_dir: &Path) -> Vec<Found> {
    let lines = Lines::new(text);
    let file = match syn::parse_file(text) {
        Ok(file) => file,
        Err(e) => {
            let at = offset(text, &lines, e.span());
            return vec![Found {
                at,
                origin: "file".into(),
                sql: Sql::Dynamic {
                    reason: format!("the file does not parse as Rust ({e}), so none of its SQL is checked"),
                    at,
                    end: offset_end(text, &lines, e.span()),
                    expression: String::new(),
                },
                binds: None,
                marker: None,
            }];
        }
    };
    let mut names = Names::default();
    names.visit_file(&file);
    let mut finder = Finder {
        text,
        lines: &lines,
        names,
        dir: path.parent().map(Path::to_path_buf).unwrap_or_default(),
        crate_dir: crate_dir.to_path_buf(),
        statements: Vec::new(),
        binds: HashMap::new(),
        locals: HashMap::new(),
        found: Vec::new(),
    };
    finder.visit_file(&file);
    // proc-macro2 keeps every parsed file's text for its spans, per thread: a large code
    // base would otherwise hold all of it until the end.
    proc_macro2::extra::invalidate_current_thread_spans();
    let mut found = finder.found;
    found.sort_by_key(|f| f.at);
    found
}

/// Names the file gives: sqlx's functions and macros imported by `use`, and string
/// constants (`const FIND: &str = "SELECT ..."`), which calls often pass.
#[derive(Default)]
struct Names {
    /// Local name → sqlx's name.
    imported: HashMap<String, String>,
    /// `use sqlx::*`.
    glob: bool,
    /// Constant name → its literal's source span (`None`: defined twice, ambiguous).
    constants: HashMap<String, Option<Expr>>,
}

impl Names {
    fn import(&mut self, tree: &UseTree, prefix: &[String]) {
        match tree {
            UseTree::Path(p) => {
                let mut prefix = prefix.to_vec();
                prefix.push(p.ident.to_string());
                self.import(&p.tree, &prefix);
            }
            UseTree::Group(g) => g.items.iter().for_each(|t| self.import(t, prefix)),
            UseTree::Name(n) if prefix == ["sqlx"] => {
                self.imported.insert(n.ident.to_string(), n.ident.to_string());
            }
            UseTree::Rename(r) if prefix == ["sqlx"] => {
                self.imported.insert(r.rename.to_string(), r.ident.to_string());
            }
            UseTree::Glob(_) if prefix == ["sqlx"] => self.glob = true,
            _ => {}
        }
    }

    /// sqlx's name for a one-segment path `name`, when it comes from sqlx.
    fn sqlx_name(&self, name: &str) -> Option<String> {
        self.imported.get(name).cloned().or_else(|| self.glob.then(|| name.to_string()))
    }

    fn constant(&mut self, ident: &syn::Ident, expr: &Expr) {
        let name = ident.to_string();
        match self.constants.get(&name) {
            Some(_) => {
                self.constants.insert(name, None);
            }
            None => {
                self.constants.insert(name, Some(expr.clone()));
            }
        }
    }
}

impl<'ast> Visit<'ast> for Names {
    fn visit_item_use(&mut self, node: &'ast syn::ItemUse) {
        self.import(&node.tree, &[]);
    }
    fn visit_item_const(&mut self, node: &'ast syn::ItemConst) {
        self.constant(&node.ident, &node.expr);
        visit::visit_item_const(self, node);
    }
    fn visit_item_static(&mut self, node: &'ast syn::ItemStatic) {
        self.constant(&node.ident, &node.expr);
        visit::visit_item_static(self, node);
    }
    fn visit_impl_item_const(&mut self, node: &'ast syn::ImplItemConst) {
        self.constant(&node.ident, &node.expr);
        visit::visit_impl_item_const(self, node);
    }
}

struct Finder<'a> {
    text: &'a str,
    lines: &'a Lines,
    names: Names,
    /// The file's folder: `include_str!` paths start there.
    dir: PathBuf,
    crate_dir: PathBuf,
    /// Start lines of the statements and items around the current node, innermost last.
    statements: Vec<usize>,
    /// `.bind(..)` chains on a call, by the call's offset.
    binds: HashMap<usize, Vec<String>>,
    /// `let name = ...` seen so far: what built the value (`format!`) and its line, for
    /// the message about a call that passes the variable.
    locals: HashMap<String, (String, usize)>,
    found: Vec<Found>,
}

impl Finder<'_> {
    fn offset(&self, span: Span) -> usize {
        offset(self.text, self.lines, span)
    }

    fn end(&self, span: Span) -> usize {
        offset_end(self.text, self.lines, span)
    }

    /// The source text of `node` on one line, shortened.
    fn snippet(&self, node: &impl Spanned) -> String {
        let span = node.span();
        let (start, end) = (self.offset(span), self.end(span));
        let text = self.text.get(start..end.max(start)).unwrap_or("");
        let one_line = text.split_whitespace().collect::<Vec<_>>().join(" ");
        match one_line.char_indices().nth(80) {
            Some((i, _)) => format!("{}...", &one_line[..i]),
            None => one_line,
        }
    }

    /// The marker above the call at `line`, or above the statement holding it.
    fn marker(&self, line: usize) -> Option<Marker> {
        let mut starts = vec![line];
        starts.extend(self.statements.iter().rev().copied().filter(|&l| l < line));
        starts.into_iter().find_map(|l| marker::above(self.text, self.lines, l, "//"))
    }

    fn push(&mut self, at: usize, origin: String, sql: Sql, binds: Option<Vec<String>>) {
        let line = self.lines.position(self.text, at).0;
        let marker = self.marker(line);
        self.found.push(Found { at, origin, sql, binds, marker });
    }

    /// The SQL `expr` stands for.
    fn sql_of(&self, expr: &Expr) -> Sql {
        self.sql_within(expr, 0)
    }

    /// [`Finder::sql_of`], `depth` constants deep: code that does not compile may define
    /// constants in a cycle.
    fn sql_within(&self, expr: &Expr, depth: usize) -> Sql {
        let dynamic = |reason: String| Sql::Dynamic {
            reason,
            at: self.offset(expr.span()),
            end: self.end(expr.span()),
            expression: self.snippet(expr),
        };
        match expr {
            Expr::Lit(lit) => match self.literal(&lit.lit) {
                Ok(mapped) => Sql::Here(mapped),
                Err(reason) => dynamic(reason),
            },
            Expr::Reference(r) => self.sql_within(&r.expr, depth),
            Expr::Paren(p) => self.sql_within(&p.expr, depth),
            Expr::Group(g) => self.sql_within(&g.expr, depth),
            Expr::Macro(m) => {
                let name = m.mac.path.segments.last().map(|s| s.ident.to_string()).unwrap_or_default();
                match name.as_str() {
                    "concat" => match self.concat(&m.mac) {
                        Ok(mapped) => Sql::Here(mapped),
                        Err(reason) => dynamic(reason),
                    },
                    "include_str" => match m.mac.parse_body::<syn::LitStr>() {
                        Ok(path) => Sql::File(self.dir.join(path.value())),
                        Err(_) => dynamic("`include_str!` of a path that is not a literal".into()),
                    },
                    other => dynamic(format!("the SQL is built at run time by `{other}!`")),
                }
            }
            Expr::Path(p) if p.qself.is_none() && p.path.segments.len() == 1 => {
                let name = p.path.segments[0].ident.to_string();
                match self.names.constants.get(&name) {
                    Some(Some(value)) if depth < 8 => self.sql_within(value, depth + 1),
                    Some(Some(_)) => {
                        dynamic(format!("the SQL is the constant `{name}`, defined by constants too deep to follow"))
                    }
                    Some(None) => dynamic(format!("the SQL is the constant `{name}`, which this file defines twice")),
                    None => match self.locals.get(&name) {
                        Some((built, line)) => dynamic(format!(
                            "the SQL is the variable `{name}`, built at run time by {built} on line {line}"
                        )),
                        None => {
                            dynamic(format!("the SQL is the variable `{name}`, whose value is known only at run time"))
                        }
                    },
                }
            }
            _ => dynamic("the SQL is computed at run time".into()),
        }
    }

    /// A string literal's value, mapped onto the file.
    fn literal(&self, lit: &Lit) -> Result<Mapped, String> {
        match lit {
            Lit::Str(_) | Lit::Char(_) => {
                let span = lit.span();
                let (start, end) = (self.offset(span), offset_end(self.text, self.lines, span));
                let source = self.text.get(start..end).ok_or("a literal outside the file")?;
                // A suffix (`"..."suffix`) is not part of the value.
                let close = source.rfind(['"', '\'']).map_or(source.len(), |c| c + 1);
                decode(&source[..close], start)
            }
            Lit::Int(_) | Lit::Float(_) | Lit::Bool(_) => {
                let span = lit.span();
                let start = self.offset(span);
                let text = match lit {
                    Lit::Int(i) => i.base10_digits().to_string(),
                    Lit::Float(f) => f.base10_digits().to_string(),
                    _ => lit.to_token_stream_string(),
                };
                Ok(Mapped::verbatim(&text, start))
            }
            _ => Err("the SQL is a byte string, not a `&str`".into()),
        }
    }

    /// `concat!` of literals (nested `concat!` too).
    fn concat(&self, mac: &syn::Macro) -> Result<Mapped, String> {
        let parts = mac
            .parse_body_with(Punctuated::<Expr, Token![,]>::parse_terminated)
            .map_err(|e| format!("`concat!` that does not parse: {e}"))?;
        let mut out = Mapped::verbatim("", self.offset(mac.span()));
        for part in parts {
            match part {
                Expr::Lit(lit) => out.append(self.literal(&lit.lit)?),
                Expr::Macro(m) if m.mac.path.is_ident("concat") => out.append(self.concat(&m.mac)?),
                other => {
                    return Err(format!("`concat!` of `{}`, which is not a literal", self.snippet(&other)));
                }
            }
        }
        Ok(out)
    }

    /// A call of an sqlx function: its name, as sqlx names it.
    fn sqlx_function(&self, path: &syn::Path) -> Option<String> {
        let segments: Vec<String> = path.segments.iter().map(|s| s.ident.to_string()).collect();
        match segments.as_slice() {
            [.., builder, new] if builder == "QueryBuilder" && (new == "new" || new == "with_arguments") => {
                Some("QueryBuilder::new".into())
            }
            [first, .., name] if first == "sqlx" && FUNCTIONS.contains(&name.as_str()) => Some(format!("sqlx::{name}")),
            [name] => self.names.sqlx_name(name).filter(|n| FUNCTIONS.contains(&n.as_str())),
            _ => None,
        }
    }

    /// A sqlx macro: its name, as sqlx names it.
    fn sqlx_macro(&self, path: &syn::Path) -> Option<String> {
        let segments: Vec<String> = path.segments.iter().map(|s| s.ident.to_string()).collect();
        let name = match segments.as_slice() {
            [first, name] if first == "sqlx" => name.clone(),
            [name] => self.names.sqlx_name(name)?,
            _ => return None,
        };
        let known = name.starts_with("query")
            && ["", "_as", "_scalar", "_unchecked", "_as_unchecked", "_scalar_unchecked"]
                .iter()
                .any(|suffix| name == format!("query{suffix}") || name == format!("query_file{suffix}"));
        known.then_some(name)
    }

    fn macro_call(&mut self, mac: &syn::Macro, name: &str) {
        let at = self.offset(mac.path.span());
        let origin = format!("{name}!");
        let args = match mac.parse_body_with(split_arguments) {
            Ok(args) => args,
            Err(e) => {
                let sql = Sql::Dynamic {
                    reason: format!("`{name}!` whose arguments do not parse: {e}"),
                    at,
                    end: self.end(mac.span()),
                    expression: String::new(),
                };
                self.push(at, origin, sql, None);
                return;
            }
        };
        // `query_as!(Type, "SQL", args...)`: the SQL comes after the record type.
        let index = usize::from(name.contains("_as"));
        let Some(sql_tokens) = args.get(index) else {
            let sql = Sql::Dynamic {
                reason: format!("`{name}!` without its SQL"),
                at,
                end: self.end(mac.span()),
                expression: String::new(),
            };
            self.push(at, origin, sql, None);
            return;
        };
        let binds: Vec<String> = args[index + 1..].iter().map(|t| t.to_string()).collect();
        let sql = match syn::parse2::<Expr>(sql_tokens.clone()) {
            Ok(expr) if name.starts_with("query_file") => match &expr {
                Expr::Lit(syn::ExprLit { lit: Lit::Str(path), .. }) => Sql::File(self.crate_dir.join(path.value())),
                _ => self.sql_of(&expr),
            },
            Ok(expr) => self.sql_of(&expr),
            Err(e) => Sql::Dynamic {
                reason: format!("the SQL of `{name}!` does not parse: {e}"),
                at,
                end: self.end(mac.span()),
                expression: String::new(),
            },
        };
        self.push(at, origin, sql, Some(binds));
    }
}

impl<'ast> Visit<'ast> for Finder<'_> {
    fn visit_stmt(&mut self, node: &'ast syn::Stmt) {
        self.statements.push(node.span().start().line);
        visit::visit_stmt(self, node);
        self.statements.pop();
    }

    fn visit_item(&mut self, node: &'ast syn::Item) {
        self.statements.push(node.span().start().line);
        visit::visit_item(self, node);
        self.statements.pop();
    }

    fn visit_local(&mut self, node: &'ast syn::Local) {
        if let syn::Pat::Ident(p) = &node.pat
            && let Some(init) = &node.init
        {
            let built = match &*init.expr {
                Expr::Macro(m) => {
                    format!("`{}!`", m.mac.path.segments.last().map(|s| s.ident.to_string()).unwrap_or_default())
                }
                _ => "an expression".to_string(),
            };
            self.locals.insert(p.ident.to_string(), (built, node.span().start().line));
        }
        visit::visit_local(self, node);
    }

    fn visit_expr_method_call(&mut self, node: &'ast syn::ExprMethodCall) {
        if node.method == "bind" {
            // The outermost `.bind` sees the whole chain; inner ones keep what it found.
            let mut binds = Vec::new();
            let mut receiver: &Expr = &Expr::MethodCall(node.clone());
            while let Expr::MethodCall(m) = receiver {
                if m.method != "bind" {
                    break;
                }
                binds.extend(m.args.first().map(|a| a.to_token_stream_string()));
                receiver = &m.receiver;
            }
            if let Expr::Call(call) = receiver
                && let Expr::Path(p) = &*call.func
                && self.sqlx_function(&p.path).is_some()
            {
                binds.reverse();
                let at = self.offset(call.func.span());
                self.binds.entry(at).or_insert(binds);
            }
        }
        visit::visit_expr_method_call(self, node);
    }

    fn visit_expr_call(&mut self, node: &'ast syn::ExprCall) {
        if let Expr::Path(p) = &*node.func
            && let Some(name) = self.sqlx_function(&p.path)
        {
            let at = self.offset(node.func.span());
            let sql = if name == "QueryBuilder::new" {
                Sql::Dynamic {
                    reason:
                        "`QueryBuilder` builds the statement at run time; its first part alone is not the statement"
                            .into(),
                    at,
                    end: self.end(node.span()),
                    expression: self.snippet(node),
                }
            } else {
                match node.args.first() {
                    Some(arg) => self.sql_of(arg),
                    None => Sql::Dynamic {
                        reason: format!("`{name}` without its SQL"),
                        at,
                        end: self.end(node.span()),
                        expression: String::new(),
                    },
                }
            };
            let binds = self.binds.get(&at).cloned();
            self.push(at, name, sql, binds);
        }
        visit::visit_expr_call(self, node);
    }

    fn visit_macro(&mut self, node: &'ast syn::Macro) {
        if let Some(name) = self.sqlx_macro(&node.path) {
            self.macro_call(node, &name);
            return;
        }
        // Other macros (`assert!`, `vec!`, `tokio::join!`) usually hold expressions:
        // those are visited. A body that is not one, and that names sqlx, is reported.
        match node.parse_body_with(Punctuated::<Expr, Token![,]>::parse_terminated) {
            Ok(exprs) => exprs.iter().for_each(|e| self.visit_expr(e)),
            Err(_) if mentions_sqlx(node.tokens.clone(), &self.names) => {
                let at = self.offset(node.path.span());
                let name = node.path.segments.last().map(|s| s.ident.to_string()).unwrap_or_default();
                let sql = Sql::Dynamic {
                    reason: format!("inside `{name}!`, whose body tenantry check cannot read as Rust expressions"),
                    at,
                    end: self.end(node.path.span()),
                    expression: self.snippet(&node.path),
                };
                self.push(at, format!("{name}!"), sql, None);
            }
            Err(_) => {}
        }
    }
}

/// Whether `tokens` name `sqlx` or a function imported from it.
fn mentions_sqlx(tokens: TokenStream, names: &Names) -> bool {
    tokens.into_iter().any(|t| match t {
        TokenTree::Ident(i) => i == "sqlx" || names.imported.contains_key(&i.to_string()),
        TokenTree::Group(g) => mentions_sqlx(g.stream(), names),
        _ => false,
    })
}

/// A macro's arguments split at its top-level commas (a `query_as!` record type may not
/// parse as an expression).
fn split_arguments(input: syn::parse::ParseStream) -> syn::Result<Vec<TokenStream>> {
    let mut args = vec![TokenStream::new()];
    while !input.is_empty() {
        let tt: TokenTree = input.parse()?;
        match &tt {
            TokenTree::Punct(p) if p.as_char() == ',' => args.push(TokenStream::new()),
            _ => args.last_mut().into_iter().for_each(|a| a.extend([tt.clone()])),
        }
    }
    args.retain(|a| !a.is_empty());
    Ok(args)
}

trait TokenText {
    fn to_token_stream_string(&self) -> String;
}

impl<T: ToTokens> TokenText for T {
    fn to_token_stream_string(&self) -> String {
        self.to_token_stream().to_string()
    }
}

/// The byte offset of a span's start in `text`.
fn offset(text: &str, lines: &Lines, span: Span) -> usize {
    let at = span.start();
    lines.offset(text, at.line, at.column)
}

fn offset_end(text: &str, lines: &Lines, span: Span) -> usize {
    let at = span.end();
    lines.offset(text, at.line, at.column)
}
