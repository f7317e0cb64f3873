//! Evidence: turns a pasted transcript into typed, line-referenced facts.
//!
//! Owns: the evidence model ([`Evidence`], [`Item`], [`Attempt`]) and the
//! extractors that fill it (SMTP dialogues, connection attempts, network
//! output, DSN fields, secrets). Every item carries the 1-based line(s) and
//! the redacted quote it came from.
//!
//! Emails (bounces, reports, auto-replies, mbox files) are first decoded by
//! [`mime`]; their evidence lines are the lines of the decoded text, which
//! for a plain-text email is the input itself. [`bounce`] then ties items to
//! the recipient they are about, so each recipient can be judged on its own.
//!
//! Must not touch: the knowledge base or any diagnosis. Extraction says what
//! the transcript shows ("a 535 answered AUTH on line 9"), never what it means;
//! meaning is the knowledge base's job.

mod attempts;
mod bounce;
mod dsn;
pub mod mime;
mod mtalog;
mod netinfo;
pub mod redact;
mod reply;
mod scope;
mod smtp;

use serde::Serialize;
use std::fmt;

pub use attempts::{Attempt, Outcome};
pub use redact::SecretKind;

/// The SMTP phase a server reply answers: the last command the client sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Phase {
    /// The banner, before any command.
    Greeting,
    Ehlo,
    Helo,
    StartTls,
    Auth,
    Mail,
    Rcpt,
    Data,
    /// After the end-of-data dot: the verdict on the message itself.
    Message,
    Quit,
    /// Another command (RSET, NOOP, VRFY, ...).
    Other,
    /// The transcript does not say which command this answers.
    Unknown,
}

impl fmt::Display for Phase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match self {
            Phase::Greeting => "greeting",
            Phase::Ehlo => "EHLO",
            Phase::Helo => "HELO",
            Phase::StartTls => "STARTTLS",
            Phase::Auth => "AUTH",
            Phase::Mail => "MAIL FROM",
            Phase::Rcpt => "RCPT TO",
            Phase::Data => "DATA",
            Phase::Message => "end of data",
            Phase::Quit => "QUIT",
            Phase::Other => "other command",
            Phase::Unknown => "unknown phase",
        };
        f.write_str(name)
    }
}

/// An RFC 3463 enhanced status code, `class.subject.detail`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Status {
    pub class: u8,
    pub subject: u16,
    pub detail: u16,
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.class, self.subject, self.detail)
    }
}

impl Serialize for Status {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// A server reply (possibly multi-line), from a dialogue, a log or a bounce.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Reply {
    pub code: u16,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<Status>,
    /// The reply text without code and status, lines joined by a space.
    pub text: String,
    pub phase: Phase,
    /// True when the reply is quoted inside prose, a log or a bounce rather
    /// than seen in a live dialogue.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub quoted: bool,
    /// True when the report gave no reply code and `code` was inferred from
    /// its status class or action (`550` failed, `450` delayed).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub code_inferred: bool,
}

/// How a connection attempt ended at the TCP/DNS level.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConnectResult {
    /// Started (a `Trying ...` line) with no result seen yet.
    Trying,
    Connected,
    TimedOut,
    Refused,
    /// The server name did not resolve.
    NameNotFound,
    /// Network unreachable, reset, or another socket error.
    Failed,
}

/// What one item of evidence is.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ItemKind {
    Reply(Reply),
    /// A client command, verb upper-cased (`EHLO`, `MAIL`, `AUTH`, ...) with its argument.
    Command {
        verb: String,
        arg: String,
    },
    /// An EHLO keyword with its parameters, e.g. `AUTH` / `PLAIN LOGIN`.
    Capability {
        keyword: String,
        params: String,
    },
    /// A 334 AUTH prompt, decoded when it is base64 (`Username:`).
    AuthPrompt {
        decoded: String,
    },
    /// A credential the client sent; never shown, only its kind and size.
    Secret {
        secret: SecretKind,
        bytes: usize,
    },
    Connect {
        host: String,
        port: Option<u16>,
        result: ConnectResult,
    },
    LocalAddress {
        address: String,
    },
    Ptr {
        address: String,
        name: String,
    },
    /// A DNS lookup that found nothing (NXDOMAIN, "not found").
    NameError {
        name: String,
    },
    /// A header or DSN field (`Status`, `Final-Recipient`, `Received-SPF`, ...).
    Field {
        name: String,
        value: String,
    },
    /// A hint of which network a session ran from ("from dial-up").
    NetworkHint {
        label: String,
    },
}

/// One piece of evidence with where it came from.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Item {
    #[serde(flatten)]
    pub kind: ItemKind,
    /// 1-based first line.
    pub line: usize,
    /// 1-based last line (equal to `line` for one-line items).
    pub end_line: usize,
    /// The source line(s), redacted.
    pub quote: String,
    /// Index into [`Evidence::attempts`], when the item belongs to one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attempt: Option<usize>,
    /// Index into [`Evidence::recipients`], when the item is about one recipient.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recipient: Option<usize>,
    /// True when the item lies inside a pasted report (a bounce, the session
    /// transcript it quotes, a forwarded message) rather than in the
    /// customer's own live session or notes.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub in_report: bool,
}

/// A recipient named by a bounce or an RCPT TO, with what happened to it.
#[derive(Debug, Clone, PartialEq, Serialize, Default)]
pub struct Recipient {
    pub address: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub action: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<Status>,
    pub line: usize,
}

impl Recipient {
    /// The DSN says the message reached this recipient (or was passed on).
    pub fn delivered(&self) -> bool {
        matches!(
            self.action.as_deref(),
            Some("delivered" | "relayed" | "expanded")
        ) || self.status.is_some_and(|s| s.class == 2)
    }
}

/// Everything extracted from one transcript.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Evidence {
    /// The transcript's lines, redacted, without line ends.
    #[serde(skip)]
    pub lines: Vec<String>,
    pub items: Vec<Item>,
    pub attempts: Vec<Attempt>,
    pub recipients: Vec<Recipient>,
    /// Remarks about the input itself (lossy decoding, truncation, ...).
    pub notes: Vec<String>,
    /// Fingerprints of the credentials each attempt sent, never serialised:
    /// used only to tell whether two attempts used the same credentials.
    #[serde(skip)]
    pub credential_prints: Vec<Option<u64>>,
    /// For a decoded email, what each stretch of lines is (empty for plain text).
    #[serde(skip)]
    pub sections: Vec<mime::Section>,
    /// How many emails the input held (an mbox holds several; 0 for plain text).
    #[serde(skip)]
    pub messages: usize,
    /// The 1-based, inclusive line ranges that lie inside a pasted report
    /// (see `scope`): everything else is the customer's live session or notes.
    #[serde(skip)]
    pub reports: Vec<(usize, usize)>,
    /// (1-based line, recipient index), in line order, for each line a
    /// sending MTA's log writes about one recipient's delivery (see
    /// `mtalog`): what such a line says is about that recipient, not about
    /// the others.
    #[serde(skip)]
    pub line_recipients: Vec<(usize, usize)>,
}

impl Evidence {
    /// Extracts evidence from raw transcript bytes (decoded lossily if needed).
    pub fn from_bytes(bytes: &[u8]) -> Evidence {
        if let Some(decoded) = mime::decode(bytes) {
            let mut evidence =
                Evidence::from_sections(&decoded.text, decoded.sections, decoded.messages);
            if decoded.messages > 1 {
                evidence.notes.push(format!(
                    "an mbox of {} messages, read one after another",
                    decoded.messages
                ));
            }
            if std::str::from_utf8(bytes).is_err() {
                evidence
                    .notes
                    .push("input was not valid UTF-8; decoded lossily".to_string());
            }
            evidence.notes.extend(input_notes(bytes));
            return evidence;
        }
        let mut evidence = match std::str::from_utf8(bytes) {
            Ok(text) => Evidence::from_text(text),
            Err(_) => {
                let text = String::from_utf8_lossy(bytes);
                let mut evidence = Evidence::from_text(&text);
                evidence
                    .notes
                    .push("input was not valid UTF-8; decoded lossily".to_string());
                evidence
            }
        };
        evidence.notes.extend(input_notes(bytes));
        evidence
    }

    /// The text evidence line numbers refer to, before redaction: a decoded
    /// email's text, else the input itself (lossily decoded). Re-quoting lines
    /// from anything else would quote the wrong lines of an encoded bounce.
    pub fn source_text(bytes: &[u8]) -> String {
        match mime::decode(bytes) {
            Some(decoded) => decoded.text,
            None => String::from_utf8_lossy(bytes).into_owned(),
        }
    }

    /// Extracts evidence from a transcript.
    pub fn from_text(text: &str) -> Evidence {
        Evidence::from_sections(text, Vec::new(), 0)
    }

    /// Extracts evidence from a decoded email's text and its section map.
    fn from_sections(text: &str, sections: Vec<mime::Section>, messages: usize) -> Evidence {
        let mut lines = split_lines(text);
        unquote_forwarded(&mut lines);
        let redacted = redact::redact_lines(&lines);
        let mut evidence = Evidence {
            lines: redacted.lines,
            sections,
            messages,
            ..Evidence::default()
        };
        smtp::extract(&mut evidence, &redacted.secrets);
        netinfo::extract(&mut evidence);
        dsn::extract(&mut evidence);
        bounce::extract(&mut evidence);
        mtalog::extract(&mut evidence);
        evidence
            .items
            .sort_by_key(|item| (item.line, item.end_line));
        scope::mark(&mut evidence);
        attempts::assemble(&mut evidence, &redacted.secrets);
        evidence
    }

    /// The redacted text of 1-based line `no`, or "" when out of range.
    pub fn line(&self, no: usize) -> &str {
        no.checked_sub(1)
            .and_then(|i| self.lines.get(i))
            .map(String::as_str)
            .unwrap_or("")
    }

    /// Whether 1-based line `no` lies inside a pasted report.
    pub fn in_report(&self, no: usize) -> bool {
        self.reports
            .iter()
            .any(|&(first, last)| first <= no && no <= last)
    }

    /// Whether 1-based line `no` is about recipients other than `recipient`
    /// only (a log's delivery line for another address).
    pub fn about_others(&self, no: usize, recipient: usize) -> bool {
        // kept in line order: a long log's lines are found by bisection
        let start = self.line_recipients.partition_point(|&(line, _)| line < no);
        let mut owners = self.line_recipients[start..]
            .iter()
            .take_while(|&&(line, _)| line == no)
            .peekable();
        owners.peek().is_some() && owners.all(|&(_, r)| r != recipient)
    }

    /// The redacted transcript, lines joined by `\n`.
    pub fn redacted_text(&self) -> String {
        self.lines.join("\n")
    }

    /// Sentences a paste wrapped over two lines, joined with a space:
    /// (0-based index of the first line, the joined text). Agents retype or
    /// paste a program's pop-up wrapped at their own width ("... because it
    /// does not / allow relaying."), so a wording can be cut in two.
    pub fn wrapped_pairs(&self) -> Vec<(usize, String)> {
        self.lines
            .windows(2)
            .enumerate()
            .filter(|(_, pair)| continues(&pair[0], &pair[1]))
            .map(|(i, pair)| {
                (
                    i,
                    format!("{} {}", pair[0].trim_end(), pair[1].trim_start()),
                )
            })
            .collect()
    }

    pub fn replies(&self) -> impl Iterator<Item = (&Item, &Reply)> {
        self.items.iter().filter_map(|item| match &item.kind {
            ItemKind::Reply(reply) => Some((item, reply)),
            _ => None,
        })
    }

    pub(crate) fn push(&mut self, kind: ItemKind, line: usize, end_line: usize) {
        let quote = (line..=end_line)
            .map(|no| self.line(no).trim_end())
            .collect::<Vec<_>>()
            .join("\n");
        self.items.push(Item {
            kind,
            line,
            end_line,
            quote,
            attempt: None,
            recipient: None,
            in_report: false,
        });
    }
}

/// Remarks on input that is not a transcript at all, so an empty result
/// explains itself.
fn input_notes(bytes: &[u8]) -> Option<String> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Some("the transcript is empty".to_string());
    }
    // the test git and grep use: text files do not hold NUL bytes
    let head = &bytes[..bytes.len().min(8192)];
    head.contains(&0)
        .then(|| "input looks binary (it holds NUL bytes); only its text was read".to_string())
}

/// Splits on LF, CRLF and bare CR, and strips terminal escape sequences.
fn split_lines(text: &str) -> Vec<String> {
    let normalised = text.replace("\r\n", "\n").replace('\r', "\n");
    let mut lines: Vec<String> = normalised.split('\n').map(strip_ansi).collect();
    if lines.last().is_some_and(|l| l.is_empty()) {
        lines.pop();
    }
    lines
}

/// Fewest lines of a block of `>`-quoted text that is read as a forwarded message.
const MIN_QUOTED_BLOCK: usize = 5;

/// Removes one level of e-mail quoting (`> `) from blocks of a forwarded
/// message, so a bounce forwarded inline ("Begin forwarded message:") is read
/// like the bounce itself. A block counts only when it is long and has an
/// empty quoted line (`>` alone), which mail programs write and tool output
/// (curl's `> EHLO`, a transcript's `>>> DATA`) does not; line numbers stay.
fn unquote_forwarded(lines: &mut [String]) {
    let mut start = 0;
    while start < lines.len() {
        let end = start
            + lines[start..]
                .iter()
                .take_while(|l| l.starts_with('>'))
                .count();
        let block = &lines[start..end];
        if block.len() >= MIN_QUOTED_BLOCK && block.iter().any(|l| l.trim_end() == ">") {
            for line in &mut lines[start..end] {
                let rest = &line[1..];
                *line = rest.strip_prefix(' ').unwrap_or(rest).to_string();
            }
        }
        start = end.max(start + 1);
    }
}

/// Removes ANSI escape sequences and other control characters except tab.
fn strip_ansi(line: &str) -> String {
    if !line.bytes().any(|b| b < 0x20 && b != b'\t' || b == 0x7f) {
        return line.to_string();
    }
    let mut out = String::with_capacity(line.len());
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            match chars.next() {
                // CSI: parameters and intermediates, then one final byte in @..~
                Some('[') => {
                    for c in chars.by_ref() {
                        if ('@'..='~').contains(&c) {
                            break;
                        }
                    }
                }
                // OSC (window titles set by shell prompts), DCS, APC, PM, SOS:
                // a string ended by BEL or ESC \
                Some(']' | 'P' | '_' | '^' | 'X') => {
                    while let Some(c) = chars.next() {
                        if c == '\u{7}' || (c == '\u{1b}' && chars.next_if_eq(&'\\').is_some()) {
                            break;
                        }
                    }
                }
                // charset selection and other escapes: intermediates, then one final byte
                Some(' '..='/') => {
                    while chars.next_if(|c| (' '..='/').contains(c)).is_some() {}
                    chars.next();
                }
                _ => {}
            }
        } else if c == '\t' || !c.is_control() {
            out.push(c);
        }
    }
    out
}

/// Whether `next` carries on the sentence `prev` broke off: `prev` is prose
/// (words, no sentence or block end) and `next` starts in lower case (or
/// opens a parenthesis in lower case), as
/// no log line, reply, header or command does.
pub(crate) fn continues(prev: &str, next: &str) -> bool {
    const LONGEST: usize = 1000;
    let (prev, next) = (prev.trim_end(), next.trim_start());
    let ends_mid_sentence = prev
        .chars()
        .last()
        .is_some_and(|c| c.is_alphanumeric() || matches!(c, ',' | '\'' | '"' | '(' | ')' | '-'));
    ends_mid_sentence
        && prev.trim_start().contains(' ')
        && next
            .trim_start_matches('(')
            .starts_with(|c: char| c.is_lowercase())
        && prev.len() + next.len() < LONGEST
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_parenthesis_opening_in_lower_case_continues_a_sentence() {
        let e =
            Evidence::from_text("only the mail with the wedding video\n(about 80 MB) is stuck\n");
        assert_eq!(e.wrapped_pairs().len(), 1);
    }

    #[test]
    fn wrapped_sentences_are_joined_and_logs_are_not() {
        let e = Evidence::from_text(
            "  The recipient \"b@example.org\" was rejected by the server because it does not\n  allow relaying.\nApr 17 10:02:11 mx1 postfix/smtp[20931]: 4VLk2b: to=<b@example.org>\nstatus=sent (250 ok)\nThe server responded:\n  relay denied\n",
        );
        assert_eq!(
            e.wrapped_pairs(),
            vec![(0, "  The recipient \"b@example.org\" was rejected by the server because it does not allow relaying.".to_string())]
        );
    }

    use super::*;

    #[test]
    fn lines_split_on_every_line_end_and_lose_escapes() {
        let lines = split_lines("a\r\nb\rc\n\u{1b}[1;31m220 x\u{1b}[0m\n");
        assert_eq!(lines, vec!["a", "b", "c", "220 x"]);
    }

    #[test]
    fn title_and_charset_escapes_are_removed_whole() {
        let lines = split_lines(
            "\u{1b}]0;user@host: ~\u{7}$ telnet mx 25\n\u{1b}(B220 mx\u{1b}]2;t\u{1b}\\ ready\n",
        );
        assert_eq!(lines, vec!["$ telnet mx 25", "220 mx ready"]);
    }

    #[test]
    fn a_bounce_forwarded_inline_is_read_without_its_quote_marks() {
        let mut lines: Vec<String> = "Begin forwarded message:\n\n> From: MAILER-DAEMON\n>\n>    ----- Transcript of session follows -----\n>>>> DATA\n> <<< 550 5.1.1 <b@example.org>... User unknown\n> Status: 5.1.1"
            .lines()
            .map(String::from)
            .collect();
        unquote_forwarded(&mut lines);
        assert_eq!(lines[2], "From: MAILER-DAEMON");
        assert_eq!(lines[3], "");
        assert_eq!(lines[5], ">>> DATA");
        assert_eq!(lines[6], "<<< 550 5.1.1 <b@example.org>... User unknown");
    }

    #[test]
    fn tool_output_with_angle_brackets_is_left_alone() {
        let curl = "> EHLO pc\n< 250-mx\n> AUTH LOGIN\n> MAIL FROM:<a@example.com>\n> RCPT TO:<b@example.org>\n> DATA";
        let mut lines: Vec<String> = curl.lines().map(String::from).collect();
        let before = lines.clone();
        unquote_forwarded(&mut lines);
        assert_eq!(lines, before);
        let sendmail =
            ">>> MAIL FROM:<a@example.com>\n>>> RCPT TO:<b@example.org>\n>>> DATA\n>>> QUIT\n>>> .";
        let mut lines: Vec<String> = sendmail.lines().map(String::from).collect();
        let before = lines.clone();
        unquote_forwarded(&mut lines);
        assert_eq!(lines, before);
    }

    #[test]
    fn invalid_utf8_is_noted() {
        let evidence = Evidence::from_bytes(b"220 mx \xff ready\n");
        assert_eq!(evidence.notes.len(), 1);
        assert_eq!(evidence.replies().count(), 1);
    }
}
