-- A database written by shopdb-host 0.1.0 (core V4; the six bundled plugins, computers
-- stamped at V3, usb uninstalled and installed again), dumped with `sqlite3 .dump`.
-- Tests load it to prove that newer hosts upgrade it and keep its history and audit.
PRAGMA foreign_keys=OFF;
BEGIN TRANSACTION;
CREATE TABLE shopdb_core_history(version INTEGER PRIMARY KEY, name VARCHAR(255), applied_on VARCHAR(255), checksum VARCHAR(255));
INSERT INTO shopdb_core_history VALUES(1,'core','2026-12-01T20:29:22.071736698Z','1754431160382992442');
INSERT INTO shopdb_core_history VALUES(2,'table_owners','2026-12-01T20:29:22.071740414Z','9229299076898115634');
INSERT INTO shopdb_core_history VALUES(3,'plugin_records','2026-12-01T20:29:22.071741145Z','18420116017676767100');
INSERT INTO shopdb_core_history VALUES(4,'audit','2026-12-01T20:29:22.071741896Z','10344110158756123036');
CREATE TABLE sites (
    id          INTEGER PRIMARY KEY,
    code        TEXT    NOT NULL UNIQUE CHECK (length(code) BETWEEN 1 AND 16),
    name        TEXT    NOT NULL CHECK (length(name) > 0),
    address     TEXT,
    timezone    TEXT    NOT NULL DEFAULT 'UTC',
    created_at  TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),
    updated_at  TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
);
INSERT INTO sites VALUES(1,'hq','Head office',NULL,'UTC','2026-12-01T20:29:22Z','2026-12-01T20:29:22Z');
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
CREATE TABLE asset_statuses (
    id             INTEGER PRIMARY KEY,
    code           TEXT    NOT NULL UNIQUE CHECK (code GLOB '[a-z]*'),
    name           TEXT    NOT NULL,
    is_deployable  INTEGER NOT NULL DEFAULT 1 CHECK (is_deployable IN (0, 1)),
    is_retired     INTEGER NOT NULL DEFAULT 0 CHECK (is_retired IN (0, 1))
);
INSERT INTO asset_statuses VALUES(1,'in_use','In use',1,0);
INSERT INTO asset_statuses VALUES(2,'spare','Spare',1,0);
INSERT INTO asset_statuses VALUES(3,'repair','In repair',0,0);
INSERT INTO asset_statuses VALUES(4,'retired','Retired',0,1);
CREATE TABLE people (
    id            INTEGER PRIMARY KEY,
    badge_number  TEXT    NOT NULL UNIQUE,
    display_name  TEXT    NOT NULL CHECK (length(display_name) > 0),
    email         TEXT    UNIQUE COLLATE NOCASE CHECK (email IS NULL OR email LIKE '%_@_%'),
    site_id       INTEGER REFERENCES sites (id) ON DELETE SET NULL,
    is_active     INTEGER NOT NULL DEFAULT 1 CHECK (is_active IN (0, 1)),
    created_at    TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
);
CREATE TABLE shopdb_table_owners (
    table_name   TEXT NOT NULL PRIMARY KEY,
    plugin       TEXT NOT NULL CHECK (plugin GLOB '[a-z]*'),
    recorded_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
);
INSERT INTO shopdb_table_owners VALUES('computer_disks','computers','2026-12-01T20:29:22Z');
INSERT INTO shopdb_table_owners VALUES('computer_interfaces','computers','2026-12-01T20:29:22Z');
INSERT INTO shopdb_table_owners VALUES('computer_models','computers','2026-12-01T20:29:22Z');
INSERT INTO shopdb_table_owners VALUES('computers','computers','2026-12-01T20:29:22Z');
INSERT INTO shopdb_table_owners VALUES('notification_channels','notifications','2026-12-01T20:29:22Z');
INSERT INTO shopdb_table_owners VALUES('notification_rules','notifications','2026-12-01T20:29:22Z');
INSERT INTO shopdb_table_owners VALUES('notification_subscriptions','notifications','2026-12-01T20:29:22Z');
INSERT INTO shopdb_table_owners VALUES('sent_alerts','notifications','2026-12-01T20:29:22Z');
INSERT INTO shopdb_table_owners VALUES('equipment','equipment','2026-12-01T20:29:22Z');
INSERT INTO shopdb_table_owners VALUES('equipment_types','equipment','2026-12-01T20:29:22Z');
INSERT INTO shopdb_table_owners VALUES('firmware_installs','equipment','2026-12-01T20:29:22Z');
INSERT INTO shopdb_table_owners VALUES('firmware_releases','equipment','2026-12-01T20:29:22Z');
INSERT INTO shopdb_table_owners VALUES('maintenance_events','equipment','2026-12-01T20:29:22Z');
INSERT INTO shopdb_table_owners VALUES('ip_addresses','network','2026-12-01T20:29:22Z');
INSERT INTO shopdb_table_owners VALUES('network_devices','network','2026-12-01T20:29:22Z');
INSERT INTO shopdb_table_owners VALUES('port_connections','network','2026-12-01T20:29:22Z');
INSERT INTO shopdb_table_owners VALUES('port_vlans','network','2026-12-01T20:29:22Z');
INSERT INTO shopdb_table_owners VALUES('subnets','network','2026-12-01T20:29:22Z');
INSERT INTO shopdb_table_owners VALUES('switch_ports','network','2026-12-01T20:29:22Z');
INSERT INTO shopdb_table_owners VALUES('vlans','network','2026-12-01T20:29:22Z');
INSERT INTO shopdb_table_owners VALUES('page_counts','printers','2026-12-01T20:29:22Z');
INSERT INTO shopdb_table_owners VALUES('printer_models','printers','2026-12-01T20:29:22Z');
INSERT INTO shopdb_table_owners VALUES('printers','printers','2026-12-01T20:29:22Z');
INSERT INTO shopdb_table_owners VALUES('supply_compatibility','printers','2026-12-01T20:29:22Z');
INSERT INTO shopdb_table_owners VALUES('supply_items','printers','2026-12-01T20:29:22Z');
INSERT INTO shopdb_table_owners VALUES('supply_units','printers','2026-12-01T20:29:22Z');
INSERT INTO shopdb_table_owners VALUES('usb_allowlist','usb','2026-12-01T20:29:22Z');
INSERT INTO shopdb_table_owners VALUES('usb_checkouts','usb','2026-12-01T20:29:22Z');
INSERT INTO shopdb_table_owners VALUES('usb_devices','usb','2026-12-01T20:29:22Z');
INSERT INTO shopdb_table_owners VALUES('usb_vendors','usb','2026-12-01T20:29:22Z');
CREATE TABLE shopdb_plugins (
    name          TEXT NOT NULL PRIMARY KEY CHECK (name GLOB '[a-z]*'),
    version       TEXT NOT NULL,
    depends_on    TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(depends_on)),
    installed_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),
    updated_at    TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
);
INSERT INTO shopdb_plugins VALUES('computers','1.2.0','[]','2026-12-01T20:29:22Z','2026-12-01T20:29:22Z');
INSERT INTO shopdb_plugins VALUES('notifications','1.0.0','[]','2026-12-01T20:29:22Z','2026-12-01T20:29:22Z');
INSERT INTO shopdb_plugins VALUES('equipment','1.0.0','["computers"]','2026-12-01T20:29:22Z','2026-12-01T20:29:22Z');
INSERT INTO shopdb_plugins VALUES('network','1.0.0','["computers","equipment"]','2026-12-01T20:29:22Z','2026-12-01T20:29:22Z');
INSERT INTO shopdb_plugins VALUES('printers','1.0.0','["computers","network"]','2026-12-01T20:29:22Z','2026-12-01T20:29:22Z');
INSERT INTO shopdb_plugins VALUES('usb','1.0.0','["computers"]','2026-12-01T20:29:22Z','2026-12-01T20:29:22Z');
CREATE TABLE shopdb_history_marks (
    id           INTEGER PRIMARY KEY,
    plugin       TEXT    NOT NULL,
    version      INTEGER NOT NULL CHECK (version >= 1),
    how          TEXT    NOT NULL CHECK (how IN ('bootstrapped', 'adopted', 'stamped')),
    recorded_at  TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
);
INSERT INTO shopdb_history_marks VALUES(1,'computers',3,'stamped','2026-12-01T20:29:22Z');
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
INSERT INTO shopdb_audit VALUES(1,'2026-12-01T20:29:22.072Z','root','shopdb-host migrate --plugin computers --target 2 --plugins-dir plugins --database shop.sqlite','core',NULL,4,NULL,'applied',NULL);
INSERT INTO shopdb_audit VALUES(2,'2026-12-01T20:29:22.086Z','root','shopdb-host migrate --plugin computers --target 2 --plugins-dir plugins --database shop.sqlite','computers',NULL,2,'ee45cb55b3996ff73caaec986e51b1d21fcbe42e4097a36f1f9056f1abc85c3f','applied',NULL);
INSERT INTO shopdb_audit VALUES(3,'2026-12-01T20:29:22.100Z','root','shopdb-host stamp --plugin computers --version 3 --plugins-dir plugins --database shop.sqlite','computers',2,3,'ee45cb55b3996ff73caaec986e51b1d21fcbe42e4097a36f1f9056f1abc85c3f','recorded','stamped');
INSERT INTO shopdb_audit VALUES(4,'2026-12-01T20:29:22.118Z','root','shopdb-host upgrade-all --plugins-dir plugins --database shop.sqlite','notifications',NULL,3,'f0de77faa472bc7a797ead2bc75b28070dbcecb342fb840b8134cbe4053f9261','applied',NULL);
INSERT INTO shopdb_audit VALUES(5,'2026-12-01T20:29:22.135Z','root','shopdb-host upgrade-all --plugins-dir plugins --database shop.sqlite','equipment',NULL,2,'1fda9c3eaeb61ca2cdcfd10ce9cffd1b3cca8d0f6c7d96ac3d2f2afcc37974c0','applied',NULL);
INSERT INTO shopdb_audit VALUES(6,'2026-12-01T20:29:22.146Z','root','shopdb-host upgrade-all --plugins-dir plugins --database shop.sqlite','usb',NULL,3,'3ee95f15de4c60c00233461cae94c5779b3b39b909d24b08e8ee24cbf03fe65c','applied',NULL);
INSERT INTO shopdb_audit VALUES(7,'2026-12-01T20:29:22.158Z','root','shopdb-host upgrade-all --plugins-dir plugins --database shop.sqlite','network',NULL,3,'e06245f9b3a1ce229231b06358e7b354b3fd1240ef1d45fe90cedfeb67d0e2dd','applied',NULL);
INSERT INTO shopdb_audit VALUES(8,'2026-12-01T20:29:22.171Z','root','shopdb-host upgrade-all --plugins-dir plugins --database shop.sqlite','printers',NULL,3,'e6f393e5d71fdeea7f93f4c01426844e8660184c3c6abf883e66c3698fb9d4a9','applied',NULL);
INSERT INTO shopdb_audit VALUES(9,'2026-12-01T20:29:22.186Z','root','shopdb-host uninstall --plugin usb --yes --plugins-dir plugins --database shop.sqlite','usb',NULL,NULL,NULL,'uninstalled','dropped usb_allowlist, usb_checkouts, usb_devices, usb_vendors; backup shop.sqlite.20261201T202922Z.bak');
INSERT INTO shopdb_audit VALUES(10,'2026-12-01T20:29:22.214Z','root','shopdb-host upgrade-all --plugins-dir plugins --database shop.sqlite','usb',NULL,3,'3ee95f15de4c60c00233461cae94c5779b3b39b909d24b08e8ee24cbf03fe65c','applied',NULL);
CREATE TABLE shopdb_history_computers(version INTEGER PRIMARY KEY, name VARCHAR(255), applied_on VARCHAR(255), checksum VARCHAR(255));
INSERT INTO shopdb_history_computers VALUES(1,'baseline','2026-12-01T20:29:22.080000361Z','12336056448569374433');
INSERT INTO shopdb_history_computers VALUES(2,'interfaces_and_boot','2026-12-01T20:29:22.080004577Z','4761456334333208009');
INSERT INTO shopdb_history_computers VALUES(3,'rebuild_computers','2026-12-01T20:29:22.095006749Z','8989315835644582346');
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
    model_id       INTEGER REFERENCES computer_models (id) ON DELETE SET NULL,
    status_id      INTEGER NOT NULL REFERENCES asset_statuses (id) ON DELETE RESTRICT,
    location_id    INTEGER REFERENCES locations (id) ON DELETE SET NULL,
    os_name        TEXT,
    os_version     TEXT,
    role           TEXT    NOT NULL DEFAULT 'workstation'
                   CHECK (role IN ('workstation', 'hmi', 'line_pc', 'engineering', 'server', 'kiosk')),
    is_deleted     INTEGER NOT NULL DEFAULT 0 CHECK (is_deleted IN (0, 1)),
    created_at     TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),
    updated_at     TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
, last_boot_at TEXT);
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
CREATE TABLE shopdb_history_notifications(version INTEGER PRIMARY KEY, name VARCHAR(255), applied_on VARCHAR(255), checksum VARCHAR(255));
INSERT INTO shopdb_history_notifications VALUES(1,'baseline','2026-12-01T20:29:22.109772955Z','10948140094772029040');
INSERT INTO shopdb_history_notifications VALUES(2,'sent_alerts','2026-12-01T20:29:22.109787056Z','13967936857782887802');
INSERT INTO shopdb_history_notifications VALUES(3,'rule_owner','2026-12-01T20:29:22.109787807Z','4454230489744322966');
CREATE TABLE notification_channels (
    id          INTEGER PRIMARY KEY,
    kind        TEXT    NOT NULL CHECK (kind IN ('email', 'sms', 'webhook', 'teams')),
    name        TEXT    NOT NULL UNIQUE COLLATE NOCASE CHECK (length(name) > 0),
    target      TEXT    NOT NULL,
    is_active   INTEGER NOT NULL DEFAULT 1 CHECK (is_active IN (0, 1)),
    created_at  TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),
    -- The target must fit the kind: an address, an E.164 number, an HTTPS URL.
    CHECK ((kind = 'email' AND target LIKE '%_@_%')
        OR (kind = 'sms' AND target GLOB '+[1-9]*' AND length(target) BETWEEN 8 AND 16
            AND substr(target, 2) NOT GLOB '*[^0-9]*')
        OR (kind IN ('webhook', 'teams') AND target LIKE 'https://_%'))
);
CREATE TABLE notification_rules (
    id                  INTEGER PRIMARY KEY,
    name                TEXT    NOT NULL UNIQUE COLLATE NOCASE CHECK (length(name) > 0),
    event               TEXT    NOT NULL
                        CHECK (event IN ('warranty_expiring', 'toner_low', 'device_overdue',
                                         'asset_offline', 'maintenance_due', 'firmware_outdated')),
    site_id             INTEGER REFERENCES sites (id) ON DELETE RESTRICT,
    threshold           INTEGER CHECK (threshold IS NULL OR threshold >= 0),
    repeat_after_hours  INTEGER NOT NULL DEFAULT 24 CHECK (repeat_after_hours > 0),
    is_active           INTEGER NOT NULL DEFAULT 1 CHECK (is_active IN (0, 1)),
    created_at          TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),
    updated_at          TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')), owner_id INTEGER REFERENCES people (id) ON DELETE SET NULL,
    CHECK (event <> 'toner_low' OR threshold IS NULL OR threshold <= 100)
);
CREATE TABLE notification_subscriptions (
    id          INTEGER PRIMARY KEY,
    rule_id     INTEGER NOT NULL REFERENCES notification_rules (id) ON DELETE CASCADE,
    person_id   INTEGER REFERENCES people (id) ON DELETE CASCADE,
    channel_id  INTEGER REFERENCES notification_channels (id) ON DELETE CASCADE,
    created_at  TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),
    CHECK ((person_id IS NULL) <> (channel_id IS NULL))
);
CREATE TABLE sent_alerts (
    id               INTEGER PRIMARY KEY,
    rule_id          INTEGER NOT NULL REFERENCES notification_rules (id) ON DELETE RESTRICT,
    subject_key      TEXT    NOT NULL CHECK (subject_key GLOB '[a-z]*:?*'),
    sent_at          TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),
    detail           TEXT,
    acknowledged_at  TEXT,
    acknowledged_by  INTEGER REFERENCES people (id) ON DELETE RESTRICT,
    CHECK (acknowledged_at IS NULL OR acknowledged_at >= sent_at),
    CHECK (acknowledged_by IS NULL OR acknowledged_at IS NOT NULL),
    UNIQUE (rule_id, subject_key, sent_at)
);
CREATE TABLE shopdb_history_equipment(version INTEGER PRIMARY KEY, name VARCHAR(255), applied_on VARCHAR(255), checksum VARCHAR(255));
INSERT INTO shopdb_history_equipment VALUES(1,'baseline','2026-12-01T20:29:22.121040591Z','5323142612788303451');
INSERT INTO shopdb_history_equipment VALUES(2,'maintenance_events','2026-12-01T20:29:22.12104702Z','13518921495383044890');
CREATE TABLE equipment_types (
    id    INTEGER PRIMARY KEY,
    code  TEXT    NOT NULL UNIQUE CHECK (code GLOB '[a-z]*' AND code NOT GLOB '*[^a-z0-9_]*'),
    name  TEXT    NOT NULL CHECK (length(name) > 0)
);
INSERT INTO equipment_types VALUES(1,'cnc_mill','CNC milling machine');
INSERT INTO equipment_types VALUES(2,'cnc_lathe','CNC lathe');
INSERT INTO equipment_types VALUES(3,'plc','Programmable logic controller');
INSERT INTO equipment_types VALUES(4,'robot','Industrial robot');
INSERT INTO equipment_types VALUES(5,'press','Press');
INSERT INTO equipment_types VALUES(6,'conveyor','Conveyor');
INSERT INTO equipment_types VALUES(7,'other','Other machine');
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
CREATE TABLE shopdb_history_network(version INTEGER PRIMARY KEY, name VARCHAR(255), applied_on VARCHAR(255), checksum VARCHAR(255));
INSERT INTO shopdb_history_network VALUES(1,'baseline','2026-12-01T20:29:22.149161625Z','13046835314365179100');
INSERT INTO shopdb_history_network VALUES(2,'vlans_and_subnets','2026-12-01T20:29:22.149166863Z','2017709540783347861');
INSERT INTO shopdb_history_network VALUES(3,'port_connections','2026-12-01T20:29:22.149168285Z','3210333051577057627');
CREATE TABLE network_devices (
    id                INTEGER PRIMARY KEY,
    hostname          TEXT    NOT NULL UNIQUE COLLATE NOCASE
                      CHECK (length(hostname) BETWEEN 1 AND 63 AND hostname NOT GLOB '*[^A-Za-z0-9-]*'),
    asset_tag         TEXT    UNIQUE,
    serial_number     TEXT    CHECK (serial_number IS NULL OR length(serial_number) > 0),
    kind              TEXT    NOT NULL CHECK (kind IN ('switch', 'router', 'access_point', 'firewall')),
    manufacturer_id   INTEGER REFERENCES manufacturers (id) ON DELETE RESTRICT,
    model             TEXT,
    status_id         INTEGER NOT NULL REFERENCES asset_statuses (id) ON DELETE RESTRICT,
    location_id       INTEGER REFERENCES locations (id) ON DELETE SET NULL,
    management_ip     TEXT    CHECK (management_ip IS NULL OR (management_ip = lower(management_ip)
                                     AND management_ip NOT GLOB '*[^0-9a-f.:]*' AND management_ip GLOB '*[.:]*')),
    firmware_version  TEXT,
    is_deleted        INTEGER NOT NULL DEFAULT 0 CHECK (is_deleted IN (0, 1)),
    created_at        TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),
    updated_at        TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
);
CREATE TABLE switch_ports (
    id                 INTEGER PRIMARY KEY,
    network_device_id  INTEGER NOT NULL REFERENCES network_devices (id) ON DELETE CASCADE,
    name               TEXT    NOT NULL COLLATE NOCASE CHECK (length(name) > 0),
    speed_mbps         INTEGER CHECK (speed_mbps IS NULL OR speed_mbps > 0),
    admin_up           INTEGER NOT NULL DEFAULT 1 CHECK (admin_up IN (0, 1)),
    description        TEXT,
    UNIQUE (network_device_id, name)
);
CREATE TABLE ip_addresses (
    id                     INTEGER PRIMARY KEY,
    address                TEXT    NOT NULL UNIQUE CHECK (address = lower(address) AND address NOT GLOB '*[^0-9a-f.:]*'),
    ip_version             INTEGER NOT NULL CHECK (ip_version IN (4, 6)),
    computer_interface_id  INTEGER REFERENCES computer_interfaces (id) ON DELETE CASCADE,
    equipment_id           INTEGER REFERENCES equipment (id) ON DELETE CASCADE,
    network_device_id      INTEGER REFERENCES network_devices (id) ON DELETE CASCADE,
    dns_name               TEXT    COLLATE NOCASE CHECK (dns_name IS NULL OR length(dns_name) BETWEEN 1 AND 253),
    created_at             TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),
    updated_at             TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')), subnet_id INTEGER REFERENCES subnets (id) ON DELETE SET NULL,
    CHECK (CASE ip_version
               WHEN 4 THEN address GLOB '[0-9]*.[0-9]*.[0-9]*.[0-9]*' AND address NOT GLOB '*[^0-9.]*'
               ELSE address GLOB '*:*:*'
           END),
    CHECK ((computer_interface_id IS NOT NULL) + (equipment_id IS NOT NULL) + (network_device_id IS NOT NULL) <= 1)
);
CREATE TABLE vlans (
    id           INTEGER PRIMARY KEY,
    site_id      INTEGER NOT NULL REFERENCES sites (id) ON DELETE RESTRICT,
    vlan_tag     INTEGER NOT NULL CHECK (vlan_tag BETWEEN 1 AND 4094),
    name         TEXT    NOT NULL COLLATE NOCASE CHECK (length(name) > 0),
    description  TEXT,
    UNIQUE (site_id, vlan_tag),
    UNIQUE (site_id, name)
);
CREATE TABLE subnets (
    id           INTEGER PRIMARY KEY,
    site_id      INTEGER NOT NULL REFERENCES sites (id) ON DELETE RESTRICT,
    cidr         TEXT    NOT NULL UNIQUE
                 CHECK (cidr = lower(cidr) AND cidr NOT GLOB '*[^0-9a-f.:/]*' AND cidr GLOB '?*/[0-9]*'
                        AND substr(cidr, instr(cidr, '/') + 1) NOT GLOB '*[^0-9]*'),
    vlan_id      INTEGER REFERENCES vlans (id) ON DELETE SET NULL,
    gateway      TEXT    CHECK (gateway IS NULL OR (gateway = lower(gateway) AND gateway NOT GLOB '*[^0-9a-f.:]*')),
    ip_version   INTEGER NOT NULL CHECK (ip_version IN (4, 6)),
    description  TEXT,
    CHECK (CASE ip_version
               WHEN 4 THEN instr(cidr, ':') = 0 AND CAST(substr(cidr, instr(cidr, '/') + 1) AS INTEGER) BETWEEN 8 AND 32
                           AND (gateway IS NULL OR instr(gateway, ':') = 0)
               ELSE instr(cidr, ':') > 0 AND CAST(substr(cidr, instr(cidr, '/') + 1) AS INTEGER) BETWEEN 16 AND 128
                           AND (gateway IS NULL OR instr(gateway, ':') > 0)
           END)
);
CREATE TABLE port_vlans (
    switch_port_id  INTEGER NOT NULL REFERENCES switch_ports (id) ON DELETE CASCADE,
    vlan_id         INTEGER NOT NULL REFERENCES vlans (id) ON DELETE CASCADE,
    tagged          INTEGER NOT NULL DEFAULT 0 CHECK (tagged IN (0, 1)),
    PRIMARY KEY (switch_port_id, vlan_id)
);
CREATE TABLE port_connections (
    id                     INTEGER PRIMARY KEY,
    switch_port_id         INTEGER NOT NULL UNIQUE REFERENCES switch_ports (id) ON DELETE CASCADE,
    computer_interface_id  INTEGER UNIQUE REFERENCES computer_interfaces (id) ON DELETE CASCADE,
    equipment_id           INTEGER REFERENCES equipment (id) ON DELETE CASCADE,
    network_device_id      INTEGER REFERENCES network_devices (id) ON DELETE CASCADE,
    cable_label            TEXT,
    patched_at             TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
                           CHECK (patched_at GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9]Z'),
    CHECK ((computer_interface_id IS NOT NULL) + (equipment_id IS NOT NULL) + (network_device_id IS NOT NULL) = 1)
);
CREATE TABLE shopdb_history_printers(version INTEGER PRIMARY KEY, name VARCHAR(255), applied_on VARCHAR(255), checksum VARCHAR(255));
INSERT INTO shopdb_history_printers VALUES(1,'baseline','2026-12-01T20:29:22.161536033Z','12477837014966957156');
INSERT INTO shopdb_history_printers VALUES(2,'page_counts','2026-12-01T20:29:22.161543203Z','2071638548112997594');
INSERT INTO shopdb_history_printers VALUES(3,'printer_duplex','2026-12-01T20:29:22.161544766Z','11088382059181869193');
CREATE TABLE printer_models (
    id               INTEGER PRIMARY KEY,
    manufacturer_id  INTEGER NOT NULL REFERENCES manufacturers (id) ON DELETE RESTRICT,
    name             TEXT    NOT NULL CHECK (length(name) > 0),
    technology       TEXT    NOT NULL DEFAULT 'laser'
                     CHECK (technology IN ('laser', 'inkjet', 'direct_thermal', 'thermal_transfer', 'dot_matrix')),
    is_color         INTEGER NOT NULL DEFAULT 0 CHECK (is_color IN (0, 1)),
    UNIQUE (manufacturer_id, name)
);
CREATE TABLE printers (
    id               INTEGER PRIMARY KEY,
    hostname         TEXT    UNIQUE COLLATE NOCASE
                     CHECK (hostname IS NULL OR (length(hostname) BETWEEN 1 AND 63 AND hostname NOT GLOB '*[^A-Za-z0-9-]*')),
    asset_tag        TEXT    UNIQUE,
    serial_number    TEXT    CHECK (serial_number IS NULL OR length(serial_number) > 0),
    model_id         INTEGER REFERENCES printer_models (id) ON DELETE SET NULL,
    status_id        INTEGER NOT NULL REFERENCES asset_statuses (id) ON DELETE RESTRICT,
    location_id      INTEGER REFERENCES locations (id) ON DELETE SET NULL,
    connection       TEXT    NOT NULL DEFAULT 'network' CHECK (connection IN ('network', 'usb', 'shared')),
    ip_address_id    INTEGER UNIQUE REFERENCES ip_addresses (id) ON DELETE SET NULL,
    print_server_id  INTEGER REFERENCES computers (id) ON DELETE SET NULL,
    is_deleted       INTEGER NOT NULL DEFAULT 0 CHECK (is_deleted IN (0, 1)),
    created_at       TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),
    updated_at       TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')), duplex INTEGER NOT NULL DEFAULT 0 CHECK (duplex IN (0, 1)),
    -- A USB printer has no address of its own; a network printer has no server.
    CHECK (connection <> 'usb' OR ip_address_id IS NULL),
    CHECK (connection <> 'network' OR print_server_id IS NULL)
);
CREATE TABLE supply_items (
    id                   INTEGER PRIMARY KEY,
    manufacturer_id      INTEGER NOT NULL REFERENCES manufacturers (id) ON DELETE RESTRICT,
    part_number          TEXT    NOT NULL COLLATE NOCASE CHECK (length(part_number) > 0),
    name                 TEXT    NOT NULL CHECK (length(name) > 0),
    kind                 TEXT    NOT NULL CHECK (kind IN ('toner', 'drum', 'ink', 'fuser', 'labels', 'ribbon')),
    color                TEXT    CHECK (color IS NULL OR color IN ('black', 'cyan', 'magenta', 'yellow')),
    alarm_threshold      INTEGER NOT NULL DEFAULT 1 CHECK (alarm_threshold >= 0),
    stock_target         INTEGER NOT NULL DEFAULT 0 CHECK (stock_target >= 0),
    storage_location_id  INTEGER REFERENCES locations (id) ON DELETE SET NULL,
    UNIQUE (manufacturer_id, part_number)
);
CREATE TABLE supply_compatibility (
    printer_model_id  INTEGER NOT NULL REFERENCES printer_models (id) ON DELETE CASCADE,
    supply_item_id    INTEGER NOT NULL REFERENCES supply_items (id) ON DELETE CASCADE,
    PRIMARY KEY (printer_model_id, supply_item_id)
);
CREATE TABLE supply_units (
    id                INTEGER PRIMARY KEY,
    supply_item_id    INTEGER NOT NULL REFERENCES supply_items (id) ON DELETE RESTRICT,
    printer_id        INTEGER REFERENCES printers (id) ON DELETE RESTRICT,
    received_at       TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
                      CHECK (received_at GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9]Z'),
    installed_at      TEXT    CHECK (installed_at IS NULL OR installed_at GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9]Z'),
    removed_at        TEXT    CHECK (removed_at IS NULL OR removed_at GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9]Z'),
    pages_at_install  INTEGER CHECK (pages_at_install IS NULL OR pages_at_install >= 0),
    pages_at_removal  INTEGER CHECK (pages_at_removal IS NULL OR pages_at_removal >= pages_at_install),
    -- In stock until installed: a printer exactly when an install time.
    CHECK ((printer_id IS NULL) = (installed_at IS NULL)),
    CHECK (installed_at IS NULL OR installed_at >= received_at),
    CHECK (removed_at IS NULL OR (installed_at IS NOT NULL AND removed_at >= installed_at)),
    CHECK (pages_at_install IS NULL OR installed_at IS NOT NULL),
    CHECK (pages_at_removal IS NULL OR removed_at IS NOT NULL)
);
CREATE TABLE page_counts (
    id           INTEGER PRIMARY KEY,
    printer_id   INTEGER NOT NULL REFERENCES printers (id) ON DELETE CASCADE,
    counted_on   TEXT    NOT NULL CHECK (counted_on GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]'),
    total_pages  INTEGER NOT NULL CHECK (total_pages >= 0),
    color_pages  INTEGER CHECK (color_pages IS NULL OR color_pages BETWEEN 0 AND total_pages),
    source       TEXT    NOT NULL DEFAULT 'snmp' CHECK (source IN ('snmp', 'manual')),
    created_at   TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),
    UNIQUE (printer_id, counted_on)
);
CREATE TABLE shopdb_history_usb(version INTEGER PRIMARY KEY, name VARCHAR(255), applied_on VARCHAR(255), checksum VARCHAR(255));
INSERT INTO shopdb_history_usb VALUES(1,'baseline','2026-12-01T20:29:22.198639712Z','5908339802718936572');
INSERT INTO shopdb_history_usb VALUES(2,'allowlist','2026-12-01T20:29:22.198647834Z','7650148725179670441');
INSERT INTO shopdb_history_usb VALUES(3,'checkout_issuer','2026-12-01T20:29:22.198648705Z','9775685396939402968');
CREATE TABLE usb_vendors (
    id               INTEGER PRIMARY KEY,
    vendor_id        TEXT    NOT NULL CHECK (vendor_id GLOB '[0-9a-f][0-9a-f][0-9a-f][0-9a-f]'),
    product_id       TEXT    NOT NULL CHECK (product_id GLOB '[0-9a-f][0-9a-f][0-9a-f][0-9a-f]'),
    name             TEXT    NOT NULL CHECK (length(name) > 0),
    manufacturer_id  INTEGER REFERENCES manufacturers (id) ON DELETE SET NULL,
    UNIQUE (vendor_id, product_id)
);
CREATE TABLE usb_devices (
    id                INTEGER PRIMARY KEY,
    asset_tag         TEXT    NOT NULL UNIQUE CHECK (length(asset_tag) > 0),
    serial_number     TEXT,
    usb_vendor_id     INTEGER NOT NULL REFERENCES usb_vendors (id) ON DELETE RESTRICT,
    kind              TEXT    NOT NULL
                      CHECK (kind IN ('flash_drive', 'external_disk', 'security_key', 'license_dongle',
                                      'barcode_scanner', 'serial_adapter', 'camera', 'other')),
    is_encrypted      INTEGER NOT NULL DEFAULT 0 CHECK (is_encrypted IN (0, 1)),
    capacity_gb       INTEGER CHECK (capacity_gb IS NULL OR (capacity_gb > 0 AND kind IN ('flash_drive', 'external_disk'))),
    status_id         INTEGER NOT NULL REFERENCES asset_statuses (id) ON DELETE RESTRICT,
    home_location_id  INTEGER REFERENCES locations (id) ON DELETE SET NULL,
    is_deleted        INTEGER NOT NULL DEFAULT 0 CHECK (is_deleted IN (0, 1)),
    created_at        TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),
    updated_at        TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
);
CREATE TABLE usb_checkouts (
    id              INTEGER PRIMARY KEY,
    device_id       INTEGER NOT NULL REFERENCES usb_devices (id) ON DELETE RESTRICT,
    person_id       INTEGER NOT NULL REFERENCES people (id) ON DELETE RESTRICT,
    computer_id     INTEGER REFERENCES computers (id) ON DELETE SET NULL,
    checked_out_at  TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),
    due_at          TEXT    NOT NULL,
    returned_at     TEXT,
    note            TEXT, issued_by INTEGER REFERENCES people (id) ON DELETE RESTRICT,
    CHECK (due_at >= checked_out_at),
    CHECK (returned_at IS NULL OR returned_at >= checked_out_at)
);
CREATE TABLE usb_allowlist (
    id             INTEGER PRIMARY KEY,
    computer_id    INTEGER NOT NULL REFERENCES computers (id) ON DELETE CASCADE,
    usb_vendor_id  INTEGER NOT NULL REFERENCES usb_vendors (id) ON DELETE RESTRICT,
    allowed_by     INTEGER NOT NULL REFERENCES people (id) ON DELETE RESTRICT,
    allowed_at     TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),
    expires_at     TEXT,
    reason         TEXT,
    CHECK (expires_at IS NULL OR expires_at > allowed_at),
    UNIQUE (computer_id, usb_vendor_id)
);
CREATE UNIQUE INDEX locations_unique_name ON locations (site_id, ifnull(parent_id, 0), name);
CREATE INDEX locations_parent ON locations (parent_id);
CREATE INDEX people_site ON people (site_id);
CREATE INDEX shopdb_table_owners_plugin ON shopdb_table_owners (plugin);
CREATE INDEX shopdb_history_marks_plugin ON shopdb_history_marks (plugin);
CREATE INDEX shopdb_audit_plugin ON shopdb_audit (plugin, id);
CREATE UNIQUE INDEX computers_serial ON computers (model_id, serial_number)
    WHERE serial_number IS NOT NULL AND is_deleted = 0;
CREATE INDEX computers_location ON computers (location_id);
CREATE INDEX computers_status ON computers (status_id);
CREATE INDEX notification_rules_site ON notification_rules (site_id);
CREATE UNIQUE INDEX notification_subscriptions_person ON notification_subscriptions (person_id, rule_id)
    WHERE person_id IS NOT NULL;
CREATE UNIQUE INDEX notification_subscriptions_channel ON notification_subscriptions (channel_id, rule_id)
    WHERE channel_id IS NOT NULL;
CREATE INDEX notification_subscriptions_rule ON notification_subscriptions (rule_id);
CREATE INDEX sent_alerts_unacknowledged ON sent_alerts (sent_at) WHERE acknowledged_at IS NULL;
CREATE INDEX sent_alerts_acknowledged_by ON sent_alerts (acknowledged_by);
CREATE TRIGGER sent_alerts_no_delete BEFORE DELETE ON sent_alerts
BEGIN
    SELECT RAISE(ABORT, 'sent_alerts is append-only');
END;
CREATE TRIGGER sent_alerts_no_rewrite BEFORE UPDATE OF rule_id, subject_key, sent_at, detail ON sent_alerts
BEGIN
    SELECT RAISE(ABORT, 'sent_alerts is append-only: only the acknowledgement may change');
END;
CREATE INDEX notification_rules_owner ON notification_rules (owner_id);
CREATE UNIQUE INDEX equipment_serial ON equipment (manufacturer_id, serial_number)
    WHERE serial_number IS NOT NULL AND is_deleted = 0;
CREATE INDEX equipment_type ON equipment (type_id);
CREATE INDEX equipment_manufacturer ON equipment (manufacturer_id);
CREATE INDEX equipment_status ON equipment (status_id);
CREATE INDEX equipment_location ON equipment (location_id);
CREATE INDEX equipment_controller ON equipment (controller_computer_id);
CREATE UNIQUE INDEX firmware_installs_current ON firmware_installs (equipment_id, firmware_name)
    WHERE removed_at IS NULL;
CREATE INDEX firmware_installs_equipment ON firmware_installs (equipment_id, installed_at);
CREATE INDEX firmware_installs_release ON firmware_installs (firmware_release_id, firmware_name);
CREATE INDEX firmware_installs_installed_by ON firmware_installs (installed_by);
CREATE INDEX maintenance_events_equipment ON maintenance_events (equipment_id, performed_at);
CREATE INDEX maintenance_events_performed_by ON maintenance_events (performed_by);
CREATE UNIQUE INDEX network_devices_serial ON network_devices (manufacturer_id, serial_number)
    WHERE serial_number IS NOT NULL AND is_deleted = 0;
CREATE INDEX network_devices_manufacturer ON network_devices (manufacturer_id);
CREATE INDEX network_devices_status ON network_devices (status_id);
CREATE INDEX network_devices_location ON network_devices (location_id);
CREATE INDEX ip_addresses_computer_interface ON ip_addresses (computer_interface_id);
CREATE INDEX ip_addresses_equipment ON ip_addresses (equipment_id);
CREATE INDEX ip_addresses_network_device ON ip_addresses (network_device_id);
CREATE INDEX ip_addresses_dns_name ON ip_addresses (dns_name);
CREATE INDEX subnets_site ON subnets (site_id);
CREATE INDEX subnets_vlan ON subnets (vlan_id);
CREATE UNIQUE INDEX port_vlans_untagged ON port_vlans (switch_port_id) WHERE tagged = 0;
CREATE INDEX port_vlans_vlan ON port_vlans (vlan_id);
CREATE INDEX ip_addresses_subnet ON ip_addresses (subnet_id);
CREATE INDEX port_connections_equipment ON port_connections (equipment_id);
CREATE INDEX port_connections_network_device ON port_connections (network_device_id);
CREATE UNIQUE INDEX printers_serial ON printers (model_id, serial_number)
    WHERE serial_number IS NOT NULL AND is_deleted = 0;
CREATE INDEX printers_model ON printers (model_id);
CREATE INDEX printers_status ON printers (status_id);
CREATE INDEX printers_location ON printers (location_id);
CREATE INDEX printers_print_server ON printers (print_server_id);
CREATE INDEX supply_items_storage_location ON supply_items (storage_location_id);
CREATE INDEX supply_compatibility_supply_item ON supply_compatibility (supply_item_id);
CREATE INDEX supply_units_supply_item ON supply_units (supply_item_id, printer_id);
CREATE INDEX supply_units_printer ON supply_units (printer_id, installed_at);
CREATE UNIQUE INDEX supply_units_installed ON supply_units (printer_id, supply_item_id)
    WHERE printer_id IS NOT NULL AND removed_at IS NULL;
CREATE INDEX page_counts_counted_on ON page_counts (counted_on);
CREATE INDEX usb_vendors_manufacturer ON usb_vendors (manufacturer_id);
CREATE UNIQUE INDEX usb_devices_serial ON usb_devices (usb_vendor_id, serial_number)
    WHERE serial_number IS NOT NULL AND is_deleted = 0;
CREATE INDEX usb_devices_vendor ON usb_devices (usb_vendor_id);
CREATE INDEX usb_devices_status ON usb_devices (status_id);
CREATE INDEX usb_devices_home_location ON usb_devices (home_location_id);
CREATE UNIQUE INDEX usb_checkouts_open ON usb_checkouts (device_id) WHERE returned_at IS NULL;
CREATE INDEX usb_checkouts_device ON usb_checkouts (device_id, checked_out_at);
CREATE INDEX usb_checkouts_person ON usb_checkouts (person_id);
CREATE INDEX usb_checkouts_computer ON usb_checkouts (computer_id);
CREATE INDEX usb_checkouts_overdue ON usb_checkouts (due_at) WHERE returned_at IS NULL;
CREATE INDEX usb_allowlist_vendor ON usb_allowlist (usb_vendor_id);
CREATE INDEX usb_allowlist_allowed_by ON usb_allowlist (allowed_by);
CREATE INDEX usb_checkouts_issued_by ON usb_checkouts (issued_by);
COMMIT;
