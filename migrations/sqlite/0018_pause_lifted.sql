-- A pause an admin lifted (POST /admin/upstreams/{system}/resume) stays lifted on every replica:
-- `paused_at_ms` is when the pause in force was met, `lifted_at_ms` when one was last lifted; a
-- replica's report of a pause met before the lift no longer brings it back.
ALTER TABLE quota_days ADD COLUMN paused_at_ms BIGINT NOT NULL DEFAULT 0;
ALTER TABLE quota_days ADD COLUMN lifted_at_ms BIGINT NOT NULL DEFAULT 0;
