//! Escalation packets: golden snapshots of the three founding incidents,
//! every diagnosis in every format and for every target, the e-mail's round
//! trip through a MIME parser, the template lint, and the CLI.

mod common;

use common::*;
use mail_parser::{MessageParser, MimeHeaders};
use mailtriage::engine::Answers;
use mailtriage::kb::{KnowledgeBase, SourceFile};
use mailtriage::report::{self, PacketFormat, PacketInput};
use std::process::Command;

const INCIDENTS: [&str; 3] = [
    "auth-backend-fault-01-broadband-vs-dialup.txt",
    "auth-backend-fault-02-failing-session-only.txt",
    "auth-bad-credentials-01-failing-session-only.txt",
];

fn transcript(file: &str) -> String {
    std::fs::read_to_string(repo("transcripts").join(file))
        .unwrap_or_else(|e| panic!("{file}: {e}"))
}

/// The JSON packet of a shipped ticket, parsed.
fn incident_json(file: &str) -> serde_json::Value {
    serde_json::from_str(&incident_packet(file, PacketFormat::Json)).expect("JSON")
}

fn incident_packet(file: &str, format: PacketFormat) -> String {
    let id = file.trim_end_matches(".txt");
    packet(
        &kb(),
        id,
        &transcript(file),
        &expected_answers(file),
        None,
        format,
        false,
    )
}

#[test]
fn founding_incidents_as_text() {
    for file in INCIDENTS {
        insta::assert_snapshot!(
            format!("{}.text", file.trim_end_matches(".txt")),
            incident_packet(file, PacketFormat::Text)
        );
    }
}

#[test]
fn founding_incidents_as_markdown() {
    for file in INCIDENTS {
        insta::assert_snapshot!(
            format!("{}.markdown", file.trim_end_matches(".txt")),
            incident_packet(file, PacketFormat::Markdown)
        );
    }
}

#[test]
fn founding_incidents_as_eml() {
    for file in INCIDENTS {
        insta::assert_snapshot!(
            format!("{}.eml", file.trim_end_matches(".txt")),
            incident_packet(file, PacketFormat::Eml)
        );
    }
}

#[test]
fn founding_incidents_as_json() {
    for file in INCIDENTS {
        let json: serde_json::Value =
            serde_json::from_str(&incident_packet(file, PacketFormat::Json)).expect("valid JSON");
        insta::assert_json_snapshot!(format!("{}.json", file.trim_end_matches(".txt")), json);
    }
}

#[test]
fn the_broadband_incident_asks_tier2_with_both_attempts_side_by_side() {
    let text = incident_packet(INCIDENTS[0], PacketFormat::Text);
    assert!(text.contains("re-provision"), "{text}");
    assert!(
        text.contains("203.0.113.0/24"),
        "the failing source range is named:\n{text}"
    );
    let failing = text
        .find("Failing attempt, lines")
        .expect("failing attempt quoted");
    let working = text
        .find("Working attempt, lines")
        .expect("working attempt quoted");
    assert!(failing < working);
    assert!(text[failing..working].contains("535 authorization failed"));
    assert!(text[working..].contains("235 ok, go ahead"));
    assert!(text.contains("same credentials"), "{text}");
}

/// Every diagnosis of the shipped knowledge base renders in every format
/// for every target: each diagnosis is put on the evidence of a transcript
/// labelled with its cause when one exists, else of a founding incident.
#[test]
fn every_diagnosis_renders_in_every_format_for_every_target() {
    let kb = kb();
    let targets = report::targets(&kb);
    for needed in [
        "sending-service",
        "access-isp",
        "recipient-service",
        "sender-dns",
        "customer",
    ] {
        assert!(
            targets.iter().any(|t| t == needed),
            "no template for {needed}: {targets:?}"
        );
    }
    let files: Vec<String> = std::fs::read_dir(repo("transcripts"))
        .expect("transcripts/")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".txt"))
        .collect();
    for d in &kb.diagnoses {
        let file = files
            .iter()
            .find(|f| f.starts_with(&format!("{}-", d.cause)))
            .map_or(INCIDENTS[0], String::as_str);
        let text = transcript(file);
        let answers = expected_answers(file);
        let (evidence, mut verdict) = judge(&kb, &text, &answers);
        verdict.diagnosis = d.id.clone();
        verdict.title = d.title.clone();
        verdict.cause = d.cause.clone();
        verdict.owner = kb.owner_of(d).to_string();
        for target in std::iter::once(None).chain(targets.iter().map(|t| Some(t.as_str()))) {
            let input = PacketInput {
                kb: &kb,
                ticket: &d.id,
                evidence: &evidence,
                verdict: &verdict,
                answers: &answers,
                target,
            };
            for format in FORMATS {
                let out = render(&input, &text, format, false);
                let shown = if format == PacketFormat::Eml {
                    decoded_eml(&out)
                } else {
                    out
                };
                assert!(
                    shown.contains(&d.cause),
                    "{} {format:?} to {target:?} does not name its cause:\n{shown}",
                    d.id
                );
            }
        }
    }
}

#[test]
fn templates_read_only_known_variables() {
    let problems = report::lint_templates(&kb());
    assert!(problems.is_empty(), "{problems:#?}");
}

fn kb_with_template(name: &str, text: &str) -> Result<KnowledgeBase, String> {
    let mut files = mailtriage::kb::embedded_sources();
    files.retain(|f| f.path != format!("templates/{name}"));
    files.push(SourceFile {
        path: format!("templates/{name}"),
        text: text.to_string(),
    });
    KnowledgeBase::from_sources(&files).map_err(|e| e.to_string())
}

#[test]
fn the_lint_catches_a_misspelt_variable() {
    let kb = kb_with_template(
        "customer.tera",
        "Hello {{ diagnosis.title }} {{ diagnoses.cause }}\n",
    )
    .expect("loads");
    let problems = report::lint_templates(&kb);
    assert_eq!(
        problems,
        vec!["templates/customer.tera: unknown variable `diagnoses.cause`".to_string()]
    );
}

#[test]
fn a_template_syntax_error_names_the_file_line_and_column() {
    let err = kb_with_template("customer.tera", "Hello\n{% if diagnosis %}\nunclosed\n")
        .expect_err("must not load");
    assert!(err.contains("templates/customer.tera:4:1"), "{err}");
}

#[test]
fn a_target_without_a_template_is_a_knowledge_base_error() {
    let mut files = mailtriage::kb::embedded_sources();
    files.retain(|f| f.path != "templates/access-isp.tera");
    let err = KnowledgeBase::from_sources(&files)
        .expect_err("access-isp is used by a diagnosis")
        .to_string();
    assert!(
        err.contains("escalates to \"access-isp\", which has no template"),
        "{err}"
    );
}

#[test]
fn transcript_content_stays_data_and_cannot_add_headers() {
    let kb = kb();
    let text = "{{ ticket }} {% raw %}\n550 5.1.1 <x@example.org>: Recipient address rejected: User unknown {{ 7*7 }}\n";
    let ticket = "T-1\r\nBcc: thief@example.com";
    let eml = packet(
        &kb,
        ticket,
        text,
        &Answers::new(),
        Some("sending-service"),
        PacketFormat::Eml,
        false,
    );
    let message = MessageParser::default()
        .parse(eml.as_bytes())
        .expect("parses");
    assert!(message.bcc().is_none(), "{eml}");
    assert!(!message.subject().unwrap_or("").contains('\n'));
    let body = message.body_text(0).expect("body");
    assert!(body.contains("{{ 7*7 }}") && !body.contains("49"), "{body}");
}

#[test]
fn eml_round_trips_through_a_mime_parser() {
    let file = INCIDENTS[0];
    let kb = kb();
    let text = transcript(file);
    let answers = expected_answers(file);
    let (evidence, verdict) = judge(&kb, &text, &answers);
    let input = PacketInput {
        kb: &kb,
        ticket: "T-1042",
        evidence: &evidence,
        verdict: &verdict,
        answers: &answers,
        target: None,
    };
    let mut opts = options(&text, false);
    opts.from = Some("Support Desk <desk@isp.example.net>".into());
    opts.to_address = Some("tier2@platform.example.net".into());
    let eml = report::render_with(&input, PacketFormat::Eml, &opts).expect("renders");
    let body = report::render_with(&input, PacketFormat::Text, &opts).expect("renders");
    let message = MessageParser::default()
        .parse(eml.as_bytes())
        .expect("parses");
    let from = message.from().and_then(|a| a.first()).expect("From");
    assert_eq!(
        (from.name(), from.address()),
        (Some("Support Desk"), Some("desk@isp.example.net"))
    );
    assert_eq!(
        message
            .to()
            .and_then(|a| a.first())
            .and_then(|a| a.address()),
        Some("tier2@platform.example.net")
    );
    assert_eq!(
        message.subject(),
        Some("[T-1042] auth-backend-fault: SMTP AUTH refused although the credentials are valid")
    );
    assert_eq!(message.date().map(|d| d.to_timestamp()), Some(DATE));
    let id = message.message_id().expect("Message-ID");
    assert!(
        id.starts_with("T-1042.") && id.ends_with("@isp.example.net"),
        "{id}"
    );
    assert_eq!(
        message
            .body_text(0)
            .expect("text body")
            .replace("\r\n", "\n"),
        body
    );
    let attachments: Vec<_> = message.attachments().collect();
    assert_eq!(attachments.len(), 1);
    let attachment = attachments[0];
    assert_eq!(attachment.attachment_name(), Some("transcript.txt"));
    let ctype = attachment.content_type().expect("content type");
    assert_eq!(
        (ctype.ctype(), ctype.subtype(), ctype.attribute("charset")),
        ("text", Some("plain"), Some("utf-8"))
    );
    let attached = String::from_utf8(attachment.contents().to_vec())
        .expect("UTF-8")
        .replace("\r\n", "\n");
    assert_eq!(attached.trim_end(), evidence.redacted_text().trim_end());
    let again = report::render_with(&input, PacketFormat::Eml, &opts).expect("renders");
    assert_eq!(eml, again, "the same packet gives the same bytes");
}

fn mailtriage() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_mailtriage"));
    cmd.env("SOURCE_DATE_EPOCH", DATE.to_string());
    cmd
}

#[test]
fn cli_writes_the_packet_to_a_file_and_nothing_else() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = dir.path().join("T-7.eml");
    let status = mailtriage()
        .args([
            "escalate",
            "--ticket",
            "T-7",
            "--format",
            "eml",
            "--answer",
            "receive_works=yes",
            "-o",
        ])
        .arg(&out)
        .arg(repo("transcripts").join(INCIDENTS[1]))
        .status()
        .expect("runs");
    assert!(status.success());
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .expect("dir")
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert_eq!(
        names,
        vec![std::ffi::OsString::from("T-7.eml")],
        "no temporary file is left behind"
    );
    let eml = std::fs::read(&out).expect("written");
    let message = MessageParser::default().parse(&eml).expect("parses");
    assert_eq!(
        message.subject(),
        Some("[T-7] auth-backend-fault: SMTP AUTH refused although the credentials are valid")
    );
}

#[test]
fn cli_rejects_an_unknown_target_and_names_the_known_ones() {
    let output = mailtriage()
        .args(["escalate", "--to", "the-firewall"])
        .arg(repo("transcripts").join(INCIDENTS[0]))
        .output()
        .expect("runs");
    assert_eq!(output.status.code(), Some(2));
    let err = String::from_utf8_lossy(&output.stderr);
    assert!(
        err.contains("the-firewall") && err.contains("sending-service") && err.contains("customer"),
        "{err}"
    );
}

#[test]
fn cli_prints_every_format() {
    for format in ["text", "markdown", "json", "eml"] {
        let output = mailtriage()
            .args(["escalate", "--format", format])
            .arg(repo("transcripts").join(INCIDENTS[2]))
            .output()
            .expect("runs");
        assert!(
            output.status.success(),
            "{format}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        assert!(!output.stdout.is_empty());
    }
}

#[test]
fn the_environment_names_looked_up_addresses_and_log_peers() {
    let file = "ptr-missing-01-exim-450-cannot-find-hostname.txt";
    let json = packet(
        &kb(),
        "t",
        &transcript(file),
        &Answers::new(),
        Some("sender-dns"),
        PacketFormat::Json,
        false,
    );
    let packet: serde_json::Value = serde_json::from_str(&json).expect("JSON");
    let env = &packet["environment"];
    assert_eq!(env["sources"][0]["address"], "198.51.100.23", "{env:#}");
    assert_eq!(env["sources"][0]["seen"], "reverse lookup");
    assert_eq!(env["servers"][0]["name"], "mx.example.org");
    assert_eq!(env["servers"][0]["address"], "192.0.2.60");
    assert_eq!(packet["onset"]["time"], "2024-06-04 08:00:12");
}

/// Escalation and classify must name the same diagnosis for the same input,
/// bounces included: a multi-recipient or encoded bounce is judged per
/// recipient and decoded in both.
#[test]
fn escalate_names_the_diagnosis_classify_names() {
    let dir = repo("tests/data/bounce");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert!(
        files.len() >= 3,
        "bounce test data missing in {}",
        dir.display()
    );
    for path in files {
        let path = path.to_str().unwrap();
        let packet = common::mailtriage(&["escalate", "--format", "json", path]);
        let packet: serde_json::Value =
            serde_json::from_slice(&packet.stdout).unwrap_or_else(|e| panic!("{path}: {e}"));
        let classified = common::mailtriage(&["classify", "--format", "jsonl", path]);
        // an mbox is one ticket per message for classify: compare the first
        let first = classified.stdout.split(|&b| b == b'\n').next().unwrap();
        let classified: serde_json::Value =
            serde_json::from_slice(first).unwrap_or_else(|e| panic!("{path}: {e}"));
        assert_eq!(
            packet["diagnosis"]["id"], classified["diagnosis"],
            "{path}: escalate and classify disagree"
        );
    }
}

/// A bounce or an accepted message shows sending got past the login and the
/// connection: a postmaster must not read "Wrong password" or "Firewall" as
/// open suspects in a delivery packet.
#[test]
fn delivery_packets_rule_out_the_login_and_the_firewall() {
    let ruled_out = |file: &str| -> Vec<String> {
        incident_json(file)["ruled_out"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["suspect"].as_str().unwrap().to_string())
            .collect()
    };
    let bounce = ruled_out("ip-blocklisted-01-postfix-bounce-spamhaus-sbl.txt");
    assert!(bounce.contains(&"password".to_string()), "{bounce:?}");
    let accepted = ruled_out("accepted-then-lost-01-postfix-log.txt");
    for suspect in ["password", "firewall"] {
        assert!(accepted.contains(&suspect.to_string()), "{accepted:?}");
    }
    // a refused login still leaves the password open
    let login = ruled_out("auth-bad-credentials-01-failing-session-only.txt");
    assert!(!login.contains(&"password".to_string()), "{login:?}");
}

/// No packet offers as an alternative a cause whose usual suspect it lists as
/// ruled out (the suspects' `stands_for`): "wrong password: ruled out" and
/// "alternative: the password is wrong" never stand in one packet.
#[test]
fn no_alternative_is_a_cause_the_packet_rules_out() {
    let kb = kb();
    let v = incident_json("auth-backend-fault-01-broadband-vs-dialup.txt");
    let causes = |key: &str| -> Vec<String> {
        v[key]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["cause"].as_str().unwrap_or_default().to_string())
            .collect()
    };
    assert!(
        !causes("alternatives").contains(&"auth-bad-credentials".to_string()),
        "{:#}",
        v["alternatives"]
    );
    for file in labelled_files() {
        let v = incident_json(&file);
        for s in v["ruled_out"].as_array().unwrap() {
            let suspect = kb.suspect(s["suspect"].as_str().unwrap()).unwrap();
            for a in v["alternatives"].as_array().unwrap() {
                let cause = a["cause"].as_str().unwrap();
                assert!(
                    !suspect.stands_for.iter().any(|c| c == cause),
                    "{file}: alternative {cause} while {} is ruled out",
                    suspect.id
                );
            }
        }
    }
}

/// A suspect ruled out because the session got through quotes the line that
/// shows it (the server's 220 banner), not the attempt's last reply (the 535).
#[test]
fn a_ruled_out_suspect_cites_the_line_that_shows_its_reason() {
    let v = incident_json("auth-backend-fault-01-broadband-vs-dialup.txt");
    let firewall = v["ruled_out"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["suspect"] == "firewall")
        .unwrap_or_else(|| panic!("firewall not ruled out: {:#}", v["ruled_out"]));
    let lines: Vec<&str> = firewall["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["text"].as_str().unwrap())
        .collect();
    assert_eq!(lines, ["220 mail.example.net ESMTP"], "{firewall:#}");
}

/// The access provider can act only on the customer's line: the packet names
/// its public address when the transcript shows one, says plainly what to add
/// when it does not, and never offers a destination's address as the source.
#[test]
fn the_access_isp_packet_identifies_the_line_or_says_what_is_missing() {
    let isp = |file: &str| {
        packet(
            &kb(),
            file,
            &transcript(file),
            &expected_answers(file),
            Some("access-isp"),
            PacketFormat::Text,
            false,
        )
    };
    let missing = "MISSING BEFORE SENDING";
    // an interface address: named, nothing missing
    let shown = isp("port25-blocked-03-nc-25-timeout-465-ok.txt");
    assert!(shown.contains("connection (203.0.113.118)"), "{shown}");
    assert!(!shown.contains(missing), "{shown}");
    // no address at all
    let none = isp("port25-blocked-01-telnet-25-vs-587.txt");
    assert!(none.contains(missing), "{none}");
    assert!(none.contains("public IP address"), "{none}");
    assert!(none.contains("line id"), "{none}");
    // only a private address behind the router (Test-NetConnection's SourceAddress)
    let private = isp("port25-blocked-07-test-netconnection-german-25-false-587-true.txt");
    assert!(private.contains(missing), "{private}");
    assert!(private.contains("(only 192.168.178.34"), "{private}");
    // a deferral naming the MX it could not reach is no source address
    let mta = isp("port25-blocked-04-own-mta-all-destinations-timeout.txt");
    assert!(mta.contains(missing), "{mta}");
    assert!(!mta.contains("connection (192.0.2.26"), "{mta}");
    assert!(
        mta.contains("server mx.example.org (192.0.2.60) port 25"),
        "{mta}"
    );
}
