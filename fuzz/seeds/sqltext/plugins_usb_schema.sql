-- The current schema of the `usb` plugin: what its migration chain
-- (migrations/) produces, written out at once. The host checks that both agree.

-- USB vendor/product ID lookup (the lsusb / usb.ids pair), so that devices and
-- allowlist entries name a product by its real IDs instead of free text.
CREATE TABLE usb_vendors (
    id               INTEGER PRIMARY KEY,
    vendor_id        TEXT    NOT NULL CHECK (vendor_id GLOB '[0-9a-f][0-9a-f][0-9a-f][0-9a-f]'),
    product_id       TEXT    NOT NULL CHECK (product_id GLOB '[0-9a-f][0-9a-f][0-9a-f][0-9a-f]'),
    name             TEXT    NOT NULL CHECK (length(name) > 0),
    manufacturer_id  INTEGER REFERENCES manufacturers (id) ON DELETE SET NULL,
    UNIQUE (vendor_id, product_id)
);
CREATE INDEX usb_vendors_manufacturer ON usb_vendors (manufacturer_id);

-- One row per physical USB device we track: removable media, licence dongles,
-- security keys, scanners, serial adapters, cameras.
CREATE TABLE usb_devices (
    id                INTEGER PRIMARY KEY,
    asset_tag         TEXT    NOT NULL UNIQUE CHECK (length(asset_tag) > 0),
    serial_number     TEXT,
    usb_vendor_id     INTEGER NOT NULL REFERENCES usb_vendors (id) ON DELETE RESTRICT,
    kind              TEXT    NOT NULL
                      CHECK (kind IN ('flash_drive', 'external_disk', 'security_key', 'license_dongle',
                                      'barcode_scanner', 'serial_adapter', 'camera', 'other')),
    is_encrypted      INTEGER NOT NULL DEFAULT 0 CHECK (is_encrypted IN (0, 1)),
    capacity_gb       INTEGER CHECK (capacity_gb IS NULL OR (capacity_gb > 0 AND kind IN ('flash_drive', 'external_disk'))),
    status_id         INTEGER NOT NULL REFERENCES asset_statuses (id) ON DELETE RESTRICT,
    home_location_id  INTEGER REFERENCES locations (id) ON DELETE SET NULL,
    is_deleted        INTEGER NOT NULL DEFAULT 0 CHECK (is_deleted IN (0, 1)),
    created_at        TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),
    updated_at        TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
);
-- A serial number identifies one live device per vendor/product; retired ones may repeat.
CREATE UNIQUE INDEX usb_devices_serial ON usb_devices (usb_vendor_id, serial_number)
    WHERE serial_number IS NOT NULL AND is_deleted = 0;
CREATE INDEX usb_devices_vendor ON usb_devices (usb_vendor_id);
CREATE INDEX usb_devices_status ON usb_devices (status_id);
CREATE INDEX usb_devices_home_location ON usb_devices (home_location_id);

-- Removable-media check-out ledger: who took which device, for which computer,
-- when it is due back and when it came back (a real date range, not a request flag);
-- issued_by is who handed it out (added in V3, hence the last column).
CREATE TABLE usb_checkouts (
    id              INTEGER PRIMARY KEY,
    device_id       INTEGER NOT NULL REFERENCES usb_devices (id) ON DELETE RESTRICT,
    person_id       INTEGER NOT NULL REFERENCES people (id) ON DELETE RESTRICT,
    computer_id     INTEGER REFERENCES computers (id) ON DELETE SET NULL,
    checked_out_at  TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),
    due_at          TEXT    NOT NULL,
    returned_at     TEXT,
    note            TEXT,
    issued_by       INTEGER REFERENCES people (id) ON DELETE RESTRICT,
    CHECK (due_at >= checked_out_at),
    CHECK (returned_at IS NULL OR returned_at >= checked_out_at)
);
-- A device is out with at most one person at a time.
CREATE UNIQUE INDEX usb_checkouts_open ON usb_checkouts (device_id) WHERE returned_at IS NULL;
-- The history of one device, newest last.
CREATE INDEX usb_checkouts_device ON usb_checkouts (device_id, checked_out_at);
CREATE INDEX usb_checkouts_person ON usb_checkouts (person_id);
CREATE INDEX usb_checkouts_computer ON usb_checkouts (computer_id);
CREATE INDEX usb_checkouts_issued_by ON usb_checkouts (issued_by);
-- Overdue media: open check-outs by due date.
CREATE INDEX usb_checkouts_overdue ON usb_checkouts (due_at) WHERE returned_at IS NULL;

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
