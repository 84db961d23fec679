-- Which plugin owns which table. The host writes a plugin's rows in the same
-- transaction as that plugin's migrations, so the record and the schema never
-- disagree. It outlives the plugin file: a new plugin claiming a table that
-- the database records as another plugin's is refused even when that other
-- plugin's file is gone, and `status` lists such plugins as missing.
CREATE TABLE shopdb_table_owners (
    table_name   TEXT NOT NULL PRIMARY KEY,
    plugin       TEXT NOT NULL CHECK (plugin GLOB '[a-z]*'),
    recorded_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
);
CREATE INDEX shopdb_table_owners_plugin ON shopdb_table_owners (plugin);
