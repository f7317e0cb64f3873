//! mailtriage: a support-desk triage expert system for email sending and
//! delivery problems. See ARCHITECTURE.md for the map.

pub mod classify;
pub mod cli;
pub mod engine;
pub mod evidence;
pub mod kb;
pub mod report;
pub mod ticket;
