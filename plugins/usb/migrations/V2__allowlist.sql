-- Device control: which USB vendor/product IDs may be plugged into which
-- computer, who allowed it, and until when (NULL = no expiry).
CREATE TABLE usb_allowlist (
    id             INTEGER PRIMARY KEY,
    computer_id    INTEGER NOT NULL REFERENCES computers (id) ON DELETE CASCADE,
    usb_vendor_id  INTEGER NOT NULL REFERENCES usb_vendors (id) ON DELETE RESTRICT,
    allowed_by     INTEGER NOT NULL REFERENCES people (id) ON DELETE RESTRICT,
    allowed_at     TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),
    expires_at     TEXT,
    reason         TEXT,
    CHECK (expires_at IS NULL OR expires_at > allowed_at),
    UNIQUE (computer_id, usb_vendor_id)
);
CREATE INDEX usb_allowlist_vendor ON usb_allowlist (usb_vendor_id);
CREATE INDEX usb_allowlist_allowed_by ON usb_allowlist (allowed_by);
