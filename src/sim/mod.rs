//! Faithful simulators of the parts of Salesforce and Marketo the service uses, for the tests,
//! the benchmarks and `campaign-sync sandbox`. Each starts on a loopback port.

pub mod calls;
pub mod fault_rules;
pub mod marketo;
pub mod salesforce;
mod unknown_control;
