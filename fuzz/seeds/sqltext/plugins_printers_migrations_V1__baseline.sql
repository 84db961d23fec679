-- Models of printer, one row per manufacturer + model name. Technology matters
-- on the shop floor: label printers (thermal, thermal transfer) take labels
-- and ribbons, office printers take toner or ink.
CREATE TABLE printer_models (
    id               INTEGER PRIMARY KEY,
    manufacturer_id  INTEGER NOT NULL REFERENCES manufacturers (id) ON DELETE RESTRICT,
    name             TEXT    NOT NULL CHECK (length(name) > 0),
    technology       TEXT    NOT NULL DEFAULT 'laser'
                     CHECK (technology IN ('laser', 'inkjet', 'direct_thermal', 'thermal_transfer', 'dot_matrix')),
    is_color         INTEGER NOT NULL DEFAULT 0 CHECK (is_color IN (0, 1)),
    UNIQUE (manufacturer_id, name)
);

-- One row per physical printer. How clients reach it: 'network' (they print
-- to its own IP address), 'shared' (through a queue on a print server) or
-- 'usb' (attached to one computer, which is then its print server). Its
-- address is a row of the network plugin's ip_addresses, held by no other asset.
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
    updated_at       TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),
    -- A USB printer has no address of its own; a network printer has no server.
    CHECK (connection <> 'usb' OR ip_address_id IS NULL),
    CHECK (connection <> 'network' OR print_server_id IS NULL)
);
-- A serial number identifies one live printer per model; scrapped ones may repeat.
CREATE UNIQUE INDEX printers_serial ON printers (model_id, serial_number)
    WHERE serial_number IS NOT NULL AND is_deleted = 0;
CREATE INDEX printers_model ON printers (model_id);
CREATE INDEX printers_status ON printers (status_id);
CREATE INDEX printers_location ON printers (location_id);
CREATE INDEX printers_print_server ON printers (print_server_id);

-- Catalog of consumables by part number (toner, drum, ink, fuser, labels,
-- ribbons), with the stock level that raises an alarm and the level to
-- reorder up to, and the store room where spares are kept.
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
CREATE INDEX supply_items_storage_location ON supply_items (storage_location_id);

-- Which consumables fit which printer model (OEM and compatible third-party
-- parts alike).
CREATE TABLE supply_compatibility (
    printer_model_id  INTEGER NOT NULL REFERENCES printer_models (id) ON DELETE CASCADE,
    supply_item_id    INTEGER NOT NULL REFERENCES supply_items (id) ON DELETE CASCADE,
    PRIMARY KEY (printer_model_id, supply_item_id)
);
CREATE INDEX supply_compatibility_supply_item ON supply_compatibility (supply_item_id);

-- One row per physical cartridge, roll or unit: received into stock
-- (printer_id NULL), installed in a printer, then removed when spent. The
-- printer's page counter at install and removal gives the yield.
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
-- Serves stock counts (printer_id IS NULL) per item as well as the foreign key.
CREATE INDEX supply_units_supply_item ON supply_units (supply_item_id, printer_id);
CREATE INDEX supply_units_printer ON supply_units (printer_id, installed_at);
-- A printer holds one unit of a given part at a time.
CREATE UNIQUE INDEX supply_units_installed ON supply_units (printer_id, supply_item_id)
    WHERE printer_id IS NOT NULL AND removed_at IS NULL;
