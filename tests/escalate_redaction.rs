//! No secret survives in any output: one test per credential form
//! (tests/data/redaction/<form>.txt, its secrets in <form>.secrets), and one
//! over every shipped transcript, whose credentials are found here
//! independently of the redaction code.

mod common;

use base64::Engine as _;
use common::*;
use mailtriage::engine::Answers;

const ALL_TARGETS: [Option<&str>; 6] = [
    None,
    Some("sending-service"),
    Some("access-isp"),
    Some("recipient-service"),
    Some("sender-dns"),
    Some("customer"),
];

fn check_form(form: &str) {
    let dir = repo("tests/data/redaction");
    let text = std::fs::read_to_string(dir.join(format!("{form}.txt"))).expect("form transcript");
    let secrets: Vec<String> = std::fs::read_to_string(dir.join(format!("{form}.secrets")))
        .expect("form secrets")
        .lines()
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect();
    assert!(!secrets.is_empty(), "{form}.secrets lists no secret");
    for secret in &secrets {
        assert!(
            present(&text, secret),
            "{form}: the secret {secret:?} is not in the transcript, so the test proves nothing"
        );
    }
    let outputs = all_outputs(&kb(), form, &text, &Answers::new(), &ALL_TARGETS);
    assert_no_secret(form, &outputs, &secrets);
}

/// The secret is in the text, literally or inside a base64 word.
fn present(text: &str, secret: &str) -> bool {
    let b64 = base64::engine::general_purpose::STANDARD;
    text.contains(secret)
        || text.split_whitespace().any(|w| {
            let w = w
                .trim_end_matches("\\r\\n'")
                .trim_matches(|c| c == '\'' || c == '"');
            b64.decode(w)
                .is_ok_and(|b| String::from_utf8_lossy(&b).contains(secret))
        })
}

#[test]
fn auth_login() {
    check_form("auth-login");
}

#[test]
fn auth_login_with_inline_username() {
    check_form("auth-login-inline-username");
}

#[test]
fn auth_plain_inline() {
    check_form("auth-plain-inline");
}

#[test]
fn auth_plain_on_the_next_line() {
    check_form("auth-plain-next-line");
}

#[test]
fn auth_cram_md5() {
    check_form("auth-cram-md5");
}

#[test]
fn auth_xoauth2() {
    check_form("auth-xoauth2");
}

#[test]
fn credentials_in_urls_and_user_pass_at_host() {
    check_form("url-credentials");
}

#[test]
fn authorization_headers() {
    check_form("authorization-header");
}

#[test]
fn swaks_auth_options() {
    check_form("swaks-options");
}

#[test]
fn curl_user_option() {
    check_form("curl-user");
}

#[test]
fn client_log_prefixes_outlook_phpmailer_python() {
    check_form("client-log-prefixes");
}

#[test]
fn pop3_pass_and_imap_login() {
    check_form("pop-imap-login");
}

#[test]
fn passwords_in_script_calls_powershell_dotnet_python_java() {
    check_form("script-credentials");
}

#[test]
fn relay_password_tables_config_settings_and_api_keys() {
    check_form("relay-config-and-api-keys");
}

#[test]
fn usernames_are_shown_decoded_only_when_asked() {
    let text =
        std::fs::read_to_string(repo("tests/data/redaction/auth-login.txt")).expect("transcript");
    let kb = kb();
    let hidden = packet(
        &kb,
        "t",
        &text,
        &Answers::new(),
        Some("sending-service"),
        mailtriage::report::PacketFormat::Text,
        false,
    );
    let shown = packet(
        &kb,
        "t",
        &text,
        &Answers::new(),
        Some("sending-service"),
        mailtriage::report::PacketFormat::Text,
        true,
    );
    assert!(!hidden.contains("dana@example.net"), "{hidden}");
    assert!(shown.contains("<username: dana@example.net>"), "{shown}");
}

#[test]
fn classify_shows_usernames_in_quotes_only_when_asked() {
    let text = std::fs::read_to_string(repo("tests/data/redaction/auth-login-inline-username.txt"))
        .expect("transcript");
    let ticket = mailtriage::ticket::Ticket {
        id: "t".into(),
        text: text.clone().into_bytes(),
        answers: Answers::new(),
        notes: vec![],
    };
    let mut result = mailtriage::classify::classify(&kb(), &ticket, &Answers::new());
    let hidden = serde_json::to_string(&result).expect("json");
    mailtriage::classify::show_usernames(&mut result, text.as_bytes());
    let shown = serde_json::to_string(&result).expect("json");
    assert!(!hidden.contains("erin@example.net"), "{hidden}");
    assert!(shown.contains("<username: erin@example.net>"), "{shown}");
    assert!(!shown.contains("Maple#Leaf77"), "{shown}");
}

/// Credentials in a transcript, found without the product's redaction code:
/// the client line after any `334` prompt, and initial responses after
/// `AUTH <mechanism>`; with their decoded passwords.
fn credentials_in(text: &str) -> Vec<String> {
    let b64 = base64::engine::general_purpose::STANDARD;
    let mut out = Vec::new();
    let mut prompt: Option<String> = None;
    for line in text.lines() {
        let words: Vec<&str> = line.split_whitespace().collect();
        if let Some(at) = words.iter().position(|w| *w == "334") {
            prompt = Some(words.get(at + 1).map(|w| w.to_string()).unwrap_or_default());
            continue;
        }
        if let Some(arg) = prompt.take() {
            let token = words
                .last()
                .map(|w| w.trim_matches(|c| c == '\'' || c == '"'))
                .unwrap_or("");
            // PHPMailer's debug output masks the line itself
            if !token.is_empty() && !line.contains("[credentials hidden]") {
                out.push(token.to_string());
                let asked = b64
                    .decode(arg)
                    .ok()
                    .map(|b| String::from_utf8_lossy(&b).to_lowercase())
                    .unwrap_or_default();
                if asked.starts_with("password") {
                    out.extend(
                        b64.decode(token)
                            .ok()
                            .map(|b| String::from_utf8_lossy(&b).into_owned()),
                    );
                }
            }
        }
        if let Some(at) = words.iter().position(|w| w.eq_ignore_ascii_case("AUTH")) {
            if let (Some(mech), Some(init)) = (words.get(at + 1), words.get(at + 2)) {
                // `250 AUTH PLAIN LOGIN` and `<~  250-AUTH ...` list mechanisms, not credentials
                let capability = words[..at].iter().any(|w| {
                    let code = w.trim_end_matches('-');
                    code.len() == 3 && code.bytes().all(|b| b.is_ascii_digit())
                });
                if words.len() == at + 3
                    && *init != "="
                    && !capability
                    && !line.trim_start().starts_with(|c: char| c.is_ascii_digit())
                {
                    out.push(init.to_string());
                    if mech.eq_ignore_ascii_case("PLAIN") {
                        let decoded = b64
                            .decode(init)
                            .ok()
                            .map(|b| String::from_utf8_lossy(&b).into_owned())
                            .unwrap_or_default();
                        out.extend(decoded.split('\0').nth(2).map(str::to_string));
                    }
                }
            }
        }
    }
    out.retain(|s| s.len() >= 4 && !s.contains("redacted"));
    out
}

#[test]
fn no_secret_from_any_shipped_transcript_appears_in_any_output() {
    let kb = kb();
    let mut checked = 0;
    let mut files: Vec<_> = std::fs::read_dir(repo("transcripts"))
        .expect("transcripts/")
        .flatten()
        .map(|e| e.path())
        .collect();
    files.sort();
    for path in files
        .iter()
        .filter(|p| p.extension().is_some_and(|e| e == "txt"))
    {
        let text = std::fs::read_to_string(path).expect("transcript");
        let secrets = credentials_in(&text);
        if secrets.is_empty() {
            continue;
        }
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let outputs = all_outputs(&kb, &name, &text, &expected_answers(&name), &[None]);
        assert_no_secret(&name, &outputs, &secrets);
        checked += 1;
    }
    assert!(
        checked >= 5,
        "only {checked} shipped transcripts hold credentials; the credential finder is broken"
    );
}
