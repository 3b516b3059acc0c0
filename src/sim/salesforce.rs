//! The Salesforce simulator (OAuth, REST, outbound messages).
