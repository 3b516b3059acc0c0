//! Tests of marketo_inbound (filled in by its issue).
