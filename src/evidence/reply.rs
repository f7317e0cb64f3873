//! Reply-line grammar shared by the extractors: reply codes, enhanced status
//! codes, replies embedded in prose, and the phase a log line names.

use super::{Phase, Status};
use crate::prefilter::Prefilter;
use crate::shared_regex::SharedRegex;
use regex::Regex;
use std::borrow::Cow;
use std::sync::{LazyLock, OnceLock};

/// A reply line: `code`, whether more lines follow (`250-`), and the rest.
pub struct ReplyLine<'a> {
    pub code: u16,
    pub continued: bool,
    pub rest: &'a str,
}

/// Parses `NNN text` / `NNN-text` / `NNN` at the start of `body`.
pub fn parse_reply_line(body: &str) -> Option<ReplyLine<'_>> {
    let bytes = body.as_bytes();
    if bytes.len() < 3 || !(b'2'..=b'5').contains(&bytes[0]) {
        return None;
    }
    if !bytes[1].is_ascii_digit() || !bytes[2].is_ascii_digit() {
        return None;
    }
    let code = body[..3].parse().ok()?;
    match bytes.get(3) {
        None => Some(ReplyLine {
            code,
            continued: false,
            rest: "",
        }),
        Some(b' ') | Some(b'\t') => Some(ReplyLine {
            code,
            continued: false,
            rest: body[4..].trim(),
        }),
        Some(b'-') => Some(ReplyLine {
            code,
            continued: true,
            rest: body[4..].trim(),
        }),
        _ => None,
    }
}

static STATUS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?:^|[\s(#\[\]<>:;,])#?([245])\.(\d{1,3})\.(\d{1,3})(?:$|[\s)\].,;:>-])").unwrap()
});

/// Finds the first RFC 3463 status in `text` (`5.7.1`, `#5.7.0`, `(#5.7.0)`).
pub fn find_status(text: &str) -> Option<Status> {
    let caps = STATUS.captures(text)?;
    let whole = caps.get(0)?;
    // `5.7.1.2` is an address, not a status
    let after = &text[whole.end()..];
    if after.starts_with(|c: char| c.is_ascii_digit()) && text[..whole.end()].ends_with('.') {
        return None;
    }
    Some(Status {
        class: caps[1].parse().ok()?,
        subject: caps[2].parse().ok()?,
        detail: caps[3].parse().ok()?,
    })
}

/// Parses a bare status value such as a DSN `Status: 5.1.1` field.
pub fn parse_status(value: &str) -> Option<Status> {
    let value = value.trim();
    let token = value
        .split(|c: char| c.is_whitespace() || c == '(')
        .next()?;
    let mut parts = token.split('.');
    let status = Status {
        class: parts.next()?.parse().ok()?,
        subject: parts.next()?.parse().ok()?,
        detail: parts.next()?.parse().ok()?,
    };
    (parts.next().is_none() && (2..=5).contains(&status.class)).then_some(status)
}

/// Removes a leading status from reply text: `5.1.1 <a@b>: no` -> `<a@b>: no`.
pub fn strip_leading_status(text: &str) -> &str {
    let trimmed = text.trim_start();
    let token_end = trimmed.find(char::is_whitespace).unwrap_or(trimmed.len());
    let token = trimmed[..token_end].trim_start_matches('#');
    if parse_status(token).is_some() {
        trimmed[token_end..].trim_start()
    } else {
        trimmed
    }
}

static EMBEDDED: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r#"(?i)(?:^|said:|responded:|response:|response was:|reply:|replied:|returned:|error:|failed:|smtp;|\]:|\):|>:|message:|answer:|to me:|reason:|deferred:|remote mail server after [^:]{1,40}(?::<[^>]*>[^:]{0,40})?:|'|")\s*'?([245][0-57]\d)([ -]|$)(.*)$"#,
    )
    .unwrap()
});

/// A reply code followed by an enhanced status of the same class
/// (`550 5.7.1`, `452-4.2.2`): a reply wherever it stands in prose, whatever
/// words introduce it ("the server says: ...", "... on 04/06. 550 5.7.708 ...").
/// A report may open a quote between the two (Amazon SES's
/// `Unknown address error 550-'5.7.1 <a@b>... Access denied'`).
static CODE_WITH_STATUS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(?:^|[\s"'(\[:,.;=])(([245])[0-5]\d)([ -])['"]?(([245])\.\d{1,3}\.\d{1,3}\b.*)$"#)
        .unwrap()
});

/// A reply quoted inside prose, a log line or a client error message
/// (`... said: 550 5.1.1 no such user`, `The server responded: 535 ...`).
pub fn find_embedded(line: &str) -> Option<(u16, &str)> {
    find_embedded_line(line).map(|r| (r.code, r.rest))
}

/// Like [`find_embedded`], also telling whether the reply goes on
/// (`550-5.7.1 ...`: more lines of it follow).
pub fn find_embedded_line(line: &str) -> Option<ReplyLine<'_>> {
    find_embedded_anywhere(line).map(|reply| within_exchange_field(line, reply))
}

/// Exchange's message tracking writes the last error as one `{LED=...}`
/// field among others (`{LED=550 5.1.10 ...};{MSG=};{FQDN=}...`): the reply
/// ends where its field does.
fn within_exchange_field<'a>(line: &'a str, mut reply: ReplyLine<'a>) -> ReplyLine<'a> {
    let before = line.split("{LED=").next().unwrap_or(line);
    if before.len() < line.len() && !before.contains(reply.rest) {
        if let Some(end) = reply.rest.find('}') {
            reply.rest = reply.rest[..end].trim_end();
        }
    }
    reply
}

fn find_embedded_anywhere(line: &str) -> Option<ReplyLine<'_>> {
    let Some(caps) = EMBEDDED.captures(line) else {
        return find_code_with_status(line).or_else(|| find_python_tuple(line));
    };
    let code: u16 = caps[1].parse().ok()?;
    let rest = caps.get(3)?.as_str().trim();
    let mut rest = rest.trim_end_matches(['\'', '"']).trim();
    let start = caps.get(0)?.start();
    // a bare number with nothing after it is too weak to be a reply
    if rest.is_empty() && start > 0 {
        return None;
    }
    // "(reason: 550 ...)": the parenthesis opened before the reply closes it
    let opened = |t: &str| t.matches('(').count() as isize - t.matches(')').count() as isize;
    if opened(&line[..start]) > 0 && opened(rest) < 0 {
        rest = rest.strip_suffix(')').unwrap_or(rest).trim_end();
    }
    Some(ReplyLine {
        code,
        continued: &caps[2] == "-",
        rest,
    })
}

/// Python 3's smtplib errors quote the reply as a `(code, b'text')` tuple:
/// `SMTPAuthenticationError: (535, b'5.7.8 Username and Password not accepted')`.
static PYTHON_TUPLE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r#"\(([245][0-5]\d),\s*b(?:'([^']*)|"([^"]*))"#).unwrap());

fn find_python_tuple(line: &str) -> Option<ReplyLine<'_>> {
    let caps = PYTHON_TUPLE.captures(line)?;
    let code = caps[1].parse().ok()?;
    let text = caps.get(2).or(caps.get(3))?.as_str();
    // the reply's own line breaks arrive escaped
    let first = text.split("\\n").next().unwrap_or(text).trim();
    (!first.is_empty()).then_some(ReplyLine {
        code,
        continued: false,
        rest: first,
    })
}

fn find_code_with_status(line: &str) -> Option<ReplyLine<'_>> {
    let caps = CODE_WITH_STATUS.captures(line)?;
    // the code's class and the status's class agree
    if caps[2] != caps[5] {
        return None;
    }
    let code: u16 = caps[1].parse().ok()?;
    let rest = caps.get(4)?.as_str().trim();
    Some(ReplyLine {
        code,
        continued: &caps[3] == "-",
        rest: rest.trim_end_matches(['\'', '"']).trim(),
    })
}

static STATUS_REPLY: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)(?:said|responded|response was|replied|returned|error):\s*'?([245])\.\d{1,3}\.\d{1,3}\b").unwrap()
});

/// A JSON event record's text field that opens with a status but no code
/// (Mailgun's `"message": "5.1.1 The email account ..."` next to a separate
/// `"code": 550`).
static JSON_STATUS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(?i)"(?:message|reason|response|description|details|diagnostic-?code|error)"\s*:\s*"\s*(?:smtp;\s*)?([245])\.\d{1,3}\.\d{1,3}\b"#).unwrap()
});

/// An MTA log line that gives the delivery status apart from its text and no
/// reply code: Sendmail's `dsn=5.1.1, stat=User unknown`, Postfix's
/// `dsn=4.7.4, status=deferred (TLS is required, ...)`.
static LOG_STATUS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)\bdsn=(?P<status>(?P<class>[45])\.\d{1,3}\.\d{1,3})\b.*?\bstat(?:us)?=(?P<text>.+)$",
    )
    .unwrap()
});

fn class_code(class: &str) -> u16 {
    match class {
        "5" => 550,
        "4" => 450,
        _ => 250,
    }
}

/// A reply quoted with its enhanced status but no reply code
/// (`The mail server responded: 5.7.520 ...`, a JSON event's
/// `"message": "5.1.1 ..."`, a log's `dsn=5.1.1, stat=User unknown`): the
/// code is inferred from the status class (550, 450, 250); returns it and the
/// text from the status on.
pub fn find_status_reply(line: &str) -> Option<(u16, Cow<'_, str>)> {
    if let Some(caps) = STATUS_REPLY.captures(line) {
        let start = caps.get(1)?.start();
        return Some((class_code(&caps[1]), Cow::Borrowed(line[start..].trim())));
    }
    if let Some(caps) = JSON_STATUS.captures(line) {
        let start = caps.get(1)?.start();
        let rest = &line[start..];
        // the value ends at its closing quote
        let end = rest.find('"').unwrap_or(rest.len());
        return Some((class_code(&caps[1]), Cow::Borrowed(rest[..end].trim())));
    }
    let caps = LOG_STATUS.captures(line)?;
    let mut text = caps["text"].trim();
    // Postfix: `status=deferred (text)`; Sendmail's `stat=` is the text itself
    if let Some(open) = text.find(" (") {
        let word = &text[..open];
        if word.chars().all(|c| c.is_ascii_alphabetic()) {
            text = text[open + 2..].trim_end();
            text = text.strip_suffix(')').unwrap_or(text);
        }
    }
    if text.is_empty() {
        return None;
    }
    Some((
        class_code(&caps["class"]),
        Cow::Owned(format!("{} {text}", &caps["status"])),
    ))
}

/// qmail-send's log of a delivery's outcome (`delivery 12: failure:
/// Remote_host_said:_550_5.1.1_..._User_unknown/Giving_up_on_192.0.2.3./`),
/// where the report's spaces are written as `_` and its line ends as `/`.
static QMAIL_DELIVERY: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\bdelivery \d+: (?:failure|deferral): (\S+)\s*$").unwrap());

static QMAIL_STATUS: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\(#([45])\.\d{1,3}\.\d{1,3}\)").unwrap());

/// The report of a qmail-send `failure`/`deferral` log line in plain words:
/// `_` back to spaces, `/` line ends joined by a space.
pub fn qmail_delivery_report(line: &str) -> Option<String> {
    let caps = QMAIL_DELIVERY.captures(line)?;
    let report = caps[1]
        .split('/')
        .filter(|part| !part.is_empty())
        .map(|part| part.replace('_', " "))
        .collect::<Vec<_>>()
        .join(" ");
    (!report.is_empty()).then_some(report)
}

/// qmail's own reason carries its status as `(#4.4.1)` and no reply code:
/// the code is inferred from the status class; returns it and the text with
/// the status in front.
pub fn qmail_status_reply(report: &str) -> Option<(u16, String)> {
    let caps = QMAIL_STATUS.captures(report)?;
    let status = caps.get(0)?.as_str().trim_matches(['(', ')', '#']);
    let text = report.replace(caps.get(0)?.as_str(), "");
    Some((class_code(&caps[1]), format!("{status} {}", text.trim())))
}

/// Words a report puts before the command a reply answered: Postfix's
/// "in reply to", Exim's "after", DragonFly's "did not like our", a
/// transcript's `>>>`.
const BEFORE_COMMAND: &str =
    r"(?:in reply to|after|while sending|in response to|did not like our|>>>)\s*(?:the\s+)?";

/// Phase hints, each compiled on first use (most tickets need none).
static PHASE_HINTS: LazyLock<Vec<(String, OnceLock<SharedRegex>, Phase)>> = LazyLock::new(|| {
    let after = |command: &str| format!("(?i){BEFORE_COMMAND}{command}");
    [
        (
            after(r"(?:end of data|end of message|message body|final data|\.$)"),
            Phase::Message,
        ),
        (after(r"(?:data|bdat)\b"), Phase::Data),
        (after(r"rcpt\b"), Phase::Rcpt),
        (after(r"mail\s*(?:from|command)\b"), Phase::Mail),
        (after(r"(?:ehlo|helo)\b"), Phase::Ehlo),
        (after(r"starttls\b"), Phase::StartTls),
        (after(r"auth\b"), Phase::Auth),
        (
            r"(?i)(?:after|in reply to)\s+(?:the\s+)?(?:initial connection|greeting|banner)"
                .to_string(),
            Phase::Greeting,
        ),
        (
            r"(?i)\bafter\s+pipelined\s+(?:mail|rcpt)".to_string(),
            Phase::Rcpt,
        ),
        // "did not like our RCPT TO", "most progress was RCPT TO response", "[RCPT_TO]"
        (
            r"(?i)\b(?:our|was)\s+rcpt\s+to\b|\brcpt[_ ]to(?:\]|\s+response)".to_string(),
            Phase::Rcpt,
        ),
        // qmail-remote's words for each step of its session
        (r"(?i)\bbut greeting failed".to_string(), Phase::Greeting),
        (r"(?i)\bbut my name was rejected".to_string(), Phase::Helo),
        (r"(?i)\bbut sender was rejected".to_string(), Phase::Mail),
        (r"(?i)\bdoes not like recipient\b".to_string(), Phase::Rcpt),
        (r"(?i)\bfailed on DATA command".to_string(), Phase::Data),
        (
            r"(?i)\bfailed after I sent the message".to_string(),
            Phase::Message,
        ),
        // Python's smtplib names the failing step in its exception
        (r"\bSMTPAuthenticationError\b".to_string(), Phase::Auth),
        (r"\bSMTPSenderRefused\b".to_string(), Phase::Mail),
        (r"\bSMTPRecipientsRefused\b".to_string(), Phase::Rcpt),
        (r"\bSMTPDataError\b".to_string(), Phase::Data),
        // Postfix words RCPT-time restrictions so, whatever quotes them
        (
            r"(?i)\brecipient address rejected:".to_string(),
            Phase::Rcpt,
        ),
    ]
    .into_iter()
    .map(|(pattern, phase)| (pattern, OnceLock::new(), phase))
    .collect()
});

/// The literals of [`PHASE_HINTS`], to skip the (many) lines that contain
/// none with one pass (see [`crate::prefilter`]).
static PHASE_PREFILTER: LazyLock<Prefilter> =
    LazyLock::new(|| Prefilter::new(PHASE_HINTS.iter().map(|(pattern, _, _)| pattern.as_str())));

/// The phase a log or bounce line names (`(in reply to RCPT TO command)`).
pub fn phase_hint(text: &str) -> Option<Phase> {
    PHASE_PREFILTER.candidates(text).iter().find_map(|i| {
        let (pattern, re, phase) = &PHASE_HINTS[i];
        re.get_or_init(|| SharedRegex::unicode(pattern))
            .is_match_str(text)
            .then_some(*phase)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_prefilter_keeps_every_phase_hint() {
        let mut hints = 0;
        for line in crate::evidence::netinfo::tests::sample_lines() {
            let want = PHASE_HINTS
                .iter()
                .find(|(pattern, re, _)| {
                    re.get_or_init(|| SharedRegex::unicode(pattern))
                        .is_match_str(&line)
                })
                .map(|(_, _, phase)| *phase);
            hints += usize::from(want.is_some());
            assert_eq!(phase_hint(&line), want, "{line:?}");
        }
        assert!(
            hints > 20,
            "only {hints} phase hints: the test proves little"
        );
    }

    #[test]
    fn reply_lines_parse() {
        let r = parse_reply_line("250-STARTTLS").unwrap();
        assert!(r.continued && r.code == 250 && r.rest == "STARTTLS");
        assert!(parse_reply_line("2500 x").is_none());
        assert!(parse_reply_line("127.0.0.1").is_none());
    }

    #[test]
    fn statuses_in_every_common_spelling() {
        assert_eq!(
            find_status("authorization failed (#5.7.0)")
                .unwrap()
                .to_string(),
            "5.7.0"
        );
        assert_eq!(
            find_status("5.1.1 <a@example.com>: no")
                .unwrap()
                .to_string(),
            "5.1.1"
        );
        assert!(find_status("from 5.1.1.1 port").is_none());
        assert!(parse_status("5.1.1 (user unknown)").is_some());
        assert!(parse_status("smtp; 550").is_none());
    }

    #[test]
    fn embedded_replies_are_found_in_prose() {
        let (code, rest) = find_embedded("host mx.example.com[192.0.2.1] said: 550 5.1.1 no such user (in reply to RCPT TO command)").unwrap();
        assert_eq!(code, 550);
        assert!(rest.starts_with("5.1.1"));
        assert!(find_embedded("The server responded: 535 Authentication failed").is_some());
        assert!(find_embedded("we sent 550 messages today").is_none());
        // Sendmail's queue listing (mailq) and `stat=`: "Deferred: <reply>"
        let (code, rest) = find_embedded(
            "                 (Deferred: 421 mx.example.org 192.0.2.7 Too many sessions opened from your IP)",
        )
        .unwrap();
        assert_eq!(
            (code, rest),
            (
                421,
                "mx.example.org 192.0.2.7 Too many sessions opened from your IP"
            )
        );
        let (code, rest) =
            find_embedded("The recipient's server says: 452 4.2.2 The email account is over quota")
                .unwrap();
        assert_eq!((code, rest), (452, "4.2.2 The email account is over quota"));
        let (code, _) = find_embedded(
            "cannot be reached: 'j@example.org' on 04/06/2024 10:12. 550 5.7.708 Access denied",
        )
        .unwrap();
        assert_eq!(code, 550);
        assert!(find_embedded("we sent 550 2.1.0 test messages").is_none());
        // a quote opened between the code and the status
        let (code, rest) = find_embedded(
            "smtp; 5.1.0 - Unknown address error 550-'5.7.1 <a@example.com>... Access denied' (delivery attempts: 0)",
        )
        .unwrap();
        assert_eq!(code, 550);
        assert!(
            rest.starts_with("5.7.1 <a@example.com>... Access denied"),
            "{rest}"
        );
        assert_eq!(
            find_embedded("smtplib.SMTPSenderRefused: (552, b'5.3.4 Message size exceeds fixed maximum message size', 'a@example.com')"),
            Some((552, "5.3.4 Message size exceeds fixed maximum message size"))
        );
        assert_eq!(
            find_embedded(
                r"smtplib.SMTPAuthenticationError: (534, b'5.7.9 Application-specific password required.\n5.7.9  https://support.google.com/mail/')"
            ),
            Some((534, "5.7.9 Application-specific password required."))
        );
        assert!(find_embedded("print(250, 'items')").is_none());
        let (code, _) = find_embedded("R=dnslookup T=remote_smtp H=mx.example.org [192.0.2.26]: SMTP error from remote mail server after end of data: 550-5.7.1 no").unwrap();
        assert_eq!(code, 550);
        assert!(find_embedded(
            "SMTP ERROR: RCPT TO command failed: 556 5.1.10 <a@example.com>: no mail"
        )
        .is_some());
        assert_eq!(
            phase_hint("(in reply to RCPT TO command)"),
            Some(Phase::Rcpt)
        );
        assert_eq!(
            phase_hint("(in reply to end of DATA command)"),
            Some(Phase::Message)
        );
        assert_eq!(
            phase_hint("An error occurred while sending mail: server unknown"),
            None
        );
        assert_eq!(
            phase_hint("most progress was RCPT TO response; remote host said: 550"),
            Some(Phase::Rcpt)
        );
        assert_eq!(
            phase_hint("550 5.2.1 <a@example.org>... User Unknown [RCPT_TO]"),
            Some(Phase::Rcpt)
        );
    }

    #[test]
    fn status_only_replies_in_logs_and_event_records() {
        // Sendmail: the status and the text are separate fields
        let (code, text) = find_status_reply(
            "sm-mta[1]: 2AK: to=<b@example.org>, delay=00:00:01, mailer=esmtp, relay=mx.example.org. [192.0.2.4], dsn=5.1.1, stat=User unknown",
        )
        .unwrap();
        assert_eq!((code, text.as_ref()), (550, "5.1.1 User unknown"));
        let (code, text) = find_status_reply(
            "sm-mta[1]: 2AK: to=<b@example.org>, dsn=4.0.0, stat=Deferred: Connection timed out with mx.example.org.",
        )
        .unwrap();
        assert_eq!(code, 450);
        assert_eq!(
            text,
            "4.0.0 Deferred: Connection timed out with mx.example.org."
        );
        // Postfix: the text is in parentheses after the status word
        let (code, text) = find_status_reply(
            "postfix/smtp[1]: 9A: to=<b@example.org>, relay=none, dsn=4.4.2, status=deferred (lost connection with mx.example.org[192.0.2.9] while receiving the initial server greeting)",
        )
        .unwrap();
        assert_eq!(code, 450);
        assert_eq!(text, "4.4.2 lost connection with mx.example.org[192.0.2.9] while receiving the initial server greeting");
        // a delivered message is no failure to infer
        assert!(find_status_reply("to=<b@example.org>, dsn=2.0.0, stat=Sent (ok)").is_none());
        // Mailgun: the code and the message are separate JSON fields
        let (code, text) = find_status_reply(
            r#"    "message": "5.1.1 The email account that you tried to reach does not exist.","#,
        )
        .unwrap();
        assert_eq!(code, 550);
        assert_eq!(
            text,
            "5.1.1 The email account that you tried to reach does not exist."
        );
        assert!(find_status_reply(r#""message": "Queued. Thank you.""#).is_none());
    }

    #[test]
    fn exchange_tracking_fields_quote_a_reply() {
        // Get-MessageTrace / message tracking: LED= holds the last error
        let (code, rest) = find_embedded(
            "Detail : Reason: [{LED=550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP address lookup};{MSG=};{FQDN=};{IP=};{LRT=}]",
        )
        .unwrap();
        assert_eq!(code, 550);
        assert_eq!(
            rest,
            "5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP address lookup"
        );
    }

    #[test]
    fn qmail_send_delivery_lines_read_in_plain_words() {
        let report = qmail_delivery_report(
            "@400000006560a1b2c3d4e600 delivery 12: failure: 192.0.2.3_does_not_like_recipient./Remote_host_said:_550_5.1.1_<b@example.org>..._User_unknown/Giving_up_on_192.0.2.3./",
        )
        .unwrap();
        assert_eq!(
            report,
            "192.0.2.3 does not like recipient. Remote host said: 550 5.1.1 <b@example.org>... User unknown Giving up on 192.0.2.3."
        );
        assert_eq!(find_embedded(&report).unwrap().0, 550);
        let report = qmail_delivery_report(
            "delivery 7: deferral: Sorry,_I_wasn't_able_to_establish_an_SMTP_connection._(#4.4.1)/",
        )
        .unwrap();
        assert_eq!(
            qmail_status_reply(&report),
            Some((
                450,
                "4.4.1 Sorry, I wasn't able to establish an SMTP connection.".to_string()
            ))
        );
        assert!(qmail_delivery_report("delivery 7: success: did_0+0+1/").is_none());
        assert!(
            qmail_delivery_report("starting delivery 7: msg 12 to remote b@example.org").is_none()
        );
    }
}
