-- The menu. `category_key` and `search_text` are lower-cased by the service
-- (Unicode-aware, which SQLite's lower() is not), so filters compare plain
-- strings the same way on SQLite and PostgreSQL.
CREATE TABLE IF NOT EXISTS items (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    description TEXT NOT NULL,
    category TEXT NOT NULL,
    category_key TEXT NOT NULL,
    price_cents BIGINT NOT NULL,
    currency TEXT NOT NULL,
    available INTEGER NOT NULL,
    prep_minutes BIGINT NOT NULL,
    tags TEXT NOT NULL,
    search_text TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
-- Keyset pagination walks this order.
CREATE INDEX IF NOT EXISTS items_listing ON items (category_key, name, id);
