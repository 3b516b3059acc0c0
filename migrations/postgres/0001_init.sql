-- Inbox of signals: one row per distinct delivery, the durable queue the worker claims from.
CREATE TABLE signals (
    id              BIGSERIAL PRIMARY KEY,
    dedup_key       TEXT    NOT NULL UNIQUE,
    source          TEXT    NOT NULL,
    kind            TEXT    NOT NULL,
    payload         TEXT    NOT NULL,
    state           TEXT    NOT NULL DEFAULT 'pending',
    attempts        BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    lease_owner     TEXT,
    lease_expires_at BIGINT,
    last_error      TEXT,
    received_at     BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL
);
CREATE INDEX signals_due ON signals (state, next_attempt_at);
CREATE INDEX signals_lease ON signals (state, lease_expires_at);

-- Last state seen and written on each side, per (mapping, person).
CREATE TABLE mirror (
    mapping          TEXT    NOT NULL,
    person           TEXT    NOT NULL,
    sf_member_id     TEXT,
    sf_person_id     TEXT,
    sf_status        TEXT,
    sf_modstamp      BIGINT,
    mkto_lead_id     BIGINT,
    mkto_status      TEXT,
    mkto_updated_at  BIGINT,
    synced_at        BIGINT NOT NULL,
    PRIMARY KEY (mapping, person)
);
CREATE INDEX mirror_sf_member ON mirror (sf_member_id);
CREATE INDEX mirror_mkto_lead ON mirror (mapping, mkto_lead_id);

-- Who is who across both systems.
CREATE TABLE identities (
    id             BIGSERIAL PRIMARY KEY,
    email          TEXT,
    sf_lead_id     TEXT UNIQUE,
    sf_contact_id  TEXT UNIQUE,
    mkto_lead_id   BIGINT UNIQUE,
    updated_at     BIGINT NOT NULL
);
CREATE INDEX identities_email ON identities (email);

-- Emitted trigger events (Added to / Removed from / Status is Changed in campaign or program).
CREATE TABLE trigger_events (
    id           BIGSERIAL PRIMARY KEY,
    kind         TEXT    NOT NULL,
    mapping      TEXT,
    person       TEXT    NOT NULL,
    campaign_id  TEXT,
    program_id   BIGINT,
    old_status   TEXT,
    new_status   TEXT,
    actor        TEXT    NOT NULL,
    occurred_at  BIGINT NOT NULL
);

-- What became of every planned write.
CREATE TABLE outcomes (
    id          BIGSERIAL PRIMARY KEY,
    signal_id   BIGINT,
    mapping     TEXT,
    person      TEXT,
    connector   TEXT    NOT NULL,
    action      TEXT    NOT NULL,
    result      TEXT    NOT NULL,
    reason      TEXT,
    recorded_at BIGINT NOT NULL
);
CREATE INDEX outcomes_result ON outcomes (result, id);
