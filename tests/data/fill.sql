-- Fill data for the end-to-end migration test: realistic rows in every table
-- of the core schema and of the six bundled plugins (computers, equipment,
-- network, notifications, printers, usb), so that table-rebuild migrations can
-- be run on a populated database and every row checked afterwards.
--
-- It runs in one batch on a database where the core schema and all six
-- plugins are already applied, with PRAGMA foreign_keys = ON. Every row must
-- keep satisfying every CHECK, NOT NULL, UNIQUE, partial unique index and
-- FOREIGN KEY of the current schemas (migrations/V1__core.sql and
-- plugins/*/schema.sql); the computers rows must also fit its V2 schema (the
-- plugin may not be at V3 yet), which they do since V3 only adds
-- CHECK (updated_at >= created_at) and ON DELETE RESTRICT on model_id.
-- When a schema gains a constraint, update this file so that it still holds.
--
-- Everything is deterministic: values derive from the row number i of a
-- recursive CTE (printf, modulo, fixed date arithmetic), no random(), no
-- 'now'. Seeded rows are referenced, never re-inserted: asset_statuses has
-- ids 1..4 (1 in_use, 2 spare, 3 repair, 4 retired) from the core, and
-- equipment_types has its seven codes from the equipment plugin's V1 (looked
-- up by code below; new codes are added next to them).
--
-- Layout conventions used throughout (they keep cross-references consistent):
--   * 5 sites; each has 12 locations with id (site - 1) * 12 + k, k as in the
--     location template below (3..5 halls, 6..8 lines, 9 a cell, 11 a rack,
--     12 the spare-parts store).
--   * computers, equipment, printers: row i belongs to site 1 + ((i-1)/10) % 5
--     and is number q = ((i-1)/50) * 10 + (i-1) % 10 within its site.
--   * network devices: row i belongs to site 1 + ((i-1)/20) % 5, its kind is
--     set by (i-1) % 20 (0..3 switch, 4 router, 5 firewall, 6..19 access point).
--   * computer i's first interface has id i.

-------------------------------------------------------------------------------
-- Core
-------------------------------------------------------------------------------

INSERT INTO sites (id, code, name, address, timezone, created_at, updated_at) VALUES
    (1, 'HAM', 'Hamburg plant',      'Werftstrasse 12, 21129 Hamburg, DE',      'Europe/Berlin',   '2018-01-08T08:00:00Z', '2023-05-02T10:15:00Z'),
    (2, 'MUC', 'Munich plant',       'Lilienthalallee 40, 80939 Munich, DE',    'Europe/Berlin',   '2018-01-08T08:05:00Z', '2022-11-17T14:40:00Z'),
    (3, 'STR', 'Stuttgart plant',    'Industriestrasse 7, 70565 Stuttgart, DE', 'Europe/Berlin',   '2018-01-08T08:10:00Z', '2018-01-08T08:10:00Z'),
    (4, 'BRN', 'Brno plant',         'Turanka 100, 627 00 Brno, CZ',            'Europe/Prague',   '2019-04-01T07:30:00Z', '2024-02-12T09:00:00Z'),
    (5, 'GRR', 'Grand Rapids plant', NULL,                                      'America/Detroit', '2021-09-13T13:00:00Z', '2021-09-13T13:00:00Z');

-- 12 places per site, as a tree (parents have smaller ids than children).
WITH t(k, parent_k, name, kind) AS (VALUES
        (1,  NULL, 'Building A',        'building'),
        (2,  NULL, 'Building B',        'building'),
        (3,  1,    'Hall 1',            'hall'),
        (4,  1,    'Hall 2',            'hall'),
        (5,  2,    'Hall 3',            'hall'),
        (6,  3,    'Line 1',            'line'),
        (7,  3,    'Line 2',            'line'),
        (8,  4,    'Line 3',            'line'),
        (9,  8,    'Cell 3.1',          'cell'),
        (10, 2,    'Server room',       'room'),
        (11, 10,   'Rack R01',          'rack'),
        (12, 5,    'Spare parts store', 'storage'))
INSERT INTO locations (id, site_id, parent_id, name, kind, created_at, updated_at)
SELECT (s.id - 1) * 12 + t.k,
       s.id,
       CASE WHEN t.parent_k IS NULL THEN NULL ELSE (s.id - 1) * 12 + t.parent_k END,
       t.name,
       t.kind,
       strftime('%Y-%m-%dT%H:%M:%SZ', s.created_at, printf('+%d minutes', t.k * 7)),
       strftime('%Y-%m-%dT%H:%M:%SZ', s.created_at, printf('+%d days', t.k * 31))
FROM sites AS s CROSS JOIN t
ORDER BY 1;

INSERT INTO manufacturers (id, name, website, created_at) VALUES
    (1,  'Dell Technologies',   'https://www.dell.com',         '2018-01-10T09:00:00Z'),
    (2,  'HP Inc.',             'https://www.hp.com',           '2018-01-10T09:01:00Z'),
    (3,  'Lenovo',              'https://www.lenovo.com',       '2018-01-10T09:02:00Z'),
    (4,  'Siemens',             'https://www.siemens.com',      '2018-01-10T09:03:00Z'),
    (5,  'Beckhoff Automation', 'https://www.beckhoff.com',     '2018-01-10T09:04:00Z'),
    (6,  'Advantech',           'https://www.advantech.com',    '2018-01-10T09:05:00Z'),
    (7,  'Cisco Systems',       'https://www.cisco.com',        '2018-01-10T09:06:00Z'),
    (8,  'Hirschmann',          'https://hirschmann.com',       '2018-01-10T09:07:00Z'),
    (9,  'Aruba Networks',      NULL,                           '2018-01-10T09:08:00Z'),
    (10, 'Fortinet',            'https://www.fortinet.com',     '2018-01-10T09:09:00Z'),
    (11, 'Zebra Technologies',  'https://www.zebra.com',        '2018-01-10T09:10:00Z'),
    (12, 'Brother',             'https://www.brother.com',      '2018-01-10T09:11:00Z'),
    (13, 'Kyocera',             'https://www.kyoceradocumentsolutions.com', '2018-01-10T09:12:00Z'),
    (14, 'DMG Mori',            'https://www.dmgmori.com',      '2018-01-10T09:13:00Z'),
    (15, 'Fanuc',               'https://www.fanuc.eu',         '2018-01-10T09:14:00Z'),
    (16, 'Trumpf',              'https://www.trumpf.com',       '2018-01-10T09:15:00Z'),
    (17, 'KUKA',                'https://www.kuka.com',         '2018-01-10T09:16:00Z'),
    (18, 'ABB',                 'https://new.abb.com',          '2018-01-10T09:17:00Z'),
    (19, 'Carl Zeiss',          NULL,                           '2018-01-10T09:18:00Z'),
    (20, 'Engel',               'https://www.engelglobal.com',  '2018-01-10T09:19:00Z'),
    (21, 'SanDisk',             'https://www.sandisk.com',      '2018-01-10T09:20:00Z'),
    (22, 'Kingston',            'https://www.kingston.com',     '2018-01-10T09:21:00Z'),
    (23, 'Yubico',              'https://www.yubico.com',       '2018-01-10T09:22:00Z'),
    (24, 'Wibu-Systems',        NULL,                           '2018-01-10T09:23:00Z'),
    (25, 'Honeywell',           'https://www.honeywell.com',    '2018-01-10T09:24:00Z'),
    (26, 'Epson',               'https://www.epson.eu',         '2018-01-10T09:25:00Z');

-- 300 people: 20 first names x 15 last names, each pair once.
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 300),
f(k, name) AS (VALUES
        (0, 'Anna'), (1, 'Ben'), (2, 'Clara'), (3, 'David'), (4, 'Elena'),
        (5, 'Felix'), (6, 'Greta'), (7, 'Hannah'), (8, 'Ivan'), (9, 'Jonas'),
        (10, 'Katrin'), (11, 'Lukas'), (12, 'Maria'), (13, 'Nico'), (14, 'Olga'),
        (15, 'Paul'), (16, 'Rosa'), (17, 'Stefan'), (18, 'Tomas'), (19, 'Ute')),
l(k, name) AS (VALUES
        (0, 'Schmidt'), (1, 'Novak'), (2, 'Weber'), (3, 'Fischer'), (4, 'Meyer'),
        (5, 'Wagner'), (6, 'Becker'), (7, 'Hoffmann'), (8, 'Svoboda'), (9, 'Dvorak'),
        (10, 'Keller'), (11, 'Richter'), (12, 'Klein'), (13, 'Wolf'), (14, 'Johnson'))
INSERT INTO people (id, badge_number, display_name, email, site_id, is_active, created_at)
SELECT n.i,
       printf('B%05d', 10000 + n.i),
       f.name || ' ' || l.name,
       CASE WHEN n.i % 10 = 7 THEN NULL ELSE lower(f.name || '.' || l.name) || '@plant.example' END,
       CASE WHEN n.i % 23 = 0 THEN NULL ELSE 1 + n.i % 5 END,
       CASE WHEN n.i % 17 = 0 THEN 0 ELSE 1 END,
       strftime('%Y-%m-%dT%H:%M:%SZ', '2018-03-01 08:00:00', printf('+%d hours', n.i * 61))
FROM n
JOIN f ON f.k = n.i % 20
JOIN l ON l.k = (n.i / 20) % 15
ORDER BY n.i;

-------------------------------------------------------------------------------
-- computers
-------------------------------------------------------------------------------

-- Ids grouped by form factor: 1..5 desktop, 6..10 laptop, 11..14 panel PC,
-- 15..19 industrial PC, 20..21 thin client, 22..24 server.
INSERT INTO computer_models (id, manufacturer_id, name, form_factor) VALUES
    (1,  1, 'OptiPlex 7010',          'desktop'),
    (2,  1, 'OptiPlex 7090',          'desktop'),
    (3,  2, 'EliteDesk 800 G6',       'desktop'),
    (4,  2, 'ProDesk 400 G7',         'desktop'),
    (5,  3, 'ThinkCentre M70q',       'desktop'),
    (6,  1, 'Latitude 5440',          'laptop'),
    (7,  1, 'Precision 3581',         'laptop'),
    (8,  2, 'EliteBook 840 G9',       'laptop'),
    (9,  2, 'ZBook Fury 16 G10',      'laptop'),
    (10, 3, 'ThinkPad P16',           'laptop'),
    (11, 4, 'SIMATIC IPC677E',        'panel_pc'),
    (12, 4, 'SIMATIC ITP1000',        'panel_pc'),
    (13, 5, 'CP2215',                 'panel_pc'),
    (14, 6, 'PPC-3150S',              'panel_pc'),
    (15, 4, 'SIMATIC IPC427E',        'industrial_pc'),
    (16, 4, 'SIMATIC IPC547G',        'industrial_pc'),
    (17, 5, 'C6015',                  'industrial_pc'),
    (18, 5, 'C6930',                  'industrial_pc'),
    (19, 6, 'UNO-2484G',              'industrial_pc'),
    (20, 1, 'Wyse 5070',              'thin_client'),
    (21, 2, 't640 Thin Client',       'thin_client'),
    (22, 1, 'PowerEdge R650',         'server'),
    (23, 2, 'ProLiant DL360 Gen10',   'server'),
    (24, 3, 'ThinkSystem SR650',      'server');

-- 2000 computers. Role by i % 10: 0..3 workstation, 4..5 line PC, 6 HMI,
-- 7 engineering laptop, 8 kiosk, 9 server. 60 are soft-deleted (i % 100 in
-- 25, 60, 90); a deleted one (from i = 60 on) carries the serial number of
-- computer i - 50, same model, as when a machine is re-registered: allowed,
-- since the (model_id, serial_number) index only covers live rows.
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2000),
c AS (
    SELECT i,
           1 + ((i - 1) / 10) % 5 AS s,
           CASE WHEN i % 10 < 4 THEN 'workstation'
                WHEN i % 10 < 6 THEN 'line_pc'
                WHEN i % 10 = 6 THEN 'hmi'
                WHEN i % 10 = 7 THEN 'engineering'
                WHEN i % 10 = 8 THEN 'kiosk'
                ELSE 'server' END AS role,
           CASE WHEN i % 100 IN (25, 60, 90) THEN 1 ELSE 0 END AS del,
           CASE WHEN i % 100 IN (25, 60, 90) AND i > 50 THEN i - 50 ELSE i END AS j,
           i * 21 AS created_h
    FROM n)
INSERT INTO computers (id, hostname, asset_tag, serial_number, model_id, status_id, location_id,
                       os_name, os_version, role, is_deleted, created_at, updated_at, last_boot_at)
SELECT i,
       printf('%s-%s-%04d', (SELECT lower(code) FROM sites WHERE id = s),
              CASE role WHEN 'workstation' THEN 'ws' WHEN 'line_pc' THEN 'line-pc' WHEN 'hmi' THEN 'hmi'
                        WHEN 'engineering' THEN 'eng-nb' WHEN 'kiosk' THEN 'kiosk' ELSE 'srv' END,
              i),
       CASE WHEN i % 50 = 26 THEN NULL ELSE printf('PC-%06d', 100000 + i) END,
       CASE WHEN i % 40 = 13 THEN NULL ELSE printf('%07X', (j * 2654435761) % 268435456) END,
       CASE WHEN i % 15 = 7 THEN NULL
            ELSE CASE role
                     WHEN 'workstation' THEN CASE WHEN i % 10 = 3 THEN 6 + (i / 10) % 5 ELSE 1 + (i / 10) % 5 END
                     WHEN 'line_pc'     THEN 15 + (i / 10) % 5
                     WHEN 'hmi'         THEN 11 + (i / 10) % 4
                     WHEN 'engineering' THEN 6 + (i / 10) % 5
                     WHEN 'kiosk'       THEN 20 + (i / 10) % 2
                     ELSE 22 + (i / 10) % 3 END
       END,
       CASE WHEN del = 1 THEN 4
            WHEN i % 20 < 15 THEN 1
            WHEN i % 20 < 17 THEN 2
            WHEN i % 20 = 17 THEN 3
            ELSE 4 END,
       CASE WHEN i % 13 = 5 THEN NULL
            ELSE (s - 1) * 12 + CASE role
                     WHEN 'workstation' THEN 3 + (i / 10) % 3
                     WHEN 'line_pc'     THEN 6 + (i / 10) % 3
                     WHEN 'hmi'         THEN 6 + (i / 10) % 4
                     WHEN 'engineering' THEN 1 + (i / 10) % 2
                     WHEN 'kiosk'       THEN 3 + (i / 10) % 3
                     ELSE 11 END
       END,
       CASE WHEN i % 33 = 0 THEN NULL
            ELSE CASE role
                     WHEN 'workstation' THEN 'Windows 11 Enterprise'
                     WHEN 'engineering' THEN 'Windows 11 Enterprise'
                     WHEN 'line_pc'     THEN 'Windows 10 IoT Enterprise LTSC'
                     WHEN 'hmi'         THEN 'Windows 10 IoT Enterprise LTSC'
                     WHEN 'kiosk'       THEN 'IGEL OS'
                     ELSE CASE WHEN (i / 10) % 2 = 0 THEN 'Windows Server 2022' ELSE 'Ubuntu Server' END END
       END,
       CASE WHEN i % 33 = 0 THEN NULL
            ELSE CASE role
                     WHEN 'workstation' THEN CASE WHEN i % 3 = 0 THEN '22H2' ELSE '23H2' END
                     WHEN 'engineering' THEN CASE WHEN i % 3 = 0 THEN '22H2' ELSE '23H2' END
                     WHEN 'line_pc'     THEN '21H2'
                     WHEN 'hmi'         THEN '21H2'
                     WHEN 'kiosk'       THEN '12.3.1'
                     ELSE CASE WHEN (i / 10) % 2 = 0 THEN '21H2' ELSE '22.04 LTS' END END
       END,
       role,
       del,
       strftime('%Y-%m-%dT%H:%M:%SZ', '2018-03-01 08:00:00', printf('+%d hours', created_h)),
       strftime('%Y-%m-%dT%H:%M:%SZ', '2018-03-01 08:00:00', printf('+%d hours', created_h + (i * 37) % 900)),
       CASE WHEN i % 9 = 0 OR del = 1 THEN NULL
            ELSE strftime('%Y-%m-%dT%H:%M:%SZ', '2024-05-01 06:00:00', printf('+%d minutes', (i * 97) % 20000)) END
FROM c
ORDER BY i;

-- One system disk per computer, a data disk on every third one.
WITH d(k) AS (VALUES (1), (2))
INSERT INTO computer_disks (computer_id, device, serial_number, capacity_gb)
SELECT c.id,
       CASE WHEN d.k = 1 THEN CASE c.role WHEN 'server' THEN 'sda' ELSE 'nvme0n1' END
            ELSE CASE c.role WHEN 'server' THEN 'sdb' ELSE 'sda' END END,
       CASE WHEN (c.id + d.k) % 19 = 0 THEN NULL
            ELSE printf('S%dNX0%s%06d', 4 + d.k, substr('ABCDEFGHJKLMNPRSTVWXYZ', 1 + c.id % 22, 1), (c.id * 7919 + d.k) % 1000000) END,
       CASE WHEN d.k = 1 THEN CASE WHEN c.role = 'server' THEN CASE c.id % 2 WHEN 0 THEN 960 ELSE 1920 END
                                   WHEN c.role = 'kiosk'  THEN 64
                                   ELSE CASE c.id % 3 WHEN 0 THEN 256 WHEN 1 THEN 512 ELSE 1024 END END
            ELSE CASE WHEN c.role = 'server' THEN 3840
                      ELSE CASE c.id % 4 WHEN 0 THEN 1000 WHEN 1 THEN 2000 WHEN 2 THEN 4000 ELSE 500 END END END
FROM computers AS c CROSS JOIN d
WHERE d.k = 1 OR c.id % 3 = 0
ORDER BY c.id, d.k;

-- The first interface of computer i has id i; computers with i % 5 in (0, 1)
-- have a second one (Wi-Fi on engineering laptops) with id 2000 + i. The MAC
-- address ends in the interface id, so it is unique whatever the vendor prefix.
INSERT INTO computer_interfaces (id, computer_id, name, mac_address)
SELECT c.id,
       c.id,
       CASE WHEN c.os_name LIKE 'Windows%' THEN 'Ethernet' WHEN c.os_name IS NULL THEN 'eth0' ELSE 'eno1' END,
       printf('%s:%02x:%02x:%02x',
              CASE c.role WHEN 'line_pc' THEN '00:1b:1b' WHEN 'hmi' THEN '00:1b:1b' WHEN 'server' THEN '3c:ec:ef' ELSE 'f8:bc:12' END,
              (c.id / 65536) % 256, (c.id / 256) % 256, c.id % 256)
FROM computers AS c
ORDER BY c.id;

INSERT INTO computer_interfaces (id, computer_id, name, mac_address)
SELECT 2000 + c.id,
       c.id,
       CASE WHEN c.role = 'engineering' THEN CASE WHEN c.os_name LIKE 'Windows%' THEN 'Wi-Fi' ELSE 'wlan0' END
            WHEN c.os_name LIKE 'Windows%' THEN 'Ethernet 2'
            WHEN c.os_name IS NULL THEN 'eth1'
            ELSE 'eno2' END,
       CASE WHEN c.id % 45 = 0 THEN NULL
            ELSE printf('%s:%02x:%02x:%02x',
                        CASE WHEN c.role = 'engineering' THEN '8c:8d:28' ELSE 'a0:36:9f' END,
                        ((2000 + c.id) / 65536) % 256, ((2000 + c.id) / 256) % 256, (2000 + c.id) % 256) END
FROM computers AS c
WHERE c.id % 5 IN (0, 1)
ORDER BY c.id;

-------------------------------------------------------------------------------
-- equipment
-------------------------------------------------------------------------------

-- V1 seeds cnc_mill, cnc_lathe, plc, robot, press, conveyor and other; these
-- codes are new.
INSERT INTO equipment_types (code, name) VALUES
    ('laser_cutter',      'Laser cutting machine'),
    ('injection_molding', 'Injection molding machine'),
    ('cmm',               'Coordinate measuring machine'),
    ('agv',               'Automated guided vehicle'),
    ('test_bench',        'End-of-line test bench');

-- 2000 machines. Type by i % 20. The controller is a line PC or HMI of the
-- same site (computer ids ending in 4, 5 or 6 of the same block of ten).
-- 40 scrapped robots (i % 100 in 30, 70) are soft-deleted; from i = 130 on
-- they carry the serial number of machine i - 120, same manufacturer.
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2000),
e AS (
    SELECT i,
           1 + ((i - 1) / 10) % 5 AS s,
           CASE WHEN i % 20 < 3  THEN 'cnc_mill'
                WHEN i % 20 < 5  THEN 'cnc_lathe'
                WHEN i % 20 < 9  THEN 'plc'
                WHEN i % 20 < 12 THEN 'robot'
                WHEN i % 20 = 12 THEN 'press'
                WHEN i % 20 < 15 THEN 'conveyor'
                WHEN i % 20 = 15 THEN 'laser_cutter'
                WHEN i % 20 = 16 THEN 'injection_molding'
                WHEN i % 20 = 17 THEN 'cmm'
                WHEN i % 20 = 18 THEN 'agv'
                WHEN (i / 20) % 2 = 0 THEN 'test_bench'
                ELSE 'other' END AS code,
           CASE WHEN i % 100 IN (30, 70) THEN 1 ELSE 0 END AS del,
           CASE WHEN i % 100 IN (30, 70) AND i > 120 THEN i - 120 ELSE i END AS j
    FROM n),
m AS (
    SELECT e.*,
           CASE code
               WHEN 'cnc_mill'          THEN CASE (i / 20) % 2 WHEN 0 THEN 14 ELSE 15 END
               WHEN 'cnc_lathe'         THEN 14
               WHEN 'plc'               THEN CASE (i / 20) % 2 WHEN 0 THEN 4 ELSE 5 END
               WHEN 'robot'             THEN CASE (i / 20) % 3 WHEN 0 THEN 17 WHEN 1 THEN 15 ELSE 18 END
               WHEN 'press'             THEN 16
               WHEN 'laser_cutter'      THEN 16
               WHEN 'injection_molding' THEN 20
               WHEN 'cmm'               THEN 19
               WHEN 'agv'               THEN 17
               ELSE NULL END AS mf
    FROM e)
INSERT INTO equipment (id, asset_tag, serial_number, name, type_id, manufacturer_id, model, status_id,
                       location_id, controller_computer_id, commissioned_on, is_deleted, created_at, updated_at)
SELECT i,
       printf('EQ-%06d', 100000 + i),
       CASE WHEN i % 23 = 0 THEN NULL ELSE printf('%s%09d', CASE WHEN mf IS NULL THEN 'X' ELSE 'M' END, (j * 2654435761) % 134217728) END,
       printf('%s %s-%04d',
              CASE code WHEN 'cnc_mill' THEN 'Mill' WHEN 'cnc_lathe' THEN 'Lathe' WHEN 'plc' THEN 'PLC'
                        WHEN 'robot' THEN 'Robot' WHEN 'press' THEN 'Press brake' WHEN 'conveyor' THEN 'Conveyor'
                        WHEN 'laser_cutter' THEN 'Laser cutter' WHEN 'injection_molding' THEN 'Injection molder'
                        WHEN 'cmm' THEN 'CMM' WHEN 'agv' THEN 'AGV' WHEN 'test_bench' THEN 'Test bench'
                        ELSE 'Machine' END,
              (SELECT code FROM sites WHERE id = s), i),
       (SELECT id FROM equipment_types WHERE equipment_types.code = m.code),
       mf,
       CASE WHEN i % 17 = 0 THEN NULL
            ELSE CASE code
                     WHEN 'cnc_mill'          THEN CASE mf WHEN 14 THEN 'DMU 50 3rd Generation' ELSE 'ROBODRILL D21MiB5' END
                     WHEN 'cnc_lathe'         THEN CASE (i / 20) % 2 WHEN 0 THEN 'CTX beta 800' ELSE 'NLX 2500' END
                     WHEN 'plc'               THEN CASE mf WHEN 4 THEN 'S7-1500 CPU 1516-3 PN/DP' ELSE 'CX5140' END
                     WHEN 'robot'             THEN CASE mf WHEN 17 THEN 'KR 210 R2700-2' WHEN 15 THEN 'M-20iD/25' ELSE 'IRB 6700' END
                     WHEN 'press'             THEN 'TruBend 5130'
                     WHEN 'laser_cutter'      THEN 'TruLaser 3030 fiber'
                     WHEN 'injection_molding' THEN 'e-mac 310/100'
                     WHEN 'cmm'               THEN 'CONTURA 10/12/6'
                     WHEN 'agv'               THEN 'KMP 1500'
                     ELSE NULL END
       END,
       CASE WHEN del = 1 THEN 4
            ELSE CASE i % 25 WHEN 3 THEN 3 WHEN 7 THEN 2 WHEN 11 THEN 2 WHEN 19 THEN 4 ELSE 1 END END,
       CASE WHEN i % 19 = 0 THEN NULL
            ELSE (s - 1) * 12 + CASE WHEN code IN ('cnc_mill', 'cnc_lathe', 'plc', 'robot') THEN 6 + (i / 20) % 4
                                     WHEN code = 'agv' THEN 5
                                     ELSE 3 + (i / 20) % 3 END
       END,
       CASE WHEN code IN ('plc', 'conveyor', 'agv', 'other') OR i % 11 = 0 THEN NULL
            ELSE 10 * ((i - 1) / 10) + 4 + i % 3 END,
       CASE WHEN i % 13 = 0 THEN NULL ELSE date('2008-01-01', printf('+%d days', (i * 97) % 5400)) END,
       del,
       strftime('%Y-%m-%dT%H:%M:%SZ', '2019-06-01 07:30:00', printf('+%d hours', i * 17)),
       strftime('%Y-%m-%dT%H:%M:%SZ', '2019-06-01 07:30:00', printf('+%d hours', i * 17 + (i * 53) % 1000))
FROM m
ORDER BY i;

-- Ten firmware products, ten releases each: release id (p - 1) * 10 + v + 1.
WITH RECURSIVE v(v) AS (SELECT 0 UNION ALL SELECT v + 1 FROM v WHERE v < 9),
p(p, mf, name, major) AS (VALUES
        (1,  4,  'SINUMERIK 840D sl',            4),
        (2,  4,  'SIMATIC S7-1500 CPU firmware', 2),
        (3,  5,  'TwinCAT 3 Runtime',            3),
        (4,  15, 'FANUC Series 0i-F',            1),
        (5,  15, 'FANUC R-30iB Plus',            9),
        (6,  17, 'KUKA System Software',         8),
        (7,  18, 'ABB RobotWare',                6),
        (8,  16, 'TRUMPF TruControl',            1),
        (9,  19, 'ZEISS CALYPSO',                7),
        (10, 20, 'ENGEL CC300',                  1))
INSERT INTO firmware_releases (id, manufacturer_id, name, version, released_on, notes, created_at)
SELECT (p.p - 1) * 10 + v.v + 1,
       p.mf,
       p.name,
       printf('%d.%d.%d', p.major + v.v / 4, v.v % 4, (v.v * 3) % 5),
       CASE WHEN v.v = 0 AND p.p % 3 = 0 THEN NULL
            ELSE date('2016-01-15', printf('+%d days', p.p * 11 + v.v * 150)) END,
       CASE v.v WHEN 0 THEN 'Shipped with the first machines'
                WHEN 5 THEN 'Security fixes; reboot required'
                WHEN 9 THEN 'Current long-term support release'
                ELSE NULL END,
       strftime('%Y-%m-%dT%H:%M:%SZ', '2016-01-15 10:00:00', printf('+%d days', p.p * 11 + v.v * 150 + 3), printf('+%d minutes', p.p * 7))
FROM p CROSS JOIN v
ORDER BY 1;

-- Firmware history: every controlled machine has its install of the product
-- that fits its control; even ids were upgraded once, so they have a closed
-- install (removed_at set) and a current one.
WITH k(k) AS (VALUES (1), (2)),
eq AS (
    SELECT e.id,
           CASE t.code
               WHEN 'cnc_mill'          THEN CASE e.id % 2 WHEN 0 THEN 1 ELSE 4 END
               WHEN 'cnc_lathe'         THEN CASE e.id % 2 WHEN 0 THEN 1 ELSE 4 END
               WHEN 'plc'               THEN CASE e.manufacturer_id WHEN 4 THEN 2 ELSE 3 END
               WHEN 'robot'             THEN CASE e.manufacturer_id WHEN 17 THEN 6 WHEN 15 THEN 5 ELSE 7 END
               WHEN 'press'             THEN 8
               WHEN 'laser_cutter'      THEN 8
               WHEN 'cmm'               THEN 9
               WHEN 'injection_molding' THEN 10
               ELSE NULL END AS p,
           (e.id * 37) % 8000 AS t1
    FROM equipment AS e JOIN equipment_types AS t ON t.id = e.type_id),
x AS (
    SELECT eq.id AS equipment_id,
           k.k,
           (eq.p - 1) * 10 + 1 + CASE k.k WHEN 1 THEN eq.id % 6 ELSE eq.id % 6 + 1 + eq.id % 3 END AS release_id,
           strftime('%Y-%m-%dT%H:%M:%SZ', '2019-01-07 09:00:00', printf('+%d hours', eq.t1)) AS first_at,
           strftime('%Y-%m-%dT%H:%M:%SZ', '2019-01-07 09:00:00', printf('+%d hours', eq.t1 + 9600 + eq.id % 500)) AS upgrade_at
    FROM eq CROSS JOIN k
    WHERE eq.p IS NOT NULL AND (k.k = 1 OR eq.id % 2 = 0))
INSERT INTO firmware_installs (equipment_id, firmware_release_id, firmware_name, installed_at, installed_by, removed_at)
SELECT x.equipment_id,
       x.release_id,
       (SELECT name FROM firmware_releases WHERE id = x.release_id),
       CASE x.k WHEN 1 THEN x.first_at ELSE x.upgrade_at END,
       CASE WHEN x.equipment_id % 9 = 0 THEN NULL ELSE 1 + (x.equipment_id * 7 + x.k) % 300 END,
       CASE WHEN x.k = 1 AND x.equipment_id % 2 = 0 THEN x.upgrade_at ELSE NULL END
FROM x
ORDER BY x.equipment_id, x.k;

-- 2500 maintenance records spread over every machine.
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2500),
mx AS (
    SELECT i,
           1 + ((i - 1) * 7) % 2000 AS equipment_id,
           CASE WHEN i % 10 < 5 THEN 'preventive'
                WHEN i % 10 < 7 THEN 'corrective'
                WHEN i % 10 < 9 THEN 'calibration'
                ELSE 'inspection' END AS kind,
           i * 13 * 60 + (i % 7) * 11 AS at_min
    FROM n)
INSERT INTO maintenance_events (equipment_id, kind, performed_at, performed_by, downtime_minutes, notes, created_at)
SELECT equipment_id,
       kind,
       strftime('%Y-%m-%dT%H:%M:%SZ', '2020-01-06 06:00:00', printf('+%d minutes', at_min)),
       CASE WHEN i % 10 = 0 THEN NULL ELSE 1 + (i * 31) % 300 END,
       CASE kind WHEN 'preventive'  THEN 60 + (i % 4) * 60
                 WHEN 'corrective'  THEN 30 + (i * 17) % 570
                 WHEN 'calibration' THEN (i % 4) * 30
                 ELSE 0 END,
       CASE kind WHEN 'preventive'  THEN CASE WHEN i % 3 = 0 THEN NULL ELSE 'Quarterly service: lubrication, filters, way covers' END
                 WHEN 'corrective'  THEN CASE i % 4 WHEN 0 THEN 'Replaced spindle encoder cable'
                                                    WHEN 1 THEN 'Axis Z servo alarm cleared, drive reset'
                                                    WHEN 2 THEN 'Hydraulic leak at clamp, seal replaced'
                                                    ELSE 'Safety door switch replaced' END
                 WHEN 'calibration' THEN printf('Calibration certificate CAL-%05d', i)
                 ELSE NULL END,
       strftime('%Y-%m-%dT%H:%M:%SZ', '2020-01-06 06:00:00', printf('+%d minutes', at_min + 95))
FROM mx
ORDER BY i;

-------------------------------------------------------------------------------
-- network
-------------------------------------------------------------------------------

-- 1000 devices, 200 per site. Device i: site s = 1 + ((i-1)/20) % 5, kind by
-- c = (i-1) % 20, number q = 20 * ((i-1)/100) + c within its site. The
-- management address is 10.<s>.28.<q + 10> (the mgmt VLAN's subnet).
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1000),
d AS (
    SELECT i,
           1 + ((i - 1) / 20) % 5 AS s,
           (i - 1) % 20 AS c,
           (i - 1) / 100 AS blk,
           20 * ((i - 1) / 100) + (i - 1) % 20 AS q,
           CASE WHEN (i - 1) % 20 < 4 THEN 'switch'
                WHEN (i - 1) % 20 = 4 THEN 'router'
                WHEN (i - 1) % 20 = 5 THEN 'firewall'
                ELSE 'access_point' END AS kind
    FROM n),
dm AS (
    SELECT d.*,
           CASE kind WHEN 'switch' THEN CASE WHEN c % 2 = 0 THEN 7 ELSE 8 END
                     WHEN 'router' THEN 7
                     WHEN 'firewall' THEN 10
                     ELSE CASE WHEN c = 19 AND blk % 3 = 2 THEN NULL ELSE 9 END END AS mf,
           CASE WHEN c = 18 AND blk % 4 = 3 THEN 1 ELSE 0 END AS del
    FROM d)
INSERT INTO network_devices (id, hostname, asset_tag, serial_number, kind, manufacturer_id, model, status_id,
                             location_id, management_ip, firmware_version, is_deleted, created_at, updated_at)
SELECT i,
       printf('%s-%s-%03d', (SELECT lower(code) FROM sites WHERE id = s),
              CASE kind WHEN 'switch' THEN 'sw' WHEN 'router' THEN 'rtr' WHEN 'firewall' THEN 'fw' ELSE 'ap' END,
              q + 1),
       CASE WHEN kind = 'access_point' AND i % 7 = 0 THEN NULL ELSE printf('NET-%05d', i) END,
       CASE WHEN kind = 'access_point' AND mf IS NULL THEN NULL
            ELSE printf('%s%08X', CASE mf WHEN 7 THEN 'FOC' WHEN 8 THEN '94' WHEN 10 THEN 'FG100F' ELSE 'CNR' END,
                        (i * 2654435761) % 4294967296) END,
       kind,
       mf,
       CASE kind WHEN 'switch' THEN CASE mf WHEN 7 THEN 'Catalyst 9300-24T' ELSE 'RSP35' END
                 WHEN 'router' THEN 'ISR 4331'
                 WHEN 'firewall' THEN 'FortiGate 100F'
                 ELSE CASE WHEN mf IS NULL THEN NULL WHEN blk % 2 = 0 THEN 'AP-515' ELSE 'AP-635' END END,
       CASE WHEN del = 1 THEN 4 WHEN i % 41 = 0 THEN 2 WHEN i % 97 = 0 THEN 3 ELSE 1 END,
       CASE WHEN kind = 'access_point' AND i % 13 = 0 THEN NULL
            ELSE (s - 1) * 12 + CASE kind WHEN 'switch' THEN CASE WHEN c < 2 THEN 11 ELSE 6 + blk % 3 END
                                          WHEN 'access_point' THEN 3 + c % 3
                                          ELSE 11 END
       END,
       CASE WHEN c = 19 AND blk % 2 = 1 THEN NULL ELSE printf('10.%d.28.%d', s, q + 10) END,
       CASE kind WHEN 'switch' THEN CASE mf WHEN 7 THEN '17.9.4a' ELSE 'HiOS-3S 09.1.00' END
                 WHEN 'router' THEN '17.6.5'
                 WHEN 'firewall' THEN '7.2.8'
                 ELSE CASE WHEN i % 5 = 0 THEN NULL ELSE '8.10.0.6' END END,
       del,
       strftime('%Y-%m-%dT%H:%M:%SZ', '2019-02-04 09:00:00', printf('+%d hours', i * 29)),
       strftime('%Y-%m-%dT%H:%M:%SZ', '2019-02-04 09:00:00', printf('+%d hours', i * 29 + (i * 71) % 5000))
FROM dm
ORDER BY i;

-- 12 ports on each switch (Cisco: GigabitEthernet1/0/n, 11 and 12 the 10G
-- uplinks; Hirschmann: 1/n), 4 on each firewall.
WITH RECURSIVE p(p) AS (SELECT 1 UNION ALL SELECT p + 1 FROM p WHERE p < 12)
INSERT INTO switch_ports (network_device_id, name, speed_mbps, admin_up, description)
SELECT d.id,
       CASE WHEN d.kind = 'firewall' THEN 'port' || p.p
            WHEN d.manufacturer_id = 7 THEN 'GigabitEthernet1/0/' || p.p
            ELSE '1/' || p.p END,
       CASE WHEN d.kind = 'firewall' THEN 1000
            WHEN p.p = 8 AND (4 * ((d.id - 1) / 100) + (d.id - 1) % 20) % 4 = 3 THEN NULL
            WHEN d.manufacturer_id = 7 THEN CASE WHEN p.p > 10 THEN 10000 ELSE 1000 END
            ELSE CASE WHEN p.p > 8 THEN 1000 ELSE 100 END END,
       CASE WHEN d.kind = 'switch' AND p.p = 8 AND (4 * ((d.id - 1) / 100) + (d.id - 1) % 20) % 4 = 3 THEN 0 ELSE 1 END,
       CASE WHEN d.kind = 'firewall' THEN CASE p.p WHEN 1 THEN 'WAN to site router' WHEN 2 THEN 'DMZ' ELSE NULL END
            WHEN p.p = 12 THEN 'Trunk to core'
            WHEN p.p = 11 THEN 'Access point'
            WHEN p.p IN (9, 10) THEN 'Machine network'
            WHEN p.p = 8 AND (4 * ((d.id - 1) / 100) + (d.id - 1) % 20) % 4 = 3 THEN 'unused, parked in quarantine VLAN'
            ELSE NULL END
FROM network_devices AS d CROSS JOIN p
WHERE d.kind = 'switch' OR (d.kind = 'firewall' AND p.p <= 4)
ORDER BY d.id, p.p;

-- Ten VLANs per site; vlan id (site - 1) * 10 + v + 1.
WITH t(v, tag, name, description) AS (VALUES
        (0, 10,  'office',     'Office clients'),
        (1, 20,  'production', 'Line PCs and HMIs'),
        (2, 30,  'ot-control', 'PLCs, robots and machine controls'),
        (3, 40,  'voice',      'IP phones'),
        (4, 50,  'printers',   NULL),
        (5, 60,  'wifi-corp',  'Corporate WLAN'),
        (6, 70,  'wifi-guest', 'Guest WLAN, internet only'),
        (7, 100, 'mgmt',       'Out-of-band management of network gear'),
        (8, 200, 'servers',    NULL),
        (9, 999, 'quarantine', 'Unused ports are parked here'))
INSERT INTO vlans (id, site_id, vlan_tag, name, description)
SELECT (s.id - 1) * 10 + t.v + 1, s.id, t.tag, t.name, t.description
FROM sites AS s CROSS JOIN t
ORDER BY 1;

-- One /22 per VLAN (10.<site>.<4 v>.0/22), IPv6 /64s for office and servers,
-- and a WAN transit /30 per site that no VLAN carries.
INSERT INTO subnets (site_id, cidr, vlan_id, gateway, ip_version, description)
SELECT v.site_id,
       printf('10.%d.%d.0/22', v.site_id, 4 * ((v.id - 1) % 10)),
       v.id,
       CASE WHEN v.vlan_tag = 999 THEN NULL ELSE printf('10.%d.%d.1', v.site_id, 4 * ((v.id - 1) % 10)) END,
       4,
       CASE WHEN v.vlan_tag = 999 THEN 'No gateway: isolated' ELSE NULL END
FROM vlans AS v
ORDER BY v.id;

INSERT INTO subnets (site_id, cidr, vlan_id, gateway, ip_version, description)
SELECT v.site_id,
       printf('fd00:%x:%x::/64', v.site_id, v.vlan_tag),
       v.id,
       printf('fd00:%x:%x::1', v.site_id, v.vlan_tag),
       6,
       'IPv6 pilot'
FROM vlans AS v
WHERE v.vlan_tag IN (10, 200)
ORDER BY v.id;

INSERT INTO subnets (site_id, cidr, vlan_id, gateway, ip_version, description)
SELECT s.id, printf('172.16.%d.0/30', s.id), NULL, NULL, 4, 'WAN transit to the carrier'
FROM sites AS s
ORDER BY s.id;

-- Addresses. Computers (every other one, live ones only) on the VLAN of
-- their role: 10.<s>.<4 v + (q + 10) / 256>.<(q + 10) % 256>.
WITH c AS (
    SELECT id, hostname, role,
           1 + ((id - 1) / 10) % 5 AS s,
           ((id - 1) / 50) * 10 + (id - 1) % 10 AS q,
           CASE role WHEN 'line_pc' THEN 1 WHEN 'hmi' THEN 1 WHEN 'server' THEN 8 ELSE 0 END AS v
    FROM computers
    WHERE is_deleted = 0 AND id % 2 = 1)
INSERT INTO ip_addresses (address, ip_version, computer_interface_id, dns_name, created_at, updated_at, subnet_id)
SELECT printf('10.%d.%d.%d', s, 4 * v + (q + 10) / 256, (q + 10) % 256),
       4,
       c.id,
       CASE WHEN c.id % 11 = 0 THEN NULL ELSE c.hostname || '.' || (SELECT lower(code) FROM sites WHERE id = s) || '.corp.example' END,
       strftime('%Y-%m-%dT%H:%M:%SZ', '2020-03-02 10:00:00', printf('+%d minutes', c.id * 41)),
       strftime('%Y-%m-%dT%H:%M:%SZ', '2020-03-02 10:00:00', printf('+%d minutes', c.id * 41 + (c.id * 7) % 50000)),
       (SELECT id FROM subnets WHERE cidr = printf('10.%d.%d.0/22', s, 4 * v))
FROM c
ORDER BY c.id;

-- IPv6 for half of the servers: fd00:<s>:c8::<q + 16>.
WITH c AS (
    SELECT id, hostname,
           1 + ((id - 1) / 10) % 5 AS s,
           ((id - 1) / 50) * 10 + (id - 1) % 10 AS q
    FROM computers
    WHERE is_deleted = 0 AND role = 'server' AND id % 20 = 19)
INSERT INTO ip_addresses (address, ip_version, computer_interface_id, dns_name, created_at, updated_at, subnet_id)
SELECT printf('fd00:%x:c8::%x', s, q + 16),
       6,
       c.id,
       c.hostname || '.' || (SELECT lower(code) FROM sites WHERE id = s) || '.corp.example',
       '2023-10-09T08:00:00Z',
       '2023-10-09T08:00:00Z',
       (SELECT id FROM subnets WHERE cidr = printf('fd00:%x:c8::/64', s))
FROM c
ORDER BY c.id;

-- Management addresses of the network gear.
INSERT INTO ip_addresses (address, ip_version, network_device_id, dns_name, created_at, updated_at, subnet_id)
SELECT d.management_ip,
       4,
       d.id,
       d.hostname || '.mgmt.' || (SELECT lower(code) FROM sites WHERE id = 1 + ((d.id - 1) / 20) % 5) || '.corp.example',
       d.created_at,
       d.updated_at,
       (SELECT id FROM subnets WHERE cidr = printf('10.%d.28.0/22', 1 + ((d.id - 1) / 20) % 5))
FROM network_devices AS d
WHERE d.management_ip IS NOT NULL
ORDER BY d.id;

-- Gateways (held by the site's first router, id 20 * (site - 1) + 5) and the
-- router's WAN transit address.
INSERT INTO ip_addresses (address, ip_version, network_device_id, dns_name, created_at, updated_at, subnet_id)
SELECT sn.gateway,
       sn.ip_version,
       20 * (sn.site_id - 1) + 5,
       CASE WHEN sn.ip_version = 4 THEN printf('gw-%s.%s.corp.example', v.name, (SELECT lower(code) FROM sites WHERE id = sn.site_id)) ELSE NULL END,
       '2019-02-05T12:00:00Z',
       '2021-07-19T16:30:00Z',
       sn.id
FROM subnets AS sn LEFT JOIN vlans AS v ON v.id = sn.vlan_id
WHERE sn.gateway IS NOT NULL
ORDER BY sn.id;

INSERT INTO ip_addresses (address, ip_version, network_device_id, dns_name, created_at, updated_at, subnet_id)
SELECT printf('172.16.%d.1', s.id), 4, 20 * (s.id - 1) + 5, NULL, '2019-02-05T12:00:00Z', '2019-02-05T12:00:00Z',
       (SELECT id FROM subnets WHERE cidr = printf('172.16.%d.0/30', s.id))
FROM sites AS s
ORDER BY s.id;

-- Siemens PLCs (live ones) on the OT VLAN: 10.<s>.8.<q + 10>. The Beckhoff
-- controllers sit behind their line PC and have no address of their own.
WITH e AS (
    SELECT e.id, e.asset_tag,
           1 + ((e.id - 1) / 10) % 5 AS s,
           ((e.id - 1) / 50) * 10 + (e.id - 1) % 10 AS q
    FROM equipment AS e JOIN equipment_types AS t ON t.id = e.type_id
    WHERE t.code = 'plc' AND e.manufacturer_id = 4 AND e.is_deleted = 0)
INSERT INTO ip_addresses (address, ip_version, equipment_id, dns_name, created_at, updated_at, subnet_id)
SELECT printf('10.%d.%d.%d', s, 8 + (q + 10) / 256, (q + 10) % 256),
       4,
       e.id,
       CASE WHEN e.id % 3 = 0 THEN NULL ELSE lower(e.asset_tag) || '.ot.' || (SELECT lower(code) FROM sites WHERE id = s) || '.corp.example' END,
       strftime('%Y-%m-%dT%H:%M:%SZ', '2020-05-11 07:00:00', printf('+%d minutes', e.id * 53)),
       strftime('%Y-%m-%dT%H:%M:%SZ', '2020-05-11 07:00:00', printf('+%d minutes', e.id * 53)),
       (SELECT id FROM subnets WHERE cidr = printf('10.%d.8.0/22', s))
FROM e
ORDER BY e.id;

-- Printer addresses, held by no asset here: printers.ip_address_id points at
-- them (printer i: 10.<s>.16.<q + 10>; network printers, and half of the
-- shared ones).
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1000),
p AS (
    SELECT i,
           1 + ((i - 1) / 10) % 5 AS s,
           ((i - 1) / 50) * 10 + (i - 1) % 10 AS q
    FROM n
    WHERE i % 4 IN (0, 1) OR i % 8 = 2)
INSERT INTO ip_addresses (address, ip_version, dns_name, created_at, updated_at, subnet_id)
SELECT printf('10.%d.16.%d', s, q + 10),
       4,
       CASE WHEN i % 9 = 0 THEN NULL
            ELSE printf('%s-prn-%04d.%s.corp.example', (SELECT lower(code) FROM sites WHERE id = s), q + 1, (SELECT lower(code) FROM sites WHERE id = s)) END,
       strftime('%Y-%m-%dT%H:%M:%SZ', '2020-09-01 08:00:00', printf('+%d minutes', i * 67)),
       strftime('%Y-%m-%dT%H:%M:%SZ', '2020-09-01 08:00:00', printf('+%d minutes', i * 67)),
       (SELECT id FROM subnets WHERE cidr = printf('10.%d.16.0/22', s))
FROM p
ORDER BY i;

-- Reserved addresses (.2 and .3, kept free for a second gateway), held by no one.
WITH r(v, h) AS (VALUES (0, 2), (0, 3), (1, 2), (1, 3), (2, 2), (2, 3))
INSERT INTO ip_addresses (address, ip_version, dns_name, created_at, updated_at, subnet_id)
SELECT printf('10.%d.%d.%d', s.id, 4 * r.v, r.h),
       4,
       NULL,
       '2019-02-05T12:00:00Z',
       '2019-02-05T12:00:00Z',
       CASE WHEN s.id = 5 THEN NULL ELSE (SELECT id FROM subnets WHERE cidr = printf('10.%d.%d.0/22', s.id, 4 * r.v)) END
FROM sites AS s CROSS JOIN r
ORDER BY s.id, r.v, r.h;

-- Port n of switch w (w = 4 * ((id-1)/100) + (id-1) % 20, 0..39 within its
-- site) connects: n 1..8 the first interface of a computer of the same site,
-- n 9..10 a machine of the same site, n 11 an access point, n 12 (even w) the
-- site router. Port 8 of every fourth switch is left unpatched. Each
-- firewall's port 1 goes to the site router.
WITH sp AS (
    SELECT p.id AS port_id,
           p.network_device_id AS dev,
           row_number() OVER (PARTITION BY p.network_device_id ORDER BY p.id) AS pn,
           d.kind
    FROM switch_ports AS p JOIN network_devices AS d ON d.id = p.network_device_id),
x AS (
    SELECT sp.*,
           1 + ((dev - 1) / 20) % 5 AS s,
           4 * ((dev - 1) / 100) + (dev - 1) % 20 AS w
    FROM sp)
INSERT INTO port_connections (switch_port_id, computer_interface_id, equipment_id, network_device_id, cable_label, patched_at)
SELECT port_id,
       CASE WHEN kind = 'switch' AND pn <= 8
            THEN 50 * ((w * 8 + pn - 1) / 10) + 10 * (s - 1) + (w * 8 + pn - 1) % 10 + 1 END,
       CASE WHEN kind = 'switch' AND pn IN (9, 10)
            THEN 50 * ((w * 2 + pn - 9) / 10) + 10 * (s - 1) + (w * 2 + pn - 9) % 10 + 1 END,
       CASE WHEN kind = 'switch' AND pn = 11 THEN 100 * (w / 14) + 20 * (s - 1) + 6 + w % 14 + 1
            WHEN kind = 'firewall' OR pn = 12 THEN 20 * (s - 1) + 5 END,
       CASE WHEN port_id % 17 = 0 THEN NULL
            ELSE printf('%s-%s%02d-%02d', (SELECT code FROM sites WHERE id = s), CASE kind WHEN 'firewall' THEN 'FW' ELSE 'SW' END, w + 1, pn) END,
       strftime('%Y-%m-%dT%H:%M:%SZ', '2019-03-04 07:00:00', printf('+%d minutes', port_id * 97))
FROM x
WHERE (kind = 'switch' AND NOT (pn = 8 AND w % 4 = 3) AND (pn <> 12 OR w % 2 = 0))
   OR (kind = 'firewall' AND pn = 1)
ORDER BY port_id;

-- Access ports untagged in the VLAN of what they serve; AP and trunk ports
-- untagged in mgmt, with tagged VLANs on top. The unused port is parked in
-- the quarantine VLAN.
WITH sp AS (
    SELECT p.id AS port_id,
           p.network_device_id AS dev,
           row_number() OVER (PARTITION BY p.network_device_id ORDER BY p.id) AS pn,
           d.kind
    FROM switch_ports AS p JOIN network_devices AS d ON d.id = p.network_device_id),
x AS (
    SELECT sp.*,
           1 + ((dev - 1) / 20) % 5 AS s,
           4 * ((dev - 1) / 100) + (dev - 1) % 20 AS w
    FROM sp),
r(kind, lo, hi, tag, tagged) AS (VALUES
        ('switch',   1,  4,  10,  0),
        ('switch',   5,  8,  20,  0),
        ('switch',   9,  10, 30,  0),
        ('switch',   11, 12, 100, 0),
        ('switch',   11, 11, 60,  1),
        ('switch',   12, 12, 10,  1),
        ('switch',   12, 12, 20,  1),
        ('firewall', 1,  1,  100, 0))
INSERT INTO port_vlans (switch_port_id, vlan_id, tagged)
SELECT x.port_id,
       (SELECT id FROM vlans WHERE site_id = x.s
                             AND vlan_tag = CASE WHEN x.pn = 8 AND x.w % 4 = 3 AND x.kind = 'switch' THEN 999 ELSE r.tag END),
       r.tagged
FROM x JOIN r ON r.kind = x.kind AND x.pn BETWEEN r.lo AND r.hi
WHERE r.tagged = 0 OR x.pn <> 12 OR x.w % 2 = 0
ORDER BY x.port_id, r.tagged, r.tag;

-------------------------------------------------------------------------------
-- printers
-------------------------------------------------------------------------------

INSERT INTO printer_models (id, manufacturer_id, name, technology, is_color) VALUES
    (1,  2,  'LaserJet Enterprise M507dn',       'laser',            0),
    (2,  2,  'Color LaserJet Enterprise M555dn', 'laser',            1),
    (3,  2,  'LaserJet Pro 4002dn',              'laser',            0),
    (4,  12, 'HL-L6400DW',                       'laser',            0),
    (5,  12, 'QL-820NWB',                        'direct_thermal',   0),
    (6,  13, 'ECOSYS P3155dn',                   'laser',            0),
    (7,  13, 'TASKalfa 2554ci',                  'laser',            1),
    (8,  11, 'ZT411',                            'thermal_transfer', 0),
    (9,  11, 'ZD421d',                           'direct_thermal',   0),
    (10, 11, 'ZT610',                            'thermal_transfer', 0),
    (11, 11, 'ZD621t',                           'thermal_transfer', 0),
    (12, 25, 'PM45',                             'thermal_transfer', 0),
    (13, 25, 'PC42d',                            'direct_thermal',   0),
    (14, 26, 'WorkForce Pro WF-C5790',           'inkjet',           1),
    (15, 26, 'LQ-690II',                         'dot_matrix',       0),
    (16, 26, 'ColorWorks CW-C6000Ae',            'inkjet',           1);

-- 1000 printers. Connection by i % 4: 0, 1 network (own address), 2 shared
-- through a server of the same site (half of them also have an address),
-- 3 USB on a line PC of the same site (no hostname, no address).
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1000),
p AS (
    SELECT i,
           1 + ((i - 1) / 10) % 5 AS s,
           ((i - 1) / 50) * 10 + (i - 1) % 10 AS q,
           CASE i % 4 WHEN 2 THEN 'shared' WHEN 3 THEN 'usb' ELSE 'network' END AS conn,
           CASE WHEN i % 21 = 0 THEN NULL ELSE 1 + (i * 7) % 16 END AS model,
           CASE WHEN i % 35 = 0 THEN 1 ELSE 0 END AS del
    FROM n)
INSERT INTO printers (id, hostname, asset_tag, serial_number, model_id, status_id, location_id, connection,
                      ip_address_id, print_server_id, is_deleted, created_at, updated_at, duplex)
SELECT i,
       CASE WHEN conn = 'usb' THEN NULL ELSE printf('%s-prn-%04d', (SELECT lower(code) FROM sites WHERE id = s), q + 1) END,
       CASE WHEN i % 30 = 11 THEN NULL ELSE printf('PRN-%06d', 200000 + i) END,
       CASE WHEN i % 27 = 0 THEN NULL ELSE printf('PX%08X', (i * 2654435761) % 4294967296) END,
       model,
       CASE WHEN del = 1 THEN 4 WHEN i % 16 = 5 THEN 2 WHEN i % 45 = 8 THEN 3 ELSE 1 END,
       CASE WHEN i % 14 = 0 THEN NULL
            ELSE (s - 1) * 12 + CASE WHEN model IN (5, 8, 9, 10, 11, 12, 13, 15) THEN 6 + i % 4 ELSE 3 + i % 3 END END,
       conn,
       CASE WHEN conn = 'usb' THEN NULL
            ELSE (SELECT id FROM ip_addresses WHERE address = printf('10.%d.16.%d', s, q + 10)) END,
       CASE conn WHEN 'shared' THEN 50 * (q % 4) + 10 * (s - 1) + 9
                 WHEN 'usb' THEN 50 * (q % 40) + 10 * (s - 1) + 4
                 ELSE NULL END,
       del,
       strftime('%Y-%m-%dT%H:%M:%SZ', '2020-08-17 09:00:00', printf('+%d hours', i * 19)),
       strftime('%Y-%m-%dT%H:%M:%SZ', '2020-08-17 09:00:00', printf('+%d hours', i * 19 + (i * 31) % 3000)),
       CASE WHEN model IN (1, 2, 3, 4, 6, 7) AND i % 3 <> 0 THEN 1 ELSE 0 END
FROM p
ORDER BY i;

-- OEM consumables; for each printer model, its lowest-id compatible item is
-- its main consumable (toner black, labels or ribbon).
INSERT INTO supply_items (id, manufacturer_id, part_number, name, kind, color, alarm_threshold, stock_target, storage_location_id) VALUES
    (1,  2,  'CF289A',       'HP 89A Black LaserJet Toner',           'toner',  'black',   4,  12, 12),
    (2,  2,  'CF289X',       'HP 89X High Yield Black Toner',         'toner',  'black',   2,  6,  12),
    (3,  2,  'RM2-1256',     'HP fuser kit 220 V (M507)',             'fuser',  NULL,      0,  1,  NULL),
    (4,  2,  'W2120A',       'HP 212A Black Toner',                   'toner',  'black',   2,  6,  12),
    (5,  2,  'W2121A',       'HP 212A Cyan Toner',                    'toner',  'cyan',    1,  3,  12),
    (6,  2,  'W2122A',       'HP 212A Yellow Toner',                  'toner',  'yellow',  1,  3,  12),
    (7,  2,  'W2123A',       'HP 212A Magenta Toner',                 'toner',  'magenta', 1,  3,  12),
    (8,  2,  'W1490A',       'HP 149A Black Toner',                   'toner',  'black',   3,  8,  24),
    (9,  12, 'TN-3480',      'Brother TN-3480 toner black',           'toner',  'black',   3,  8,  24),
    (10, 12, 'DR-3400',      'Brother DR-3400 drum unit',             'drum',   NULL,      1,  2,  24),
    (11, 12, 'DK-22205',     'Continuous paper tape 62 mm',           'labels', NULL,      10, 40, 36),
    (12, 12, 'DK-11209',     'Small address labels 29 x 62 mm',       'labels', NULL,      5,  20, 36),
    (13, 13, 'TK-3160',      'Kyocera TK-3160 toner kit black',       'toner',  'black',   3,  8,  36),
    (14, 13, 'FK-3300',      'Kyocera FK-3300 fuser unit',            'fuser',  NULL,      0,  1,  NULL),
    (15, 13, 'TK-8345K',     'Kyocera TK-8345K toner black',          'toner',  'black',   2,  5,  48),
    (16, 13, 'TK-8345C',     'Kyocera TK-8345C toner cyan',           'toner',  'cyan',    1,  3,  48),
    (17, 13, 'TK-8345M',     'Kyocera TK-8345M toner magenta',        'toner',  'magenta', 1,  3,  48),
    (18, 13, 'TK-8345Y',     'Kyocera TK-8345Y toner yellow',         'toner',  'yellow',  1,  3,  48),
    (19, 11, '05555BK11045', 'Wax/resin ribbon 110 mm x 450 m',       'ribbon', 'black',   6,  24, 12),
    (20, 11, '880247-025',   'Z-Perform 1000D labels 102 x 25 mm',    'labels', NULL,      10, 50, 12),
    (21, 11, '3007201-T',    'Z-Select 2000T labels 102 x 152 mm',    'labels', NULL,      10, 50, 24),
    (22, 11, '05319GS11007', 'Wax ribbon 110 mm x 74 m',              'ribbon', 'black',   4,  12, 24),
    (23, 25, 'I90066-0',     'Intermec TMX 2000 ribbon 110 mm',       'ribbon', 'black',   4,  12, 60),
    (24, 25, 'E06180',       'Duratherm III labels 102 x 76 mm',      'labels', NULL,      8,  30, 60),
    (25, 26, 'T9451',        'Epson T9451 XL ink black',              'ink',    'black',   2,  6,  NULL),
    (26, 26, 'T9452',        'Epson T9452 XL ink cyan',               'ink',    'cyan',    1,  3,  NULL),
    (27, 26, 'T9453',        'Epson T9453 XL ink magenta',            'ink',    'magenta', 1,  3,  NULL),
    (28, 26, 'T9454',        'Epson T9454 XL ink yellow',             'ink',    'yellow',  1,  3,  NULL),
    (29, 26, 'S015610',      'Epson fabric ribbon black (LQ-690)',    'ribbon', 'black',   2,  6,  36),
    (30, 26, 'SJIC36P(K)',   'ColorWorks ink cartridge black',        'ink',    'black',   2,  4,  NULL),
    (31, 26, 'SJIC36P(C)',   'ColorWorks ink cartridge cyan',         'ink',    'cyan',    1,  2,  NULL),
    (32, 26, 'SJIC36P(M)',   'ColorWorks ink cartridge magenta',      'ink',    'magenta', 1,  2,  NULL),
    (33, 26, 'SJIC36P(Y)',   'ColorWorks ink cartridge yellow',       'ink',    'yellow',  1,  2,  NULL),
    (34, 26, 'C33S045417',   'ColorWorks matte labels 102 x 76 mm',   'labels', NULL,      5,  20, NULL);

INSERT INTO supply_compatibility (printer_model_id, supply_item_id) VALUES
    (1, 1), (1, 2), (1, 3),
    (2, 4), (2, 5), (2, 6), (2, 7),
    (3, 8),
    (4, 9), (4, 10),
    (5, 11), (5, 12),
    (6, 13), (6, 14),
    (7, 15), (7, 16), (7, 17), (7, 18),
    (8, 19), (8, 21),
    (9, 20),
    (10, 19), (10, 21),
    (11, 21), (11, 22),
    (12, 23), (12, 24),
    (13, 24),
    (14, 25), (14, 26), (14, 27), (14, 28),
    (15, 29),
    (16, 30), (16, 31), (16, 32), (16, 33), (16, 34);

-- Each printer with a known model: its main consumable once used up
-- (installed, then removed) and, unless the printer is scrapped, the one in
-- it now. Page counters are unknown on every 17th printer.
WITH k(k) AS (VALUES (1), (2)),
pr AS (
    SELECT p.id,
           p.is_deleted,
           (SELECT min(supply_item_id) FROM supply_compatibility WHERE printer_model_id = p.model_id) AS item,
           (p.id * 4099) % 300000 AS t0,
           4320 + (60 + p.id % 90) * 1440 AS life,
           CASE WHEN p.id % 17 = 0 THEN NULL ELSE 1000 + (p.id * 37) % 50000 END AS pages0,
           2500 + (p.id * 13) % 4000 AS used
    FROM printers AS p
    WHERE p.model_id IS NOT NULL)
INSERT INTO supply_units (supply_item_id, printer_id, received_at, installed_at, removed_at, pages_at_install, pages_at_removal)
SELECT pr.item,
       pr.id,
       CASE k.k WHEN 1 THEN strftime('%Y-%m-%dT%H:%M:%SZ', '2022-01-03 07:00:00', printf('+%d minutes', pr.t0))
                ELSE strftime('%Y-%m-%dT%H:%M:%SZ', '2022-01-03 07:00:00', printf('+%d minutes', pr.t0 + pr.life - 14 * 1440)) END,
       CASE k.k WHEN 1 THEN strftime('%Y-%m-%dT%H:%M:%SZ', '2022-01-03 07:00:00', printf('+%d minutes', pr.t0 + 4320))
                ELSE strftime('%Y-%m-%dT%H:%M:%SZ', '2022-01-03 07:00:00', printf('+%d minutes', pr.t0 + pr.life + 10)) END,
       CASE k.k WHEN 1 THEN strftime('%Y-%m-%dT%H:%M:%SZ', '2022-01-03 07:00:00', printf('+%d minutes', pr.t0 + pr.life))
                ELSE NULL END,
       CASE k.k WHEN 1 THEN pr.pages0 ELSE pr.pages0 + pr.used END,
       CASE k.k WHEN 1 THEN pr.pages0 + pr.used ELSE NULL END
FROM pr CROSS JOIN k
WHERE k.k = 1 OR pr.is_deleted = 0
ORDER BY pr.id, k.k;

-- Spares in stock: not installed anywhere yet.
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 600)
INSERT INTO supply_units (supply_item_id, printer_id, received_at, installed_at, removed_at, pages_at_install, pages_at_removal)
SELECT 1 + (i - 1) % 34,
       NULL,
       strftime('%Y-%m-%dT%H:%M:%SZ', '2024-01-02 07:00:00', printf('+%d hours', i * 7)),
       NULL, NULL, NULL, NULL
FROM n
ORDER BY i;

-- Five daily counter readings of every live network printer.
WITH RECURSIVE d(d) AS (SELECT 0 UNION ALL SELECT d + 1 FROM d WHERE d < 4),
pc AS (
    SELECT p.id,
           d.d,
           date('2024-03-04', printf('+%d days', d.d)) AS day,
           20000 + (p.id * 997) % 180000 + d.d * (50 + p.id % 300) AS total,
           coalesce(m.is_color, 0) AS is_color
    FROM printers AS p
    LEFT JOIN printer_models AS m ON m.id = p.model_id
    CROSS JOIN d
    WHERE p.connection = 'network' AND p.is_deleted = 0)
INSERT INTO page_counts (printer_id, counted_on, total_pages, color_pages, source, created_at)
SELECT id,
       day,
       total,
       CASE WHEN is_color = 1 THEN total * (id % 40) / 100 ELSE NULL END,
       CASE WHEN id % 13 = 0 THEN 'manual' ELSE 'snmp' END,
       CASE WHEN id % 13 = 0 THEN day || 'T16:30:00Z' ELSE day || 'T23:55:00Z' END
FROM pc
ORDER BY day, id;

-------------------------------------------------------------------------------
-- usb
-------------------------------------------------------------------------------

-- Two products per kind of device (flash drives take two pairs): the kind of
-- vendor row v is bucket (v - 1) / 2 below.
INSERT INTO usb_vendors (id, vendor_id, product_id, name, manufacturer_id) VALUES
    (1,  '0781', '5581', 'SanDisk Ultra USB 3.0',                 21),
    (2,  '0781', '5567', 'SanDisk Cruzer Blade',                  21),
    (3,  '0951', '1666', 'Kingston DataTraveler 100 G3',          22),
    (4,  '0951', '1642', 'Kingston DataTraveler Vault Privacy',   22),
    (5,  '1058', '25a2', 'WD Elements 25A2',                      NULL),
    (6,  '0bc2', '231a', 'Seagate Expansion Portable',            NULL),
    (7,  '1050', '0407', 'YubiKey 5 NFC (OTP+FIDO+CCID)',         23),
    (8,  '1050', '0402', 'Security Key by Yubico (FIDO)',         23),
    (9,  '064f', '2af9', 'CodeMeter CmStick',                     24),
    (10, '0908', '01f4', 'SIMATIC license key USB stick',         4),
    (11, '0c2e', '0b61', 'Honeywell Voyager 1450g',               25),
    (12, '05e0', '1200', 'Zebra Symbol DS2208',                   11),
    (13, '0403', '6001', 'FT232 USB-Serial (UART) IC',            NULL),
    (14, '067b', '2303', 'PL2303 Serial Port',                    NULL),
    (15, '046d', '085c', 'C922 Pro Stream Webcam',                NULL),
    (16, '046d', '0892', 'C920 HD Pro Webcam',                    NULL),
    (17, '0bda', '8153', 'RTL8153 Gigabit Ethernet Adapter',      NULL),
    (18, '0b95', '1790', 'AX88179 Gigabit Ethernet',              NULL);

-- 1500 tracked devices; every 40th is retired and soft-deleted.
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1500),
u AS (
    SELECT i,
           1 + ((i - 1) / 10) % 5 AS s,
           1 + (i * 7) % 18 AS v,
           CASE (((i * 7) % 18) / 2)
               WHEN 0 THEN 'flash_drive' WHEN 1 THEN 'flash_drive' WHEN 2 THEN 'external_disk'
               WHEN 3 THEN 'security_key' WHEN 4 THEN 'license_dongle' WHEN 5 THEN 'barcode_scanner'
               WHEN 6 THEN 'serial_adapter' WHEN 7 THEN 'camera' ELSE 'other' END AS kind,
           CASE WHEN i % 40 = 0 THEN 1 ELSE 0 END AS del
    FROM n)
INSERT INTO usb_devices (id, asset_tag, serial_number, usb_vendor_id, kind, is_encrypted, capacity_gb, status_id,
                         home_location_id, is_deleted, created_at, updated_at)
SELECT i,
       printf('USB-%05d', i),
       CASE WHEN kind IN ('barcode_scanner', 'camera') AND i % 3 = 0 THEN NULL
            ELSE printf('AA%010X', (i * 2654435761) % 1099511627776) END,
       v,
       kind,
       CASE WHEN kind = 'security_key' OR v = 4 THEN 1
            WHEN kind = 'external_disk' AND i % 2 = 0 THEN 1
            ELSE 0 END,
       CASE WHEN kind = 'flash_drive' THEN CASE WHEN i % 29 = 0 THEN NULL ELSE CASE i % 4 WHEN 0 THEN 16 WHEN 1 THEN 32 WHEN 2 THEN 64 ELSE 128 END END
            WHEN kind = 'external_disk' THEN CASE i % 3 WHEN 0 THEN 1000 WHEN 1 THEN 2000 ELSE 4000 END
            ELSE NULL END,
       CASE WHEN del = 1 THEN 4 WHEN i % 50 = 17 THEN 3 WHEN i % 7 = 3 THEN 2 ELSE 1 END,
       CASE WHEN i % 9 = 0 THEN NULL
            ELSE (s - 1) * 12 + CASE WHEN kind IN ('barcode_scanner', 'serial_adapter') THEN 6 + i % 3
                                     WHEN kind = 'license_dongle' THEN 10
                                     ELSE 12 END END,
       del,
       strftime('%Y-%m-%dT%H:%M:%SZ', '2021-02-01 08:00:00', printf('+%d hours', i * 11)),
       strftime('%Y-%m-%dT%H:%M:%SZ', '2021-02-01 08:00:00', printf('+%d hours', i * 11 + (i * 43) % 4000))
FROM u
ORDER BY i;

-- Two rounds of check-outs of devices 1..1250; the first all returned, the
-- second still open for every sixth device (but never a retired one), so
-- a device is out with at most one person. issued_by was not recorded before
-- V3 (nullable on older rows).
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2500),
co AS (
    SELECT i,
           1 + (i - 1) % 1250 AS dev,
           (i - 1) / 1250 AS r,
           (((i - 1) / 1250) * 200 + ((i - 1) % 1250) % 150) * 1440 + (((i - 1) % 1250) % 8) * 60 + (i % 4) * 15 AS t
    FROM n)
INSERT INTO usb_checkouts (device_id, person_id, computer_id, checked_out_at, due_at, returned_at, note, issued_by)
SELECT dev,
       1 + (i * 11) % 300,
       CASE WHEN i % 5 = 0 THEN NULL ELSE 1 + (i * 13) % 2000 END,
       strftime('%Y-%m-%dT%H:%M:%SZ', '2023-01-02 07:00:00', printf('+%d minutes', t)),
       strftime('%Y-%m-%dT%H:%M:%SZ', '2023-01-02 07:00:00', printf('+%d minutes', t + CASE WHEN dev % 4 = 0 THEN 1 * 1440 ELSE 7 * 1440 END)),
       CASE WHEN r = 1 AND dev % 6 = 0 AND dev % 40 <> 0 THEN NULL
            ELSE strftime('%Y-%m-%dT%H:%M:%SZ', '2023-01-02 07:00:00', printf('+%d minutes', t + (dev % 10) * 1440 + 180)) END,
       CASE i % 6 WHEN 0 THEN 'Backup of CNC programs'
                  WHEN 1 THEN NULL
                  WHEN 2 THEN 'Firmware update on line PC'
                  WHEN 3 THEN 'Licence for engineering station'
                  WHEN 4 THEN NULL
                  ELSE 'Audit export' END,
       CASE WHEN r = 0 AND dev % 3 = 0 THEN NULL ELSE 1 + (dev * 17) % 300 END
FROM co
ORDER BY t, i;

-- Device control: one allowed product per computer 1..1200 that fits its
-- role, plus a serial adapter for engineering laptops.
WITH k(k) AS (VALUES (1), (2))
INSERT INTO usb_allowlist (computer_id, usb_vendor_id, allowed_by, allowed_at, expires_at, reason)
SELECT c.id,
       CASE WHEN k.k = 2 THEN 13
            ELSE CASE c.role WHEN 'workstation' THEN 7 + c.id % 2
                             WHEN 'line_pc' THEN 11 + c.id % 2
                             WHEN 'hmi' THEN 14
                             WHEN 'engineering' THEN 9
                             WHEN 'kiosk' THEN 12
                             ELSE 10 END END,
       1 + (c.id * 17 + k.k) % 300,
       strftime('%Y-%m-%dT%H:%M:%SZ', '2022-06-01 08:00:00', printf('+%d hours', c.id * 5 + k.k)),
       CASE WHEN c.id % 3 = 0 THEN NULL
            ELSE strftime('%Y-%m-%dT%H:%M:%SZ', '2022-06-01 08:00:00', printf('+%d hours', c.id * 5 + k.k + 365 * 24)) END,
       CASE WHEN c.id % 4 = 0 THEN NULL
            WHEN k.k = 2 THEN 'Serial console for machine commissioning'
            ELSE CASE c.role WHEN 'workstation' THEN 'FIDO login'
                             WHEN 'line_pc' THEN 'Barcode scanner at the station'
                             WHEN 'hmi' THEN 'Serial link to the machine control'
                             WHEN 'engineering' THEN 'TIA Portal / CodeMeter licence'
                             WHEN 'kiosk' THEN 'Badge and label scanning'
                             ELSE 'Licence dongle for the MES server' END END
FROM computers AS c CROSS JOIN k
WHERE c.id <= 1200 AND (k.k = 1 OR c.role = 'engineering')
ORDER BY c.id, k.k;

-------------------------------------------------------------------------------
-- notifications
-------------------------------------------------------------------------------

INSERT INTO notification_channels (id, kind, name, target, is_active, created_at) VALUES
    (1, 'email',   'Maintenance team Hamburg', 'maintenance.ham@plant.example',                               1, '2021-03-01T08:00:00Z'),
    (2, 'email',   'IT service desk',          'servicedesk@plant.example',                                   1, '2021-03-01T08:05:00Z'),
    (3, 'sms',     'OT on-call phone',         '+4915112345678',                                              1, '2021-03-02T09:00:00Z'),
    (4, 'sms',     'Network on-call phone',    '+420601234567',                                               1, '2021-03-02T09:10:00Z'),
    (5, 'webhook', 'MES event hook',           'https://mes.plant.example/api/hooks/shopdb',                  1, '2021-04-12T13:30:00Z'),
    (6, 'teams',   'Teams: Shop floor IT',     'https://plant.webhook.office.com/webhookb2/shopfloor-it',     1, '2022-01-20T10:00:00Z'),
    (7, 'email',   'Print fleet vendor',       'printfleet@vendor.example',                                   0, '2021-05-03T07:45:00Z'),
    (8, 'webhook', 'Legacy ticket bridge',     'https://tickets.plant.example/legacy/inbound',                0, '2019-11-11T11:11:00Z');

-- Six events, each with a fleet-wide rule and one rule per site:
-- rule id (e - 1) * 6 + k + 1, k = 0 for all sites, else the site id.
WITH RECURSIVE k(k) AS (SELECT 0 UNION ALL SELECT k + 1 FROM k WHERE k < 5),
ev(e, event, label, threshold, repeat_h) AS (VALUES
        (1, 'warranty_expiring', 'Warranty expiring',  30,   168),
        (2, 'toner_low',         'Toner low',          10,   24),
        (3, 'device_overdue',    'USB device overdue', 24,   12),
        (4, 'asset_offline',     'Asset offline',      4,    2),
        (5, 'maintenance_due',   'Maintenance due',    7,    72),
        (6, 'firmware_outdated', 'Firmware outdated',  NULL, 720))
INSERT INTO notification_rules (id, name, event, site_id, threshold, repeat_after_hours, is_active, created_at, updated_at, owner_id)
SELECT (ev.e - 1) * 6 + k.k + 1,
       printf('%s (%s)', ev.label, CASE WHEN k.k = 0 THEN 'all sites' ELSE (SELECT name FROM sites WHERE id = k.k) END),
       ev.event,
       CASE WHEN k.k = 0 THEN NULL ELSE k.k END,
       CASE WHEN ev.threshold IS NULL THEN NULL WHEN ev.e = 2 THEN ev.threshold + 5 * k.k ELSE ev.threshold END,
       ev.repeat_h,
       CASE WHEN (ev.e + k.k) % 7 = 0 THEN 0 ELSE 1 END,
       strftime('%Y-%m-%dT%H:%M:%SZ', '2021-06-01 09:00:00', printf('+%d hours', ev.e * 24 + k.k)),
       strftime('%Y-%m-%dT%H:%M:%SZ', '2021-06-01 09:00:00', printf('+%d hours', ev.e * 24 + k.k + (ev.e * 7 + k.k * 13) * 24)),
       CASE WHEN k.k = 3 THEN NULL ELSE 1 + (ev.e * 37 + k.k * 11) % 300 END
FROM ev CROSS JOIN k
ORDER BY 1;

-- Three people per rule, and a channel for two rules out of three.
WITH j(j) AS (VALUES (0), (1), (2))
INSERT INTO notification_subscriptions (rule_id, person_id, channel_id, created_at)
SELECT r.id, 1 + (r.id * 7 + j.j * 53) % 300, NULL,
       strftime('%Y-%m-%dT%H:%M:%SZ', r.created_at, printf('+%d minutes', 5 + j.j))
FROM notification_rules AS r CROSS JOIN j
UNION ALL
SELECT r.id, NULL, 1 + r.id % 8,
       strftime('%Y-%m-%dT%H:%M:%SZ', r.created_at, '+10 minutes')
FROM notification_rules AS r
WHERE r.id % 3 <> 0
ORDER BY 1, 2, 3;

-- 2500 sent alerts about subjects that exist; a third are unacknowledged,
-- a third acknowledged by someone, a third acknowledged automatically.
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2500),
a AS (
    SELECT i,
           1 + (i - 1) % 36 AS rule_id,
           1 + ((i - 1) % 36) / 6 AS e,
           1 + (i * 7) % 500 AS subject,
           i * 37 AS t
    FROM n)
INSERT INTO sent_alerts (rule_id, subject_key, sent_at, detail, acknowledged_at, acknowledged_by)
SELECT rule_id,
       CASE e WHEN 1 THEN 'computer' WHEN 2 THEN 'printer' WHEN 3 THEN 'usb_checkout'
              WHEN 4 THEN 'network_device' ELSE 'equipment' END || ':' || subject,
       strftime('%Y-%m-%dT%H:%M:%SZ', '2024-01-01 06:00:00', printf('+%d minutes', t)),
       CASE e WHEN 1 THEN printf('Warranty ends in %d days', 1 + i % 30)
              WHEN 2 THEN printf('Black toner at %d percent', i % 15)
              WHEN 3 THEN printf('Overdue by %d hours', 24 + i % 72)
              WHEN 4 THEN printf('No answer to ping for %d minutes', 240 + i % 600)
              WHEN 5 THEN CASE WHEN i % 4 = 0 THEN NULL ELSE 'Preventive maintenance due within 7 days' END
              ELSE 'Installed firmware is older than the current release' END,
       CASE WHEN i % 3 = 0 THEN NULL
            ELSE strftime('%Y-%m-%dT%H:%M:%SZ', '2024-01-01 06:00:00', printf('+%d minutes', t + 15 + i % 600)) END,
       CASE WHEN i % 3 = 1 THEN 1 + (i * 13) % 300 ELSE NULL END
FROM a
ORDER BY i;
