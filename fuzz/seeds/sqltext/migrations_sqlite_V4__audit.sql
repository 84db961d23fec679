-- The audit record: every run that changed (or tried to change) the schema.
-- A run that applied is recorded in the same transaction as its migrations;
-- a refused or failed run is recorded in a transaction of its own, after the
-- rollback, so that the record is never lost with it. Append-only: the host
-- never updates or deletes these rows, and plugins cannot touch them.
CREATE TABLE shopdb_audit (
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
CREATE INDEX shopdb_audit_plugin ON shopdb_audit (plugin, id);
