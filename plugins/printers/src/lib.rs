//! shopdb plugin `printers`: Printers, their supplies and daily page counters.

plugin_api::export_plugin! {
    name: "printers",
    summary: "Printers, their supplies and daily page counters",
    tables: ["printer_models", "printers", "supply_items", "supply_compatibility", "supply_units", "page_counts"],
    depends_on: ["computers", "network"],
    maintainer: "Plant IT <plant-it@example.com>",
}
