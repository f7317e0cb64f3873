//! End-to-end REPL tests through a real pseudo-terminal (rexpect): the
//! binary runs under rustyline exactly as an agent's terminal drives it,
//! with bracketed paste, Tab completion, Ctrl-C, Ctrl-D, `kill -9` and the
//! terminal closing under it.

use rexpect::process::{Signal, WaitStatus};
use rexpect::reader::Options;
use rexpect::session::PtySession;
use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::AsRawFd;
use std::os::unix::fs::OpenOptionsExt;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

/// Generous: the machine running the tests may be loaded.
const TIMEOUT_MS: u64 = 20_000;
const PROMPT: &str = "mailtriage> ";
const BOTH_SESSIONS: &str = "transcripts/auth-backend-fault-01-broadband-vs-dialup.txt";
const FAILING_ONLY: &str = "transcripts/auth-backend-fault-02-failing-session-only.txt";
const QUESTION_PROMPT: &str = "receive_works (yes/no/unknown)> ";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn spawn(data: &Path, args: &[&str]) -> PtySession {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_mailtriage"));
    cmd.args(args)
        .current_dir(root())
        .env("MAILTRIAGE_DATA_DIR", data)
        .env("TERM", "xterm")
        .env("NO_COLOR", "1");
    let options = Options {
        timeout_ms: Some(TIMEOUT_MS),
        strip_ansi_escape_codes: true,
    };
    rexpect::spawn_with_options(cmd, options).expect("spawn mailtriage repl")
}

/// Starts the REPL and waits for its first prompt.
fn start(data: &Path) -> PtySession {
    let mut p = spawn(data, &["repl"]);
    p.exp_string("mailtriage session").unwrap();
    p.exp_string(PROMPT).unwrap();
    p
}

/// Pastes a file the way a terminal does with bracketed paste, then Enter.
fn paste_file(p: &mut PtySession, file: &str) {
    let text = std::fs::read_to_string(root().join(file)).unwrap();
    let text = if text.ends_with('\n') {
        text
    } else {
        format!("{text}\n")
    };
    p.send(&format!("\x1b[200~{text}\x1b[201~")).unwrap();
    p.send("\r").unwrap();
    p.flush().unwrap();
}

fn send_line(p: &mut PtySession, line: &str) {
    p.send(line).unwrap();
    p.send("\r").unwrap();
    p.flush().unwrap();
}

fn quit(mut p: PtySession) {
    send_line(&mut p, "quit");
    p.exp_eof().unwrap();
}

#[test]
fn both_sessions_pasted_together_reach_auth_backend_fault_with_no_question() {
    let data = tempfile::tempdir().unwrap();
    let mut p = start(data.path());
    paste_file(&mut p, BOTH_SESSIONS);
    p.exp_string("Added paste 1").unwrap();
    let shown = p.exp_string("Diagnosis:").unwrap();
    assert!(
        !shown.contains("Question:"),
        "asked a question the evidence answers:\n{shown}"
    );
    assert!(
        !shown.contains("Added paste 2"),
        "the paste was split into several inputs:\n{shown}"
    );
    p.exp_string("cause       auth-backend-fault").unwrap();
    p.exp_string("owner       sending-service").unwrap();
    p.exp_string("Tell the customer:").unwrap();
    p.exp_string("Ruled out by the evidence:").unwrap();
    p.exp_string(PROMPT).unwrap();
    quit(p);
}

#[test]
fn failing_session_asks_receive_works_once_and_back_then_no_changes_the_diagnosis() {
    let data = tempfile::tempdir().unwrap();
    let mut p = start(data.path());
    paste_file(&mut p, FAILING_ONLY);
    p.exp_string("Question: Can the customer still receive mail")
        .unwrap();
    p.exp_string(QUESTION_PROMPT).unwrap();

    send_line(&mut p, "yes");
    let shown = p.exp_string("Diagnosis:").unwrap();
    assert!(shown.contains("receive_works = yes"), "{shown}");
    assert!(
        !shown.contains("Question:"),
        "a second question was asked:\n{shown}"
    );
    p.exp_string("cause       auth-backend-fault").unwrap();
    p.exp_string(PROMPT).unwrap();

    send_line(&mut p, "back");
    p.exp_string("Undid receive_works = yes.").unwrap();
    p.exp_string("Question: Can the customer still receive mail")
        .unwrap();
    p.exp_string(QUESTION_PROMPT).unwrap();

    send_line(&mut p, "n");
    p.exp_string("receive_works = no").unwrap();
    p.exp_string("cause       auth-bad-credentials").unwrap();
    p.exp_string("owner       client").unwrap();
    p.exp_string(PROMPT).unwrap();
    quit(p);
}

#[test]
fn a_session_killed_with_sigkill_resumes_with_every_answer() {
    let data = tempfile::tempdir().unwrap();
    let mut p = start(data.path());
    paste_file(&mut p, FAILING_ONLY);
    p.exp_string(QUESTION_PROMPT).unwrap();
    send_line(&mut p, "yes");
    p.exp_string("cause       auth-backend-fault").unwrap();
    p.exp_string(PROMPT).unwrap();
    send_line(&mut p, "answers other_devices_fail yes");
    p.exp_string("other_devices_fail = yes").unwrap();
    p.exp_string(PROMPT).unwrap();
    let status = p.process.kill(Signal::SIGKILL).unwrap();
    assert!(
        matches!(status, WaitStatus::Signaled(_, Signal::SIGKILL, _)),
        "{status:?}"
    );

    let mut r = spawn(data.path(), &["repl", "--resume"]);
    r.exp_string("Resumed session").unwrap();
    r.exp_string("(1 paste, 2 answers)").unwrap();
    r.exp_string("receive_works      = yes").unwrap();
    r.exp_string("other_devices_fail = yes").unwrap();
    let shown = r.exp_string("cause       auth-backend-fault").unwrap();
    assert!(!shown.contains("Question:"), "{shown}");
    r.exp_string(PROMPT).unwrap();
    quit(r);

    let secrets = [
        "U3VuZmxvd2VyLTc3",
        "YWxpY2VAZXhhbXBsZS5uZXQ=",
        "Sunflower-77",
    ];
    for entry in walk(data.path()) {
        let text = std::fs::read_to_string(&entry).unwrap();
        for s in secrets {
            assert!(!text.contains(s), "{} holds a credential", entry.display());
        }
    }
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}

#[test]
fn with_no_arguments_on_a_terminal_ctrl_c_cancels_the_input_and_ctrl_d_leaves() {
    let data = tempfile::tempdir().unwrap();
    let mut p = spawn(data.path(), &[]);
    p.exp_string("mailtriage session").unwrap();
    p.exp_string(PROMPT).unwrap();
    p.send("535 5.7.8 half typed").unwrap();
    p.flush().unwrap();
    p.send_control('c').unwrap();
    p.exp_string("(input cancelled").unwrap();
    p.exp_string(PROMPT).unwrap();
    send_line(&mut p, "evidence");
    p.exp_string("none yet").unwrap();
    p.exp_string(PROMPT).unwrap();
    p.send_control('d').unwrap();
    p.exp_string("Nothing to save").unwrap();
    p.exp_eof().unwrap();
}

#[test]
fn tab_completes_commands_and_paste_blocks_end_at_a_dot() {
    let data = tempfile::tempdir().unwrap();
    let mut p = start(data.path());
    p.send("evid\t").unwrap();
    p.flush().unwrap();
    p.send("\r").unwrap();
    p.flush().unwrap();
    p.exp_string("Pastes:").unwrap();
    p.exp_string(PROMPT).unwrap();

    send_line(&mut p, "paste");
    p.exp_string("a line holding only a dot").unwrap();
    for line in [
        "220 mail.example.net ESMTP",
        "",
        "EHLO pc1",
        "250 mail.example.net",
        ".",
    ] {
        send_line(&mut p, line);
    }
    p.exp_string("Added paste 1 (4 lines)").unwrap();
    p.exp_string(PROMPT).unwrap();
    quit(p);
}

#[test]
fn answers_are_edited_from_the_list_and_only_commands_reach_the_history() {
    let data = tempfile::tempdir().unwrap();
    let mut p = start(data.path());
    paste_file(&mut p, FAILING_ONLY);
    p.exp_string(QUESTION_PROMPT).unwrap();
    send_line(&mut p, "y");
    p.exp_string("cause       auth-backend-fault").unwrap();
    p.exp_string(PROMPT).unwrap();
    send_line(&mut p, "answers");
    p.exp_string("1. receive_works = yes").unwrap();
    p.exp_string("Change which answer").unwrap();
    send_line(&mut p, "1");
    p.exp_string("New answer for receive_works").unwrap();
    send_line(&mut p, "no");
    p.exp_string("receive_works = no").unwrap();
    p.exp_string("cause       auth-bad-credentials").unwrap();
    p.exp_string(PROMPT).unwrap();
    quit(p);

    let history = std::fs::read_to_string(data.path().join("history.txt")).unwrap();
    assert!(history.lines().any(|l| l == "answers"), "{history}");
    assert!(
        !history.contains("535") && !history.contains("U3VuZmxvd2VyLTc3"),
        "a transcript reached the history:\n{history}"
    );
}

/// A terminal without bracketed paste delivers a paste as typed lines: the
/// text is then read up to each empty line, and the pieces together give
/// the same evidence and the same single question.
#[test]
fn a_paste_typed_line_by_line_splits_at_empty_lines_and_asks_the_same_question() {
    let data = tempfile::tempdir().unwrap();
    let mut p = start(data.path());
    let text = std::fs::read_to_string(root().join(FAILING_ONLY)).unwrap();
    for line in text.lines() {
        p.send(line).unwrap();
        p.send("\r").unwrap();
    }
    p.send("\r").unwrap();
    p.flush().unwrap();
    p.exp_string("Added paste 2").unwrap();
    p.exp_string("Question: Can the customer still receive mail")
        .unwrap();
    p.exp_string(QUESTION_PROMPT).unwrap();
    send_line(&mut p, "evidence");
    p.exp_string("2. paste (15 lines)").unwrap();
    p.exp_string("paste 2, line 13  535 authorization failed")
        .unwrap();
    quit(p);
}

/// A REPL on a pseudo-terminal of the test's own, so that dropping the
/// master is a real hang-up: the kernel sends SIGHUP and reads and writes on
/// the terminal fail. (rexpect keeps its master open until it has killed
/// the child, so it cannot show this.)
struct Hangable {
    master: File,
    child: Child,
    seen: String,
}

impl Hangable {
    /// `nohup`: the REPL then meets the closed terminal as a failed read or write.
    fn spawn(data: &Path, ignore_hangup: bool) -> Hangable {
        let master = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .custom_flags(libc::O_NOCTTY)
            .open("/dev/ptmx")
            .unwrap();
        let fd = master.as_raw_fd();
        let mut name = [0 as libc::c_char; 128];
        // SAFETY: fd is an open pty master and `name` outlives the calls.
        unsafe {
            assert_eq!(libc::grantpt(fd), 0);
            assert_eq!(libc::unlockpt(fd), 0);
            assert_eq!(libc::ptsname_r(fd, name.as_mut_ptr(), name.len()), 0);
        }
        // SAFETY: ptsname_r wrote a NUL-terminated name.
        let name = unsafe { std::ffi::CStr::from_ptr(name.as_ptr()) };
        let slave = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .custom_flags(libc::O_NOCTTY)
            .open(name.to_str().unwrap())
            .unwrap();
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_mailtriage"));
        cmd.arg("repl")
            .current_dir(root())
            .env("MAILTRIAGE_DATA_DIR", data)
            .env("TERM", "xterm")
            .env("NO_COLOR", "1")
            .stdin(slave.try_clone().unwrap())
            .stdout(slave.try_clone().unwrap())
            .stderr(slave);
        let disposition = if ignore_hangup {
            libc::SIG_IGN
        } else {
            libc::SIG_DFL
        };
        // SAFETY: only async-signal-safe calls between fork and exec; the
        // terminal on stdin becomes the child's controlling terminal.
        unsafe {
            cmd.pre_exec(move || {
                if libc::setsid() < 0 || libc::ioctl(0, libc::TIOCSCTTY, 0) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                libc::signal(libc::SIGHUP, disposition);
                Ok(())
            });
        }
        let child = cmd.spawn().unwrap();
        drop(cmd);
        Hangable {
            master,
            child,
            seen: String::new(),
        }
    }

    fn expect(&mut self, needle: &str) -> String {
        let deadline = Instant::now() + Duration::from_millis(TIMEOUT_MS);
        loop {
            if let Some(at) = self.seen.find(needle) {
                return self.seen.drain(..at + needle.len()).collect();
            }
            let left = deadline.saturating_duration_since(Instant::now());
            assert!(
                !left.is_zero(),
                "no {needle:?} within {TIMEOUT_MS} ms; the terminal shows:\n{}",
                self.seen
            );
            let mut poll = libc::pollfd {
                fd: self.master.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            };
            // SAFETY: one valid pollfd.
            if unsafe { libc::poll(&mut poll, 1, 200) } > 0 {
                let mut buf = [0; 4096];
                match self.master.read(&mut buf) {
                    Ok(n) if n > 0 => self.seen.push_str(&String::from_utf8_lossy(&buf[..n])),
                    end => panic!(
                        "the terminal ended ({end:?}) before {needle:?}:\n{}",
                        self.seen
                    ),
                }
            }
        }
    }

    fn send(&mut self, text: &str) {
        self.master.write_all(text.as_bytes()).unwrap();
        self.master.flush().unwrap();
    }

    /// Closes the terminal and waits for the REPL to end.
    fn hang_up(self) -> std::process::ExitStatus {
        let Hangable {
            master, mut child, ..
        } = self;
        drop(master);
        let deadline = Instant::now() + Duration::from_millis(TIMEOUT_MS);
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                return status;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                panic!("the REPL is still running after its terminal closed");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// Answers a question on a terminal that then closes; `repl --resume`
/// shows the answer, and no temporary file is left behind.
fn answer_then_close_the_terminal(ignore_hangup: bool) -> std::process::ExitStatus {
    let data = tempfile::tempdir().unwrap();
    let mut t = Hangable::spawn(data.path(), ignore_hangup);
    t.expect("mailtriage session");
    t.expect(PROMPT);
    let text = std::fs::read_to_string(root().join(FAILING_ONLY)).unwrap();
    t.send(&format!("\x1b[200~{text}\x1b[201~\r"));
    t.expect(QUESTION_PROMPT);
    t.send("yes\r");
    t.expect("cause       auth-backend-fault");
    t.expect(PROMPT);
    let status = t.hang_up();

    let files = walk(&data.path().join("sessions"));
    assert_eq!(files.len(), 1, "{files:?}");
    let mut r = spawn(data.path(), &["repl", "--resume"]);
    r.exp_string("(1 paste, 1 answer)").unwrap();
    r.exp_string("receive_works = yes").unwrap();
    let shown = r.exp_string("cause       auth-backend-fault").unwrap();
    assert!(!shown.contains("Question:"), "{shown}");
    r.exp_string(PROMPT).unwrap();
    quit(r);
    status
}

#[test]
fn a_closed_terminal_ends_the_repl_by_its_hangup_with_the_answer_saved() {
    let status = answer_then_close_the_terminal(false);
    assert_eq!(status.signal(), Some(libc::SIGHUP), "{status:?}");
}

/// With hang-ups ignored (`nohup`) the REPL meets the closed terminal as a
/// failed read or write: it saves and ends normally, no panic (exit 101).
#[test]
fn a_closed_terminal_under_nohup_saves_and_exits_normally() {
    let status = answer_then_close_the_terminal(true);
    assert_eq!(status.code(), Some(0), "{status:?}");
}
