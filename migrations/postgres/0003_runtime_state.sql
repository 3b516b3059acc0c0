-- Run-time state every replica shares: the admin switches, the held mappings' problems, and
-- jobs an admin queued for the leader (a reconciliation).
CREATE TABLE switches (
    name        TEXT    PRIMARY KEY,
    enabled     BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
);

CREATE TABLE mapping_problems (
    mapping     TEXT    PRIMARY KEY,
    problems    TEXT    NOT NULL,
    checked_at  BIGINT NOT NULL
);

CREATE TABLE jobs (
    id           BIGSERIAL PRIMARY KEY,
    kind         TEXT    NOT NULL,
    state        TEXT    NOT NULL DEFAULT 'queued',
    params       TEXT    NOT NULL DEFAULT '{}',
    progress     TEXT,
    result       TEXT,
    error        TEXT,
    requested_at BIGINT NOT NULL,
    started_at   BIGINT,
    finished_at  BIGINT
);
CREATE INDEX jobs_queued ON jobs (state, id);
