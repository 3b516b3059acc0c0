-- A rotated signing secret keeps signing beside the new one until `previous_secret_until`, so a
-- subscriber can switch to the new secret without refusing a delivery in between.
ALTER TABLE subscriptions ADD COLUMN previous_secret TEXT;
ALTER TABLE subscriptions ADD COLUMN previous_secret_until BIGINT;
