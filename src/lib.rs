//! mailtriage: a support-desk triage expert system for email sending and
//! delivery problems. See ARCHITECTURE.md for the map.

pub mod evidence;
