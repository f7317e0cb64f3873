//! SMTP dialogues in the forms people paste (`S:`/`C:`, `<-`/`->`, swaks
//! `<~`/`~>`, `<<<`/`>>>`, `<<`/`>>`, curl's `<`/`>`, PHPMailer's
//! `SERVER -> CLIENT:`, Python smtplib's `send:`/`reply:`, raw telnet) and
//! replies quoted in prose, logs and bounces.

use super::redact::{self, SecretAt};
use super::reply::{self, find_embedded, find_embedded_line, parse_reply_line, phase_hint};
use super::{Evidence, ItemKind, Phase, Reply};
use regex::Regex;
use std::borrow::Cow;
use std::sync::LazyLock;

#[derive(Debug, Clone, Copy, PartialEq)]
enum Dir {
    Server,
    Client,
    /// A tool's own remark (swaks `===`, `***`): not part of the dialogue.
    Info,
}

static TIMESTAMP: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"^\s*\[?(?:\d{4}-\d\d-\d\d[T ])?\d\d:\d\d:\d\d(?:[.,]\d+)?(?:Z|[+-]\d\d:?\d\d)?\]?\s+",
    )
    .unwrap()
});

/// Splits a line into its direction marker and body.
fn split_prefix(line: &str) -> (Option<Dir>, &str) {
    let line = match TIMESTAMP.find(line) {
        Some(m) => &line[m.end()..],
        None => line,
    };
    let trimmed = line.trim_start();
    // a program's tag before the marker: `[SMTP] < 220 ...`
    let trimmed = match trimmed.strip_prefix('[').and_then(|r| r.split_once("] ")) {
        Some((tag, rest))
            if !tag.is_empty()
                && tag.len() <= 16
                && tag
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') =>
        {
            rest.trim_start()
        }
        _ => trimmed,
    };
    if let Some(found) = python_debug(trimmed) {
        return found;
    }
    const PREFIXES: [(&str, Dir); 22] = [
        // PHPMailer's debug output
        ("SERVER -> CLIENT:", Dir::Server),
        ("CLIENT -> SERVER:", Dir::Client),
        // devices' debug logs
        ("RX:", Dir::Server),
        ("TX:", Dir::Client),
        ("<<<", Dir::Server),
        (">>>", Dir::Client),
        // devices' and libraries' logs: `[SMTP] << 220 ...`, `>> EHLO ...`
        ("<<", Dir::Server),
        (">>", Dir::Client),
        // swaks marks an error reply with `*`: `<**` plain, `<-*`/`<~*` in newer versions and TLS
        ("<**", Dir::Server),
        ("<-*", Dir::Server),
        ("<~*", Dir::Server),
        ("***", Dir::Info),
        ("===", Dir::Info),
        ("<-", Dir::Server),
        ("->", Dir::Client),
        ("<~", Dir::Server),
        ("~>", Dir::Client),
        ("S:", Dir::Server),
        ("C:", Dir::Client),
        ("R:", Dir::Server),
        ("<", Dir::Server),
        (">", Dir::Client),
    ];
    for (prefix, dir) in PREFIXES {
        if let Some(rest) = trimmed.strip_prefix(prefix) {
            // `<`/`>` and `<<`/`>>` count only before a space: curl's
            // `< 250 ok`, not `<a@b>` or a shell's `<<EOF`
            if prefix.len() <= 2
                && prefix.chars().all(|c| c == '<' || c == '>')
                && !rest.starts_with(' ')
            {
                continue;
            }
            return (Some(dir), rest.trim_start());
        }
    }
    (None, trimmed)
}

/// Whether a line of a 250 reply is an SMTP service extension keyword
/// (RFC 5321 and the registered extensions a server lists after EHLO).
fn is_ehlo_keyword(text: &str) -> bool {
    const KEYWORDS: [&str; 14] = [
        "PIPELINING",
        "SIZE",
        "STARTTLS",
        "AUTH",
        "8BITMIME",
        "ENHANCEDSTATUSCODES",
        "DSN",
        "SMTPUTF8",
        "CHUNKING",
        "ETRN",
        "BINARYMIME",
        "DELIVERBY",
        "REQUIRETLS",
        "VRFY",
    ];
    let word = text.split([' ', '=']).next().unwrap_or("");
    KEYWORDS.iter().any(|k| word.eq_ignore_ascii_case(k))
}

/// Python smtplib's debug output (`set_debuglevel`): `send: 'ehlo me\r\n'`
/// and `reply: b'250-STARTTLS\r\n'` carry one line of the dialogue as a
/// Python literal; `reply: retcode (250); Msg: ...` repeats a whole reply and
/// is the library's remark.
fn python_debug(line: &str) -> Option<(Option<Dir>, &str)> {
    let (dir, rest) = if let Some(rest) = line.strip_prefix("reply:") {
        (Dir::Server, rest.trim_start())
    } else if let Some(rest) = line.strip_prefix("send:") {
        (Dir::Client, rest.trim_start())
    } else {
        return None;
    };
    if rest.starts_with("retcode (") {
        return Some((Some(Dir::Info), rest));
    }
    let rest = rest.strip_prefix('b').unwrap_or(rest);
    let quote = rest.chars().next().filter(|&c| c == '\'' || c == '"')?;
    let inner = &rest[1..rest.rfind(quote).filter(|&end| end > 0)?];
    let inner = inner.trim_end_matches("\\n").trim_end_matches("\\r");
    Some((Some(dir), inner))
}

static COMMAND: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)^(EHLO|HELO|LHLO|MAIL\s+FROM|RCPT\s+TO|DATA|BDAT|QUIT|AUTH|STARTTLS|RSET|NOOP|VRFY|EXPN|HELP)\b:?\s*(.*)$").unwrap()
});

fn parse_command(body: &str) -> Option<(String, String)> {
    let caps = COMMAND.captures(body.trim())?;
    let verb = caps[1].trim_end_matches(':').to_ascii_uppercase();
    let verb = verb.split_whitespace().next().unwrap_or("").to_string();
    let arg = caps
        .get(2)
        .map(|m| m.as_str().trim().to_string())
        .unwrap_or_default();
    if arg.is_empty()
        && !matches!(
            verb.as_str(),
            "DATA" | "QUIT" | "STARTTLS" | "RSET" | "NOOP" | "HELP"
        )
    {
        return None;
    }
    // unprefixed prose like "Data was lost" is not a command
    if !body.trim().eq_ignore_ascii_case(&verb)
        && arg.contains(' ')
        && !matches!(verb.as_str(), "MAIL" | "RCPT" | "AUTH" | "BDAT")
    {
        return None;
    }
    Some((verb, arg))
}

/// Whether an unprefixed line is a command typed into the session rather
/// than prose or a log line that starts with a verb ("RCPT TO command
/// failed: ...", "Auth: failed"). A `: ` marks prose, except the colon of
/// `MAIL FROM:`/`RCPT TO:` itself (people type `MAIL FROM: <a@b>`) and a
/// redaction marker standing for credentials (`AUTH PLAIN <redacted: ...>`).
fn is_typed_command(body: &str) -> bool {
    static MARKER: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"<redacted:[^>]*>").unwrap());
    static OWN_COLON: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"(?i)^\s*(?:MAIL\s+FROM|RCPT\s+TO):\s+<").unwrap());
    let plain = MARKER.replace_all(body, "<redacted>");
    if parse_command(&plain).is_none() {
        return false;
    }
    let rest = match OWN_COLON.find(&plain) {
        Some(m) => &plain[m.end()..],
        None => &plain[..],
    };
    !rest.contains(": ")
}

fn phase_of(verb: &str) -> Phase {
    match verb {
        "EHLO" | "LHLO" => Phase::Ehlo,
        "HELO" => Phase::Helo,
        "STARTTLS" => Phase::StartTls,
        "AUTH" => Phase::Auth,
        "MAIL" => Phase::Mail,
        "RCPT" => Phase::Rcpt,
        "DATA" | "BDAT" => Phase::Data,
        "QUIT" => Phase::Quit,
        _ => Phase::Other,
    }
}

/// A multi-line reply being collected.
struct Pending {
    code: u16,
    first: usize,
    texts: Vec<String>,
}

struct Dialogue<'e> {
    evidence: &'e mut Evidence,
    phase: Phase,
    in_data: bool,
    pending: Option<Pending>,
    /// A phase named by a log line shortly before, with its line number.
    hinted: Option<(Phase, usize)>,
    /// The input is a decoded email (a bounce, a report): every reply in it
    /// is quoted, and a reply no command or wording places answers an
    /// unknown phase, not the greeting.
    email: bool,
    /// Replies read since a DATA command: (item index, read from a server
    /// line of the dialogue rather than quoted). See [`Dialogue::settle_pipelined`].
    after_data: Vec<(usize, bool)>,
    /// The last server reply of the session (code, words): a report's own
    /// line repeating it answered the same command.
    last_server: Option<(u16, String)>,
}

/// The phase a reply starts from before any command is seen: a live
/// dialogue starts at the banner, a report does not say.
fn start_phase(email: bool) -> Phase {
    if email {
        Phase::Unknown
    } else {
        Phase::Greeting
    }
}

pub fn extract(evidence: &mut Evidence, secrets: &[SecretAt]) {
    let email = !evidence.sections.is_empty();
    let mut d = Dialogue {
        evidence,
        phase: start_phase(email),
        in_data: false,
        pending: None,
        hinted: None,
        email,
        after_data: Vec::new(),
        last_server: None,
    };
    let count = d.evidence.lines.len();
    let mut no = 1;
    while no <= count {
        no = d.line(no);
    }
    d.flush(count);
    d.settle_pipelined();
    for secret in secrets {
        evidence.push(
            ItemKind::Secret {
                secret: secret.kind,
                bytes: secret.bytes,
            },
            secret.line,
            secret.line,
        );
    }
}

impl Dialogue<'_> {
    /// Handles line `no`; returns the next line to read.
    fn line(&mut self, no: usize) -> usize {
        let text = self.evidence.line(no).to_string();
        if self.email && text.trim().is_empty() && !self.in_data {
            // a report's paragraphs are separate stories
            self.flush(no - 1);
            self.settle_pipelined();
            self.phase = Phase::Unknown;
            self.hinted = None;
            self.last_server = None;
            return no + 1;
        }
        let (dir, body) = split_prefix(&text);
        if self.in_data && dir != Some(Dir::Server) {
            if body.trim() == "." {
                self.in_data = false;
                self.phase = Phase::Message;
                return no + 1;
            }
            if dir.is_some() || parse_reply_line(body).is_none() {
                return no + 1;
            }
        }
        match dir {
            Some(Dir::Server) => self.server(no, body),
            Some(Dir::Client) => self.client(no, body),
            Some(Dir::Info) => {
                self.flush(no - 1);
                return self.quoted(no, body);
            }
            None => {
                if parse_reply_line(body).is_some() && !looks_like_log_line(&text) {
                    if self.pending.is_none() && (self.email || self.introduced(no)) {
                        // a reply a report or an introducing line quotes
                        return self.quoted(no, &text);
                    }
                    self.server(no, body);
                } else if is_typed_command(body) {
                    self.client(no, body);
                } else {
                    self.flush(no - 1);
                    return self.quoted(no, &text);
                }
            }
        }
        no + 1
    }

    fn server(&mut self, no: usize, body: &str) {
        let Some(line) = parse_reply_line(body) else {
            return;
        };
        if let Some(p) = &mut self.pending {
            if p.code == line.code {
                p.texts.push(line.rest.to_string());
                if !line.continued {
                    self.flush(no);
                }
                return;
            }
            self.flush(no - 1);
        }
        self.pending = Some(Pending {
            code: line.code,
            first: no,
            texts: vec![line.rest.to_string()],
        });
        if !line.continued {
            self.flush(no);
        }
    }

    fn client(&mut self, no: usize, body: &str) {
        self.flush(no - 1);
        if body.starts_with("<redacted:") {
            return;
        }
        let Some((verb, arg)) = parse_command(body) else {
            return;
        };
        self.settle_pipelined();
        self.phase = phase_of(&verb);
        self.evidence.push(ItemKind::Command { verb, arg }, no, no);
    }

    /// Closes the reply being collected, which ended on line `last`.
    fn flush(&mut self, last: usize) {
        let Some(p) = self.pending.take() else {
            return;
        };
        if p.code == 220 && !matches!(self.phase, Phase::StartTls) {
            self.phase = Phase::Greeting;
        }
        let mut phase = self.phase;
        // a lone reply under a log line that names the command ("after EHLO x:")
        if matches!(phase, Phase::Greeting | Phase::Unknown) && p.code != 220 {
            if let Some((hinted, _)) = self
                .hinted
                .filter(|(_, at)| p.first.saturating_sub(*at) <= 3)
            {
                phase = hinted;
            }
        }
        // a multi-line 250 listing extension keywords answers an EHLO, even
        // when the paste left the command out (library debug output often does)
        if matches!(phase, Phase::Greeting | Phase::Unknown)
            && p.code == 250
            && p.texts.iter().skip(1).any(|t| is_ehlo_keyword(t))
        {
            phase = Phase::Ehlo;
        }
        if phase == Phase::Ehlo && (200..300).contains(&p.code) {
            for (offset, text) in p.texts.iter().enumerate().skip(1) {
                self.capability(p.first + offset, text);
            }
        }
        if phase == Phase::Auth && p.code == 334 {
            let decoded = redact::decode_prompt(p.texts.first().map(String::as_str).unwrap_or(""));
            self.evidence
                .push(ItemKind::AuthPrompt { decoded }, p.first, last);
            return;
        }
        let joined = p.texts.join(" ");
        let status = reply::find_status(&joined);
        let text = reply::strip_leading_status(&joined).to_string();
        if p.code == 354 {
            self.in_data = true;
        }
        if phase == Phase::Data {
            self.after_data.push((self.evidence.items.len(), true));
        }
        self.last_server = Some((p.code, words(&text)));
        self.evidence.push(
            ItemKind::Reply(Reply {
                code: p.code,
                status,
                text,
                phase,
                quoted: self.email,
                code_inferred: false,
            }),
            p.first,
            last.max(p.first),
        );
    }

    fn capability(&mut self, no: usize, text: &str) {
        let mut words = text.splitn(2, [' ', '=']);
        let keyword = words.next().unwrap_or("").to_ascii_uppercase();
        if keyword.is_empty() {
            return;
        }
        let params = words.next().unwrap_or("").trim().to_string();
        self.evidence
            .push(ItemKind::Capability { keyword, params }, no, no);
    }

    /// A reply quoted in prose, a log or a report. It may sit on the line
    /// itself (`... said: 550 ...`), have only its code there with the text
    /// folded below (`said: 550\n    5.7.1 ...`), or be a reply line of its
    /// own under a line that introduces it (`... said:`, Exim's `SMTP error
    /// from remote mail server after RCPT TO:<a@b>:`). Folded lines and the
    /// further lines of a multi-line reply (`550-...`) are joined, so a phase
    /// named at its end (`(in reply to end of DATA\n command)`) is read.
    fn quoted(&mut self, no: usize, text: &str) -> usize {
        // qmail-send's log writes the report with `_` for spaces
        let qmail = reply::qmail_delivery_report(text);
        let text = qmail.as_deref().unwrap_or(text);
        if let Some(phase) = phase_hint(text) {
            self.hinted = Some((phase, no));
        }
        // a new session of a multi-host report: nothing is known of its phase
        if NEW_SESSION.is_match_str(text) {
            self.settle_pipelined();
            self.phase = Phase::Unknown;
            self.last_server = None;
        }
        // "... said: 550" with the text folded onto the next line
        let next = self.evidence.line(no + 1).to_string();
        let unfolded = format!("{} {}", text.trim_end(), next.trim());
        let own = parse_reply_line(text.trim());
        let own_line = own.is_some();
        let (found, mut last) = match own.or_else(|| find_embedded_line(text)) {
            Some(found) => (Some(found), no),
            None if continues_quote(&next) => match find_embedded_line(&unfolded) {
                Some(found) => (Some(found), no + 1),
                None => (None, no),
            },
            None => (None, no),
        };
        // "The mail server responded: 5.7.520 ..." names a status but no code
        let status_only = if found.is_some() {
            None
        } else if qmail.is_some() {
            reply::qmail_status_reply(text).map(|(code, rest)| (code, Cow::Owned(rest)))
        } else {
            reply::find_status_reply(text)
        };
        let code_inferred = status_only.is_some();
        let found = found.map(|r| (r.code, r.continued, Cow::Borrowed(r.rest)));
        let Some((code, mut continued, rest)) =
            found.or(status_only.map(|(code, rest)| (code, false, rest)))
        else {
            return no + 1;
        };
        let mut joined = rest.into_owned();
        // a JSON member's value is whole on its line; the next line is a sibling
        let json_member = is_json_member(text);
        while !json_member && last - no < MAX_QUOTED_LINES {
            let mut next = self.evidence.line(last + 1);
            // some reports write a blank line after each line of a reply
            if next.trim().is_empty() && continued {
                let after = self.evidence.line(last + 2).trim();
                if parse_reply_line(after).is_some_and(|l| l.code == code) {
                    last += 1;
                    next = self.evidence.line(last + 1);
                }
            }
            let body = next.trim();
            if body.is_empty() || body.starts_with("--") || is_field_line(body) {
                break;
            }
            if let Some(line) = parse_reply_line(body) {
                // the next line of the same reply, or another reply
                if !(continued && line.code == code) {
                    break;
                }
                continued = folded_markers(body, code).unwrap_or(line.continued);
                joined.push(' ');
                joined.push_str(&without_markers(
                    reply::strip_leading_status(line.rest),
                    code,
                ));
                last += 1;
                continue;
            }
            // Postfix folds a multi-line reply into one paragraph: an
            // indented line that carries more `550-5.7.26` markers of the
            // same code is more of the same reply, not a new one
            if continued && next.starts_with([' ', '\t']) && !INTRODUCER.is_match_str(next) {
                if let Some(goes_on) = folded_markers(body, code) {
                    continued = goes_on;
                    joined.push(' ');
                    joined.push_str(&without_markers(body, code));
                    last += 1;
                    continue;
                }
            }
            // a report's tag naming the command the reply answered, on the
            // line under it (Yahoo's `[RCPT_TO]`): the reply ends with it
            if is_phase_tag(body) {
                joined.push(' ');
                joined.push_str(body);
                last += 1;
                break;
            }
            // a reply with only its code (and status) so far: its words are
            // on the next line, folded without the indent when a gateway or
            // mail client re-wrapped the report
            let wordless = !own_line
                && reply::strip_leading_status(&joined).trim().is_empty()
                && find_embedded(body).is_none();
            // a quote a console or a pop-up wrapped at its width: the line
            // breaks off mid-sentence and the next goes on in lower case
            // (PowerShell's "... Authentication unsuccessful, the\nrequest
            // did not meet the criteria ...")
            let wrapped = !self.email
                && super::continues(self.evidence.line(last), next)
                && find_embedded(body).is_none();
            // a list of labelled lines ("Diagnostic code: ...", "Remote
            // system: ..."): the next label starts a sibling, not more words
            // less indented than the reply (the next recipient of Exim's
            // list), or introducing a reply of its own
            if !(continues_quote(next) || wordless || wrapped)
                || labelled_sibling(text, next)
                || indent(next) < indent(text)
                || INTRODUCER.is_match_str(next)
            {
                break;
            }
            joined.push(' ');
            joined.push_str(body);
            last += 1;
        }
        // a transcript's own line that repeats the server's last reply
        // (Sendmail's `550 5.1.1 <a@b>... User unknown` under `<<< 550 ...`)
        // answered the same command; another of its lines may be about
        // something else entirely (a host lookup, a local mailer)
        let repeats = self.last_server.as_ref().is_some_and(|(c, w)| {
            *c == code && {
                let mine = words(reply::strip_leading_status(&joined));
                !mine.is_empty() && (w.starts_with(&mine) || mine.starts_with(w.as_str()))
            }
        });
        let dialogue =
            (self.email && repeats && !matches!(self.phase, Phase::Greeting | Phase::Unknown))
                .then_some(self.phase);
        // a report's lines above the reply that say what it answers
        let first = if self.email || own_line {
            self.lead_in(no)
        } else {
            no
        };
        let lead = (first..no)
            .map(|n| self.evidence.line(n).trim())
            .collect::<Vec<_>>()
            .join(" ");
        let phase = phase_hint(&joined)
            .or_else(|| phase_hint(&lead))
            .or_else(|| self.hinted.filter(|(_, at)| no - at <= 3).map(|(p, _)| p))
            .or(dialogue)
            .unwrap_or(Phase::Unknown);
        // a hint serves the reply it introduces, not the next recipient's
        self.hinted = None;
        let status = reply::find_status(&joined);
        let text = reply::strip_leading_status(&joined).to_string();
        if phase == Phase::Data {
            self.after_data.push((self.evidence.items.len(), false));
        }
        self.evidence.push(
            ItemKind::Reply(Reply {
                code,
                status,
                text,
                phase,
                quoted: true,
                code_inferred,
            }),
            first,
            last,
        );
        last + 1
    }

    /// Where the lead-in of a reply quoted on line `no` starts: the lines
    /// just above it in the same paragraph that introduce it (Postfix's
    /// `<a@b>: host X said:`, Exim's `SMTP error from remote mail server
    /// after RCPT TO:<a@b>:`, a local mailer's complaint before Sendmail's
    /// summary reply). They become part of the reply's quote, not its text.
    fn lead_in(&self, no: usize) -> usize {
        let floor = self.evidence.items.last().map_or(0, |i| i.end_line);
        let mut first = no;
        while first > floor + 1 && no - first < MAX_LEAD_IN {
            let above = self.evidence.line(first - 1);
            let body = above.trim();
            if body.is_empty()
                || body.starts_with("--")
                || body.starts_with("==")
                || is_field_line(body)
                || split_prefix(above).0.is_some()
                || parse_reply_line(body).is_some()
                || find_embedded(body).is_some()
            {
                break;
            }
            first -= 1;
        }
        first
    }

    /// A transcript that pipelines (RFC 2920) shows only the last command
    /// of a group, `>>> DATA`, then the server's replies to the whole group
    /// in order: when several server replies follow it, all but the last
    /// answered the RCPT TO commands before it (Sendmail's `<<< 550 5.1.1
    /// <a@b>... User unknown` then `<<< 503 Need RCPT`), and so do the lines
    /// between that repeat them.
    fn settle_pipelined(&mut self) {
        let replies = std::mem::take(&mut self.after_data);
        let Some(&(last, _)) = replies.iter().rev().find(|(_, server)| *server) else {
            return;
        };
        if replies.iter().filter(|(_, server)| *server).count() < 2 {
            return;
        }
        for (index, _) in replies {
            if index >= last {
                continue;
            }
            if let Some(ItemKind::Reply(reply)) =
                self.evidence.items.get_mut(index).map(|i| &mut i.kind)
            {
                reply.phase = Phase::Rcpt;
            }
        }
    }

    /// The line before `no` ends by introducing a reply (`... said:`).
    fn introduced(&self, no: usize) -> bool {
        no > 1 && INTRODUCER.is_match_str(self.evidence.line(no - 1))
    }
}

/// Most lines after its first that one quoted reply is read over.
const MAX_QUOTED_LINES: usize = 10;
/// Most lines above a quoted reply read as its lead-in.
const MAX_LEAD_IN: usize = 3;

/// A line that ends by introducing a reply written on the next line.
static INTRODUCER: LazyLock<crate::shared_regex::SharedRegex> = LazyLock::new(|| {
    crate::shared_regex::SharedRegex::unicode(
        r"(?i)(?:\bsaid|responded|\bresponse(?: was)?|\breply|replied|returned|\berror|failed|\banswer|to me|\bsmtp|\bafter\s[^:]{1,40}(?::\s*<[^>]*>[^:]{0,40})?)\s*[:;]\s*$",
    )
});

/// Sendmail starts each host's part of a report with "while talking to".
static NEW_SESSION: LazyLock<crate::shared_regex::SharedRegex> =
    LazyLock::new(|| crate::shared_regex::SharedRegex::unicode(r"(?i)\bwhile talking to\b"));

/// A reply's words, lower-cased, without spaces or punctuation, to tell
/// two quotes of one reply.
fn words(text: &str) -> String {
    text.chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect()
}

fn indent(line: &str) -> usize {
    line.len() - line.trim_start().len()
}

/// `next` is a labelled line (`  Remote system: dns; ...`) at the indent
/// of `first`, itself a labelled line (`  Diagnostic code: smtp; 550 ...`).
fn labelled_sibling(first: &str, next: &str) -> bool {
    static LABELLED: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"^(\s*)[A-Za-z][A-Za-z -]{0,30}:\s+\S").unwrap());
    match (LABELLED.captures(first), LABELLED.captures(next)) {
        (Some(a), Some(b)) => a[1] == b[1],
        _ => false,
    }
}

/// A DSN or header field line (`Diagnostic-Code: ...`): a quote ends there.
fn is_field_line(body: &str) -> bool {
    static FIELD: LazyLock<crate::shared_regex::SharedRegex> = LazyLock::new(|| {
        crate::shared_regex::SharedRegex::unicode(
            r"(?i)^(?:final-recipient|original-recipient|action|status|remote-mta|reporting-mta|diagnostic-code|last-attempt-date|x-[a-z-]+|content-[a-z-]+|received|to|from|subject|date):\s",
        )
    });
    FIELD.is_match_str(body)
}

/// A line that is only a bracketed command tag a report writes under a
/// reply to say what it answered (Yahoo's `[RCPT_TO]`).
fn is_phase_tag(body: &str) -> bool {
    static TAG: LazyLock<crate::shared_regex::SharedRegex> = LazyLock::new(|| {
        crate::shared_regex::SharedRegex::unicode(r"^\[[A-Za-z][A-Za-z_ ]{1,20}\]$")
    });
    TAG.is_match_str(body) && phase_hint(body).is_some()
}

/// A reply marker (`550-5.7.26`, `550 5.7.26`): code, separator, status.
static MARKER: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\b([2-5]\d\d)([- ])[245]\.\d{1,3}\.\d{1,3}\b").unwrap());

/// For a line of a folded multi-line reply: whether the markers of reply
/// `code` on it (`550-5.7.26 ... 550 5.7.26`) end with one that says more
/// lines follow. None when the line carries no marker of that code.
fn folded_markers(body: &str, code: u16) -> Option<bool> {
    MARKER
        .captures_iter(body)
        .filter(|c| c[1].parse::<u16>().ok() == Some(code))
        .last()
        .map(|c| &c[2] == "-")
}

/// The line without the reply markers of `code` a fold left in it.
fn without_markers(body: &str, code: u16) -> String {
    let text = MARKER.replace_all(body, |c: &regex::Captures| {
        if c[1].parse::<u16>().ok() == Some(code) {
            String::new()
        } else {
            c[0].to_string()
        }
    });
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// A folded continuation: indented, not blank, not a new reply or field.
fn continues_quote(next: &str) -> bool {
    next.starts_with([' ', '\t'])
        && !next.trim().is_empty()
        && find_embedded(next.trim()).is_none()
        && !next.trim_start().starts_with("--")
}

static LOG_LINE: LazyLock<crate::shared_regex::SharedRegex> = LazyLock::new(|| {
    crate::shared_regex::SharedRegex::unicode(r"^[A-Z][a-z]{2}\s+\d+\s+\d\d:\d\d:\d\d\s")
});

/// Syslog lines start with a date; a reply code can only be inside them.
fn looks_like_log_line(text: &str) -> bool {
    LOG_LINE.is_match_str(text)
}

/// A line of pretty-printed JSON holding one member (`"message": "..."`).
fn is_json_member(line: &str) -> bool {
    static MEMBER: LazyLock<crate::shared_regex::SharedRegex> =
        LazyLock::new(|| crate::shared_regex::SharedRegex::unicode(r#"^\s*"[^"]+"\s*:\s*"#));
    MEMBER.is_match_str(line)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evidence::Evidence;

    fn replies(text: &str) -> Vec<(u16, Phase, String)> {
        Evidence::from_text(text)
            .replies()
            .map(|(_, r)| {
                (
                    r.code,
                    r.phase,
                    r.status.map(|s| s.to_string()).unwrap_or_default(),
                )
            })
            .collect()
    }

    #[test]
    fn auth_with_its_credentials_on_the_command_line_is_a_command() {
        // redaction leaves `<redacted: ...>` on the line; its `: ` is no log line's
        let text = "220 mx ESMTP\nEHLO me\n250-mx\n250 AUTH PLAIN LOGIN\nAUTH PLAIN AGFsaWNlAHNlY3JldDEyMw==\n535 5.7.8 authentication failed\nAUTH LOGIN YWxpY2U=\n334 UGFzc3dvcmQ6\nc2VjcmV0MTIz\n535 5.7.8 authentication failed\n";
        let got = replies(text);
        assert_eq!(got[2], (535, Phase::Auth, "5.7.8".to_string()), "{got:?}");
        assert_eq!(got[3], (535, Phase::Auth, "5.7.8".to_string()), "{got:?}");
        let commands: Vec<usize> = Evidence::from_text(text)
            .items
            .iter()
            .filter(|i| matches!(&i.kind, ItemKind::Command { verb, .. } if verb == "AUTH"))
            .map(|i| i.line)
            .collect();
        assert_eq!(commands, [5, 7]);
    }

    #[test]
    fn raw_telnet_dialogue_tracks_phases() {
        let got = replies("220 mx ESMTP\nEHLO me\n250-mx\n250 AUTH LOGIN\nMAIL FROM:<a@example.com>\n250 ok\nRCPT TO:<b@example.org>\n550 5.1.1 no such user\n");
        assert_eq!(got[0].1, Phase::Greeting);
        assert_eq!(got[1].1, Phase::Ehlo);
        assert_eq!(got[3], (550, Phase::Rcpt, "5.1.1".to_string()));
    }

    #[test]
    fn typed_commands_with_a_spaced_colon_or_redacted_credentials_set_the_phase() {
        // `MAIL FROM: <a>` as people type it, and AUTH PLAIN with its
        // initial response (redacted before the dialogue is read)
        let got = replies("220 mx ESMTP\nEHLO me\n250-mx\n250 AUTH PLAIN LOGIN\nAUTH PLAIN AGFAZXhhbXBsZS5uZXQAc2VjcmV0\n235 2.7.0 ok\nMAIL FROM: <a@example.com>\n250 ok\nRCPT TO: <b@example.org>\n554 5.7.1 <b@example.org>: Relay access denied\n");
        let phases: Vec<Phase> = got.iter().map(|r| r.1).collect();
        assert_eq!(
            phases,
            [
                Phase::Greeting,
                Phase::Ehlo,
                Phase::Auth,
                Phase::Mail,
                Phase::Rcpt
            ]
        );
        // prose that starts with a verb and goes on after a colon is no command
        assert!(!is_typed_command("RCPT TO command failed: 550 5.1.1"));
        assert!(!is_typed_command(
            "MAIL FROM: <a@example.com> rejected: sender unknown"
        ));
        assert!(!is_typed_command("Quit: x"));
        assert!(is_typed_command(
            "AUTH PLAIN <redacted: AUTH PLAIN credentials, 20 bytes>"
        ));
    }

    #[test]
    fn a_folded_multi_line_reply_with_markers_mid_line_is_one_reply() {
        let text = "<b@example.org>: host aspmx.l.google.com[192.0.2.27] said:\n    550-5.7.26 This mail has been blocked because the sender is\n    unauthenticated. 550-5.7.26 Gmail requires all senders to authenticate\n    with either SPF or DKIM. 550-5.7.26  Authentication results:\n    550-5.7.26  DKIM = did not pass 550-5.7.26  SPF [example.com]\n    with ip: [192.0.2.22] = did not pass 550 5.7.26 - gsmtp (in reply to end of DATA\n    command)\n";
        let e = Evidence::from_text(text);
        let all: Vec<_> = e.replies().collect();
        assert_eq!(all.len(), 1, "{all:?}");
        let (item, reply) = all[0];
        assert_eq!((item.line, item.end_line), (1, 7));
        assert_eq!(reply.phase, Phase::Message);
        assert!(reply
            .text
            .contains("sender is unauthenticated. Gmail requires"));
        assert!(reply
            .text
            .contains("SPF [example.com] with ip: [192.0.2.22] = did not pass"));
        assert!(!reply.text.contains("550-"));
        // a different code on the next line is another reply
        assert_eq!(
            folded_markers("unauthenticated. 421-4.7.0 try later", 550),
            None
        );
    }

    #[test]
    fn a_reply_in_pretty_printed_json_ends_with_its_member() {
        let e = Evidence::from_bytes(include_bytes!(
            "../../tests/data/bounce/mailgun-event-pretty.json"
        ));
        let texts: Vec<_> = e.replies().map(|(_, r)| r.text.clone()).collect();
        assert_eq!(
            texts,
            ["The email account that you tried to reach does not exist."],
            "{texts:?}"
        );
    }

    #[test]
    fn double_angle_markers_are_directions() {
        let got = replies("[SMTP] connect 192.0.2.12:25 ok\n[SMTP] << 220 mail.example.com ESMTP\n[SMTP] >> EHLO MFP_3F_Accounting\n[SMTP] << 501 5.5.4 Invalid domain name\n");
        assert_eq!(got[1], (501, Phase::Ehlo, "5.5.4".to_string()));
        // a shell here-document is no marker
        assert_eq!(split_prefix("cat <<EOF").0, None);
    }

    #[test]
    fn an_ehlo_answer_without_its_command_is_read_as_one() {
        let e = Evidence::from_text("reply: b'250-smtp.example.net\\r\\n'\nreply: b'250-STARTTLS\\r\\n'\nreply: b'250 8BITMIME\\r\\n'\n");
        assert!(e.items.iter().any(
            |i| matches!(&i.kind, ItemKind::Capability { keyword, .. } if keyword == "STARTTLS")
        ));
        // a lone 250 is no EHLO answer
        let e = Evidence::from_text("250-mx.example.org\n250 ok, queued as 4VtQ2k\n");
        assert!(!e
            .items
            .iter()
            .any(|i| matches!(&i.kind, ItemKind::Capability { .. })));
    }

    #[test]
    fn python_smtplib_debug_is_a_dialogue() {
        let text = "send: 'ehlo [127.0.1.1]\\r\\n'\nreply: b'250-smtp.example.net\\r\\n'\nreply: b'250-STARTTLS\\r\\n'\nreply: b'250 8BITMIME\\r\\n'\nreply: retcode (250); Msg: b'smtp.example.net\\nSTARTTLS\\n8BITMIME'\nsend: 'MAIL FROM:<a@example.com>\\r\\n'\nreply: b'530 5.7.0 Must issue a STARTTLS command first\\r\\n'\n";
        let e = Evidence::from_text(text);
        assert!(e.items.iter().any(
            |i| matches!(&i.kind, ItemKind::Capability { keyword, .. } if keyword == "STARTTLS")
        ));
        let got = replies(text);
        assert_eq!(got.last(), Some(&(530, Phase::Mail, "5.7.0".to_string())));
        // the library's summary line is no second reply
        assert_eq!(got.len(), 2);
    }

    #[test]
    fn prefixed_forms_are_read() {
        for (s, c) in [
            ("S:", "C:"),
            ("<-", "->"),
            ("<~", "~>"),
            ("<<<", ">>>"),
            ("<", ">"),
        ] {
            let text = format!("{s} 220 mx\n{c} EHLO me\n{s} 250-mx\n{s} 250 STARTTLS\n{c} AUTH LOGIN\n{s} 535 5.7.8 bad\n");
            let e = Evidence::from_text(&text);
            let caps: Vec<_> = e
                .items
                .iter()
                .filter(|i| matches!(i.kind, ItemKind::Capability { .. }))
                .collect();
            assert_eq!(caps.len(), 1, "{s}");
            let last = e.replies().last().unwrap().1.clone();
            assert_eq!((last.code, last.phase), (535, Phase::Auth), "{s}");
        }
    }

    #[test]
    fn swaks_error_replies_are_read_in_both_forms() {
        for mark in ["<**", "<-*", "<~*"] {
            let text = format!(
                " -> AUTH LOGIN\n<-  334 VXNlcm5hbWU6\n -> YWxpY2U=\n<-  334 UGFzc3dvcmQ6\n -> c2VjcmV0\n{mark} 535 5.7.8 Error: authentication failed\n"
            );
            let got = replies(&text);
            assert_eq!(
                got.last(),
                Some(&(535, Phase::Auth, "5.7.8".to_string())),
                "{mark}"
            );
        }
    }

    #[test]
    fn a_lone_reply_takes_the_phase_its_log_line_names() {
        let got = replies(
            "SMTP error from remote mail server after EHLO me.example.com:\n    550 Rejected\n",
        );
        assert_eq!(got, vec![(550, Phase::Ehlo, String::new())]);
    }

    #[test]
    fn a_reply_code_folded_away_from_its_text_is_read() {
        let got = replies("<a@example.org>: host mx.example.org[192.0.2.2] said: 550\n    5.7.1 Access denied (in reply to MAIL FROM command)\n");
        assert_eq!(got, vec![(550, Phase::Mail, "5.7.1".to_string())]);
    }

    #[test]
    fn an_introducer_wrapped_before_trailing_blanks_is_joined() {
        // "refused to talk to" ends a line with blanks after it, "me: 554" starts the next
        let got = replies("<a@example.org>: host mx.example.org[192.0.2.2] refused to talk to \t\n    me: 554-mx.example.org ESMTP Service not available 554-No SMTP\n    service 554-Bad DNS PTR resource record. 554 See the guidelines\n");
        assert_eq!(got, vec![(554, Phase::Unknown, String::new())]);
    }

    #[test]
    fn a_status_without_a_code_is_an_inferred_reply() {
        let e = Evidence::from_text("An error occurred while sending mail. The mail server responded:  5.7.520\n  Message blocked because it contains content identified as spam.\n");
        let (_, r) = e.replies().next().unwrap();
        assert_eq!(
            (r.code, r.code_inferred, r.status.unwrap().to_string()),
            (550, true, "5.7.520".to_string())
        );
        assert!(r.text.contains("identified as spam"), "{r:?}");
    }

    #[test]
    fn tagged_and_phpmailer_dialogues_are_read() {
        let got =
            replies("[SMTP] < 220 smtp.example.com ESMTP\n[SMTP] > EHLO me\n[SMTP] < 250 ok\n");
        assert_eq!(got.len(), 2);
        let got = replies("2024-06-04 12:01:55 CLIENT -> SERVER: RCPT TO:<a@example.com>\n2024-06-04 12:01:55 SERVER -> CLIENT: 556 5.1.10 no mail\n");
        assert_eq!(got, vec![(556, Phase::Rcpt, "5.1.10".to_string())]);
        let got = replies("RX: 220 smtp.example.com ESMTP\nTX: MAIL FROM:<a@example.com> SIZE\nRX: 501 5.5.4 Bad SIZE syntax\n");
        assert_eq!(got[1], (501, Phase::Mail, "5.5.4".to_string()));
    }

    #[test]
    fn message_body_is_not_read_as_dialogue() {
        let got = replies("DATA\n354 go\nSubject: 550 test\nQUIT\n.\n250 2.0.0 queued as 1234\n");
        assert_eq!(got.last().unwrap().1, Phase::Message);
        assert_eq!(got.len(), 2);
    }

    #[test]
    fn a_reply_under_the_line_that_introduces_it_is_quoted_with_its_phase() {
        let e = Evidence::from_text("<b@example.org>: host mx.example.org[192.0.2.1] said:\n    550 Unknown user b@example.org (in reply to end of DATA\n    command)\n");
        let (item, r) = e.replies().next().unwrap();
        assert_eq!((r.code, r.phase, r.quoted), (550, Phase::Message, true));
        assert_eq!((item.line, item.end_line), (1, 3));
        assert!(!r.text.contains("said"), "{r:?}");
        let got = replies("  b@example.org\n    SMTP error from remote mail server after RCPT TO:<b@example.org>:\n    550-5.1.1 The email account that you tried to reach does not exist.\n    550 5.1.1 Please try double-checking the address.\n");
        assert_eq!(got, vec![(550, Phase::Rcpt, "5.1.1".to_string())]);
    }

    #[test]
    fn a_labelled_list_is_not_one_reply() {
        let e = Evidence::from_text("Your message cannot be delivered to the following recipients:\n\n  Recipient address: b@example.org\n  Reason: Remote SMTP server has rejected address\n  Diagnostic code: smtp; 550 5.1.1 <b@example.org>... User unknown\n  Remote system: dns; mx.example.org (TCP|192.0.2.1|25)\n");
        let (_, r) = e.replies().next().unwrap();
        assert_eq!(r.text, "<b@example.org>... User unknown");
    }

    #[test]
    fn qmail_names_the_step_that_failed() {
        let got = replies("<b@example.org>:\n192.0.2.1 does not like recipient.\nRemote host said: 550 5.1.1 no mailbox by that name\nGiving up on 192.0.2.1.\n");
        assert_eq!(got, vec![(550, Phase::Rcpt, "5.1.1".to_string())]);
        let got = replies("<b@example.org>:\n192.0.2.1 failed after I sent the message.\nRemote host said: 554 5.7.1 message refused\n");
        assert_eq!(got, vec![(554, Phase::Message, "5.7.1".to_string())]);
    }

    #[test]
    fn a_fold_that_lost_its_indent_still_gives_the_reply_its_words() {
        // a report re-wrapped by a gateway: the folded line starts at column 0
        let got = replies("<b@example.org>: host mx.example.org[192.0.2.1] said: 550 5.2.1\n<b@example.org>... User Unknown (in reply to RCPT TO command)\n");
        assert_eq!(got, vec![(550, Phase::Rcpt, "5.2.1".to_string())]);
        let e = Evidence::from_text("<b@example.org>: host mx.example.org[192.0.2.1] said: 550 5.2.1\n<b@example.org>... User Unknown (in reply to RCPT TO command)\n");
        assert_eq!(
            e.replies().next().unwrap().1.text,
            "<b@example.org>... User Unknown (in reply to RCPT TO command)"
        );
        // a reply that has its words keeps an unindented next line out
        let e = Evidence::from_text("<b@example.org>: host mx.example.org[192.0.2.1] said: 550 5.1.1 No such user\nThe mail system\n");
        assert_eq!(e.replies().next().unwrap().1.text, "No such user");
    }

    #[test]
    fn a_quote_a_console_wrapped_mid_sentence_keeps_its_words() {
        // PowerShell wraps an exception at the window's width
        let e = Evidence::from_text("Send-MailMessage : The SMTP server requires a secure connection. The server\nresponse was: 5.7.57 Client not authenticated to send mail. Error: 535 5.7.139 Authentication unsuccessful, the\nrequest did not meet the criteria to be authenticated successfully. Contact your administrator.\nAt line:1 char:1\n");
        let texts: Vec<_> = e.replies().map(|(_, r)| r.text.clone()).collect();
        assert!(
            texts
                .iter()
                .any(|t| t.ends_with("Contact your administrator.")),
            "{texts:?}"
        );
        // a line that ends its sentence keeps the next one out
        let e = Evidence::from_text("The server responded: 535 5.7.3 Authentication unsuccessful.\nreset the password and try again\n");
        assert_eq!(
            e.replies().next().unwrap().1.text,
            "Authentication unsuccessful."
        );
    }

    #[test]
    fn a_command_tag_under_a_reply_names_its_phase() {
        let got = replies("<b@example.org>:\nRemote host said:\n550 5.2.1 <b@example.org>... User Unknown\n[RCPT_TO]\n\n--- Below this line is a copy of the message.\n");
        assert_eq!(got, vec![(550, Phase::Rcpt, "5.2.1".to_string())]);
        // a bracketed line that names no command is not part of the reply
        let e = Evidence::from_text("<b@example.org>:\nRemote host said:\n550 5.2.1 <b@example.org>... User Unknown\n[Original message]\n");
        assert_eq!(e.replies().next().unwrap().1.phase, Phase::Unknown);
    }

    #[test]
    fn folded_postfix_bounce_is_one_reply_with_its_phase() {
        let got = replies("<b@example.org>: host mx.example.org[192.0.2.1] said: 550 5.1.1 <b@example.org>:\n    Recipient address rejected: User unknown (in reply to\n    RCPT TO command)\n");
        assert_eq!(got, vec![(550, Phase::Rcpt, "5.1.1".to_string())]);
    }
}
