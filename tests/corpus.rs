//! Classifies every labelled transcript in transcripts/expected.tsv and
//! checks cause and owner of every row.

use mailtriage::classify::classify;
use mailtriage::kb::{Answer, KnowledgeBase};
use mailtriage::ticket::read_transcript;
use std::collections::BTreeMap;
use std::path::Path;

fn parse_answers(field: &str) -> BTreeMap<String, Answer> {
    field
        .split(';')
        .filter(|s| !s.trim().is_empty())
        .map(|pair| {
            let (fact, value) = pair.split_once('=').expect("answers are FACT=VALUE");
            (fact.trim().to_string(), Answer::parse(value).expect("answer value"))
        })
        .collect()
}

#[test]
fn every_labelled_transcript_gets_its_cause_and_owner() {
    let kb = KnowledgeBase::embedded().unwrap();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("transcripts");
    let table = std::fs::read_to_string(dir.join("expected.tsv")).unwrap();
    let mut failures = Vec::new();
    let mut rows = 0;
    for line in table.lines().skip(1).filter(|l| !l.trim().is_empty()) {
        let cols: Vec<&str> = line.split('\t').collect();
        let (file, cause, owner) = (cols[0], cols[1], cols[2]);
        let answers = parse_answers(cols.get(3).copied().unwrap_or(""));
        let text = std::fs::File::open(dir.join(file)).unwrap();
        let mut ticket = read_transcript(file.to_string(), text).unwrap();
        ticket.answers = answers;
        let result = classify(&kb, &ticket, &BTreeMap::new());
        rows += 1;
        if result.cause != cause || result.owner != owner {
            failures.push(format!("{file}: expected {cause}/{owner}, got {}/{}", result.cause, result.owner));
        }
    }
    assert!(rows >= 20, "expected.tsv has only {rows} rows");
    assert!(failures.is_empty(), "{} of {rows} rows wrong:\n{}", failures.len(), failures.join("\n"));
}
