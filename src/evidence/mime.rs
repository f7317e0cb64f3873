//! MIME: turns an email (a bounce, a feedback report, an auto-reply, or a
//! Unix mbox holding several) into plain text the line extractors can read.
//!
//! Owns: detecting that a paste is an email or an mbox, normalising CRLF and
//! bare-CR line ends, decoding MIME parts with `mail-parser` (multipart,
//! quoted-printable, base64, charsets, `message/delivery-status`,
//! `text/rfc822-headers`, attached `message/rfc822` originals), and the map of
//! sections the decoded text is made of.
//!
//! The evidence of an email is read from its *decoded text*: header blocks
//! as they were written (folded lines kept), then each part's decoded body.
//! Line numbers in evidence are line numbers of that decoded text; for a
//! plain-text email (no MIME) the decoded text is the input itself. The body
//! of an original message attached to a bounce is left out (only its headers
//! are kept): it is the customer's own content, not what the servers said.
//!
//! Must not touch: what any of it means; extraction happens afterwards, on
//! the decoded text, in the other extractors.

use mail_parser::{Message, MessageParser, MessagePart, MimeHeaders, PartType};

/// What a stretch of the decoded text is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SectionKind {
    /// The header block of the email itself (or of one mbox message).
    Headers,
    /// A human-readable part: the notification text of a bounce, a reply.
    Text,
    /// A machine-readable report part (`message/delivery-status`,
    /// `message/feedback-report`).
    Report,
    /// The headers of the original message a bounce returns.
    OriginalHeaders,
    /// Where the original message starts, and a note of its body left out.
    Original,
    /// Words around a pasted email (the agent's or customer's), not part of it.
    Note,
}

/// A 1-based, inclusive range of decoded lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Section {
    pub kind: SectionKind,
    pub first: usize,
    pub last: usize,
}

/// The decoded text of an email, with its section map.
#[derive(Debug, Default)]
pub struct Decoded {
    pub text: String,
    pub sections: Vec<Section>,
    /// How many messages an mbox held (1 for a single email).
    pub messages: usize,
}

/// Separators after which a plain-text bounce quotes the original message.
const ORIGINAL_MARKERS: &[&str] = &[
    "below this line is a copy of the message",
    "this is a copy of the message",
    "original message follows",
    "original message headers",
    "copy of the original message",
    "unsent message below",
    "undelivered message headers",
    "message headers follow",
    "returned mail follows",
    "returned message --",
    "header of the original message",
    "headers of the original message",
    "----- original message -----",
    "content-type: message/rfc822",
    "content-type: text/rfc822-headers",
];

/// Decodes `bytes` when they are an email or an mbox; `None` for any other
/// paste (which is read as plain text).
pub fn decode(bytes: &[u8]) -> Option<Decoded> {
    let text = normalise(bytes);
    let start = text
        .find(|c: char| !c.is_whitespace())
        .unwrap_or(text.len());
    let body = &text[start..];
    if body.starts_with("From ") && is_header(body.lines().nth(1).unwrap_or("")) {
        return Some(decode_mbox(body));
    }
    let mut out = Decoded::default();
    if looks_like_email(body) {
        append_message(&mut out, body);
        return Some(out);
    }
    // a few lines of the agent's or customer's words, then the email itself
    let (offset, email) = email_after_prose(body)?;
    let prose: Vec<&str> = body[..offset].lines().collect();
    out.push_block(SectionKind::Note, &prose.join("\n"));
    out.push_line("");
    append_message(&mut out, email);
    Some(out)
}

/// Most lines of prose before a pasted email that are still read as such.
const MAX_PROSE: usize = 12;

/// Where an email starts after some prose: a header block of at least three
/// fields naming a message header (From, Date, Received, ...).
fn email_after_prose(text: &str) -> Option<(usize, &str)> {
    let mut offset = 0;
    for (index, line) in text.split_inclusive('\n').enumerate() {
        if index > MAX_PROSE {
            return None;
        }
        // the quoted original of a plain-text bounce is not a pasted email
        if is_original_marker(line) {
            return None;
        }
        let rest = &text[offset..];
        if is_message_header(line) && looks_like_email(rest) && header_count(rest) >= 3 {
            return Some((offset, rest));
        }
        offset += line.len();
    }
    None
}

fn is_message_header(line: &str) -> bool {
    let name = line.split(':').next().unwrap_or("").to_ascii_lowercase();
    matches!(
        name.as_str(),
        "return-path"
            | "received"
            | "from"
            | "date"
            | "subject"
            | "to"
            | "message-id"
            | "mime-version"
            | "delivered-to"
            | "x-original-to"
    )
}

fn header_count(text: &str) -> usize {
    text.lines()
        .take_while(|l| !l.trim().is_empty())
        .filter(|l| !l.starts_with([' ', '\t']))
        .count()
}

/// CRLF and bare CR become LF, so every decoder sees one line end.
fn normalise(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let text = if text.contains('\r') {
        text.replace("\r\n", "\n").replace('\r', "\n")
    } else {
        text.into_owned()
    };
    // a paste from a terminal may carry colours and trailing blanks (which
    // hide the blank line after the headers and pad MIME boundaries): neither
    // is part of the message
    if text.contains('\u{1b}') || text.contains(" \n") || text.contains("\t\n") {
        // ISO-2022-JP text shifts with escapes no terminal sends for colour
        // (ESC $ B, ESC $ @): those are the message's characters, kept for
        // its charset decoder
        let keep_escapes = shifts_to_jis(&text);
        return text
            .split('\n')
            .map(|line| match keep_escapes {
                true => line.trim_end().to_string(),
                false => super::strip_ansi(line).trim_end().to_string(),
            })
            .collect::<Vec<_>>()
            .join("\n");
    }
    text
}

/// A header line: a field name (printable, no space) and a colon.
fn is_header(line: &str) -> bool {
    match line.split_once(':') {
        Some((name, _)) => {
            !name.is_empty() && name.bytes().all(|b| b.is_ascii_graphic() && b != b':')
        }
        None => false,
    }
}

/// Headers from the first line up to a blank line, with at least two
/// fields, one of them a message header: `S: 220 ...` / `C: EHLO` dialogue
/// lines have the shape of header fields too.
fn looks_like_email(text: &str) -> bool {
    let mut fields = 0;
    let mut message_headers = 0;
    for line in text.lines() {
        if line.trim().is_empty() {
            break;
        }
        if line.starts_with([' ', '\t']) && fields > 0 {
            continue;
        }
        if !is_header(line) {
            return false;
        }
        fields += 1;
        message_headers += usize::from(is_message_header(line));
    }
    fields >= 2 && message_headers >= 1
}

fn decode_mbox(text: &str) -> Decoded {
    let mut out = Decoded::default();
    let mut current = String::new();
    let mut previous_blank = true;
    for line in text.split_inclusive('\n') {
        if line.starts_with("From ") && previous_blank && !current.trim().is_empty() {
            append_message(&mut out, &current);
            current.clear();
        }
        previous_blank = line.trim().is_empty();
        if line.starts_with("From ") && current.is_empty() {
            continue;
        }
        current.push_str(
            line.strip_prefix('>')
                .filter(|l| l.starts_with("From "))
                .unwrap_or(line),
        );
    }
    if !current.trim().is_empty() {
        append_message(&mut out, &current);
    }
    out
}

/// Appends one email's decoded text to `out`.
fn append_message(out: &mut Decoded, raw: &str) {
    out.messages += 1;
    if !out.text.is_empty() {
        out.push_line("");
    }
    let top = raw
        .lines()
        .take_while(|l| !l.trim().is_empty())
        .collect::<Vec<_>>()
        .join("\n")
        .to_ascii_lowercase();
    let mime = top.contains("content-type:")
        || top.contains("mime-version:")
        || top.contains("content-transfer-encoding:");
    let parsed = if mime {
        MessageParser::default().parse(raw.as_bytes())
    } else {
        None
    };
    match parsed {
        Some(message) => Walker { out, depth: 0 }.message(&message, false),
        None => append_plain(out, raw),
    }
}

/// A non-MIME email: its text as it is, with headers, text and a quoted
/// original told apart.
fn append_plain(out: &mut Decoded, raw: &str) {
    let mut lines = raw.lines();
    let mut header_lines = Vec::new();
    for line in lines.by_ref() {
        if line.trim().is_empty() {
            break;
        }
        header_lines.push(line);
    }
    out.push_block(SectionKind::Headers, &header_lines.join("\n"));
    out.push_line("");
    let body: Vec<&str> = lines.collect();
    out.push_notification(&body);
}

/// [`ORIGINAL_MARKERS`] in one automaton, ignoring ASCII case: one pass
/// per line instead of lower-casing it and searching it once per marker.
static ORIGINAL_MARKER: std::sync::LazyLock<aho_corasick::AhoCorasick> =
    std::sync::LazyLock::new(|| {
        aho_corasick::AhoCorasick::builder()
            .ascii_case_insensitive(true)
            .build(ORIGINAL_MARKERS)
            .expect("a few short markers")
    });

fn is_original_marker(line: &str) -> bool {
    ORIGINAL_MARKER.is_match(line)
}

impl Decoded {
    /// A human-readable part; where it quotes the original message, the
    /// marker and the original's headers are kept and its body left out.
    fn push_notification(&mut self, lines: &[&str]) {
        let cut = lines
            .iter()
            .position(|l| is_original_marker(l))
            .unwrap_or(lines.len());
        self.push_block(SectionKind::Text, &lines[..cut].join("\n"));
        if cut == lines.len() {
            return;
        }
        self.push_line("");
        self.push_block(SectionKind::Original, lines[cut]);
        let rest = &lines[cut + 1..];
        let start = rest
            .iter()
            .position(|l| !l.trim().is_empty())
            .unwrap_or(rest.len());
        let headers = rest[start..]
            .iter()
            .take_while(|l| !l.trim().is_empty() && (is_header(l) || l.starts_with([' ', '\t'])))
            .count();
        self.push_block(
            SectionKind::OriginalHeaders,
            &rest[start..start + headers].join("\n"),
        );
        let omitted = rest.len() - start - headers;
        if omitted > 0 {
            self.push_line("");
            self.push_block(
                SectionKind::Original,
                &format!("[original message body: {omitted} lines not shown]"),
            );
        }
    }

    fn line_count(&self) -> usize {
        if self.text.is_empty() {
            0
        } else {
            self.text.matches('\n').count() + 1
        }
    }

    fn push_line(&mut self, line: &str) {
        if !self.text.is_empty() {
            self.text.push('\n');
        }
        self.text.push_str(line);
    }

    /// Appends `block` as one section (nothing when it is blank).
    fn push_block(&mut self, kind: SectionKind, block: &str) {
        let block = block.trim_end_matches(['\n', ' ', '\t']);
        if block.trim().is_empty() {
            return;
        }
        let first = self.line_count() + 1;
        for line in block.split('\n') {
            self.push_line(line);
        }
        let last = self.line_count();
        self.sections.push(Section { kind, first, last });
    }
}

/// Renders a parsed message part by part.
struct Walker<'o> {
    out: &'o mut Decoded,
    depth: usize,
}

impl Walker<'_> {
    /// `original`: this message is the one a bounce returns, so only its
    /// headers are kept.
    fn message(&mut self, message: &Message<'_>, original: bool) {
        let kind = if original {
            SectionKind::OriginalHeaders
        } else {
            SectionKind::Headers
        };
        self.headers(message, 0, kind);
        if original || self.depth > 4 {
            return;
        }
        let report = is_report(message);
        self.depth += 1;
        self.part(message, 0, report);
        self.depth -= 1;
    }

    fn headers(&mut self, message: &Message<'_>, part: u32, kind: SectionKind) {
        let Some(p) = message.part(part) else { return };
        // header offsets count from the start of the buffer the message was
        // parsed from, which for an attached message is the outer one's
        let raw = message.raw_message.as_ref();
        let mut block = String::new();
        for header in &p.headers {
            let name = header.name.as_str();
            let value = if name.eq_ignore_ascii_case("subject") && part == 0 {
                message.subject().map(str::to_string)
            } else {
                None
            };
            let value = value.unwrap_or_else(|| {
                slice(raw, header.offset_start, header.offset_end)
                    .trim()
                    .to_string()
            });
            block.push_str(name);
            block.push_str(": ");
            block.push_str(&value);
            block.push('\n');
        }
        self.out.push_block(kind, &block);
        self.out.push_line("");
    }

    fn part(&mut self, message: &Message<'_>, id: u32, in_report: bool) {
        let Some(p) = message.part(id) else { return };
        match &p.body {
            PartType::Multipart(children) => {
                for &child in children {
                    if child != id {
                        self.child_headers(message, child);
                        self.part(message, child, in_report);
                    }
                }
            }
            PartType::Message(inner) => {
                let original = in_report || !is_bounce(inner);
                self.message(inner, original);
            }
            PartType::Text(text) => self.text(p, text, in_report),
            PartType::Html(html) => {
                let text = mail_parser::decoders::html::html_to_text(html);
                self.text(p, &text, in_report);
            }
            PartType::Binary(bytes) | PartType::InlineBinary(bytes) => {
                if is_textual(p) {
                    let text = String::from_utf8_lossy(bytes);
                    self.text(p, &text, in_report);
                } else if let Some(inner) = attached_email(p, bytes) {
                    let original = in_report || !is_bounce(&inner);
                    self.message(&inner, original);
                } else {
                    let kind = content_type(p);
                    self.out.push_block(
                        SectionKind::Text,
                        &format!("[attachment {kind}, {} bytes, not shown]", bytes.len()),
                    );
                    self.out.push_line("");
                }
            }
        }
    }

    /// A leaf part's own headers are kept only where they say what the part
    /// is (its Content-Type), so a report part is recognisable.
    fn child_headers(&mut self, message: &Message<'_>, id: u32) {
        let Some(p) = message.part(id) else { return };
        if matches!(p.body, PartType::Multipart(_)) {
            return;
        }
        let ctype = content_type(p);
        if ctype.starts_with("message/") || ctype.starts_with("text/rfc822") {
            self.out
                .push_block(SectionKind::Headers, &format!("Content-Type: {ctype}"));
        }
    }

    fn text(&mut self, p: &MessagePart<'_>, text: &str, in_report: bool) {
        let ctype = content_type(p);
        let text = decode_undeclared_iso2022jp(text);
        let text = text.replace("\r\n", "\n").replace('\r', "\n");
        let kind = match ctype.as_str() {
            "message/delivery-status"
            | "message/global-delivery-status"
            | "message/feedback-report" => SectionKind::Report,
            "text/rfc822-headers" | "message/rfc822-headers" => SectionKind::OriginalHeaders,
            _ if in_report && ctype.starts_with("message/") => SectionKind::OriginalHeaders,
            _ => SectionKind::Text,
        };
        if kind == SectionKind::Text {
            let lines: Vec<&str> = text.lines().collect();
            self.out.push_notification(&lines);
        } else {
            self.out.push_block(kind, &text);
        }
        self.out.push_line("");
    }
}

/// ISO-2022-JP's shift into JIS X 0208 (`ESC $ B`, `ESC $ @`): no terminal
/// sends it for colour, so it marks Japanese text, not a terminal paste.
fn shifts_to_jis(text: &str) -> bool {
    text.contains("\u{1b}$B") || text.contains("\u{1b}$@")
}

/// Japanese mail in ISO-2022-JP whose part declares no charset arrives as
/// 7-bit text with escape sequences (`ESC $ B` ... `ESC ( B`); read as it is,
/// the escapes are dropped with the other control characters and the words
/// become noise. The escapes themselves identify the encoding.
fn decode_undeclared_iso2022jp(text: &str) -> std::borrow::Cow<'_, str> {
    if !shifts_to_jis(text) || !text.is_ascii() {
        return text.into();
    }
    match mail_parser::decoders::charsets::map::charset_decoder(b"iso-2022-jp") {
        Some(decode) => decode(text.as_bytes()).into(),
        None => text.into(),
    }
}

fn slice(raw: &[u8], start: u32, end: u32) -> String {
    let (start, end) = (start as usize, (end as usize).min(raw.len()));
    if start >= end {
        return String::new();
    }
    String::from_utf8_lossy(&raw[start..end]).into_owned()
}

fn content_type(p: &MessagePart<'_>) -> String {
    match p.content_type() {
        Some(ct) => match ct.subtype() {
            Some(sub) => format!("{}/{}", ct.ctype(), sub).to_ascii_lowercase(),
            None => ct.ctype().to_ascii_lowercase(),
        },
        None => "text/plain".to_string(),
    }
}

fn is_textual(p: &MessagePart<'_>) -> bool {
    let ctype = content_type(p);
    // a multipart the parser could not split (a broken boundary) is still text
    ctype.starts_with("text/") || ctype.starts_with("message/") || ctype.starts_with("multipart/")
}

/// An email attached under a generic type: several mail programs and
/// webmails attach a saved message (`Undeliverable.eml`) as
/// `application/octet-stream` rather than `message/rfc822`. When the part is
/// named `*.eml` or has that generic type, and its bytes start with a header
/// block, it is read as the message it is.
fn attached_email<'b>(p: &MessagePart<'_>, bytes: &'b [u8]) -> Option<Message<'b>> {
    let named_eml = p
        .attachment_name()
        .is_some_and(|name| name.trim().to_ascii_lowercase().ends_with(".eml"));
    if !named_eml && content_type(p) != "application/octet-stream" {
        return None;
    }
    let head = String::from_utf8_lossy(&bytes[..bytes.len().min(8192)]);
    let head = head.replace("\r\n", "\n");
    if !looks_like_email(head.trim_start()) {
        return None;
    }
    MessageParser::default().parse(bytes)
}

/// A `multipart/report`: its attached message is the original.
fn is_report(message: &Message<'_>) -> bool {
    message.root_part().content_type().is_some_and(|ct| {
        ct.ctype().eq_ignore_ascii_case("multipart")
            && ct
                .subtype()
                .is_some_and(|s| s.eq_ignore_ascii_case("report"))
    })
}

/// A bounce attached to another message (a customer forwarding one) is read
/// in full; any other attached message is an original.
fn is_bounce(message: &Message<'_>) -> bool {
    if is_report(message) {
        return true;
    }
    let from = message
        .from()
        .and_then(|a| a.first())
        .and_then(|a| a.address())
        .unwrap_or("")
        .to_ascii_lowercase();
    from.starts_with("mailer-daemon") || from.starts_with("postmaster")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The automaton ignores ASCII case; the markers were compared with a
    /// lower-cased line, which only lower-case markers could match.
    #[test]
    fn original_markers_are_lower_case_and_found_in_any_case() {
        for m in ORIGINAL_MARKERS {
            assert_eq!(*m, m.to_ascii_lowercase());
            assert!(is_original_marker(&format!("> {}", m.to_ascii_uppercase())));
        }
        assert!(!is_original_marker("original message"));
    }

    #[test]
    fn a_prefixed_dialogue_is_not_an_email() {
        assert!(decode(b"S: 220 mx ESMTP\nC: EHLO pc1\nS: 250 AUTH LOGIN\n").is_none());
    }

    #[test]
    fn undeclared_iso2022jp_text_is_decoded_by_its_escapes() {
        let jis = "\u{1b}$B%a!<%k\u{1b}(B: user unknown";
        let decoded = decode_undeclared_iso2022jp(jis);
        assert_eq!(decoded, "メール: user unknown");
        assert_eq!(decode_undeclared_iso2022jp("plain words"), "plain words");
    }

    #[test]
    fn declared_iso2022jp_bodies_keep_their_escapes_and_are_decoded() {
        let email = "From: postmaster@example.co.jp\nTo: a@example.jp\nSubject: Undeliverable message\nMIME-Version: 1.0\nContent-Type: text/plain; charset=ISO-2022-JP\n\n------- Failure Reasons  --------\n\n\u{1b}$B%G%#%l%/%H%j$N%j%9%H$K$\"$j$^$;$s\u{1b}(B\nb@example.co.jp\n";
        let decoded = decode(email.as_bytes()).expect("an email");
        assert!(
            decoded.text.contains("ディレクトリのリストにありません"),
            "{}",
            decoded.text
        );
    }

    #[test]
    fn plain_text_is_not_an_email() {
        assert!(decode(b"220 mx ESMTP\nEHLO me\n").is_none());
        assert!(decode(b"Customer says:\nFrom: a@b\n").is_none());
    }

    #[test]
    fn plain_email_keeps_its_lines() {
        let raw = "From: a@example.org\nSubject: x\n\nhello\n--- Below this line is a copy of the message.\nbody\n";
        let d = decode(raw.as_bytes()).unwrap();
        assert_eq!(d.text.lines().nth(3), Some("hello"));
        assert_eq!(d.sections.last().unwrap().kind, SectionKind::Original);
    }

    #[test]
    fn an_attached_messages_headers_keep_their_own_values() {
        let d = decode(include_bytes!(
            "../../tests/data/bounce/forwarded-as-attachment.eml"
        ))
        .unwrap();
        let lines: Vec<&str> = d.text.lines().collect();
        for want in [
            "From: Mail Delivery Subsystem <MAILER-DAEMON@smtp.isp.example.net>",
            "To: dana@example.com",
            "Subject: Undelivered Mail Returned to Sender",
        ] {
            assert!(lines.contains(&want), "{want} not in:\n{}", d.text);
        }
    }

    #[test]
    fn an_email_after_a_line_of_prose_is_decoded() {
        let raw = "Customer forwarded this:\n\nReturn-Path: <>\nFrom: MAILER-DAEMON@example.org\nSubject: failure notice\n\nSorry.\n";
        let d = decode(raw.as_bytes()).unwrap();
        let kinds: Vec<_> = d.sections.iter().map(|s| s.kind).collect();
        assert_eq!(
            kinds,
            [SectionKind::Note, SectionKind::Headers, SectionKind::Text]
        );
        assert_eq!(d.text.lines().next(), Some("Customer forwarded this:"));
    }

    #[test]
    fn an_email_attached_as_octet_stream_is_read_as_a_message() {
        let bounce = "From: Mail Delivery System <MAILER-DAEMON@mx.example.net>\r\nTo: a@example.com\r\nSubject: Mail delivery failed\r\n\r\nThe following address(es) failed:\r\n\r\n  b@example.org\r\n    552 5.3.4 Message size exceeds fixed limit\r\n";
        let b64 = |s: &str| {
            use base64::Engine;
            base64::engine::general_purpose::STANDARD.encode(s)
        };
        let outer = |ctype: &str, name: &str, body: &str| {
            format!(
                "From: a@example.com\nTo: support@example.net\nSubject: FW: error\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=\"b\"\n\n--b\nContent-Type: text/plain\n\nSee attached.\n\n--b\nContent-Type: {ctype}; name=\"{name}\"\nContent-Disposition: attachment; filename=\"{name}\"\nContent-Transfer-Encoding: base64\n\n{}\n--b--\n",
                b64(body)
            )
        };
        for (ctype, name) in [
            ("application/octet-stream", "Mail delivery failed.eml"),
            ("application/octet-stream", "bounce"),
            ("application/x-unknown", "Undeliverable.EML"),
        ] {
            let d = decode(outer(ctype, name, bounce).as_bytes()).unwrap();
            assert!(
                d.text
                    .contains("552 5.3.4 Message size exceeds fixed limit"),
                "{ctype} {name}:\n{}",
                d.text
            );
            assert!(d
                .text
                .lines()
                .any(|l| l == "From: Mail Delivery System <MAILER-DAEMON@mx.example.net>"));
        }
        // other binary attachments stay out, whatever their bytes
        let d = decode(outer("application/pdf", "invoice.pdf", bounce).as_bytes()).unwrap();
        assert!(!d.text.contains("552 5.3.4"), "{}", d.text);
        let d = decode(outer("application/octet-stream", "data.bin", "%PDF-1.4 binary").as_bytes())
            .unwrap();
        assert!(
            d.text.contains("[attachment application/octet-stream"),
            "{}",
            d.text
        );
    }

    #[test]
    fn base64_bodies_are_decoded_from_their_charset() {
        let d = decode(include_bytes!("../../tests/data/bounce/base64-latin1.eml")).unwrap();
        assert!(
            d.text.contains("<hans@example.de>: Empfänger unbekannt"),
            "{}",
            d.text
        );
        assert!(!d.text.contains('\r'));
    }

    #[test]
    fn bare_cr_and_crlf_are_line_ends() {
        let d = decode(b"From: a@example.org\rTo: b@example.org\r\rbody\r").unwrap();
        assert_eq!(d.text.lines().count(), 4);
        let d = decode(b"From: a@example.org\r\nTo: b@example.org\r\n\r\nbody\r\n").unwrap();
        assert!(!d.text.contains('\r'));
    }
}
