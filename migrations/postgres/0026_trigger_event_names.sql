-- Who a trigger event was about, as the service knew them when it was recorded (the e-mail and
-- each system's ids, as its deliveries carry them): the feed names the person as subscribers were
-- told, not by ids the person gained later (a Contact created since). `named` is 0 on events
-- recorded before these columns, which the feed still names from the identity table.
ALTER TABLE trigger_events ADD COLUMN named INTEGER NOT NULL DEFAULT 0;
ALTER TABLE trigger_events ADD COLUMN email TEXT;
ALTER TABLE trigger_events ADD COLUMN mkto_lead_id BIGINT;
ALTER TABLE trigger_events ADD COLUMN sf_lead_id TEXT;
ALTER TABLE trigger_events ADD COLUMN sf_contact_id TEXT;
