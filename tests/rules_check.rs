//! `mailtriage rules check` and `rules graph` through the real binary: lint
//! findings on a small knowledge base with deliberate problems
//! (tests/data/lint-mini), exit codes with and without --strict, and the
//! shipped knowledge base.

mod common;

use common::mailtriage;
use std::path::Path;
use std::process::Output;

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

const MINI: &str = "tests/data/lint-mini";
const MINI_CORPUS: &str = "tests/data/lint-mini-corpus";

#[test]
fn broken_examples_are_errors_with_positions() {
    let out = mailtriage(&["rules", "check", MINI, "--corpus", MINI_CORPUS]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(2), "{text}");
    assert!(
        text.contains("signatures/mini.ron:16:14: error: signature \"relay\" does not match its example \"550 5.7.1 Unable to relay for b@example.org\""),
        "{text}"
    );
    assert!(
        text.contains(
            "signatures/mini.ron:19:14: error: signature \"relay\" matches its counter-example"
        ),
        "{text}"
    );
    assert!(text.contains("2 errors"), "{text}");
}

#[test]
fn shadowed_cases_idle_questions_and_coverage_are_warnings() {
    let text = stdout(&mailtriage(&[
        "rules",
        "check",
        MINI,
        "--corpus",
        MINI_CORPUS,
    ]));
    let expected = [
        "tree/start.ron:7:65: warning: in switch \"start\", the case `greeted and relay_reply` -> \"relay-denied\" can never be the first to hold\n  note: tree/start.ron:6:37: the earlier case `greeted` -> \"check\" holds whenever it does",
        "tree/start.ron:8:39: warning: in switch \"start\", the case `never_set` -> \"relay-denied\" can never hold",
        "tree/start.ron:13:13: warning: asking \"receive_works\" in node \"check\" never changes the outcome: every answer ends at \"delivered\"",
        "facts.ron:5:10: warning: fact \"never_set\" is set by no signature and settled by no question, so it is always no",
        "diagnoses/mini.ron:2:10: warning: diagnosis \"relay-denied\" is only reached through cases that can never hold",
        "diagnoses/mini.ron:2:10: warning: diagnosis \"relay-denied\" is reached by no labelled transcript",
    ];
    for line in expected {
        assert!(text.contains(line), "missing:\n{line}\nin:\n{text}");
    }
    // the corpus reaches "delivered", so it is not reported
    assert!(
        !text.contains("diagnosis \"delivered\" is reached by no"),
        "{text}"
    );
}

/// A copy of the mini knowledge base without its broken examples: only warnings remain.
fn warnings_only_copy() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    copy_tree(&common::repo(MINI), dir.path());
    let sigs = dir.path().join("signatures/mini.ron");
    let text = std::fs::read_to_string(&sigs).unwrap();
    let fixed = text
        .replace(
            "            \"550 5.7.1 Unable to relay for b@example.org\",\n",
            "",
        )
        .replace(
            "            \"554 5.7.1 Relay access denied (not really a near miss)\",\n",
            "            \"550 5.1.1 <b@example.org>: User unknown\",\n",
        );
    assert_ne!(text, fixed, "the fixture changed; update this test");
    std::fs::write(sigs, fixed).unwrap();
    dir
}

fn copy_tree(from: &Path, to: &Path) {
    for entry in std::fs::read_dir(from).unwrap() {
        let path = entry.unwrap().path();
        let target = to.join(path.file_name().unwrap());
        if path.is_dir() {
            std::fs::create_dir_all(&target).unwrap();
            copy_tree(&path, &target);
        } else {
            std::fs::copy(&path, &target).unwrap();
        }
    }
}

#[test]
fn warnings_exit_0_and_1_with_strict() {
    let dir = warnings_only_copy();
    let path = dir.path().to_str().unwrap();
    let out = mailtriage(&["rules", "check", path, "--corpus", MINI_CORPUS]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    assert!(
        stdout(&out).contains("ok: 2 signatures"),
        "{}",
        stdout(&out)
    );
    assert!(
        stdout(&out).contains("0 errors, 7 warnings"),
        "{}",
        stdout(&out)
    );
    let strict = mailtriage(&["rules", "check", path, "--corpus", MINI_CORPUS, "--strict"]);
    assert_eq!(strict.status.code(), Some(1));
}

#[test]
fn the_shipped_rules_have_no_lint_errors() {
    let out = mailtriage(&["rules", "check"]);
    let text = stdout(&out);
    let errors: Vec<&str> = text.lines().filter(|l| l.contains(": error: ")).collect();
    assert!(errors.is_empty(), "{}", errors.join("\n"));
    assert_eq!(out.status.code(), Some(0), "{text}");
}

#[test]
fn graph_draws_the_shipped_tree() {
    let dot = mailtriage(&["rules", "graph"]);
    assert_eq!(dot.status.code(), Some(0));
    let dot = stdout(&dot);
    assert!(dot.starts_with("digraph mailtriage {"), "{dot}");
    assert!(
        dot.contains(
            "\"auth-failed\" -> \"auth-smtp-disabled\" [label=\"smtp_auth_disabled_reply\"];"
        ),
        "{dot}"
    );
    assert!(
        dot.contains(
            "\"auth-receive-check\" -> \"auth-receive-works\" [label=\"receive_works = yes\"];"
        ),
        "{dot}"
    );
    assert!(
        dot.contains("\"auth-receive-works\" -> \"auth-backend-fault\" [label=\"otherwise\"];"),
        "{dot}"
    );
    let mermaid = stdout(&mailtriage(&["rules", "graph", "--format", "mermaid"]));
    assert!(mermaid.starts_with("flowchart LR\n"), "{mermaid}");
    assert!(
        mermaid.contains("n_auth_receive_check -->|\"receive_works = yes\"| n_auth_receive_works"),
        "{mermaid}"
    );
}

#[test]
fn graph_of_a_folder_draws_that_folder() {
    let out = stdout(&mailtriage(&["rules", "graph", MINI]));
    assert!(
        out.contains("\"start\" -> \"check\" [label=\"greeted\"];"),
        "{out}"
    );
    assert!(
        out.contains("\"check\" [label=\"check\\nask: receive_works\", shape=diamond"),
        "{out}"
    );
}

#[test]
fn a_shadowed_case_in_a_large_switch_is_found() {
    // the start node reads too many facts to enumerate together, so its
    // cases are compared pairwise; a case inserted after a wider one must
    // still be reported
    let dir = tempfile::tempdir().unwrap();
    copy_tree(&common::repo("rules"), dir.path());
    let start = dir.path().join("tree/start.ron");
    let text = std::fs::read_to_string(&start).unwrap();
    let anchor = "(when: Fact(\"message_accepted\"), then: \"accepted\"),";
    assert!(
        text.contains(anchor),
        "the fixture changed; update this test"
    );
    let shadowed = format!("{anchor}\n            (when: All([Fact(\"message_accepted\"), Fact(\"session_established\")]), then: \"delivered\"),");
    std::fs::write(&start, text.replacen(anchor, &shadowed, 1)).unwrap();
    let out = stdout(&mailtriage(&[
        "rules",
        "check",
        dir.path().to_str().unwrap(),
        "--no-corpus",
    ]));
    assert!(
        out.contains("warning: in switch \"start\", the case `message_accepted and session_established` -> \"delivered\" can never be the first to hold"),
        "{out}"
    );
    assert!(
        out.contains("the earlier case `message_accepted` -> \"accepted\" holds whenever it does"),
        "{out}"
    );
}
