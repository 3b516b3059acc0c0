-- Identity merges move and drop a person's mirror rows, and the console lists them, by person
-- alone: the primary key (mapping, person) cannot serve that.
CREATE INDEX mirror_person ON mirror (person);
