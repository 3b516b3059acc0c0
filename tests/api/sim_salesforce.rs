//! Tests of sim_salesforce (filled in by its issue).
