//! Transcript input that is not a tidy paste: line ends of every kind,
//! terminal escapes, invalid UTF-8, empty and binary files, one huge line,
//! input past the size limit. Each labelled transcript is rewritten and
//! must classify exactly as the original.

mod common;

use mailtriage::classify::{classify, TicketResult};
use mailtriage::kb::{Answer, KnowledgeBase};
use mailtriage::ticket::{read_transcript, Ticket, MAX_TICKET_BYTES};
use std::collections::BTreeMap;
use std::path::Path;

fn labelled() -> Vec<(String, Vec<u8>, BTreeMap<String, Answer>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("transcripts");
    let table = std::fs::read_to_string(dir.join("expected.tsv")).unwrap();
    table
        .lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .map(|line| {
            let cols: Vec<&str> = line.split('\t').collect();
            let answers = cols
                .get(3)
                .unwrap_or(&"")
                .split(';')
                .filter_map(|pair| pair.split_once('='))
                .map(|(f, v)| (f.trim().to_string(), Answer::parse(v).unwrap()))
                .collect();
            (
                cols[0].to_string(),
                std::fs::read(dir.join(cols[0])).unwrap(),
                answers,
            )
        })
        .collect()
}

fn run(
    kb: &KnowledgeBase,
    id: &str,
    text: Vec<u8>,
    answers: &BTreeMap<String, Answer>,
) -> TicketResult {
    let ticket = Ticket {
        id: id.to_string(),
        text,
        answers: answers.clone(),
        notes: vec![],
    };
    classify(kb, &ticket, &BTreeMap::new())
}

/// What must not change: the verdict and the lines the evidence points at.
/// A pasted email's evidence lines are those of its decoded text, which the
/// decoder lays out from the message's own structure; there the facts and
/// the verdict must not change, the line numbers may.
fn verdict_of(r: &TicketResult, email: bool) -> String {
    if email {
        let facts: Vec<String> = r
            .evidence
            .iter()
            .map(|f| format!("{}={}", f.fact, f.value.as_str()))
            .collect();
        return format!(
            "{} {} {} {}",
            r.cause,
            r.owner,
            r.diagnosis,
            facts.join(" ")
        );
    }
    verdict(r)
}

fn verdict(r: &TicketResult) -> String {
    let lines: Vec<String> = r
        .evidence
        .iter()
        .map(|f| {
            let at: Vec<String> = f
                .refs
                .iter()
                .map(|r| format!("{}-{}", r.line, r.end_line))
                .collect();
            format!("{}={}@{}", f.fact, f.value.as_str(), at.join(","))
        })
        .collect();
    format!(
        "{} {} {} {}",
        r.cause,
        r.owner,
        r.diagnosis,
        lines.join(" ")
    )
}

fn rewritten_the_same(name: &str, rewrite: impl Fn(&[u8]) -> Vec<u8>) {
    let kb = KnowledgeBase::embedded().unwrap();
    let mut differ: Vec<String> = Vec::new();
    let all = labelled();
    assert!(all.len() >= 20);
    for (file, bytes, answers) in &all {
        let plain = run(&kb, file, bytes.clone(), answers);
        let changed = run(&kb, file, rewrite(bytes), answers);
        let email = !mailtriage::evidence::Evidence::from_bytes(bytes)
            .sections
            .is_empty();
        if verdict_of(&plain, email) != verdict_of(&changed, email) {
            differ.push(format!(
                "{file}:\n  plain: {}\n  {name}: {}",
                verdict_of(&plain, email),
                verdict_of(&changed, email)
            ));
        }
    }
    assert!(
        differ.is_empty(),
        "{} of {} transcripts classify differently with {name}:\n{}",
        differ.len(),
        all.len(),
        differ.join("\n")
    );
}

/// Normalises to LF first, then applies `end` to every line end. A bare CR
/// is not put before an empty line: CR then LF is one CRLF line end.
fn with_line_ends(bytes: &[u8], end: impl Fn(usize) -> &'static [u8]) -> Vec<u8> {
    let text = String::from_utf8_lossy(bytes).replace("\r\n", "\n");
    let mut out = Vec::new();
    for (i, line) in text.split('\n').enumerate() {
        if i > 0 {
            let end = end(i);
            out.extend_from_slice(if end == b"\r" && line.is_empty() {
                b"\r\n"
            } else {
                end
            });
        }
        out.extend_from_slice(line.as_bytes());
    }
    out
}

#[test]
fn crlf_line_ends_change_nothing() {
    rewritten_the_same("CRLF", |b| with_line_ends(b, |_| b"\r\n"));
}

#[test]
fn cr_only_line_ends_change_nothing() {
    rewritten_the_same("CR only", |b| with_line_ends(b, |_| b"\r"));
}

#[test]
fn mixed_line_ends_change_nothing() {
    rewritten_the_same("mixed line ends", |b| {
        with_line_ends(b, |i| [&b"\n"[..], b"\r\n", b"\r"][i % 3])
    });
}

#[test]
fn terminal_colours_change_nothing() {
    rewritten_the_same("ANSI colours", |b| {
        let text = String::from_utf8_lossy(b);
        text.lines()
            .map(|l| format!("\x1b[1;32m{l}\x1b[0m\x1b]0;title\x07\n"))
            .collect::<String>()
            .into_bytes()
    });
}

#[test]
fn trailing_blanks_change_nothing() {
    rewritten_the_same("trailing blanks", |b| {
        let text = String::from_utf8_lossy(b);
        text.lines()
            .map(|l| format!("{l} \t\r\n"))
            .collect::<String>()
            .into_bytes()
    });
}

#[test]
fn invalid_utf8_is_decoded_lossily_and_noted() {
    let kb = KnowledgeBase::embedded().unwrap();
    let latin1 = b"\n\xff\xfe customer's note in Latin-1: \xe9t\xe9\n";
    rewritten_the_same("invalid UTF-8", |b| [b, &latin1[..]].concat());
    let (file, bytes, answers) = &labelled()[0];
    let r = run(&kb, file, [bytes.as_slice(), &latin1[..]].concat(), answers);
    assert!(
        r.notes.iter().any(|n| n.contains("UTF-8")),
        "no note about decoding: {:?}",
        r.notes
    );
}

fn data(name: &str) -> Vec<u8> {
    std::fs::read(common::data_dir().join("inputs").join(name)).unwrap()
}

#[test]
fn empty_input_is_unknown_and_says_so() {
    let kb = KnowledgeBase::embedded().unwrap();
    for name in ["empty.txt", "whitespace-only.txt"] {
        let r = run(&kb, name, data(name), &BTreeMap::new());
        assert_eq!(r.cause, "unknown", "{name}");
        assert!(
            r.notes.iter().any(|n| n.contains("empty")),
            "{name}: {:?}",
            r.notes
        );
    }
}

#[test]
fn binary_input_is_unknown_and_says_so() {
    let kb = KnowledgeBase::embedded().unwrap();
    let r = run(&kb, "binary.bin", data("binary.bin"), &BTreeMap::new());
    assert_eq!(r.cause, "unknown");
    assert!(
        r.notes.iter().any(|n| n.contains("binary")),
        "{:?}",
        r.notes
    );
}

/// A paste without a single line end (a log pasted with its newlines lost)
/// must classify, and what it shows must still be found.
fn single_line_classifies(megabytes: usize) {
    let kb = KnowledgeBase::embedded().unwrap();
    let unit = "AUTH LOGIN 334 VXNlcm5hbWU6 535 5.7.8 Error: authentication failed \t\x1b[0m ";
    let mut text = String::with_capacity(megabytes << 20);
    while text.len() < megabytes << 20 {
        text.push_str(unit);
    }
    let started = std::time::Instant::now();
    let r = run(&kb, "huge", text.into_bytes(), &BTreeMap::new());
    eprintln!(
        "{megabytes} MB single line: {:?}, cause {}",
        started.elapsed(),
        r.cause
    );
    assert!(r.error.is_none());
    assert!(
        r.evidence.iter().any(|f| f.fact == "auth_failed"),
        "the refusal in the line was not found: {:?}",
        r.evidence
    );
}

#[test]
fn a_5_mb_single_line_classifies() {
    single_line_classifies(5);
}

/// 3.3 s in a release build; minutes in a debug one.
#[test]
#[cfg_attr(debug_assertions, ignore = "run with cargo test --release")]
fn a_50_mb_single_line_classifies() {
    single_line_classifies(50);
}

/// Input past the limit is cut at the limit with a note, never read whole:
/// the reader here would yield a gigabyte.
#[test]
fn input_past_the_limit_is_cut_with_a_note() {
    let gigabyte = std::io::repeat(b'a').take(1 << 30);
    let t = read_transcript("big".into(), gigabyte).unwrap();
    // one endless line: it is also cut at the per-line limit
    assert!(t.text.len() as u64 <= MAX_TICKET_BYTES, "{}", t.text.len());
    assert!(t.notes.iter().any(|n| n.contains("MiB")), "{:?}", t.notes);
}

use std::io::Read;
