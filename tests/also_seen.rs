//! `also_seen` lists other diagnoses the evidence points at, one per cause,
//! never one of the chosen cause. Built on tests/data/minimal-rules with
//! tests/data/also-seen laid over it.

mod common;

use common::{data_dir, overlay_sources};
use mailtriage::engine;
use mailtriage::evidence::Evidence;
use mailtriage::kb::KnowledgeBase;

#[test]
fn other_causes_are_listed_once_each() {
    let kb = KnowledgeBase::from_sources(&overlay_sources(&data_dir().join("also-seen")))
        .unwrap_or_else(|e| panic!("{e}"));
    let evidence = Evidence::from_text(
        "MAIL FROM:<a@example.com>\n250 ok\nRCPT TO:<b@example.org>\n250 ok\nDATA\n354 go\n.\n250 2.0.0 queued as 1234\n",
    );
    let verdict = engine::evaluate(&kb, &evidence, &Default::default());
    assert_eq!(verdict.cause, "delivered");
    assert_eq!(
        verdict.also_seen,
        vec!["wrong-password-a".to_string()],
        "one diagnosis per other cause"
    );
}

/// A diagnosis whose cause a ruled-out suspect stands for (`stands_for`) is
/// no alternative: the evidence that points at it is outweighed by the
/// evidence that rules it out.
#[test]
fn a_cause_whose_suspect_is_ruled_out_is_not_listed() {
    let kb = KnowledgeBase::from_sources(&overlay_sources(&data_dir().join("also-seen")))
        .unwrap_or_else(|e| panic!("{e}"));
    let evidence = Evidence::from_text("AUTH LOGIN\n535 5.7.8 authentication failed\n");
    let open = engine::evaluate(&kb, &evidence, &Default::default());
    assert_eq!(open.diagnosis, "auth-bad-credentials");
    let answers = [("receive_works".to_string(), mailtriage::kb::Answer::Yes)]
        .into_iter()
        .collect();
    let verdict = engine::evaluate(&kb, &evidence, &answers);
    assert_eq!(verdict.diagnosis, "auth-backend-fault");
    assert!(
        verdict
            .suspects
            .iter()
            .any(|s| s.suspect == "password" && s.ruled_out),
        "{:?}",
        verdict.suspects
    );
    assert!(
        verdict.also_seen.is_empty(),
        "the wrong password is ruled out, yet offered: {:?}",
        verdict.also_seen
    );
}
