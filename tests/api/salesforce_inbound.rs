//! Tests of salesforce_inbound (filled in by its issue).
