//! Scope: which lines of a paste lie inside a pasted report (a bounce, the
//! session transcript it quotes, a forwarded or attached message) and which
//! are the customer's own live session.
//!
//! A sendmail bounce's `----- Transcript of session follows -----` block is
//! written as a dialogue (`>>> RCPT To:<b@example.org>`, `<<< 550 ...`), yet
//! it is the reporting server's session with the next hop, days ago; a
//! telnet or openssl session pasted above it is the customer's, today. Items
//! and attempts inside a report region carry `in_report`, so rules can ask
//! for the live side alone (`Live(...)`).
//!
//! A region starts at a line only a report writes (a bounce's opening
//! sentence, its transcript header, a DSN field, a Mailer-Daemon `From:`)
//! and runs until a live session starts again: a connection command or its
//! `Trying ...`/`Connected to ...`, a bare `220` banner, or any command typed
//! at a shell prompt (`$ dig ...`). For a decoded
//! email, every section but the notes around it is the report.
//!
//! Must not touch: what any of it means.

use super::mime::SectionKind;
use super::{ConnectResult, Evidence, ItemKind};
use regex::Regex;
use std::sync::LazyLock;

/// A line that only a pasted report writes: where a report region starts.
static REPORT_START: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(concat!(
        r"(?i)^\s*(?:",
        // Sendmail: the transcript, the list of failed addresses, the opening
        r"-+\s*transcript of session follows\s*-+",
        r"|-+\s*the following addresses had (?:permanent fatal|transient non-fatal) errors\s*-+",
        r"|the original message was received at\b",
        r"|\.\.\. while talking to \S+",
        // Postfix, Exim, qmail, Exchange, Gmail
        r"|this is the mail system at host\b",
        r"|this message was created automatically by mail delivery software",
        r"|hi\. this is the qmail-send program\b",
        r"|delivery has failed to these recipients or groups",
        r"|\*\* (?:address not found|message not delivered|delivery incomplete) \*\*",
        // the fields of a delivery status part
        r"|(?:reporting-mta|final-recipient|original-recipient|diagnostic-code|remote-mta|x-postfix-queue-id)\s*:",
        // the header of a bounce or of a forwarded message
        r"|from:.*\b(?:mailer-daemon|mail delivery (?:system|subsystem))\b",
        r"|subject:.*\b(?:undeliver\w*|returned mail|delivery status notification|failure notice|mail delivery failed|delivery failure)\b",
        r"|-+\s*(?:original|forwarded) message\s*-+",
        r"|begin forwarded message:",
        r")",
    ))
    .unwrap()
});

/// A shell or console prompt with a command after it (`$ dig ...`,
/// `user@host:~$ nc ...`, `PS C:\\> Test-NetConnection ...`, `C:\\> telnet
/// ...`): the customer typing, which no report quotes.
static PROMPT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^\s*(?:(?:[$%]|[A-Za-z0-9_.-]+@[A-Za-z0-9_.-]+(?::\S*)?\s*[$#%]|[A-Za-z0-9_.-]+ ~ [$#%])\s+|(?:PS )?[A-Za-z]:\\[^>]*>\s*)[A-Za-z]").unwrap()
});

/// Marks the report regions of `evidence` and the items inside them.
/// Runs after extraction, before attempts are assembled.
pub fn mark(evidence: &mut Evidence) {
    let regions = if evidence.sections.is_empty() {
        plain_regions(evidence)
    } else {
        email_regions(evidence)
    };
    evidence.reports = regions;
    for i in 0..evidence.items.len() {
        evidence.items[i].in_report = evidence.in_report(evidence.items[i].line);
    }
}

/// A decoded email: everything but the words pasted around it.
fn email_regions(evidence: &Evidence) -> Vec<(usize, usize)> {
    evidence
        .sections
        .iter()
        .filter(|s| s.kind != SectionKind::Note)
        .map(|s| (s.first, s.last))
        .collect()
}

/// A plain paste: from each line only a report writes to the next line that
/// starts a live session or shows the customer typing at a prompt (or the
/// end).
fn plain_regions(evidence: &Evidence) -> Vec<(usize, usize)> {
    let prompts = (1..=evidence.lines.len()).filter(|&no| PROMPT.is_match(evidence.line(no)));
    let mut live_starts: Vec<usize> = evidence
        .items
        .iter()
        .filter(|item| starts_live_session(&item.kind, &item.quote))
        .map(|item| item.line)
        .chain(prompts)
        .collect();
    live_starts.sort_unstable();
    let count = evidence.lines.len();
    let mut regions: Vec<(usize, usize)> = Vec::new();
    let mut no = 1;
    while no <= count {
        if !REPORT_START.is_match(evidence.line(no)) {
            no += 1;
            continue;
        }
        let end = live_starts
            .iter()
            .find(|&&at| at > no)
            .map_or(count, |&at| at - 1);
        regions.push((no, end));
        no = end + 1;
    }
    regions
}

/// An item that only a live session shows: a connection being opened (a
/// tool's command, `Trying ...`, `Connected to ...`) or a banner read
/// straight off the wire (not a transcript's `<<< 220`).
fn starts_live_session(kind: &ItemKind, quote: &str) -> bool {
    match kind {
        ItemKind::Connect { result, .. } => {
            matches!(result, ConnectResult::Trying | ConnectResult::Connected)
        }
        ItemKind::Reply(reply) => {
            !reply.quoted
                && reply.code == 220
                && reply.phase == super::Phase::Greeting
                && !quote.trim_start().starts_with("<<<")
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use crate::evidence::{Evidence, ItemKind};

    fn live_replies(e: &Evidence) -> Vec<u16> {
        e.replies()
            .filter(|(item, r)| !item.in_report && !r.quoted)
            .map(|(_, r)| r.code)
            .collect()
    }

    #[test]
    fn a_sendmail_transcript_is_a_report_and_a_session_above_it_is_live() {
        let e = Evidence::from_text(include_str!(
            "../../tests/data/scope/live-session-above-old-bounce.txt"
        ));
        assert_eq!(live_replies(&e), vec![220, 250, 554]);
        assert_eq!(e.reports, vec![(11, 20)]);
        let rcpt = e
            .items
            .iter()
            .find(|i| matches!(&i.kind, ItemKind::Command { arg, .. } if arg.contains("c@")))
            .expect("the transcript's command is read");
        assert!(rcpt.in_report);
    }

    #[test]
    fn a_live_session_after_a_pasted_bounce_ends_its_region() {
        let e = Evidence::from_text(concat!(
            "This is the mail system at host relay.example.net.\n",
            "<b@example.org>: host mx.example.org[192.0.2.1] said: 550 5.1.1 User unknown\n",
            "\n",
            "and today:\n",
            "$ telnet relay.example.net 25\n",
            "220 relay.example.net ESMTP\n",
            "MAIL FROM:<a@example.com>\n",
            "553 5.7.1 <a@example.com>: Sender address rejected: not owned by user x\n",
        ));
        assert_eq!(e.reports, vec![(1, 4)]);
        assert_eq!(live_replies(&e), vec![220, 553]);
    }

    #[test]
    fn a_command_at_a_prompt_after_a_bounce_is_the_customer_typing() {
        let e = Evidence::from_text(concat!(
            "** Message not delivered **\n",
            "The response from the remote server was:\n",
            "550 5.7.26 Unauthenticated email is not accepted\n",
            "\n",
            "$ dig +short TXT _dmarc.example.com\n",
            "user@laptop:~$ host 192.0.2.7\n",
            "PS C:\\Users\\anna> Resolve-DnsName example.com\n",
        ));
        assert_eq!(e.reports, vec![(1, 4)]);
        for no in 5..=7 {
            assert!(!e.in_report(no), "line {no}");
        }
    }

    #[test]
    fn a_paste_without_a_report_has_no_region() {
        let e =
            Evidence::from_text("220 mx ESMTP\nEHLO pc\n250 mx\nAUTH LOGIN\n535 5.7.8 failed\n");
        assert!(e.reports.is_empty());
        assert!(e.items.iter().all(|i| !i.in_report));
    }
}
