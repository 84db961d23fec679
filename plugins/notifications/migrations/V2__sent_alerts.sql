-- The dedupe ledger: which rule alerted about which subject ('printer:42',
-- 'usb_checkout:7') and when, so the next run can honour repeat_after_hours.
-- Append-only: rows are never deleted and what was sent is never rewritten;
-- only the acknowledgement is filled in later.
CREATE TABLE sent_alerts (
    id               INTEGER PRIMARY KEY,
    rule_id          INTEGER NOT NULL REFERENCES notification_rules (id) ON DELETE RESTRICT,
    subject_key      TEXT    NOT NULL CHECK (subject_key GLOB '[a-z]*:?*'),
    sent_at          TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),
    detail           TEXT,
    acknowledged_at  TEXT,
    acknowledged_by  INTEGER REFERENCES people (id) ON DELETE RESTRICT,
    CHECK (acknowledged_at IS NULL OR acknowledged_at >= sent_at),
    CHECK (acknowledged_by IS NULL OR acknowledged_at IS NOT NULL),
    UNIQUE (rule_id, subject_key, sent_at)
);
-- The UNIQUE above already serves "last alert for this rule and subject"
-- (rule_id, subject_key, sent_at), so no separate (rule_id, subject_key) index.
CREATE INDEX sent_alerts_unacknowledged ON sent_alerts (sent_at) WHERE acknowledged_at IS NULL;
CREATE INDEX sent_alerts_acknowledged_by ON sent_alerts (acknowledged_by);

CREATE TRIGGER sent_alerts_no_delete BEFORE DELETE ON sent_alerts
BEGIN
    SELECT RAISE(ABORT, 'sent_alerts is append-only');
END;

CREATE TRIGGER sent_alerts_no_rewrite BEFORE UPDATE OF rule_id, subject_key, sent_at, detail ON sent_alerts
BEGIN
    SELECT RAISE(ABORT, 'sent_alerts is append-only: only the acknowledgement may change');
END;
