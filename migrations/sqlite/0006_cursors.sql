-- Where each change feed resumes (the Marketo activity paging token, the Salesforce
-- SystemModstamp and deleted-records positions), so a restart or another replica taking over
-- continues from there instead of looking back a fixed window.
CREATE TABLE cursors (
    name        TEXT    PRIMARY KEY,
    position    TEXT    NOT NULL,
    updated_at  INTEGER NOT NULL
);
