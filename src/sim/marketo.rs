//! The Marketo simulator (identity, REST, asset API, webhooks).
