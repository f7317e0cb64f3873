//! The founding incidents keep their exact outcome, whatever else changes:
//! the broadband-vs-dial-up AUTH comparison needs no question; the failing
//! session alone is settled by whether receiving works; port 25 against 587
//! needs no question; an accepted message missing from the inbox and from
//! spam is lost on the recipient's side.

use mailtriage::engine::{evaluate, Answers};
use mailtriage::evidence::Evidence;
use mailtriage::kb::{Answer, KnowledgeBase};
use std::path::Path;

fn verdict(file: &str, answers: &[(&str, Answer)]) -> mailtriage::engine::Verdict {
    let kb = KnowledgeBase::embedded().unwrap();
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("transcripts")
        .join(file);
    let evidence = Evidence::from_bytes(&std::fs::read(path).unwrap());
    let answers: Answers = answers.iter().map(|(f, a)| (f.to_string(), *a)).collect();
    evaluate(&kb, &evidence, &answers)
}

#[test]
fn backend_fault_from_the_network_comparison_needs_no_question() {
    let v = verdict("auth-backend-fault-01-broadband-vs-dialup.txt", &[]);
    assert_eq!(
        (v.cause.as_str(), v.owner.as_str()),
        ("auth-backend-fault", "sending-service")
    );
    assert!(
        v.question.is_none() && v.pending.is_empty(),
        "{:?}",
        v.pending
    );
}

#[test]
fn the_failing_session_alone_is_decided_by_receiving() {
    let open = verdict("auth-backend-fault-02-failing-session-only.txt", &[]);
    assert_eq!(
        open.question.as_ref().map(|q| q.fact.as_str()),
        Some("receive_works")
    );
    let works = verdict(
        "auth-backend-fault-02-failing-session-only.txt",
        &[("receive_works", Answer::Yes)],
    );
    assert_eq!(
        (works.cause.as_str(), works.owner.as_str()),
        ("auth-backend-fault", "sending-service")
    );
    let fails = verdict(
        "auth-bad-credentials-01-failing-session-only.txt",
        &[("receive_works", Answer::No)],
    );
    assert_eq!(
        (fails.cause.as_str(), fails.owner.as_str()),
        ("auth-bad-credentials", "client")
    );
}

#[test]
fn port_25_against_587_needs_no_question() {
    let v = verdict("port25-blocked-01-telnet-25-vs-587.txt", &[]);
    assert_eq!(
        (v.cause.as_str(), v.owner.as_str()),
        ("port25-blocked", "access-isp")
    );
    assert!(v.question.is_none(), "{:?}", v.question);
}

#[test]
fn accepted_and_not_in_spam_is_lost_after_acceptance() {
    let v = verdict(
        "accepted-then-lost-01-postfix-log.txt",
        &[("recipient_checked_spam", Answer::Yes)],
    );
    assert_eq!(
        (v.cause.as_str(), v.owner.as_str()),
        ("accepted-then-lost", "recipient-service")
    );
}
