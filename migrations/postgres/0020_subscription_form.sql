-- The console's create form carries an id of its own: a form sent again (a refresh of the page
-- that answered it, a second click) finds the subscription it created instead of a duplicate.
ALTER TABLE subscriptions ADD COLUMN form_id TEXT;
CREATE UNIQUE INDEX subscriptions_form_id ON subscriptions (form_id) WHERE form_id IS NOT NULL;
