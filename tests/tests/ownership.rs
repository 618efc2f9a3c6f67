//! What each table is to a tenant, run on SQLite, PostgreSQL and MariaDB/MySQL.
//!
//! The schema comes from a migrations folder, `tests/tests/ownership/migrations/`, which
//! the repositories name with `migrations = "ownership/migrations"` (relative to this
//! file) and which each test applies to its fresh database. It holds one table of each
//! ownership kind (see README, "The schema: what each table is to a tenant"):
//!
//! | table | kind | confined by |
//! |---|---|---|
//! | `workspaces` | the tenant table (`tenant_table = "workspaces"`) | `id = :tenant` |
//! | `members` | tenant-owned: a NOT NULL foreign key to `workspaces` is its tenant column | `workspace_id = :tenant` |
//! | `pages` | tenant-owned by the default tenant column | `tenant_id = :tenant` |
//! | `comments` | a child of `pages` | `page_id` equal to a confined page's `id` |
//! | `reactions` | a grandchild, through `comments` | `comment_id` equal to a confined comment's `id` |
//! | `countries` | global (`global(countries)`) | nothing: read by all, written by none |
//!
//! Every scenario uses two tenants with integer ids, `ACME` (1) and `GLOBEX` (2), and
//! checks that each reads and changes its own rows only. The child tables are the
//! interesting ones: their statements never mention the tenant of a comment, and an id of
//! another tenant's page, passed by a caller, must still reach nothing — a read finds no
//! row, an insert or a re-parenting fails at run time (the scalar subquery finds no page,
//! and the NOT NULL owning key refuses the NULL) and leaves no row behind.
//!
//! Each scenario runs as `sqlite::<name>`, `postgres::<name>` and `mysql::<name>`.
//! tenantry warns that the child tables have no tenant column of their own, and that the
//! guarded upserts on `id` neither insert nor update a row that collides with another
//! tenant's: both are the behaviour under test, so the repositories
//! `#[allow(deprecated)]` (the warnings' channel, see README "Configuration").

use std::fmt::Debug;
use std::future::Future;

use sqlx::{MySql, Postgres, Sqlite};
use tenantry::{Db, Error, Result, Scope, ScopeGuard, tenant_repository};
use tenantry_tests::Backend;

/// The two tenants: rows of `workspaces`, and the ids their scopes carry.
const ACME: i64 = 1;
const GLOBEX: i64 = 2;

/// The migration, applied by each test as the macro read it at compile time.
const MIGRATION: &str = include_str!("ownership/migrations/1_schema.sql");

/// Every repository of this file: the schema of `ownership/migrations`, `workspaces` the
/// tenant table, `countries` global, and tenantry's warnings allowed (see above). (That the
/// attribute works when a `macro_rules!` writes it is tested here too: its generated
/// bodies once could not name the receiver `self` there.)
macro_rules! repository {
    (backends($($backend:ident),*), $item:item) => {
        #[allow(deprecated)]
        #[tenant_repository(
            backends($($backend),*),
            migrations = "ownership/migrations",
            tenant_table = "workspaces",
            global(countries)
        )]
        $item
    };
}

repository! {
    backends(sqlite, postgres, mysql),
    /// The tenant table: a tenant reads and renames its own row, by `id = :tenant`.
    pub trait Workspaces {
        #[sql("INSERT INTO workspaces (id, name) VALUES (:tenant, :name)")]
        async fn open(&self, name: &str) -> Result<u64>;

        #[sql("SELECT name FROM workspaces WHERE id = :tenant")]
        async fn name(&self) -> Result<String>;

        /// A caller's id narrows the tenant's own row further; it never widens it.
        #[sql("SELECT name FROM workspaces WHERE id = :tenant AND id = :id")]
        async fn find(&self, id: i64) -> Result<Option<String>>;

        #[sql("UPDATE workspaces SET name = :name WHERE id = :tenant")]
        async fn rename(&self, name: &str) -> Result<u64>;

        #[sql("UPDATE workspaces SET name = :name WHERE id = :tenant AND id = :id")]
        async fn rename_by_id(&self, id: i64, name: &str) -> Result<u64>;

        #[sql("DELETE FROM workspaces WHERE id = :tenant")]
        async fn close(&self) -> Result<u64>;
    }
}

repository! {
    backends(sqlite, postgres, mysql),
    /// `members.workspace_id` is a NOT NULL foreign key to the tenant table: it is the
    /// table's tenant column, although the configured tenant column is `tenant_id`.
    pub trait Members {
        #[sql("INSERT INTO members (id, workspace_id, email, role) VALUES (:id, :tenant, :email, :role)")]
        async fn add(&self, id: i64, email: &str, role: &str) -> Result<u64>;

        #[sql("SELECT email, role FROM members WHERE workspace_id = :tenant ORDER BY email")]
        async fn list(&self) -> Result<Vec<(String, String)>>;

        #[sql("SELECT role FROM members WHERE workspace_id = :tenant AND id = :id")]
        async fn role_of(&self, id: i64) -> Result<Option<String>>;

        #[sql("UPDATE members SET role = :role WHERE workspace_id = :tenant AND id = :id")]
        async fn set_role(&self, id: i64, role: &str) -> Result<u64>;

        #[sql("DELETE FROM members WHERE workspace_id = :tenant AND id = :id")]
        async fn remove(&self, id: i64) -> Result<u64>;
    }
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Page {
    pub id: i64,
    pub title: String,
}

repository! {
    backends(sqlite, postgres, mysql),
    /// `pages` has the default tenant column, `tenant_id`.
    pub trait Pages {
        #[sql("INSERT INTO pages (id, tenant_id, title, country) VALUES (:id, :tenant, :title, :country)")]
        async fn create(&self, id: i64, title: &str, country: &str) -> Result<u64>;

        #[sql("SELECT id, title FROM pages WHERE tenant_id = :tenant ORDER BY id")]
        async fn list(&self) -> Result<Vec<Page>>;

        #[sql("SELECT id, title FROM pages WHERE tenant_id = :tenant AND id = :id")]
        async fn find(&self, id: i64) -> Result<Option<Page>>;

        #[sql("UPDATE pages SET title = :title WHERE tenant_id = :tenant AND id = :id")]
        async fn retitle(&self, id: i64, title: &str) -> Result<u64>;

        #[sql("DELETE FROM pages WHERE tenant_id = :tenant AND id = :id")]
        async fn delete(&self, id: i64) -> Result<u64>;

        /// A tenant-owned table joined to a global one: only the tenant-owned side needs
        /// confining.
        #[sql(
            "SELECT p.title, c.name FROM pages p JOIN countries c ON c.code = p.country
               WHERE p.tenant_id = :tenant ORDER BY p.id"
        )]
        async fn with_country(&self) -> Result<Vec<(String, String)>>;
    }
}

repository! {
    backends(sqlite, postgres, mysql),
    /// `comments` has no tenant column: each belongs to a tenant through its page, and every
    /// statement ties `page_id` to a page of the tenant.
    pub trait Comments {
        /// The parent key comes from the tenant's own page: another tenant's page id finds
        /// no page, and NOT NULL `page_id` refuses the NULL.
        #[sql(
            "INSERT INTO comments (id, page_id, body)
               VALUES (:id, (SELECT id FROM pages WHERE tenant_id = :tenant AND id = :page), :body)"
        )]
        async fn add(&self, id: i64, page: i64, body: &str) -> Result<u64>;

        /// `INSERT ... SELECT` from the tenant's own page: another tenant's page id selects
        /// no row, so nothing is inserted.
        #[sql(
            "INSERT INTO comments (id, page_id, body)
               SELECT :id, p.id, :body FROM pages p WHERE p.tenant_id = :tenant AND p.id = :page"
        )]
        async fn add_if_mine(&self, id: i64, page: i64, body: &str) -> Result<u64>;

        /// Read through a join to the confined parent.
        #[sql(
            "SELECT c.body FROM comments c JOIN pages p ON p.id = c.page_id
               WHERE p.tenant_id = :tenant AND p.id = :page ORDER BY c.id"
        )]
        async fn on_page(&self, page: i64) -> Result<Vec<String>>;

        /// Read through `IN (SELECT ...)` on the confined parent.
        #[sql("SELECT body FROM comments WHERE page_id IN (SELECT id FROM pages WHERE tenant_id = :tenant) ORDER BY id")]
        async fn all_mine(&self) -> Result<Vec<String>>;

        /// Read through `= (SELECT ...)`.
        #[sql(
            "SELECT body FROM comments
               WHERE id = :id AND page_id = (SELECT id FROM pages WHERE tenant_id = :tenant AND id = :page)"
        )]
        async fn find_on(&self, page: i64, id: i64) -> Result<Option<String>>;

        /// Read through `EXISTS`, correlated on the owning key.
        #[sql(
            "SELECT c.body FROM comments c
               WHERE c.id = :id AND EXISTS (SELECT 1 FROM pages p WHERE p.id = c.page_id AND p.tenant_id = :tenant)"
        )]
        async fn find(&self, id: i64) -> Result<Option<String>>;

        /// Read through a CTE of the tenant's pages.
        #[sql(
            "WITH mine AS (SELECT id FROM pages WHERE tenant_id = :tenant)
             SELECT COUNT(*) FROM comments c JOIN mine m ON c.page_id = m.id"
        )]
        async fn count(&self) -> Result<i64>;

        #[sql(
            "UPDATE comments SET body = :body
               WHERE id = :id AND page_id IN (SELECT id FROM pages WHERE tenant_id = :tenant)"
        )]
        async fn edit(&self, id: i64, body: &str) -> Result<u64>;

        /// Re-parenting takes the new page from the tenant's pages too.
        #[sql(
            "UPDATE comments SET page_id = (SELECT id FROM pages WHERE tenant_id = :tenant AND id = :page)
               WHERE id = :id AND page_id IN (SELECT id FROM pages WHERE tenant_id = :tenant)"
        )]
        async fn move_to(&self, id: i64, page: i64) -> Result<u64>;

        #[sql("DELETE FROM comments WHERE id = :id AND page_id IN (SELECT id FROM pages WHERE tenant_id = :tenant)")]
        async fn delete(&self, id: i64) -> Result<u64>;

        /// A grandchild takes its `comment_id` from a comment of the tenant's pages.
        #[sql(
            "INSERT INTO reactions (id, comment_id, kind)
               SELECT :id, c.id, :kind FROM comments c JOIN pages p ON p.id = c.page_id
               WHERE p.tenant_id = :tenant AND c.id = :comment"
        )]
        async fn react(&self, id: i64, comment: i64, kind: &str) -> Result<u64>;

        /// A grandchild read through both parents.
        #[sql(
            "SELECT r.kind FROM reactions r JOIN comments c ON c.id = r.comment_id
               JOIN pages p ON p.id = c.page_id WHERE p.tenant_id = :tenant ORDER BY r.id"
        )]
        async fn reactions(&self) -> Result<Vec<String>>;

        /// A grandchild deleted through nested `IN (SELECT ...)`.
        #[sql(
            "DELETE FROM reactions WHERE id = :id AND comment_id IN
               (SELECT id FROM comments WHERE page_id IN (SELECT id FROM pages WHERE tenant_id = :tenant))"
        )]
        async fn unreact(&self, id: i64) -> Result<u64>;
    }
}

repository! {
    backends(sqlite, postgres, mysql),
    /// The global table: read by every tenant, with no tenant condition.
    pub trait Countries {
        #[sql("SELECT name FROM countries WHERE code = :code")]
        async fn name_of(&self, code: &str) -> Result<Option<String>>;

        #[sql("SELECT code FROM countries ORDER BY code")]
        async fn codes(&self) -> Result<Vec<String>>;

        /// No scoped statement writes a global table; loading reference data is an
        /// operator's unscoped job.
        #[unscoped(reason = "reference data is loaded by the operator, not by a tenant")]
        #[sql("INSERT INTO countries (code, name) VALUES (:code, :name)")]
        async fn load(&self, code: &str, name: &str) -> Result<u64>;
    }
}

repository! {
    backends(sqlite, postgres, mysql),
    /// Every tenant's rows, for checking that the other tenant's data is untouched.
    pub trait Everything {
        #[unscoped(reason = "tests compare whole tables")]
        #[sql("SELECT id, name FROM workspaces ORDER BY id")]
        async fn workspaces(&self) -> Result<Vec<(i64, String)>>;

        #[unscoped(reason = "tests compare whole tables")]
        #[sql("SELECT workspace_id, email, role FROM members ORDER BY workspace_id, email")]
        async fn members(&self) -> Result<Vec<(i64, String, String)>>;

        #[unscoped(reason = "tests compare whole tables")]
        #[sql("SELECT id, tenant_id, title FROM pages ORDER BY id")]
        async fn pages(&self) -> Result<Vec<(i64, i64, String)>>;

        #[unscoped(reason = "tests compare whole tables")]
        #[sql("SELECT id, page_id, body FROM comments ORDER BY id")]
        async fn comments(&self) -> Result<Vec<(i64, i64, String)>>;

        #[unscoped(reason = "tests compare whole tables")]
        #[sql("SELECT id, comment_id, kind FROM reactions ORDER BY id")]
        async fn reactions(&self) -> Result<Vec<(i64, i64, String)>>;
    }
}

repository! {
    backends(sqlite, postgres),
    /// Upserts in the SQLite/PostgreSQL dialect.
    pub trait OnConflict {
        /// The tenant table's key is the tenant: a conflict can only be with the own row.
        #[sql(
            "INSERT INTO workspaces (id, name) VALUES (:tenant, :name) ON CONFLICT (id) DO UPDATE SET name = excluded.name"
        )]
        async fn put_workspace(&self, name: &str) -> Result<u64>;

        /// The conflict target includes the tenant column.
        #[sql(
            "INSERT INTO members (id, workspace_id, email, role) VALUES (:id, :tenant, :email, :role)
               ON CONFLICT (workspace_id, email) DO UPDATE SET role = excluded.role"
        )]
        async fn put_member(&self, id: i64, email: &str, role: &str) -> Result<u64>;

        /// `id` is unique across tenants: the update is guarded by the tenant, so a colliding
        /// row of another tenant is neither updated nor replaced.
        #[sql(
            "INSERT INTO pages (id, tenant_id, title) VALUES (:id, :tenant, :title)
               ON CONFLICT (id) DO UPDATE SET title = excluded.title WHERE pages.tenant_id = :tenant"
        )]
        async fn put_page(&self, id: i64, title: &str) -> Result<u64>;

        /// A child's upsert is guarded by its owning key: the row it would update must hang
        /// under the page the new row takes from the tenant.
        #[sql(
            "INSERT INTO comments (id, page_id, body)
               VALUES (:id, (SELECT id FROM pages WHERE tenant_id = :tenant AND id = :page), :body)
               ON CONFLICT (id) DO UPDATE SET body = excluded.body WHERE comments.page_id = excluded.page_id"
        )]
        async fn put_comment(&self, id: i64, page: i64, body: &str) -> Result<u64>;
    }
}

repository! {
    backends(mysql),
    /// The same upserts in the MariaDB/MySQL dialect, whose assignments are guarded with `IF`.
    pub trait OnDuplicateKey {
        #[sql(
            "INSERT INTO workspaces (id, name) VALUES (:tenant, :name)
               ON DUPLICATE KEY UPDATE name = IF(id = :tenant, VALUES(name), name)"
        )]
        async fn put_workspace(&self, name: &str) -> Result<u64>;

        #[sql(
            "INSERT INTO members (id, workspace_id, email, role) VALUES (:id, :tenant, :email, :role)
               ON DUPLICATE KEY UPDATE role = IF(workspace_id = :tenant, VALUES(role), role)"
        )]
        async fn put_member(&self, id: i64, email: &str, role: &str) -> Result<u64>;

        #[sql(
            "INSERT INTO pages (id, tenant_id, title) VALUES (:id, :tenant, :title)
               ON DUPLICATE KEY UPDATE title = IF(tenant_id = :tenant, VALUES(title), title)"
        )]
        async fn put_page(&self, id: i64, title: &str) -> Result<u64>;

        #[sql(
            "INSERT INTO comments (id, page_id, body)
               VALUES (:id, (SELECT id FROM pages WHERE tenant_id = :tenant AND id = :page), :body)
               ON DUPLICATE KEY UPDATE body = IF(page_id = VALUES(page_id), VALUES(body), body)"
        )]
        async fn put_comment(&self, id: i64, page: i64, body: &str) -> Result<u64>;
    }
}

/// What a scenario needs of a backend: the repositories and the guard as associated
/// types (so scenarios are generic without a bound per call), and the dialect's upserts.
trait Fixture: Backend {
    type Workspaces: Workspaces;
    type Members: Members;
    type Pages: Pages;
    type Comments: Comments;
    type Countries: Countries;
    type Everything: Everything;
    type Guard: ScopeGuard + Debug;

    fn repos(db: &Db<Self>) -> Repos<Self>;
    fn scope(db: &Db<Self>, tenant: i64) -> Result<Self::Guard>;

    fn put_workspace(db: &Db<Self>, scope: &Self::Guard, name: &str) -> impl Future<Output = Result<u64>> + Send;
    fn put_member(
        db: &Db<Self>,
        scope: &Self::Guard,
        id: i64,
        email: &str,
        role: &str,
    ) -> impl Future<Output = Result<u64>> + Send;
    fn put_page(db: &Db<Self>, scope: &Self::Guard, id: i64, title: &str) -> impl Future<Output = Result<u64>> + Send;
    fn put_comment(
        db: &Db<Self>,
        scope: &Self::Guard,
        id: i64,
        page: i64,
        body: &str,
    ) -> impl Future<Output = Result<u64>> + Send;
}

struct Repos<DB: Fixture> {
    workspaces: DB::Workspaces,
    members: DB::Members,
    pages: DB::Pages,
    comments: DB::Comments,
    countries: DB::Countries,
    everything: DB::Everything,
}

macro_rules! fixture {
    ($db:ty, upserts: $upserts:ident) => {
        impl Fixture for $db {
            type Workspaces = WorkspacesRepo<$db>;
            type Members = MembersRepo<$db>;
            type Pages = PagesRepo<$db>;
            type Comments = CommentsRepo<$db>;
            type Countries = CountriesRepo<$db>;
            type Everything = EverythingRepo<$db>;
            type Guard = Scope<i64>;

            fn repos(db: &Db<Self>) -> Repos<Self> {
                Repos {
                    workspaces: WorkspacesRepo::new(db),
                    members: MembersRepo::new(db),
                    pages: PagesRepo::new(db),
                    comments: CommentsRepo::new(db),
                    countries: CountriesRepo::new(db),
                    everything: EverythingRepo::new(db),
                }
            }
            fn scope(db: &Db<Self>, tenant: i64) -> Result<Scope<i64>> {
                db.scope(tenant)
            }
            async fn put_workspace(db: &Db<Self>, scope: &Scope<i64>, name: &str) -> Result<u64> {
                $upserts::new(db).put_workspace(scope, name).await
            }
            async fn put_member(db: &Db<Self>, scope: &Scope<i64>, id: i64, email: &str, role: &str) -> Result<u64> {
                $upserts::new(db).put_member(scope, id, email, role).await
            }
            async fn put_page(db: &Db<Self>, scope: &Scope<i64>, id: i64, title: &str) -> Result<u64> {
                $upserts::new(db).put_page(scope, id, title).await
            }
            async fn put_comment(db: &Db<Self>, scope: &Scope<i64>, id: i64, page: i64, body: &str) -> Result<u64> {
                $upserts::new(db).put_comment(scope, id, page, body).await
            }
        }
    };
}

fixture!(Sqlite, upserts: OnConflictRepo);
fixture!(Postgres, upserts: OnConflictRepo);
fixture!(MySql, upserts: OnDuplicateKeyRepo);

/// A fresh database with the migration applied, two workspaces (`ACME`, `GLOBEX`) and
/// two countries.
struct World<DB: Fixture> {
    db: Db<DB>,
    repo: Repos<DB>,
    acme: DB::Guard,
    globex: DB::Guard,
}

impl<DB: Fixture> World<DB> {
    async fn new(db: Db<DB>) -> Result<Self> {
        let statements: String =
            MIGRATION.lines().filter(|l| !l.trim_start().starts_with("--")).map(|l| format!("{l}\n")).collect();
        for statement in statements.split(';').map(str::trim).filter(|s| !s.is_empty()) {
            DB::execute(&db, statement).await?;
        }
        let w = World { repo: DB::repos(&db), acme: DB::scope(&db, ACME)?, globex: DB::scope(&db, GLOBEX)?, db };
        assert_eq!(w.repo.workspaces.open(&w.acme, "Acme").await?, 1);
        assert_eq!(w.repo.workspaces.open(&w.globex, "Globex").await?, 1);
        let operator = w.db.unscoped("test: load the reference data")?;
        w.repo.countries.load(&operator, "FR", "France").await?;
        w.repo.countries.load(&operator, "JP", "Japan").await?;
        Ok(w)
    }

    fn everyone(&self) -> Result<tenantry::Unscoped> {
        self.db.unscoped("test: compare whole tables")
    }

    async fn all_comments(&self) -> Result<Vec<(i64, i64, String)>> {
        self.repo.everything.comments(&self.everyone()?).await
    }
}

fn comment(id: i64, page: i64, body: &str) -> (i64, i64, String) {
    (id, page, body.to_string())
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

/// The error of a call that must fail at run time because the database refused it.
fn assert_refused_by_database<T: Debug>(outcome: Result<T>, method: &str) {
    match outcome {
        Err(Error::Query { method: m, .. }) if m == method => {}
        other => panic!("expected the database to refuse `{method}` (Error::Query), got {other:?}"),
    }
}

/// The tenant table: a tenant reads and renames its own row, and another tenant's row
/// is out of reach even by its id.
async fn the_tenant_table_is_reached_by_its_own_key<DB: Fixture>(w: World<DB>) -> Result<()> {
    let (repo, acme, globex) = (&w.repo.workspaces, &w.acme, &w.globex);
    assert_eq!(repo.name(acme).await?, "Acme");
    assert_eq!(repo.name(globex).await?, "Globex");

    // Read: Globex's id does not reach Globex's row from Acme's scope.
    assert_eq!(repo.find(acme, ACME).await?.as_deref(), Some("Acme"));
    assert_eq!(repo.find(acme, GLOBEX).await?, None);

    // Write: a rename changes the own row only; by Globex's id it changes nothing.
    assert_eq!(repo.rename(acme, "Acme Corp").await?, 1);
    assert_eq!(repo.rename_by_id(acme, GLOBEX, "Pwned").await?, 0);
    assert_eq!(
        w.repo.everything.workspaces(&w.everyone()?).await?,
        [(ACME, "Acme Corp".to_string()), (GLOBEX, "Globex".to_string())]
    );

    // Upsert: the key is the tenant, so the conflict is with the own row.
    DB::put_workspace(&w.db, acme, "Acme Inc").await?;
    assert_eq!(repo.name(acme).await?, "Acme Inc");
    assert_eq!(repo.name(globex).await?, "Globex");
    let initech = DB::scope(&w.db, 3)?;
    DB::put_workspace(&w.db, &initech, "Initech").await?;
    assert_eq!(repo.name(&initech).await?, "Initech");

    // Delete: the own row.
    assert_eq!(repo.close(&initech).await?, 1);
    assert_eq!(repo.find(&initech, 3).await?, None);
    assert_eq!(w.repo.everything.workspaces(&w.everyone()?).await?.len(), 2);
    Ok(())
}

/// `members.workspace_id`, a NOT NULL foreign key to the tenant table, confines like a
/// tenant column: inserts store the guard's tenant in it, and reads, updates, deletes
/// and upserts through it reach the own rows only.
async fn a_reference_to_the_tenant_table_is_a_tenant_column<DB: Fixture>(w: World<DB>) -> Result<()> {
    let (repo, acme, globex) = (&w.repo.members, &w.acme, &w.globex);
    repo.add(acme, 11, "ann@acme.test", "admin").await?;
    repo.add(acme, 12, "bob@acme.test", "viewer").await?;
    repo.add(globex, 21, "hank@globex.test", "admin").await?;

    assert_eq!(
        repo.list(acme).await?,
        [("ann@acme.test".to_string(), "admin".to_string()), ("bob@acme.test".to_string(), "viewer".to_string())]
    );
    assert_eq!(repo.list(globex).await?, [("hank@globex.test".to_string(), "admin".to_string())]);
    assert_eq!(repo.role_of(acme, 21).await?, None);

    // Another tenant's member id changes nothing.
    assert_eq!(repo.set_role(acme, 21, "viewer").await?, 0);
    assert_eq!(repo.remove(acme, 21).await?, 0);
    assert_eq!(repo.role_of(globex, 21).await?.as_deref(), Some("admin"));

    assert_eq!(repo.set_role(acme, 12, "editor").await?, 1);
    assert_eq!(repo.remove(acme, 11).await?, 1);

    // Upsert on `(workspace_id, email)`: the same email is a row of each tenant.
    DB::put_member(&w.db, acme, 13, "carol@shared.test", "viewer").await?;
    DB::put_member(&w.db, globex, 22, "carol@shared.test", "admin").await?;
    DB::put_member(&w.db, acme, 14, "carol@shared.test", "editor").await?;
    assert_eq!(
        w.repo.everything.members(&w.everyone()?).await?,
        [
            (ACME, "bob@acme.test".to_string(), "editor".to_string()),
            (ACME, "carol@shared.test".to_string(), "editor".to_string()),
            (GLOBEX, "carol@shared.test".to_string(), "admin".to_string()),
            (GLOBEX, "hank@globex.test".to_string(), "admin".to_string()),
        ]
    );
    Ok(())
}

/// `pages.tenant_id`: the tenant column by its default name.
async fn a_tenant_owned_table_is_confined_by_its_tenant_column<DB: Fixture>(w: World<DB>) -> Result<()> {
    let (repo, acme, globex) = (&w.repo.pages, &w.acme, &w.globex);
    repo.create(acme, 10, "Acme home", "FR").await?;
    repo.create(acme, 11, "Acme about", "JP").await?;
    repo.create(globex, 20, "Globex home", "JP").await?;

    let page = |id: i64, title: &str| Page { id, title: title.to_string() };
    assert_eq!(repo.list(acme).await?, [page(10, "Acme home"), page(11, "Acme about")]);
    assert_eq!(repo.list(globex).await?, [page(20, "Globex home")]);
    assert_eq!(repo.find(acme, 20).await?, None);

    assert_eq!(repo.retitle(acme, 20, "Pwned").await?, 0);
    assert_eq!(repo.delete(acme, 20).await?, 0);
    assert_eq!(repo.find(globex, 20).await?, Some(page(20, "Globex home")));

    assert_eq!(repo.retitle(acme, 10, "Welcome").await?, 1);
    assert_eq!(repo.delete(acme, 11).await?, 1);
    assert_eq!(repo.list(acme).await?, [page(10, "Welcome")]);

    // The guarded upsert: a new id inserts, the own id updates, and Globex's id (unique
    // across tenants) is neither updated nor taken over.
    DB::put_page(&w.db, acme, 12, "Pricing").await?;
    DB::put_page(&w.db, acme, 12, "Plans").await?;
    DB::put_page(&w.db, acme, 20, "Pwned").await?;
    assert_eq!(repo.list(acme).await?, [page(10, "Welcome"), page(12, "Plans")]);
    assert_eq!(
        w.repo.everything.pages(&w.everyone()?).await?,
        [(10, ACME, "Welcome".to_string()), (12, ACME, "Plans".to_string()), (20, GLOBEX, "Globex home".to_string()),]
    );
    Ok(())
}

/// A comment has no tenant column; every way of reaching it through a confined page
/// (a join, `IN`, `=`, a correlated `EXISTS`, a CTE) finds the own comments only.
async fn a_child_is_read_through_its_confined_parent<DB: Fixture>(w: World<DB>) -> Result<()> {
    let (pages, repo, acme, globex) = (&w.repo.pages, &w.repo.comments, &w.acme, &w.globex);
    pages.create(acme, 10, "Acme home", "FR").await?;
    pages.create(globex, 20, "Globex home", "JP").await?;
    repo.add(acme, 100, 10, "first").await?;
    repo.add(acme, 101, 10, "second").await?;
    repo.add(globex, 200, 20, "theirs").await?;

    // Join.
    assert_eq!(repo.on_page(acme, 10).await?, strings(&["first", "second"]));
    assert!(repo.on_page(acme, 20).await?.is_empty());
    assert_eq!(repo.on_page(globex, 20).await?, strings(&["theirs"]));
    // IN (SELECT ...).
    assert_eq!(repo.all_mine(acme).await?, strings(&["first", "second"]));
    assert_eq!(repo.all_mine(globex).await?, strings(&["theirs"]));
    // = (SELECT ...): the right comment and page, but another tenant's.
    assert_eq!(repo.find_on(acme, 10, 100).await?.as_deref(), Some("first"));
    assert_eq!(repo.find_on(acme, 20, 200).await?, None);
    // EXISTS.
    assert_eq!(repo.find(acme, 101).await?.as_deref(), Some("second"));
    assert_eq!(repo.find(acme, 200).await?, None);
    assert_eq!(repo.find(globex, 100).await?, None);
    // CTE.
    assert_eq!(repo.count(acme).await?, 2);
    assert_eq!(repo.count(globex).await?, 1);
    Ok(())
}

/// Inserts take the page from the tenant's own pages; updates and deletes reach the own
/// comments only.
async fn a_child_is_written_through_its_confined_parent<DB: Fixture>(w: World<DB>) -> Result<()> {
    let (pages, repo, acme, globex) = (&w.repo.pages, &w.repo.comments, &w.acme, &w.globex);
    pages.create(acme, 10, "Acme home", "FR").await?;
    pages.create(globex, 20, "Globex home", "JP").await?;

    assert_eq!(repo.add(acme, 100, 10, "by scalar subquery").await?, 1);
    assert_eq!(repo.add_if_mine(acme, 101, 10, "by INSERT ... SELECT").await?, 1);
    assert_eq!(repo.add(globex, 200, 20, "theirs").await?, 1);

    assert_eq!(repo.edit(acme, 200, "Pwned").await?, 0);
    assert_eq!(repo.delete(acme, 200).await?, 0);
    assert_eq!(repo.edit(globex, 100, "Pwned").await?, 0);
    assert_eq!(repo.delete(globex, 101).await?, 0);

    assert_eq!(repo.edit(acme, 100, "edited").await?, 1);
    assert_eq!(repo.delete(acme, 101).await?, 1);
    assert_eq!(w.all_comments().await?, [comment(100, 10, "edited"), comment(200, 20, "theirs")]);
    Ok(())
}

/// A caller who passes another tenant's page id gets no comment under it: the scalar
/// subquery finds no page of the tenant, the database refuses the NULL `page_id`, and
/// `INSERT ... SELECT` inserts nothing. No row is left behind either way.
async fn a_child_under_another_tenants_parent_is_refused_at_run_time<DB: Fixture>(w: World<DB>) -> Result<()> {
    let (pages, repo, acme, globex) = (&w.repo.pages, &w.repo.comments, &w.acme, &w.globex);
    pages.create(acme, 10, "Acme home", "FR").await?;
    pages.create(globex, 20, "Globex home", "JP").await?;

    assert_refused_by_database(repo.add(acme, 100, 20, "planted").await, "add");
    assert_eq!(repo.add_if_mine(acme, 101, 20, "planted").await?, 0);
    // The upsert takes its page the same way.
    assert_refused_by_database(DB::put_comment(&w.db, acme, 102, 20, "planted").await, "put_comment");
    // A page id nobody has is refused alike.
    assert_refused_by_database(repo.add(acme, 103, 99, "orphan").await, "add");

    assert!(w.all_comments().await?.is_empty());
    assert!(repo.on_page(globex, 20).await?.is_empty());
    Ok(())
}

/// Moving a comment to another of the tenant's pages works; moving it under another
/// tenant's page is refused by the database and leaves it where it was; another tenant's
/// comment cannot be moved at all.
async fn re_parenting_to_another_tenants_parent_is_refused_at_run_time<DB: Fixture>(w: World<DB>) -> Result<()> {
    let (pages, repo, acme, globex) = (&w.repo.pages, &w.repo.comments, &w.acme, &w.globex);
    pages.create(acme, 10, "Acme home", "FR").await?;
    pages.create(acme, 11, "Acme about", "FR").await?;
    pages.create(globex, 20, "Globex home", "JP").await?;
    repo.add(acme, 100, 10, "mine").await?;
    repo.add(globex, 200, 20, "theirs").await?;

    assert_eq!(repo.move_to(acme, 100, 11).await?, 1);
    assert_eq!(repo.on_page(acme, 11).await?, strings(&["mine"]));

    assert_refused_by_database(repo.move_to(acme, 100, 20).await, "move_to");
    assert_eq!(repo.move_to(acme, 200, 11).await?, 0);
    assert_eq!(w.all_comments().await?, [comment(100, 11, "mine"), comment(200, 20, "theirs")]);
    Ok(())
}

/// A comment upsert whose id collides with another tenant's comment neither updates that
/// comment nor moves it: the update is guarded by the owning key.
async fn a_child_upsert_never_overwrites_another_tenants_row<DB: Fixture>(w: World<DB>) -> Result<()> {
    let (pages, repo, acme, globex) = (&w.repo.pages, &w.repo.comments, &w.acme, &w.globex);
    pages.create(acme, 10, "Acme home", "FR").await?;
    pages.create(globex, 20, "Globex home", "JP").await?;

    assert_eq!(DB::put_comment(&w.db, acme, 100, 10, "draft").await?, 1);
    DB::put_comment(&w.db, acme, 100, 10, "final").await?;
    assert_eq!(repo.find(acme, 100).await?.as_deref(), Some("final"));

    // Globex, on its own page, with Acme's comment id.
    DB::put_comment(&w.db, globex, 100, 20, "hijacked").await?;
    assert_eq!(w.all_comments().await?, [comment(100, 10, "final")]);
    assert_eq!(repo.find(globex, 100).await?, None);
    Ok(())
}

/// Reactions hang under comments, which hang under pages: confined through both.
async fn a_grandchild_is_confined_through_both_parents<DB: Fixture>(w: World<DB>) -> Result<()> {
    let (pages, repo, acme, globex) = (&w.repo.pages, &w.repo.comments, &w.acme, &w.globex);
    pages.create(acme, 10, "Acme home", "FR").await?;
    pages.create(globex, 20, "Globex home", "JP").await?;
    repo.add(acme, 100, 10, "mine").await?;
    repo.add(globex, 200, 20, "theirs").await?;

    assert_eq!(repo.react(acme, 1000, 100, "like").await?, 1);
    assert_eq!(repo.react(acme, 1001, 100, "laugh").await?, 1);
    assert_eq!(repo.react(globex, 2000, 200, "like").await?, 1);
    // Under another tenant's comment: nothing to select from.
    assert_eq!(repo.react(acme, 1002, 200, "dislike").await?, 0);

    assert_eq!(repo.reactions(acme).await?, strings(&["like", "laugh"]));
    assert_eq!(repo.reactions(globex).await?, strings(&["like"]));

    assert_eq!(repo.unreact(acme, 2000).await?, 0);
    assert_eq!(repo.unreact(acme, 1001).await?, 1);
    assert_eq!(
        w.repo.everything.reactions(&w.everyone()?).await?,
        [(1000, 100, "like".to_string()), (2000, 200, "like".to_string())]
    );
    Ok(())
}

/// Every tenant reads the global table, alone or joined to its own rows.
async fn a_global_table_is_read_by_every_tenant<DB: Fixture>(w: World<DB>) -> Result<()> {
    let (countries, pages, acme, globex) = (&w.repo.countries, &w.repo.pages, &w.acme, &w.globex);
    assert_eq!(countries.codes(acme).await?, strings(&["FR", "JP"]));
    assert_eq!(countries.codes(globex).await?, strings(&["FR", "JP"]));
    assert_eq!(countries.name_of(globex, "FR").await?.as_deref(), Some("France"));

    pages.create(acme, 10, "Acme home", "FR").await?;
    pages.create(globex, 20, "Globex home", "JP").await?;
    assert_eq!(pages.with_country(acme).await?, [("Acme home".to_string(), "France".to_string())]);
    assert_eq!(pages.with_country(globex).await?, [("Globex home".to_string(), "Japan".to_string())]);
    Ok(())
}

tenantry_tests::on_every_backend_with_world!(
    the_tenant_table_is_reached_by_its_own_key,
    a_reference_to_the_tenant_table_is_a_tenant_column,
    a_tenant_owned_table_is_confined_by_its_tenant_column,
    a_child_is_read_through_its_confined_parent,
    a_child_is_written_through_its_confined_parent,
    a_child_under_another_tenants_parent_is_refused_at_run_time,
    re_parenting_to_another_tenants_parent_is_refused_at_run_time,
    a_child_upsert_never_overwrites_another_tenants_row,
    a_grandchild_is_confined_through_both_parents,
    a_global_table_is_read_by_every_tenant,
);
