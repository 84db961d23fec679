//! shopdb plugin `usb`: USB devices, removable-media check-out and per-computer allowlists.

plugin_api::export_plugin! {
    name: "usb",
    summary: "USB devices, removable-media check-out and per-computer allowlists",
    tables: ["usb_vendors", "usb_devices", "usb_checkouts", "usb_allowlist"],
    depends_on: ["computers"],
}
