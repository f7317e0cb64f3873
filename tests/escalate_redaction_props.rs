//! Property test: whatever the password, the username and the way a client
//! or tool logs the dialogue (direction marks, timestamps, line ends), no
//! credential of an AUTH exchange survives redaction.

use base64::Engine as _;
use mailtriage::evidence::redact::redact_text;
use proptest::prelude::*;

/// (client prefix, server prefix) pairs as tools print them.
const STYLES: &[(&str, &str)] = &[
    ("send: '", "reply: b'"),
    ("SMTP Send: ", "SMTP Response: "),
    ("C->S: ", "S->C: "),
    ("", ""),
    ("C: ", "S: "),
    (" -> ", "<-  "),
    (" ~> ", "<~  "),
    (">>> ", "<<< "),
    ("[tx] ", "[rx] "),
    ("CLIENT -> SERVER: ", "SERVER -> CLIENT: "),
    ("  SMTP>> ", "  SMTP<< "),
    ("--> ", "<-- "),
    ("> ", "< "),
    ("[SMTP] > ", "[SMTP] < "),
];
const STAMPS: &[&str] = &["", "10:41:20 ", "2024-06-04 10:41:20 ", "SMTP: 10:41:20 "];

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// One AUTH exchange in a given style; returns the text and the secrets in it.
fn session(
    mech: usize,
    user: &str,
    pass: &str,
    style: (&str, &str),
    stamp: &str,
    crlf: bool,
) -> (String, Vec<String>) {
    let (c, s) = style;
    let plain = b64(format!("\0{user}\0{pass}").as_bytes());
    let (lines, secrets): (Vec<String>, Vec<String>) = match mech {
        0 => (
            vec![
                format!("{c}AUTH LOGIN"),
                format!("{s}334 VXNlcm5hbWU6"),
                format!("{c}{}", b64(user.as_bytes())),
                format!("{s}334 UGFzc3dvcmQ6"),
                format!("{c}{}", b64(pass.as_bytes())),
                format!("{s}535 5.7.8 Error: authentication failed"),
            ],
            vec![b64(user.as_bytes()), b64(pass.as_bytes())],
        ),
        1 => (
            vec![
                format!("{c}AUTH LOGIN {}", b64(user.as_bytes())),
                format!("{s}334 UGFzc3dvcmQ6"),
                format!("{c}{}", b64(pass.as_bytes())),
                format!("{s}235 2.7.0 Authentication successful"),
            ],
            vec![b64(user.as_bytes()), b64(pass.as_bytes())],
        ),
        2 => (
            vec![
                format!("{c}AUTH PLAIN {plain}"),
                format!("{s}535 5.7.8 authentication failed"),
            ],
            vec![plain.clone()],
        ),
        3 => (
            vec![
                format!("{c}AUTH PLAIN"),
                format!("{s}334 "),
                format!("{c}{plain}"),
                format!("{s}235 2.7.0 ok"),
            ],
            vec![plain.clone()],
        ),
        _ => {
            let response = b64(format!("{user} 0123456789abcdef{}", pass.len()).as_bytes());
            (
                vec![
                    format!("{c}AUTH CRAM-MD5"),
                    format!("{s}334 PDE4OTYuNjk3MTcwOTUyQHBvc3RvZmZpY2UuZXhhbXBsZS5uZXQ+"),
                    format!("{c}{response}"),
                    format!("{s}235 2.7.0 ok"),
                ],
                vec![response],
            )
        }
    };
    let end = if crlf { "\r\n" } else { "\n" };
    // Python's smtplib prints each line as a quoted literal with its CRLF escaped
    let quoted = c.ends_with('\'');
    let text = lines
        .iter()
        .map(|l| {
            if quoted {
                format!("{stamp}{l}\\r\\n'{end}")
            } else {
                format!("{stamp}{l}{end}")
            }
        })
        .collect::<String>();
    (
        format!("220 smtp.example.net ESMTP{end}{stamp}{c}EHLO pc{end}{text}"),
        secrets,
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]
    #[test]
    fn no_credential_survives(
        mech in 0usize..5,
        user in "[a-z][a-z0-9.]{0,12}@example\\.(net|org)",
        pass in "[A-Za-z0-9!#%&*+=?^_~.-]{6,24}",
        style in 0..STYLES.len(),
        stamp in 0..STAMPS.len(),
        crlf in any::<bool>(),
    ) {
        let (text, secrets) = session(mech, &user, &pass, STYLES[style], STAMPS[stamp], crlf);
        let out = redact_text(&text);
        for secret in secrets.iter().chain([&pass]) {
            prop_assert!(!out.contains(secret.as_str()), "{secret:?} survived in:\n{out}");
        }
    }
}
