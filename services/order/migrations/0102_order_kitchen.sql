-- One file for SQLite and PostgreSQL: only types and syntax both accept.
-- When the kitchen expects the food ready (micros); set when it accepts.
ALTER TABLE orders ADD COLUMN ready_by BIGINT;
-- Why the kitchen refused the order (`timeout` when nobody answered).
ALTER TABLE orders ADD COLUMN rejection_reason TEXT;
-- When an order of a kitchen that accepts by hand is rejected with reason
-- `timeout` if still PLACED (micros); NULL for auto-accept kitchens and
-- once the order has left PLACED. A column, not a timer: it survives
-- restarts and every replica sweeps the same rows.
ALTER TABLE orders ADD COLUMN accept_deadline BIGINT;
-- The deadline sweep reads only the orders still waiting for their kitchen.
CREATE INDEX orders_accept_deadline ON orders (accept_deadline)
    WHERE status = 'PLACED' AND accept_deadline IS NOT NULL;
