-- Who maintains a rule (tunes its threshold, answers "why did I get this?").
-- Rules created before this had no owner, so it stays nullable.
ALTER TABLE notification_rules ADD COLUMN owner_id bigint REFERENCES people (id) ON DELETE SET NULL;
CREATE INDEX notification_rules_owner ON notification_rules (owner_id);
