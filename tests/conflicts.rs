//! An answer that contradicts the evidence is flagged, not silently taken:
//! the agent says port 587 works where 25 fails is false, or that sending
//! fails from every network, while the transcript shows otherwise. Run end
//! to end through the real binary.

use std::process::Command;

fn classify(file: &str, answer: &str) -> serde_json::Value {
    let out = Command::new(env!("CARGO_BIN_EXE_mailtriage"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["classify", "--format", "json", "--answer", answer, file])
        .output()
        .expect("the binary runs");
    let results: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    results[0].clone()
}

#[test]
fn an_answer_against_the_port_comparison_is_reported_and_overruled() {
    let r = classify(
        "transcripts/port25-blocked-01-telnet-25-vs-587.txt",
        "alt_port_works=no",
    );
    assert_eq!(
        r["cause"], "port25-blocked",
        "evidence wins over the contradicting answer"
    );
    let conflicts = r["conflicts"].as_array().expect("conflicts are listed");
    assert_eq!(conflicts.len(), 1, "{conflicts:?}");
    assert_eq!(conflicts[0]["fact"], "alt_port_works");
    assert_eq!(conflicts[0]["answered"], "no");
    assert_eq!(conflicts[0]["evidence_says"], "yes");
    let lines: Vec<u64> = conflicts[0]["refs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["line"].as_u64().unwrap())
        .collect();
    assert!(
        lines.contains(&5) && lines.contains(&11),
        "the failing and the working attempt are cited: {lines:?}"
    );
}

#[test]
fn an_answer_against_the_network_comparison_is_reported() {
    let r = classify(
        "transcripts/auth-backend-fault-01-broadband-vs-dialup.txt",
        "other_network_works=no",
    );
    assert_eq!(r["cause"], "auth-backend-fault");
    assert_eq!(r["conflicts"][0]["fact"], "other_network_works");
    assert_eq!(
        r["conflicts"][0]["signature"],
        "auth-works-from-another-source"
    );
}

#[test]
fn an_answer_the_evidence_agrees_with_is_no_conflict() {
    let r = classify(
        "transcripts/port25-blocked-01-telnet-25-vs-587.txt",
        "alt_port_works=yes",
    );
    assert!(
        r.get("conflicts")
            .is_none_or(|c| c.as_array().unwrap().is_empty()),
        "{r}"
    );
}

#[test]
fn a_receiving_failure_in_the_paste_settles_receive_works() {
    // the iPhone shows the same password failing for IMAP: no need to ask,
    // and an agent who says receiving works is contradicted
    let r = classify(
        "transcripts/auth-bad-credentials-03-iphone-password-incorrect.txt",
        "receive_works=yes",
    );
    assert_eq!(r["cause"], "auth-bad-credentials");
    assert_eq!(r["conflicts"][0]["fact"], "receive_works");
    assert_eq!(r["conflicts"][0]["evidence_says"], "no");
}
