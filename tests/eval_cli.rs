//! `mailtriage eval` through the real binary: the shipped corpus meets the
//! floor CI uses, a copy with wrong labels misses it (exit 1), and the JSON
//! report carries the figures.

mod common;

use common::mailtriage;
use std::path::Path;

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn the_shipped_corpus_meets_the_ci_floor() {
    let out = mailtriage(&["eval", "transcripts/", "--min-accuracy", "0.95"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "stdout:\n{}\nstderr:\n{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    assert!(text(&out.stdout).contains("cause accuracy"));
}

#[test]
fn a_copy_that_scores_lower_exits_1() {
    let dir = Path::new("tests/data/eval-low");
    let out = mailtriage(&["eval", dir.to_str().unwrap(), "--min-accuracy", "0.95"]);
    assert_eq!(out.status.code(), Some(1), "stdout:\n{}", text(&out.stdout));
    assert!(
        text(&out.stderr).contains("below the floor"),
        "{}",
        text(&out.stderr)
    );
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("cause accuracy    33.3%  (1/3)"),
        "{stdout}"
    );
    assert!(
        stdout.contains("relay-denied-01-postfix-554-relay-access-denied.txt"),
        "the confusion names its file:\n{stdout}"
    );
    // the same copy passes a floor it meets
    assert_eq!(
        mailtriage(&["eval", dir.to_str().unwrap(), "--min-accuracy", "0.3"])
            .status
            .code(),
        Some(0)
    );
}

#[test]
fn json_report_carries_figures_and_question_counts() {
    let out = mailtriage(&["eval", "tests/data/eval-low", "--format", "json"]);
    assert_eq!(out.status.code(), Some(0));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(report["rows"], 3);
    assert_eq!(report["cause_correct"], 1);
    assert_eq!(report["owner_correct"], 2);
    let rows = report["results"].as_array().unwrap();
    let backend = rows
        .iter()
        .find(|r| {
            r["file"]
                .as_str()
                .unwrap()
                .starts_with("auth-backend-fault-02")
        })
        .unwrap();
    // the failing session alone leaves one question: does receiving work?
    assert_eq!(backend["questions"], 1);
    assert_eq!(backend["cause"], "auth-backend-fault");
    let port25 = rows
        .iter()
        .find(|r| r["file"].as_str().unwrap().starts_with("port25"))
        .unwrap();
    assert_eq!(
        port25["questions"], 0,
        "the telnet comparison settles port 25 without asking"
    );
}

#[test]
fn a_missing_table_is_a_usage_error() {
    let out = mailtriage(&["eval", "tests/data/no-such-folder"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("expected.tsv"),
        "{}",
        text(&out.stderr)
    );
}

/// `eval --sisimai` on a two-email corpus in Sisimai's layout: the text
/// report and the JSON one carry the same figures, and the miss is listed.
#[test]
fn the_sisimai_measurement_prints_as_text_and_as_json() {
    let dir = "tests/data/sisimai-mini";
    let plain = mailtriage(&["eval", "--sisimai", dir]);
    assert_eq!(plain.status.code(), Some(0), "{}", text(&plain.stderr));
    let json = mailtriage(&["eval", "--sisimai", dir, "--format", "json"]);
    assert_eq!(json.status.code(), Some(0), "{}", text(&json.stderr));
    let report: serde_json::Value = serde_json::from_slice(&json.stdout).expect("JSON");
    let records = &report["records"];
    let (agreed, total) = (
        records["agreed"].as_u64().unwrap(),
        records["total"].as_u64().unwrap(),
    );
    assert_eq!(total, 3, "{report}");
    assert!(
        text(&plain.stdout).contains(&format!("per record: {agreed}/{total} ")),
        "{}",
        text(&plain.stdout)
    );
    let listed: Vec<&str> = report["disagreeing"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["path"].as_str().unwrap())
        .collect();
    // the DMA bounce is a DMARC refusal in words, labelled here as a filter's
    assert_eq!(listed, ["emails/dma-blank-lines.eml"], "{report}");
    assert_eq!(report["reasons"]["filtered"]["instead"]["authfailure"], 1);
    // a floor above what it reaches exits 1
    let high = mailtriage(&["eval", "--sisimai", dir, "--floor", "99"]);
    assert_eq!(high.status.code(), Some(1));
}
