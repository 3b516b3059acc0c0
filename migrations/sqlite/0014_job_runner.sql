-- Which worker runs a job: its progress and end are written only by that worker, so a replica
-- that lost the lead mid-job cannot overwrite the state of the run the new leader started.
ALTER TABLE jobs ADD COLUMN runner TEXT;
