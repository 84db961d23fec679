-- The current schema of the `computers` plugin: what its migration chain
-- (migrations/) produces, written out at once. The host checks that both agree.

CREATE TABLE computer_models (
    id               INTEGER PRIMARY KEY,
    manufacturer_id  INTEGER NOT NULL REFERENCES manufacturers (id) ON DELETE RESTRICT,
    name             TEXT    NOT NULL CHECK (length(name) > 0),
    form_factor      TEXT    NOT NULL DEFAULT 'desktop'
                     CHECK (form_factor IN ('desktop', 'laptop', 'panel_pc', 'industrial_pc', 'server', 'thin_client')),
    UNIQUE (manufacturer_id, name)
);

CREATE TABLE computers (
    id             INTEGER PRIMARY KEY,
    hostname       TEXT    NOT NULL UNIQUE COLLATE NOCASE
                   CHECK (length(hostname) BETWEEN 1 AND 63 AND hostname NOT GLOB '*[^A-Za-z0-9-]*'),
    asset_tag      TEXT    UNIQUE,
    serial_number  TEXT,
    model_id       INTEGER REFERENCES computer_models (id) ON DELETE RESTRICT,
    status_id      INTEGER NOT NULL REFERENCES asset_statuses (id) ON DELETE RESTRICT,
    location_id    INTEGER REFERENCES locations (id) ON DELETE SET NULL,
    os_name        TEXT,
    os_version     TEXT,
    role           TEXT    NOT NULL DEFAULT 'workstation'
                   CHECK (role IN ('workstation', 'hmi', 'line_pc', 'engineering', 'server', 'kiosk')),
    is_deleted     INTEGER NOT NULL DEFAULT 0 CHECK (is_deleted IN (0, 1)),
    created_at     TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),
    updated_at     TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),
    last_boot_at   TEXT,
    CHECK (updated_at >= created_at)
);
CREATE UNIQUE INDEX computers_serial ON computers (model_id, serial_number)
    WHERE serial_number IS NOT NULL AND is_deleted = 0;
CREATE INDEX computers_location ON computers (location_id);
CREATE INDEX computers_status ON computers (status_id);

CREATE TABLE computer_disks (
    id             INTEGER PRIMARY KEY,
    computer_id    INTEGER NOT NULL REFERENCES computers (id) ON DELETE CASCADE,
    device         TEXT    NOT NULL,
    serial_number  TEXT,
    capacity_gb    INTEGER NOT NULL CHECK (capacity_gb > 0),
    UNIQUE (computer_id, device)
);

CREATE TABLE computer_interfaces (
    id           INTEGER PRIMARY KEY,
    computer_id  INTEGER NOT NULL REFERENCES computers (id) ON DELETE CASCADE,
    name         TEXT    NOT NULL CHECK (length(name) > 0),
    mac_address  TEXT    UNIQUE COLLATE NOCASE
                 CHECK (mac_address IS NULL OR mac_address GLOB '[0-9a-fA-F][0-9a-fA-F]:[0-9a-fA-F][0-9a-fA-F]:[0-9a-fA-F][0-9a-fA-F]:[0-9a-fA-F][0-9a-fA-F]:[0-9a-fA-F][0-9a-fA-F]:[0-9a-fA-F][0-9a-fA-F]'),
    UNIQUE (computer_id, name)
);
