-- Subscriptions of other systems to events, and the outbox of deliveries: one row per event and
-- destination, written in the same transaction as the event, delivered at least once.
CREATE TABLE subscriptions (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    url          TEXT    NOT NULL,
    -- The event types it wants, as ",a,b," so one LIKE finds the subscribers of a type.
    event_types  TEXT    NOT NULL,
    secret       TEXT    NOT NULL,
    paused       INTEGER NOT NULL DEFAULT 0,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL
);

CREATE TABLE outbox (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    -- 'subscription' (with subscription_id) or 'marketo_activity'.
    destination      TEXT    NOT NULL,
    subscription_id  INTEGER,
    event_type       TEXT    NOT NULL,
    -- Deliveries to one destination are made in order per person.
    person           TEXT    NOT NULL,
    payload          TEXT    NOT NULL,
    state            TEXT    NOT NULL DEFAULT 'pending',
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  INTEGER NOT NULL,
    lease_expires_at INTEGER,
    last_error       TEXT,
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL
);
CREATE INDEX outbox_due ON outbox (state, next_attempt_at);
CREATE INDEX outbox_queue ON outbox (destination, subscription_id, person, state, id);
