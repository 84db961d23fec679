//! shopdb plugin `notifications`: Alert rules, who receives them and which alerts were already sent.

plugin_api::export_plugin! {
    name: "notifications",
    summary: "Alert rules, who receives them and which alerts were already sent",
    tables: ["notification_channels", "notification_rules", "notification_subscriptions", "sent_alerts"],
    depends_on: [],
}
