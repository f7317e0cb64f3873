//! Per-recipient results of bounces through the public `classify` entry point.

use mailtriage::classify::classify;
use mailtriage::kb::KnowledgeBase;
use mailtriage::ticket::Ticket;
use std::collections::BTreeMap;

fn classify_file(name: &str) -> mailtriage::classify::TicketResult {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/bounce")
        .join(name);
    let kb = KnowledgeBase::embedded().unwrap();
    let ticket = Ticket {
        id: name.into(),
        text: std::fs::read(path).unwrap(),
        answers: BTreeMap::new(),
        notes: vec![],
    };
    classify(&kb, &ticket, &BTreeMap::new())
}

#[test]
fn each_recipient_of_a_dsn_gets_its_own_reason_and_the_ticket_takes_the_first() {
    let r = classify_file("dsn-status-only.eml");
    let got: Vec<_> = r
        .recipients
        .iter()
        .map(|x| (x.address.as_str(), x.reason.as_str()))
        .collect();
    assert_eq!(
        got,
        [
            ("carol@example.net", "userunknown"),
            ("dave@example.org", "mailboxfull")
        ]
    );
    assert_eq!(r.recipients[0].reply_code, Some(550));
    assert_eq!(
        r.recipients[1].reply_code, None,
        "an inferred code is not reported as the server's"
    );
    assert_eq!(r.cause, "recipient-unknown");
}

#[test]
fn free_form_report_recipients_are_judged_apart() {
    let r = classify_file("qmail-two-recipients.eml");
    let got: Vec<_> = r.recipients.iter().map(|x| x.reason.as_str()).collect();
    assert_eq!(got, ["userunknown", "mailboxfull"]);
}

#[test]
fn an_mbox_of_two_bounces_yields_both() {
    let r = classify_file("two-bounces.mbox");
    // DSN recipients are listed before those of free-form reports
    let mut got: Vec<_> = r.recipients.iter().map(|x| x.address.as_str()).collect();
    got.sort();
    assert_eq!(
        got,
        [
            "alice@example.net",
            "bob@example.org",
            "carol@example.net",
            "dave@example.org"
        ]
    );
}
