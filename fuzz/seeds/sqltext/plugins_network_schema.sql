-- The current schema of the `network` plugin: what its migration chain
-- (migrations/) produces, written out at once. The host checks that both agree.

-- Switches, routers, access points and firewalls: the active network gear.
-- The management address is where the device is administered (often an
-- out-of-band network), kept as canonical text like ip_addresses.address.
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
-- A serial number identifies one live device per manufacturer; scrapped ones may repeat.
CREATE UNIQUE INDEX network_devices_serial ON network_devices (manufacturer_id, serial_number)
    WHERE serial_number IS NOT NULL AND is_deleted = 0;
CREATE INDEX network_devices_manufacturer ON network_devices (manufacturer_id);
CREATE INDEX network_devices_status ON network_devices (status_id);
CREATE INDEX network_devices_location ON network_devices (location_id);

-- The ports of a switch (or router, firewall), by their interface name.
CREATE TABLE switch_ports (
    id                 INTEGER PRIMARY KEY,
    network_device_id  INTEGER NOT NULL REFERENCES network_devices (id) ON DELETE CASCADE,
    name               TEXT    NOT NULL COLLATE NOCASE CHECK (length(name) > 0),
    speed_mbps         INTEGER CHECK (speed_mbps IS NULL OR speed_mbps > 0),
    admin_up           INTEGER NOT NULL DEFAULT 1 CHECK (admin_up IN (0, 1)),
    description        TEXT,
    UNIQUE (network_device_id, name)
);

-- IP addresses and who holds them: at most one of a computer's interface, a
-- machine, or a network device. None means reserved, or held by an asset of a
-- plugin that depends on this one (printers.ip_address_id points here).
-- subnet_id was added by V2, hence last.
-- Addresses are canonical text (dotted quad, or lowercase compressed IPv6).
CREATE TABLE ip_addresses (
    id                     INTEGER PRIMARY KEY,
    address                TEXT    NOT NULL UNIQUE CHECK (address = lower(address) AND address NOT GLOB '*[^0-9a-f.:]*'),
    ip_version             INTEGER NOT NULL CHECK (ip_version IN (4, 6)),
    computer_interface_id  INTEGER REFERENCES computer_interfaces (id) ON DELETE CASCADE,
    equipment_id           INTEGER REFERENCES equipment (id) ON DELETE CASCADE,
    network_device_id      INTEGER REFERENCES network_devices (id) ON DELETE CASCADE,
    dns_name               TEXT    COLLATE NOCASE CHECK (dns_name IS NULL OR length(dns_name) BETWEEN 1 AND 253),
    created_at             TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),
    updated_at             TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),
    subnet_id              INTEGER REFERENCES subnets (id) ON DELETE SET NULL,
    CHECK (CASE ip_version
               WHEN 4 THEN address GLOB '[0-9]*.[0-9]*.[0-9]*.[0-9]*' AND address NOT GLOB '*[^0-9.]*'
               ELSE address GLOB '*:*:*'
           END),
    CHECK ((computer_interface_id IS NOT NULL) + (equipment_id IS NOT NULL) + (network_device_id IS NOT NULL) <= 1)
);
CREATE INDEX ip_addresses_computer_interface ON ip_addresses (computer_interface_id);
CREATE INDEX ip_addresses_equipment ON ip_addresses (equipment_id);
CREATE INDEX ip_addresses_network_device ON ip_addresses (network_device_id);
CREATE INDEX ip_addresses_dns_name ON ip_addresses (dns_name);
CREATE INDEX ip_addresses_subnet ON ip_addresses (subnet_id);

-- VLANs, numbered per site: tag 20 in one plant is not tag 20 in another.
CREATE TABLE vlans (
    id           INTEGER PRIMARY KEY,
    site_id      INTEGER NOT NULL REFERENCES sites (id) ON DELETE RESTRICT,
    vlan_tag     INTEGER NOT NULL CHECK (vlan_tag BETWEEN 1 AND 4094),
    name         TEXT    NOT NULL COLLATE NOCASE CHECK (length(name) > 0),
    description  TEXT,
    UNIQUE (site_id, vlan_tag),
    UNIQUE (site_id, name)
);

-- IP subnets (canonical CIDR text, e.g. 10.20.30.0/24 or fd00:10::/64), the
-- VLAN that carries them and their default gateway.
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
CREATE INDEX subnets_site ON subnets (site_id);
CREATE INDEX subnets_vlan ON subnets (vlan_id);

-- Which VLANs a switch port carries: untagged (access or native VLAN, at most
-- one per port) or tagged (trunk).
CREATE TABLE port_vlans (
    switch_port_id  INTEGER NOT NULL REFERENCES switch_ports (id) ON DELETE CASCADE,
    vlan_id         INTEGER NOT NULL REFERENCES vlans (id) ON DELETE CASCADE,
    tagged          INTEGER NOT NULL DEFAULT 0 CHECK (tagged IN (0, 1)),
    PRIMARY KEY (switch_port_id, vlan_id)
);
CREATE UNIQUE INDEX port_vlans_untagged ON port_vlans (switch_port_id) WHERE tagged = 0;
CREATE INDEX port_vlans_vlan ON port_vlans (vlan_id);

-- What is patched into a switch port: exactly one of a computer's interface,
-- a machine, or a downstream network device (an uplink: access point,
-- unmanaged or line switch). One endpoint per port; a computer interface has
-- one cable, but a machine or a device may use several ports.
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
CREATE INDEX port_connections_equipment ON port_connections (equipment_id);
CREATE INDEX port_connections_network_device ON port_connections (network_device_id);
