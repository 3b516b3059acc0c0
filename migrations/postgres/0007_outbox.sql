-- Subscriptions of other systems to events, and the outbox of deliveries: one row per event and
-- destination, written in the same transaction as the event, delivered at least once.
CREATE TABLE subscriptions (
    id           BIGSERIAL PRIMARY KEY,
    url          TEXT    NOT NULL,
    -- The event types it wants, as ",a,b," so one LIKE finds the subscribers of a type.
    event_types  TEXT    NOT NULL,
    secret       TEXT    NOT NULL,
    paused       BIGINT  NOT NULL DEFAULT 0,
    created_at   BIGINT  NOT NULL,
    updated_at   BIGINT  NOT NULL
);

CREATE TABLE outbox (
    id               BIGSERIAL PRIMARY KEY,
    -- 'subscription' (with subscription_id) or 'marketo_activity'.
    destination      TEXT    NOT NULL,
    subscription_id  BIGINT,
    event_type       TEXT    NOT NULL,
    -- Deliveries to one destination are made in order per person.
    person           TEXT    NOT NULL,
    payload          TEXT    NOT NULL,
    state            TEXT    NOT NULL DEFAULT 'pending',
    attempts         BIGINT  NOT NULL DEFAULT 0,
    next_attempt_at  BIGINT  NOT NULL,
    lease_expires_at BIGINT,
    last_error       TEXT,
    created_at       BIGINT  NOT NULL,
    updated_at       BIGINT  NOT NULL
);
CREATE INDEX outbox_due ON outbox (state, next_attempt_at);
CREATE INDEX outbox_queue ON outbox (destination, subscription_id, person, state, id);
