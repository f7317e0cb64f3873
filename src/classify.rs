//! Classification front-end: one ticket in, one result out, and the
//! renderings `classify` prints (table, JSON, JSON Lines).
//!
//! Owns: the result record whose field names are the public machine output.
//! Must not touch: how evidence is read or how the tree is walked.

use crate::engine::{self, Answers, Ask, Conflict, Finding, Step, SuspectVerdict, Verdict};
use crate::evidence::{Attempt, Evidence, ItemKind};
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
    /// The diagnosis's confidence once the pending questions are confirmed.
    pub base_confidence: f64,
    /// True when no question was assumed (`pending` is empty) and a cause
    /// was found; false means the result is the best guess so far.
    pub settled: bool,
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
    /// One result per recipient a bounce names; the ticket's own result is
    /// that of the first failed recipient.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub recipients: Vec<RecipientResult>,
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
            base_confidence: 0.0,
            settled: false,
            pending: vec![],
            question: None,
            evidence: vec![],
            ruled_out: vec![],
            also_seen: vec![],
            conflicts: vec![],
            trace: vec![],
            attempts: vec![],
            recipients: vec![],
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
    let (verdicts, verdict) = engine::evaluate_recipients(kb, &evidence, &answers);
    let recipients = recipient_results(&evidence, &verdicts);
    let mut notes = ticket.notes.clone();
    notes.extend(evidence.notes.iter().cloned());
    let settled = verdict.settled();
    TicketResult {
        ticket: ticket.id.clone(),
        settled,
        base_confidence: verdict.base_confidence,
        cause: verdict.cause,
        owner: verdict.owner,
        reason: verdict.reason,
        diagnosis: verdict.diagnosis,
        title: verdict.title,
        confidence: verdict.confidence,
        pending: verdict.pending,
        question: verdict.question,
        evidence: verdict.findings,
        ruled_out: verdict
            .suspects
            .into_iter()
            .filter(|s| s.ruled_out)
            .collect(),
        also_seen: verdict.also_seen,
        conflicts: verdict.conflicts,
        trace: verdict.trace,
        attempts: evidence.attempts,
        recipients,
        notes,
        error: None,
    }
}

/// Quotes every line reference again from the original transcript redacted
/// with usernames shown (`--show-usernames`); passwords stay redacted.
pub fn show_usernames(result: &mut TicketResult, original: &[u8]) {
    let options = crate::evidence::redact::RedactOptions {
        show_usernames: true,
    };
    let text = crate::evidence::redact::redact_text_with(&Evidence::source_text(original), options);
    let lines: Vec<&str> = text.lines().collect();
    let requote = |r: &mut engine::EvidenceRef| {
        let quote: Vec<&str> = (r.line..=r.end_line.max(r.line))
            .filter_map(|no| lines.get(no.wrapping_sub(1)).map(|l| l.trim_end()))
            .collect();
        if !quote.is_empty() {
            r.quote = quote.join("\n");
        }
    };
    result
        .evidence
        .iter_mut()
        .flat_map(|f| f.refs.iter_mut())
        .for_each(requote);
    result
        .ruled_out
        .iter_mut()
        .flat_map(|s| s.refs.iter_mut())
        .for_each(requote);
    result
        .conflicts
        .iter_mut()
        .flat_map(|c| c.refs.iter_mut())
        .for_each(requote);
    for step in &mut result.trace {
        if let engine::Decision::Evidence { facts, .. } = &mut step.decision {
            facts
                .iter_mut()
                .flat_map(|f| f.refs.iter_mut())
                .for_each(requote);
        }
    }
}

/// What happened to one recipient of a bounce.
#[derive(Debug, Clone, Serialize)]
pub struct RecipientResult {
    pub address: String,
    /// The enhanced status (`5.1.1`), from the report or the reply.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// The SMTP reply code the receiving server gave, when the report quotes one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reply_code: Option<u16>,
    /// The server's words about this recipient.
    pub diagnostic: String,
    pub cause: String,
    /// Sisimai's vocabulary.
    pub reason: String,
    pub diagnosis: String,
}

/// Each recipient's result, from its verdict and what the report quotes for it.
fn recipient_results(evidence: &Evidence, verdicts: &[Verdict]) -> Vec<RecipientResult> {
    let mut results = Vec::new();
    for (index, (recipient, verdict)) in evidence.recipients.iter().zip(verdicts).enumerate() {
        let reply = evidence
            .replies()
            .find(|(item, _)| item.recipient == Some(index))
            .map(|(_, r)| r);
        let status = recipient.status.or(reply.and_then(|r| r.status));
        let diagnostic = reply
            .map(|r| r.text.clone())
            .unwrap_or_else(|| diagnostic_field(evidence, index));
        results.push(RecipientResult {
            address: recipient.address.clone(),
            status: status.map(|s| s.to_string()),
            reply_code: reply.filter(|r| !r.code_inferred).map(|r| r.code),
            diagnostic,
            cause: verdict.cause.clone(),
            reason: verdict.reason.clone(),
            diagnosis: verdict.diagnosis.clone(),
        });
    }
    results
}

fn diagnostic_field(evidence: &Evidence, index: usize) -> String {
    evidence
        .items
        .iter()
        .find_map(|item| match &item.kind {
            ItemKind::Field { name, value }
                if item.recipient == Some(index) && name == "Diagnostic-Code" =>
            {
                Some(value.clone())
            }
            _ => None,
        })
        .unwrap_or_default()
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

/// A result already rendered in one format, ready for [`Writer::write_rendered`].
/// Rendering is the costly part of writing, so batch workers do it in
/// parallel and the writer only copies bytes in input order.
#[derive(Debug, Clone)]
pub struct Rendered {
    pub cause: String,
    pub owner: String,
    pub classified: bool,
    /// The record's text, without separators between records.
    pub body: Vec<u8>,
}

impl Rendered {
    pub fn new(r: &TicketResult, format: Format) -> Rendered {
        let mut body = Vec::with_capacity(1024);
        match format {
            Format::Jsonl => {
                serde_json::to_writer(&mut body, r).expect("a result always serialises")
            }
            Format::Json => {
                serde_json::to_writer_pretty(&mut body, r).expect("a result always serialises")
            }
            Format::Table => body.extend_from_slice(table_row(r).as_bytes()),
        }
        Rendered {
            cause: r.cause.clone(),
            owner: r.owner.clone(),
            classified: r.is_classified(),
            body,
        }
    }
}

impl<W: Write> Writer<W> {
    pub fn new(out: W, format: Format) -> Writer<W> {
        Writer {
            out,
            format,
            count: 0,
            causes: Default::default(),
            owners: Default::default(),
        }
    }

    pub fn write(&mut self, r: &TicketResult) -> std::io::Result<()> {
        self.write_rendered(&Rendered::new(r, self.format))
    }

    /// Writes a result rendered (for this writer's format) by [`Rendered::new`].
    pub fn write_rendered(&mut self, r: &Rendered) -> std::io::Result<()> {
        if let Some(n) = self.causes.get_mut(&r.cause) {
            *n += 1;
        } else {
            self.causes.insert(r.cause.clone(), 1);
        }
        if let Some(n) = self.owners.get_mut(&r.owner) {
            *n += 1;
        } else {
            self.owners.insert(r.owner.clone(), 1);
        }
        match self.format {
            Format::Jsonl => {
                self.out.write_all(&r.body)?;
                self.out.write_all(b"\n")?;
            }
            Format::Json => {
                self.out
                    .write_all(if self.count == 0 { b"[\n" } else { b",\n" })?;
                self.out.write_all(&r.body)?;
            }
            Format::Table => {
                if self.count == 0 {
                    writeln!(
                        self.out,
                        "{:<44} {:<30} {:<18} {:>4}  NEXT",
                        "TICKET", "CAUSE", "OWNER", "CONF"
                    )?;
                }
                self.out.write_all(&r.body)?;
                self.out.write_all(b"\n")?;
            }
        }
        self.count += 1;
        Ok(())
    }

    /// How many results were written.
    pub fn count(&self) -> usize {
        self.count
    }

    pub fn finish(mut self) -> std::io::Result<W> {
        match self.format {
            Format::Json => writeln!(self.out, "{}", if self.count == 0 { "[]" } else { "\n]" })?,
            Format::Table if self.count > 0 => {
                writeln!(self.out)?;
                writeln!(
                    self.out,
                    "{} ticket{}",
                    self.count,
                    if self.count == 1 { "" } else { "s" }
                )?;
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
    pairs
        .iter()
        .map(|(k, v)| format!("{k} {v}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn table_row(r: &TicketResult) -> String {
    let next = if let Some(err) = &r.error {
        format!("error: {err}")
    } else if let Some(q) = &r.question {
        format!("ask {}", q.fact)
    } else if !r.notes.is_empty() {
        // why an empty or binary ticket is unknown, or that input was cut
        format!("note: {}", r.notes.join("; "))
    } else {
        String::new()
    };
    format!(
        "{:<44} {:<30} {:<18} {:>4.2}  {}",
        shorten(&r.ticket, 44),
        r.cause,
        r.owner,
        r.confidence,
        next
    )
}

fn shorten(s: &str, width: usize) -> String {
    let count = s.chars().count();
    if count <= width {
        return s.to_string();
    }
    let tail: String = s.chars().skip(count - (width - 1)).collect();
    format!("…{tail}")
}
