//! Receivers: one file per source, each verify → parse → record → acknowledge. They never call
//! Salesforce or Marketo; the store is the only thing between them and the worker.

pub mod marketo;
pub mod salesforce;
