-- How each kitchen takes orders: at once (auto_accept, the default, which
-- every restaurant had before), or by hand within acceptance_timeout_s
-- seconds before order-service rejects the order with reason "timeout".
ALTER TABLE restaurants ADD COLUMN auto_accept INTEGER NOT NULL DEFAULT 1;
ALTER TABLE restaurants ADD COLUMN acceptance_timeout_s INTEGER NOT NULL DEFAULT 300;
