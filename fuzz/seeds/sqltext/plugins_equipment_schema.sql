-- The current schema of the `equipment` plugin: what its migration chain
-- (migrations/) produces, written out at once. The host checks that both agree.
-- (V1 also seeds equipment_types; rows are not part of this file.)

-- Kinds of machine (CNC mill, lathe, PLC, robot...): a lookup table instead of
-- free text, so that reports group machines by kind without spelling variants.
CREATE TABLE equipment_types (
    id    INTEGER PRIMARY KEY,
    code  TEXT    NOT NULL UNIQUE CHECK (code GLOB '[a-z]*' AND code NOT GLOB '*[^a-z0-9_]*'),
    name  TEXT    NOT NULL CHECK (length(name) > 0)
);

-- One row per physical machine on the shop floor. The asset tag is the plant's
-- own label and is mandatory; the serial number is the vendor's and may be
-- unknown. The controller computer is the HMI or line PC that drives it.
CREATE TABLE equipment (
    id                      INTEGER PRIMARY KEY,
    asset_tag               TEXT    NOT NULL UNIQUE CHECK (length(asset_tag) > 0),
    serial_number           TEXT    CHECK (serial_number IS NULL OR length(serial_number) > 0),
    name                    TEXT    NOT NULL CHECK (length(name) > 0),
    type_id                 INTEGER NOT NULL REFERENCES equipment_types (id) ON DELETE RESTRICT,
    manufacturer_id         INTEGER REFERENCES manufacturers (id) ON DELETE RESTRICT,
    model                   TEXT,
    status_id               INTEGER NOT NULL REFERENCES asset_statuses (id) ON DELETE RESTRICT,
    location_id             INTEGER REFERENCES locations (id) ON DELETE SET NULL,
    controller_computer_id  INTEGER REFERENCES computers (id) ON DELETE SET NULL,
    commissioned_on         TEXT    CHECK (commissioned_on IS NULL OR commissioned_on GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]'),
    is_deleted              INTEGER NOT NULL DEFAULT 0 CHECK (is_deleted IN (0, 1)),
    created_at              TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),
    updated_at              TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
);
-- A serial number identifies one live machine per manufacturer; scrapped ones may repeat.
CREATE UNIQUE INDEX equipment_serial ON equipment (manufacturer_id, serial_number)
    WHERE serial_number IS NOT NULL AND is_deleted = 0;
CREATE INDEX equipment_type ON equipment (type_id);
CREATE INDEX equipment_manufacturer ON equipment (manufacturer_id);
CREATE INDEX equipment_status ON equipment (status_id);
CREATE INDEX equipment_location ON equipment (location_id);
CREATE INDEX equipment_controller ON equipment (controller_computer_id);

-- Catalog of firmware as the vendor publishes it (NC kernel, PLC runtime,
-- robot controller software): the version lives here, once, not on every machine.
CREATE TABLE firmware_releases (
    id               INTEGER PRIMARY KEY,
    manufacturer_id  INTEGER NOT NULL REFERENCES manufacturers (id) ON DELETE RESTRICT,
    name             TEXT    NOT NULL COLLATE NOCASE CHECK (length(name) > 0),
    version          TEXT    NOT NULL CHECK (length(version) > 0),
    released_on      TEXT    CHECK (released_on IS NULL OR released_on GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]'),
    notes            TEXT,
    created_at       TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),
    UNIQUE (manufacturer_id, name, version),
    -- Lets firmware_installs carry the release name under a foreign key.
    UNIQUE (id, name)
);

-- Which firmware release is (or was) installed on which machine: one row per
-- install, closed by removed_at when it is replaced, so the history is kept.
-- firmware_name repeats the release's name (kept equal by the composite
-- foreign key) so that at most one release of a given firmware can be current
-- on a machine.
CREATE TABLE firmware_installs (
    id                   INTEGER PRIMARY KEY,
    equipment_id         INTEGER NOT NULL REFERENCES equipment (id) ON DELETE CASCADE,
    firmware_release_id  INTEGER NOT NULL,
    firmware_name        TEXT    NOT NULL COLLATE NOCASE,
    installed_at         TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
                         CHECK (installed_at GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9]Z'),
    installed_by         INTEGER REFERENCES people (id) ON DELETE RESTRICT,
    removed_at           TEXT    CHECK (removed_at IS NULL OR removed_at GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9]Z'),
    CHECK (removed_at IS NULL OR removed_at >= installed_at),
    FOREIGN KEY (firmware_release_id, firmware_name)
        REFERENCES firmware_releases (id, name) ON UPDATE CASCADE ON DELETE RESTRICT
);
CREATE UNIQUE INDEX firmware_installs_current ON firmware_installs (equipment_id, firmware_name)
    WHERE removed_at IS NULL;
CREATE INDEX firmware_installs_equipment ON firmware_installs (equipment_id, installed_at);
CREATE INDEX firmware_installs_release ON firmware_installs (firmware_release_id, firmware_name);
CREATE INDEX firmware_installs_installed_by ON firmware_installs (installed_by);

-- Maintenance log: preventive service, repairs, calibrations and inspections,
-- with the downtime they caused. These are quality records (calibration
-- evidence), so a machine that has any cannot be hard-deleted: retire it with
-- is_deleted instead.
CREATE TABLE maintenance_events (
    id                INTEGER PRIMARY KEY,
    equipment_id      INTEGER NOT NULL REFERENCES equipment (id) ON DELETE RESTRICT,
    kind              TEXT    NOT NULL CHECK (kind IN ('preventive', 'corrective', 'calibration', 'inspection')),
    performed_at      TEXT    NOT NULL
                      CHECK (performed_at GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9]Z'),
    performed_by      INTEGER REFERENCES people (id) ON DELETE RESTRICT,
    downtime_minutes  INTEGER NOT NULL DEFAULT 0 CHECK (downtime_minutes >= 0),
    notes             TEXT,
    created_at        TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
);
CREATE INDEX maintenance_events_equipment ON maintenance_events (equipment_id, performed_at);
CREATE INDEX maintenance_events_performed_by ON maintenance_events (performed_by);
