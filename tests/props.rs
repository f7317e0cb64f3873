//! Property tests: no input makes a parser, the engine or the rule loader
//! panic, and what they return stays consistent (line references inside the
//! transcript, confidences in 0..1, problems inside their files, secrets
//! never in the output). Case counts are kept small for CI; the long runs
//! are `cargo run --release --example fuzz -- --seconds N` (see README).

mod common;

use base64::Engine as _;
use mailtriage::classify::classify;
use mailtriage::engine::{self, Answers};
use mailtriage::evidence::{redact, Evidence};
use mailtriage::kb::{Answer, KbError, KnowledgeBase, SourceFile};
use mailtriage::ticket::{self, Ticket};
use proptest::prelude::*;
use std::collections::BTreeMap;
use std::sync::OnceLock;

fn kb() -> &'static KnowledgeBase {
    static KB: OnceLock<KnowledgeBase> = OnceLock::new();
    KB.get_or_init(|| KnowledgeBase::embedded().unwrap())
}

/// Pieces of real transcripts, so generated input reaches the deep paths
/// (multi-line replies, AUTH exchanges, DSN fields, connection attempts).
const PIECES: &[&str] = &[
    "220 mx.example.net ESMTP ready",
    "EHLO laptop",
    "250-AUTH PLAIN LOGIN",
    "250-STARTTLS",
    "250 SIZE 1000",
    "AUTH LOGIN",
    "334 VXNlcm5hbWU6",
    "334 UGFzc3dvcmQ6",
    "535 5.7.8 Error: authentication failed",
    "530 5.7.0 Must issue a STARTTLS command first",
    "MAIL FROM:<a@example.net>",
    "RCPT TO:<b@example.org>",
    "550-5.1.1 The email account does not exist",
    "550 5.1.1 user unknown",
    "DATA",
    "354 go ahead",
    ".",
    "250 2.0.0 Ok: queued as 4VtW3c",
    "QUIT",
    "221 2.0.0 Bye",
    "Trying 192.0.2.1...",
    "telnet: Unable to connect to remote host: Connection timed out",
    "Connected to smtp.example.net.",
    "connect to mx.example.org[192.0.2.60]:25: Connection refused",
    "Final-Recipient: rfc822; b@example.org",
    "Action: failed",
    "Status: 5.7.1",
    "Diagnostic-Code: smtp; 554 5.7.1 Service unavailable; Client host blocked using zen.spamhaus.org",
    "Content-Type: multipart/report; report-type=delivery-status;",
    "\tboundary=\"x\"",
    "Auto-Submitted: auto-replied",
    "** server can't find smtp.exmaple.net: NXDOMAIN",
    "1.2.0.192.in-addr.arpa name = host.example.net.",
    "inet 192.168.1.20 netmask 255.255.255.0",
    "status=deferred (host mx.example.org said: 450 4.7.1 greylisted)",
    "S: 421 4.7.0 Too many connections",
    "C: AUTH PLAIN AGFsaWNlAHNlY3JldA==",
    "<- 250 OK",
    "-> MAIL FROM:<x@y>",
    "password: hunter2",
    "smtp://user:pass@mail.example.net:587",
    "Authorization: Basic dXNlcjpwYXNz",
];

fn line() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => proptest::sample::select(PIECES).prop_map(str::to_string),
        1 => "[ -~]{0,60}",
        1 => (proptest::sample::select(PIECES), "[ -~\t]{0,12}", 0..60usize).prop_map(|(p, junk, cut)| {
            let cut = p.char_indices().map(|(i, _)| i).nth(cut).unwrap_or(p.len());
            format!("{}{junk}{}", &p[..cut], &p[cut..])
        }),
        1 => "[0-9]{3}[ -][0-9.]{0,8} [a-zA-Z ]{0,20}",
    ]
}

fn line_end() -> impl Strategy<Value = &'static str> {
    proptest::sample::select(
        &[
            "\n",
            "\n",
            "\n",
            "\r\n",
            "\r",
            "\u{1b}[0m\n",
            "\u{1b}]0;t\u{7}\n",
            "\t\n",
        ][..],
    )
}

/// A transcript-like text: pieces of real transcripts, junk, and line ends of every kind.
fn transcript() -> impl Strategy<Value = String> {
    proptest::collection::vec((line(), line_end()), 0..40)
        .prop_map(|lines| lines.into_iter().map(|(l, e)| format!("{l}{e}")).collect())
}

fn answers() -> impl Strategy<Value = Answers> {
    let facts: Vec<String> = kb()
        .askable_facts()
        .into_iter()
        .map(str::to_string)
        .collect();
    let answer = proptest::sample::select(vec![Answer::Yes, Answer::No, Answer::Unknown]);
    proptest::collection::btree_map(proptest::sample::select(facts), answer, 0..4)
}

fn check_evidence(e: &Evidence) {
    let n = e.lines.len();
    for item in &e.items {
        assert!(
            1 <= item.line && item.line <= item.end_line && item.end_line <= n.max(1),
            "item outside the transcript: {item:?} ({n} lines)"
        );
        if let Some(a) = item.attempt {
            assert!(
                a < e.attempts.len(),
                "item names attempt {a} of {}",
                e.attempts.len()
            );
        }
        if let Some(r) = item.recipient {
            assert!(
                r < e.recipients.len(),
                "item names recipient {r} of {}",
                e.recipients.len()
            );
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn evidence_from_any_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..4096)) {
        check_evidence(&Evidence::from_bytes(&bytes));
    }

    #[test]
    fn evidence_from_transcript_like_text(text in transcript()) {
        check_evidence(&Evidence::from_text(&text));
    }

    #[test]
    fn redaction_of_any_text(text in "\\PC{0,200}") {
        let _ = redact::redact_text(&text);
        let _ = redact::decode_prompt(&text);
    }

    #[test]
    fn engine_and_classify_on_any_transcript(text in transcript(), answers in answers()) {
        let kb = kb();
        let evidence = Evidence::from_text(&text);
        let verdict = engine::evaluate(kb, &evidence, &answers);
        prop_assert!((0.0..=1.0).contains(&verdict.confidence), "confidence {}", verdict.confidence);
        prop_assert!(kb.cause(&verdict.cause).is_some(), "cause {} is not in the taxonomy", verdict.cause);
        let ticket = Ticket { id: "t".into(), text: text.into_bytes(), answers: BTreeMap::new(), notes: vec![] };
        let result = classify(kb, &ticket, &answers);
        prop_assert!(serde_json::to_string(&result).is_ok());
    }

    #[test]
    fn engine_on_any_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let verdict = engine::evaluate(kb(), &Evidence::from_bytes(&bytes), &Answers::new());
        prop_assert!((0.0..=1.0).contains(&verdict.confidence));
    }

    /// Credentials sent in an AUTH exchange never reach the output.
    #[test]
    fn auth_secrets_never_reach_the_output(before in transcript(), user in "[a-z]{3,10}", password in "[A-Za-z0-9]{10,16}", plain in any::<bool>()) {
        let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
        let exchange = if plain {
            format!("AUTH PLAIN {}\n235 2.7.0 ok\n", b64(&format!("\0{user}\0{password}")))
        } else {
            format!("AUTH LOGIN\n334 VXNlcm5hbWU6\n{}\n334 UGFzc3dvcmQ6\n{}\n535 5.7.8 failed\n", b64(&user), b64(&password))
        };
        let text = format!("{before}\n220 mx ESMTP\nEHLO x\n250 AUTH PLAIN LOGIN\n{exchange}");
        let ticket = Ticket { id: "t".into(), text: text.into_bytes(), answers: BTreeMap::new(), notes: vec![] };
        let out = serde_json::to_string(&classify(kb(), &ticket, &Answers::new())).unwrap();
        prop_assert!(!out.contains(&password), "the password leaked: {out}");
        let secret_b64 = if plain { b64(&format!("\0{user}\0{password}")) } else { b64(&password) };
        prop_assert!(!out.contains(&secret_b64), "the base64 credential leaked: {out}");
    }

    #[test]
    fn ticket_records_from_any_line(line in "\\PC{0,200}") {
        let _ = ticket::parse_record(&line, "x:1");
    }

    #[test]
    fn json_lines_from_any_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let mut n = 0;
        ticket::for_each_record("x", &bytes[..], |_| n += 1);
        prop_assert!(n <= bytes.iter().filter(|b| **b == b'\n').count() + 1);
    }

    /// Any text in any rule file: problems, never a panic, and every
    /// problem points inside a file that exists.
    #[test]
    fn rule_loader_on_any_file_text(target in 0usize..7, text in "\\PC{0,300}") {
        check_loader(target, |_| text.clone());
    }

    /// The shipped-like minimal rules with bytes cut out, doubled or
    /// swapped: RON errors and validation problems, never a panic.
    #[test]
    fn rule_loader_on_mutated_rules(target in 0usize..7, edits in proptest::collection::vec((any::<prop::sample::Index>(), 0u8..3, any::<char>()), 1..6)) {
        check_loader(target, |original| {
            let mut chars: Vec<char> = original.chars().collect();
            for (at, op, c) in &edits {
                if chars.is_empty() { break; }
                let i = at.index(chars.len());
                match op {
                    0 => { chars.remove(i); }
                    1 => chars.insert(i, chars[i]),
                    _ => chars[i] = *c,
                }
            }
            chars.into_iter().collect()
        });
    }
}

fn check_loader(target: usize, new_text: impl Fn(&str) -> String) {
    let mut files: Vec<SourceFile> =
        mailtriage::kb::dir_sources(&common::data_dir().join("minimal-rules")).unwrap();
    let i = target % files.len();
    files[i].text = new_text(&files[i].text);
    match KnowledgeBase::from_sources(&files) {
        Ok(_) | Err(KbError::Io { .. }) => {}
        Err(KbError::Invalid(problems)) => {
            assert!(!problems.is_empty());
            for p in problems {
                let file = files.iter().find(|f| f.path == p.at.file);
                if let Some(file) = file {
                    let lines = file.text.split('\n').count();
                    assert!(
                        p.at.line >= 1 && p.at.line <= lines + 1,
                        "{p} is outside {} ({lines} lines)",
                        file.path
                    );
                }
            }
        }
    }
}
