-- One file for SQLite and PostgreSQL: only types and syntax both accept.
-- An order's short id, as tables, boards and messages show it: the last 8
-- characters of its id. People type it back (`foodctl order get e920546f`),
-- and the gateway resolves it among the orders the caller may see with
-- ListOrders(id_suffix), which reads this index instead of every row.
-- Filled on insert by the service; back-filled here.
ALTER TABLE orders ADD COLUMN short_id TEXT;
UPDATE orders SET short_id = CASE WHEN length(id) > 8 THEN substr(id, length(id) - 7) ELSE id END;
CREATE INDEX orders_by_short_id ON orders (short_id, id);
