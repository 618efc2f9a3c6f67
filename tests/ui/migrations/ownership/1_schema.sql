-- The ownership kinds, for the ownership_*.rs cases.
CREATE TABLE workspaces (id BIGINT PRIMARY KEY, name VARCHAR(100) NOT NULL);
CREATE TABLE countries (code CHAR(2) PRIMARY KEY, name VARCHAR(100) NOT NULL);
CREATE TABLE pages (
    id BIGINT PRIMARY KEY,
    tenant_id BIGINT NOT NULL,
    title VARCHAR(100) NOT NULL
);
CREATE TABLE comments (
    id BIGINT PRIMARY KEY,
    page_id BIGINT NOT NULL REFERENCES pages (id),
    body VARCHAR(200) NOT NULL
);
-- Neither a tenant column, nor a NOT NULL foreign key to an owned table, nor global.
CREATE TABLE audit_log (id BIGINT PRIMARY KEY, what VARCHAR(200) NOT NULL);
