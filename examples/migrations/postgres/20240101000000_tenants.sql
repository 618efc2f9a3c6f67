-- PostgreSQL's copy of ../20240101000000_tenants.sql: the same tables, with identity
-- ids where SQLite has its rowid (`INTEGER PRIMARY KEY`). The macro checks statements
-- against ../; the test `postgres_migrations_build_the_same_catalog` (lib.rs) keeps
-- the two in step.

-- Reference data every tenant reads and no tenant writes: declared `global` in
-- tenantry.toml, so repositories may read it unconfined and never write it.
CREATE TABLE countries (
    code TEXT PRIMARY KEY,
    name TEXT NOT NULL
);
INSERT INTO countries (code, name) VALUES ('DE', 'Germany'), ('FR', 'France'), ('US', 'United States');

-- The tenant table (`tenant_table` in tenantry.toml): its primary key is the tenant,
-- so `WHERE id = :tenant` confines it.
CREATE TABLE tenants (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    country TEXT NOT NULL REFERENCES countries (code)
);
