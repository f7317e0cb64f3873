//! Redaction: finds credentials in a transcript and replaces them with a
//! marker that says what was there (`<redacted: password, 12 bytes>`).
//!
//! Owns: recognising secrets (AUTH LOGIN / PLAIN / CRAM-MD5 / XOAUTH2 and
//! other SASL responses, in bare telnet pastes and in the log forms of swaks,
//! Outlook, PHPMailer, Python and MTA debug output; `user:pass@` with or
//! without a URL scheme; `Authorization:` headers; password and user options
//! of swaks and curl; POP3 `PASS` and IMAP `LOGIN`; "password: ..." notes
//! and settings, camelCase ones too (`SmtpPassword`, `AuthPass=`); client
//! password tables (Postfix `sasl_passwd` and `static:user:pass`, Exim
//! `passwd.client`); sending services' API keys by their shape and token
//! headers or settings (`X-Postmark-Server-Token:`, `API_KEY=`).
//! Everything downstream sees only the redacted lines, so no output can echo
//! a secret. Usernames may be shown decoded ([`RedactOptions`]); passwords,
//! blobs and tokens never are.
//!
//! Must not touch: SMTP semantics beyond what locating a secret needs.
//!
//! Why a state machine: after `AUTH LOGIN` or a `334` prompt, the secret is
//! the *next* client line, which on its own looks like any base64 word. A
//! `334` reply is only ever sent inside an AUTH exchange (RFC 4954), so any
//! `334` makes the next client line a secret even when the AUTH command
//! itself was not recognised; only a final reply (any code but 334) ends the
//! exchange. Over-redacting a harmless word is preferred to leaking.

use crate::prefilter::Prefilter;
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

/// How much redaction may reveal.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RedactOptions {
    /// Show usernames (decoded from base64 where they are encoded) as
    /// `<username: alice@example.net>`, and name the user inside AUTH PLAIN
    /// and CRAM-MD5 markers. Passwords, blobs and tokens stay hidden.
    pub show_usernames: bool,
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
    redact_text_with(text, RedactOptions::default())
}

/// As [`redact_text`], with options.
pub fn redact_text_with(text: &str, options: RedactOptions) -> String {
    let normalised = text.replace("\r\n", "\n").replace('\r', "\n");
    let lines: Vec<String> = normalised.lines().map(str::to_string).collect();
    let mut out = redact_lines_with(&lines, options).lines.join("\n");
    if normalised.ends_with('\n') {
        out.push('\n');
    }
    out
}

/// SASL mechanism names (longest first: the regex takes the first alternative that fits).
const MECHS: &str = r"PLAIN-CLIENTTOKEN|PLAIN|LOGIN|CRAM-MD5|DIGEST-MD5|SCRAM-SHA-256-PLUS|SCRAM-SHA-256|SCRAM-SHA-1-PLUS|SCRAM-SHA-1|XOAUTH2|XOAUTH|OAUTHBEARER|NTLM|GSSAPI|EXTERNAL|ANONYMOUS|MSN|KERBEROS_V4|SRP|X-[A-Z0-9-]+";

static AUTH_CMD: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(&format!(
        r#"(?i)^(?P<pre>.*?)\bAUTH(?:ENTICATE)?\s+(?P<mech>{MECHS})(?:\s+(?P<init>[A-Za-z0-9+/=._~:-]+))?(?P<tail>(?:\\r)?(?:\\n)?['"]?\)?\s*)$"#
    ))
    .unwrap()
});
static MECH_NAME: LazyLock<crate::shared_regex::SharedRegex> =
    LazyLock::new(|| crate::shared_regex::SharedRegex::unicode(&format!(r"(?i)^(?:{MECHS})$")));
/// A reply code where a server line starts its reply (after any log prefix).
static REPLY_CODE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(?:^|[\s:<>~*'"(\[\]-])(?P<code>[2-5]\d\d)(?:[ -]|\\r|'|$)"#).unwrap()
});
/// Text just before `AUTH` that makes it an EHLO capability line (`250-AUTH ...`).
static CAPABILITY_PRE: LazyLock<crate::shared_regex::SharedRegex> =
    LazyLock::new(|| crate::shared_regex::SharedRegex::unicode(r"[2-5]\d\d[ -]\s*$"));
/// How log formats mark what the client sent, at the end of a line's prefix.
static CLIENT_MARK: LazyLock<crate::shared_regex::SharedRegex> = LazyLock::new(|| {
    crate::shared_regex::SharedRegex::unicode(
        r#"(?i)(?:^|[\s\]:)|])(?:C:|C>|C->S:?|->|-->|~>|=>|>|>>|>>>|\*>|\[tx\]|\[c\]|tx:|SMTP>>|send:|sent:|sending:|write:|out:|client:|CLIENT\s*->\s*SERVER:|>\s*\S+\[[0-9a-f.:]+\]:\d+:)\s*(?:b?['"])?$"#,
    )
});
/// How log formats mark what the server sent.
static SERVER_MARK: LazyLock<crate::shared_regex::SharedRegex> = LazyLock::new(|| {
    crate::shared_regex::SharedRegex::unicode(
        r"(?i)(?:^|[\s\]:])(?:S:|S->C:?|<-|<--|<~|<|<<|<<<|<\*\*|\[rx\]|rx:|SMTP<<|reply:|retcode|recv:|received:|response:|SERVER\s*->\s*CLIENT:)(?:\s|$)",
    )
});
/// A prefix made only of a timestamp or counters.
static TIMESTAMP_PRE: LazyLock<crate::shared_regex::SharedRegex> =
    LazyLock::new(|| crate::shared_regex::SharedRegex::unicode(r"^[\s\d:./,+\-\[\]()TZ]*$"));
static URL_CREDS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)(?P<pre>\b[a-z][a-z0-9+.-]*://)(?P<cred>[^/\s:@]+:[^/\s@]+)@").unwrap()
});
/// `user:pass@host` without a scheme (curl `-x`, config lines, notes).
static BARE_CREDS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(?P<pre>(?:^|[\s'"=(<]))(?P<cred>[A-Za-z0-9._%+!-]+:[^\s/@:'"<>;()]+)@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+"#).unwrap()
});
/// Postfix's `static:user:password` lookup table (`smtp_sasl_password_maps =
/// static:alice@example.com:secret`): the user may hold an `@`, so the bare
/// `user:pass@host` form would take the map type for the user and leave the
/// password.
static STATIC_MAP: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r#"(?P<pre>\bstatic:)(?P<cred>[^\s:'"]+:[^\s'"]+)"#).unwrap());
/// A client password table line: Postfix's `sasl_passwd` (`[smtp.example.net]:587
/// alice@example.com:secret`, the host optionally bracketed and with a port) and
/// Exim's `passwd.client` (`*.example.net:alice@example.com:secret`): a host,
/// then `user:password` ending the line.
static PASSWORD_TABLE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"^(?P<pre>\s*(?:(?:\[[A-Za-z0-9.-]+\]|[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+)(?::\d{1,5})?\s+|(?:\*|\*?[A-Za-z0-9*-]*(?:\.[A-Za-z0-9-]+)+):))(?P<cred>[A-Za-z0-9._%+@-]*[A-Za-z._%+@-][A-Za-z0-9._%+@-]*:\S+)\s*$"#).unwrap()
});
/// Sending services' API keys, recognisable by their shape wherever they
/// stand: SendGrid's `SG.<id>.<secret>`, Mailgun's `key-<32 hex>`, Brevo's
/// `xkeysib-`/`xsmtpsib-` keys.
static API_KEY: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(?P<pre>(?:^|[^A-Za-z0-9_-]))(?P<cred>SG\.[A-Za-z0-9_-]{16,}\.[A-Za-z0-9_-]{16,}|key-[0-9a-f]{32}|x(?:keysib|smtpsib)-[0-9a-f]{32,}(?:-[A-Za-z0-9]{8,})?)"#).unwrap()
});
/// An API key or token handed over as a header (`X-Postmark-Server-Token:`,
/// `X-Api-Key:`, `api-key:`) or a setting (`API_KEY=`, `"apiKey": "..."`,
/// `aws_secret_access_key =`).
static TOKEN_SETTING: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(?i)(?P<pre>(?:\bx-[a-z-]*-token|\bx-api-key|\bapi-key)\s*:\s*|(?:\b|_)(?:api_?key|secret(?:_access)?_key|access_token|auth_token|server_token)\b["']?\s*[:=]\s*)(?P<cred>"[^"]+"|'[^']+'|[^\s,;"'}]+)"#).unwrap()
});
static AUTH_HEADER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)(?P<pre>\b(?:proxy-)?authorization:\s*(?:basic|bearer|digest|ntlm|negotiate)?\s*)(?P<cred>\S.*?)\s*$")
        .unwrap()
});
static PASSWORD_OPTION: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(?i)(?P<pre>(?:--auth-password|--auth-pass|--password|--pass|\s--?ap|\s--?pw|\s-p(?:ass)?)[=\s]+)(?P<cred>"[^"]*"|'[^']*'|\S+)"#)
        .unwrap()
});
static USERNAME_OPTION: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(?i)(?P<pre>(?:--auth-user|\s--?au)[=\s]+)(?P<cred>"[^"]*"|'[^']*'|[^\s\\]+)"#)
        .unwrap()
});
static USER_PASS_OPTION: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(?i)(?P<pre>(?:--user|\s-u)[=\s]+)(?P<cred>["']?[^\s:'"]+:[^\s'"]+["']?)"#)
        .unwrap()
});
static PASSWORD_NOTE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(?i)(?P<pre>(?:(?:\b|_)(?:(?:password|passwort|passwd|pwd|pw)\b["']?\s*(?:is|was|[:=])|pass\b["']?\s*[:=])|(?-i:[a-z0-9](?:Pass(?:word|wd)?|PASS(?:WORD)?))\b["']?\s*[:=])\s*)(?P<cred>"[^"]+"|'[^']+'|[^\s,;"'}]+)"#)
        .unwrap()
});
/// POP3 `PASS secret` (and FTP), typed by hand in a telnet test.
static POP_PASS: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^(?P<pre>.*?(?:^|[\s:>])PASS\s+)(?P<cred>\S+)\s*$").unwrap());
/// IMAP `a1 LOGIN user password`.
static IMAP_LOGIN: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(?i)^(?P<pre>\s*(?:C:|>|->|~>)?\s*[A-Za-z]{0,4}\d*\s+LOGIN\s+(?:"[^"]*"|\S+)\s+)(?P<cred>"[^"]*"|\S+)\s*$"#).unwrap()
});
/// PowerShell's `ConvertTo-SecureString 'secret' -AsPlainText`: the plain
/// text a script turns into a credential (flags may come first, `-String`
/// may name it).
static SECURE_STRING: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(?i)(?P<pre>\bConvertTo-SecureString(?:\s+-(?:AsPlainText|Force))*\s+(?:-String\s+)?)(?P<cred>"[^"]*"|'[^']*'|[^\s()$-][^\s()]*)"#)
        .unwrap()
});
/// A quoted password as the second argument of a login call in a script or a
/// traceback's source line: Python's `smtplib` `login("user", "secret")`, .NET
/// `NetworkCredential`, JavaMail `PasswordAuthentication`.
static LOGIN_CALL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(?P<pre>(?:\.login|\bNetworkCredential|\bPasswordAuthentication)\s*\(\s*(?:"[^"]*"|'[^']*'|[\w.\[\]'"]+)\s*,\s*)(?P<cred>"[^"]*"|'[^']*')"#)
        .unwrap()
});

/// The credential patterns of one line, in the order they are tried.
fn inline_patterns() -> [(&'static Regex, SecretKind); 15] {
    [
        (&*URL_CREDS, SecretKind::Credentials),
        (&*AUTH_HEADER, SecretKind::Credentials),
        (&*USER_PASS_OPTION, SecretKind::Credentials),
        (&*STATIC_MAP, SecretKind::Credentials),
        (&*PASSWORD_TABLE, SecretKind::Credentials),
        (&*BARE_CREDS, SecretKind::Credentials),
        (&*API_KEY, SecretKind::Token),
        (&*TOKEN_SETTING, SecretKind::Token),
        (&*PASSWORD_OPTION, SecretKind::Password),
        (&*USERNAME_OPTION, SecretKind::Username),
        (&*IMAP_LOGIN, SecretKind::Password),
        (&*POP_PASS, SecretKind::Password),
        (&*SECURE_STRING, SecretKind::Password),
        (&*LOGIN_CALL, SecretKind::Password),
        (&*PASSWORD_NOTE, SecretKind::Password),
    ]
}

/// The literals of [`inline_patterns`]: a line lacking all of a pattern's
/// literals cannot hold what it looks for (see [`crate::prefilter`]).
static INLINE_PREFILTER: LazyLock<Prefilter> =
    LazyLock::new(|| Prefilter::new(inline_patterns().iter().map(|(re, _)| re.as_str())));

/// What the next client line(s) of an AUTH exchange will carry.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Expect {
    Nothing,
    /// AUTH LOGIN: next is the username unless a prompt says otherwise.
    Login {
        next: SecretKind,
    },
    Plain,
    Challenge,
    Token,
}

impl Expect {
    fn kind(self) -> Option<SecretKind> {
        match self {
            Expect::Nothing => None,
            Expect::Login { next } => Some(next),
            Expect::Plain => Some(SecretKind::PlainBlob),
            Expect::Challenge => Some(SecretKind::ChallengeResponse),
            Expect::Token => Some(SecretKind::Token),
        }
    }

    /// What follows once the client answered.
    fn after_response(self) -> Expect {
        match self {
            Expect::Login {
                next: SecretKind::Username,
            } => Expect::Login {
                next: SecretKind::Password,
            },
            _ => Expect::Nothing,
        }
    }
}

/// Redacts every line, tracking AUTH exchanges across lines.
pub fn redact_lines(lines: &[String]) -> Redacted {
    redact_lines_with(lines, RedactOptions::default())
}

/// As [`redact_lines`], with options.
pub fn redact_lines_with(lines: &[String], options: RedactOptions) -> Redacted {
    let mut state = State {
        options,
        secrets: Vec::new(),
        expect: Expect::Nothing,
        header: None,
    };
    let lines = lines
        .iter()
        .enumerate()
        .map(|(index, line)| state.line(line, index + 1))
        .collect();
    Redacted {
        lines,
        secrets: state.secrets,
    }
}

struct State {
    options: RedactOptions,
    secrets: Vec<SecretAt>,
    expect: Expect,
    /// The shape of the log header before the last `334` (digits as `0`):
    /// a client line with the same header belongs to the same log.
    header: Option<String>,
}

impl State {
    fn line(&mut self, line: &str, no: usize) -> String {
        if let Some(text) = self.auth_command(line, no) {
            return text;
        }
        if let Some((arg, header)) = prompt_arg(line) {
            self.expect = expect_after_prompt(self.expect, &arg);
            self.header = Some(shape(header));
            return line.to_string();
        }
        if let Some(kind) = self.expect.kind() {
            if let Some(text) = self.response(line, kind, no) {
                return text;
            }
        }
        // (a final reply only matters inside an exchange)
        if self.expect != Expect::Nothing && final_reply(line, self.header.as_deref()) {
            self.expect = Expect::Nothing;
        }
        self.inline(line, no)
    }

    /// An `AUTH <mech> [initial-response]` command; `None` when the line is not one.
    fn auth_command(&mut self, line: &str, no: usize) -> Option<String> {
        // the pattern needs the word AUTH, in any case; most lines lack it
        if !line
            .as_bytes()
            .windows(4)
            .any(|w| w.eq_ignore_ascii_case(b"auth"))
        {
            return None;
        }
        let caps = AUTH_CMD.captures(line)?;
        let pre = caps.name("pre").map_or("", |m| m.as_str());
        if CAPABILITY_PRE.is_match_str(pre) || SERVER_MARK.is_match_str(pre) {
            return None;
        }
        let mech = caps["mech"].to_ascii_uppercase();
        let init = caps.name("init").filter(|m| m.as_str() != "=");
        match init {
            // `250 AUTH LOGIN PLAIN` quoted without its code, or prose naming two mechanisms
            Some(m) if MECH_NAME.is_match_str(m.as_str()) => None,
            Some(m) if !client_prefix(pre) && decode_any(m.as_str()).is_none() => None,
            Some(m) => {
                let kind = initial_kind(&mech);
                let shown = self.conceal(kind, m.as_str(), no);
                self.expect = if mech == "LOGIN" {
                    Expect::Login {
                        next: SecretKind::Password,
                    }
                } else {
                    Expect::Nothing
                };
                Some(format!(
                    "{}{}{}",
                    &line[..m.start()],
                    shown,
                    &line[m.end()..]
                ))
            }
            None if client_prefix(pre) => {
                self.expect = expect_for(&mech);
                Some(line.to_string())
            }
            None => None,
        }
    }

    /// The client's answer inside an AUTH exchange; `None` when the line is not one.
    fn response(&mut self, line: &str, kind: SecretKind, no: usize) -> Option<String> {
        let trimmed = line.trim_end();
        if trimmed.trim().is_empty() || SERVER_MARK.is_match_str(trimmed) {
            return None;
        }
        let start = trimmed.rfind(char::is_whitespace).map_or(0, |i| i + 1);
        let (pre, token) = trimmed.split_at(start);
        if !client_prefix(pre) && self.header.as_deref() != Some(shape(pre).as_str()) {
            return None;
        }
        let (lead, core, tail) = unquote(token);
        if core.is_empty()
            || (pre.trim().is_empty() && REPLY_CODE.is_match(core) && core.len() == 3)
        {
            return None;
        }
        if core == "*" {
            self.expect = Expect::Nothing;
            return Some(line.to_string());
        }
        let shown = self.conceal(kind, core, no);
        self.expect = self.expect.after_response();
        Some(format!("{pre}{lead}{shown}{tail}"))
    }

    /// Records a secret and returns what replaces it.
    fn conceal(&mut self, kind: SecretKind, value: &str, no: usize) -> String {
        record(&mut self.secrets, no, kind, value);
        if !self.options.show_usernames {
            return marker(kind, value.len());
        }
        match kind {
            SecretKind::Username => match decode_b64(value).filter(|u| showable(u)) {
                Some(user) => format!("<username: {user}>"),
                None if showable(value) && decode_b64(value).is_none() => {
                    format!("<username: {value}>")
                }
                None => marker(kind, value.len()),
            },
            SecretKind::PlainBlob | SecretKind::ChallengeResponse => match user_inside(kind, value)
            {
                Some(user) => format!(
                    "<redacted: {}, {} bytes; username: {user}>",
                    kind.label(),
                    value.len()
                ),
                None => marker(kind, value.len()),
            },
            _ => marker(kind, value.len()),
        }
    }

    fn inline(&mut self, line: &str, no: usize) -> String {
        let mut text = line.to_string();
        // Each pattern is tried on the text as the patterns before it left
        // it; the prefilter, asked again after every replacement, only
        // skips a pattern whose literals the current text lacks.
        let mut candidates = INLINE_PREFILTER.candidates(&text);
        for (i, (re, kind)) in inline_patterns().into_iter().enumerate() {
            if !candidates.contains(i) {
                continue;
            }
            if re.is_match(&text) {
                text = self.replace(&text, re, kind, no);
                candidates = INLINE_PREFILTER.candidates(&text);
            }
        }
        text
    }

    fn replace(&mut self, text: &str, re: &Regex, kind: SecretKind, no: usize) -> String {
        re.replace_all(text, |caps: &regex::Captures| {
            let cred = caps
                .name("cred")
                .expect("every credential pattern names `cred`");
            let value = cred.as_str();
            if value.contains("<redacted:")
                || value.starts_with("<username:")
                || not_a_secret(&caps[0], value)
            {
                return caps[0].to_string();
            }
            let whole = caps.get(0).expect("group 0 always exists");
            let tail = &whole.as_str()[cred.end() - whole.start()..];
            let bare = value.trim_matches(|c| c == '"' || c == '\'');
            let shown = self.conceal(kind, bare, no);
            format!("{}{}{}", &caps["pre"], shown, tail)
        })
        .into_owned()
    }
}

/// Words a pattern caught that are not secrets: `swaks -p 587` names a port,
/// "the password is correct" is prose, `mailto:a@b` is an address.
fn not_a_secret(whole: &str, value: &str) -> bool {
    let option = whole
        .trim_start()
        .split(['=', ' ', '\t'])
        .next()
        .unwrap_or("");
    if matches!(option, "-p" | "-pw" | "-pass") && value.chars().all(|c| c.is_ascii_digit()) {
        return true;
    }
    let word = value
        .trim_matches(|c: char| !c.is_alphanumeric())
        .to_ascii_lowercase();
    if PROSE_WORDS.contains(&word.as_str()) {
        return true;
    }
    let user = value.split(':').next().unwrap_or("").to_ascii_lowercase();
    // Exim logs the authenticator and the user as `A=dovecot_login:alice@example.net`
    let authenticator = ["login", "plain", "cram", "sasl"]
        .iter()
        .any(|m| user.contains(m));
    value.contains(':')
        && (NOT_USERS.contains(&user.as_str())
            || authenticator
            || HEADER_NAME.is_match_str(value.split(':').next().unwrap_or("")))
}

/// Words that follow "password is" in notes without being a password.
const PROSE_WORDS: &[&str] = &[
    "correct",
    "incorrect",
    "right",
    "wrong",
    "fine",
    "ok",
    "okay",
    "valid",
    "invalid",
    "rejected",
    "accepted",
    "the",
    "not",
    "definitely",
    "same",
    "changed",
    "reset",
    "expired",
    "saved",
    "correctly",
    "known",
    "unchanged",
    "good",
    "bad",
    "set",
    "new",
    "old",
    "still",
    "being",
    "also",
    "now",
    "required",
    "needed",
    "missing",
    "empty",
    "in",
    "on",
    "there",
    "stored",
    "entered",
    "typed",
    "blank",
    "a",
    "an",
];

/// `Mail-From:a@b` in a header without its space: a header name, not a user.
static HEADER_NAME: LazyLock<crate::shared_regex::SharedRegex> =
    LazyLock::new(|| crate::shared_regex::SharedRegex::unicode(r"^[A-Z][A-Za-z]*(?:-[A-Za-z]+)+$"));

/// Prefixes of `word:x@host` that are header names or URI schemes, not users.
const NOT_USERS: &[&str] = &[
    "mailto",
    "to",
    "from",
    "cc",
    "bcc",
    "sender",
    "rcpt",
    "mail",
    "for",
    "by",
    "smtp.mailfrom",
    "header.from",
    "envelope-from",
    "return-path",
    "reply-to",
    "delivered-to",
    "x-original-to",
    "original-recipient",
    "final-recipient",
    "sip",
    "xmpp",
    "user",
    "address",
    "recipient",
];

fn initial_kind(mech: &str) -> SecretKind {
    match mech {
        "LOGIN" => SecretKind::Username,
        "PLAIN" => SecretKind::PlainBlob,
        "XOAUTH2" | "XOAUTH" | "OAUTHBEARER" | "PLAIN-CLIENTTOKEN" => SecretKind::Token,
        _ => SecretKind::ChallengeResponse,
    }
}

fn expect_for(mech: &str) -> Expect {
    match mech {
        "LOGIN" => Expect::Login {
            next: SecretKind::Username,
        },
        "PLAIN" => Expect::Plain,
        "XOAUTH2" | "XOAUTH" | "OAUTHBEARER" | "PLAIN-CLIENTTOKEN" => Expect::Token,
        _ => Expect::Challenge,
    }
}

/// Whether the text before a client word is a plausible client-line prefix.
fn client_prefix(pre: &str) -> bool {
    let pre = pre.trim_end();
    pre.is_empty()
        || (!SERVER_MARK.is_match_str(pre)
            && (CLIENT_MARK.is_match_str(pre) || TIMESTAMP_PRE.is_match_str(pre)))
}

/// Splits quoting around a logged word: `b'…\r\n'` → (`b'`, `…`, `\r\n'`).
fn unquote(token: &str) -> (&str, &str, &str) {
    let lead_len = ["b'", "b\"", "'", "\""]
        .iter()
        .find(|q| token.starts_with(*q))
        .map_or(0, |q| q.len());
    let rest = &token[lead_len..];
    let core_len = rest.find(['\\', '\'', '"', ')']).unwrap_or(rest.len());
    (&token[..lead_len], &rest[..core_len], &rest[core_len..])
}

/// The argument of a `334` reply and the text before it, when the line is
/// one: after a server mark or a timestamp, or under any log header when at
/// most one word follows the code (`SMTP: 10:41:20 334 VXNlcm5hbWU6`).
fn prompt_arg(line: &str) -> Option<(String, &str)> {
    if !line.contains("334") {
        return None;
    }
    let caps = REPLY_CODE
        .captures_iter(line)
        .find(|c| &c["code"] == "334")?;
    let code = caps.name("code").expect("named group");
    let before = &line[..code.start()];
    let rest = line[code.end()..].trim_start_matches([' ', '-']).trim();
    let one_word = rest.split_whitespace().count() <= 1;
    if !before.trim().is_empty() && !client_prefix_like_server(before) && !one_word {
        return None;
    }
    let (_, core, _) = unquote(rest);
    Some((core.to_string(), before))
}

/// A log header's shape: trimmed, digits as `0`, so timestamps compare equal.
fn shape(header: &str) -> String {
    header
        .trim()
        .chars()
        .map(|c| if c.is_ascii_digit() { '0' } else { c })
        .collect()
}

/// A prefix before a server reply: a server mark, a timestamp, or a log header ending in `:`.
fn client_prefix_like_server(before: &str) -> bool {
    let before = before.trim_end();
    SERVER_MARK.is_match_str(before)
        || TIMESTAMP_PRE.is_match_str(before)
        || before.ends_with([':', '>', '<', ']', '*', '\'', '~', '-'])
}

/// A server reply that ends an AUTH exchange: any code but 334 opening a
/// line, after a server mark, a timestamp or the header the prompt had.
fn final_reply(line: &str, header: Option<&str>) -> bool {
    REPLY_CODE.captures(line).is_some_and(|c| {
        let code = c.name("code").expect("named group");
        let before = &line[..code.start()];
        &c["code"] != "334"
            && (before.trim().is_empty()
                || client_prefix_like_server(before)
                || header == Some(shape(before).as_str()))
    })
}

/// A 334 prompt names what the client sends next (base64 or plain `Username:` / `Password:`).
fn expect_after_prompt(expect: Expect, arg: &str) -> Expect {
    let decoded = decode_prompt(arg).to_ascii_lowercase();
    if decoded.starts_with("user") || decoded.starts_with("login") {
        return Expect::Login {
            next: SecretKind::Username,
        };
    }
    if decoded.starts_with("pass") {
        return Expect::Login {
            next: SecretKind::Password,
        };
    }
    match expect {
        // a 334 is only sent inside an AUTH exchange: whatever the client says next is secret
        Expect::Nothing => Expect::Challenge,
        other => other,
    }
}

/// Decodes a 334 prompt: base64 text, or the plain `Username:` some logs print.
/// Returns "" when it is neither.
pub fn decode_prompt(arg: &str) -> String {
    let arg = arg.trim();
    if let Some(text) = decode_b64(arg) {
        return text;
    }
    let lower = arg.to_ascii_lowercase();
    if ["username", "user name", "password", "login"]
        .iter()
        .any(|p| lower.starts_with(p))
    {
        return arg.to_string();
    }
    String::new()
}

/// Base64 to any bytes, or `None`.
fn decode_any(value: &str) -> Option<Vec<u8>> {
    base64::engine::general_purpose::STANDARD
        .decode(value.trim())
        .ok()
        .filter(|b| !b.is_empty())
}

/// Base64 to printable UTF-8 text, or `None`.
fn decode_b64(value: &str) -> Option<String> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(value.trim())
        .ok()?;
    String::from_utf8(bytes)
        .ok()
        .filter(|s| !s.is_empty() && s.chars().all(|c| !c.is_control()))
}

/// A username that is safe to print inside a marker: no spaces, controls or angle brackets.
fn showable(user: &str) -> bool {
    !user.is_empty()
        && user.len() <= 256
        && user
            .chars()
            .all(|c| !c.is_control() && !c.is_whitespace() && c != '<' && c != '>')
}

/// The user named inside an AUTH PLAIN blob (`authzid\0user\0pass`) or a CRAM-MD5 response (`user digest`).
fn user_inside(kind: SecretKind, value: &str) -> Option<String> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(value.trim())
        .ok()?;
    let text = String::from_utf8(bytes).ok()?;
    let user = match kind {
        SecretKind::PlainBlob => text.split('\0').nth(1)?.to_string(),
        _ => text.rsplit_once(' ')?.0.to_string(),
    };
    Some(user).filter(|u| showable(u))
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

    /// The redacted text, after checking that none of `secrets` survived.
    fn redacted_without(text: &str, secrets: &[&str]) -> String {
        let out = redact(text).lines.join("\n");
        for secret in secrets {
            assert!(!out.contains(secret), "{secret} survived:\n{out}");
        }
        out
    }

    /// The prefilter and the literal checks skip only work that could not
    /// change the result: every line of the shipped inputs, the redaction
    /// cases and lines made of credential-shaped words redact exactly as
    /// when every pattern is tried in turn.
    #[test]
    fn prefiltered_redaction_is_the_same_as_trying_every_pattern() {
        fn reference(state: &mut State, line: &str, no: usize) -> String {
            let mut text = line.to_string();
            for (re, kind) in inline_patterns() {
                if re.is_match(&text) {
                    text = state.replace(&text, re, kind, no);
                }
            }
            text
        }
        let mut lines = crate::evidence::netinfo::tests::sample_lines();
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        for entry in std::fs::read_dir(root.join("tests/data/redaction")).unwrap() {
            let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
            lines.extend(text.lines().map(str::to_string));
        }
        let words = [
            "https://bob:hunter2@example.com/x",
            "Authorization: Basic Ym9iOnB3",
            "--user bob:pw",
            "bob:s3cret@mail.example.net",
            "-p 587",
            "--password 'x y'",
            "-au bob",
            "a1 LOGIN bob pw",
            "PASS hunter2",
            "password is hunter2",
            "pwd=abc",
            "pass: x",
            "é password: y",
        ];
        for a in words {
            for b in words {
                lines.push(format!("{a} {b}"));
            }
        }
        let options = RedactOptions::default();
        let mut fast = State {
            options,
            secrets: Vec::new(),
            expect: Expect::Nothing,
            header: None,
        };
        let mut slow = State {
            options,
            secrets: Vec::new(),
            expect: Expect::Nothing,
            header: None,
        };
        let mut changed = 0;
        for (no, line) in lines.iter().enumerate() {
            let want = reference(&mut slow, line, no);
            changed += usize::from(&want != line);
            assert_eq!(fast.inline(line, no), want, "{line:?}");
            assert_eq!(fast.secrets.len(), slow.secrets.len(), "{line:?}");
        }
        assert!(
            changed > 100,
            "only {changed} lines redacted: the test proves little"
        );
        for line in &lines {
            let auth = AUTH_CMD.is_match(line);
            assert!(
                !auth || line.to_ascii_lowercase().contains("auth"),
                "{line:?}"
            );
            assert!(
                !REPLY_CODE.captures_iter(line).any(|c| &c["code"] == "334")
                    || line.contains("334")
            );
        }
    }

    fn redact(text: &str) -> Redacted {
        let lines: Vec<String> = text.lines().map(str::to_string).collect();
        redact_lines(&lines)
    }

    fn shown(text: &str) -> String {
        let lines: Vec<String> = text.lines().map(str::to_string).collect();
        redact_lines_with(
            &lines,
            RedactOptions {
                show_usernames: true,
            },
        )
        .lines
        .join("\n")
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
        assert_eq!(
            r.lines[2],
            "C: <redacted: AUTH PLAIN credentials, 20 bytes>"
        );
    }

    #[test]
    fn inline_auth_plain_blob_is_redacted() {
        let r = redact("-> AUTH PLAIN AGFsaWNlAHMzY3IzdA==");
        assert_eq!(
            r.lines[0],
            "-> AUTH PLAIN <redacted: AUTH PLAIN credentials, 20 bytes>"
        );
    }

    #[test]
    fn url_header_and_note_passwords_are_redacted() {
        let r = redact("smtp://bob:hunter2@mail.example.com\nAuthorization: Basic Ym9iOmh1bnRlcjI=\nhis password is hunter2, he says");
        assert!(!r.lines.join("\n").contains("hunter2"));
        assert!(!r.lines.join("\n").contains("Ym9iOmh1bnRlcjI="));
    }

    #[test]
    fn prose_about_auth_is_left_alone() {
        let r = redact(
            "Customer says SMTP AUTH fails\nnext line stays\nthe password is correct, they say",
        );
        assert_eq!(r.lines[1], "next line stays");
        assert_eq!(r.lines[2], "the password is correct, they say");
        assert!(r.secrets.is_empty());
        let r = redact(
            "Password is in the new config, he says.\nthe password is stored in the keychain",
        );
        assert_eq!(r.lines[0], "Password is in the new config, he says.");
        assert_eq!(r.lines[1], "the password is stored in the keychain");
        assert!(r.secrets.is_empty());
    }

    #[test]
    fn config_lines_with_passwords_are_redacted() {
        redacted_without("{\"user\": \"a\", \"password\": \"hunter5\"}\nSMTP_PASSWORD=hunter6\nsmtp_pass: hunter7", &["hunter5", "hunter6", "hunter7"]);
    }

    #[test]
    fn relay_password_tables_and_camel_case_settings_are_redacted() {
        let out = redacted_without(
            concat!(
                "smtp_sasl_password_maps = static:alice@example.com:hunter8\n",
                "[smtp.example.net]:587 alice@example.com:hunter9\n",
                "smtp.example.net alice:hunter10\n",
                "*.example.net:alice@example.com:hunter11\n",
                "AuthPass=hunter12\n",
                "{\"SmtpPassword\": \"hunter13\"}",
            ),
            &[
                "hunter8", "hunter9", "hunter10", "hunter11", "hunter12", "hunter13",
            ],
        );
        assert!(
            out.starts_with("smtp_sasl_password_maps = static:<redacted:"),
            "{out}"
        );
        assert!(out.contains("[smtp.example.net]:587 <redacted:"), "{out}");
    }

    #[test]
    fn sending_service_api_keys_and_token_headers_are_redacted() {
        redacted_without(
            concat!(
                "apikey SG.Zx9yW8vU7tS6rQ5pO4nM3l.jI1hG0fE9dC8bB7aA6zZ5yY4xX3wW2vV1uU0\n",
                "MAILGUN_KEY=key-0123456789abcdef0123456789abcdef\n",
                "X-Postmark-Server-Token: 7b1c2d3e-4f5a-6b7c\n",
                "\"apiKey\": \"abc123secret\"",
            ),
            &[
                "jI1hG0fE9dC8bB7aA6zZ5yY4xX3wW2vV1uU0",
                "0123456789abcdef0123456789abcdef",
                "7b1c2d3e-4f5a-6b7c",
                "abc123secret",
            ],
        );
    }

    #[test]
    fn log_lines_and_hosts_with_ports_are_not_password_tables() {
        for line in [
            "Oct  7 11:02:31 relay01 postfix/qmgr[1123]: 4Hx9Q12bKZz9sWP: removed",
            "mx.example.org 25",
            "Connecting to smtp.example.net:587 ...",
            "The key-holder said the password is correct",
        ] {
            let r = redact(line);
            assert_eq!(r.lines[0], line);
            assert!(r.secrets.is_empty(), "{line}");
        }
    }

    #[test]
    fn inline_login_username_then_password_prompt() {
        let r = redact("AUTH LOGIN YWxpY2U=\n334 UGFzc3dvcmQ6\nczNjcjN0\n235 ok");
        assert_eq!(r.lines[0], "AUTH LOGIN <redacted: username, 8 bytes>");
        assert_eq!(r.lines[2], "<redacted: password, 8 bytes>");
    }

    #[test]
    fn log_forms_with_timestamps_and_direction_marks() {
        let text = "\
SMTP: 10:41:20 [tx] AUTH LOGIN
SMTP: 10:41:20 [rx] 334 VXNlcm5hbWU6
SMTP: 10:41:20 [tx] YWxpY2U=
SMTP: 10:41:20 [rx] 334 UGFzc3dvcmQ6
SMTP: 10:41:21 [tx] czNjcjN0LW9uZQ==
2024-06-04 10:41:20 CLIENT -> SERVER: AUTH LOGIN
2024-06-04 10:41:20 SERVER -> CLIENT: 334 VXNlcm5hbWU6
2024-06-04 10:41:20 CLIENT -> SERVER: YWxpY2U=
2024-06-04 10:41:20 SERVER -> CLIENT: 334 UGFzc3dvcmQ6
2024-06-04 10:41:20 CLIENT -> SERVER: czNjcjN0LXR3bw==
send: 'AUTH LOGIN\\r\\n'
reply: b'334 VXNlcm5hbWU6\\r\\n'
reply: retcode (334); Msg: b'VXNlcm5hbWU6'
send: 'YWxpY2U=\\r\\n'
reply: b'334 UGFzc3dvcmQ6\\r\\n'
reply: retcode (334); Msg: b'UGFzc3dvcmQ6'
send: 'czNjcjN0LXRocmVl\\r\\n'
reply: b'235 2.7.0 Accepted\\r\\n'";
        let out = redacted_without(
            text,
            &[
                "czNjcjN0LW9uZQ==",
                "czNjcjN0LXR3bw==",
                "czNjcjN0LXRocmVl",
                "YWxpY2U=",
            ],
        );
        assert!(
            out.contains("send: '<redacted: password, 16 bytes>\\r\\n'"),
            "{out}"
        );
    }

    #[test]
    fn a_334_prompt_alone_makes_the_next_client_line_secret() {
        let r = redact("some tool> AUTHX\n334 PDE4OTYuNjk3MTcwOTUyQHBvc3RvZmZpY2UuZXhhbXBsZS5uZXQ+\nYWxpY2UgYjkxM2E2MDJjN2VkYTdhNDk1YjRlNmU3MzM0ZDM4OTA=\n235 ok");
        assert_eq!(r.lines[2], "<redacted: challenge response, 52 bytes>");
    }

    #[test]
    fn plain_text_prompts_are_understood() {
        let r = redact("334 Username:\nalice\n334 Password:\nhunter2\n235 ok");
        assert_eq!(r.lines[1], "<redacted: username, 5 bytes>");
        assert_eq!(r.lines[3], "<redacted: password, 7 bytes>");
    }

    #[test]
    fn swaks_and_curl_options_are_redacted_but_ports_are_not() {
        let out = redacted_without("swaks -s smtp.example.net -p 587 -au alice -ap hunter2\nswaks --auth-user bob --auth-password 'pa ss'\ncurl --user carol:s3cret smtp://x", &["hunter2", "pa ss", "s3cret", " alice", " bob"]);
        assert!(out.contains("-p 587"), "{out}");
    }

    #[test]
    fn swaks_short_options_with_two_dashes_are_redacted() {
        // swaks reads its short options with one dash or two
        let out = redacted_without("swaks --to b@example.org -s smtp.example.net --port 587 --au alice --ap 'hunter 2' -tls", &["hunter 2", "alice"]);
        assert!(out.contains("--port 587"), "{out}");
    }

    #[test]
    fn xoauth2_and_cram_md5_are_redacted() {
        let r = redact("C: AUTH XOAUTH2 dXNlcj1hbGljZQFhdXRoPUJlYXJlciB5YTI5LnRva2VuAQE=\nC: AUTH CRAM-MD5\nS: 334 PDEyMzQ+\nC: YWxpY2UgMGZkYmI=\nS: 235 ok");
        let out = r.lines.join("\n");
        assert!(
            !out.contains("dXNlcj1hbGljZQ") && !out.contains("YWxpY2UgMGZkYmI="),
            "{out}"
        );
        assert_eq!(r.secrets.len(), 2);
    }

    #[test]
    fn capability_lines_and_mailto_are_not_secrets() {
        let r = redact("250-AUTH LOGIN PLAIN\n<~  250-AUTH PLAIN LOGIN\nrua=mailto:dmarc@example.com\nS: 250 AUTH PLAIN\nP=esmtpsa A=dovecot_login:frank@example.net S=1\nMessage-ID:<14a3e1b4b5a.1@zoho.example.com>\nMail-From:sironeko@example.org IP:192.0.2.222");
        assert!(r.secrets.is_empty(), "{:?}", r.lines);
    }

    #[test]
    fn bare_user_pass_at_host_and_pop_imap_logins() {
        redacted_without(
            "proxy alice:hunter2@proxy.example.net:8080\nPASS hunter3\na1 LOGIN alice hunter4",
            &["hunter2", "hunter3", "hunter4"],
        );
    }

    #[test]
    fn usernames_can_be_shown_decoded_but_never_passwords() {
        let out = shown("AUTH LOGIN\n334 VXNlcm5hbWU6\nYWxpY2VAZXhhbXBsZS5uZXQ=\n334 UGFzc3dvcmQ6\nczNjcjN0\nC: AUTH PLAIN AGFsaWNlAHMzY3IzdA==");
        assert!(out.contains("<username: alice@example.net>"), "{out}");
        assert!(
            out.contains("<redacted: AUTH PLAIN credentials, 20 bytes; username: alice>"),
            "{out}"
        );
        assert!(
            !out.contains("czNjcjN0") && !out.contains("s3cr3t"),
            "{out}"
        );
    }

    #[test]
    fn redact_text_keeps_line_ends_and_handles_crlf() {
        assert_eq!(
            redact_text("AUTH PLAIN AGFsaWNlAHMzY3IzdA==\r\n"),
            "AUTH PLAIN <redacted: AUTH PLAIN credentials, 20 bytes>\n"
        );
    }
}
