//! Classifies every labelled transcript in transcripts/expected.tsv and
//! checks cause and owner of every row, listing every mismatch.

use mailtriage::eval::evaluate;
use mailtriage::kb::KnowledgeBase;
use std::path::Path;

#[test]
fn every_labelled_transcript_gets_its_cause_and_owner() {
    let kb = KnowledgeBase::embedded().unwrap();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("transcripts");
    let report = evaluate(&kb, &dir).unwrap();
    let failures: Vec<String> = report
        .results
        .iter()
        .filter(|r| !r.cause_ok() || !r.owner_ok() || r.error.is_some())
        .map(|r| match &r.error {
            Some(e) => format!("{}: {e}", r.file),
            None => format!(
                "{}: expected {}/{}, got {}/{}",
                r.file, r.expected_cause, r.expected_owner, r.cause, r.owner
            ),
        })
        .collect();
    assert!(
        report.rows >= 80,
        "expected.tsv has only {} rows",
        report.rows
    );
    assert!(
        failures.is_empty(),
        "{} of {} rows wrong:\n{}",
        failures.len(),
        report.rows,
        failures.join("\n")
    );
}

#[test]
fn every_transcript_is_labelled_and_every_cause_has_two() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("transcripts");
    let rows = mailtriage::eval::read_expected(&dir).unwrap();
    let labelled: std::collections::BTreeSet<&str> = rows.iter().map(|r| r.file.as_str()).collect();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        if name.ends_with(".txt") {
            assert!(
                labelled.contains(name.as_str()),
                "{name} has no row in expected.tsv"
            );
        }
    }
    let kb = KnowledgeBase::embedded().unwrap();
    for cause in &kb.taxonomy.causes {
        let n = rows.iter().filter(|r| r.cause == cause.id).count();
        assert!(
            n >= 2,
            "cause {} has {n} labelled transcripts; the corpus needs two or more",
            cause.id
        );
        assert!(
            rows.iter()
                .filter(|r| r.cause == cause.id)
                .all(|r| r.owner == cause.owner || cause.id == "unknown"),
            "{}: a row's owner differs from the cause's",
            cause.id
        );
    }
}
