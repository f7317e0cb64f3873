//! Tickets: what `classify` reads. A ticket is a plain-text transcript file,
//! or one JSON Lines record `{"id": ..., "transcript": ..., "answers": {...}}`.
//!
//! Owns: finding tickets in paths (files, folders, stdin) and decoding them.
//! Must not touch: evidence or diagnosis.

use crate::kb::Answer;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::collections::VecDeque;
use std::ffi::OsString;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

/// File endings read as transcripts when a folder is walked.
pub const TRANSCRIPT_EXTENSIONS: &[&str] = &["txt", "eml", "log", "msg", "mbox", "text", "jsonl"];

/// The largest transcript read whole; longer input is cut there with a note.
/// Whatever explains a delivery problem comes first (a bounce's report part
/// precedes the returned message and its attachments), and the cap keeps
/// each ticket's working memory (about five times its size) bounded.
pub const MAX_TICKET_BYTES: u64 = 4 * 1024 * 1024;

/// The longest line kept; the rest of a longer line is dropped with a note.
/// Real transcript lines are far shorter (SMTP allows 1,000 bytes); the cap
/// keeps a binary blob or a one-line dump from costing time or memory.
pub const MAX_LINE_BYTES: usize = 64 * 1024;

/// The longest JSON Lines record read; a longer one becomes an error record.
/// (JSON escapes can double a transcript's size.)
pub const MAX_RECORD_BYTES: usize = 2 * MAX_TICKET_BYTES as usize;

/// Folders with more entries than this are listed in the file system's own
/// order (stable while the folder is unchanged) rather than sorted, so a
/// folder of any size is walked in constant memory.
pub const SORT_LIMIT: usize = 100_000;

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
    let mut text = record.transcript.into_bytes();
    let notes = [
        truncate(&mut text),
        decode_binary(&mut text),
        cut_long_lines(&mut text),
    ]
    .into_iter()
    .flatten()
    .collect();
    Ok(Ticket {
        id,
        text,
        answers,
        notes,
    })
}

/// Where tickets come from.
#[derive(Debug, Clone)]
pub enum Input {
    Stdin,
    Path(PathBuf),
}

/// Expands paths into inputs, lazily: folders are walked recursively (sorted
/// by name, hidden entries skipped, only transcript endings kept); a missing
/// path or unreadable folder is an error for that path only.
pub fn expand(paths: &[String]) -> Walker {
    Walker {
        pending: paths.iter().cloned().collect(),
        stack: Vec::new(),
    }
}

/// A lazy walk over paths and folders; see [`expand`].
pub struct Walker {
    pending: VecDeque<String>,
    stack: Vec<Listing>,
}

/// One folder being walked: sorted names first, then (for a folder larger
/// than [`SORT_LIMIT`]) the rest straight from the file system.
struct Listing {
    dir: PathBuf,
    names: std::vec::IntoIter<(OsString, bool)>,
    rest: Option<std::fs::ReadDir>,
}

impl Listing {
    fn open(dir: PathBuf) -> std::io::Result<Listing> {
        Listing::open_sorting(dir, SORT_LIMIT)
    }

    /// Lists `dir`, sorted when it has fewer than `limit` visible entries.
    fn open_sorting(dir: PathBuf, limit: usize) -> std::io::Result<Listing> {
        let mut entries = std::fs::read_dir(&dir)?;
        let mut names = Vec::new();
        for entry in entries.by_ref().flatten() {
            if let Some(named) = visible(&entry) {
                names.push(named);
            }
            if names.len() >= limit {
                return Ok(Listing {
                    dir,
                    names: names.into_iter(),
                    rest: Some(entries),
                });
            }
        }
        names.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        Ok(Listing {
            dir,
            names: names.into_iter(),
            rest: None,
        })
    }

    fn next_entry(&mut self) -> Option<(PathBuf, bool)> {
        if let Some((name, is_dir)) = self.names.next() {
            return Some((self.dir.join(name), is_dir));
        }
        let rest = self.rest.as_mut()?;
        rest.flatten()
            .find_map(|e| visible(&e))
            .map(|(name, is_dir)| (self.dir.join(name), is_dir))
    }
}

/// A folder entry's name and whether it is a folder (following symlinks),
/// or None for a hidden entry.
fn visible(entry: &std::fs::DirEntry) -> Option<(OsString, bool)> {
    let name = entry.file_name();
    if name.as_encoded_bytes().starts_with(b".") {
        return None;
    }
    let is_dir = match entry.file_type() {
        Ok(t) if t.is_symlink() => entry.path().is_dir(),
        Ok(t) => t.is_dir(),
        Err(_) => false,
    };
    Some((name, is_dir))
}

impl Iterator for Walker {
    type Item = Result<Input, TicketError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(listing) = self.stack.last_mut() {
                match listing.next_entry() {
                    None => {
                        self.stack.pop();
                    }
                    Some((path, true)) => {
                        if let Some(err) = self.descend(path) {
                            return Some(Err(err));
                        }
                    }
                    Some((path, false)) if is_transcript(&path) => {
                        return Some(Ok(Input::Path(path)))
                    }
                    Some(_) => {}
                }
                continue;
            }
            let p = self.pending.pop_front()?;
            if p == "-" {
                return Some(Ok(Input::Stdin));
            }
            let path = PathBuf::from(&p);
            match std::fs::metadata(&path) {
                Ok(meta) if meta.is_dir() => {
                    if let Some(err) = self.descend(path) {
                        return Some(Err(err));
                    }
                }
                Ok(_) => return Some(Ok(Input::Path(path))),
                Err(e) => {
                    return Some(Err(TicketError {
                        id: p,
                        message: describe_io(&e),
                    }))
                }
            }
        }
    }
}

impl Walker {
    fn descend(&mut self, dir: PathBuf) -> Option<TicketError> {
        match Listing::open(dir.clone()) {
            Ok(listing) => {
                self.stack.push(listing);
                None
            }
            Err(e) => Some(TicketError {
                id: dir.display().to_string(),
                message: describe_io(&e),
            }),
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
        std::io::ErrorKind::IsADirectory => "is a folder".to_string(),
        _ => e.to_string(),
    }
}

/// Reads a whole transcript, at most [`MAX_TICKET_BYTES`], keeping at most
/// [`MAX_LINE_BYTES`] of each line; what was cut is noted on the ticket.
pub fn read_transcript(id: String, reader: impl Read) -> Result<Ticket, TicketError> {
    let mut text = Vec::new();
    let mut cut = LineCutter::default();
    let mut chunk = vec![0u8; 64 * 1024];
    let mut reader = reader.take(MAX_TICKET_BYTES + 1);
    let mut read: u64 = 0;
    let mut truncated = false;
    loop {
        let n = match reader.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => {
                return Err(TicketError {
                    id,
                    message: describe_io(&e),
                })
            }
        };
        let keep = n.min((MAX_TICKET_BYTES - read) as usize);
        read += n as u64;
        cut.push(&chunk[..keep], &mut text);
        if read > MAX_TICKET_BYTES {
            truncated = true;
            break;
        }
    }
    let mut notes = Vec::new();
    if truncated {
        notes.push(truncation_note());
    }
    notes.extend(cut.note());
    notes.extend(decode_binary(&mut text));
    Ok(Ticket {
        id,
        text,
        answers: BTreeMap::new(),
        notes,
    })
}

/// Copies text while dropping whatever of a line lies beyond
/// [`MAX_LINE_BYTES`]; lines end at LF or CR, as the evidence layer splits.
#[derive(Default)]
struct LineCutter {
    line_len: usize,
    cut_lines: usize,
}

impl LineCutter {
    fn push(&mut self, bytes: &[u8], out: &mut Vec<u8>) {
        for piece in bytes.split_inclusive(|&b| b == b'\n' || b == b'\r') {
            let ends = matches!(piece.last(), Some(b'\n' | b'\r'));
            let body = if ends {
                &piece[..piece.len() - 1]
            } else {
                piece
            };
            let room = MAX_LINE_BYTES.saturating_sub(self.line_len);
            if body.len() <= room {
                out.extend_from_slice(body);
            } else {
                if room > 0 {
                    self.cut_lines += 1;
                }
                out.extend_from_slice(&body[..char_boundary(body, room)]);
            }
            self.line_len += body.len();
            if ends {
                out.push(piece[piece.len() - 1]);
                self.line_len = 0;
            }
        }
    }

    fn note(&self) -> Option<String> {
        (self.cut_lines > 0).then(|| {
            format!(
                "{} line{} longer than {} KiB cut there",
                self.cut_lines,
                if self.cut_lines == 1 { "" } else { "s" },
                MAX_LINE_BYTES >> 10
            )
        })
    }
}

/// The largest index <= `at` that does not split a UTF-8 sequence.
fn char_boundary(bytes: &[u8], at: usize) -> usize {
    let mut at = at.min(bytes.len());
    while at > 0 && at < bytes.len() && bytes[at] & 0xC0 == 0x80 {
        at -= 1;
    }
    at
}

fn truncation_note() -> String {
    let mib = MAX_TICKET_BYTES >> 20;
    format!("input longer than {mib} MiB; only the first {mib} MiB were read")
}

/// Cuts a decoded transcript to [`MAX_TICKET_BYTES`]; returns the note.
fn truncate(text: &mut Vec<u8>) -> Option<String> {
    if text.len() as u64 <= MAX_TICKET_BYTES {
        return None;
    }
    let end = char_boundary(text, MAX_TICKET_BYTES as usize);
    text.truncate(end);
    Some(truncation_note())
}

/// How far into a ticket a NUL byte marks it as binary (git looks as far).
const BINARY_SNIFF_BYTES: usize = 8000;

/// Decodes UTF-16 text (by its byte-order mark), and reduces binary data
/// (a NUL byte near the start) to its runs of printable ASCII, one per line,
/// as strings(1) does: any text inside is kept, and the noise that would make
/// every pattern crawl is not. Returns the note for the ticket.
fn decode_binary(text: &mut Vec<u8>) -> Option<String> {
    let utf16 = match text.get(..2) {
        Some([0xFF, 0xFE]) => Some(u16::from_le_bytes as fn([u8; 2]) -> u16),
        Some([0xFE, 0xFF]) => Some(u16::from_be_bytes as fn([u8; 2]) -> u16),
        _ => None,
    };
    if let Some(unit) = utf16 {
        let units = text[2..].chunks_exact(2).map(|p| unit([p[0], p[1]]));
        let decoded: String = char::decode_utf16(units)
            .map(|c| c.unwrap_or('\u{FFFD}'))
            .collect();
        *text = decoded.into_bytes();
        cut_long_lines(text);
        return Some("input was UTF-16; decoded".to_string());
    }
    if !looks_binary(&text[..text.len().min(BINARY_SNIFF_BYTES)]) {
        return None;
    }
    const MIN_RUN: usize = 8;
    let mut out = Vec::new();
    let printable = |b: &u8| (0x20..0x7f).contains(b) || *b == b'\t';
    for run in text
        .split(|b| !printable(b))
        .filter(|run| run.len() >= MIN_RUN)
    {
        out.extend_from_slice(run);
        out.push(b'\n');
    }
    *text = out;
    Some(format!(
        "binary input; only its runs of {MIN_RUN} or more printable characters were read"
    ))
}

/// A NUL byte and more than one byte in twenty a control character: a stray
/// NUL in a mail does not make it binary, but random or packed data is.
fn looks_binary(sample: &[u8]) -> bool {
    let control = |b: &&u8| matches!(**b, 0..=8 | 0x0e..=0x1a | 0x1c..=0x1f | 0x7f);
    sample.contains(&0) && sample.iter().filter(control).count() * 20 > sample.len()
}

/// Cuts over-long lines of an already decoded transcript in place; returns the note.
fn cut_long_lines(text: &mut Vec<u8>) -> Option<String> {
    let longest = text
        .split(|&b| b == b'\n' || b == b'\r')
        .map(<[u8]>::len)
        .max()
        .unwrap_or(0);
    if longest <= MAX_LINE_BYTES {
        return None;
    }
    let mut cut = LineCutter::default();
    let mut out = Vec::with_capacity(text.len().min(MAX_LINE_BYTES * 4));
    cut.push(text, &mut out);
    *text = out;
    cut.note()
}

/// Reads JSON Lines records one at a time, calling `each` for every ticket.
pub fn for_each_record(
    source: &str,
    reader: impl BufRead,
    mut each: impl FnMut(Result<Ticket, TicketError>),
) {
    Records::new(source.to_string(), reader).for_each(&mut each);
}

/// JSON Lines ticket records read lazily from one source; a line longer than
/// [`MAX_RECORD_BYTES`] or not a record becomes an error for that line only.
pub struct Records<R> {
    source: String,
    reader: R,
    line: Vec<u8>,
    index: usize,
    done: bool,
}

impl<R: BufRead> Records<R> {
    pub fn new(source: String, reader: R) -> Records<R> {
        Records {
            source,
            reader,
            line: Vec::new(),
            index: 0,
            done: false,
        }
    }
}

impl<R: BufRead> Iterator for Records<R> {
    type Item = Result<Ticket, TicketError>;

    fn next(&mut self) -> Option<Self::Item> {
        while !self.done {
            self.index += 1;
            let fallback = || format!("{}:{}", self.source, self.index);
            self.line.clear();
            match read_line_bounded(&mut self.reader, &mut self.line, MAX_RECORD_BYTES) {
                Ok(None) => self.done = true,
                Ok(Some(false)) => {
                    let message =
                        format!("record longer than {} MiB; skipped", MAX_RECORD_BYTES >> 20);
                    return Some(Err(TicketError {
                        id: fallback(),
                        message,
                    }));
                }
                Ok(Some(true)) => {
                    let text = String::from_utf8_lossy(&self.line);
                    if !text.trim().is_empty() {
                        return Some(parse_record(&text, &fallback()));
                    }
                }
                Err(e) => {
                    self.done = true;
                    return Some(Err(TicketError {
                        id: fallback(),
                        message: describe_io(&e),
                    }));
                }
            }
        }
        None
    }
}

/// Reads one line into `buf` (without its `\n`), storing at most `cap`
/// bytes. None at end of input; Some(false) when the line was longer than
/// `cap` (its first `cap` bytes are kept, the rest is skipped).
fn read_line_bounded(
    reader: &mut impl BufRead,
    buf: &mut Vec<u8>,
    cap: usize,
) -> std::io::Result<Option<bool>> {
    let mut seen_any = false;
    let mut fits = true;
    loop {
        let available = match reader.fill_buf() {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if available.is_empty() {
            return Ok(seen_any.then_some(fits));
        }
        seen_any = true;
        let (part, used, found) = match memchr_newline(available) {
            Some(i) => (&available[..i], i + 1, true),
            None => (available, available.len(), false),
        };
        let room = cap.saturating_sub(buf.len());
        if part.len() > room {
            fits = false;
        }
        buf.extend_from_slice(&part[..part.len().min(room)]);
        reader.consume(used);
        if found {
            return Ok(Some(fits));
        }
    }
}

fn memchr_newline(bytes: &[u8]) -> Option<usize> {
    bytes.iter().position(|&b| b == b'\n')
}

/// Whether a stream's first bytes look like an mbox: a `From ` envelope line
/// followed by a header field.
pub fn looks_like_mbox(head: &[u8]) -> bool {
    let mut lines = head.split(|&b| b == b'\n');
    let first = lines.next().unwrap_or_default();
    let second = lines.next().unwrap_or_default();
    let name_len = second
        .iter()
        .take_while(|b| b.is_ascii_alphanumeric() || **b == b'-')
        .count();
    first.starts_with(b"From ") && name_len > 0 && second.get(name_len) == Some(&b':')
}

/// The messages of an mbox (a mail server's bounce folder), one ticket each,
/// read lazily: a message starts at a `From ` line after a blank line. Each
/// is capped at [`MAX_TICKET_BYTES`] and its lines at [`MAX_LINE_BYTES`] like
/// any transcript. Ids are `FILE#N`; an mbox of one message keeps `FILE`.
pub struct Mbox<R> {
    source: String,
    reader: R,
    index: usize,
    line: Vec<u8>,
    /// The `From ` line that ended the previous message and starts the next.
    next_from: Option<Vec<u8>>,
    done: bool,
}

impl<R: BufRead> Mbox<R> {
    pub fn new(source: String, reader: R) -> Mbox<R> {
        Mbox {
            source,
            reader,
            index: 0,
            line: Vec::new(),
            next_from: None,
            done: false,
        }
    }

    /// Reads one message; Err when reading fails part-way.
    fn read_message(&mut self) -> Result<Option<Ticket>, std::io::Error> {
        let mut text = Vec::new();
        let mut notes = Vec::new();
        let (mut cut_lines, mut truncated, mut after_blank) = (0usize, false, false);
        if let Some(from) = self.next_from.take() {
            text.extend_from_slice(&from);
            text.push(b'\n');
        }
        while !self.done {
            self.line.clear();
            let fits = match read_line_bounded(&mut self.reader, &mut self.line, MAX_LINE_BYTES)? {
                None => {
                    self.done = true;
                    break;
                }
                Some(fits) => fits,
            };
            let line = match fits {
                true => self.line.strip_suffix(b"\r").unwrap_or(&self.line),
                false => &self.line[..char_boundary(&self.line, MAX_LINE_BYTES)],
            };
            if line.starts_with(b"From ") && after_blank && !text.is_empty() {
                self.next_from = Some(line.to_vec());
                break;
            }
            after_blank = line.is_empty();
            cut_lines += usize::from(!fits);
            if text.len() + line.len() + 1 > MAX_TICKET_BYTES as usize {
                truncated = true;
                continue;
            }
            text.extend_from_slice(line);
            text.push(b'\n');
        }
        if text.iter().all(u8::is_ascii_whitespace) {
            return Ok(None);
        }
        self.index += 1;
        let id = if self.index == 1 && self.next_from.is_none() {
            self.source.clone()
        } else {
            format!("{}#{}", self.source, self.index)
        };
        if truncated {
            notes.push(truncation_note());
        }
        if cut_lines > 0 {
            notes.push(format!(
                "{cut_lines} line{} longer than {} KiB cut there",
                if cut_lines == 1 { "" } else { "s" },
                MAX_LINE_BYTES >> 10
            ));
        }
        notes.extend(decode_binary(&mut text));
        Ok(Some(Ticket {
            id,
            text,
            answers: BTreeMap::new(),
            notes,
        }))
    }
}

impl<R: BufRead> Iterator for Mbox<R> {
    type Item = Result<Ticket, TicketError>;

    fn next(&mut self) -> Option<Self::Item> {
        match self.read_message() {
            Ok(ticket) => ticket.map(Ok),
            Err(e) => {
                self.done = true;
                Some(Err(TicketError {
                    id: format!("{}#{}", self.source, self.index + 1),
                    message: describe_io(&e),
                }))
            }
        }
    }
}

/// Every ticket named by `paths`, read lazily in input order: transcript
/// files are one ticket each, `.jsonl` files (or every input, with `jsonl`)
/// one ticket per record; `-` is stdin.
pub fn stream(paths: &[String], jsonl: bool) -> Tickets {
    Tickets {
        inputs: expand(paths),
        jsonl,
        records: None,
    }
}

/// The lazy ticket stream of [`stream`].
pub struct Tickets {
    inputs: Walker,
    jsonl: bool,
    /// The input being read one ticket at a time (JSON Lines or an mbox).
    records: Option<Box<dyn Iterator<Item = Result<Ticket, TicketError>> + Send>>,
}

impl Iterator for Tickets {
    type Item = Result<Ticket, TicketError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(records) = self.records.as_mut() {
                match records.next() {
                    Some(t) => return Some(t),
                    None => self.records = None,
                }
            }
            match self.inputs.next()? {
                Err(err) => return Some(Err(err)),
                Ok(Input::Stdin) if self.jsonl => {
                    let reader = BufReader::with_capacity(256 * 1024, std::io::stdin());
                    self.records = Some(Box::new(Records::new("-".into(), reader)));
                }
                Ok(Input::Stdin) => match one_or_many("-".into(), std::io::stdin(), false) {
                    Ok(many) => self.records = Some(many),
                    Err(one) => return Some(one),
                },
                Ok(Input::Path(path)) => {
                    let id = path.display().to_string();
                    match std::fs::File::open(&path) {
                        Err(e) => {
                            return Some(Err(TicketError {
                                id,
                                message: describe_io(&e),
                            }))
                        }
                        Ok(file) if self.jsonl || is_jsonl(&path) => {
                            let reader = BufReader::with_capacity(256 * 1024, file);
                            self.records = Some(Box::new(Records::new(id, reader)));
                        }
                        Ok(file) => match one_or_many(id, file, is_mbox_name(&path)) {
                            Ok(many) => self.records = Some(many),
                            Err(one) => return Some(one),
                        },
                    }
                }
            }
        }
    }
}

type TicketIter = Box<dyn Iterator<Item = Result<Ticket, TicketError>> + Send>;

fn is_mbox_name(path: &Path) -> bool {
    path.extension().and_then(|e| e.to_str()) == Some("mbox")
}

/// An mbox becomes a stream of its messages (`Ok`); any other input is read
/// whole as one ticket (`Err` carries that single result).
fn one_or_many(
    id: String,
    source: impl Read + Send + 'static,
    mbox_by_name: bool,
) -> Result<TicketIter, Result<Ticket, TicketError>> {
    let mut reader = BufReader::with_capacity(256 * 1024, source);
    let head = match reader.fill_buf() {
        Ok(head) => head,
        Err(e) => {
            return Err(Err(TicketError {
                id,
                message: describe_io(&e),
            }))
        }
    };
    if mbox_by_name || looks_like_mbox(head) {
        return Ok(Box::new(Mbox::new(id, reader)));
    }
    Err(read_transcript(id, reader))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mbox_ids(text: &str) -> Vec<String> {
        Mbox::new("box".into(), text.as_bytes())
            .map(|t| t.unwrap().id)
            .collect()
    }

    #[test]
    fn an_mbox_is_one_ticket_per_message() {
        let text = "From a@x Mon Jun  3 10:00:00 2024\nSubject: one\n\nbody\nFrom here on, prose\n\nFrom b@x Mon Jun  3 11:00:00 2024\nSubject: two\n\nbody\n";
        assert_eq!(mbox_ids(text), vec!["box#1", "box#2"]);
        let tickets: Vec<_> = Mbox::new("box".into(), text.as_bytes()).collect();
        let first = String::from_utf8(tickets[0].as_ref().unwrap().text.clone()).unwrap();
        assert!(
            first.contains("From here on, prose"),
            "a From line inside a paragraph is body: {first}"
        );
        assert!(String::from_utf8_lossy(&tickets[1].as_ref().unwrap().text).starts_with("From b@x"));
    }

    #[test]
    fn an_mbox_of_one_message_keeps_the_file_name() {
        assert_eq!(
            mbox_ids("From a@x Mon Jun  3 10:00:00 2024\r\nSubject: one\r\n\r\nbody\r\n"),
            vec!["box"]
        );
        assert!(mbox_ids("\n\n").is_empty());
    }

    #[test]
    fn an_oversized_mbox_message_is_cut_and_the_next_still_read() {
        let big = "x".repeat(1000) + "\n";
        let mut text = String::from("From a@x Mon Jun  3 10:00:00 2024\nSubject: big\n\n");
        for _ in 0..(MAX_TICKET_BYTES as usize / big.len() + 10) {
            text.push_str(&big);
        }
        text.push_str("\nFrom b@x Mon Jun  3 11:00:00 2024\nSubject: small\n\nbody\n");
        let tickets: Vec<_> = Mbox::new("box".into(), text.as_bytes())
            .map(Result::unwrap)
            .collect();
        assert_eq!(tickets.len(), 2);
        assert!(tickets[0].text.len() as u64 <= MAX_TICKET_BYTES);
        assert_eq!(tickets[0].notes, vec![truncation_note()]);
        assert_eq!(tickets[1].id, "box#2");
    }

    #[test]
    fn an_over_long_mbox_line_is_cut_as_a_transcript_line_is() {
        let long = "é".repeat(MAX_LINE_BYTES);
        let body = format!("Subject: long\n\nbefore\n{long}\nafter\n");
        let text = format!("From a@x Mon Jun  3 10:00:00 2024\n{body}");
        let message = Mbox::new("box".into(), text.as_bytes())
            .next()
            .unwrap()
            .unwrap();
        let transcript = read_transcript("t".into(), body.as_bytes()).unwrap();
        assert_eq!(message.notes, transcript.notes);
        let kept = String::from_utf8(message.text).unwrap();
        let line = kept.lines().find(|l| l.starts_with('é')).unwrap();
        assert!(line.len() <= MAX_LINE_BYTES && line.len() > MAX_LINE_BYTES - 4);
        assert!(
            kept.ends_with("after\n"),
            "the next line is kept: {kept:.40}"
        );
    }

    #[test]
    fn mbox_detection_wants_an_envelope_line_then_a_header() {
        assert!(looks_like_mbox(
            b"From a@x Mon Jun  3 10:00:00 2024\nReturn-Path: <>\n"
        ));
        assert!(!looks_like_mbox(b"From: a@x\nTo: b@y\n"));
        assert!(!looks_like_mbox(
            b"From what I can tell the server\nsaid no\n"
        ));
    }

    fn ids(dir: &Path) -> Vec<String> {
        expand(&[dir.display().to_string()])
            .map(|i| match i {
                Ok(Input::Path(p)) => p.strip_prefix(dir).unwrap().display().to_string(),
                other => panic!("{other:?}"),
            })
            .collect()
    }

    #[test]
    fn folders_are_walked_sorted_skipping_hidden_and_foreign_endings() {
        let dir = tempfile::tempdir().unwrap();
        for name in [
            "b.txt",
            "a.eml",
            "c.png",
            ".hidden.txt",
            "sub/z",
            "sub/.x/y.txt",
            "noext",
        ] {
            let path = dir.path().join(name);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, "x").unwrap();
        }
        assert_eq!(ids(dir.path()), vec!["a.eml", "b.txt", "noext", "sub/z"]);
    }

    #[test]
    fn a_folder_larger_than_the_sort_limit_still_yields_every_entry_once() {
        let dir = tempfile::tempdir().unwrap();
        for i in 0..50 {
            std::fs::write(dir.path().join(format!("t{i:02}.txt")), "x").unwrap();
        }
        std::fs::write(dir.path().join(".hidden"), "x").unwrap();
        let mut listing = Listing::open_sorting(dir.path().to_path_buf(), 8).unwrap();
        assert!(
            listing.rest.is_some(),
            "past the limit the rest streams from the file system"
        );
        let mut seen = Vec::new();
        while let Some((path, is_dir)) = listing.next_entry() {
            assert!(!is_dir);
            seen.push(path.file_name().unwrap().to_string_lossy().into_owned());
        }
        seen.sort();
        let expected: Vec<String> = (0..50).map(|i| format!("t{i:02}.txt")).collect();
        assert_eq!(seen, expected);
    }

    #[test]
    fn a_missing_path_is_an_error_for_that_path_only() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("t.txt"), "x").unwrap();
        let paths = [
            "/no/such/place".to_string(),
            dir.path().display().to_string(),
        ];
        let got: Vec<_> = expand(&paths).collect();
        assert_eq!(got.len(), 2);
        assert_eq!(
            got[0].as_ref().unwrap_err().message,
            "no such file or folder"
        );
        assert!(got[1].is_ok());
    }

    #[test]
    fn an_over_long_line_is_cut_at_a_character_boundary_with_a_note() {
        let mut text = "220 ready\n".to_string();
        text.push_str(&"é".repeat(MAX_LINE_BYTES));
        text.push_str("\n250 ok\n");
        let t = read_transcript("t".into(), text.as_bytes()).unwrap();
        let kept = std::str::from_utf8(&t.text).expect("cut on a character boundary");
        let lines: Vec<&str> = kept.lines().collect();
        assert_eq!(lines.len(), 3);
        assert!(lines[1].len() <= MAX_LINE_BYTES && lines[1].len() > MAX_LINE_BYTES - 4);
        assert_eq!(lines[2], "250 ok");
        assert_eq!(
            t.notes,
            vec!["1 line longer than 64 KiB cut there".to_string()]
        );
        let short = read_transcript("t".into(), &b"220 a\r\n250 b\r"[..]).unwrap();
        assert_eq!(short.text, b"220 a\r\n250 b\r");
        assert!(short.notes.is_empty());
    }

    #[test]
    fn binary_input_keeps_only_its_printable_runs() {
        let mut blob = vec![0u8, 1, 2, 0xff];
        blob.extend_from_slice(b"550 5.1.1 no such user\x00\x01ab\x02");
        blob.extend((0..100_000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8 & 0x8f));
        let t = read_transcript("t".into(), &blob[..]).unwrap();
        let text = String::from_utf8(t.text).unwrap();
        assert_eq!(text.lines().next(), Some("550 5.1.1 no such user"));
        assert!(text
            .lines()
            .all(|l| l.len() >= 8 && l.bytes().all(|b| (0x20..0x7f).contains(&b) || b == b'\t')));
        assert_eq!(t.notes.len(), 1, "{:?}", t.notes);
        let plain = read_transcript("t".into(), &b"caf\xe9 550 x\n"[..]).unwrap();
        assert!(
            plain.notes.is_empty(),
            "text that is merely not UTF-8 is left to lossy decoding"
        );
        let stray = read_transcript(
            "t".into(),
            &b"550 5.1.1 no such user\n\x00 and more text\n"[..],
        )
        .unwrap();
        assert!(
            stray.notes.is_empty(),
            "one stray NUL does not make a mail binary"
        );
    }

    #[test]
    fn utf16_input_is_decoded() {
        let mut bytes = vec![0xFF, 0xFE];
        bytes.extend(
            "535 5.7.8 bad\r\n"
                .encode_utf16()
                .flat_map(u16::to_le_bytes),
        );
        let t = read_transcript("t".into(), &bytes[..]).unwrap();
        assert_eq!(t.text, b"535 5.7.8 bad\r\n");
        assert_eq!(t.notes, vec!["input was UTF-16; decoded".to_string()]);
    }

    #[test]
    fn record_transcripts_get_the_same_line_cap() {
        let line = serde_json::json!({"id": "big", "transcript": "x".repeat(MAX_LINE_BYTES * 3)})
            .to_string();
        let t = parse_record(&line, "x:1").unwrap();
        assert_eq!(t.text.len(), MAX_LINE_BYTES);
        assert_eq!(t.notes.len(), 1);
    }

    #[test]
    fn records_stream_and_bad_or_over_long_lines_are_error_records() {
        let mut input = Vec::new();
        input.extend_from_slice(b"{\"id\": 1, \"transcript\": \"a\"}\n\n");
        input.extend_from_slice(&[b'x'; 100]);
        input.extend_from_slice(b"\n{\"id\": 2, \"transcript\": \"b\"}");
        let mut reader = std::io::BufReader::with_capacity(16, &input[..]);
        let mut line = Vec::new();
        let mut got = Vec::new();
        while let Some(fits) = read_line_bounded(&mut reader, &mut line, 40).unwrap() {
            got.push((fits, String::from_utf8(std::mem::take(&mut line)).unwrap()));
        }
        assert_eq!(got.len(), 4);
        assert_eq!(got[2], (false, "x".repeat(40)));
        assert_eq!(
            got[3],
            (true, "{\"id\": 2, \"transcript\": \"b\"}".to_string())
        );
        let ids: Vec<String> = Records::new("s".into(), &input[..])
            .map(|r| r.map(|t| t.id).unwrap_or_else(|e| e.id))
            .collect();
        assert_eq!(ids, vec!["1", "s:3", "2"]);
    }

    #[test]
    fn records_parse_with_answers_and_numeric_ids() {
        let t = parse_record(
            r#"{"id": 42, "transcript": "535 no", "answers": {"receive_works": "yes"}}"#,
            "x:1",
        )
        .unwrap();
        assert_eq!(t.id, "42");
        assert_eq!(t.answers["receive_works"], Answer::Yes);
        assert!(parse_record(
            r#"{"id": 1, "transcript": "x", "answers": {"a": "maybe"}}"#,
            "x:1"
        )
        .is_err());
        assert!(parse_record("not json", "x:1")
            .unwrap_err()
            .message
            .contains("not a ticket record"));
    }
}
