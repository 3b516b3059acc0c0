//! Pure planning, no I/O: given what each side shows now and what the mirror remembers, decide
//! the one write (if any) that converges a person's membership. The worker does the I/O.

mod plan;
mod status_map;
pub mod time;

pub use plan::{Decision, Observed, Side, decide};
pub use status_map::{NOT_IN_PROGRAM, StatusMap};
