-- The core schema: what every plugin shares. Plugins reference these tables
-- by foreign key and may read them; only the host writes their structure.

-- A plant or campus.
CREATE TABLE sites (
    id          INTEGER PRIMARY KEY,
    code        TEXT    NOT NULL UNIQUE CHECK (length(code) BETWEEN 1 AND 16),
    name        TEXT    NOT NULL CHECK (length(name) > 0),
    address     TEXT,
    timezone    TEXT    NOT NULL DEFAULT 'UTC',
    created_at  TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),
    updated_at  TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
);

-- A place inside a site, as a tree: building > hall > line > cell.
CREATE TABLE locations (
    id          INTEGER PRIMARY KEY,
    site_id     INTEGER NOT NULL REFERENCES sites (id) ON DELETE RESTRICT,
    parent_id   INTEGER REFERENCES locations (id) ON DELETE RESTRICT,
    name        TEXT    NOT NULL CHECK (length(name) > 0),
    kind        TEXT    NOT NULL DEFAULT 'area'
                CHECK (kind IN ('building', 'hall', 'line', 'cell', 'room', 'rack', 'storage', 'area')),
    created_at  TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),
    updated_at  TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
);
-- One name per parent; a NULL parent (a top-level place) counts as one parent.
CREATE UNIQUE INDEX locations_unique_name ON locations (site_id, ifnull(parent_id, 0), name);
CREATE INDEX locations_parent ON locations (parent_id);

-- Vendors, shared by every kind of asset.
CREATE TABLE manufacturers (
    id          INTEGER PRIMARY KEY,
    name        TEXT    NOT NULL UNIQUE COLLATE NOCASE CHECK (length(name) > 0),
    website     TEXT,
    created_at  TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
);

-- Lifecycle states (in use, spare, in repair, retired) instead of free text.
CREATE TABLE asset_statuses (
    id             INTEGER PRIMARY KEY,
    code           TEXT    NOT NULL UNIQUE CHECK (code GLOB '[a-z]*'),
    name           TEXT    NOT NULL,
    is_deployable  INTEGER NOT NULL DEFAULT 1 CHECK (is_deployable IN (0, 1)),
    is_retired     INTEGER NOT NULL DEFAULT 0 CHECK (is_retired IN (0, 1))
);
INSERT INTO asset_statuses (code, name, is_deployable, is_retired) VALUES
    ('in_use',  'In use',    1, 0),
    ('spare',   'Spare',     1, 0),
    ('repair',  'In repair', 0, 0),
    ('retired', 'Retired',   0, 1);

-- People on the shop floor: who holds a device, who gets an alert.
CREATE TABLE people (
    id            INTEGER PRIMARY KEY,
    badge_number  TEXT    NOT NULL UNIQUE,
    display_name  TEXT    NOT NULL CHECK (length(display_name) > 0),
    email         TEXT    UNIQUE COLLATE NOCASE CHECK (email IS NULL OR email LIKE '%_@_%'),
    site_id       INTEGER REFERENCES sites (id) ON DELETE SET NULL,
    is_active     INTEGER NOT NULL DEFAULT 1 CHECK (is_active IN (0, 1)),
    created_at    TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
);
CREATE INDEX people_site ON people (site_id);
