-- Receiving a signal inserts a 'pending' row: it need not touch the indexes that only serve
-- leased and ended signals. Each becomes partial, holding just the rows its queries ask for
-- (the claim's expired leases; the dead letters and rejected inputs listed by id), so an insert
-- writes three b-trees (the table, the dedup key, the due index) instead of five.
DROP INDEX signals_lease;
CREATE INDEX signals_lease ON signals (lease_expires_at) WHERE state = 'leased';
DROP INDEX signals_ended;
CREATE INDEX signals_ended ON signals (id) WHERE state IN ('dead', 'rejected');
