-- One file for SQLite and PostgreSQL: only types and syntax both accept.
-- Couriers: a delivery's `courier` is now one of their ids. `on_shift` is
-- 0 or 1; `idle_since` (microseconds) is when the courier's active count
-- last fell to 0 or its shift began, the tie-break of automatic dispatch.
CREATE TABLE couriers (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    on_shift BIGINT NOT NULL,
    idle_since BIGINT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
-- The local couriers, off shift: nothing is dispatched until one starts.
INSERT INTO couriers (id, name, on_shift, idle_since, created_at, updated_at) VALUES
    ('courier-1', 'Camille Martin', 0, NULL, 0, 0),
    ('courier-2', 'Malik Benali', 0, NULL, 0, 0),
    ('courier-3', 'Inès Laurent', 0, NULL, 0, 0);

-- 1 once the kitchen accepted the delivery's order (OrderStatusChanged to
-- PREPARING or READY_FOR_PICKUP): only then is it dispatched or picked up.
-- Deliveries already past PENDING when this runs were moved under the old
-- rules, where nobody accepted; they count as accepted.
ALTER TABLE deliveries ADD COLUMN order_accepted BIGINT NOT NULL DEFAULT 0;
UPDATE deliveries SET order_accepted = 1 WHERE status <> 'PENDING';
-- A courier's active deliveries, counted at every dispatch.
CREATE INDEX deliveries_by_courier ON deliveries (courier, status);
-- The waiting deliveries, oldest first.
CREATE INDEX deliveries_waiting ON deliveries (status, order_accepted, created_at);
