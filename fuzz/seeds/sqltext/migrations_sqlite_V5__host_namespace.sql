-- The host's own objects move into one namespace of their own, `shopdb_core_…`.
-- A plugin's history table is `shopdb_history_<plugin>`, and no plugin may
-- create anything named `shopdb_…`: neither can ever take a name the host
-- uses, now or in a later core version (a plugin called `marks` used to get
-- `shopdb_history_marks`, the host's record of stamps). Rows, history and the
-- audit record are kept as they are.

ALTER TABLE shopdb_plugins RENAME TO shopdb_core_plugins;

ALTER TABLE shopdb_history_marks RENAME TO shopdb_core_marks;
DROP INDEX shopdb_history_marks_plugin;
CREATE INDEX shopdb_core_marks_plugin ON shopdb_core_marks (plugin);

ALTER TABLE shopdb_audit RENAME TO shopdb_core_audit;
DROP INDEX shopdb_audit_plugin;
CREATE INDEX shopdb_core_audit_plugin ON shopdb_core_audit (plugin, id);

-- Which plugin owns which name. SQLite has one namespace per database for
-- tables, indexes, triggers and views, so every name a plugin's chain has
-- ever created is recorded, not only its tables: a name another plugin owns
-- is refused before anything runs, and a plugin may always drop, rename and
-- recreate what it owns or owned. Written in the same transaction as the
-- plugin's migrations; it outlives the plugin file.
CREATE TABLE shopdb_core_owners (
    name         TEXT NOT NULL PRIMARY KEY,
    kind         TEXT NOT NULL CHECK (kind IN ('table', 'view', 'index', 'trigger')),
    plugin       TEXT NOT NULL CHECK (plugin GLOB '[a-z]*'),
    recorded_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
);
CREATE INDEX shopdb_core_owners_plugin ON shopdb_core_owners (plugin);

INSERT INTO shopdb_core_owners (name, kind, plugin, recorded_at)
SELECT lower(o.table_name),
       CASE WHEN EXISTS (SELECT 1 FROM sqlite_master m WHERE m.type = 'view' AND lower(m.name) = lower(o.table_name))
            THEN 'view' ELSE 'table' END,
       o.plugin, o.recorded_at
FROM shopdb_table_owners o;

-- Earlier hosts recorded tables only: the indexes and triggers on them are
-- their owner's too.
INSERT OR IGNORE INTO shopdb_core_owners (name, kind, plugin)
SELECT lower(m.name), m.type, o.plugin
FROM sqlite_master m JOIN shopdb_core_owners o ON o.name = lower(m.tbl_name)
WHERE m.type IN ('index', 'trigger') AND m.name NOT LIKE 'sqlite\_%' ESCAPE '\';

DROP TABLE shopdb_table_owners;
