//! Tickets: what `classify` reads. A ticket is a plain-text transcript file,
//! or one JSON Lines record `{"id": ..., "transcript": ..., "answers": {...}}`.
//!
//! Owns: finding tickets in paths (files, folders, stdin) and decoding them.
//! Must not touch: evidence or diagnosis.

use crate::kb::Answer;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::io::{BufRead, Read};
use std::path::{Path, PathBuf};

/// File endings read as transcripts when a folder is walked.
pub const TRANSCRIPT_EXTENSIONS: &[&str] = &["txt", "eml", "log", "msg", "mbox", "text", "jsonl"];

/// The largest transcript read whole; longer input is cut there with a note.
pub const MAX_TICKET_BYTES: u64 = 64 * 1024 * 1024;

#[derive(Debug, Clone)]
pub struct Ticket {
    pub id: String,
    pub text: Vec<u8>,
    pub answers: BTreeMap<String, Answer>,
    /// Remarks about reading it (truncation).
    pub notes: Vec<String>,
}

/// A ticket that could not be read.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{id}: {message}")]
pub struct TicketError {
    pub id: String,
    pub message: String,
}

#[derive(Debug, Deserialize)]
struct Record {
    #[serde(default)]
    id: Option<serde_json::Value>,
    transcript: String,
    #[serde(default)]
    answers: BTreeMap<String, String>,
}

/// Parses one JSON Lines record; `fallback_id` names it when it has no id.
pub fn parse_record(line: &str, fallback_id: &str) -> Result<Ticket, TicketError> {
    let record: Record = serde_json::from_str(line).map_err(|e| TicketError {
        id: fallback_id.to_string(),
        message: format!("not a ticket record ({e}); expected {{\"id\": ..., \"transcript\": ..., \"answers\": {{...}}}}"),
    })?;
    let id = match record.id {
        Some(serde_json::Value::String(s)) => s,
        Some(other) => other.to_string(),
        None => fallback_id.to_string(),
    };
    let mut answers = BTreeMap::new();
    for (fact, value) in record.answers {
        let answer = Answer::parse(&value).ok_or_else(|| TicketError {
            id: id.clone(),
            message: format!("answer {fact}={value}: the value must be yes, no or unknown"),
        })?;
        answers.insert(fact, answer);
    }
    Ok(Ticket { id, text: record.transcript.into_bytes(), answers, notes: Vec::new() })
}

/// Where tickets come from.
#[derive(Debug, Clone)]
pub enum Input {
    Stdin,
    Path(PathBuf),
}

/// Expands paths into a list of inputs: folders are walked (sorted, hidden
/// files skipped, only transcript endings kept); a missing path is an error
/// for that path only.
pub fn expand(paths: &[String]) -> Vec<Result<Input, TicketError>> {
    let mut out = Vec::new();
    for p in paths {
        if p == "-" {
            out.push(Ok(Input::Stdin));
            continue;
        }
        let path = PathBuf::from(p);
        match std::fs::metadata(&path) {
            Ok(meta) if meta.is_dir() => walk(&path, &mut out),
            Ok(_) => out.push(Ok(Input::Path(path))),
            Err(e) => out.push(Err(TicketError { id: p.clone(), message: describe_io(&e) })),
        }
    }
    out
}

fn walk(dir: &Path, out: &mut Vec<Result<Input, TicketError>>) {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) => {
            out.push(Err(TicketError { id: dir.display().to_string(), message: describe_io(&e) }));
            return;
        }
    };
    let mut paths: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    paths.sort();
    for path in paths {
        let hidden = path.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with('.'));
        if hidden {
            continue;
        }
        if path.is_dir() {
            walk(&path, out);
        } else if is_transcript(&path) {
            out.push(Ok(Input::Path(path)));
        }
    }
}

fn is_transcript(path: &Path) -> bool {
    match path.extension().and_then(|e| e.to_str()) {
        None => true,
        Some(ext) => TRANSCRIPT_EXTENSIONS.contains(&ext.to_ascii_lowercase().as_str()),
    }
}

pub fn is_jsonl(path: &Path) -> bool {
    path.extension().and_then(|e| e.to_str()) == Some("jsonl")
}

pub fn describe_io(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file or folder".to_string(),
        std::io::ErrorKind::PermissionDenied => "permission denied".to_string(),
        _ => e.to_string(),
    }
}

/// Reads a whole transcript, at most [`MAX_TICKET_BYTES`].
pub fn read_transcript(id: String, reader: impl Read) -> Result<Ticket, TicketError> {
    let mut text = Vec::new();
    let read = reader
        .take(MAX_TICKET_BYTES + 1)
        .read_to_end(&mut text)
        .map_err(|e| TicketError { id: id.clone(), message: describe_io(&e) })?;
    let mut notes = Vec::new();
    if read as u64 > MAX_TICKET_BYTES {
        text.truncate(MAX_TICKET_BYTES as usize);
        notes.push(format!("input longer than {} MiB; only the first {} MiB were read", MAX_TICKET_BYTES >> 20, MAX_TICKET_BYTES >> 20));
    }
    Ok(Ticket { id, text, answers: BTreeMap::new(), notes })
}

/// Reads JSON Lines records one at a time, calling `each` for every ticket.
pub fn for_each_record(source: &str, reader: impl BufRead, mut each: impl FnMut(Result<Ticket, TicketError>)) {
    for (index, line) in reader.split(b'\n').enumerate() {
        let fallback = format!("{source}:{}", index + 1);
        match line {
            Ok(bytes) => {
                let text = String::from_utf8_lossy(&bytes);
                if text.trim().is_empty() {
                    continue;
                }
                each(parse_record(&text, &fallback));
            }
            Err(e) => {
                each(Err(TicketError { id: fallback, message: describe_io(&e) }));
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_parse_with_answers_and_numeric_ids() {
        let t = parse_record(r#"{"id": 42, "transcript": "535 no", "answers": {"receive_works": "yes"}}"#, "x:1").unwrap();
        assert_eq!(t.id, "42");
        assert_eq!(t.answers["receive_works"], Answer::Yes);
        assert!(parse_record(r#"{"id": 1, "transcript": "x", "answers": {"a": "maybe"}}"#, "x:1").is_err());
        assert!(parse_record("not json", "x:1").unwrap_err().message.contains("not a ticket record"));
    }
}
