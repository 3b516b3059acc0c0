//! Pure decisions, no I/O: given what each side shows now and what the mirror remembers, decide
//! the write (if any) that converges a person's membership, how writes are batched into calls,
//! what an ended write means for the mirror and the trigger feed, and how statuses translate.
//! The worker only does the I/O around these.

pub mod batch;
mod feed;
mod flow;
pub mod outcome;
mod overruled;
mod plan;
mod settle;
mod status_map;
pub mod time;

pub use feed::activity_synced;
pub use flow::{FlowStep, flow_event, flow_step};
pub use outcome::{Done, Reset, actor, marketo_skipped};
pub use overruled::{OVERRULED, Overruled, overruled};
pub use plan::{
    Decision, ECHO, ECHO_BEFORE, IN_SYNC, NOT_A_MEMBER, Observed, STALE, Side, decide, same_second,
};
pub use settle::{Ended, Event, Settled, settle};
pub use status_map::{NOT_IN_PROGRAM, StatusMap};
