-- One file for SQLite and PostgreSQL: only types and syntax both accept.
-- The restaurant an order comes from, copied from the menu when it is
-- placed. Nullable: orders placed before restaurants existed have none.
ALTER TABLE orders ADD COLUMN restaurant_id TEXT;
ALTER TABLE orders ADD COLUMN restaurant_name TEXT;
-- The restaurant's address when the order was placed: the courier's pick-up point.
ALTER TABLE orders ADD COLUMN pickup_address TEXT;
CREATE INDEX orders_by_restaurant ON orders (restaurant_id, id);
