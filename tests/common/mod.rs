//! Helpers shared by the integration tests: rendering every output a ticket
//! can produce, the labelled answers of the shipped transcripts, and broken
//! rule sets (tests/data/minimal-rules/ with a case folder laid over it).
#![allow(dead_code)]

use mail_parser::{MessageParser, MimeHeaders};
use mailtriage::classify;
use mailtriage::engine::{self, Answers};
use mailtriage::evidence::Evidence;
use mailtriage::kb::{Answer, KnowledgeBase};
use mailtriage::report::{self, PacketFormat, PacketInput, RenderOptions};
use mailtriage::ticket::Ticket;
use std::path::{Path, PathBuf};

pub const FORMATS: [PacketFormat; 4] = [
    PacketFormat::Text,
    PacketFormat::Markdown,
    PacketFormat::Json,
    PacketFormat::Eml,
];
/// 2024-06-04T08:00:00Z: packets under test carry a fixed date.
pub const DATE: i64 = 1_717_488_000;

pub fn kb() -> KnowledgeBase {
    KnowledgeBase::embedded().unwrap_or_else(|e| panic!("{e}"))
}

/// A ticket's evidence and verdict, read and judged as `escalate` and
/// `classify` do (emails decoded, a bounce judged per recipient).
pub fn judge(kb: &KnowledgeBase, text: &str, answers: &Answers) -> (Evidence, engine::Verdict) {
    let evidence = Evidence::from_bytes(text.as_bytes());
    let verdict = engine::evaluate_ticket(kb, &evidence, answers);
    (evidence, verdict)
}

/// Runs the real binary from the repository root.
pub fn mailtriage(args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_mailtriage"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(args)
        .output()
        .expect("the binary runs")
}

pub fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

/// The answers `transcripts/expected.tsv` gives a transcript.
pub fn expected_answers(file: &str) -> Answers {
    let tsv = std::fs::read_to_string(repo("transcripts/expected.tsv"))
        .expect("transcripts/expected.tsv");
    let mut answers = Answers::new();
    let Some(row) = tsv.lines().find(|l| l.split('\t').next() == Some(file)) else {
        return answers;
    };
    for pair in row
        .split('\t')
        .nth(3)
        .unwrap_or("")
        .split(';')
        .filter(|p| !p.is_empty())
    {
        let (fact, value) = pair.split_once('=').expect("fact=value");
        answers.insert(
            fact.to_string(),
            Answer::parse(value).expect("yes/no/unknown"),
        );
    }
    answers
}

/// The transcripts `transcripts/expected.tsv` labels, in its order.
pub fn labelled_files() -> Vec<String> {
    std::fs::read_to_string(repo("transcripts/expected.tsv"))
        .expect("transcripts/expected.tsv")
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .filter_map(|l| l.split('\t').next().map(str::to_string))
        .filter(|f| f.ends_with(".txt"))
        .collect()
}

pub fn options(original: &str, show_usernames: bool) -> RenderOptions {
    RenderOptions {
        original: Some(original.to_string()),
        show_usernames,
        date: Some(DATE),
        from: None,
        to_address: None,
    }
}

/// Renders one packet.
pub fn packet(
    kb: &KnowledgeBase,
    id: &str,
    text: &str,
    answers: &Answers,
    target: Option<&str>,
    format: PacketFormat,
    show: bool,
) -> String {
    let (evidence, verdict) = judge(kb, text, answers);
    let input = PacketInput {
        kb,
        ticket: id,
        evidence: &evidence,
        verdict: &verdict,
        answers,
        target,
    };
    render(&input, text, format, show)
}

/// Renders one packet from an input already evaluated.
pub fn render(input: &PacketInput, text: &str, format: PacketFormat, show: bool) -> String {
    report::render_with(input, format, &options(text, show))
        .unwrap_or_else(|e| panic!("{} {format:?} {:?}: {e}", input.ticket, input.target))
}

/// An e-mail's decoded text: headers, every text body and every attachment,
/// so a secret hidden by a transfer encoding is still found.
pub fn decoded_eml(raw: &str) -> String {
    let message = MessageParser::default()
        .parse(raw.as_bytes())
        .expect("the e-mail parses");
    let mut out = String::new();
    out.push_str(message.subject().unwrap_or(""));
    out.push('\n');
    for i in 0.. {
        match message.body_text(i) {
            Some(text) => out.push_str(&text),
            None => break,
        }
    }
    for attachment in message.attachments() {
        out.push_str(attachment.attachment_name().unwrap_or(""));
        out.push_str(&String::from_utf8_lossy(attachment.contents()));
    }
    out
}

/// Every output the product writes for a ticket: classify JSON, and each
/// packet format (e-mails also decoded), with usernames hidden and shown,
/// for `targets` (None = the diagnosis's own target).
pub fn all_outputs(
    kb: &KnowledgeBase,
    id: &str,
    text: &str,
    answers: &Answers,
    targets: &[Option<&str>],
) -> Vec<(String, String)> {
    let ticket = Ticket {
        id: id.to_string(),
        text: text.as_bytes().to_vec(),
        answers: answers.clone(),
        notes: vec![],
    };
    let result = classify::classify(kb, &ticket, &Answers::new());
    let mut shown = result.clone();
    classify::show_usernames(&mut shown, text.as_bytes());
    let mut out = vec![
        (
            "classify json".to_string(),
            serde_json::to_string(&result).expect("json"),
        ),
        (
            "classify json, usernames shown".to_string(),
            serde_json::to_string(&shown).expect("json"),
        ),
    ];
    let (evidence, verdict) = judge(kb, text, answers);
    for target in targets {
        let input = PacketInput {
            kb,
            ticket: id,
            evidence: &evidence,
            verdict: &verdict,
            answers,
            target: *target,
        };
        for format in FORMATS {
            for show in [false, true] {
                let label = format!("{format:?} to {target:?} usernames shown: {show}");
                let rendered = render(&input, text, format, show);
                if format == PacketFormat::Eml {
                    out.push((format!("{label} (decoded)"), decoded_eml(&rendered)));
                }
                out.push((label, rendered));
            }
        }
    }
    out
}

/// Fails naming the output and the secret when any secret appears.
pub fn assert_no_secret(id: &str, outputs: &[(String, String)], secrets: &[String]) {
    for (label, text) in outputs {
        for secret in secrets.iter().filter(|s| s.len() >= 4) {
            assert!(
                !text.contains(secret.as_str()),
                "{id}: secret {secret:?} appears in {label}:\n{text}"
            );
        }
    }
}

// --- broken rule sets ---------------------------------------------------
use mailtriage::kb::{dir_sources, SourceFile};

pub fn data_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data")
}

/// Every case folder under tests/data/broken-rules/, sorted by name.
pub fn broken_cases() -> Vec<PathBuf> {
    let mut cases: Vec<PathBuf> = std::fs::read_dir(data_dir().join("broken-rules"))
        .expect("tests/data/broken-rules exists")
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    cases.sort();
    cases
}

/// The minimal rules with `case` laid over them: a file of the same path
/// replaces the minimal one, a new path is added, and the paths listed in
/// the case's `REMOVE` file are dropped.
pub fn overlay_sources(case: &Path) -> Vec<SourceFile> {
    let mut files = dir_sources(&data_dir().join("minimal-rules")).unwrap();
    let remove = std::fs::read_to_string(case.join("REMOVE")).unwrap_or_default();
    files.retain(|f| !remove.lines().any(|r| r.trim() == f.path));
    for patch in dir_sources(case).unwrap() {
        files.retain(|f| f.path != patch.path);
        files.push(patch);
    }
    files.sort_by(|a, b| a.path.cmp(&b.path));
    files
}

/// Writes the overlaid rule set of `case` into a fresh temporary folder.
pub fn materialise(case: &Path) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for file in overlay_sources(case) {
        let path = dir.path().join(&file.path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, file.text).unwrap();
    }
    dir
}
