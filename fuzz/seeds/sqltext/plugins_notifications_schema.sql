-- The current schema of the `notifications` plugin: what its migration chain
-- (migrations/) produces, written out at once. The host checks that both agree.

-- Shared delivery targets that are not a person: a team mailbox, an on-call
-- phone, a webhook into the MES, a Teams channel.
CREATE TABLE notification_channels (
    id          INTEGER PRIMARY KEY,
    kind        TEXT    NOT NULL CHECK (kind IN ('email', 'sms', 'webhook', 'teams')),
    name        TEXT    NOT NULL UNIQUE COLLATE NOCASE CHECK (length(name) > 0),
    target      TEXT    NOT NULL,
    is_active   INTEGER NOT NULL DEFAULT 1 CHECK (is_active IN (0, 1)),
    created_at  TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),
    -- The target must fit the kind: an address, an E.164 number, an HTTPS URL.
    CHECK ((kind = 'email' AND target LIKE '%_@_%')
        OR (kind = 'sms' AND target GLOB '+[1-9]*' AND length(target) BETWEEN 8 AND 16
            AND substr(target, 2) NOT GLOB '*[^0-9]*')
        OR (kind IN ('webhook', 'teams') AND target LIKE 'https://_%'))
);

-- What to alert on: one event kind, optionally limited to one site (NULL = all
-- sites), with an event-specific threshold (days before a warranty or
-- maintenance date, toner percent, hours overdue or offline) and how long to
-- wait before repeating an alert for the same subject. owner_id (added in V3,
-- hence the last column) is the person who maintains the rule.
CREATE TABLE notification_rules (
    id                  INTEGER PRIMARY KEY,
    name                TEXT    NOT NULL UNIQUE COLLATE NOCASE CHECK (length(name) > 0),
    event               TEXT    NOT NULL
                        CHECK (event IN ('warranty_expiring', 'toner_low', 'device_overdue',
                                         'asset_offline', 'maintenance_due', 'firmware_outdated')),
    site_id             INTEGER REFERENCES sites (id) ON DELETE RESTRICT,
    threshold           INTEGER CHECK (threshold IS NULL OR threshold >= 0),
    repeat_after_hours  INTEGER NOT NULL DEFAULT 24 CHECK (repeat_after_hours > 0),
    is_active           INTEGER NOT NULL DEFAULT 1 CHECK (is_active IN (0, 1)),
    created_at          TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),
    updated_at          TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),
    owner_id            INTEGER REFERENCES people (id) ON DELETE SET NULL,
    CHECK (event <> 'toner_low' OR threshold IS NULL OR threshold <= 100)
);
CREATE INDEX notification_rules_site ON notification_rules (site_id);
CREATE INDEX notification_rules_owner ON notification_rules (owner_id);

-- Who receives a rule's alerts: a person (by their e-mail) or a channel,
-- exactly one of the two per row.
CREATE TABLE notification_subscriptions (
    id          INTEGER PRIMARY KEY,
    rule_id     INTEGER NOT NULL REFERENCES notification_rules (id) ON DELETE CASCADE,
    person_id   INTEGER REFERENCES people (id) ON DELETE CASCADE,
    channel_id  INTEGER REFERENCES notification_channels (id) ON DELETE CASCADE,
    created_at  TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),
    CHECK ((person_id IS NULL) <> (channel_id IS NULL))
);
-- One subscription per rule and recipient. A plain UNIQUE (rule_id, person_id,
-- channel_id) would never fire, since one of the two is always NULL and NULLs
-- are distinct; these partial indexes also serve the person/channel foreign keys.
CREATE UNIQUE INDEX notification_subscriptions_person ON notification_subscriptions (person_id, rule_id)
    WHERE person_id IS NOT NULL;
CREATE UNIQUE INDEX notification_subscriptions_channel ON notification_subscriptions (channel_id, rule_id)
    WHERE channel_id IS NOT NULL;
CREATE INDEX notification_subscriptions_rule ON notification_subscriptions (rule_id);

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
