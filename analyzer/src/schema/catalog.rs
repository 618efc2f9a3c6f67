//! The catalog a project's migrations build (sqlx's convention).
//!
//! [`read_migrations`] reads a migrations folder as sqlx does; [`Catalog::from_migrations`]
//! applies their DDL in order: `CREATE TABLE`, `ALTER TABLE`, `DROP TABLE`, `RENAME
//! TABLE`, `CREATE UNIQUE INDEX` and `DROP INDEX` change the catalog. Statements that
//! change no table (seed data, functions, grants, policies, triggers) are skipped, even
//! when tenantry's SQL parser cannot read them; a table statement it cannot read, or one
//! whose effect on the columns and keys it cannot know, is an error: a catalog that
//! silently misses a column or a key would misclassify tables.
//!
//! What the catalog claims errs on the side of less: a key that a statement may have
//! dropped or shrunk is dropped, since a unique key or a NOT NULL column that does not
//! exist could make the analyser take a table for owned through a parent.

use std::path::{Path, PathBuf};

use sqlparser::ast::{
    AlterColumnOperation, AlterIndexOperation, AlterTable, AlterTableOperation, ColumnDef, ColumnOption, CreateIndex,
    CreateTable, DataType, Expr, Ident, IndexColumn, ObjectName, ObjectNamePart, ObjectType, RenameTableNameKind,
    SqliteTableOption, Statement, TableConstraint,
};
use sqlparser::dialect::Dialect;
use sqlparser::keywords::Keyword;
use sqlparser::parser::{Parser, ParserError};
use sqlparser::tokenizer::{Token, TokenWithSpan, Tokenizer};

use super::{Catalog, Column, ForeignKey, Table, UniqueKey};
use crate::Backend;
use crate::names::{self, Kind, Match};

type Result<T> = std::result::Result<T, SchemaError>;

/// One migration file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Migration {
    /// The version its name starts with (`20240101120000_create_pages.sql` → 20240101120000).
    pub version: i64,
    /// The file's path.
    pub path: PathBuf,
    /// Its SQL.
    pub sql: String,
}

/// A migration tenantry cannot read or apply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchemaError {
    /// The file, when the error is in one.
    pub path: Option<PathBuf>,
    /// The 1-based line in it, when known.
    pub line: Option<u64>,
    /// What is wrong.
    pub message: String,
}

impl SchemaError {
    fn new(path: &Path, line: Option<u64>, message: impl Into<String>) -> SchemaError {
        SchemaError { path: Some(path.to_path_buf()), line: line.filter(|&l| l > 0), message: message.into() }
    }
}

impl std::fmt::Display for SchemaError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (&self.path, self.line) {
            (Some(p), Some(l)) => write!(f, "{}:{l}: {}", p.display(), self.message),
            (Some(p), None) => write!(f, "{}: {}", p.display(), self.message),
            _ => f.write_str(&self.message),
        }
    }
}

impl std::error::Error for SchemaError {}

/// The migrations of `dir`, in version order, as sqlx reads them: every
/// `<VERSION>_<DESCRIPTION>.sql` and `<VERSION>_<DESCRIPTION>.up.sql` file (`.down.sql`
/// files undo a migration and are skipped; files not ending in `.sql` are ignored).
///
/// A `.sql` file whose name does not start with `<digits>_`, two files of one version,
/// a file that is not UTF-8 and a folder that cannot be read (a missing one included)
/// are errors.
pub fn read_migrations(dir: &Path) -> std::result::Result<Vec<Migration>, SchemaError> {
    let folder_error =
        |e: std::io::Error| SchemaError::new(dir, None, format!("cannot read the migrations folder: {e}"));
    let mut migrations: Vec<Migration> = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(folder_error)? {
        let path = entry.map_err(folder_error)?.path();
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        if !name.ends_with(".sql") || name.ends_with(".down.sql") || !path.is_file() {
            continue;
        }
        let stem = name.strip_suffix(".up.sql").unwrap_or_else(|| &name[..name.len() - ".sql".len()]);
        let version = stem
            .split_once('_')
            .filter(|(v, _)| !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()))
            .and_then(|(v, _)| v.parse::<i64>().ok());
        let Some(version) = version else {
            return Err(SchemaError::new(
                &path,
                None,
                format!(
                    "`{name}` is not named as a migration: sqlx expects `<VERSION>_<DESCRIPTION>.sql` (or `.up.sql`/`.down.sql`), the version a number (`20240101120000_create_pages.sql`); rename it, or move it out of the migrations folder"
                ),
            ));
        };
        if let Some(other) = migrations.iter().find(|m| m.version == version) {
            return Err(SchemaError::new(
                &path,
                None,
                format!(
                    "two migrations have version {version}: `{name}` and `{}`; give one of them another version",
                    other.path.file_name().unwrap_or_default().to_string_lossy()
                ),
            ));
        }
        let bytes = std::fs::read(&path)
            .map_err(|e| SchemaError::new(&path, None, format!("cannot read the migration: {e}")))?;
        let sql = String::from_utf8(bytes)
            .map_err(|e| SchemaError::new(&path, None, format!("the migration is not UTF-8 text: {e}")))?;
        migrations.push(Migration { version, path, sql });
    }
    migrations.sort_by_key(|m| m.version);
    Ok(migrations)
}

impl Catalog {
    /// The catalog `migrations` leave, applied in order in `backend`'s dialect.
    ///
    /// ```
    /// use std::path::PathBuf;
    /// use tenantry_analyzer::{Backend, schema::{Catalog, Migration}};
    /// let m = Migration {
    ///     version: 1,
    ///     path: PathBuf::from("1_pages.sql"),
    ///     sql: "CREATE TABLE Pages (id BIGINT PRIMARY KEY, tenant_id BIGINT NOT NULL);".into(),
    /// };
    /// let catalog = Catalog::from_migrations(&[m], Backend::Postgres).unwrap();
    /// let pages = catalog.table(Backend::Postgres, "pages").unwrap();
    /// assert_eq!(pages.primary_key, ["id"]);
    /// assert!(pages.column(Backend::Postgres, "tenant_id").unwrap().not_null);
    /// ```
    pub fn from_migrations(migrations: &[Migration], backend: Backend) -> std::result::Result<Catalog, SchemaError> {
        let dialect = backend.dialect();
        let mut builder =
            Builder { backend, entries: Vec::new(), path: PathBuf::new(), origin: String::new(), line: 0 };
        for m in migrations {
            builder.path = m.path.clone();
            builder.origin = m.path.file_name().unwrap_or(m.path.as_os_str()).to_string_lossy().into_owned();
            builder.apply_file(&m.sql, &*dialect)?;
        }
        // A foreign key naming no columns references the primary key; SQLite lets it
        // name a table created later.
        let mut tables: Vec<Table> = builder.entries.into_iter().map(|e| e.table).collect();
        for i in 0..tables.len() {
            for f in 0..tables[i].foreign_keys.len() {
                if tables[i].foreign_keys[f].referenced.is_empty() {
                    let target = &tables[i].foreign_keys[f].table;
                    if let Some(parent) = tables.iter().find(|t| same(backend, &t.name, target)) {
                        let key = parent.primary_key.clone();
                        tables[i].foreign_keys[f].referenced = key;
                    }
                }
            }
        }
        Ok(Catalog { tables })
    }
}

/// A table being built, with what the catalog does not keep.
struct Entry {
    table: Table,
    /// The primary key constraint's name, for `DROP CONSTRAINT`.
    pk_name: Option<String>,
    /// SQLite: the `INTEGER` columns (a one-column primary key of that type is the rowid).
    integer_columns: Vec<String>,
    /// MySQL: the number of the last `<table>_ibfk_<n>` name given.
    fk_seq: usize,
}

struct Builder {
    backend: Backend,
    entries: Vec<Entry>,
    path: PathBuf,
    /// The file name, for `Table::origin`.
    origin: String,
    /// The line the current statement starts on.
    line: u64,
}

/// The statements of a file, each its tokens (with their place in the file).
fn split(sql: &str, dialect: &dyn Dialect) -> std::result::Result<Vec<Vec<TokenWithSpan>>, (u64, String)> {
    let tokens = Tokenizer::new(dialect, sql)
        .tokenize_with_location()
        .map_err(|e| (e.location.line, format!("cannot read the SQL: {}", e.message)))?;
    let mut statements = Vec::new();
    let mut current: Vec<TokenWithSpan> = Vec::new();
    // Inside a trigger or routine body (`BEGIN ... END`), `;` ends its statements, not the
    // CREATE.
    let mut routine: Option<bool> = None;
    let mut depth = 0usize;
    for (i, t) in tokens.iter().enumerate() {
        match &t.token {
            Token::SemiColon if depth == 0 => {
                if significant(&current).next().is_some() {
                    statements.push(std::mem::take(&mut current));
                }
                current.clear();
                routine = None;
                continue;
            }
            Token::Word(w)
                if w.quote_style.is_none() && matches!(w.keyword, Keyword::BEGIN | Keyword::CASE | Keyword::END) =>
            {
                let is_routine = *routine.get_or_insert_with(|| is_routine(&current));
                if is_routine {
                    if w.keyword == Keyword::END {
                        // MySQL's `END IF`, `END LOOP`, ... close what was not counted.
                        let next = significant(&tokens[i + 1..]).next();
                        let closes_other = next.is_some_and(|n| {
                            matches!(&n.token, Token::Word(w) if ["IF", "LOOP", "WHILE", "REPEAT"].iter().any(|k| w.value.eq_ignore_ascii_case(k)))
                        });
                        if !closes_other {
                            depth = depth.saturating_sub(1);
                        }
                    } else {
                        depth += 1;
                    }
                }
            }
            _ => {}
        }
        current.push(t.clone());
    }
    if significant(&current).next().is_some() {
        statements.push(current);
    }
    Ok(statements)
}

/// The tokens that are not whitespace or comments.
fn significant(tokens: &[TokenWithSpan]) -> impl Iterator<Item = &TokenWithSpan> {
    tokens.iter().filter(|t| !matches!(t.token, Token::Whitespace(_)))
}

/// The first few unquoted words of a statement, upper case (a non-word token ends them).
fn leading_words(tokens: &[TokenWithSpan], n: usize) -> Vec<String> {
    significant(tokens)
        .take(n)
        .map_while(|t| match &t.token {
            Token::Word(w) if w.quote_style.is_none() => Some(w.value.to_ascii_uppercase()),
            _ => None,
        })
        .collect()
}

/// Whether the statement creates a trigger, function or procedure (whose body may hold
/// `;`).
fn is_routine(tokens: &[TokenWithSpan]) -> bool {
    let mut words = significant(tokens).take(12);
    if !matches!(words.next().map(|t| &t.token), Some(Token::Word(w)) if w.keyword == Keyword::CREATE) {
        return false;
    }
    for t in words {
        match &t.token {
            Token::Word(w) if w.quote_style.is_none() => match w.keyword {
                Keyword::TRIGGER | Keyword::FUNCTION | Keyword::PROCEDURE => return true,
                Keyword::TABLE | Keyword::INDEX | Keyword::VIEW | Keyword::ON => return false,
                _ => {}
            },
            Token::LParen => return false,
            _ => {}
        }
    }
    false
}

/// Whether an unparseable statement is one that changes tables.
fn is_table_ddl(tokens: &[TokenWithSpan]) -> bool {
    let words = leading_words(tokens, 4);
    let w: Vec<&str> = words.iter().map(String::as_str).collect();
    matches!(
        w.as_slice(),
        ["CREATE", "TABLE", ..]
            | ["CREATE", "UNLOGGED", "TABLE", ..]
            | ["CREATE", "OR", "REPLACE", "TABLE"]
            | ["CREATE", "INDEX", ..]
            | ["CREATE", "UNIQUE", "INDEX", ..]
            | ["ALTER", "TABLE", ..]
            | ["DROP", "TABLE", ..]
            | ["DROP", "INDEX", ..]
            | ["RENAME", "TABLE", ..]
    )
}

impl Builder {
    fn error(&self, line: u64, message: impl Into<String>) -> SchemaError {
        SchemaError::new(&self.path, Some(if line > 0 { line } else { self.line }), message)
    }

    /// An error at the current statement.
    fn here(&self, message: impl Into<String>) -> SchemaError {
        self.error(self.line, message)
    }

    fn apply_file(&mut self, sql: &str, dialect: &dyn Dialect) -> Result<()> {
        let statements = split(sql, dialect).map_err(|(line, m)| self.error(line, m))?;
        for tokens in statements {
            self.apply_tokens(tokens, dialect)?;
        }
        Ok(())
    }

    /// Parses and applies one statement.
    fn apply_tokens(&mut self, tokens: Vec<TokenWithSpan>, dialect: &dyn Dialect) -> Result<()> {
        self.line = significant(&tokens).next().map_or(0, |t| t.span.start.line);
        let ddl = is_table_ddl(&tokens);
        let parsed = Parser::new(dialect).with_tokens_with_locations(tokens.clone()).parse_statements();
        match parsed {
            Ok(statements) => {
                for s in &statements {
                    self.apply(s)?;
                }
                Ok(())
            }
            // A trigger or routine the parser does not read, whose body `split` may have
            // misjudged: what follows its first `;` is read as statements of their own,
            // so that a misjudged end does not hide the tables created after it.
            Err(_) if !ddl => {
                let mut pieces = tokens.split(|t| t.token == Token::SemiColon).skip(1);
                pieces.try_for_each(|piece| match significant(piece).next() {
                    Some(_) => self.apply_tokens(piece.to_vec(), dialect),
                    None => Ok(()),
                })
            }
            Err(e) => {
                let message = match &e {
                    ParserError::ParserError(m) | ParserError::TokenizerError(m) => m.clone(),
                    ParserError::RecursionLimitExceeded => "nested too deeply".to_string(),
                };
                let line = crate::parse_location(&message).map_or(self.line, |s| s.start.line);
                let message = message.split(" at Line: ").next().unwrap_or(&message).to_string();
                let db = crate::backend_title(self.backend);
                Err(self.error(
                    line,
                    format!(
                        "the table statement does not parse as {db} SQL: {message}; if {db} runs it, tenantry's SQL parser (sqlparser {}) may not know the construct: write it another way",
                        crate::SQLPARSER
                    ),
                ))
            }
        }
    }

    fn apply(&mut self, statement: &Statement) -> Result<()> {
        match statement {
            Statement::CreateTable(ct) => self.create_table(ct),
            Statement::AlterTable(at) => self.alter_table(at),
            Statement::CreateIndex(ci) if ci.unique => self.create_unique_index(ci),
            // Temporary tables are not kept.
            Statement::Drop { object_type: ObjectType::Table, temporary: true, .. } => Ok(()),
            Statement::Drop { object_type: ObjectType::Table, if_exists, names, .. } => {
                for name in names {
                    self.drop_table(name, *if_exists)?;
                }
                Ok(())
            }
            Statement::Drop { object_type: ObjectType::Index, names, table, .. } => {
                for name in names {
                    self.drop_index(name, table.as_ref())?;
                }
                Ok(())
            }
            Statement::AlterIndex { name, operation: AlterIndexOperation::RenameIndex { index_name } } => {
                let ((_, old, _), (_, new, _)) = (self.split_name(name)?, self.split_name(index_name)?);
                let backend = self.backend;
                for k in self.entries.iter_mut().flat_map(|e| &mut e.table.unique_keys) {
                    if k.name.as_deref().is_some_and(|n| same(backend, n, &old)) {
                        k.name = Some(new.clone());
                    }
                }
                Ok(())
            }
            Statement::RenameTable(renames) => {
                for r in renames {
                    let i = self.require(&r.old_name)?;
                    self.rename_table(i, &r.new_name)?;
                }
                Ok(())
            }
            _ => Ok(()),
        }
    }

    // --- names ---

    fn stored(&self, ident: &Ident) -> String {
        names::stored(self.backend, ident)
    }

    fn same_column(&self, a: &str, b: &str) -> bool {
        names::compare_values(self.backend, Kind::Column, a, b) == Match::Same
    }

    /// The (schema, table, last identifier) of an object name.
    fn split_name<'n>(&self, name: &'n ObjectName) -> Result<(Option<String>, String, &'n Ident)> {
        let idents: Vec<&Ident> = name
            .0
            .iter()
            .map(|p| match p {
                ObjectNamePart::Identifier(i) => Some(i),
                ObjectNamePart::Function(_) => None,
            })
            .collect::<Option<_>>()
            .ok_or_else(|| self.here(format!("tenantry cannot read the name `{name}`")))?;
        let Some((last, rest)) = idents.split_last() else {
            return Err(self.here("a table statement without a table name"));
        };
        Ok((rest.last().map(|s| self.stored(s)), self.stored(last), last))
    }

    fn find(&self, schema: Option<&str>, name: &str) -> Option<usize> {
        self.entries.iter().position(|e| {
            same(self.backend, &e.table.name, name)
                && match (schema, &e.table.schema) {
                    (Some(a), Some(b)) => same(self.backend, a, b),
                    _ => true,
                }
        })
    }

    /// The table `name` names, or an error saying it does not exist.
    fn require(&self, name: &ObjectName) -> Result<usize> {
        let (schema, table, ident) = self.split_name(name)?;
        if let Some(i) = self.find(schema.as_deref(), &table) {
            return Ok(i);
        }
        let mut message = format!("table `{name}` does not exist (no earlier migration creates it)");
        if let Some(e) = self
            .entries
            .iter()
            .find(|e| names::compare_values(self.backend, Kind::Relation, &e.table.name, &table) == Match::Uncertain)
        {
            message.push_str(&format!(
                "; `{}` differs only in case, and whether MySQL takes them for one table depends on the server's `lower_case_table_names`: write the name as the table was created",
                e.table.name
            ));
        }
        Err(self.error(ident.span.start.line, message))
    }

    // --- CREATE TABLE ---

    fn create_table(&mut self, ct: &CreateTable) -> Result<()> {
        if ct.temporary {
            // Gone when the migration's connection closes.
            return Ok(());
        }
        let (schema, name, ident) = self.split_name(&ct.name)?;
        let line = ident.span.start.line;
        if let Some(existing) = self.find(schema.as_deref(), &name) {
            if ct.if_not_exists {
                return Ok(());
            }
            if !ct.or_replace {
                return Err(self.error(
                    line,
                    format!(
                        "table `{name}` already exists (created by {}); drop it first, or write `CREATE TABLE IF NOT EXISTS`",
                        self.entries[existing].table.origin
                    ),
                ));
            }
            self.remove_table(existing);
        }
        if ct.query.is_some() {
            return Err(self.error(line, format!(
                "`CREATE TABLE {} AS SELECT ...`: tenantry cannot know the columns and keys of a table created from a query; create it with its columns (`CREATE TABLE ... (...)`), then `INSERT INTO ... SELECT ...`",
                ct.name
            )));
        }
        if ct.like.is_some() || ct.clone.is_some() {
            return Err(self.error(line, format!(
                "`CREATE TABLE {} (LIKE ...)`: tenantry does not copy another table's definition; write the table's columns and keys",
                ct.name
            )));
        }
        if ct.inherits.as_ref().is_some_and(|i| !i.is_empty()) {
            return Err(self.error(line, format!(
                "`CREATE TABLE {} (...) INHERITS (...)`: tenantry does not follow table inheritance; write the table's columns and keys",
                ct.name
            )));
        }
        let mut entry = match &ct.partition_of {
            // A partition has its parent's columns and keys.
            Some(parent) => {
                let p = self.require(parent)?;
                let parent = &self.entries[p];
                Entry {
                    table: Table {
                        schema: schema.clone(),
                        name: name.clone(),
                        origin: self.origin.clone(),
                        ..parent.table.clone()
                    },
                    pk_name: None,
                    integer_columns: parent.integer_columns.clone(),
                    fk_seq: 0,
                }
            }
            None => Entry {
                table: Table {
                    schema,
                    name,
                    columns: Vec::new(),
                    primary_key: Vec::new(),
                    unique_keys: Vec::new(),
                    foreign_keys: Vec::new(),
                    origin: self.origin.clone(),
                },
                pk_name: None,
                integer_columns: Vec::new(),
                fk_seq: 0,
            },
        };
        for c in &ct.columns {
            self.add_column(&mut entry, c, false)?;
        }
        for c in &ct.constraints {
            self.add_constraint(&mut entry, c)?;
        }
        if self.backend == Backend::Sqlite {
            // A primary key column may hold NULL in SQLite, but for the rowid (`INTEGER
            // PRIMARY KEY`), in `WITHOUT ROWID` and in `STRICT` tables.
            let options = &ct.sqlite_table_options.options;
            let strict =
                options.iter().any(|o| matches!(o, SqliteTableOption::WithoutRowid | SqliteTableOption::Strict));
            let rowid = matches!(entry.table.primary_key.as_slice(), [k] if entry.integer_columns.iter().any(|c| self.same_column(c, k)));
            if strict || rowid {
                let key = entry.table.primary_key.clone();
                self.mark_not_null(&mut entry.table, &key);
            }
        }
        self.resolve_references(&mut entry.table);
        self.entries.push(entry);
        Ok(())
    }

    /// Adds a column definition (CREATE TABLE, ADD COLUMN).
    fn add_column(&self, entry: &mut Entry, c: &ColumnDef, if_not_exists: bool) -> Result<()> {
        let name = self.stored(&c.name);
        if entry.table.column(self.backend, &name).is_some() {
            if if_not_exists {
                return Ok(());
            }
            return Err(self.error(
                c.name.span.start.line,
                format!("column `{name}` of table `{}` already exists", entry.table.name),
            ));
        }
        entry.table.columns.push(Column { name: name.clone(), not_null: false, data_type: type_name(&c.data_type) });
        if c.data_type == DataType::Integer(None) {
            entry.integer_columns.push(name.clone());
        }
        self.serial(entry, &name, &c.data_type);
        for o in &c.options {
            self.column_option(entry, &name, o.name.as_ref(), &o.option, c.name.span.start.line)?;
        }
        Ok(())
    }

    /// PostgreSQL's `serial` types are NOT NULL; MySQL's `SERIAL` is `BIGINT UNSIGNED NOT
    /// NULL AUTO_INCREMENT UNIQUE`.
    fn serial(&self, entry: &mut Entry, column: &str, data_type: &DataType) {
        let DataType::Custom(name, _) = data_type else { return };
        let Some(ObjectNamePart::Identifier(ty)) = name.0.last() else { return };
        let ty = ty.value.to_ascii_lowercase();
        let cols = [column.to_string()];
        match self.backend {
            Backend::Postgres
                if ["serial", "serial2", "serial4", "serial8", "smallserial", "bigserial"].contains(&ty.as_str()) =>
            {
                self.mark_not_null(&mut entry.table, &cols);
            }
            Backend::MySql if ty == "serial" => {
                self.mark_not_null(&mut entry.table, &cols);
                self.add_unique(entry, cols.to_vec(), None, false);
            }
            _ => {}
        }
    }

    /// Applies one option of column `column`'s definition.
    fn column_option(
        &self,
        entry: &mut Entry,
        column: &str,
        name: Option<&Ident>,
        option: &ColumnOption,
        line: u64,
    ) -> Result<()> {
        let cols = vec![column.to_string()];
        match option {
            ColumnOption::NotNull => self.mark_not_null(&mut entry.table, &cols),
            // PostgreSQL's identity columns are NOT NULL (a generated expression is not).
            ColumnOption::Generated { generation_expr: None, .. } if self.backend == Backend::Postgres => {
                self.mark_not_null(&mut entry.table, &cols)
            }
            ColumnOption::Null => {
                if let Some(c) = self.column_mut(&mut entry.table, column) {
                    c.not_null = false;
                }
            }
            ColumnOption::PrimaryKey(pk) => {
                let name = name.or(pk.name.as_ref()).map(|n| self.stored(n));
                self.set_primary_key(entry, cols, name, line)?;
            }
            ColumnOption::Unique(u) => {
                let name = u.index_name.as_ref().or(name).or(u.name.as_ref()).map(|n| self.stored(n));
                self.add_unique(entry, cols, name, false);
            }
            ColumnOption::ForeignKey(fk) => {
                let name = name.or(fk.name.as_ref()).map(|n| self.stored(n));
                self.add_foreign_key(entry, cols, name, &fk.foreign_table, &fk.referred_columns)?;
            }
            _ => {}
        }
        Ok(())
    }

    /// Adds a table constraint (CREATE TABLE, ADD CONSTRAINT).
    fn add_constraint(&self, entry: &mut Entry, c: &TableConstraint) -> Result<()> {
        match c {
            TableConstraint::PrimaryKey(pk) => {
                let (cols, expressions) = self.index_columns(&entry.table, &pk.columns)?;
                if expressions {
                    return Err(self.here("a primary key on an expression: a primary key names columns"));
                }
                let name = pk.name.as_ref().map(|n| self.stored(n));
                self.set_primary_key(entry, cols, name, self.line)?;
            }
            TableConstraint::Unique(u) => {
                let (cols, expressions) = self.index_columns(&entry.table, &u.columns)?;
                let name = u.index_name.as_ref().or(u.name.as_ref()).map(|n| self.stored(n));
                self.add_unique(entry, cols, name, expressions);
            }
            TableConstraint::ForeignKey(fk) => {
                let cols = fk.columns.iter().map(|c| self.existing_column(&entry.table, c)).collect::<Result<_>>()?;
                let name = fk.name.as_ref().map(|n| self.stored(n));
                self.add_foreign_key(entry, cols, name, &fk.foreign_table, &fk.referred_columns)?;
            }
            TableConstraint::PrimaryKeyUsingIndex(u) | TableConstraint::UniqueUsingIndex(u) => {
                let index = self.stored(&u.index_name);
                let Some(k) = entry
                    .table
                    .unique_keys
                    .iter()
                    .position(|k| k.name.as_deref().is_some_and(|n| same(self.backend, n, &index)))
                else {
                    return Err(self.here(format!("no unique index `{index}` on table `{}`", entry.table.name)));
                };
                // The index becomes the constraint, under the constraint's name.
                let name = u.name.as_ref().map(|n| self.stored(n)).unwrap_or(index);
                if matches!(c, TableConstraint::PrimaryKeyUsingIndex(_)) {
                    let key = entry.table.unique_keys.remove(k);
                    self.set_primary_key(entry, key.columns, Some(name), self.line)?;
                } else {
                    entry.table.unique_keys[k].name = Some(name);
                }
            }
            TableConstraint::Check(_)
            | TableConstraint::Index(_)
            | TableConstraint::FulltextOrSpatial(_)
            | TableConstraint::Exclude(_) => {}
        }
        Ok(())
    }

    /// The columns of an index or key as stored (their names as the table has them), and
    /// whether it also holds expressions (which are left out).
    fn index_columns(&self, table: &Table, columns: &[IndexColumn]) -> Result<(Vec<String>, bool)> {
        let mut out = Vec::new();
        let mut expressions = false;
        for c in columns {
            let mut expr = &c.column.expr;
            while let Expr::Nested(inner) = expr {
                expr = inner;
            }
            match expr {
                Expr::Identifier(ident) => out.push(self.existing_column(table, ident)?),
                _ => expressions = true,
            }
        }
        Ok((out, expressions))
    }

    /// The name of `table`'s column `ident`, as the table has it.
    fn existing_column(&self, table: &Table, ident: &Ident) -> Result<String> {
        let name = self.stored(ident);
        match table.column(self.backend, &name) {
            Some(c) => Ok(c.name.clone()),
            None => Err(self.error(ident.span.start.line, format!("table `{}` has no column `{name}`", table.name))),
        }
    }

    fn column_mut<'t>(&self, table: &'t mut Table, name: &str) -> Option<&'t mut Column> {
        table.columns.iter_mut().find(|c| self.same_column(&c.name, name))
    }

    fn mark_not_null(&self, table: &mut Table, columns: &[String]) {
        for name in columns {
            if let Some(c) = self.column_mut(table, name) {
                c.not_null = true;
            }
        }
    }

    fn set_primary_key(&self, entry: &mut Entry, columns: Vec<String>, name: Option<String>, line: u64) -> Result<()> {
        if !entry.table.primary_key.is_empty() {
            return Err(self.error(line, format!("table `{}` has a primary key already", entry.table.name)));
        }
        // SQLite's primary key columns may hold NULL (see `create_table`).
        if self.backend != Backend::Sqlite {
            self.mark_not_null(&mut entry.table, &columns);
        }
        entry.pk_name = name.or_else(|| match self.backend {
            Backend::Postgres => pg_name(&entry.table.name, &[], "pkey"),
            Backend::MySql => Some("PRIMARY".to_string()),
            Backend::Sqlite => None,
        });
        entry.table.primary_key = columns;
        Ok(())
    }

    fn add_unique(&self, entry: &mut Entry, columns: Vec<String>, name: Option<String>, partial: bool) {
        let name = name.or_else(|| self.default_unique_name(&entry.table, &columns, "key"));
        entry.table.unique_keys.push(UniqueKey { name, columns, partial });
    }

    /// The name the database gives an unnamed unique constraint (or, `label` "idx", a
    /// PostgreSQL index).
    fn default_unique_name(&self, table: &Table, columns: &[String], label: &str) -> Option<String> {
        match self.backend {
            Backend::Postgres => pg_name(&table.name, columns, label),
            // MySQL names the index after its first column, numbered when taken.
            Backend::MySql => {
                let first = columns.first()?;
                let taken = |n: &str| {
                    table.unique_keys.iter().any(|k| k.name.as_deref().is_some_and(|k| k.eq_ignore_ascii_case(n)))
                };
                let mut candidate = first.clone();
                let mut n = 2;
                while taken(&candidate) {
                    candidate = format!("{first}_{n}");
                    n += 1;
                }
                Some(candidate)
            }
            Backend::Sqlite => None,
        }
    }

    fn add_foreign_key(
        &self,
        entry: &mut Entry,
        columns: Vec<String>,
        name: Option<String>,
        target: &ObjectName,
        referenced: &[Ident],
    ) -> Result<()> {
        let (_, table, _) = self.split_name(target)?;
        let name = name.or_else(|| match self.backend {
            Backend::Postgres => pg_name(&entry.table.name, &columns, "fkey"),
            Backend::MySql => {
                entry.fk_seq += 1;
                Some(format!("{}_ibfk_{}", entry.table.name, entry.fk_seq))
            }
            Backend::Sqlite => None,
        });
        let referenced = referenced.iter().map(|c| self.stored(c)).collect();
        entry.table.foreign_keys.push(ForeignKey { name, columns, table, referenced });
        Ok(())
    }

    /// Gives a foreign key naming no columns the referenced table's primary key, when that
    /// table exists (`table` itself included).
    fn resolve_references(&self, table: &mut Table) {
        for f in 0..table.foreign_keys.len() {
            if !table.foreign_keys[f].referenced.is_empty() {
                continue;
            }
            let target = &table.foreign_keys[f].table;
            let key = if same(self.backend, target, &table.name) {
                Some(table.primary_key.clone())
            } else {
                self.find(None, target).map(|i| self.entries[i].table.primary_key.clone())
            };
            if let Some(key) = key {
                table.foreign_keys[f].referenced = key;
            }
        }
    }

    // --- ALTER TABLE ---

    fn alter_table(&mut self, at: &AlterTable) -> Result<()> {
        if at.if_exists {
            let (schema, name, _) = self.split_name(&at.name)?;
            if self.find(schema.as_deref(), &name).is_none() {
                return Ok(());
            }
        }
        let mut i = self.require(&at.name)?;
        for op in &at.operations {
            i = self.alter(i, op)?;
        }
        Ok(())
    }

    /// Applies one operation to table `i`; returns where the table is after it.
    fn alter(&mut self, i: usize, op: &AlterTableOperation) -> Result<usize> {
        use AlterTableOperation as Op;
        // Taken out while it changes, so that the rest of the catalog stays readable.
        let mut entry = self.take(i);
        let result = self.alter_entry(&mut entry, op);
        self.entries.insert(i, entry);
        result?;
        if let Op::RenameTable { table_name: RenameTableNameKind::As(new) | RenameTableNameKind::To(new) } = op {
            self.rename_table(i, new)?;
        }
        Ok(i)
    }

    fn take(&mut self, i: usize) -> Entry {
        self.entries.remove(i)
    }

    fn alter_entry(&mut self, entry: &mut Entry, op: &AlterTableOperation) -> Result<()> {
        use AlterTableOperation as Op;
        let table = entry.table.name.clone();
        match op {
            Op::AddColumn { if_not_exists, column_def, .. } => {
                self.add_column(entry, column_def, *if_not_exists)?;
                self.resolve_references(&mut entry.table);
            }
            Op::AddConstraint { constraint, .. } => {
                self.add_constraint(entry, constraint)?;
                self.resolve_references(&mut entry.table);
            }
            Op::DropColumn { column_names, if_exists, .. } => {
                for c in column_names {
                    let name = self.stored(c);
                    match entry.table.column(self.backend, &name) {
                        Some(col) => {
                            let name = col.name.clone();
                            self.drop_column(entry, &name);
                        }
                        None if *if_exists => {}
                        None => {
                            return Err(self.error(c.span.start.line, format!("table `{table}` has no column `{name}`")));
                        }
                    }
                }
            }
            Op::RenameColumn { old_column_name, new_column_name } => {
                let old = self.existing_column(&entry.table, old_column_name)?;
                self.rename_column(entry, &old, new_column_name)?;
            }
            Op::AlterColumn { column_name, op } => {
                let name = self.existing_column(&entry.table, column_name)?;
                match op {
                    AlterColumnOperation::SetNotNull => self.mark_not_null(&mut entry.table, &[name]),
                    AlterColumnOperation::DropNotNull => {
                        if let Some(c) = self.column_mut(&mut entry.table, &name) {
                            c.not_null = false;
                        }
                    }
                    AlterColumnOperation::SetDataType { data_type, .. } => {
                        if let Some(c) = self.column_mut(&mut entry.table, &name) {
                            c.data_type = type_name(data_type);
                        }
                    }
                    AlterColumnOperation::SetDefault { .. }
                    | AlterColumnOperation::DropDefault
                    | AlterColumnOperation::AddGenerated { .. }
                    | AlterColumnOperation::GenericOptions { .. } => {}
                }
            }
            Op::ModifyColumn { col_name, data_type, options, .. } => {
                let name = self.existing_column(&entry.table, col_name)?;
                self.redefine_column(entry, &name, data_type, options, col_name.span.start.line)?;
            }
            Op::ChangeColumn { old_name, new_name, data_type, options, .. } => {
                let old = self.existing_column(&entry.table, old_name)?;
                let new = self.rename_column(entry, &old, new_name)?;
                self.redefine_column(entry, &new, data_type, options, new_name.span.start.line)?;
            }
            Op::DropConstraint { name, .. } => {
                let name = self.stored(name);
                self.drop_named(entry, &name, true);
            }
            Op::DropPrimaryKey { .. } => {
                entry.table.primary_key.clear();
                entry.pk_name = None;
            }
            Op::DropForeignKey { name, .. } => {
                let name = self.stored(name);
                entry.table.foreign_keys.retain(|f| !f.name.as_deref().is_some_and(|n| same(self.backend, n, &name)));
            }
            Op::DropIndex { name } => {
                let name = self.stored(name);
                self.drop_named(entry, &name, false);
            }
            Op::RenameConstraint { old_name, new_name } => {
                let (old, new) = (self.stored(old_name), self.stored(new_name));
                let is = |n: &Option<String>| n.as_deref().is_some_and(|n| same(self.backend, n, &old));
                for k in entry.table.unique_keys.iter_mut().filter(|k| is(&k.name)) {
                    k.name = Some(new.clone());
                }
                for f in entry.table.foreign_keys.iter_mut().filter(|f| is(&f.name)) {
                    f.name = Some(new.clone());
                }
                if is(&entry.pk_name) {
                    entry.pk_name = Some(new);
                }
            }
            // Done by `alter`, once the entry is back in the catalog.
            Op::RenameTable { .. } => {}
            // Change no column, no NOT NULL and no key.
            Op::DisableRowLevelSecurity
            | Op::EnableRowLevelSecurity
            | Op::ForceRowLevelSecurity
            | Op::NoForceRowLevelSecurity
            | Op::DisableRule { .. }
            | Op::EnableRule { .. }
            | Op::EnableAlwaysRule { .. }
            | Op::EnableReplicaRule { .. }
            | Op::DisableTrigger { .. }
            | Op::EnableTrigger { .. }
            | Op::EnableAlwaysTrigger { .. }
            | Op::EnableReplicaTrigger { .. }
            | Op::ReplicaIdentity { .. }
            | Op::SetLogged
            | Op::SetUnlogged
            | Op::OwnerTo { .. }
            | Op::ValidateConstraint { .. }
            // A child must already have its parent's columns; they stay when it leaves.
            | Op::Inherit { .. }
            | Op::NoInherit { .. }
            | Op::AttachPartition { .. }
            | Op::AttachPartitionOf { .. }
            | Op::DetachPartition { .. }
            | Op::DetachPartitionOf { .. }
            | Op::AddPartitions { .. }
            | Op::DropPartitions { .. }
            | Op::RenamePartitions { .. }
            | Op::FreezePartition { .. }
            | Op::UnfreezePartition { .. }
            | Op::SetOptionsParens { .. }
            | Op::ResetOptions { .. }
            | Op::SetTblProperties { .. }
            | Op::GenericOptions { .. }
            | Op::Algorithm { .. }
            | Op::Lock { .. }
            | Op::AutoIncrement { .. }
            | Op::ClusterBy { .. }
            | Op::DropClusteringKey
            | Op::AlterSortKey { .. }
            | Op::SuspendRecluster
            | Op::ResumeRecluster
            | Op::Refresh { .. }
            | Op::Suspend
            | Op::Resume
            | Op::ModifyOrderBy { .. } => {}
            other => {
                return Err(self.here(format!(
                    "`ALTER TABLE {table} {other}`: tenantry does not know how this changes the table's columns and keys; write it as ADD/DROP/RENAME COLUMN, ADD/DROP CONSTRAINT or ALTER COLUMN ... SET/DROP NOT NULL"
                )));
            }
        }
        Ok(())
    }

    /// MySQL's MODIFY/CHANGE: the column's new definition (nullable unless it says NOT
    /// NULL, or it is in the primary key).
    fn redefine_column(
        &self,
        entry: &mut Entry,
        column: &str,
        data_type: &DataType,
        options: &[ColumnOption],
        line: u64,
    ) -> Result<()> {
        let in_key = entry.table.primary_key.iter().any(|k| self.same_column(k, column));
        if let Some(c) = self.column_mut(&mut entry.table, column) {
            c.not_null = in_key;
            c.data_type = type_name(data_type);
        }
        entry.integer_columns.retain(|c| !self.same_column(c, column));
        if *data_type == DataType::Integer(None) {
            entry.integer_columns.push(column.to_string());
        }
        self.serial(entry, column, data_type);
        for o in options {
            self.column_option(entry, column, None, o, line)?;
        }
        Ok(())
    }

    /// Drops a column, with every key and foreign key it is part of (here and in the
    /// tables that reference it): the database drops them, or shrinks them to a key the
    /// catalog cannot vouch for.
    fn drop_column(&mut self, entry: &mut Entry, column: &str) {
        let backend = self.backend;
        let has = |cols: &[String]| {
            cols.iter().any(|c| names::compare_values(backend, Kind::Column, c, column) == Match::Same)
        };
        entry.table.columns.retain(|c| !self.same_column(&c.name, column));
        entry.integer_columns.retain(|c| !self.same_column(c, column));
        if has(&entry.table.primary_key) {
            entry.table.primary_key.clear();
            entry.pk_name = None;
        }
        entry.table.unique_keys.retain(|k| !has(&k.columns));
        let name = entry.table.name.clone();
        let references = |f: &ForeignKey| same(backend, &f.table, &name) && has(&f.referenced);
        entry.table.foreign_keys.retain(|f| !has(&f.columns) && !references(f));
        for e in &mut self.entries {
            e.table.foreign_keys.retain(|f| !references(f));
        }
    }

    /// Renames a column, in the keys and in the foreign keys that reference it; returns
    /// its new name.
    fn rename_column(&mut self, entry: &mut Entry, old: &str, new: &Ident) -> Result<String> {
        let new = self.stored(new);
        if !self.same_column(old, &new) && entry.table.column(self.backend, &new).is_some() {
            return Err(self.here(format!("column `{new}` of table `{}` already exists", entry.table.name)));
        }
        let backend = self.backend;
        let rename = |cols: &mut Vec<String>| {
            for c in cols.iter_mut() {
                if names::compare_values(backend, Kind::Column, c, old) == Match::Same {
                    *c = new.clone();
                }
            }
        };
        for c in &mut entry.table.columns {
            if names::compare_values(backend, Kind::Column, &c.name, old) == Match::Same {
                c.name = new.clone();
            }
        }
        rename(&mut entry.integer_columns);
        rename(&mut entry.table.primary_key);
        let name = entry.table.name.clone();
        for k in &mut entry.table.unique_keys {
            rename(&mut k.columns);
        }
        let tables = std::iter::once(&mut *entry).chain(self.entries.iter_mut());
        for e in tables {
            let own = same(backend, &e.table.name, &name);
            for f in &mut e.table.foreign_keys {
                if own {
                    rename(&mut f.columns);
                }
                if same(backend, &f.table, &name) {
                    rename(&mut f.referenced);
                }
            }
        }
        Ok(new)
    }

    /// Removes the unique key, foreign key (when `constraints`) or primary key named
    /// `name`. Another name is a CHECK constraint or an index that is not unique: nothing
    /// the catalog holds.
    fn drop_named(&self, entry: &mut Entry, name: &str, constraints: bool) {
        let is = |n: &Option<String>| n.as_deref().is_some_and(|n| same(self.backend, n, name));
        entry.table.unique_keys.retain(|k| !is(&k.name));
        if constraints {
            entry.table.foreign_keys.retain(|f| !is(&f.name));
        }
        if is(&entry.pk_name) {
            entry.table.primary_key.clear();
            entry.pk_name = None;
        }
    }

    fn rename_table(&mut self, i: usize, new: &ObjectName) -> Result<()> {
        let (schema, name, ident) = self.split_name(new)?;
        if let Some(j) = self.find(schema.as_deref(), &name)
            && j != i
        {
            return Err(self.error(ident.span.start.line, format!("table `{name}` already exists")));
        }
        let old = std::mem::replace(&mut self.entries[i].table.name, name.clone());
        if schema.is_some() {
            self.entries[i].table.schema = schema;
        }
        for e in &mut self.entries {
            for f in &mut e.table.foreign_keys {
                if same(self.backend, &f.table, &old) {
                    f.table = name.clone();
                }
            }
        }
        Ok(())
    }

    // --- DROP TABLE ---

    fn drop_table(&mut self, name: &ObjectName, if_exists: bool) -> Result<()> {
        let (schema, table, _) = self.split_name(name)?;
        if if_exists && self.find(schema.as_deref(), &table).is_none() {
            return Ok(());
        }
        let i = self.require(name)?;
        self.remove_table(i);
        Ok(())
    }

    /// Removes table `i`, and the foreign keys that reference it.
    fn remove_table(&mut self, i: usize) {
        let gone = self.entries.remove(i).table.name;
        for e in &mut self.entries {
            e.table.foreign_keys.retain(|f| !same(self.backend, &f.table, &gone));
        }
    }

    // --- indexes ---

    fn create_unique_index(&mut self, ci: &CreateIndex) -> Result<()> {
        let i = self.require(&ci.table_name)?;
        let (columns, expressions) = self.index_columns(&self.entries[i].table, &ci.columns)?;
        let name = match &ci.name {
            Some(n) => Some(self.split_name(n)?.1),
            None => {
                let named: Vec<String> = if expressions { vec!["expr".to_string()] } else { columns.clone() };
                self.default_unique_name(&self.entries[i].table, &named, "idx")
            }
        };
        let table = &mut self.entries[i].table;
        if ci.if_not_exists
            && let Some(n) = &name
            && table.unique_keys.iter().any(|k| k.name.as_deref().is_some_and(|k| same(self.backend, k, n)))
        {
            return Ok(());
        }
        table.unique_keys.push(UniqueKey { name, columns, partial: expressions || ci.predicate.is_some() });
        Ok(())
    }

    /// `DROP INDEX name [ON table]`: removes the unique key of that name (an index that is
    /// not unique is not in the catalog).
    fn drop_index(&mut self, name: &ObjectName, table: Option<&ObjectName>) -> Result<()> {
        let (_, index, _) = self.split_name(name)?;
        let only = table.map(|t| self.require(t)).transpose()?;
        let backend = self.backend;
        for (i, e) in self.entries.iter_mut().enumerate() {
            if only.is_some_and(|o| o != i) {
                continue;
            }
            e.table.unique_keys.retain(|k| !k.name.as_deref().is_some_and(|n| same(backend, n, &index)));
            if only.is_some() && backend == Backend::MySql && index.eq_ignore_ascii_case("PRIMARY") {
                e.table.primary_key.clear();
                e.pk_name = None;
            }
        }
        Ok(())
    }
}

fn same(backend: Backend, a: &str, b: &str) -> bool {
    names::compare_values(backend, Kind::Relation, a, b) == Match::Same
}

/// The name PostgreSQL gives an unnamed constraint or index (`makeObjectName`):
/// `<table>_<columns>_<label>`, the longer part cut until it fits in 63 bytes. (When the
/// name is taken PostgreSQL adds a number, which this does not follow.)
fn pg_name(table: &str, columns: &[String], label: &str) -> Option<String> {
    const MAX: usize = 63;
    let name2 = columns.join("_");
    let overhead = label.len() + 1 + usize::from(!name2.is_empty());
    let avail = MAX.checked_sub(overhead)?;
    let (mut n1, mut n2) = (table.len(), name2.len());
    while n1 + n2 > avail {
        if n1 > n2 { n1 -= 1 } else { n2 -= 1 }
    }
    let cut = |s: &str, mut n: usize| {
        while !s.is_char_boundary(n) {
            n -= 1;
        }
        s[..n].to_string()
    };
    let mut out = cut(table, n1);
    if !name2.is_empty() {
        out.push('_');
        out.push_str(&cut(&name2, n2));
    }
    out.push('_');
    out.push_str(label);
    Some(out)
}

/// A column's type as [`Column::data_type`] stores it: sqlparser's spelling, empty for
/// none (`DataType::Unspecified`, SQLite's typeless columns).
fn type_name(data_type: &DataType) -> String {
    match data_type {
        DataType::Unspecified => String::new(),
        other => other.to_string(),
    }
}
