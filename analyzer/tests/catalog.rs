//! The catalog that migrations build: how each DDL statement changes it, on each backend,
//! and how the migrations folder is read (sqlx's convention).

use std::path::{Path, PathBuf};

use tenantry_analyzer::schema::{
    Catalog, ForeignKey, Link, Migration, Ownership, SchemaError, Table, UniqueKey, read_migrations,
};
use tenantry_analyzer::{Backend, Schema};

const PG: Backend = Backend::Postgres;
const MY: Backend = Backend::MySql;
const LITE: Backend = Backend::Sqlite;

/// The catalog of `files`, migrations 1, 2, ... in that order.
fn build(backend: Backend, files: &[&str]) -> Result<Catalog, SchemaError> {
    let migrations: Vec<Migration> = files
        .iter()
        .enumerate()
        .map(|(i, sql)| Migration {
            version: i as i64 + 1,
            path: PathBuf::from(format!("migrations/{}_m{}.sql", i + 1, i + 1)),
            sql: sql.to_string(),
        })
        .collect();
    Catalog::from_migrations(&migrations, backend)
}

fn catalog(backend: Backend, sql: &str) -> Catalog {
    build(backend, &[sql]).unwrap_or_else(|e| panic!("{e}"))
}

fn error(backend: Backend, sql: &str) -> SchemaError {
    match build(backend, &[sql]) {
        Ok(c) => panic!("expected an error, got {c:#?}"),
        Err(e) => e,
    }
}

fn table<'c>(c: &'c Catalog, backend: Backend, name: &str) -> &'c Table {
    c.table(backend, name).unwrap_or_else(|| panic!("no table {name} in {c:#?}"))
}

fn columns(t: &Table) -> Vec<(&str, bool)> {
    t.columns.iter().map(|c| (c.name.as_str(), c.not_null)).collect()
}

fn names(c: &Catalog) -> Vec<&str> {
    c.tables.iter().map(|t| t.name.as_str()).collect()
}

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

fn fk(name: Option<&str>, columns: &[&str], table: &str, referenced: &[&str]) -> ForeignKey {
    ForeignKey {
        name: name.map(Into::into),
        columns: strings(columns),
        table: table.into(),
        referenced: strings(referenced),
    }
}

fn unique(name: Option<&str>, columns: &[&str], partial: bool) -> UniqueKey {
    UniqueKey { name: name.map(Into::into), columns: strings(columns), partial }
}

/// A fresh folder under the system's temporary folder, removed when dropped.
struct Folder(PathBuf);

impl Folder {
    fn new(test: &str) -> Folder {
        let dir = std::env::temp_dir().join(format!("tenantry-catalog-{}-{test}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Folder(dir)
    }

    fn file(&self, name: &str, contents: &[u8]) -> &Folder {
        std::fs::write(self.0.join(name), contents).unwrap();
        self
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for Folder {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn file_names(migrations: &[Migration]) -> Vec<String> {
    migrations.iter().map(|m| m.path.file_name().unwrap().to_string_lossy().into_owned()).collect()
}

// --- the migrations folder ---

#[test]
fn migrations_are_read_in_version_order_not_name_order() {
    let dir = Folder::new("order");
    dir.file("20240102_second.sql", b"CREATE TABLE b (id INT);")
        .file("3_third.sql", b"CREATE TABLE c (id INT);")
        .file("20240101_first.sql", b"CREATE TABLE a (id INT);");
    let m = read_migrations(dir.path()).unwrap();
    assert_eq!(file_names(&m), ["3_third.sql", "20240101_first.sql", "20240102_second.sql"]);
    assert_eq!(m.iter().map(|m| m.version).collect::<Vec<_>>(), [3, 20240101, 20240102]);
    assert_eq!(m[0].sql, "CREATE TABLE c (id INT);");
    assert_eq!(m[0].path, dir.path().join("3_third.sql"));
}

#[test]
fn up_files_are_migrations_down_files_and_other_files_are_not() {
    let dir = Folder::new("updown");
    dir.file("1_pages.up.sql", b"CREATE TABLE pages (id INT);")
        .file("1_pages.down.sql", b"DROP TABLE pages;")
        .file("2_tags.sql", b"CREATE TABLE tags (id INT);")
        .file("README.md", b"# migrations")
        .file("notes", b"not sql")
        .file(".DS_Store", b"\0\0");
    std::fs::create_dir(dir.path().join("3_folder.sql")).unwrap();
    let m = read_migrations(dir.path()).unwrap();
    assert_eq!(file_names(&m), ["1_pages.up.sql", "2_tags.sql"]);
    assert_eq!(names(&Catalog::from_migrations(&m, PG).unwrap()), ["pages", "tags"]);
}

#[test]
fn an_sql_file_not_named_as_a_migration_is_an_error_naming_it() {
    for bad in ["create_pages.sql", "v1_pages.sql", "1-pages.sql", "12.sql", "99999999999999999999_big.sql"] {
        let dir = Folder::new(&format!("badname-{}", bad.replace('.', "-")));
        dir.file("1_ok.sql", b"").file(bad, b"CREATE TABLE x (id INT);");
        let e = read_migrations(dir.path()).unwrap_err();
        assert_eq!(e.path.as_deref(), Some(dir.path().join(bad).as_path()), "{bad}");
        assert!(e.message.contains(bad) && e.message.contains("<VERSION>_<DESCRIPTION>.sql"), "{e}");
    }
}

#[test]
fn two_files_of_one_version_are_an_error() {
    let dir = Folder::new("duplicate");
    dir.file("0001_pages.sql", b"").file("1_tags.sql", b"");
    let e = read_migrations(dir.path()).unwrap_err();
    assert!(e.message.contains("two migrations have version 1"), "{e}");
    assert!(e.message.contains("0001_pages.sql") && e.message.contains("1_tags.sql"), "{e}");
    // A simple and a reversible migration of one version too.
    let dir = Folder::new("duplicate-up");
    dir.file("1_pages.sql", b"").file("1_pages.up.sql", b"");
    assert!(read_migrations(dir.path()).unwrap_err().message.contains("version 1"));
}

#[test]
fn a_missing_folder_and_a_file_that_is_not_utf8_are_errors() {
    let missing = std::env::temp_dir().join(format!("tenantry-catalog-{}-missing", std::process::id()));
    let e = read_migrations(&missing).unwrap_err();
    assert_eq!(e.path.as_deref(), Some(missing.as_path()));
    assert!(e.message.contains("cannot read the migrations folder"), "{e}");

    let dir = Folder::new("latin1");
    dir.file("1_pages.sql", b"-- caf\xe9\nCREATE TABLE pages (id INT);");
    let e = read_migrations(dir.path()).unwrap_err();
    assert_eq!(e.path.as_deref(), Some(dir.path().join("1_pages.sql").as_path()));
    assert!(e.message.contains("not UTF-8"), "{e}");
}

#[test]
fn an_empty_folder_has_no_migrations() {
    let dir = Folder::new("empty");
    assert_eq!(read_migrations(dir.path()).unwrap(), []);
    assert_eq!(Catalog::from_migrations(&[], PG).unwrap(), Catalog::default());
}

// --- CREATE TABLE ---

#[test]
fn create_table_columns_not_null_and_inline_keys() {
    for backend in Backend::ALL {
        let c = catalog(
            backend,
            "CREATE TABLE pages (
                id BIGINT PRIMARY KEY,
                tenant_id BIGINT NOT NULL REFERENCES tenants (id),
                slug TEXT NOT NULL UNIQUE,
                title TEXT NULL,
                body TEXT DEFAULT 'x' CHECK (body <> '')
            );",
        );
        let pages = table(&c, backend, "pages");
        assert_eq!(pages.schema, None);
        let id_not_null = backend != LITE; // see sqlite_primary_keys_may_hold_null
        assert_eq!(
            columns(pages),
            [("id", id_not_null), ("tenant_id", true), ("slug", true), ("title", false), ("body", false)],
            "{backend:?}"
        );
        assert_eq!(pages.primary_key, ["id"]);
        assert_eq!(pages.unique_keys.len(), 1);
        assert_eq!(
            (pages.unique_keys[0].columns.as_slice(), pages.unique_keys[0].partial),
            (&strings(&["slug"])[..], false)
        );
        assert_eq!(pages.foreign_keys.len(), 1);
        assert_eq!(pages.foreign_keys[0].columns, ["tenant_id"]);
        assert_eq!(pages.foreign_keys[0].table, "tenants");
        assert_eq!(pages.foreign_keys[0].referenced, ["id"]);
        assert_eq!(pages.origin, "1_m1.sql");
    }
}

#[test]
fn create_table_table_constraints_named_and_unnamed() {
    let sql = "CREATE TABLE tenants (id INT PRIMARY KEY);
        CREATE TABLE members (
            tenant_id INT NOT NULL,
            user_id INT NOT NULL,
            email TEXT,
            CONSTRAINT members_pk PRIMARY KEY (tenant_id, user_id),
            CONSTRAINT members_email UNIQUE (tenant_id, email),
            UNIQUE (email),
            CONSTRAINT members_tenant FOREIGN KEY (tenant_id) REFERENCES tenants (id),
            FOREIGN KEY (user_id) REFERENCES users (id),
            CHECK (email <> '')
        );";
    let c = catalog(PG, sql);
    let m = table(&c, PG, "members");
    assert_eq!(m.primary_key, ["tenant_id", "user_id"]);
    // Unnamed constraints get the names PostgreSQL gives them.
    assert_eq!(
        m.unique_keys,
        [
            unique(Some("members_email"), &["tenant_id", "email"], false),
            unique(Some("members_email_key"), &["email"], false)
        ]
    );
    assert_eq!(
        m.foreign_keys,
        [
            fk(Some("members_tenant"), &["tenant_id"], "tenants", &["id"]),
            fk(Some("members_user_id_fkey"), &["user_id"], "users", &["id"])
        ]
    );

    let c = catalog(MY, sql);
    let m = table(&c, MY, "members");
    assert_eq!(m.unique_keys[1].name.as_deref(), Some("email"), "MySQL names a unique index after its first column");
    assert_eq!(m.foreign_keys[1].name.as_deref(), Some("members_ibfk_1"));

    let c = catalog(LITE, sql);
    let m = table(&c, LITE, "members");
    assert_eq!(m.unique_keys[1].name, None, "SQLite's constraints have no name to drop them by");
    assert_eq!(m.foreign_keys[1].name, None);
}

#[test]
fn a_table_primary_key_makes_its_columns_not_null_on_postgres_and_mysql() {
    let sql = "CREATE TABLE t (a INT, b INT, c INT, PRIMARY KEY (a, b))";
    for backend in [PG, MY] {
        let c = catalog(backend, sql);
        assert_eq!(columns(table(&c, backend, "t")), [("a", true), ("b", true), ("c", false)]);
    }
}

#[test]
fn sqlite_primary_keys_may_hold_null_but_for_the_rowid_without_rowid_and_strict() {
    let c = catalog(
        LITE,
        "CREATE TABLE rowid_alias (id INTEGER PRIMARY KEY AUTOINCREMENT, x INT);
         CREATE TABLE rowid_alias_table_key (id INTEGER, PRIMARY KEY (id));
         CREATE TABLE int_key (id INT PRIMARY KEY);
         CREATE TABLE text_key (code TEXT PRIMARY KEY);
         CREATE TABLE declared (code TEXT NOT NULL PRIMARY KEY);
         CREATE TABLE no_rowid (code TEXT PRIMARY KEY, n INT) WITHOUT ROWID;
         CREATE TABLE strict_key (code TEXT PRIMARY KEY, n INT) STRICT;
         CREATE TABLE composite (a INTEGER, b INTEGER, PRIMARY KEY (a, b));",
    );
    let nn = |t: &str| columns(table(&c, LITE, t))[0].1;
    assert!(nn("rowid_alias"));
    assert!(nn("rowid_alias_table_key"));
    assert!(!nn("int_key"), "INT is not INTEGER: not the rowid");
    assert!(!nn("text_key"));
    assert!(nn("declared"));
    assert!(nn("no_rowid"));
    assert!(nn("strict_key"));
    assert!(!nn("composite"));
    assert!(!columns(table(&c, LITE, "no_rowid"))[1].1);
}

#[test]
fn postgres_folds_unquoted_names_and_keeps_quoted_ones() {
    let c = catalog(
        PG,
        r#"CREATE TABLE Pages (Id INT PRIMARY KEY, "tenantId" INT NOT NULL, TITLE TEXT); CREATE TABLE "Tags" (id INT);"#,
    );
    assert_eq!(names(&c), ["pages", "Tags"]);
    let pages = table(&c, PG, "pages");
    assert_eq!(columns(pages), [("id", true), ("tenantId", true), ("title", false)]);
    assert!(pages.column(PG, "tenantid").is_none(), "a quoted name keeps its case");
    assert!(c.table(PG, "Pages").is_none());
    assert!(c.table(PG, "tags").is_none());
    // Names are cut to 63 bytes, as PostgreSQL stores them.
    let long = "a".repeat(70);
    let c = catalog(PG, &format!("CREATE TABLE {long} (id INT)"));
    assert_eq!(c.tables[0].name.len(), 63);
}

#[test]
fn mysql_backticks_and_sqlite_quotes_keep_names_as_written() {
    let c = catalog(
        MY,
        "CREATE TABLE `Pages` (`Id` INT PRIMARY KEY, `tenant_id` INT NOT NULL) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;",
    );
    let pages = table(&c, MY, "Pages");
    assert_eq!(columns(pages), [("Id", true), ("tenant_id", true)]);
    assert!(pages.column(MY, "id").is_some(), "MySQL compares column names without case");
    assert!(c.table(MY, "pages").is_none(), "lower_case_table_names decides: not provably the same table");

    let c = catalog(LITE, r#"CREATE TABLE "Pages" ([Id] INTEGER PRIMARY KEY, `tenant_id` INT NOT NULL)"#);
    assert_eq!(names(&c), ["Pages"]);
    assert!(c.table(LITE, "pages").is_some(), "SQLite compares names without ASCII case");
    assert_eq!(columns(table(&c, LITE, "pages")), [("Id", true), ("tenant_id", true)]);
}

#[test]
fn a_schema_qualified_table_keeps_its_schema() {
    let c = catalog(PG, "CREATE SCHEMA app; CREATE TABLE App.Pages (id INT); CREATE TABLE public.tags (id INT)");
    assert_eq!((c.tables[0].schema.as_deref(), c.tables[0].name.as_str()), (Some("app"), "pages"));
    assert_eq!(c.tables[1].schema.as_deref(), Some("public"));
    let c = catalog(MY, "CREATE TABLE shop.orders (id INT)");
    assert_eq!((c.tables[0].schema.as_deref(), c.tables[0].name.as_str()), (Some("shop"), "orders"));
}

#[test]
fn create_table_if_not_exists_leaves_an_existing_table_and_without_it_is_an_error() {
    let c = catalog(PG, "CREATE TABLE t (a INT); CREATE TABLE IF NOT EXISTS t (b INT, c INT);");
    assert_eq!(columns(table(&c, PG, "t")), [("a", false)]);
    let e = build(PG, &["CREATE TABLE t (a INT);", "\n\nCREATE TABLE T (b INT);"]).unwrap_err();
    assert_eq!(e.path.as_deref(), Some(Path::new("migrations/2_m2.sql")));
    assert_eq!(e.line, Some(3));
    assert!(e.message.contains("table `t` already exists (created by 1_m1.sql)"), "{e}");
    // One name per schema.
    let c = catalog(PG, "CREATE TABLE a.t (x INT); CREATE TABLE b.t (y INT);");
    assert_eq!(c.tables.len(), 2);
}

#[test]
fn a_foreign_key_without_columns_references_the_primary_key() {
    let c = catalog(
        PG,
        "CREATE TABLE tenants (code TEXT PRIMARY KEY);
         CREATE TABLE pages (id INT PRIMARY KEY, tenant TEXT NOT NULL REFERENCES tenants, parent INT REFERENCES pages);",
    );
    let pages = table(&c, PG, "pages");
    assert_eq!(pages.foreign_keys[0].referenced, ["code"]);
    assert_eq!(pages.foreign_keys[1].referenced, ["id"], "a self-reference");
    // A self-reference to a primary key declared after it, and (SQLite) a table created later.
    let c = catalog(
        LITE,
        "CREATE TABLE nodes (parent INT REFERENCES nodes, id INT, PRIMARY KEY (id));
         CREATE TABLE a (b_id INT REFERENCES b);
         CREATE TABLE b (id INTEGER PRIMARY KEY);",
    );
    assert_eq!(table(&c, LITE, "nodes").foreign_keys[0].referenced, ["id"]);
    assert_eq!(table(&c, LITE, "a").foreign_keys[0].referenced, ["id"]);
}

#[test]
fn tables_whose_columns_tenantry_cannot_know_are_errors() {
    for (sql, says) in [
        ("CREATE TABLE t AS SELECT 1 AS a", "AS SELECT"),
        ("CREATE TABLE u (a INT); CREATE TABLE t (LIKE u)", "LIKE"),
        ("CREATE TABLE u (a INT); CREATE TABLE t (b INT) INHERITS (u)", "INHERITS"),
    ] {
        let e = error(PG, sql);
        assert!(e.message.contains(says), "{sql}: {e}");
        assert_eq!(e.line, Some(1));
    }
    let e = error(MY, "CREATE TABLE t LIKE u");
    assert!(e.message.contains("LIKE"), "{e}");
}

#[test]
fn a_partition_has_its_parents_columns_and_temporary_tables_are_not_kept() {
    let c = catalog(
        PG,
        "CREATE TABLE events (tenant_id INT NOT NULL, id INT, PRIMARY KEY (tenant_id, id)) PARTITION BY LIST (tenant_id);
         CREATE TABLE events_1 PARTITION OF events FOR VALUES IN (1);
         CREATE TEMP TABLE scratch (a INT);",
    );
    assert_eq!(names(&c), ["events", "events_1"]);
    let p = table(&c, PG, "events_1");
    assert_eq!(columns(p), [("tenant_id", true), ("id", true)]);
    assert_eq!(p.primary_key, ["tenant_id", "id"]);
}

#[test]
fn serial_and_identity_columns_are_not_null() {
    let c = catalog(
        PG,
        "CREATE TABLE t (a serial, b BIGSERIAL, c INT GENERATED ALWAYS AS IDENTITY,
             d INT GENERATED BY DEFAULT AS IDENTITY (START 1), e INT GENERATED ALWAYS AS (a + 1) STORED)",
    );
    assert_eq!(columns(&c.tables[0]), [("a", true), ("b", true), ("c", true), ("d", true), ("e", false)]);
    // MySQL's SERIAL is BIGINT UNSIGNED NOT NULL AUTO_INCREMENT UNIQUE.
    let c = catalog(MY, "CREATE TABLE t (id SERIAL, n INT)");
    assert_eq!(columns(&c.tables[0]), [("id", true), ("n", false)]);
    assert_eq!(c.tables[0].unique_keys, [unique(Some("id"), &["id"], false)]);
}

// --- ALTER TABLE ---

#[test]
fn alter_table_add_and_drop_columns() {
    for backend in Backend::ALL {
        let c = catalog(
            backend,
            "CREATE TABLE pages (id INT PRIMARY KEY, title TEXT, slug TEXT UNIQUE);
             ALTER TABLE pages ADD COLUMN tenant_id INT NOT NULL REFERENCES tenants (id);
             ALTER TABLE pages ADD body TEXT;
             ALTER TABLE pages DROP COLUMN title;
             ALTER TABLE pages DROP COLUMN slug;",
        );
        let pages = table(&c, backend, "pages");
        assert_eq!(pages.columns.iter().map(|c| c.name.as_str()).collect::<Vec<_>>(), ["id", "tenant_id", "body"]);
        assert!(pages.column(backend, "tenant_id").unwrap().not_null);
        assert_eq!(pages.foreign_keys, [fk(pages.foreign_keys[0].name.as_deref(), &["tenant_id"], "tenants", &["id"])]);
        assert_eq!(pages.unique_keys, [], "{backend:?}: the dropped column's key is gone");
    }
    let c = catalog(
        PG,
        "CREATE TABLE t (a INT); ALTER TABLE t ADD COLUMN IF NOT EXISTS a TEXT NOT NULL, DROP COLUMN IF EXISTS zz",
    );
    assert_eq!(columns(table(&c, PG, "t")), [("a", false)]);
    let e = error(PG, "CREATE TABLE t (a INT);\nALTER TABLE t ADD COLUMN a INT");
    assert_eq!((e.line, e.message.as_str()), (Some(2), "column `a` of table `t` already exists"));
    let e = error(PG, "CREATE TABLE t (a INT);\nALTER TABLE t DROP COLUMN b");
    assert_eq!((e.line, e.message.as_str()), (Some(2), "table `t` has no column `b`"));
}

#[test]
fn dropping_a_column_drops_every_key_it_is_in_and_the_foreign_keys_to_it() {
    let c = catalog(
        PG,
        "CREATE TABLE pages (id INT, tenant_id INT, slug TEXT, PRIMARY KEY (tenant_id, id), UNIQUE (tenant_id, slug), UNIQUE (slug));
         CREATE TABLE comments (page_tenant INT, page_id INT, FOREIGN KEY (page_tenant, page_id) REFERENCES pages (tenant_id, id));
         ALTER TABLE pages DROP COLUMN tenant_id CASCADE;",
    );
    let pages = table(&c, PG, "pages");
    assert_eq!(pages.primary_key, Vec::<String>::new(), "a shrunk key is not a key the catalog can vouch for");
    assert_eq!(pages.unique_keys, [unique(Some("pages_slug_key"), &["slug"], false)]);
    assert_eq!(table(&c, PG, "comments").foreign_keys, []);
}

#[test]
fn renaming_a_column_renames_it_in_keys_and_in_the_foreign_keys_that_reference_it() {
    let c = catalog(
        PG,
        "CREATE TABLE pages (id INT PRIMARY KEY, slug TEXT UNIQUE, parent INT REFERENCES pages (id));
         CREATE TABLE comments (page_id INT NOT NULL REFERENCES pages (id));
         ALTER TABLE pages RENAME COLUMN id TO page_key;
         ALTER TABLE comments RENAME page_id TO Page;",
    );
    let pages = table(&c, PG, "pages");
    assert_eq!(pages.primary_key, ["page_key"]);
    assert_eq!(pages.foreign_keys[0].referenced, ["page_key"]);
    assert_eq!(
        table(&c, PG, "comments").foreign_keys,
        [fk(Some("comments_page_id_fkey"), &["page"], "pages", &["page_key"])]
    );
    assert_eq!(columns(table(&c, PG, "comments")), [("page", true)]);
    let e = error(PG, "CREATE TABLE t (a INT, b INT); ALTER TABLE t RENAME COLUMN a TO b");
    assert!(e.message.contains("column `b` of table `t` already exists"), "{e}");
}

#[test]
fn renaming_a_table_renames_the_foreign_keys_that_reference_it() {
    let setup = "CREATE TABLE pages (id INT PRIMARY KEY); CREATE TABLE comments (page_id INT REFERENCES pages (id));";
    for (backend, rename) in [
        (PG, "ALTER TABLE pages RENAME TO documents"),
        (LITE, "ALTER TABLE pages RENAME TO documents"),
        (MY, "RENAME TABLE pages TO documents"),
        (MY, "ALTER TABLE pages RENAME TO documents"),
    ] {
        let c = build(backend, &[setup, rename]).unwrap();
        assert_eq!(names(&c), ["documents", "comments"], "{backend:?}");
        assert_eq!(table(&c, backend, "comments").foreign_keys[0].table, "documents");
        assert_eq!(table(&c, backend, "documents").origin, "1_m1.sql");
    }
    let c = catalog(MY, "CREATE TABLE a (x INT); CREATE TABLE b (y INT); RENAME TABLE a TO tmp, b TO a, tmp TO b");
    assert_eq!(names(&c), ["b", "a"]);
    assert_eq!(columns(table(&c, MY, "a")), [("y", false)]);
    let e = error(PG, "CREATE TABLE a (x INT); CREATE TABLE b (y INT); ALTER TABLE a RENAME TO b");
    assert!(e.message.contains("table `b` already exists"), "{e}");
}

#[test]
fn alter_table_add_and_drop_constraints() {
    let c = catalog(
        PG,
        "CREATE TABLE tenants (id INT);
         CREATE TABLE pages (id INT, tenant_id INT, slug TEXT);
         ALTER TABLE tenants ADD PRIMARY KEY (id);
         ALTER TABLE pages ADD CONSTRAINT pages_pk PRIMARY KEY (id),
             ADD CONSTRAINT pages_slug UNIQUE (tenant_id, slug),
             ADD FOREIGN KEY (tenant_id) REFERENCES tenants;",
    );
    let pages = table(&c, PG, "pages");
    assert_eq!(columns(pages), [("id", true), ("tenant_id", false), ("slug", false)]);
    assert_eq!(pages.primary_key, ["id"]);
    assert_eq!(pages.unique_keys, [unique(Some("pages_slug"), &["tenant_id", "slug"], false)]);
    assert_eq!(pages.foreign_keys, [fk(Some("pages_tenant_id_fkey"), &["tenant_id"], "tenants", &["id"])]);

    let c = build(
        PG,
        &[
            "CREATE TABLE tenants (id INT PRIMARY KEY);
             CREATE TABLE pages (id INT PRIMARY KEY, tenant_id INT REFERENCES tenants, slug TEXT UNIQUE);",
            "ALTER TABLE pages DROP CONSTRAINT pages_slug_key;
             ALTER TABLE pages DROP CONSTRAINT pages_tenant_id_fkey;
             ALTER TABLE pages DROP CONSTRAINT IF EXISTS pages_pkey;
             ALTER TABLE pages DROP CONSTRAINT pages_title_check;",
        ],
    )
    .unwrap();
    let pages = table(&c, PG, "pages");
    assert_eq!((pages.unique_keys.len(), pages.foreign_keys.len(), pages.primary_key.len()), (0, 0, 0));
    assert!(pages.column(PG, "id").unwrap().not_null, "the primary key's columns stay NOT NULL");
}

#[test]
fn mysql_drops_keys_by_their_own_statements() {
    let c = catalog(
        MY,
        "CREATE TABLE pages (id INT PRIMARY KEY, tenant_id INT, slug TEXT, code TEXT,
             UNIQUE KEY pages_slug (slug), UNIQUE (code), KEY by_tenant (tenant_id),
             CONSTRAINT pages_tenant FOREIGN KEY (tenant_id) REFERENCES tenants (id));
         ALTER TABLE pages DROP FOREIGN KEY pages_tenant, DROP INDEX pages_slug, DROP PRIMARY KEY;
         DROP INDEX code ON pages;",
    );
    let pages = table(&c, MY, "pages");
    assert_eq!((pages.unique_keys.len(), pages.foreign_keys.len(), pages.primary_key.len()), (0, 0, 0));
}

#[test]
fn alter_column_set_and_drop_not_null() {
    let c = catalog(
        PG,
        "CREATE TABLE t (a INT, b INT NOT NULL, c INT);
         ALTER TABLE ONLY t ALTER COLUMN a SET NOT NULL, ALTER b DROP NOT NULL, ALTER COLUMN c SET DEFAULT 1, ALTER COLUMN c TYPE BIGINT;",
    );
    assert_eq!(columns(table(&c, PG, "t")), [("a", true), ("b", false), ("c", false)]);
}

#[test]
fn mysql_modify_and_change_redefine_the_column() {
    let c = catalog(
        MY,
        "CREATE TABLE t (id INT PRIMARY KEY, a INT, b INT NOT NULL, c INT NOT NULL);
         ALTER TABLE t MODIFY COLUMN a INT NOT NULL, MODIFY b BIGINT, CHANGE COLUMN c d INT NULL, MODIFY id BIGINT;
         ALTER TABLE t CHANGE a e INT NOT NULL UNIQUE;",
    );
    let t = table(&c, MY, "t");
    // MODIFY without NOT NULL makes the column nullable, but for the primary key.
    assert_eq!(columns(t), [("id", true), ("e", true), ("b", false), ("d", false)]);
    assert_eq!(t.unique_keys[0].columns, ["e"]);
}

fn types(t: &Table) -> Vec<(&str, &str)> {
    t.columns.iter().map(|c| (c.name.as_str(), c.data_type.as_str())).collect()
}

#[test]
fn each_column_keeps_its_last_declared_type() {
    let c = catalog(
        PG,
        "CREATE TABLE t (id bigserial PRIMARY KEY, tenant_id uuid NOT NULL, code VARCHAR(8), n INT);
         ALTER TABLE t ALTER COLUMN n TYPE BIGINT, ALTER COLUMN code SET DATA TYPE TEXT;
         ALTER TABLE t ADD COLUMN at TIMESTAMPTZ;",
    );
    assert_eq!(
        types(table(&c, PG, "t")),
        [("id", "bigserial"), ("tenant_id", "UUID"), ("code", "TEXT"), ("n", "BIGINT"), ("at", "TIMESTAMPTZ")]
    );
    let c = catalog(
        MY,
        "CREATE TABLE t (id INT PRIMARY KEY, a INT, c INT);
         ALTER TABLE t MODIFY a VARCHAR(20), CHANGE c d BIGINT;",
    );
    assert_eq!(types(table(&c, MY, "t")), [("id", "INT"), ("a", "VARCHAR(20)"), ("d", "BIGINT")]);
    // SQLite lets a column have no type.
    let c = catalog(LITE, "CREATE TABLE t (id INTEGER PRIMARY KEY, anything)");
    assert_eq!(types(table(&c, LITE, "t")), [("id", "INTEGER"), ("anything", "")]);
}

#[test]
fn alter_operations_that_change_no_column_or_key_are_ignored() {
    let c = catalog(
        PG,
        "CREATE TABLE t (id INT PRIMARY KEY, tenant_id INT NOT NULL);
         ALTER TABLE t ENABLE ROW LEVEL SECURITY;
         ALTER TABLE t FORCE ROW LEVEL SECURITY;
         ALTER TABLE t OWNER TO app;
         ALTER TABLE t ALTER COLUMN tenant_id SET DEFAULT current_setting('app.tenant')::int;
         ALTER TABLE t ADD CONSTRAINT positive CHECK (id > 0);
         ALTER TABLE t VALIDATE CONSTRAINT positive;",
    );
    assert_eq!(c, catalog(PG, "CREATE TABLE t (id INT PRIMARY KEY, tenant_id INT NOT NULL);"));
}

#[test]
fn altering_a_table_that_does_not_exist_is_an_error_unless_if_exists() {
    let e = error(PG, "CREATE TABLE pages (id INT);\n\nALTER TABLE page ADD COLUMN x INT;");
    assert_eq!(e.line, Some(3));
    assert_eq!(e.message, "table `page` does not exist (no earlier migration creates it)");
    assert_eq!(e.to_string(), "migrations/1_m1.sql:3: table `page` does not exist (no earlier migration creates it)");
    assert_eq!(catalog(PG, "ALTER TABLE IF EXISTS page ADD COLUMN x INT"), Catalog::default());
    // In MySQL a name differing in case may or may not be the table.
    let e = error(MY, "CREATE TABLE Pages (id INT); ALTER TABLE pages ADD x INT;");
    assert!(e.message.contains("lower_case_table_names"), "{e}");
}

// --- DROP TABLE ---

#[test]
fn drop_table_removes_tables_and_the_foreign_keys_to_them() {
    for backend in Backend::ALL {
        let c = catalog(
            backend,
            "CREATE TABLE a (id INT PRIMARY KEY); CREATE TABLE b (id INT); CREATE TABLE c (a_id INT REFERENCES a (id));
             DROP TABLE a, b;
             DROP TABLE IF EXISTS never_created;",
        );
        assert_eq!(names(&c), ["c"]);
        assert_eq!(c.tables[0].foreign_keys, []);
    }
    let c = catalog(PG, "CREATE TABLE a (id INT); DROP TABLE IF EXISTS public.a CASCADE; CREATE TABLE a (x INT);");
    assert_eq!(columns(table(&c, PG, "a")), [("x", false)]);
    let c = catalog(MY, "CREATE TEMPORARY TABLE scratch (a INT); DROP TEMPORARY TABLE scratch;");
    assert_eq!(c, Catalog::default());
    let e = error(PG, "DROP TABLE a");
    assert!(e.message.contains("table `a` does not exist"), "{e}");
}

// --- indexes ---

#[test]
fn create_unique_index_adds_a_unique_key() {
    for backend in Backend::ALL {
        let c = catalog(
            backend,
            "CREATE TABLE pages (id INT, tenant_id INT, slug TEXT, deleted_at TEXT);
             CREATE UNIQUE INDEX pages_slug ON pages (tenant_id, slug);
             CREATE UNIQUE INDEX pages_live ON pages (slug) WHERE deleted_at IS NULL;
             CREATE UNIQUE INDEX pages_lower ON pages (tenant_id, lower(slug));
             CREATE INDEX pages_by_tenant ON pages (tenant_id);",
        );
        assert_eq!(
            table(&c, backend, "pages").unique_keys,
            [
                unique(Some("pages_slug"), &["tenant_id", "slug"], false),
                unique(Some("pages_live"), &["slug"], true),
                unique(Some("pages_lower"), &["tenant_id"], true),
            ],
            "{backend:?}"
        );
    }
    let c = catalog(
        PG,
        "CREATE TABLE t (a INT); CREATE UNIQUE INDEX ON t (a); CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS t_a_idx ON t (a);",
    );
    assert_eq!(table(&c, PG, "t").unique_keys, [unique(Some("t_a_idx"), &["a"], false)]);
    let e = error(PG, "CREATE TABLE t (a INT);\nCREATE UNIQUE INDEX i ON t (b);");
    assert_eq!((e.line, e.message.as_str()), (Some(2), "table `t` has no column `b`"));
}

#[test]
fn drop_index_removes_the_unique_key_of_that_name() {
    let setup = "CREATE TABLE t (a INT, b INT); CREATE UNIQUE INDEX t_a ON t (a); CREATE UNIQUE INDEX t_b ON t (b);";
    for (backend, drop) in [
        (PG, "DROP INDEX t_a; DROP INDEX IF EXISTS public.nothing;"),
        (LITE, "DROP INDEX t_a"),
        (MY, "DROP INDEX t_a ON t"),
    ] {
        let c = build(backend, &[setup, drop]).unwrap();
        assert_eq!(table(&c, backend, "t").unique_keys, [unique(Some("t_b"), &["b"], false)], "{backend:?}");
    }
}

#[test]
fn a_renamed_index_is_dropped_by_its_new_name() {
    let c = catalog(PG, "CREATE TABLE t (a INT); CREATE UNIQUE INDEX i ON t (a); ALTER INDEX i RENAME TO j;");
    assert_eq!(table(&c, PG, "t").unique_keys, [unique(Some("j"), &["a"], false)]);
    let c =
        catalog(PG, "CREATE TABLE t (a INT); CREATE UNIQUE INDEX i ON t (a); ALTER INDEX i RENAME TO j; DROP INDEX j;");
    assert_eq!(table(&c, PG, "t").unique_keys, []);
}

// --- what is skipped, what is refused ---

#[test]
fn statements_that_change_no_table_are_skipped_even_when_they_do_not_parse() {
    let sql = r#"
        CREATE EXTENSION IF NOT EXISTS pgcrypto;
        CREATE TABLE pages (id INT PRIMARY KEY, tenant_id INT NOT NULL, title TEXT);
        -- a function whose body holds semicolons and a quote
        CREATE OR REPLACE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            NEW.title := 'it''s; DROP TABLE pages;';
            RETURN NEW;
        END;
        $$;
        CREATE TRIGGER pages_touch BEFORE UPDATE ON pages FOR EACH ROW EXECUTE FUNCTION touch();
        DO $body$ BEGIN RAISE NOTICE 'hello; world'; END $body$;
        CREATE POLICY tenant_isolation ON pages USING (tenant_id = current_setting('app.tenant')::int);
        COMMENT ON TABLE pages IS 'pages; of a tenant';
        GRANT SELECT ON pages TO app;
        INSERT INTO pages VALUES (1, 1, 'seed; data');
        CREATE INDEX pages_title ON pages (title);
        CREATE VIEW v AS SELECT 1;
        /* a block comment; with a semicolon */
        ALTER TABLE pages ADD COLUMN body TEXT;
    "#;
    let c = catalog(PG, sql);
    assert_eq!(names(&c), ["pages"]);
    assert_eq!(columns(&c.tables[0]), [("id", true), ("tenant_id", true), ("title", false), ("body", false)]);
}

#[test]
fn trigger_and_routine_bodies_do_not_end_at_their_semicolons() {
    let c = catalog(
        LITE,
        "CREATE TABLE pages (id INTEGER PRIMARY KEY, n INT);
         CREATE TRIGGER pages_n AFTER INSERT ON pages BEGIN
             UPDATE pages SET n = CASE WHEN n IS NULL THEN 0 ELSE n END WHERE id = NEW.id;
             DELETE FROM pages WHERE n < 0;
         END;
         CREATE TABLE tags (id INTEGER PRIMARY KEY);",
    );
    assert_eq!(names(&c), ["pages", "tags"]);
    let c = catalog(
        MY,
        "CREATE TABLE pages (id INT PRIMARY KEY, n INT);
         CREATE TRIGGER pages_n BEFORE INSERT ON pages FOR EACH ROW BEGIN
             IF NEW.n IS NULL THEN SET NEW.n = 0; END IF;
         END;
         CREATE TABLE tags (id INT PRIMARY KEY);",
    );
    assert_eq!(names(&c), ["pages", "tags"]);
    // A body that `begin` used as a name unbalances: the parser fails on the rest, and
    // what follows the body's statements is still read.
    let c = catalog(
        LITE,
        "CREATE TABLE log (begin INT);
         CREATE TRIGGER t AFTER INSERT ON log BEGIN INSERT INTO log (begin) VALUES (1); END;
         CREATE TABLE later (id INTEGER PRIMARY KEY);",
    );
    assert_eq!(names(&c), ["log", "later"]);
}

#[test]
fn a_table_statement_that_does_not_parse_is_an_error_at_its_line() {
    let sql =
        "CREATE TABLE pages (id INT);\n\n-- a comment\nALTER TABLE pages\n  ADD COLUMN x INT NOT NULL WIBBLE WOBBLE;\n";
    let e = error(PG, sql);
    assert_eq!(e.path.as_deref(), Some(Path::new("migrations/1_m1.sql")));
    assert_eq!(e.line, Some(5));
    assert!(e.message.starts_with("the table statement does not parse as PostgreSQL SQL: "), "{e}");
    assert!(e.message.contains("tenantry's SQL parser (sqlparser 0.64) may not know the construct"), "{e}");
    for sql in [
        "create table t (",
        "/* x */ CREATE UNIQUE INDEX ON",
        "DROP TABLE (t)",
        "RENAME TABLE",
        "DROP INDEX ;",
        "alter table t frobnicate",
    ] {
        assert!(build(MY, &[sql]).is_err(), "{sql}");
    }
}

#[test]
fn alter_operations_that_may_change_keys_but_are_not_followed_are_errors() {
    // The parser reads other dialects' operations too; Snowflake's SWAP WITH exchanges
    // two tables' definitions.
    let e = error(PG, "CREATE TABLE t (a INT); CREATE TABLE u (b INT);\nALTER TABLE t SWAP WITH u;");
    assert_eq!(e.line, Some(2));
    assert!(e.message.starts_with("`ALTER TABLE t SWAP WITH u`: tenantry does not know how this changes"), "{e}");
    let e = error(PG, "CREATE TABLE t (a INT PRIMARY KEY);\nALTER TABLE t ADD PRIMARY KEY (a);");
    assert_eq!((e.line, e.message.as_str()), (Some(2), "table `t` has a primary key already"));
    let e = error(PG, "CREATE TABLE t (a INT, PRIMARY KEY (b));");
    assert_eq!(e.message, "table `t` has no column `b`");
}

#[test]
fn an_unterminated_string_is_an_error_at_its_line() {
    let e = error(PG, "CREATE TABLE t (a INT);\nINSERT INTO t VALUES ('oops);\n");
    assert_eq!(e.line, Some(2));
    assert!(e.message.contains("cannot read the SQL"), "{e}");
}

// --- a realistic schema, and what the analyser derives from it ---

const REALISTIC: [&str; 4] = [
    "-- tenants and reference data
     CREATE TABLE tenants (
         id BIGSERIAL PRIMARY KEY,
         name TEXT NOT NULL
     );
     CREATE TABLE countries (code CHAR(2) PRIMARY KEY, name TEXT NOT NULL);",
    "CREATE TABLE pages (
         id BIGSERIAL PRIMARY KEY,
         tenant_id BIGINT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
         country CHAR(2) REFERENCES countries,
         slug TEXT NOT NULL,
         UNIQUE (tenant_id, slug)
     );",
    "CREATE TABLE comments (
         id BIGSERIAL PRIMARY KEY,
         page_id BIGINT NOT NULL,
         body TEXT NOT NULL,
         CONSTRAINT comments_page FOREIGN KEY (page_id) REFERENCES pages (id)
     );
     CREATE TABLE audit_log (id BIGSERIAL PRIMARY KEY, message TEXT);",
    "CREATE TABLE memberships (
         tenant_ref BIGINT NOT NULL REFERENCES tenants,
         user_name TEXT NOT NULL,
         PRIMARY KEY (tenant_ref, user_name)
     );
     CREATE TABLE replies (id BIGSERIAL PRIMARY KEY, comment_id BIGINT NOT NULL REFERENCES comments (id));
     CREATE TABLE drafts (id BIGSERIAL PRIMARY KEY, page_id BIGINT REFERENCES pages (id));",
];

fn realistic_schema(backend: Backend) -> Schema {
    let c = build(backend, &REALISTIC).unwrap_or_else(|e| panic!("{e}"));
    Schema {
        catalog: Some(c),
        tenant_table: Some("tenants".into()),
        shared: vec!["countries".into()],
        ..Default::default()
    }
}

#[test]
fn a_realistic_schema_built_from_migrations() {
    let c = build(PG, &REALISTIC).unwrap();
    assert_eq!(
        names(&c),
        ["tenants", "countries", "pages", "comments", "audit_log", "memberships", "replies", "drafts"]
    );
    let pages = table(&c, PG, "pages");
    assert_eq!(pages.origin, "2_m2.sql");
    assert_eq!(
        pages.foreign_keys,
        [
            fk(Some("pages_tenant_id_fkey"), &["tenant_id"], "tenants", &["id"]),
            fk(Some("pages_country_fkey"), &["country"], "countries", &["code"]),
        ]
    );
    assert_eq!(pages.unique_keys, [unique(Some("pages_tenant_id_slug_key"), &["tenant_id", "slug"], false)]);
}

#[test]
fn ownership_derives_from_a_catalog_built_from_migrations() {
    let schema = realistic_schema(PG);
    assert_eq!(schema.ownership(PG, "tenants"), Ownership::Tenant { column: "id".into() });
    assert_eq!(schema.ownership(PG, "pages"), Ownership::Tenant { column: "tenant_id".into() });
    assert_eq!(schema.ownership(PG, "countries"), Ownership::Global);
    assert_eq!(
        schema.ownership(PG, "comments"),
        Ownership::Child {
            links: vec![Link { parent: "pages".into(), columns: vec![("page_id".into(), "id".into())] }]
        }
    );
    assert_eq!(
        schema.ownership(PG, "replies"),
        Ownership::Child {
            links: vec![Link { parent: "comments".into(), columns: vec![("comment_id".into(), "id".into())] }]
        }
    );
    // A NOT NULL foreign key to the tenant table holds the tenant.
    assert_eq!(schema.ownership(PG, "memberships"), Ownership::Tenant { column: "tenant_ref".into() });
    // A nullable foreign key owns nothing; no key at all, nothing either.
    assert_eq!(schema.ownership(PG, "drafts"), Ownership::Unclassified);
    assert_eq!(schema.ownership(PG, "audit_log"), Ownership::Unclassified);
    assert_eq!(schema.ownership(PG, "nowhere"), Ownership::Unknown);
}

#[test]
fn ownership_follows_the_migrations_on_every_backend() {
    let files = [
        "CREATE TABLE tenants (id INTEGER PRIMARY KEY);
         CREATE TABLE pages (id INTEGER PRIMARY KEY, tenant_id INTEGER NOT NULL REFERENCES tenants (id));
         CREATE TABLE comments (id INTEGER PRIMARY KEY, page_id INTEGER NOT NULL, body TEXT);",
        "ALTER TABLE comments ADD CONSTRAINT comments_page FOREIGN KEY (page_id) REFERENCES pages (id);",
    ];
    for backend in [PG, MY] {
        let schema = Schema {
            catalog: Some(build(backend, &files).unwrap()),
            tenant_table: Some("tenants".into()),
            ..Default::default()
        };
        assert!(matches!(schema.ownership(backend, "comments"), Ownership::Child { .. }), "{backend:?}");
    }
    // SQLite cannot add a constraint to a table: the key is in CREATE TABLE.
    let schema = Schema {
        catalog: Some(
            build(
                LITE,
                &["CREATE TABLE tenants (id INTEGER PRIMARY KEY);
                     CREATE TABLE pages (id INTEGER PRIMARY KEY, tenant_id INTEGER NOT NULL REFERENCES tenants (id));
                     CREATE TABLE comments (id INTEGER PRIMARY KEY, page_id INTEGER NOT NULL REFERENCES pages);"],
            )
            .unwrap(),
        ),
        tenant_table: Some("tenants".into()),
        ..Default::default()
    };
    assert!(matches!(schema.ownership(LITE, "comments"), Ownership::Child { .. }));
    // A later migration that drops the NOT NULL leaves comments unclassified.
    let mut files = files.to_vec();
    files.push("ALTER TABLE comments ALTER COLUMN page_id DROP NOT NULL;");
    let schema = Schema {
        catalog: Some(build(PG, &files).unwrap()),
        tenant_table: Some("tenants".into()),
        ..Default::default()
    };
    assert_eq!(schema.ownership(PG, "comments"), Ownership::Unclassified);
}

#[test]
fn migrations_read_from_a_folder_build_the_catalog() {
    let dir = Folder::new("realistic");
    for (i, sql) in REALISTIC.iter().enumerate() {
        dir.file(&format!("2024010{}_step.sql", i + 1), sql.as_bytes());
        dir.file(&format!("2024010{}_step.down.sql", i + 1), b"DROP TABLE everything;");
    }
    let migrations = read_migrations(dir.path()).unwrap();
    let c = Catalog::from_migrations(&migrations, PG).unwrap();
    assert_eq!(table(&c, PG, "comments").origin, "20240103_step.sql");
    dir.file("20240105_typo.sql", b"-- renames\nALTER TABLE comment RENAME TO remarks;");
    let migrations = read_migrations(dir.path()).unwrap();
    let e = Catalog::from_migrations(&migrations, PG).unwrap_err();
    assert_eq!(e.path.as_deref(), Some(dir.path().join("20240105_typo.sql").as_path()));
    assert!(
        e.to_string()
            .ends_with("20240105_typo.sql:2: table `comment` does not exist (no earlier migration creates it)"),
        "{e}"
    );
}
