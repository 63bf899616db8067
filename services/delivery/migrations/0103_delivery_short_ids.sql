-- One file for SQLite and PostgreSQL: only types and syntax both accept.
-- The short id of the delivery's order (the last 8 characters of its id),
-- as boards show it. The gateway resolves a typed short id among the
-- deliveries the caller may see (a courier: its own and the unassigned
-- ones) with ListDeliveries(order_id_suffix), which reads this index
-- instead of every row. Filled on insert by the service; back-filled here.
ALTER TABLE deliveries ADD COLUMN short_id TEXT;
UPDATE deliveries SET short_id = CASE WHEN length(order_id) > 8 THEN substr(order_id, length(order_id) - 7) ELSE order_id END;
CREATE INDEX deliveries_by_short_id ON deliveries (short_id, order_id);
