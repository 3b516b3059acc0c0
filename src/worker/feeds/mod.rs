//! Change feeds, the net under every delivery: Marketo's activity log and a Salesforce query of
//! members changed since a `SystemModstamp`, each resuming from a cursor in the store. What a
//! feed finds becomes a signal like a webhook or an outbound message; one already handled
//! through a delivery is then an echo (the state equals the mirror) and writes nothing.

mod marketo;
mod salesforce;
mod start;

pub use marketo::read as read_marketo;
pub use salesforce::read as read_salesforce;
pub use start::start_at;
