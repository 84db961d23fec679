//! shopdb plugin `computers`: shop-floor PCs (HMIs, line PCs, engineering
//! workstations), their disks and their network interfaces.

plugin_api::export_plugin! {
    name: "computers",
    summary: "Shop-floor computers, their disks and network interfaces",
    tables: ["computer_models", "computers", "computer_disks", "computer_interfaces"],
    depends_on: [],
    maintainer: "Plant IT <plant-it@example.com>",
}
