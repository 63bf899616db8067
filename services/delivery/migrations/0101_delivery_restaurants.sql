-- One file for SQLite and PostgreSQL: only types and syntax both accept.
-- The restaurant of the delivery's order, copied from OrderPlaced so that a
-- board or a courier sees where to pick it up without asking order-service.
-- Nullable: deliveries made before restaurants existed have none.
ALTER TABLE deliveries ADD COLUMN restaurant_id TEXT;
ALTER TABLE deliveries ADD COLUMN restaurant_name TEXT;
ALTER TABLE deliveries ADD COLUMN pickup_address TEXT;
CREATE INDEX deliveries_by_restaurant ON deliveries (restaurant_id, order_id);
