-- Tenant-owned: the tenant column `tenant_id`, a foreign key to the tenant table.
CREATE TABLE invoices (
    id INTEGER PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants (id),
    customer TEXT NOT NULL,
    amount_cents BIGINT NOT NULL,
    sent BOOLEAN NOT NULL DEFAULT FALSE,
    UNIQUE (tenant_id, id)
);

-- Tenant-owned too, and its invoice is referenced by tenant and key: a history row
-- cannot point at another tenant's invoice, whatever the SQL does.
CREATE TABLE invoice_history (
    id INTEGER PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    invoice_id BIGINT NOT NULL,
    what TEXT NOT NULL,
    FOREIGN KEY (tenant_id, invoice_id) REFERENCES invoices (tenant_id, id)
);
CREATE INDEX invoice_history_tenant ON invoice_history (tenant_id, invoice_id);

-- A child table: no tenant column, it belongs to a tenant through its invoice (the
-- NOT NULL foreign key). Statements reach it through a confined invoice.
CREATE TABLE invoice_lines (
    id INTEGER PRIMARY KEY,
    invoice_id BIGINT NOT NULL REFERENCES invoices (id),
    description TEXT NOT NULL,
    amount_cents BIGINT NOT NULL
);
CREATE INDEX invoice_lines_invoice ON invoice_lines (invoice_id);
