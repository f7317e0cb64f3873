//! Submission-side precision on bounces nobody here wrote: over the Sisimai
//! corpus (../shared/corpus/sisimai), every record the knowledge base puts
//! down to a submission cause must carry that cause's Sisimai reason. These
//! are bounces from receiving systems, so a submission signature that fires
//! on them for another reason is too wide. Skips when the corpus is absent.

use mailtriage::engine::{evaluate, Answers};
use mailtriage::evidence::Evidence;
use mailtriage::kb::KnowledgeBase;
use std::path::Path;

/// Where the taxonomy deliberately reads a reply differently from Sisimai:
/// Amazon SES's "Email address is not verified. The following identities
/// failed the check" refuses the From identity for the account, which the
/// taxonomy calls a rejected sender; Sisimai files it under `norelaying`.
const KNOWN_DIFFERENCES: [(&str, &str); 1] = [("sender-address-rejected", "norelaying")];

const SUBMISSION: [&str; 12] = [
    "auth-backend-fault",
    "auth-bad-credentials",
    "auth-required",
    "relay-denied",
    "starttls-required",
    "tls-failure",
    "port25-blocked",
    "local-smtp-interception",
    "server-unreachable",
    "wrong-server-name",
    "sender-address-rejected",
    "sending-quota-exceeded",
];

#[test]
fn submission_causes_appear_only_with_their_sisimai_reason() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus/sisimai");
    let Ok(labels) = std::fs::read_to_string(root.join("labels.tsv")) else {
        eprintln!(
            "note: {} is absent; skipping the Sisimai precision check",
            root.display()
        );
        return;
    };
    let kb = KnowledgeBase::embedded().unwrap();
    let mut seen = std::collections::BTreeSet::new();
    let (mut fired, mut wrong) = (0, Vec::new());
    for line in labels.lines().skip(1) {
        let mut cols = line.split('\t');
        let (Some(path), Some(reason)) = (cols.next(), cols.next()) else {
            continue;
        };
        if !seen.insert(path.to_string()) {
            continue;
        }
        let Ok(bytes) = std::fs::read(root.join(path)) else {
            continue;
        };
        let verdict = evaluate(&kb, &Evidence::from_bytes(&bytes), &Answers::new());
        // the delivery side may name a submission cause too (a refusal at
        // MAIL FROM is a rejected sender there): this test is about the
        // submission signatures, so only walks that never read the
        // receiving side's answer count
        let via_delivery = verdict.trace.iter().any(|s| s.node == "delivery");
        if !SUBMISSION.contains(&verdict.cause.as_str()) || via_delivery {
            continue;
        }
        fired += 1;
        let agrees = kb.cause(&verdict.cause).map(|c| c.reason.as_str()) == Some(reason);
        if !agrees && !KNOWN_DIFFERENCES.contains(&(verdict.cause.as_str(), reason)) {
            wrong.push(format!(
                "{path}: labelled {reason}, classified {}",
                verdict.cause
            ));
        }
    }
    // bounces are routed to the delivery side first, so `fired` may be 0
    let _ = fired;
    assert!(
        wrong.is_empty(),
        "{} of {fired} submission verdicts disagree with Sisimai:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}
