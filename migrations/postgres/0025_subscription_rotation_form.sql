-- The console form that last rotated a subscription's signing secret: the same form sent again (a
-- refresh, a second click) shows that rotation's secret instead of rotating once more, which
-- would drop the secret the subscriber still checks with before its overlap ends.
ALTER TABLE subscriptions ADD COLUMN rotation_form_id TEXT;
