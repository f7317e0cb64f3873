//! Sending-MTA logs: the recipient each delivery line of a Postfix,
//! Sendmail or Exim log is about, and what became of it.
//!
//! Owns: reading a log's delivery lines (Postfix `to=<a@b>, ... dsn=X,
//! status=sent|deferred|bounced`, Sendmail `to=<a@b>, ... dsn=X, stat=...`,
//! Exim `=> a@b`, `-> a@b`, `== a@b ... defer`, `** a@b`) into one recipient
//! per address with the state of its last line (`delivered`, `delayed`,
//! `failed`, as a DSN's `Action` says it), and tying the reply quoted on each
//! line to the recipient the line names. A recipient a report already named
//! keeps its report's state; the line's reply is still tied to it.
//!
//! Must not touch: what a reply means. A deferral is a state, not a cause.

use super::reply::parse_status;
use super::{Evidence, ItemKind, Recipient, Status};
use regex::Regex;
use std::collections::HashMap;
use std::sync::LazyLock;

/// Most recipients read from a log (a queue dump can name thousands).
const MAX_RECIPIENTS: usize = 64;

/// Postfix's and Sendmail's delivery line: `to=` one or more addresses
/// (Sendmail lists several, comma-separated, brackets optional), then
/// further fields, among them `dsn=` and `status=` (Postfix) or `stat=`
/// (Sendmail). `orig_to=` is not `to=` (no word boundary after `_`).
static TO_FIELD: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\bto=((?:<?[^\s<>,@=]+@[^\s<>,=]+>?,)*<?[^\s<>,@=]+@[^\s<>,=]+>?)(?:,|\s|$)")
        .unwrap()
});
static STATUS_FIELD: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\b(stat|status)=([A-Za-z]+)").unwrap());
static DSN_FIELD: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\bdsn=([245]\.\d{1,3}\.\d{1,3})\b").unwrap());

/// Exim's delivery line: the message id, then the flag (`=>` delivered,
/// `->` another address of the same delivery, `==` deferred, `**` failed),
/// then the address, or a local name or file followed by `<address>`.
static EXIM_LINE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?:^|\s)[0-9A-Za-z]{6}-[0-9A-Za-z]{6,11}-[0-9A-Za-z]{2,4}\s+(=>|->|==|\*\*)\s+(\S+)(?:\s+<([^\s<>@]+@[^\s<>]+)>)?")
        .unwrap()
});

static ADDRESS: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"[^\s<>,:@]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+").unwrap());

/// What one log line says became of one recipient.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Delivered,
    Delayed,
    Failed,
}

impl State {
    fn action(self) -> &'static str {
        match self {
            State::Delivered => "delivered",
            State::Delayed => "delayed",
            State::Failed => "failed",
        }
    }

    fn of_class(class: u8) -> Option<State> {
        match class {
            2 => Some(State::Delivered),
            4 => Some(State::Delayed),
            5 => Some(State::Failed),
            _ => None,
        }
    }
}

/// One delivery line: the addresses it names, their state, the `dsn=`.
struct Delivery {
    addresses: Vec<String>,
    state: State,
    dsn: Option<Status>,
}

/// Reads one line as a delivery line, or `None`.
fn delivery(line: &str) -> Option<Delivery> {
    let flagged = ["to=", "=> ", "-> ", "== ", "** "]
        .iter()
        .any(|mark| line.contains(mark));
    if !flagged {
        return None;
    }
    if let Some(caps) = EXIM_LINE.captures(line) {
        let flag = caps.get(1)?.as_str();
        let first = caps.get(2)?.as_str();
        let address = caps
            .get(3)
            .map(|m| m.as_str())
            .or_else(|| ADDRESS.find(first).map(|m| m.as_str()))?;
        let state = match flag {
            "=>" | "->" => State::Delivered,
            "==" => State::Delayed,
            _ => State::Failed,
        };
        return Some(Delivery {
            addresses: vec![clean(address)],
            state,
            dsn: None,
        });
    }
    let to = TO_FIELD.captures(line)?;
    let rest = &line[to.get(0)?.end()..];
    let dsn = DSN_FIELD
        .captures(rest)
        .and_then(|c| parse_status(c.get(1)?.as_str()));
    let stated = STATUS_FIELD.captures(rest).and_then(|c| {
        let word = c.get(2)?.as_str().to_ascii_lowercase();
        match (c.get(1)?.as_str(), word.as_str()) {
            // Postfix's verdicts; `deliverable` is an address probe, no delivery
            ("status", "sent") => Some(State::Delivered),
            ("status", "deferred") => Some(State::Delayed),
            ("status", "bounced" | "expired" | "undeliverable") => Some(State::Failed),
            ("status", _) => None,
            // Sendmail: `stat=Sent`, `stat=Deferred: ...`, else the failure's words
            (_, "sent") => Some(State::Delivered),
            (_, "deferred") => Some(State::Delayed),
            // a message taken into the queue has no verdict yet
            (_, "queued") => None,
            _ => dsn.and_then(|s| State::of_class(s.class)),
        }
    })?;
    let addresses = ADDRESS
        .find_iter(to.get(1)?.as_str())
        .map(|m| clean(m.as_str()))
        .collect();
    Some(Delivery {
        addresses,
        state: stated,
        dsn,
    })
}

fn clean(address: &str) -> String {
    address
        .trim_matches(|c| matches!(c, '<' | '>' | ',' | ':' | ';'))
        .to_string()
}

/// Adds a recipient per address the log's delivery lines name, with the
/// state of its last line, and ties each line's reply to its recipient.
pub fn extract(evidence: &mut Evidence) {
    // recipients named before the log (a report's) keep their own state
    let known = evidence.recipients.len();
    // the replies on each line, by index (a long log holds thousands)
    let mut replies: HashMap<usize, Vec<usize>> = HashMap::new();
    for (index, item) in evidence.items.iter().enumerate() {
        if matches!(item.kind, ItemKind::Reply(_)) {
            for no in item.line..=item.end_line {
                replies.entry(no).or_default().push(index);
            }
        }
    }
    for no in 1..=evidence.lines.len() {
        let Some(found) = delivery(evidence.line(no)) else {
            continue;
        };
        let on_line = replies.get(&no).map(Vec::as_slice).unwrap_or_default();
        // the status: the line's `dsn=`, else that of the reply it quotes,
        // when it agrees with the state (Exim writes no `dsn=`)
        let quoted = on_line.iter().find_map(|&i| match &evidence.items[i].kind {
            ItemKind::Reply(reply) => reply.status,
            _ => None,
        });
        let status = found
            .dsn
            .or(quoted)
            .filter(|s| State::of_class(s.class) == Some(found.state));
        let mut named = Vec::new();
        for address in &found.addresses {
            let index = match evidence
                .recipients
                .iter()
                .position(|r| r.address.eq_ignore_ascii_case(address))
            {
                Some(index) => index,
                None if evidence.recipients.len() - known < MAX_RECIPIENTS => {
                    evidence.recipients.push(Recipient {
                        address: address.clone(),
                        line: no,
                        ..Recipient::default()
                    });
                    evidence.recipients.len() - 1
                }
                None => continue,
            };
            if index >= known {
                let recipient = &mut evidence.recipients[index];
                recipient.action = Some(found.state.action().to_string());
                recipient.status = status;
                recipient.line = no;
            }
            if !named.contains(&index) {
                named.push(index);
                evidence.line_recipients.push((no, index));
            }
        }
        // a line naming several recipients (Sendmail's list) speaks for all
        // of them; its reply cannot be given to one
        if let [index] = named[..] {
            for &i in on_line {
                evidence.items[i].recipient = Some(index);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::evidence::{Evidence, ItemKind};

    fn states(e: &Evidence) -> Vec<(&str, &str, String)> {
        e.recipients
            .iter()
            .map(|r| {
                (
                    r.address.as_str(),
                    r.action.as_deref().unwrap_or(""),
                    r.status.map(|s| s.to_string()).unwrap_or_default(),
                )
            })
            .collect()
    }

    fn reply_owners(e: &Evidence) -> Vec<(usize, Option<usize>)> {
        e.replies().map(|(i, _)| (i.line, i.recipient)).collect()
    }

    #[test]
    fn postfix_lines_give_one_recipient_each_with_its_reply() {
        let e = Evidence::from_text(concat!(
            "Mar 11 08:14:56 gw postfix/smtp[1]: 6F2B31A0C4: to=<a@example.net>, relay=mx.example.net[203.0.113.4]:25, delay=1.2, dsn=2.0.0, status=sent (250 2.0.0 Ok: queued as 4ZcL)\n",
            "Mar 11 08:14:57 gw postfix/smtp[2]: 6F2B31A0C4: to=<b@example.org>, orig_to=<bee@example.org>, relay=mx.example.org[198.51.100.7]:25, delay=1.9, dsn=4.2.0, status=deferred (host mx.example.org[198.51.100.7] said: 450 4.2.0 <b@example.org>: Recipient address rejected: Greylisted (in reply to RCPT TO command))\n",
        ));
        assert_eq!(
            states(&e),
            [
                ("a@example.net", "delivered", "2.0.0".to_string()),
                ("b@example.org", "delayed", "4.2.0".to_string())
            ]
        );
        assert_eq!(reply_owners(&e), [(1, Some(0)), (2, Some(1))]);
        assert!(e.recipients[0].delivered() && !e.recipients[1].delivered());
    }

    #[test]
    fn the_last_line_for_a_recipient_decides_its_state() {
        let deferred = "Jun 1 10:00:00 gw postfix/smtp[1]: 7A1C: to=<b@example.org>, relay=mx.example.org[192.0.2.1]:25, dsn=4.7.1, status=deferred (host mx.example.org[192.0.2.1] said: 451 4.7.1 Please try again later (in reply to RCPT TO command))\n";
        let bounced = "Jun 6 10:00:00 gw postfix/smtp[1]: 7A1C: to=<b@example.org>, relay=mx.example.org[192.0.2.1]:25, dsn=5.1.1, status=bounced (host mx.example.org[192.0.2.1] said: 550 5.1.1 User unknown (in reply to RCPT TO command))\n";
        let sent = "Jun 1 10:30:00 gw postfix/smtp[1]: 7A1C: to=<b@example.org>, relay=mx.example.org[192.0.2.1]:25, dsn=2.0.0, status=sent (250 2.0.0 Ok)\n";
        let e = Evidence::from_text(&format!("{deferred}{deferred}{bounced}"));
        assert_eq!(
            states(&e),
            [("b@example.org", "failed", "5.1.1".to_string())]
        );
        assert_eq!(e.recipients[0].line, 3);
        assert!(e.replies().all(|(i, _)| i.recipient == Some(0)));
        let e = Evidence::from_text(&format!("{deferred}{sent}"));
        assert_eq!(
            states(&e),
            [("b@example.org", "delivered", "2.0.0".to_string())]
        );
    }

    #[test]
    fn exim_flags_name_the_state_and_the_reply_gives_the_status() {
        let e = Evidence::from_text(concat!(
            "2025-04-02 10:31:08 1tzqK9-0007Xa-2P => a@example.net R=dnslookup T=remote_smtp H=mx.example.net [203.0.113.8] C=\"250 2.0.0 OK id=1tzqKA\"\n",
            "2025-04-02 10:31:09 1tzqK9-0007Xa-2P == b@example.org R=dnslookup T=remote_smtp defer (-44) H=mx2.example.org [198.51.100.23]: SMTP error from remote mail server after RCPT TO:<b@example.org>: 421 4.7.0 Too many messages, try again later\n",
            "2025-04-02 10:31:09 1tzqK9-0007Xa-2P ** c@example.com R=dnslookup T=remote_smtp H=mx.example.com [192.0.2.9]: SMTP error from remote mail server after RCPT TO:<c@example.com>: 550 5.1.1 No such user\n",
            "2025-04-02 10:31:10 1tzqK9-0007Xa-2P => jo <jo@example.com> R=localuser T=local_delivery\n",
            "2025-04-02 10:31:10 1tzqK9-0007Xa-2P Completed\n",
        ));
        assert_eq!(
            states(&e),
            [
                ("a@example.net", "delivered", "2.0.0".to_string()),
                ("b@example.org", "delayed", "4.7.0".to_string()),
                ("c@example.com", "failed", "5.1.1".to_string()),
                ("jo@example.com", "delivered", String::new()),
            ]
        );
        assert_eq!(reply_owners(&e), [(1, Some(0)), (2, Some(1)), (3, Some(2))]);
    }

    #[test]
    fn sendmail_stat_and_dsn_give_the_state() {
        let e = Evidence::from_text(concat!(
            "Apr 22 14:05:11 gw sendmail[4410]: 53MDx9Aa004410: to=<b@example.net>, ctladdr=<me@example.com> (1002/1002), delay=00:00:30, mailer=esmtp, relay=mx.example.net. [198.51.100.31], dsn=4.0.0, stat=Deferred: Connection timed out with mx.example.net.\n",
            "Apr 22 14:05:12 gw sendmail[4411]: 53MDx9Aa004411: to=c@example.org,d@example.org, delay=00:00:01, mailer=esmtp, relay=mx.example.org. [192.0.2.4], dsn=5.1.1, stat=User unknown\n",
            "Apr 22 14:05:13 gw sendmail[4412]: 53MDx9Aa004412: to=<e@example.org>, delay=00:00:01, mailer=esmtp, relay=mx.example.org. [192.0.2.4], dsn=2.0.0, stat=Sent (Ok queued as 4711)\n",
        ));
        assert_eq!(
            states(&e),
            [
                ("b@example.net", "delayed", "4.0.0".to_string()),
                ("c@example.org", "failed", "5.1.1".to_string()),
                ("d@example.org", "failed", "5.1.1".to_string()),
                ("e@example.org", "delivered", "2.0.0".to_string()),
            ]
        );
    }

    #[test]
    fn lines_that_are_no_delivery_name_no_recipient() {
        let e = Evidence::from_text(concat!(
            "Mar 11 08:14:55 gw postfix/qmgr[911]: 6F2B: from=<me@example.com>, size=48213, nrcpt=2 (queue active)\n",
            "Mar 11 08:14:55 gw postfix/smtpd[911]: NOQUEUE: reject: RCPT from x[192.0.2.1]: 554 5.7.1 <b@example.org>: Relay access denied; from=<me@example.com> to=<b@example.org> proto=ESMTP helo=<pc>\n",
            "Mar 11 08:14:56 gw sendmail[1]: 53MD: to=<b@example.org>, delay=00:00:00, mailer=esmtp, stat=queued\n",
            "2025-04-02 10:31:07 1tzqK9-0007Xa-2P <= me@example.com H=(pc) [10.0.4.17] P=esmtpsa S=18344\n",
            "Please send it to=> b@example.org again\n",
        ));
        assert!(e.recipients.is_empty(), "{:?}", e.recipients);
        assert!(e
            .items
            .iter()
            .filter(|i| matches!(i.kind, ItemKind::Reply(_)))
            .all(|i| i.recipient.is_none()));
    }
}
