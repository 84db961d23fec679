-- Rebuild `computers`: ALTER TABLE cannot change a constraint, so this is
-- SQLite's 12-step table rebuild. Two constraints change:
--   * deleting a computer model that computers still use is now refused
--     (ON DELETE RESTRICT) instead of silently unlinking them;
--   * updated_at may no longer precede created_at.
-- The host runs every chain with foreign keys off inside one transaction and
-- runs PRAGMA foreign_key_check before commit, so the tables that reference
-- computers (disks, interfaces, and other plugins' tables) keep their rows
-- and their references, and any violation rolls the whole run back.
CREATE TABLE computers_rebuilt (
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

INSERT INTO computers_rebuilt (
    id, hostname, asset_tag, serial_number, model_id, status_id, location_id,
    os_name, os_version, role, is_deleted, created_at, updated_at, last_boot_at
)
SELECT
    id, hostname, asset_tag, serial_number, model_id, status_id, location_id,
    os_name, os_version, role, is_deleted, created_at, updated_at, last_boot_at
FROM computers;

DROP TABLE computers;
ALTER TABLE computers_rebuilt RENAME TO computers;

CREATE UNIQUE INDEX computers_serial ON computers (model_id, serial_number)
    WHERE serial_number IS NOT NULL AND is_deleted = 0;
CREATE INDEX computers_location ON computers (location_id);
CREATE INDEX computers_status ON computers (status_id);
