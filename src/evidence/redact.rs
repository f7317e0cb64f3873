//! Redaction: finds credentials in a transcript and replaces them with a
//! marker that says what was there (`<redacted: password, 12 bytes>`).
//!
//! Owns: recognising secrets (AUTH LOGIN / PLAIN / CRAM-MD5 / XOAUTH2
//! responses, `user:pass@` in URLs, `Authorization:` headers, password
//! options and "password: ..." notes). Everything downstream sees only the
//! redacted lines, so no output can echo a secret.
//!
//! Must not touch: SMTP semantics beyond what locating a secret needs.

use base64::Engine as _;
use regex::Regex;
use serde::Serialize;
use std::hash::{Hash, Hasher};
use std::sync::LazyLock;

/// What kind of secret a redacted span held.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SecretKind {
    Username,
    Password,
    /// An AUTH PLAIN blob (authorisation id, user and password together).
    PlainBlob,
    /// A CRAM-MD5 or other challenge response.
    ChallengeResponse,
    /// An OAuth bearer token or XOAUTH2 blob.
    Token,
    /// Credentials in a URL or an `Authorization:` header.
    Credentials,
}

impl SecretKind {
    pub fn label(self) -> &'static str {
        match self {
            SecretKind::Username => "username",
            SecretKind::Password => "password",
            SecretKind::PlainBlob => "AUTH PLAIN credentials",
            SecretKind::ChallengeResponse => "challenge response",
            SecretKind::Token => "token",
            SecretKind::Credentials => "credentials",
        }
    }
}

/// One secret found on a line.
#[derive(Debug, Clone)]
pub struct SecretAt {
    /// 1-based line.
    pub line: usize,
    pub kind: SecretKind,
    pub bytes: usize,
    /// A fingerprint of the secret's value, for comparing attempts; never output.
    pub print: u64,
}

/// The redacted lines and what was removed from them.
#[derive(Debug, Clone, Default)]
pub struct Redacted {
    pub lines: Vec<String>,
    pub secrets: Vec<SecretAt>,
}

/// The marker that replaces a secret.
pub fn marker(kind: SecretKind, bytes: usize) -> String {
    format!("<redacted: {}, {} bytes>", kind.label(), bytes)
}

/// Redacts a whole text (any line ends), for callers outside the evidence layer.
pub fn redact_text(text: &str) -> String {
    let lines: Vec<String> = text.lines().map(str::to_string).collect();
    let mut out = redact_lines(&lines).lines.join("\n");
    if text.ends_with('\n') {
        out.push('\n');
    }
    out
}

static AUTH_CMD: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)^(?P<pre>.*?\bAUTH\s+)(?P<mech>[A-Z0-9_-]+)(?:\s+(?P<init>\S+))?\s*$").unwrap()
});
static PROMPT_334: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^(?:.*?[\s:<>~*-])?334(?:[ -](?P<arg>\S*))?\s*$").unwrap());
static REPLY_CODE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^\s*(?:(?:S:|<-|<~|<<<|<\*\*|<)\s*)?[2-5]\d\d(?:[ -]|$)").unwrap()
});
static CLIENT_PREFIX: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(?P<pre>\s*(?:C:|->|~>|>>>|>)?\s*)(?P<body>\S+)\s*$").unwrap()
});
static URL_CREDS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)(?P<pre>\b[a-z][a-z0-9+.-]*://)(?P<cred>[^/\s:@]+:[^/\s@]+)@").unwrap()
});
static AUTH_HEADER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)(?P<pre>\b(?:proxy-)?authorization:\s*(?:basic|bearer|digest)?\s*)(?P<cred>\S.*?)\s*$")
        .unwrap()
});
static PASSWORD_OPTION: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(?i)(?P<pre>(?:--auth-password|--password|\s-ap|\s-p(?:ass)?)[=\s]+)(?P<cred>"[^"]*"|'[^']*'|\S+)"#)
        .unwrap()
});
static USER_PASS_OPTION: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(?i)(?P<pre>(?:--user|\s-u)[=\s]+)(?P<cred>[^\s:]+:\S+)"#).unwrap()
});
static PASSWORD_NOTE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(?i)(?P<pre>\b(?:password|passwort|passwd|pwd|pw)\b\s*(?:is|was|[:=])\s*)(?P<cred>"[^"]+"|'[^']+'|[^\s,;]+)"#)
        .unwrap()
});

/// What the next client line(s) of an AUTH exchange will carry.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Expect {
    Nothing,
    /// AUTH LOGIN: next is the username unless a prompt says otherwise.
    Login { next: SecretKind },
    Plain,
    Challenge,
    Token,
}

/// Redacts every line, tracking AUTH exchanges across lines.
pub fn redact_lines(lines: &[String]) -> Redacted {
    let mut out = Redacted {
        lines: Vec::with_capacity(lines.len()),
        secrets: Vec::new(),
    };
    let mut expect = Expect::Nothing;
    for (index, line) in lines.iter().enumerate() {
        let no = index + 1;
        let (text, next) = redact_line(line, expect, no, &mut out.secrets);
        expect = next;
        out.lines.push(text);
    }
    out
}

fn redact_line(line: &str, expect: Expect, no: usize, secrets: &mut Vec<SecretAt>) -> (String, Expect) {
    if let Some(caps) = AUTH_CMD.captures(line) {
        if !REPLY_CODE.is_match(line) && looks_like_auth_command(&caps["pre"]) {
            return redact_auth_command(line, &caps, no, secrets);
        }
    }
    if let Some(caps) = PROMPT_334.captures(line) {
        let arg = caps.name("arg").map(|m| m.as_str()).unwrap_or("");
        return (line.to_string(), expect_after_prompt(expect, arg));
    }
    if expect != Expect::Nothing && !REPLY_CODE.is_match(line) {
        if let Some(caps) = CLIENT_PREFIX.captures(line) {
            let body = &caps["body"];
            if body == "*" {
                return (line.to_string(), Expect::Nothing);
            }
            let kind = match expect {
                Expect::Login { next } => next,
                Expect::Plain => SecretKind::PlainBlob,
                Expect::Challenge => SecretKind::ChallengeResponse,
                Expect::Token => SecretKind::Token,
                Expect::Nothing => unreachable!("checked above"),
            };
            record(secrets, no, kind, body);
            let next = match expect {
                Expect::Login { next: SecretKind::Username } => Expect::Login {
                    next: SecretKind::Password,
                },
                _ => Expect::Nothing,
            };
            return (format!("{}{}", &caps["pre"], marker(kind, body.len())), next);
        }
    }
    let keep_expect = if line.trim().is_empty() { expect } else { Expect::Nothing };
    (redact_inline(line, no, secrets), keep_expect)
}

/// Only a client-side AUTH counts: prose such as "SMTP AUTH failed" does not.
fn looks_like_auth_command(pre: &str) -> bool {
    let before = pre.trim_end();
    let before = &before[..before.len().saturating_sub(4)];
    let before = before.trim();
    before.is_empty()
        || ["C:", "->", "~>", ">>>", ">"].iter().any(|p| before.ends_with(p))
}

fn redact_auth_command(
    line: &str,
    caps: &regex::Captures,
    no: usize,
    secrets: &mut Vec<SecretAt>,
) -> (String, Expect) {
    let mech = caps["mech"].to_ascii_uppercase();
    let next = match mech.as_str() {
        "LOGIN" => Expect::Login {
            next: if caps.name("init").is_some() {
                SecretKind::Password
            } else {
                SecretKind::Username
            },
        },
        "PLAIN" => Expect::Plain,
        "CRAM-MD5" | "DIGEST-MD5" | "NTLM" | "GSSAPI" => Expect::Challenge,
        "XOAUTH2" | "OAUTHBEARER" => Expect::Token,
        _ => Expect::Challenge,
    };
    let Some(init) = caps.name("init") else {
        return (line.to_string(), next);
    };
    if init.as_str() == "=" {
        return (line.to_string(), next);
    }
    let kind = match mech.as_str() {
        "LOGIN" => SecretKind::Username,
        "PLAIN" => SecretKind::PlainBlob,
        "XOAUTH2" | "OAUTHBEARER" => SecretKind::Token,
        _ => SecretKind::ChallengeResponse,
    };
    record(secrets, no, kind, init.as_str());
    let text = format!("{}{} {}", &caps["pre"], &caps["mech"], marker(kind, init.len()));
    let after = if mech == "LOGIN" { next } else { Expect::Nothing };
    (text, after)
}

/// A 334 prompt names what the client sends next (base64 `Username:` / `Password:`).
fn expect_after_prompt(expect: Expect, arg: &str) -> Expect {
    let decoded = decode_prompt(arg).to_ascii_lowercase();
    match expect {
        Expect::Login { .. } | Expect::Nothing if decoded.starts_with("username") || decoded.starts_with("user") => {
            Expect::Login { next: SecretKind::Username }
        }
        Expect::Login { .. } | Expect::Nothing if decoded.starts_with("password") => {
            Expect::Login { next: SecretKind::Password }
        }
        Expect::Nothing => Expect::Nothing,
        other => other,
    }
}

/// Decodes a base64 334 prompt; returns "" when it is not base64 text.
pub fn decode_prompt(arg: &str) -> String {
    base64::engine::general_purpose::STANDARD
        .decode(arg.trim())
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .filter(|s| s.chars().all(|c| !c.is_control()))
        .unwrap_or_default()
}

fn redact_inline(line: &str, no: usize, secrets: &mut Vec<SecretAt>) -> String {
    let mut text = line.to_string();
    for (re, kind) in [
        (&*URL_CREDS, SecretKind::Credentials),
        (&*AUTH_HEADER, SecretKind::Credentials),
        (&*USER_PASS_OPTION, SecretKind::Credentials),
        (&*PASSWORD_OPTION, SecretKind::Password),
        (&*PASSWORD_NOTE, SecretKind::Password),
    ] {
        if re.is_match(&text) {
            text = replace_cred(&text, re, kind, no, secrets);
        }
    }
    text
}

fn replace_cred(text: &str, re: &Regex, kind: SecretKind, no: usize, secrets: &mut Vec<SecretAt>) -> String {
    re.replace_all(text, |caps: &regex::Captures| {
        let cred = &caps["cred"];
        if cred.starts_with("<redacted:") {
            return caps[0].to_string();
        }
        record(secrets, no, kind, cred);
        let whole = &caps[0];
        let tail = &whole[caps.name("cred").unwrap().end() - caps.get(0).unwrap().start()..];
        format!("{}{}{}", &caps["pre"], marker(kind, cred.len()), tail)
    })
    .into_owned()
}

fn record(secrets: &mut Vec<SecretAt>, line: usize, kind: SecretKind, value: &str) {
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    value.hash(&mut hasher);
    secrets.push(SecretAt {
        line,
        kind,
        bytes: value.len(),
        print: hasher.finish(),
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn redact(text: &str) -> Redacted {
        let lines: Vec<String> = text.lines().map(str::to_string).collect();
        redact_lines(&lines)
    }

    #[test]
    fn auth_login_username_and_password_are_redacted() {
        let r = redact("AUTH LOGIN\n334 VXNlcm5hbWU6\nYWxpY2VAZXhhbXBsZS5uZXQ=\n334 UGFzc3dvcmQ6\nczNjcjN0\n535 no");
        assert_eq!(r.lines[2], "<redacted: username, 24 bytes>");
        assert_eq!(r.lines[4], "<redacted: password, 8 bytes>");
        assert_eq!(r.lines[5], "535 no");
        assert_eq!(r.secrets.len(), 2);
    }

    #[test]
    fn prefixed_auth_plain_on_next_line_is_redacted() {
        let r = redact("C: AUTH PLAIN\nS: 334 \nC: AGFsaWNlAHMzY3IzdA==\nS: 235 ok");
        assert_eq!(r.lines[2], "C: <redacted: AUTH PLAIN credentials, 20 bytes>");
    }

    #[test]
    fn inline_auth_plain_blob_is_redacted() {
        let r = redact("-> AUTH PLAIN AGFsaWNlAHMzY3IzdA==");
        assert_eq!(r.lines[0], "-> AUTH PLAIN <redacted: AUTH PLAIN credentials, 20 bytes>");
    }

    #[test]
    fn url_header_and_note_passwords_are_redacted() {
        let r = redact("smtp://bob:hunter2@mail.example.com\nAuthorization: Basic Ym9iOmh1bnRlcjI=\nhis password is hunter2, he says");
        assert!(!r.lines.join("\n").contains("hunter2"));
        assert!(!r.lines.join("\n").contains("Ym9iOmh1bnRlcjI="));
    }

    #[test]
    fn prose_about_auth_is_left_alone() {
        let r = redact("Customer says SMTP AUTH fails\nnext line stays");
        assert_eq!(r.lines[1], "next line stays");
        assert!(r.secrets.is_empty());
    }
}
