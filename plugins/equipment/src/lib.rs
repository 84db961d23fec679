//! shopdb plugin `equipment`: Shop-floor machines (CNC, PLC, robots), their firmware and maintenance.

plugin_api::export_plugin! {
    name: "equipment",
    summary: "Shop-floor machines (CNC, PLC, robots), their firmware and maintenance",
    tables: ["equipment_types", "equipment", "firmware_releases", "firmware_installs", "maintenance_events"],
    depends_on: ["computers"],
}
