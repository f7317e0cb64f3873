//! mailtriage: a support-desk triage expert system for email sending and
//! delivery problems. See ARCHITECTURE.md for the map.

pub mod batch;
pub mod classify;
pub mod cli;
pub mod engine;
pub mod eval;
pub mod evidence;
pub mod kb;
pub mod prefilter;
pub mod repl;
pub mod report;
pub mod shared_regex;
pub mod sisimai;
pub mod ticket;
