CREATE TABLE invoices (
    id BIGINT PRIMARY KEY,
    tenant_id BIGINT NOT NULL,
    total BIGINT NOT NULL
);
