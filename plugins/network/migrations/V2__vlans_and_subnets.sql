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

-- The subnet an address belongs to, now that subnets exist.
ALTER TABLE ip_addresses ADD COLUMN subnet_id INTEGER REFERENCES subnets (id) ON DELETE SET NULL;
CREATE INDEX ip_addresses_subnet ON ip_addresses (subnet_id);
