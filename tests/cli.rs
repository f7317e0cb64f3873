//! The real binary, run the way a user would misuse it: unknown answers,
//! missing and unreadable paths, unwritable output, broken rule folders.

mod common;

use common::{mailtriage, repo};
use std::path::Path;
use std::process::Output;

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

const TRANSCRIPT: &str = "transcripts/auth-bad-credentials-01-failing-session-only.txt";

#[test]
fn an_unknown_answer_fact_lists_the_valid_ones() {
    let o = mailtriage(&["classify", "--answer", "recieve_works=yes", TRANSCRIPT]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(err.contains("unknown fact \"recieve_works\""), "{err}");
    assert!(err.contains("did you mean \"receive_works\"?"), "{err}");
    assert!(
        err.contains("receive_works") && err.contains("other_network_works"),
        "the valid facts are not listed: {err}"
    );
    assert!(
        o.stdout.is_empty(),
        "results were printed despite the usage error"
    );
}

#[test]
fn an_unknown_answer_value_lists_the_valid_ones() {
    let o = mailtriage(&["classify", "--answer", "receive_works=maybe", TRANSCRIPT]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("yes, no or unknown"), "{}", stderr(&o));
    let o = mailtriage(&["classify", "--answer", "receive_works", TRANSCRIPT]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("FACT=VALUE"), "{}", stderr(&o));
}

#[test]
fn missing_and_unreadable_paths_are_reported_each_and_the_rest_processed() {
    let o = mailtriage(&[
        "classify",
        "--format",
        "jsonl",
        "no-such-file.txt",
        TRANSCRIPT,
        "README.md/not-a-folder.txt",
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let records: Vec<serde_json::Value> = stdout(&o)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(records.len(), 3, "{}", stdout(&o));
    assert_eq!(records[0]["ticket"], "no-such-file.txt");
    assert_eq!(records[0]["error"], "no such file or folder");
    assert_eq!(records[1]["cause"], "auth-bad-credentials");
    assert!(records[1].get("error").is_none());
    assert_eq!(records[2]["ticket"], "README.md/not-a-folder.txt");
    assert!(records[2]["error"].is_string(), "{}", records[2]);
}

#[test]
fn output_goes_to_the_file_whole_and_nothing_else_is_left() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("results.jsonl");
    std::fs::write(&out, "old results\n").unwrap();
    let o = mailtriage(&["classify", "--output", out.to_str().unwrap(), TRANSCRIPT]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(o.stdout.is_empty());
    let written = std::fs::read_to_string(&out).unwrap();
    let record: serde_json::Value = serde_json::from_str(written.lines().next().unwrap()).unwrap();
    assert_eq!(record["cause"], "auth-bad-credentials");
    assert_eq!(entries(dir.path()), vec!["results.jsonl"]);
}

#[test]
fn an_unwritable_output_fails_before_any_work_and_leaves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("no-such-folder/results.jsonl");
    let o = mailtriage(&[
        "classify",
        "--output",
        missing.to_str().unwrap(),
        TRANSCRIPT,
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("cannot write") && stderr(&o).contains("no-such-folder"),
        "{}",
        stderr(&o)
    );
    assert!(entries(dir.path()).is_empty());

    // a folder where the file should go: refused, and the folder untouched
    let folder = dir.path().join("results.jsonl");
    std::fs::create_dir(&folder).unwrap();
    std::fs::write(folder.join("keep"), "x").unwrap();
    let o = mailtriage(&["classify", "--output", folder.to_str().unwrap(), TRANSCRIPT]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("is a folder"), "{}", stderr(&o));
    assert_eq!(entries(dir.path()), vec!["results.jsonl"]);
    assert_eq!(entries(&folder), vec!["keep"]);
}

#[test]
fn a_run_that_fails_leaves_the_old_output_file() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("results.jsonl");
    std::fs::write(&out, "old results\n").unwrap();
    let o = mailtriage(&[
        "--rules",
        "no-such-rules",
        "classify",
        "--output",
        out.to_str().unwrap(),
        TRANSCRIPT,
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "old results\n");
    assert_eq!(entries(dir.path()), vec!["results.jsonl"]);
}

#[test]
fn a_missing_rules_folder_is_a_clear_error() {
    let o = mailtriage(&["rules", "check", "no-such-rules"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("no-such-rules"), "{}", stderr(&o));
}

#[test]
fn a_broken_rules_folder_reports_every_problem_and_exits_2() {
    let case = common::data_dir().join("broken-rules/many-problems");
    let rules = common::materialise(&case);
    let o = mailtriage(&["rules", "check", rules.path().to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert!(err.contains("5 problems in the knowledge base"), "{err}");
    assert!(err.contains("signatures/main.ron:11:20: error:"), "{err}");
    let o = mailtriage(&[
        "--rules",
        rules.path().to_str().unwrap(),
        "classify",
        TRANSCRIPT,
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(o.stdout.is_empty());
}

#[test]
fn help_documents_exit_codes_and_limits() {
    let o = mailtriage(&["--help"]);
    let help = stdout(&o);
    assert!(
        help.contains("Exit codes:") && help.contains("2  usage error"),
        "{help}"
    );
    let o = mailtriage(&["classify", "--help"]);
    let help = stdout(&o);
    assert!(
        help.contains(&format!(
            "{} MiB",
            mailtriage::ticket::MAX_TICKET_BYTES >> 20
        )),
        "the input limit is not documented: {help}"
    );
    assert!(help.contains("--output"), "{help}");
}

/// A 1 GiB file (sparse, so it costs no disk) is read up to the limit, not
/// whole, and the result says where it was cut.
#[test]
fn a_gigabyte_file_is_cut_at_the_limit_with_a_note() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("huge.log");
    std::fs::File::create(&path)
        .unwrap()
        .set_len(1 << 30)
        .unwrap();
    let o = mailtriage(&["classify", "--format", "jsonl", path.to_str().unwrap()]);
    assert!(matches!(o.status.code(), Some(0 | 1)), "{}", stderr(&o));
    let out = stdout(&o);
    assert_eq!(out.lines().count(), 1, "{out}");
    let limit = format!("{} MiB", mailtriage::ticket::MAX_TICKET_BYTES >> 20);
    assert!(out.contains(&limit), "the limit is not named: {out}");
}

fn entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn evidence_shows_each_item_with_its_line_and_never_a_password() {
    let o = mailtriage(&[
        "evidence",
        "transcripts/auth-backend-fault-01-broadband-vs-dialup.txt",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = stdout(&o);
    let reply = out
        .lines()
        .find(|l| l.contains("reply 535"))
        .unwrap_or_else(|| panic!("no 535 reply item in:\n{out}"));
    assert!(reply.starts_with('L'), "{reply}");
    assert!(reply.contains("[AUTH"), "the 535 answers AUTH: {reply}");
    assert!(out.contains("secret "), "{out}");
    // the credentials the customer typed, base64 on the lines after each 334
    let raw = std::fs::read_to_string(repo(
        "transcripts/auth-backend-fault-01-broadband-vs-dialup.txt",
    ))
    .unwrap();
    let lines: Vec<&str> = raw.lines().collect();
    for (i, line) in lines.iter().enumerate() {
        if line.starts_with("334 ") {
            let secret = lines[i + 1].trim();
            assert!(!out.contains(secret), "{secret} leaked:\n{out}");
        }
    }
}

#[test]
fn the_table_says_why_an_empty_or_binary_ticket_is_unknown() {
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty.txt");
    std::fs::write(&empty, "").unwrap();
    let binary = dir.path().join("binary.txt");
    std::fs::write(&binary, [0u8, 159, 146, 150, 0, 1, 2, 255, 0, 7]).unwrap();
    let o = mailtriage(&[
        "classify",
        "--format",
        "table",
        empty.to_str().unwrap(),
        binary.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let out = stdout(&o);
    let row = |name: &str| {
        out.lines()
            .find(|l| l.contains(name))
            .unwrap_or_else(|| panic!("no row for {name}:\n{out}"))
            .to_string()
    };
    assert!(
        row("empty.txt").contains("note: the transcript is empty"),
        "{out}"
    );
    assert!(row("binary.txt").contains("note: binary input"), "{out}");
}
