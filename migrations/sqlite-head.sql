-- The core schema at the head of migrations/sqlite/ (V6), in one piece: the
-- tables, indexes and seed rows the chain leaves. Scratch databases for the
-- checks start from it, which is cheaper than replaying the chain (V5 renames
-- tables, and each rename re-reads the schema). Never applied to an
-- operator's database. A test (engine::sqlite::scratch) checks that it builds
-- exactly what the chain builds: when a core migration is added, update this
-- file to the new head (`sqlite3 db .dump` of a database the chain built).

CREATE TABLE asset_statuses (
    id             INTEGER PRIMARY KEY,
    code           TEXT    NOT NULL UNIQUE CHECK (code GLOB '[a-z]*'),
    name           TEXT    NOT NULL,
    is_deployable  INTEGER NOT NULL DEFAULT 1 CHECK (is_deployable IN (0, 1)),
    is_retired     INTEGER NOT NULL DEFAULT 0 CHECK (is_retired IN (0, 1))
);
INSERT INTO "asset_statuses" VALUES(1,'in_use','In use',1,0);
INSERT INTO "asset_statuses" VALUES(2,'spare','Spare',1,0);
INSERT INTO "asset_statuses" VALUES(3,'repair','In repair',0,0);
INSERT INTO "asset_statuses" VALUES(4,'retired','Retired',0,1);
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
CREATE TABLE manufacturers (
    id          INTEGER PRIMARY KEY,
    name        TEXT    NOT NULL UNIQUE COLLATE NOCASE CHECK (length(name) > 0),
    website     TEXT,
    created_at  TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
);
CREATE TABLE people (
    id            INTEGER PRIMARY KEY,
    badge_number  TEXT    NOT NULL UNIQUE,
    display_name  TEXT    NOT NULL CHECK (length(display_name) > 0),
    email         TEXT    UNIQUE COLLATE NOCASE CHECK (email IS NULL OR email LIKE '%_@_%'),
    site_id       INTEGER REFERENCES sites (id) ON DELETE SET NULL,
    is_active     INTEGER NOT NULL DEFAULT 1 CHECK (is_active IN (0, 1)),
    created_at    TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
);
CREATE TABLE "shopdb_core_audit" (
    id            INTEGER PRIMARY KEY,
    at            TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    os_user       TEXT    NOT NULL,
    command       TEXT    NOT NULL,
    plugin        TEXT    NOT NULL,
    from_version  INTEGER,
    to_version    INTEGER,
    file_sha256   TEXT    CHECK (file_sha256 IS NULL OR length(file_sha256) = 64),
    outcome       TEXT    NOT NULL CHECK (outcome IN ('applied', 'recorded', 'refused', 'failed', 'uninstalled')),
    reason        TEXT
);
CREATE TABLE "shopdb_core_marks" (
    id           INTEGER PRIMARY KEY,
    plugin       TEXT    NOT NULL,
    version      INTEGER NOT NULL CHECK (version >= 1),
    how          TEXT    NOT NULL CHECK (how IN ('bootstrapped', 'adopted', 'stamped')),
    recorded_at  TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
);
CREATE TABLE shopdb_core_owners (
    name         TEXT NOT NULL PRIMARY KEY,
    kind         TEXT NOT NULL CHECK (kind IN ('table', 'view', 'index', 'trigger')),
    plugin       TEXT NOT NULL CHECK (plugin GLOB '[a-z]*'),
    recorded_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
);
CREATE TABLE "shopdb_core_plugins" (
    name          TEXT NOT NULL PRIMARY KEY CHECK (name GLOB '[a-z]*'),
    version       TEXT NOT NULL,
    depends_on    TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(depends_on)),
    installed_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),
    updated_at    TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
, checked_digest TEXT
    CHECK (checked_digest IS NULL OR length(checked_digest) = 64));
CREATE TABLE sites (
    id          INTEGER PRIMARY KEY,
    code        TEXT    NOT NULL UNIQUE CHECK (length(code) BETWEEN 1 AND 16),
    name        TEXT    NOT NULL CHECK (length(name) > 0),
    address     TEXT,
    timezone    TEXT    NOT NULL DEFAULT 'UTC',
    created_at  TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),
    updated_at  TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
);
CREATE UNIQUE INDEX locations_unique_name ON locations (site_id, ifnull(parent_id, 0), name);
CREATE INDEX locations_parent ON locations (parent_id);
CREATE INDEX people_site ON people (site_id);
CREATE INDEX shopdb_core_marks_plugin ON shopdb_core_marks (plugin);
CREATE INDEX shopdb_core_audit_plugin ON shopdb_core_audit (plugin, id);
CREATE INDEX shopdb_core_owners_plugin ON shopdb_core_owners (plugin);
