-- Run-time state every replica shares: the admin switches, the held mappings' problems, and
-- jobs an admin queued for the leader (a reconciliation).
CREATE TABLE switches (
    name        TEXT    PRIMARY KEY,
    enabled     INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);

CREATE TABLE mapping_problems (
    mapping     TEXT    PRIMARY KEY,
    problems    TEXT    NOT NULL,
    checked_at  INTEGER NOT NULL
);

CREATE TABLE jobs (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    kind         TEXT    NOT NULL,
    state        TEXT    NOT NULL DEFAULT 'queued',
    params       TEXT    NOT NULL DEFAULT '{}',
    progress     TEXT,
    result       TEXT,
    error        TEXT,
    requested_at INTEGER NOT NULL,
    started_at   INTEGER,
    finished_at  INTEGER
);
CREATE INDEX jobs_queued ON jobs (state, id);
