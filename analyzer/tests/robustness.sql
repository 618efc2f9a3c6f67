-- The migrations of the robustness tests' and the fuzz target's third schema: every kind
-- of table the ownership rules know (the tenant table, global, tenant-owned, a child, a
-- grandchild, a tenant column by reference to the tenant table, an unclassified table).
CREATE TABLE tenants (id INT PRIMARY KEY, name TEXT NOT NULL);
CREATE TABLE countries (code CHAR(2) PRIMARY KEY, name TEXT);
CREATE TABLE invoices (id INT PRIMARY KEY, tenant_id INT NOT NULL, customer_id INT, amount INT, number TEXT);
CREATE TABLE customers (id INT PRIMARY KEY, tenant_id INT NOT NULL, name TEXT);
CREATE TABLE payments (id INT PRIMARY KEY, invoice_id INT NOT NULL REFERENCES invoices (id), amount INT);
CREATE TABLE refunds (id INT PRIMARY KEY, payment_id INT NOT NULL REFERENCES payments (id));
CREATE TABLE settings (tenant INT NOT NULL REFERENCES tenants (id), name TEXT);
CREATE TABLE notes (id INT PRIMARY KEY, body TEXT);
