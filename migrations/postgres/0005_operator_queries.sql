-- Indexes for the operator console and admin queries: a person's outcomes and trigger events,
-- outcomes by signal (naming an outcome recorded without its person), and recent changes.
CREATE INDEX outcomes_signal ON outcomes (signal_id);
CREATE INDEX outcomes_person ON outcomes (person, id);
CREATE INDEX outcomes_recorded ON outcomes (recorded_at);
CREATE INDEX trigger_events_person ON trigger_events (person, id);
CREATE INDEX trigger_events_occurred ON trigger_events (occurred_at);
