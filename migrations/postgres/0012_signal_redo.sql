-- A signal revived (the same body again) while a worker held it: the lease is kept and this is
-- set, so the worker's end makes it due again instead of losing its round's records.
ALTER TABLE signals ADD COLUMN redo BIGINT NOT NULL DEFAULT 0;
