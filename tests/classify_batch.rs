//! `classify` over many tickets through the real binary: output in input
//! order whatever `--jobs`, JSON Lines from stdin, and faults that stay with
//! their ticket.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

fn mailtriage(args: &[&str], stdin: Option<&[u8]>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_mailtriage"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    let data = stdin.unwrap_or_default().to_vec();
    let writer = std::thread::spawn(move || input.write_all(&data));
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap().unwrap();
    out
}

fn tickets(out: &Output) -> Vec<serde_json::Value> {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn transcripts() -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("transcripts")
        .display()
        .to_string()
}

#[test]
fn output_is_in_input_order_whatever_the_number_of_jobs() {
    let dir = transcripts();
    let one = mailtriage(
        &["classify", "--format", "jsonl", "--jobs", "1", &dir],
        None,
    );
    let four = mailtriage(
        &["classify", "--format", "jsonl", "--jobs", "4", &dir],
        None,
    );
    assert_eq!(one.stdout, four.stdout);
    let ids: Vec<String> = tickets(&four)
        .iter()
        .map(|t| t["ticket"].as_str().unwrap().to_string())
        .collect();
    let mut sorted = ids.clone();
    sorted.sort();
    assert_eq!(ids, sorted, "a folder is read in name order");
    assert!(ids.len() > 100);
}

#[test]
fn json_lines_on_stdin_stream_through_in_order() {
    let dir = Path::new(&transcripts()).to_path_buf();
    let mut input = Vec::new();
    let mut names = Vec::new();
    for round in 0..3 {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "txt") {
                let text = String::from_utf8_lossy(&std::fs::read(&path).unwrap()).into_owned();
                let id = format!("{round}/{}", path.file_name().unwrap().to_string_lossy());
                input.extend(
                    serde_json::json!({"id": id, "transcript": text})
                        .to_string()
                        .bytes(),
                );
                input.push(b'\n');
                names.push(id);
            }
        }
    }
    input.extend_from_slice(b"{not json}\n");
    let out = mailtriage(&["classify", "--jsonl", "--jobs", "2", "-"], Some(&input));
    let got = tickets(&out);
    assert_eq!(got.len(), names.len() + 1);
    for (t, name) in got.iter().zip(&names) {
        assert_eq!(t["ticket"], name.as_str());
    }
    assert!(got.last().unwrap()["error"]
        .as_str()
        .unwrap()
        .contains("not a ticket record"));
    assert_eq!(
        out.status.code(),
        Some(1),
        "a bad record makes the run partial, not failed"
    );
}

#[test]
fn faults_stay_with_their_ticket() {
    let dir = tempfile::tempdir().unwrap();
    let long = dir.path().join("a-long-line.txt");
    let mut text =
        b"550 5.1.1 <x@example.org>: Recipient address rejected: User unknown\n".to_vec();
    text.extend(std::iter::repeat_n(b'x', 200_000));
    std::fs::write(&long, &text).unwrap();
    let blob: Vec<u8> = (0..300_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    std::fs::write(dir.path().join("b-blob.msg"), blob).unwrap();
    std::fs::write(
        dir.path().join("c-latin1.txt"),
        b"535 5.7.8 Authentifizierung fehlgeschlagen f\xfcr Benutzer\n",
    )
    .unwrap();
    std::fs::create_dir(dir.path().join("d-folder.txt")).unwrap();
    let missing = dir.path().join("e-missing.txt");
    let out = mailtriage(
        &[
            "classify",
            "--format",
            "jsonl",
            &dir.path().display().to_string(),
            &missing.display().to_string(),
        ],
        None,
    );
    let got = tickets(&out);
    let notes = |i: usize| got[i]["notes"].to_string();
    assert_eq!(got.len(), 4, "{got:?}");
    assert!(notes(0).contains("longer than 64 KiB"), "{}", notes(0));
    assert!(notes(1).contains("binary input"), "{}", notes(1));
    assert!(notes(2).contains("not valid UTF-8"), "{}", notes(2));
    assert_eq!(got[3]["error"], "no such file or folder");
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn an_mbox_is_classified_message_by_message_from_a_file_or_stdin() {
    let mbox = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/bounce/two-bounces.mbox");
    let path = mbox.to_str().unwrap();
    let from_file = tickets(&mailtriage(&["classify", "--format", "jsonl", path], None));
    let ids: Vec<_> = from_file
        .iter()
        .map(|t| t["ticket"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(ids, vec![format!("{path}#1"), format!("{path}#2")]);
    let bytes = std::fs::read(&mbox).unwrap();
    let from_stdin = tickets(&mailtriage(
        &["classify", "--format", "jsonl", "-"],
        Some(&bytes),
    ));
    assert_eq!(from_stdin.len(), 2);
    for (a, b) in from_file.iter().zip(&from_stdin) {
        assert_eq!(a["diagnosis"], b["diagnosis"]);
        assert_eq!(a["recipients"], b["recipients"]);
    }
}
