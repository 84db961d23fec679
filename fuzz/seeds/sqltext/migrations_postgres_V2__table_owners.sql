-- Which plugin owns which name. The host writes a plugin's rows in the same
-- transaction as that plugin's migrations, so the record and the schema never
-- disagree. It outlives the plugin file: a new plugin claiming a name that
-- the database records as another plugin's is refused even when that other
-- plugin's file is gone, and `status` lists such plugins as missing.
--
-- PostgreSQL: this chain is new, so it creates the table under the name and
-- in the shape SQLite reaches only at V5 (SQLite's V2 created
-- shopdb_table_owners(table_name, plugin, recorded_at), which V5 replaced by
-- this table). There are no rows of an older host to carry over.
CREATE TABLE shopdb_core_owners (
    name         text        NOT NULL PRIMARY KEY,
    kind         text        NOT NULL CHECK (kind IN ('table', 'view', 'index', 'trigger')),
    plugin       text        NOT NULL CHECK (plugin ~ '^[a-z]'),
    recorded_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX shopdb_core_owners_plugin ON shopdb_core_owners (plugin);
