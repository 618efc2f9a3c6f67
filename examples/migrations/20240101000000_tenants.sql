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
