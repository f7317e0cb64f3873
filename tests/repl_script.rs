//! The REPL driven by a script: stdin is not a terminal, so the same
//! commands are read line by line. Also the session files: redacted,
//! resumable, and a corrupt one reported and left alone.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

const BOTH_SESSIONS: &str = "transcripts/auth-backend-fault-01-broadband-vs-dialup.txt";
const FAILING_ONLY: &str = "transcripts/auth-backend-fault-02-failing-session-only.txt";
const DIALUP_RETRY: &str = "tests/data/repl/dialup-retry-works.txt";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn run(data: &Path, args: &[&str], script: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_mailtriage"))
        .args(args)
        .current_dir(root())
        .env("MAILTRIAGE_DATA_DIR", data)
        .env_remove("NO_COLOR")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run mailtriage");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(script.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

fn stdout(out: &Output) -> String {
    String::from_utf8(out.stdout.clone()).unwrap()
}

fn sessions(data: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(data.join("sessions"))
        .map(|rd| rd.map(|e| e.unwrap().path()).collect())
        .unwrap_or_default();
    files.sort();
    files
}

#[test]
fn a_script_answers_goes_back_and_reaches_both_diagnoses() {
    let data = tempfile::tempdir().unwrap();
    let script = format!("load {FAILING_ONLY}\nyes\nback\nno\nanswers\nquit\n");
    let out = run(data.path(), &["repl"], &script);
    assert!(out.status.success(), "{out:?}");
    let text = stdout(&out);
    assert!(!text.contains('\x1b'), "colour on a pipe:\n{text}");
    assert_eq!(
        text.matches("Question: Can the customer still receive mail")
            .count(),
        2,
        "{text}"
    );
    let yes = text.find("cause       auth-backend-fault").expect(&text);
    let undo = text.find("Undid receive_works = yes.").expect(&text);
    let no = text.find("cause       auth-bad-credentials").expect(&text);
    assert!(yes < undo && undo < no, "{text}");
    assert!(text.contains("1. receive_works = no"), "{text}");
}

#[test]
fn a_paste_block_with_both_sessions_needs_no_question() {
    let data = tempfile::tempdir().unwrap();
    let transcript = std::fs::read_to_string(root().join(BOTH_SESSIONS)).unwrap();
    let out = run(
        data.path(),
        &["repl"],
        &format!("paste\n{transcript}\n.\nwhy\n"),
    );
    let text = stdout(&out);
    assert!(text.contains("Added paste 1 (57 lines)"), "{text}");
    assert!(!text.contains("Question:"), "{text}");
    assert!(text.contains("cause       auth-backend-fault"), "{text}");
    assert!(text.contains("How the decision was reached:"), "{text}");
}

#[test]
fn a_second_transcript_mid_session_re_evaluates_everything() {
    let data = tempfile::tempdir().unwrap();
    let out = run(
        data.path(),
        &["repl", FAILING_ONLY],
        &format!("load {DIALUP_RETRY}\nevidence\n"),
    );
    let text = stdout(&out);
    let asked = text
        .find("Question: Can the customer still receive mail")
        .expect(&text);
    let diagnosed = text.find("cause       auth-backend-fault").expect(&text);
    assert!(asked < diagnosed, "{text}");
    assert!(
        text.contains("paste 2, line 23  235 ok, go ahead"),
        "line numbers are not per paste:\n{text}"
    );
    assert_eq!(text.matches("Question:").count(), 1, "{text}");
}

#[test]
fn pasted_text_ends_at_an_empty_line_and_typos_are_not_evidence() {
    let data = tempfile::tempdir().unwrap();
    let out = run(
        data.path(),
        &["repl"],
        "qiut\n535 5.7.8 Error: authentication failed: UGFzc3dvcmQ6\n\nevidence\nanswers recieve_works yes\n",
    );
    let text = stdout(&out);
    assert!(
        text.contains("Unknown command \"qiut\" (did you mean \"quit\"?)"),
        "{text}"
    );
    assert!(text.contains("Added paste 1 (1 line)"), "{text}");
    assert!(text.contains("  1. paste (1 line)"), "{text}");
    assert_eq!(text.matches("Added paste").count(), 1, "{text}");
    assert!(
        text.contains(
            "\"recieve_works\" is not a fact an agent can answer (did you mean \"receive_works\"?)"
        ),
        "{text}"
    );
}

#[test]
fn escalate_and_save_write_files_and_no_file_holds_a_credential() {
    let data = tempfile::tempdir().unwrap();
    let packet = data.path().join("packet.txt");
    let saved = data.path().join("copy.json");
    let script = format!(
        "load {FAILING_ONLY}\ny\nescalate --to sending-service -o {}\nsave {}\n",
        packet.display(),
        saved.display()
    );
    let out = run(data.path(), &["repl"], &script);
    let text = stdout(&out);
    assert!(text.contains("Wrote the escalation packet"), "{text}");
    assert!(std::fs::read_to_string(&packet)
        .unwrap()
        .contains("auth-backend-fault"));
    let copy: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&saved).unwrap()).unwrap();
    assert_eq!(copy["answers"][0]["fact"], "receive_works");
    assert_eq!(copy["outcome"]["cause"], "auth-backend-fault");
    let files = [sessions(data.path()), vec![saved, packet]].concat();
    assert_eq!(files.len(), 3, "{files:?}");
    for file in files {
        let body = std::fs::read_to_string(&file).unwrap();
        assert!(
            !body.contains("U3VuZmxvd2VyLTc3") && !body.contains("YWxpY2VAZXhhbXBsZS5uZXQ="),
            "{}",
            file.display()
        );
    }
}

#[test]
fn resume_by_id_continues_and_answers_can_be_edited_by_number() {
    let data = tempfile::tempdir().unwrap();
    run(data.path(), &["repl", FAILING_ONLY], "yes\n");
    let files = sessions(data.path());
    assert_eq!(files.len(), 1);
    let id = files[0].file_stem().unwrap().to_str().unwrap().to_string();
    let out = run(data.path(), &["repl", "--resume", &id], "answers 1 no\n");
    let text = stdout(&out);
    assert!(
        text.contains(&format!("Resumed session {id} (1 paste, 1 answer)")),
        "{text}"
    );
    assert!(text.contains("cause       auth-backend-fault"), "{text}");
    assert!(text.contains("cause       auth-bad-credentials"), "{text}");
    let saved: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&files[0]).unwrap()).unwrap();
    assert_eq!(saved["answers"].as_array().unwrap().len(), 2);
    assert_eq!(saved["outcome"]["cause"], "auth-bad-credentials");
}

#[test]
fn a_corrupt_session_is_reported_not_loaded_and_not_overwritten() {
    let data = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(data.path().join("sessions")).unwrap();
    let bad = data.path().join("sessions/20260101-000000.json");
    let garbage = "{\"format\": 1, \"id\": \"20260101-000000\", \"pastes\": [";
    std::fs::write(&bad, garbage).unwrap();
    let out = run(
        data.path(),
        &["repl", "--resume", "20260101-000000"],
        "quit\n",
    );
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("20260101-000000.json:1:") && err.contains("not a readable session"),
        "{err}"
    );
    let out = run(data.path(), &["repl", "--resume"], "");
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert_eq!(std::fs::read_to_string(&bad).unwrap(), garbage);
}

#[test]
fn an_answer_the_evidence_contradicts_is_reported() {
    let data = tempfile::tempdir().unwrap();
    let out = run(
        data.path(),
        &["repl", BOTH_SESSIONS],
        "answers other_network_works no\n",
    );
    let text = stdout(&out);
    assert!(
        text.contains("other_network_works = no disagrees with the evidence"),
        "{text}"
    );
    assert!(text.contains("the evidence is kept"), "{text}");
}

#[test]
fn restart_starts_an_empty_session_and_keeps_the_old_one() {
    let data = tempfile::tempdir().unwrap();
    let out = run(
        data.path(),
        &["repl", FAILING_ONLY],
        "restart\nevidence\nanswers receive_works yes\n",
    );
    let text = stdout(&out);
    assert!(text.contains("the previous one stays saved as"), "{text}");
    assert!(text.contains("none yet"), "{text}");
    assert!(text.contains("receive_works = yes"), "{text}");
    assert_eq!(sessions(data.path()).len(), 2, "{text}");
}
