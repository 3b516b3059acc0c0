-- Console sessions ended by signing out, kept until they would have expired: the cookie of a
-- signed-out session (copied, or still in another tab) is refused on every replica.
CREATE TABLE console_signouts (
    session_id  TEXT    PRIMARY KEY,
    expires_at  INTEGER  NOT NULL
);
