-- Why a paused subscription is paused (a 410 Gone answer, or an operator): the console and
-- the API say it beside the pause. Null while it is not paused.
ALTER TABLE subscriptions ADD COLUMN pause_reason TEXT;
