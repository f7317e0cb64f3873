//! SMTP dialogues in the forms people paste (`S:`/`C:`, `<-`/`->`, swaks
//! `<~`/`~>`, `<<<`/`>>>`, curl's `<`/`>`, raw telnet) and replies quoted in
//! prose, logs and bounces.

use super::redact::{self, SecretAt};
use super::reply::{self, find_embedded, parse_reply_line, phase_hint};
use super::{Evidence, ItemKind, Phase, Reply};
use regex::Regex;
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
    const PREFIXES: [(&str, Dir); 20] = [
        // PHPMailer's debug output
        ("SERVER -> CLIENT:", Dir::Server),
        ("CLIENT -> SERVER:", Dir::Client),
        // devices' debug logs
        ("RX:", Dir::Server),
        ("TX:", Dir::Client),
        ("<<<", Dir::Server),
        (">>>", Dir::Client),
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
            // a single `<`/`>` counts only as curl's `< 250 ok`, not `<a@b>`
            if prefix.len() == 1 && !rest.starts_with(' ') {
                continue;
            }
            return (Some(dir), rest.trim_start());
        }
    }
    (None, trimmed)
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
}

pub fn extract(evidence: &mut Evidence, secrets: &[SecretAt]) {
    let mut d = Dialogue {
        evidence,
        phase: Phase::Greeting,
        in_data: false,
        pending: None,
        hinted: None,
    };
    let count = d.evidence.lines.len();
    let mut no = 1;
    while no <= count {
        no = d.line(no);
    }
    d.flush(count);
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
                    self.server(no, body);
                } else if parse_command(body).is_some() && !body.contains(": ") {
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
        if phase == Phase::Greeting && p.code != 220 {
            if let Some((hinted, _)) = self
                .hinted
                .filter(|(_, at)| p.first.saturating_sub(*at) <= 3)
            {
                phase = hinted;
            }
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
        self.evidence.push(
            ItemKind::Reply(Reply {
                code: p.code,
                status,
                text,
                phase,
                quoted: false,
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

    /// A reply quoted in prose; folded continuation lines are joined.
    fn quoted(&mut self, no: usize, text: &str) -> usize {
        if let Some(phase) = phase_hint(text) {
            self.hinted = Some((phase, no));
        }
        // "... said: 550" with the text folded onto the next line
        let next = self.evidence.line(no + 1).to_string();
        let unfolded = format!("{text} {}", next.trim());
        let (found, mut last) = match find_embedded(text) {
            Some(found) => (Some(found), no),
            None if continues_quote(&next) => match find_embedded(&unfolded) {
                Some(found) => (Some(found), no + 1),
                None => (None, no),
            },
            None => (None, no),
        };
        // "The mail server responded: 5.7.520 ..." names a status but no code
        let status_only = if found.is_none() {
            reply::find_status_reply(text)
        } else {
            None
        };
        let code_inferred = status_only.is_some();
        let Some((code, rest)) = found.or(status_only) else {
            return no + 1;
        };
        let mut joined = rest.to_string();
        while last - no < 6 {
            let next = self.evidence.line(last + 1);
            if !continues_quote(next) {
                break;
            }
            joined.push(' ');
            joined.push_str(next.trim());
            last += 1;
        }
        let phase = phase_hint(&joined)
            .or_else(|| self.hinted.filter(|(_, at)| no - at <= 3).map(|(p, _)| p))
            .unwrap_or(Phase::Unknown);
        let status = reply::find_status(&joined);
        let text = reply::strip_leading_status(&joined).to_string();
        self.evidence.push(
            ItemKind::Reply(Reply {
                code,
                status,
                text,
                phase,
                quoted: true,
                code_inferred,
            }),
            no,
            last,
        );
        last + 1
    }
}

/// A folded continuation: indented, not blank, not a new reply or field.
fn continues_quote(next: &str) -> bool {
    next.starts_with([' ', '\t'])
        && !next.trim().is_empty()
        && find_embedded(next.trim()).is_none()
        && !next.trim_start().starts_with("--")
}

static LOG_LINE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^[A-Z][a-z]{2}\s+\d+\s+\d\d:\d\d:\d\d\s").unwrap());

/// Syslog lines start with a date; a reply code can only be inside them.
fn looks_like_log_line(text: &str) -> bool {
    LOG_LINE.is_match(text)
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
    fn raw_telnet_dialogue_tracks_phases() {
        let got = replies("220 mx ESMTP\nEHLO me\n250-mx\n250 AUTH LOGIN\nMAIL FROM:<a@example.com>\n250 ok\nRCPT TO:<b@example.org>\n550 5.1.1 no such user\n");
        assert_eq!(got[0].1, Phase::Greeting);
        assert_eq!(got[1].1, Phase::Ehlo);
        assert_eq!(got[3], (550, Phase::Rcpt, "5.1.1".to_string()));
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
    fn folded_postfix_bounce_is_one_reply_with_its_phase() {
        let got = replies("<b@example.org>: host mx.example.org[192.0.2.1] said: 550 5.1.1 <b@example.org>:\n    Recipient address rejected: User unknown (in reply to\n    RCPT TO command)\n");
        assert_eq!(got, vec![(550, Phase::Rcpt, "5.1.1".to_string())]);
    }
}
