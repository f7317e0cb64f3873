//! Report: renders the escalation packet for a classified ticket.
//!
//! Owns: turning a verdict plus its evidence into packets for people (text,
//! Markdown, JSON, RFC 5322 email) through the knowledge base's Tera
//! templates. Must not touch: classification; it renders what it is given.

use crate::engine::Verdict;
use crate::evidence::Evidence;
use crate::kb::KnowledgeBase;
use std::collections::BTreeMap;

/// What a packet is built from.
pub struct PacketInput<'a> {
    pub kb: &'a KnowledgeBase,
    pub ticket: &'a str,
    pub evidence: &'a Evidence,
    pub verdict: &'a Verdict,
    pub answers: &'a BTreeMap<String, crate::kb::Answer>,
    /// Escalation target; defaults to the diagnosis's `escalate_to`.
    pub target: Option<&'a str>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum PacketFormat {
    Text,
    Markdown,
    Json,
    Eml,
}

#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("template error: {0}")]
    Template(String),
}

/// Renders a packet. Interim plain rendering until the Tera templates land.
pub fn render(input: &PacketInput, _format: PacketFormat) -> Result<String, ReportError> {
    let v = input.verdict;
    let mut out = format!("Ticket {}: {} ({}, owner {})\n\n", input.ticket, v.title, v.cause, v.owner);
    for f in &v.findings {
        for r in &f.refs {
            out.push_str(&format!("  line {}: {}\n", r.line, r.quote));
        }
    }
    Ok(out)
}
