//! Broken knowledge bases: every case under tests/data/broken-rules/ breaks
//! the minimal rule set in one way, and the exact messages are snapshots
//! (tests/snapshots/kb_errors__<case>.snap). Review changes with
//! `cargo insta review`, or rerun with `INSTA_UPDATE=always` and read the diff.

mod common;

use common::{broken_cases, data_dir, overlay_sources};
use mailtriage::kb::{KbError, KnowledgeBase, Problem};

fn problems_of(case: &std::path::Path) -> Vec<Problem> {
    match KnowledgeBase::from_sources(&overlay_sources(case)) {
        Ok(_) => panic!(
            "{}: the broken rule set loaded without error",
            case.display()
        ),
        Err(KbError::Invalid(problems)) => problems,
        Err(other) => panic!("{}: {other}", case.display()),
    }
}

#[test]
fn the_minimal_rule_set_is_valid() {
    if let Err(e) = KnowledgeBase::from_dir(&data_dir().join("minimal-rules")) {
        panic!("{e}");
    }
}

#[test]
fn every_broken_rule_set_matches_its_snapshot() {
    let cases = broken_cases();
    assert!(cases.len() >= 20, "only {} broken rule sets", cases.len());
    for case in cases {
        let name = case.file_name().unwrap().to_string_lossy().to_string();
        let rendered = KbError::Invalid(problems_of(&case)).to_string();
        insta::assert_snapshot!(name, rendered);
    }
}

#[test]
fn every_problem_has_a_position_and_a_hint() {
    for case in broken_cases() {
        for p in problems_of(&case) {
            assert!(
                p.at.line >= 1 && p.at.col >= 1,
                "{}: no position in {p}",
                case.display()
            );
            assert!(!p.at.file.is_empty(), "{}: no file in {p}", case.display());
            assert!(p.hint.is_some(), "{}: no hint in\n{p}", case.display());
            assert!(
                !p.message.contains('\n'),
                "{}: the explanation spans lines:\n{p}",
                case.display()
            );
        }
    }
}
