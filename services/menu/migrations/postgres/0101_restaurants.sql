-- Restaurants, and the restaurant of every item. `cuisine_key` and
-- `search_text` are lower-cased by the service, like the items' keys, so
-- filters compare plain strings the same way on SQLite and PostgreSQL.
CREATE TABLE IF NOT EXISTS restaurants (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    cuisine TEXT NOT NULL,
    cuisine_key TEXT NOT NULL,
    address TEXT NOT NULL,
    open BIGINT NOT NULL,
    tags TEXT NOT NULL,
    search_text TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
-- Keyset pagination of ListRestaurants walks this order.
CREATE INDEX IF NOT EXISTS restaurants_listing ON restaurants (name, id);

-- The default lets the ALTER run on a table that already has rows; the
-- service always writes a real restaurant id.
ALTER TABLE items ADD COLUMN restaurant_id TEXT NOT NULL DEFAULT '';
-- One restaurant's menu, in the items' listing order.
CREATE INDEX IF NOT EXISTS items_by_restaurant ON items (restaurant_id, category_key, name, id);

-- Upgrade: items written before restaurants existed move to a kitchen made
-- for them, which ops can later import with its real address.
INSERT INTO restaurants (id, name, cuisine, cuisine_key, address, open, tags, search_text, created_at, updated_at)
SELECT 'house-kitchen', 'House Kitchen', 'various', 'various', '', 1, '[]',
       'house kitchen' || chr(10) || 'various' || chr(10),
       CAST(EXTRACT(EPOCH FROM now()) * 1000000 AS BIGINT),
       CAST(EXTRACT(EPOCH FROM now()) * 1000000 AS BIGINT)
WHERE EXISTS (SELECT 1 FROM items WHERE restaurant_id = '')
ON CONFLICT (id) DO NOTHING;
UPDATE items SET restaurant_id = 'house-kitchen' WHERE restaurant_id = '';
