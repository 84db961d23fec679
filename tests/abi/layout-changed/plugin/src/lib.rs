//! Fixture `mismatched`: built against a plugin-api 1.0.0 whose
//! `PluginDescription` has an extra field. The host must refuse it before
//! calling into it, saying the plugin must be rebuilt.

plugin_api::export_plugin! {
    name: "mismatched",
    summary: "A plugin built against an incompatible plugin-api",
    tables: ["vintage_machines"],
    depends_on: [],
}
