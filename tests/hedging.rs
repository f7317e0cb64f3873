//! What the tool tells people agrees with how sure it is: a diagnosis that
//! rests on an open question (an `Ask` taken on its `unknown` branch) is
//! said as the most likely cause, with what is still to be confirmed, in the
//! customer's letter, the packets for the next tier, the e-mail subject, the
//! REPL and the JSON; a settled one is said plainly. Also: an answer of
//! "unknown" is no answer, and whose server a receiver refuses decides who
//! is told to lift the refusal.

mod common;

use common::*;
use mailtriage::engine::Answers;
use mailtriage::kb::Answer;
use mailtriage::report::PacketFormat;

const WRONG_PASSWORD: &str = "auth-bad-credentials-01-failing-session-only.txt";
const PORT25: &str = "port25-blocked-02-thunderbird-timeout-port25.txt";
const BLOCKLISTED: &str = "ip-blocklisted-01-postfix-bounce-spamhaus-sbl.txt";
const OWN_VPS_REPUTATION: &str = "ip-blocklisted-06-postfix-yahoo-tss09-permanently-deferred.txt";

fn answers(pairs: &[(&str, Answer)]) -> Answers {
    pairs.iter().map(|(f, a)| (f.to_string(), *a)).collect()
}

fn text_of(file: &str) -> String {
    std::fs::read_to_string(repo("transcripts").join(file)).unwrap()
}

fn letter(file: &str, a: &Answers, target: Option<&str>, format: PacketFormat) -> String {
    let id = file.trim_end_matches(".txt");
    packet(&kb(), id, &text_of(file), a, target, format, false)
}

fn json(file: &str, a: &Answers) -> serde_json::Value {
    serde_json::from_str(&letter(file, a, None, PacketFormat::Json)).unwrap()
}

#[test]
fn the_customer_letter_hedges_an_unconfirmed_diagnosis_and_not_a_settled_one() {
    let open = letter(
        WRONG_PASSWORD,
        &Answers::new(),
        Some("customer"),
        PacketFormat::Text,
    );
    insta::assert_snapshot!("customer_letter_unconfirmed", open);
    assert!(
        open.contains("We have not confirmed the cause yet"),
        "{open}"
    );
    assert!(open.contains("Most likely (not yet confirmed)"), "{open}");
    // the question in the customer's words, not the agent's
    assert!(open.contains("Can you still receive mail"), "{open}");
    assert!(!open.contains("Can the customer"), "{open}");

    let settled = letter(
        WRONG_PASSWORD,
        &answers(&[("receive_works", Answer::No)]),
        Some("customer"),
        PacketFormat::Text,
    );
    insta::assert_snapshot!("customer_letter_settled", settled);
    for hedge in ["not yet confirmed", "Most likely", "most likely"] {
        assert!(!settled.contains(hedge), "{hedge}: {settled}");
    }
    assert!(
        settled.contains("Can you still receive mail (in your mail program or in webmail) with the same account and password? no"),
        "{settled}"
    );
}

#[test]
fn a_packet_for_the_next_tier_says_what_is_still_to_be_confirmed() {
    let open = letter(PORT25, &Answers::new(), None, PacketFormat::Text);
    insta::assert_snapshot!("access_isp_unconfirmed", open);
    assert!(
        open.contains("Summary:    most likely port25-blocked"),
        "{open}"
    );
    assert!(open.contains("90% once confirmed"), "{open}");
    assert!(open.contains("Most likely, not yet confirmed:"), "{open}");
    assert!(open.contains("Still to be confirmed"), "{open}");
    // the intro no longer claims what the open question would show
    assert!(!open.contains("from this connection only"), "{open}");

    let settled = letter(
        PORT25,
        &answers(&[("alt_port_works", Answer::Yes)]),
        None,
        PacketFormat::Text,
    );
    assert!(settled.contains("from this connection only"), "{settled}");
    for hedge in ["not yet confirmed", "most likely", "Most likely"] {
        assert!(!settled.contains(hedge), "{hedge}: {settled}");
    }

    let eml = letter(PORT25, &Answers::new(), None, PacketFormat::Eml);
    let subject = decoded_eml(&eml).lines().next().unwrap().to_string();
    assert!(
        subject.contains("likely port25-blocked (unconfirmed)"),
        "{subject}"
    );
}

#[test]
fn json_says_whether_a_result_is_settled_with_the_confidence_it_would_have() {
    let p = json(WRONG_PASSWORD, &Answers::new());
    let d = &p["diagnosis"];
    assert_eq!(d["settled"], false, "{d:#}");
    assert_eq!(d["confidence"], 0.54, "{d:#}");
    assert_eq!(d["base_confidence"], 0.9, "{d:#}");
    assert_eq!(p["pending"][0]["fact"], "receive_works");
    assert!(p["pending"][0]["to_customer"]
        .as_str()
        .unwrap()
        .starts_with("Can you"));

    let settled = json(WRONG_PASSWORD, &answers(&[("receive_works", Answer::No)]));
    assert_eq!(settled["diagnosis"]["settled"], true);
    assert_eq!(
        settled["diagnosis"]["confidence"],
        settled["diagnosis"]["base_confidence"]
    );

    // classify's JSON carries the same two fields, beside the old ones
    let out = mailtriage(&[
        "classify",
        "--format",
        "json",
        &format!("transcripts/{WRONG_PASSWORD}"),
    ]);
    let results: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let r = &results[0];
    assert_eq!(r["settled"], false, "{r:#}");
    assert_eq!(r["base_confidence"], 0.9, "{r:#}");
    assert_eq!(r["confidence"], 0.54, "{r:#}");
    assert_eq!(r["pending"][0], "receive_works", "{r:#}");
}

/// "Unknown" answers nothing: the question stays open in every output and
/// is never listed among the questions not to ask again.
#[test]
fn an_unknown_answer_leaves_the_question_open() {
    let a = answers(&[("receive_works", Answer::Unknown)]);
    let p = json(WRONG_PASSWORD, &a);
    assert_eq!(p["diagnosis"]["settled"], false);
    assert!(
        !p["answered"]
            .as_array()
            .unwrap()
            .iter()
            .any(|x| x["fact"] == "receive_works"),
        "{:#}",
        p["answered"]
    );
    assert_eq!(p["pending"][0]["fact"], "receive_works");
    let letter = letter(WRONG_PASSWORD, &a, Some("customer"), PacketFormat::Text);
    assert!(!letter.contains("we will not ask you again"), "{letter}");
}

/// Who can lift a block depends on whose server was refused: the packet for
/// the provider's platform, or a letter telling the customer what their own
/// server's administrator must do. Notes that say so answer the question.
#[test]
fn a_refused_own_server_is_told_to_the_customer_not_promised_by_our_mail_team() {
    let open = json(BLOCKLISTED, &Answers::new());
    assert_eq!(open["diagnosis"]["id"], "ip-blocklisted");
    assert_eq!(open["pending"][0]["fact"], "own_mail_server");

    let own = json(BLOCKLISTED, &answers(&[("own_mail_server", Answer::Yes)]));
    assert_eq!(own["diagnosis"]["id"], "own-server-blocklisted");
    assert_eq!(own["diagnosis"]["cause"], "ip-blocklisted");
    assert_eq!(own["diagnosis"]["owner"], "sending-service");
    assert_eq!(own["target"]["id"], "customer");
    let told = own["diagnosis"]["tell_customer"].as_str().unwrap();
    assert!(!told.contains("Our mail team"), "{told}");

    // "Customer runs his own Postfix VPS": nothing to ask
    let noted = json(OWN_VPS_REPUTATION, &Answers::new());
    assert_eq!(noted["diagnosis"]["id"], "own-server-poor-reputation");
    assert_eq!(
        noted["diagnosis"]["settled"], true,
        "{:#}",
        noted["pending"]
    );
    assert!(noted["answered"]
        .as_array()
        .unwrap()
        .iter()
        .any(|a| a["fact"] == "own_mail_server" && a["by"] == "transcript"));
}
