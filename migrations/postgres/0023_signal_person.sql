-- The person a signal was found to be about when it failed or had to wait: a deletion names
-- only its campaign member, which the mirror forgets once the removal lands another way; the
-- errors list, the timeline and the deletion's last outcome still name the person.
ALTER TABLE signals ADD COLUMN person TEXT;
