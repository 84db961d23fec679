//! shopdb plugin `network`: Switches, routers and access points, their ports, VLANs, subnets and IP addresses.

plugin_api::export_plugin! {
    name: "network",
    summary: "Switches, routers and access points, their ports, VLANs, subnets and IP addresses",
    tables: ["network_devices", "switch_ports", "vlans", "subnets", "port_vlans", "ip_addresses", "port_connections"],
    depends_on: ["computers", "equipment"],
}
