//! Corpus 1: every statement the analyser's own test suite asserts is confined on
//! PostgreSQL, read from `analyzer/tests/*.rs` when the oracle runs, so that a statement
//! added there is judged here without anyone copying it.
//!
//! A statement is a `safe(BACKENDS, ...)` call whose backend list includes PostgreSQL
//! (`ALL`, `PG`, `PG_SQLITE` of `analyzer/tests/common`). Its SQL is either a string
//! literal, a `let` of a string literal earlier in the same function, or the argument of
//! a closure that passes its parameter to `safe` (`let one = |sql| ... safe(ALL, sql) ...`).
//! A call whose SQL is none of these is counted as unresolved, so that a new way of
//! writing tests shows up in the summary instead of silently shrinking the corpus.
//!
//! Statements asserted confined in a schema of their own, `safe_in(&app, BACKENDS, ...)`,
//! are kept apart by the schema's name ([`Corpus::in_schema`]): they run on the fixture
//! that models that schema. Their SQL is resolved the same way; one that is not (a
//! statement a test computes, `&fixed`) is counted in [`Corpus::unresolved_in`].

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};

use syn::visit::{self, Visit};
use syn::{Expr, ExprCall, ExprClosure, ItemFn, Lit, Local, Pat};

/// The backend constants of `analyzer/tests/common` that include PostgreSQL.
const POSTGRES_LISTS: &[&str] = &["ALL", "PG", "PG_SQLITE"];

/// One statement of the analyser's test suite.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    /// `joins.rs::self_join_confines_each_alias`: where to read it.
    pub origin: String,
    /// The SQL as the test passes it to the analyser.
    pub sql: String,
}

/// The statements of the analyser's test files, and how many `safe(...)` calls for
/// PostgreSQL could not be resolved to a string.
#[derive(Debug, Default)]
pub struct Corpus {
    pub statements: Vec<Statement>,
    pub unresolved: Vec<String>,
    /// `safe_in(&name, ...)` statements for PostgreSQL, by the schema function's name.
    pub in_schema: BTreeMap<String, Vec<Statement>>,
    /// `safe_in` calls for PostgreSQL whose SQL is not a literal: `(schema, origin)`.
    pub unresolved_in: Vec<(String, String)>,
}

/// The analyser's test directory, next to this crate.
pub fn analyzer_tests_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../analyzer/tests")
}

/// Reads every `*.rs` file directly in `dir` (not `common/`, which holds the helpers).
///
/// # Panics
/// When the directory or a file cannot be read or parsed: an empty corpus would pass.
pub fn load(dir: &Path) -> Corpus {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
        .map(|entry| entry.expect("a directory entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "rs"))
        .collect();
    files.sort();
    let mut corpus = Corpus::default();
    for path in files {
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
        let file = path.file_name().and_then(|n| n.to_str()).unwrap_or("?").to_string();
        let found = from_source_all(&file, &text);
        corpus.statements.extend(found.statements);
        corpus.unresolved.extend(found.unresolved);
        for (schema, statements) in found.in_schema {
            let list = corpus.in_schema.entry(schema).or_default();
            for s in statements {
                if !list.iter().any(|t| t.sql == s.sql) {
                    list.push(s);
                }
            }
        }
        corpus.unresolved_in.extend(found.unresolved_in);
    }
    corpus
}

/// The statements of one test file; `file` names it in each statement's origin.
///
/// # Panics
/// When `text` is not Rust.
pub fn from_source(file: &str, text: &str) -> (Vec<Statement>, Vec<String>) {
    let corpus = from_source_all(file, text);
    (corpus.statements, corpus.unresolved)
}

/// Everything one test file asserts confined: `safe(...)` and `safe_in(...)` statements.
///
/// # Panics
/// When `text` is not Rust.
pub fn from_source_all(file: &str, text: &str) -> Corpus {
    let ast = syn::parse_file(text).unwrap_or_else(|e| panic!("parsing {file}: {e}"));
    let mut finder = Finder { file, function: String::new(), ..Finder::default() };
    finder.visit_file(&ast);
    Corpus {
        statements: finder.statements,
        unresolved: finder.unresolved,
        in_schema: finder.in_schema,
        unresolved_in: finder.unresolved_in,
    }
}

#[derive(Default)]
struct Finder<'a> {
    file: &'a str,
    /// The test function being walked, for origins.
    function: String,
    /// `let name = "..."` of the current function.
    strings: HashMap<String, String>,
    /// `let name = |param| ... safe(PG_LIST, param) ...` of the current function.
    closures: HashSet<String>,
    statements: Vec<Statement>,
    unresolved: Vec<String>,
    in_schema: BTreeMap<String, Vec<Statement>>,
    unresolved_in: Vec<(String, String)>,
}

impl Finder<'_> {
    fn origin(&self) -> String {
        format!("{}::{}", self.file, self.function)
    }

    fn push(&mut self, sql: String) {
        let origin = self.origin();
        // The same statement asserted twice (a test restating another) is judged once.
        if !self.statements.iter().any(|s| s.sql == sql) {
            self.statements.push(Statement { origin, sql });
        }
    }

    fn resolve(&self, arg: &Expr) -> Option<String> {
        match arg {
            Expr::Lit(lit) => match &lit.lit {
                Lit::Str(s) => Some(s.value()),
                _ => None,
            },
            Expr::Path(p) => p.path.get_ident().and_then(|i| self.strings.get(&i.to_string()).cloned()),
            Expr::Reference(r) => self.resolve(&r.expr),
            Expr::Paren(p) => self.resolve(&p.expr),
            _ => None,
        }
    }
}

/// The callee of a call if it is a plain name (`safe`, `one`).
fn callee(call: &ExprCall) -> Option<String> {
    match &*call.func {
        Expr::Path(p) => p.path.get_ident().map(ToString::to_string),
        _ => None,
    }
}

/// The schema function of `safe_in(&name, ...)`: `name`.
fn schema_name(arg: &Expr) -> Option<String> {
    match arg {
        Expr::Reference(r) => schema_name(&r.expr),
        Expr::Path(p) => p.path.get_ident().map(ToString::to_string),
        _ => None,
    }
}

/// Whether `arg` is one of the backend lists that include PostgreSQL.
fn includes_postgres(arg: &Expr) -> bool {
    matches!(arg, Expr::Path(p) if p.path.get_ident().is_some_and(|i| POSTGRES_LISTS.contains(&i.to_string().as_str())))
}

/// The arguments of a macro call written like a function call (`assert!(safe(..), "..")`,
/// `assert_eq!(..)`), which `syn` leaves as tokens; nothing for any other macro.
fn macro_arguments(mac: &syn::Macro) -> Vec<Expr> {
    let parser = syn::punctuated::Punctuated::<Expr, syn::Token![,]>::parse_terminated;
    mac.parse_body_with(parser).map(|args| args.into_iter().collect()).unwrap_or_default()
}

/// Whether a closure passes its only parameter to `safe` with a PostgreSQL list.
fn closure_wraps_safe(closure: &ExprClosure) -> bool {
    let [Pat::Ident(param)] = closure.inputs.iter().collect::<Vec<_>>()[..] else { return false };
    struct Uses<'p> {
        param: &'p syn::Ident,
        found: bool,
    }
    impl<'ast> Visit<'ast> for Uses<'_> {
        fn visit_expr_call(&mut self, call: &'ast ExprCall) {
            if callee(call).as_deref() == Some("safe")
                && call.args.len() == 2
                && includes_postgres(&call.args[0])
                && matches!(&call.args[1], Expr::Path(p) if p.path.is_ident(self.param))
            {
                self.found = true;
            }
            visit::visit_expr_call(self, call);
        }

        fn visit_macro(&mut self, mac: &'ast syn::Macro) {
            for expr in macro_arguments(mac) {
                self.visit_expr(&expr);
            }
        }
    }
    let mut uses = Uses { param: &param.ident, found: false };
    uses.visit_expr(&closure.body);
    uses.found
}

impl<'ast> Visit<'ast> for Finder<'_> {
    fn visit_item_fn(&mut self, f: &'ast ItemFn) {
        self.function = f.sig.ident.to_string();
        self.strings.clear();
        self.closures.clear();
        visit::visit_item_fn(self, f);
    }

    fn visit_local(&mut self, local: &'ast Local) {
        if let (Pat::Ident(name), Some(init)) = (&local.pat, &local.init) {
            let name = name.ident.to_string();
            match &*init.expr {
                Expr::Closure(c) if closure_wraps_safe(c) => {
                    self.closures.insert(name);
                    // The `safe` inside is called with the parameter, not a statement.
                    return;
                }
                expr => {
                    if let Some(sql) = self.resolve(expr) {
                        self.strings.insert(name, sql);
                    }
                }
            }
        }
        visit::visit_local(self, local);
    }

    fn visit_macro(&mut self, mac: &'ast syn::Macro) {
        for expr in macro_arguments(mac) {
            self.visit_expr(&expr);
        }
    }

    fn visit_expr_call(&mut self, call: &'ast ExprCall) {
        match callee(call) {
            Some(name) if name == "safe" && call.args.len() == 2 && includes_postgres(&call.args[0]) => {
                match self.resolve(&call.args[1]) {
                    Some(sql) => self.push(sql),
                    None => self.unresolved.push(self.origin()),
                }
            }
            Some(name) if name == "safe_in" && call.args.len() == 3 && includes_postgres(&call.args[1]) => {
                if let Some(schema) = schema_name(&call.args[0]) {
                    match self.resolve(&call.args[2]) {
                        Some(sql) => {
                            let origin = self.origin();
                            let list = self.in_schema.entry(schema).or_default();
                            if !list.iter().any(|s| s.sql == sql) {
                                list.push(Statement { origin, sql });
                            }
                        }
                        None => self.unresolved_in.push((schema, self.origin())),
                    }
                }
            }
            Some(name) if self.closures.contains(&name) && call.args.len() == 1 => match self.resolve(&call.args[0]) {
                Some(sql) => self.push(sql),
                None => self.unresolved.push(self.origin()),
            },
            _ => {}
        }
        visit::visit_expr_call(self, call);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_literals_lets_and_closures_for_postgres_only() {
        let src = r##"
            #[test]
            fn a() {
                safe(ALL, "SELECT 1");
                safe(MYSQL, "SELECT 2");
                let sql = "SELECT 3";
                let x = safe(PG, sql);
                safe(PG_SQLITE, r#"SELECT "4""#);
                safe(SQLITE, "SELECT 5");
                assert_eq!(safe(PG, "SELECT 9").kind, Select);
                leak(PG, "SELECT 6");
            }
            #[test]
            fn b() {
                let one = |sql| assert!(safe(ALL, sql).at_most_one_row, "{sql}");
                one("SELECT 7");
                safe(PG, &format!("SELECT {}", 8));
            }
        "##;
        let (statements, unresolved) = from_source("t.rs", src);
        let sql: Vec<&str> = statements.iter().map(|s| s.sql.as_str()).collect();
        assert_eq!(sql, ["SELECT 1", "SELECT 3", "SELECT \"4\"", "SELECT 9", "SELECT 7"]);
        assert_eq!(statements[4].origin, "t.rs::b");
        assert_eq!(unresolved, ["t.rs::b"]);
    }

    #[test]
    fn finds_statements_of_other_schemas_by_name() {
        let src = r##"
            #[test]
            fn c() {
                safe_in(&app, ALL, "SELECT 1");
                safe_in(&app, MYSQL, "SELECT 2");
                let sql = "SELECT 3";
                safe_in(&other, PG, sql);
                safe_in(&app, PG_SQLITE, &format!("SELECT {}", 4));
                safe(PG, "SELECT 5");
            }
        "##;
        let corpus = from_source_all("t.rs", src);
        let sql = |schema: &str| corpus.in_schema[schema].iter().map(|s| s.sql.clone()).collect::<Vec<_>>();
        assert_eq!(sql("app"), ["SELECT 1"]);
        assert_eq!(sql("other"), ["SELECT 3"]);
        assert_eq!(corpus.unresolved_in, [("app".to_string(), "t.rs::c".to_string())]);
        assert_eq!(corpus.statements.len(), 1);
    }

    #[test]
    fn the_analyzer_suite_is_found() {
        let corpus = load(&analyzer_tests_dir());
        assert!(corpus.statements.len() > 100, "only {} statements", corpus.statements.len());
        assert!(corpus.unresolved.is_empty(), "unresolved: {:?}", corpus.unresolved);
    }
}
