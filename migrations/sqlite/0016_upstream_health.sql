-- What the replica that calls a side last saw of it (up, authentication failures, last error,
-- the daily usage it reports), so a replica that makes no calls (a follower) shows the same
-- health in its admin status instead of "unknown".
CREATE TABLE upstream_health (
    system TEXT PRIMARY KEY,
    health TEXT NOT NULL,
    written_at BIGINT NOT NULL
);
