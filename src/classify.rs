//! Classification front-end: one ticket in, one result out, and the
//! renderings `classify` prints (table, JSON, JSON Lines).
//!
//! Owns: the result record whose field names are the public machine output.
//! Must not touch: how evidence is read or how the tree is walked.

use crate::engine::{self, Answers, Ask, Conflict, Finding, Step, SuspectVerdict};
use crate::evidence::{Attempt, Evidence};
use crate::kb::KnowledgeBase;
use crate::ticket::{Ticket, TicketError};
use serde::Serialize;
use std::io::Write;

/// One classified ticket: the public machine output.
#[derive(Debug, Clone, Serialize)]
pub struct TicketResult {
    pub ticket: String,
    pub cause: String,
    pub owner: String,
    pub reason: String,
    pub diagnosis: String,
    pub title: String,
    pub confidence: f64,
    /// Facts that would confirm or change the result.
    pub pending: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub question: Option<Ask>,
    pub evidence: Vec<Finding>,
    pub ruled_out: Vec<SuspectVerdict>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub also_seen: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub conflicts: Vec<Conflict>,
    pub trace: Vec<Step>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub attempts: Vec<Attempt>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    /// Set when the ticket could not be read; the other fields are then `unknown`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl TicketResult {
    /// Whether this result counts as classified for the exit code.
    pub fn is_classified(&self) -> bool {
        self.error.is_none() && self.cause != "unknown"
    }

    pub fn from_error(err: &TicketError) -> TicketResult {
        TicketResult {
            ticket: err.id.clone(),
            cause: "unknown".into(),
            owner: "unknown".into(),
            reason: "undefined".into(),
            diagnosis: "unknown".into(),
            title: "The ticket could not be read".into(),
            confidence: 0.0,
            pending: vec![],
            question: None,
            evidence: vec![],
            ruled_out: vec![],
            also_seen: vec![],
            conflicts: vec![],
            trace: vec![],
            attempts: vec![],
            notes: vec![],
            error: Some(err.message.clone()),
        }
    }
}

/// Classifies one ticket; `global` answers apply unless the ticket has its own.
pub fn classify(kb: &KnowledgeBase, ticket: &Ticket, global: &Answers) -> TicketResult {
    let evidence = Evidence::from_bytes(&ticket.text);
    let mut answers = global.clone();
    answers.extend(ticket.answers.iter().map(|(k, v)| (k.clone(), *v)));
    let verdict = engine::evaluate(kb, &evidence, &answers);
    let mut notes = ticket.notes.clone();
    notes.extend(evidence.notes.iter().cloned());
    TicketResult {
        ticket: ticket.id.clone(),
        cause: verdict.cause,
        owner: verdict.owner,
        reason: verdict.reason,
        diagnosis: verdict.diagnosis,
        title: verdict.title,
        confidence: verdict.confidence,
        pending: verdict.pending,
        question: verdict.question,
        evidence: verdict.findings,
        ruled_out: verdict.suspects.into_iter().filter(|s| s.ruled_out).collect(),
        also_seen: verdict.also_seen,
        conflicts: verdict.conflicts,
        trace: verdict.trace,
        attempts: evidence.attempts,
        notes,
        error: None,
    }
}

/// Output formats of `classify`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Table,
    Json,
    Jsonl,
}

/// Writes results as they come, in one of the formats.
pub struct Writer<W: Write> {
    out: W,
    format: Format,
    count: usize,
    causes: std::collections::BTreeMap<String, usize>,
    owners: std::collections::BTreeMap<String, usize>,
}

impl<W: Write> Writer<W> {
    pub fn new(out: W, format: Format) -> Writer<W> {
        Writer { out, format, count: 0, causes: Default::default(), owners: Default::default() }
    }

    pub fn write(&mut self, r: &TicketResult) -> std::io::Result<()> {
        *self.causes.entry(r.cause.clone()).or_default() += 1;
        *self.owners.entry(r.owner.clone()).or_default() += 1;
        match self.format {
            Format::Jsonl => {
                serde_json::to_writer(&mut self.out, r)?;
                writeln!(self.out)?;
            }
            Format::Json => {
                write!(self.out, "{}", if self.count == 0 { "[\n" } else { ",\n" })?;
                let text = serde_json::to_string_pretty(r).map_err(std::io::Error::other)?;
                write!(self.out, "{text}")?;
            }
            Format::Table => {
                if self.count == 0 {
                    writeln!(self.out, "{:<44} {:<30} {:<18} {:>4}  NEXT", "TICKET", "CAUSE", "OWNER", "CONF")?;
                }
                writeln!(self.out, "{}", table_row(r))?;
            }
        }
        self.count += 1;
        Ok(())
    }

    pub fn finish(mut self) -> std::io::Result<W> {
        match self.format {
            Format::Json => writeln!(self.out, "{}", if self.count == 0 { "[]" } else { "\n]" })?,
            Format::Table if self.count > 0 => {
                writeln!(self.out)?;
                writeln!(self.out, "{} ticket{}", self.count, if self.count == 1 { "" } else { "s" })?;
                writeln!(self.out, "by cause: {}", counts(&self.causes))?;
                writeln!(self.out, "by owner: {}", counts(&self.owners))?;
            }
            _ => {}
        }
        self.out.flush()?;
        Ok(self.out)
    }
}

fn counts(map: &std::collections::BTreeMap<String, usize>) -> String {
    let mut pairs: Vec<_> = map.iter().collect();
    pairs.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
    pairs.iter().map(|(k, v)| format!("{k} {v}")).collect::<Vec<_>>().join(", ")
}

fn table_row(r: &TicketResult) -> String {
    let next = if let Some(err) = &r.error {
        format!("error: {err}")
    } else if let Some(q) = &r.question {
        format!("ask {}", q.fact)
    } else {
        String::new()
    };
    format!("{:<44} {:<30} {:<18} {:>4.2}  {}", shorten(&r.ticket, 44), r.cause, r.owner, r.confidence, next)
}

fn shorten(s: &str, width: usize) -> String {
    let count = s.chars().count();
    if count <= width {
        return s.to_string();
    }
    let tail: String = s.chars().skip(count - (width - 1)).collect();
    format!("…{tail}")
}
