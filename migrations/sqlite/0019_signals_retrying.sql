-- Signals waiting to be tried again after a failure: the errors list's `retrying` rows, and
-- those the worker makes due again once the same person's change has landed through another
-- signal. A fresh signal (attempts 0) is not in this index, so receiving writes no more b-trees.
CREATE INDEX signals_retrying ON signals (next_attempt_at) WHERE state = 'pending' AND attempts > 0;
