-- A subscriber that answered 429 or 503 with Retry-After: none of its deliveries is claimed
-- before this time (epoch ms); NULL when it asked for nothing.
ALTER TABLE subscriptions ADD COLUMN throttled_until BIGINT;
