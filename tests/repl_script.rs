//! The REPL driven by a script: stdin is not a terminal, so the same
//! commands are read line by line. Also the session files: redacted,
//! resumable, a corrupt one or one of another format reported and left
//! alone, a save that fails (disk full) keeping the previous one, and two
//! REPLs on one session never mixing their files.

use std::io::Write;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

const BOTH_SESSIONS: &str = "transcripts/auth-backend-fault-01-broadband-vs-dialup.txt";
const FAILING_ONLY: &str = "transcripts/auth-backend-fault-02-failing-session-only.txt";
const DIALUP_RETRY: &str = "tests/data/repl/dialup-retry-works.txt";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn command(data: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_mailtriage"));
    cmd.args(args)
        .current_dir(root())
        .env("MAILTRIAGE_DATA_DIR", data)
        .env_remove("NO_COLOR")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd
}

fn feed(mut cmd: Command, script: &str) -> Child {
    let mut child = cmd.spawn().expect("run mailtriage");
    let written = child.stdin.take().unwrap().write_all(script.as_bytes());
    // a REPL that refuses to start (exit 2) may be gone before reading its input
    if let Err(e) = written {
        assert_eq!(e.kind(), std::io::ErrorKind::BrokenPipe, "{e}");
    }
    child
}

fn run(data: &Path, args: &[&str], script: &str) -> Output {
    feed(command(data, args), script)
        .wait_with_output()
        .unwrap()
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

/// Answered "unknown", the question stays open: the diagnosis is shown as
/// the most likely one and what to tell the customer is hedged, with the
/// question in the customer's words; answered, it is said plainly.
#[test]
fn an_unknown_answer_gives_a_hedged_diagnosis_and_a_real_one_a_plain_one() {
    let data = tempfile::tempdir().unwrap();
    let script = format!("load {FAILING_ONLY}\nunknown\nback\nno\nquit\n");
    let text = stdout(&run(data.path(), &["repl"], &script));
    let hedged = text
        .find("Diagnosis (most likely, not yet confirmed): The username or password is wrong")
        .expect(&text);
    let told = text
        .find("Tell the customer (not yet confirmed):")
        .expect(&text);
    let plain = text
        .find("Diagnosis: The username or password is wrong")
        .expect(&text);
    assert!(hedged < told && told < plain, "{text}");
    let letter = &text[told..plain];
    assert!(
        letter.contains("Most likely: The server does not accept"),
        "{letter}"
    );
    assert!(
        letter.contains("To confirm it: Can you still receive mail"),
        "{letter}"
    );
    assert!(text[plain..].contains("Tell the customer:\n"), "{text}");
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
fn answers_in_an_agents_words_answer_or_say_how_and_never_become_evidence() {
    let data = tempfile::tempdir().unwrap();
    let script = format!(
        "load {FAILING_ONLY}\nyes it works\nnot sure\nanswers\nanswers 1 dunno\nevidence\nquit\n"
    );
    let out = run(data.path(), &["repl"], &script);
    let text = stdout(&out);
    assert!(
        text.contains("to answer, type just yes (yes, no or unknown on its own line)"),
        "{text}"
    );
    assert!(!text.contains("unknown command"), "{text}");
    assert!(text.contains("receive_works = unknown"), "{text}");
    assert!(text.contains("1. receive_works = unknown"), "{text}");
    assert_eq!(text.matches("Added paste").count(), 1, "{text}");
}

#[test]
fn a_packet_from_a_session_counts_the_credentials_redacted_in_it() {
    let data = tempfile::tempdir().unwrap();
    // a username and a password, both redacted before the session keeps them
    let out = run(
        data.path(),
        &["repl"],
        &format!("load {FAILING_ONLY}\nyes\nescalate\nquit\n"),
    );
    let text = stdout(&out);
    assert!(
        text.contains("APPENDIX: TRANSCRIPT (CREDENTIALS REDACTED: 2)"),
        "{text}"
    );
}

#[test]
fn saving_into_a_missing_folder_names_the_folder_not_a_temporary_file() {
    let data = tempfile::tempdir().unwrap();
    let missing = data.path().join("no-such-folder");
    let script = format!(
        "load {FAILING_ONLY}\nsave {0}/s.json\nescalate -o {0}/p.txt\nquit\n",
        missing.display()
    );
    let text = stdout(&run(data.path(), &["repl"], &script));
    let told = format!(
        "there is no folder {}; give a path in a folder that exists",
        missing.display()
    );
    assert!(
        text.contains(&format!(
            "cannot save: {}/s.json: {told}",
            missing.display()
        )),
        "{text}"
    );
    assert!(text.contains("cannot write the packet: "), "{text}");
    assert!(!text.contains("at path"), "{text}");
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
    // Work that would be saved if the REPL went on with a fresh session.
    let work = format!("load {FAILING_ONLY}\nyes\nquit\n");
    let out = run(data.path(), &["repl", "--resume", "20260101-000000"], &work);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("20260101-000000.json:1:") && err.contains("not a readable session"),
        "{err}"
    );
    let out = run(data.path(), &["repl", "--resume"], &work);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert_eq!(sessions(data.path()), std::slice::from_ref(&bad));
    let out = run(data.path(), &["repl"], &work);
    assert!(out.status.success(), "{out:?}");
    assert_eq!(sessions(data.path()).len(), 2);
    assert_eq!(std::fs::read_to_string(&bad).unwrap(), garbage);
}

/// A session from a newer mailtriage is named as such, not called corrupt;
/// `--resume` without an ID skips it with a note and takes the newest it can read.
#[test]
fn a_session_of_another_format_version_is_named_and_left_alone() {
    let data = tempfile::tempdir().unwrap();
    run(data.path(), &["repl", FAILING_ONLY], "yes\n");
    let newer = data.path().join("sessions/20991231-000000-ffff.json");
    let text = "{\"format\": 2, \"id\": \"20991231-000000-ffff\", \"turns\": []}\n";
    std::fs::write(&newer, text).unwrap();
    let out = run(
        data.path(),
        &["repl", "--resume", "20991231-000000-ffff"],
        "",
    );
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("20991231-000000-ffff.json: session format 2 is newer than this mailtriage reads (format 1): update mailtriage"),
        "{err}"
    );
    let out = run(data.path(), &["repl", "--resume"], "");
    let text_out = stdout(&out);
    assert!(
        text_out.contains("skipped ") && text_out.contains("session format 2 is newer"),
        "{text_out}"
    );
    assert!(text_out.contains("(1 paste, 1 answer)"), "{text_out}");
    assert_eq!(std::fs::read_to_string(&newer).unwrap(), text);
}

/// The disk fills up in the middle of a save (a file size limit makes the
/// write fail half-way, as root too): the agent is warned, the REPL goes on
/// in memory, the previous save is intact and no temporary file is left.
#[test]
fn a_save_failing_half_way_warns_and_keeps_the_previous_save() {
    let data = tempfile::tempdir().unwrap();
    run(data.path(), &["repl", FAILING_ONLY], "yes\n");
    let files = sessions(data.path());
    let before = std::fs::read(&files[0]).unwrap();
    let limit = (before.len() / 2) as libc::rlim_t;
    let mut cmd = command(data.path(), &["repl", "--resume"]);
    // SAFETY: only async-signal-safe calls between fork and exec.
    unsafe {
        cmd.pre_exec(move || {
            let rlimit = libc::rlimit {
                rlim_cur: limit,
                rlim_max: limit,
            };
            // Writing past the limit then fails with EFBIG instead of a signal.
            libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
            if libc::setrlimit(libc::RLIMIT_FSIZE, &rlimit) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let out = feed(cmd, "answers receive_works no\nanswers\nquit\n")
        .wait_with_output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let text = stdout(&out);
    let warning = text
        .find("warning: the session could not be saved")
        .expect(&text);
    assert!(
        text[warning..].starts_with(&format!(
            "warning: the session could not be saved: {}: File too large",
            files[0].display()
        )),
        "{text}"
    );
    assert!(
        text.contains("The last saved copy is kept and this session goes on in memory"),
        "{text}"
    );
    assert!(text.contains("cause       auth-bad-credentials"), "{text}");
    assert!(text.contains("1. receive_works = no"), "{text}");
    assert_eq!(text.matches("could not be saved").count(), 2, "{text}");
    assert_eq!(sessions(data.path()), files, "a temporary file was left");
    assert_eq!(std::fs::read(&files[0]).unwrap(), before);

    let out = run(data.path(), &["repl", "--resume"], "");
    let text = stdout(&out);
    assert!(text.contains("1. receive_works = yes"), "{text}");
}

/// Two REPLs saving the same session over and over: the last save wins and
/// every save is whole, so the file always reads as one of them, even to a
/// reader looking at it while they write.
#[test]
fn two_repls_on_one_session_leave_one_whole_file() {
    let data = tempfile::tempdir().unwrap();
    run(data.path(), &["repl", FAILING_ONLY], "yes\n");
    let files = sessions(data.path());
    let id = files[0].file_stem().unwrap().to_str().unwrap().to_string();
    let toggles = |n: usize| -> String {
        (0..n)
            .map(|i| format!("answers receive_works {}\n", ["no", "yes"][i % 2]))
            .collect()
    };
    let (a_turns, b_turns) = (40, 25);
    let repls: Vec<_> = [a_turns, b_turns]
        .map(|n| {
            let child = feed(
                command(data.path(), &["repl", "--resume", &id]),
                &toggles(n),
            );
            std::thread::spawn(move || child.wait_with_output().unwrap())
        })
        .into();
    let mut reads = 0;
    while !repls.iter().all(|r| r.is_finished()) {
        let text = std::fs::read_to_string(&files[0]).unwrap();
        let parsed = serde_json::from_str::<serde_json::Value>(&text);
        assert!(parsed.is_ok(), "read {reads}: a partial file:\n{text}");
        reads += 1;
    }
    for repl in repls {
        let out = repl.join().unwrap();
        assert!(out.status.success(), "{out:?}");
        assert!(!stdout(&out).contains("could not be saved"), "{out:?}");
    }
    assert_eq!(sessions(data.path()), files, "a temporary file was left");
    let saved: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&files[0]).unwrap()).unwrap();
    let answers = saved["answers"].as_array().unwrap().len();
    // the last save wins whole; a REPL that started late (a loaded machine)
    // resumed some of the other's answers first, so its log can be longer
    assert!(
        (1 + a_turns.min(b_turns)..=1 + a_turns + b_turns).contains(&answers),
        "{answers} answers: not one REPL's whole log"
    );
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
