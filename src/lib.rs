//! mailtriage: a support-desk triage expert system for email sending and
//! delivery problems. See ARCHITECTURE.md for the map.

pub mod evidence;
pub mod kb;
pub mod engine;
pub mod classify;
pub mod ticket;
pub mod cli;
pub mod report;
