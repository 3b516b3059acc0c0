-- A signal may now end as 'rejected': an input refused at the edge (one notification of an
-- outbound message that could not be understood) whose delivery was still acknowledged. Its
-- payload holds the raw input, last_error the reason; nothing claims or replays it. Operators
-- list dead and rejected signals together, by id.
CREATE INDEX signals_ended ON signals (state, id);
