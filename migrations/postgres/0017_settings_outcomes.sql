-- A mapping's campaign settings outcomes, newest first: the settings pass reads the last one
-- of every mapping, and the overview looks for a later applied one beside each failure.
CREATE INDEX outcomes_mapping_action ON outcomes (mapping, action, id);
