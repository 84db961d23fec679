-- The plugins installed in this database, written by the host in the same
-- transaction as each plugin's migrations. `uninstall` reads it to refuse
-- removing a plugin that another installed plugin depends on, even when
-- that plugin's file is gone.
CREATE TABLE shopdb_plugins (
    name          TEXT NOT NULL PRIMARY KEY CHECK (name GLOB '[a-z]*'),
    version       TEXT NOT NULL,
    depends_on    TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(depends_on)),
    installed_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),
    updated_at    TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
);

-- History the host recorded without running the migrations: a database
-- created from the DDL (bootstrapped), tables found already in place
-- (adopted), or an operator's `stamp`. `status` shows these.
CREATE TABLE shopdb_history_marks (
    id           INTEGER PRIMARY KEY,
    plugin       TEXT    NOT NULL,
    version      INTEGER NOT NULL CHECK (version >= 1),
    how          TEXT    NOT NULL CHECK (how IN ('bootstrapped', 'adopted', 'stamped')),
    recorded_at  TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
);
CREATE INDEX shopdb_history_marks_plugin ON shopdb_history_marks (plugin);
