//! Attempts: splits a paste holding several sessions into connection
//! attempts and records each one's source, server, port and outcome, so that
//! attempts can be compared (same credentials fail from one network and work
//! from another).

use super::redact::SecretAt;
use super::{ConnectResult, Evidence, ItemKind, Phase};
use serde::Serialize;

/// How far an attempt got.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Nothing conclusive was seen.
    Unknown,
    NameNotFound,
    TimedOut,
    Refused,
    ConnectFailed,
    Connected,
    /// The server's banner was seen.
    Greeted,
    /// The server refused the session at a stage before AUTH/MAIL (banner, EHLO, STARTTLS).
    SessionRejected,
    AuthFailed,
    AuthOk,
    /// MAIL, RCPT or DATA was refused.
    Rejected,
    /// The message was accepted after DATA.
    Accepted,
}

/// One connection attempt.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Attempt {
    pub first_line: usize,
    pub last_line: usize,
    /// Local address, or the network it ran from ("dial-up"), when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    pub outcome: Outcome,
    /// The line that settled the outcome.
    pub outcome_line: usize,
    /// Every outcome the attempt went through, in order, with the line that
    /// showed it (connected, greeted, then AUTH ...): the line that proves an
    /// attempt got at least as far as some stage.
    #[serde(skip)]
    pub reached: Vec<(Outcome, usize)>,
    /// True for a session a pasted report shows (a bounce's transcript of
    /// the reporting server's own session), false for the customer's own.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub in_report: bool,
}

impl Attempt {
    fn new(line: usize, source: Option<String>, in_report: bool) -> Attempt {
        Attempt {
            in_report,
            first_line: line,
            last_line: line,
            source,
            server: None,
            port: None,
            outcome: Outcome::Unknown,
            outcome_line: line,
            reached: Vec::new(),
        }
    }

    fn has_progress(&self) -> bool {
        self.outcome != Outcome::Unknown
    }

    fn settle(&mut self, outcome: Outcome, line: usize) {
        self.outcome = outcome;
        self.outcome_line = line;
        self.reached.push((outcome, line));
    }

    /// The first line at which the attempt showed one of `outcomes`.
    pub fn first_reached(&self, outcomes: &[Outcome]) -> Option<usize> {
        self.reached
            .iter()
            .find(|(o, _)| outcomes.contains(o))
            .map(|&(_, line)| line)
    }
}

/// Assigns dialogue and connection items to attempts.
pub fn assemble(evidence: &mut Evidence, secrets: &[SecretAt]) {
    let mut attempts: Vec<Attempt> = Vec::new();
    let mut source: Option<String> = None;
    let mut source_changed = false;
    for index in 0..evidence.items.len() {
        let item = &evidence.items[index];
        let line = item.line;
        let starts = match &item.kind {
            ItemKind::LocalAddress { address } => {
                source_changed |= source.as_deref() != Some(address);
                source = Some(address.clone());
                false
            }
            ItemKind::NetworkHint { label } => {
                if !source
                    .as_deref()
                    .is_some_and(|s| s.contains(label.as_str()))
                {
                    source_changed = true;
                    source = Some(match &source {
                        Some(addr) if !source_changed => format!("{label} {addr}"),
                        _ => label.clone(),
                    });
                }
                false
            }
            ItemKind::Connect {
                result: ConnectResult::Trying,
                ..
            } => attempts
                .last()
                .is_none_or(|a| a.has_progress() || source_changed),
            // a tool that tests several ports in one go (`nc -vz host 25
            // 587 465`) prints one result per port: each is an attempt
            ItemKind::Connect { port, .. } => attempts.last().is_none_or(|a| {
                matches!(a.outcome, Outcome::Connected | Outcome::Greeted) && a.last_line + 1 < line
                    || a.outcome as u8 > Outcome::Connected as u8
                    || a.has_progress() && port.is_some() && a.port.is_some() && *port != a.port
            }),
            ItemKind::Reply(reply)
                if !reply.quoted && reply.phase == Phase::Greeting && reply.code == 220 =>
            {
                attempts
                    .last()
                    .is_none_or(|a| a.outcome as u8 >= Outcome::Greeted as u8 || source_changed)
            }
            ItemKind::Reply(reply) if !reply.quoted => attempts.is_empty(),
            ItemKind::Command { .. } => attempts.is_empty(),
            _ => false,
        };
        // a report's session is never the customer's: it starts its own
        // attempt, and so does the live session after it
        let item = &evidence.items[index];
        let crosses = belongs_to_attempt(&item.kind)
            && attempts
                .last()
                .is_some_and(|a| a.in_report != item.in_report);
        if starts || crosses {
            attempts.push(Attempt::new(line, source.clone(), item.in_report));
            source_changed = false;
        }
        let Some(current) = attempts.last_mut() else {
            continue;
        };
        if !belongs_to_attempt(&evidence.items[index].kind) {
            continue;
        }
        update(current, &evidence.items[index].kind, line);
        current.last_line = evidence.items[index].end_line;
        evidence.items[index].attempt = Some(attempts.len() - 1);
    }
    for secret in secrets {
        let _ = secret;
    }
    evidence.credential_prints = attempts
        .iter()
        .map(|a| credential_print(a, secrets))
        .collect();
    evidence.attempts = attempts;
}

fn belongs_to_attempt(kind: &ItemKind) -> bool {
    match kind {
        ItemKind::Reply(reply) => !reply.quoted,
        ItemKind::Command { .. }
        | ItemKind::Capability { .. }
        | ItemKind::AuthPrompt { .. }
        | ItemKind::Secret { .. }
        | ItemKind::Connect { .. } => true,
        _ => false,
    }
}

fn update(attempt: &mut Attempt, kind: &ItemKind, line: usize) {
    match kind {
        ItemKind::Connect { host, port, result } => {
            if !host.is_empty()
                && (attempt.server.is_none()
                    || !host.chars().all(|c| c.is_ascii_digit() || c == '.'))
            {
                attempt.server = Some(host.clone());
            }
            if port.is_some() {
                attempt.port = *port;
            }
            let outcome = match result {
                ConnectResult::Trying => return,
                ConnectResult::Connected => Outcome::Connected,
                ConnectResult::TimedOut => Outcome::TimedOut,
                ConnectResult::Refused => Outcome::Refused,
                ConnectResult::NameNotFound => Outcome::NameNotFound,
                ConnectResult::Failed => Outcome::ConnectFailed,
            };
            if (attempt.outcome as u8) < Outcome::Greeted as u8 {
                attempt.settle(outcome, line);
            }
        }
        ItemKind::Reply(reply) => {
            // a paste that starts at the banner (a printer's log, a client's
            // debug output) names the server only there
            if reply.phase == Phase::Greeting
                && attempt
                    .server
                    .as_deref()
                    .is_none_or(|s| s.parse::<std::net::IpAddr>().is_ok())
            {
                if let Some(name) = banner_host(&reply.text) {
                    attempt.server = Some(name);
                }
            }
            let failed = reply.code >= 400;
            let outcome = match reply.phase {
                Phase::Greeting | Phase::Ehlo | Phase::Helo | Phase::StartTls if failed => {
                    Outcome::SessionRejected
                }
                Phase::Greeting if reply.code == 220 => Outcome::Greeted,
                Phase::Auth if failed => Outcome::AuthFailed,
                Phase::Auth if reply.code == 235 => Outcome::AuthOk,
                Phase::Mail | Phase::Rcpt | Phase::Data | Phase::Message if failed => {
                    Outcome::Rejected
                }
                Phase::Message if reply.code == 250 => Outcome::Accepted,
                _ => return,
            };
            attempt.settle(outcome, line);
        }
        _ => {}
    }
}

/// The host name a banner starts with (`220 mail.example.com ESMTP ...`).
fn banner_host(text: &str) -> Option<String> {
    let name = text.split_whitespace().next()?.trim_end_matches('.');
    let labels: Vec<&str> = name.split('.').collect();
    (labels.len() >= 2
        && labels.iter().all(|l| {
            !l.is_empty()
                && !l.starts_with('-')
                && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        })
        && labels
            .last()
            .is_some_and(|tld| tld.chars().any(|c| c.is_ascii_alphabetic())))
    .then(|| name.to_string())
}

fn credential_print(attempt: &Attempt, secrets: &[SecretAt]) -> Option<u64> {
    let mut prints = secrets
        .iter()
        .filter(|s| s.line >= attempt.first_line && s.line <= attempt.last_line)
        .map(|s| s.print)
        .peekable();
    prints.peek()?;
    Some(prints.fold(0u64, |acc, p| acc.rotate_left(7) ^ p))
}

#[cfg(test)]
mod tests {
    use super::Outcome;
    use crate::evidence::Evidence;

    #[test]
    fn two_sessions_from_two_networks_are_two_attempts() {
        let text = "broadband:\n inet 203.0.113.45/24\n$ telnet smtp.example.net 25\n220 smtp ESMTP\nAUTH LOGIN\n334 VXNlcm5hbWU6\ndXNlcg==\n334 UGFzc3dvcmQ6\ncGFzcw==\n535 authorization failed (#5.7.0)\n\ndial-up:\n inet 198.51.100.7\n$ telnet smtp.example.net 25\n220 smtp ESMTP\nAUTH LOGIN\n334 VXNlcm5hbWU6\ndXNlcg==\n334 UGFzc3dvcmQ6\ncGFzcw==\n235 ok, go ahead (#2.0.0)\n";
        let e = Evidence::from_text(text);
        assert_eq!(e.attempts.len(), 2, "{:#?}", e.attempts);
        assert_eq!(e.attempts[0].outcome, Outcome::AuthFailed);
        assert_eq!(e.attempts[1].outcome, Outcome::AuthOk);
        assert_ne!(e.attempts[0].source, e.attempts[1].source);
        assert_eq!(e.attempts[0].port, Some(25));
        assert!(e.credential_prints[0].is_some());
        assert_eq!(e.credential_prints[0], e.credential_prints[1]);
    }

    #[test]
    fn port_25_times_out_and_587_connects() {
        let text = "telnet smtp.example.com 25\nTrying 192.0.2.25...\ntelnet: Unable to connect to remote host: Connection timed out\ntelnet smtp.example.com 587\nTrying 192.0.2.25...\nConnected to smtp.example.com.\n220 smtp.example.com ESMTP\n";
        let e = Evidence::from_text(text);
        assert_eq!(e.attempts.len(), 2, "{:#?}", e.attempts);
        assert_eq!(
            (e.attempts[0].port, e.attempts[0].outcome),
            (Some(25), Outcome::TimedOut)
        );
        assert_eq!(
            (e.attempts[1].port, e.attempts[1].outcome),
            (Some(587), Outcome::Greeted)
        );
    }

    #[test]
    fn netcat_testing_several_ports_at_once_makes_one_attempt_per_port() {
        let text = "$ nc -vz -w 5 smtp.example.net 25 587 465\nnc: connect to smtp.example.net (192.0.2.41) port 25 (tcp) timed out: Operation now in progress\nConnection to smtp.example.net (192.0.2.41) 587 port [tcp/submission] succeeded!\nConnection to smtp.example.net (192.0.2.41) 465 port [tcp/submissions] succeeded!\n";
        let e = Evidence::from_text(text);
        let got: Vec<_> = e.attempts.iter().map(|a| (a.port, a.outcome)).collect();
        assert_eq!(
            got,
            vec![
                (Some(25), Outcome::TimedOut),
                (Some(587), Outcome::Connected),
                (Some(465), Outcome::Connected),
            ]
        );
        // telnet's two lines about one failed connect stay one attempt
        let e = Evidence::from_text("telnet smtp.example.com 25\nTrying 192.0.2.25...\ntelnet: connect to address 192.0.2.25: Connection timed out\ntelnet: Unable to connect to remote host: Connection timed out\n");
        assert_eq!(e.attempts.len(), 1, "{:#?}", e.attempts);
    }

    #[test]
    fn a_transcript_in_a_bounce_is_its_own_attempt_not_the_live_one() {
        let text = "$ openssl s_client -starttls smtp -connect smtp.example.net:587 -crlf -quiet\n250 SMTPUTF8\nEHLO pc\n250-smtp.example.net\n250 AUTH PLAIN LOGIN\nAUTH PLAIN AGFAZXhhbXBsZS5jb20Ac2VjcmV0\n235 2.7.0 Authentication successful\nMAIL FROM:<a@example.com>\n553 5.7.1 <a@example.com>: Sender address rejected: not owned by user\n\nan old bounce:\n   ----- Transcript of session follows -----\n... while talking to mx.example.org.:\n>>> DATA\n<<< 550 5.1.1 <b@example.org>... User unknown\n";
        let e = Evidence::from_text(text);
        assert_eq!(e.attempts.len(), 2, "{:#?}", e.attempts);
        let (live, report) = (&e.attempts[0], &e.attempts[1]);
        assert!(!live.in_report && report.in_report);
        assert_eq!((live.outcome, live.outcome_line), (Outcome::Rejected, 9));
        assert_eq!(report.outcome, Outcome::Rejected);
        assert!(report.first_line >= 12);
    }

    #[test]
    fn the_banner_or_the_command_names_the_server() {
        // a printer's log starts at the banner
        let e = Evidence::from_text("[SMTP] connect 192.0.2.12:25 ok\n[SMTP] << 220 mail.example.com Microsoft ESMTP MAIL Service ready\n[SMTP] >> EHLO MFP\n[SMTP] << 501 5.5.4 Invalid domain name\n");
        assert_eq!(e.attempts.len(), 1, "{:#?}", e.attempts);
        assert_eq!(e.attempts[0].server.as_deref(), Some("mail.example.com"));
        // the command names it, the next line only its address
        let e = Evidence::from_text("Customer ran:\n  telnet smtp.example.net 25\n  Trying 192.0.2.5...\n  telnet: Unable to connect to remote host: Connection timed out\n");
        assert_eq!(e.attempts.len(), 1, "{:#?}", e.attempts);
        assert_eq!(e.attempts[0].server.as_deref(), Some("smtp.example.net"));
        assert_eq!(e.attempts[0].port, Some(25));
        // a banner that names no host leaves the server unknown
        let e = Evidence::from_text("220 ******************************\nEHLO pc\n");
        assert_eq!(e.attempts[0].server, None);
    }
}
