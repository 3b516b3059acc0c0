-- Each side's daily call count and pause, shared by every replica and kept across restarts: a
-- restart no longer grants a fresh daily budget nor forgets a pause. `used` sums what every
-- replica reported for the quota day ending at `day_ends_ms`.
CREATE TABLE quota_days (
    system TEXT PRIMARY KEY,
    day_ends_ms BIGINT NOT NULL,
    used BIGINT NOT NULL,
    paused_until_ms BIGINT NOT NULL DEFAULT 0,
    reason TEXT
);
