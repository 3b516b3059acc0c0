-- Salesforce Leads and Contacts a write found gone (deleted, or merged into another record).
-- Marketo's link to such a record stays until someone corrects it, so the worker, which finds a
-- person by that link first, skips links naming one and finds the person by e-mail instead.
CREATE TABLE gone_salesforce_people (
    id TEXT PRIMARY KEY,
    found_at BIGINT NOT NULL
);
