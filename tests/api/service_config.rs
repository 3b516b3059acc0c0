//! The smallest configuration a `serve` child process starts on: both receivers' tokens, the
//! APIs at an address nothing answers, and `sections` (more tables) as a test needs them.

pub const WEBHOOK_TOKEN: &str = "child-webhook-token";
pub const INBOUND_TOKEN: &str = "child-inbound-token";

/// The configuration for a child on `database_url` accepting outbound messages from `org`.
pub fn child_config(database_url: &str, org: &str, sections: &str) -> String {
    format!(
        "database_url = {database_url:?}\n{sections}\n\
         [marketo]\nwebhook_token = {WEBHOOK_TOKEN:?}\n\
         base_url = \"http://127.0.0.1:9\"\nclient_id = \"unused\"\nclient_secret = \"unused\"\n\
         [salesforce]\ninbound_token = {INBOUND_TOKEN:?}\norganization_ids = [{org:?}]\n\
         login_url = \"http://127.0.0.1:9\"\nclient_id = \"unused\"\nclient_secret = \"unused\"\n"
    )
}
