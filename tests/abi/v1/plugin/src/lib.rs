//! Fixture `vintage`: a plugin built against plugin-api 1.0.0 as first
//! released. Every newer host must load and apply it.

plugin_api::export_plugin! {
    name: "vintage",
    summary: "A plugin built against the first plugin-api",
    tables: ["vintage_machines"],
    depends_on: [],
}
