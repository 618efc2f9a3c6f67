CREATE TABLE comments (id BIGINT PRIMARY KEY, page_id BIGINT NOT NULL REFERENCES pages (id));

-- The table is `pages`: this migration cannot be applied.
ALTER TABLE page ADD COLUMN archived BOOLEAN;
