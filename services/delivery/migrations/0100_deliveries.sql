-- One file for SQLite and PostgreSQL: only types and syntax both accept.
CREATE TABLE deliveries (
    order_id TEXT PRIMARY KEY,
    customer_id TEXT NOT NULL,
    item_count INTEGER NOT NULL,
    total_cents BIGINT NOT NULL,
    currency TEXT NOT NULL,
    delivery_address TEXT NOT NULL,
    status TEXT NOT NULL,
    courier TEXT,
    eta BIGINT,
    -- bumped by every change; optimistic concurrency for UpdateStatus
    version BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX deliveries_by_status ON deliveries (status, order_id);
CREATE INDEX deliveries_by_customer ON deliveries (customer_id, order_id);

CREATE TABLE delivery_history (
    order_id TEXT NOT NULL REFERENCES deliveries (order_id),
    version BIGINT NOT NULL,
    status TEXT NOT NULL,
    at BIGINT NOT NULL,
    note TEXT,
    courier TEXT,
    PRIMARY KEY (order_id, version)
);
