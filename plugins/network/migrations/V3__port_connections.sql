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
