-- The schema of tests/tests/ownership.rs: one table of each ownership kind. Valid on
-- SQLite, PostgreSQL and MariaDB/MySQL alike. The test drops the comment lines and
-- applies the rest statement by statement, split on semicolons.

-- The tenant table (`tenant_table = "workspaces"`): its primary key is the tenant.
CREATE TABLE workspaces (
    id BIGINT PRIMARY KEY,
    name VARCHAR(100) NOT NULL
);

-- Global reference data (`global(countries)`): every tenant reads it, no tenant writes it.
CREATE TABLE countries (
    code CHAR(2) PRIMARY KEY,
    name VARCHAR(100) NOT NULL
);

-- Tenant-owned through a NOT NULL foreign key to the tenant table: `workspace_id` is
-- its tenant column, although it is not called `tenant_id`.
CREATE TABLE members (
    id BIGINT PRIMARY KEY,
    workspace_id BIGINT NOT NULL,
    email VARCHAR(100) NOT NULL,
    role VARCHAR(20) NOT NULL,
    UNIQUE (workspace_id, email),
    FOREIGN KEY (workspace_id) REFERENCES workspaces (id)
);

-- Tenant-owned by the default tenant column, `tenant_id`.
CREATE TABLE pages (
    id BIGINT PRIMARY KEY,
    tenant_id BIGINT NOT NULL,
    title VARCHAR(100) NOT NULL,
    country CHAR(2),
    FOREIGN KEY (country) REFERENCES countries (code)
);

-- A child: no tenant column, owned through its NOT NULL foreign key to `pages`.
CREATE TABLE comments (
    id BIGINT PRIMARY KEY,
    page_id BIGINT NOT NULL,
    body VARCHAR(200) NOT NULL,
    FOREIGN KEY (page_id) REFERENCES pages (id)
);

-- A grandchild: owned through `comments`, and through them `pages`.
CREATE TABLE reactions (
    id BIGINT PRIMARY KEY,
    comment_id BIGINT NOT NULL,
    kind VARCHAR(20) NOT NULL,
    FOREIGN KEY (comment_id) REFERENCES comments (id)
);
