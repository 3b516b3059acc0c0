//! Tests of sim_marketo (filled in by its issue).
