-- Marketo bulk extract jobs a process created and is still waiting for, with when it last
-- showed it was alive. A job whose waiter stopped showing (the process was killed) is
-- cancelled by the next extract, instead of running on in Marketo, where it would hold one of
-- the instance's places and spend its daily export allowance.
CREATE TABLE extract_jobs (
    export_id   TEXT    PRIMARY KEY,
    program_id  INTEGER NOT NULL,
    owner       TEXT    NOT NULL,
    created_at  INTEGER NOT NULL,
    touched_at  INTEGER NOT NULL
);
