//! The packet: everything an escalation template may show, as plain serde
//! data. Its field names are the template context (documented in
//! `rules/templates/macros.tera`) and the `--format json` output.
//!
//! Owns: gathering the packet from a verdict, its evidence and the answers.
//! Must not touch: rendering (that is the templates' job) or diagnosis: the
//! alternatives are found by asking the engine, never by rules of its own.

use super::PacketInput;
use crate::engine::{self, EvidenceRef};
use crate::evidence::{redact, ItemKind, Outcome};
use crate::kb::{Answer, KnowledgeBase};
use regex::Regex;
use serde::Serialize;
use std::sync::LazyLock;

/// One quoted transcript line (redacted).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Line {
    pub no: usize,
    pub text: String,
}

/// The escalation packet: the template context.
#[derive(Debug, Clone, Serialize, Default)]
pub struct Packet {
    pub ticket: String,
    /// `text`, `markdown`, `eml` or `json`.
    pub format: String,
    /// True when rendering Markdown.
    pub markdown: bool,
    /// When the packet was made (RFC 2822).
    pub generated: String,
    pub target: Target,
    /// One line: cause, owner and title.
    pub summary: String,
    pub diagnosis: DiagnosisInfo,
    /// When the problem was first seen, if the transcript shows a time.
    pub onset: Option<Onset>,
    pub environment: Environment,
    pub attempts: Vec<AttemptInfo>,
    /// A failing and a working attempt side by side, when both exist.
    pub comparison: Option<Comparison>,
    /// The lines behind the decisions that led to the diagnosis.
    pub key_lines: Vec<Line>,
    /// The facts the transcript established, each with its lines.
    pub evidence: Vec<EvidenceItem>,
    /// Usual suspects the evidence rules out, and why.
    pub ruled_out: Vec<SuspectInfo>,
    /// Usual suspects the evidence does not rule out.
    pub not_ruled_out: Vec<SuspectInfo>,
    /// Questions already settled, by the agent or by the transcript.
    pub answered: Vec<Answered>,
    /// Questions still open: their answers would confirm or change the result.
    pub pending: Vec<Pending>,
    /// Other diagnoses: seen in the evidence too, or reached if a pending answer differs.
    pub alternatives: Vec<Alternative>,
    /// Answers the evidence contradicts.
    pub conflicts: Vec<ConflictInfo>,
    /// How many credentials were removed from the transcript.
    pub redactions: usize,
    /// The redacted transcript, numbered.
    pub transcript: Vec<Line>,
}

#[derive(Debug, Clone, Serialize, Default)]
pub struct Target {
    /// The escalation target id (`sending-service`, `customer`, ...).
    pub id: String,
    /// The template file rendered.
    pub template: String,
}

#[derive(Debug, Clone, Serialize, Default)]
pub struct DiagnosisInfo {
    pub id: String,
    pub title: String,
    pub cause: String,
    pub owner: String,
    pub reason: String,
    pub confidence: f64,
    /// The diagnosis's confidence once the pending questions are confirmed.
    pub base_confidence: f64,
    /// True when no question was assumed on the way (nothing in `pending`):
    /// the templates state a settled diagnosis plainly and hedge the rest.
    pub settled: bool,
    pub summary: String,
    pub action: String,
    pub tell_customer: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Onset {
    pub time: String,
    /// Where the time came from (`Arrival-Date field`, `log timestamp`, ...).
    pub source: String,
    pub line: usize,
    pub quote: String,
}

#[derive(Debug, Clone, Serialize, Default)]
pub struct Environment {
    /// Source addresses, with their PTR names when shown.
    pub sources: Vec<SourceInfo>,
    /// Networks named without an address ("dial-up", "broadband").
    pub networks: Vec<String>,
    pub servers: Vec<ServerInfo>,
    pub client: Option<ClientInfo>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct SourceInfo {
    pub address: String,
    pub ptr: Option<String>,
    pub line: usize,
    /// Where it was seen: `interface`, `attempt`, `reverse lookup`, `server reply`.
    pub seen: String,
    /// A private, shared (carrier-grade NAT), link-local or loopback address:
    /// it lies inside a network and does not identify the customer's line.
    pub private: bool,
}

impl SourceInfo {
    fn new(address: &str, ptr: Option<String>, line: usize, seen: &str) -> SourceInfo {
        SourceInfo {
            address: address.to_string(),
            ptr,
            line,
            seen: seen.into(),
            private: is_private(address),
        }
    }
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ServerInfo {
    pub name: String,
    /// The address it resolved to, when the transcript shows both.
    pub address: Option<String>,
    pub port: Option<u16>,
    pub line: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct ClientInfo {
    pub name: String,
    pub line: usize,
    pub quote: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct AttemptInfo {
    /// 1-based number of the attempt in the transcript.
    pub number: usize,
    pub source: Option<String>,
    pub server: Option<String>,
    pub port: Option<u16>,
    pub outcome: String,
    pub first_line: usize,
    pub last_line: usize,
    pub outcome_line: usize,
    pub outcome_quote: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Comparison {
    pub failing: AttemptInfo,
    pub working: AttemptInfo,
    /// What differs between them, e.g. `source: 203.0.113.87 / 198.51.100.142`.
    pub differs: Vec<String>,
    /// Whether both sent the same credentials (by fingerprint), when both sent any.
    pub same_credentials: Option<bool>,
    /// The failing attempt's source network (`/24` for IPv4, `/64` for IPv6).
    pub failing_network: Option<String>,
    pub failing_lines: Vec<Line>,
    pub working_lines: Vec<Line>,
    /// The two attempts field by field: source, server, port, result, reply.
    pub rows: Vec<Row>,
    /// The widest failing value in `rows`, for aligning columns.
    pub width: usize,
}

/// One field of the side-by-side comparison.
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    pub label: String,
    pub failing: String,
    pub working: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct EvidenceItem {
    pub fact: String,
    pub describe: String,
    pub signature: String,
    pub lines: Vec<Line>,
}

#[derive(Debug, Clone, Serialize)]
pub struct SuspectInfo {
    pub suspect: String,
    pub label: String,
    pub because: String,
    pub lines: Vec<Line>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Answered {
    pub fact: String,
    pub question: String,
    /// The question in the customer's words.
    pub to_customer: String,
    pub answer: String,
    /// `agent` or `transcript`.
    pub by: String,
    pub lines: Vec<Line>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Pending {
    pub fact: String,
    pub question: String,
    /// The question in the customer's words.
    pub to_customer: String,
    pub why: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Alternative {
    pub diagnosis: String,
    pub title: String,
    pub cause: String,
    pub owner: String,
    /// When it would apply, in words.
    pub when: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct ConflictInfo {
    pub fact: String,
    pub answered: String,
    pub evidence_says: String,
    pub lines: Vec<Line>,
}

/// How the packet is gathered.
pub struct Gather<'a> {
    pub format: &'a str,
    pub target: &'a str,
    pub template: &'a str,
    pub generated: String,
    /// The transcript lines to quote: redacted, usernames shown or not.
    pub lines: Vec<String>,
    pub redactions: usize,
}

/// Gathers the packet for one ticket.
pub fn gather(input: &PacketInput, g: Gather) -> Packet {
    let v = input.verdict;
    let kb = input.kb;
    let quotes = Quotes { lines: &g.lines };
    let diagnosis = kb.diagnosis(&v.diagnosis);
    let text = |f: fn(&crate::kb::Diagnosis) -> &String| {
        diagnosis.map(|d| f(d).clone()).unwrap_or_default()
    };
    Packet {
        ticket: clean_line(input.ticket),
        format: g.format.to_string(),
        markdown: g.format == "markdown",
        generated: g.generated,
        target: Target {
            id: g.target.to_string(),
            template: g.template.to_string(),
        },
        summary: format!("{}: {} (owner: {})", v.cause, v.title, v.owner),
        diagnosis: DiagnosisInfo {
            id: v.diagnosis.clone(),
            title: v.title.clone(),
            cause: v.cause.clone(),
            owner: v.owner.clone(),
            reason: v.reason.clone(),
            confidence: v.confidence,
            base_confidence: v.base_confidence,
            settled: v.settled(),
            summary: text(|d| &d.summary),
            action: text(|d| &d.action),
            tell_customer: text(|d| &d.tell_customer),
        },
        onset: onset(input, &quotes),
        environment: environment(input, &quotes),
        attempts: attempts(input, &quotes),
        comparison: comparison(input, &quotes),
        key_lines: quotes.refs(
            &v.trace
                .iter()
                .flat_map(|step| match &step.decision {
                    engine::Decision::Evidence { facts, .. } => {
                        facts.iter().flat_map(|f| f.refs.clone()).collect()
                    }
                    _ => Vec::new(),
                })
                .collect::<Vec<_>>(),
        ),
        evidence: v
            .findings
            .iter()
            .filter(|f| f.value == Answer::Yes)
            .map(|f| EvidenceItem {
                fact: f.fact.clone(),
                describe: describe_fact(kb, &f.fact),
                signature: f.signature.clone(),
                lines: quotes.refs(&f.refs),
            })
            .collect(),
        ruled_out: suspects(v, true, &quotes),
        not_ruled_out: suspects(v, false, &quotes),
        answered: answered(input, &quotes),
        pending: v
            .pending
            .iter()
            .map(|fact| Pending {
                fact: fact.clone(),
                question: kb
                    .question_for(fact)
                    .map(|q| q.text.clone())
                    .unwrap_or_else(|| fact.clone()),
                to_customer: kb
                    .question_for(fact)
                    .map(|q| q.customer_text().to_string())
                    .unwrap_or_else(|| fact.clone()),
                why: kb
                    .question_for(fact)
                    .map(|q| q.why.clone())
                    .unwrap_or_default(),
            })
            .collect(),
        alternatives: alternatives(input),
        conflicts: v
            .conflicts
            .iter()
            .map(|c| ConflictInfo {
                fact: c.fact.clone(),
                answered: c.answered.as_str().to_string(),
                evidence_says: c.evidence_says.as_str().to_string(),
                lines: quotes.refs(&c.refs),
            })
            .collect(),
        redactions: g.redactions,
        transcript: g
            .lines
            .iter()
            .enumerate()
            .map(|(i, text)| Line {
                no: i + 1,
                text: text.clone(),
            })
            .collect(),
    }
}

/// Quotes transcript lines by number from the packet's own (redacted) lines.
struct Quotes<'a> {
    lines: &'a [String],
}

impl Quotes<'_> {
    fn line(&self, no: usize) -> Line {
        let text = no
            .checked_sub(1)
            .and_then(|i| self.lines.get(i))
            .map(|s| s.trim_end().to_string())
            .unwrap_or_default();
        Line { no, text }
    }

    fn range(&self, first: usize, last: usize) -> Vec<Line> {
        (first..=last.max(first)).map(|no| self.line(no)).collect()
    }

    fn refs(&self, refs: &[EvidenceRef]) -> Vec<Line> {
        let mut out: Vec<Line> = Vec::new();
        for r in refs {
            for line in self.range(r.line, r.end_line) {
                if !out.contains(&line) {
                    out.push(line);
                }
            }
        }
        out.sort_by_key(|l| l.no);
        out
    }
}

/// Strips control characters so a value cannot break a line or a header.
pub fn clean_line(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect::<String>()
        .trim()
        .to_string()
}

fn describe_fact(kb: &KnowledgeBase, fact: &str) -> String {
    kb.fact(fact)
        .map(|f| f.describe.clone())
        .or_else(|| kb.question_for(fact).map(|q| q.text.clone()))
        .unwrap_or_else(|| fact.to_string())
}

static ISO_TIME: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"\b\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2})?(?:\.\d+)?(?:Z|\s?[+-]\d{2}:?\d{2}|\s?UTC)?",
    )
    .unwrap()
});
static RFC2822_TIME: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\b(?:(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun),\s+)?\d{1,2}\s+(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)\s+\d{4}\s+\d{2}:\d{2}(?::\d{2})?(?:\s+[+-]\d{4})?(?:\s+\([A-Z]+\))?").unwrap()
});
static SYSLOG_TIME: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"^(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)\s+\d{1,2}\s+\d{2}:\d{2}:\d{2}",
    )
    .unwrap()
});
const ONSET_FIELDS: [&str; 3] = ["arrival-date", "last-attempt-date", "date"];

/// The earliest time the transcript gives for the problem: a DSN/header date
/// field first, else a timestamp on an evidence line, else any timestamp.
fn onset(input: &PacketInput, quotes: &Quotes) -> Option<Onset> {
    for wanted in ONSET_FIELDS {
        let field = input
            .evidence
            .items
            .iter()
            .find_map(|item| match &item.kind {
                ItemKind::Field { name, value } if name.eq_ignore_ascii_case(wanted) => {
                    Some((name, value, item.line))
                }
                _ => None,
            });
        if let Some((name, value, line)) = field {
            return Some(Onset {
                time: clean_line(value),
                source: format!("{name} field"),
                line,
                quote: quotes.line(line).text,
            });
        }
    }
    let mut evidence_lines: Vec<usize> = input
        .verdict
        .findings
        .iter()
        .flat_map(|f| f.refs.iter().map(|r| r.line))
        .collect();
    evidence_lines.sort_unstable();
    let all = 1..=quotes.lines.len();
    evidence_lines.into_iter().chain(all).find_map(|no| {
        let text = quotes.line(no).text;
        let time = [&*ISO_TIME, &*RFC2822_TIME, &*SYSLOG_TIME]
            .iter()
            .find_map(|re| re.find(&text))?
            .as_str()
            .to_string();
        Some(Onset {
            time,
            source: "timestamp in the transcript".into(),
            line: no,
            quote: text,
        })
    })
}

/// Adds a server once: a bare address joins the named server of its attempt,
/// and a name seen without a port joins the same name seen with one.
fn add_server(
    env: &mut Environment,
    input: &PacketInput,
    item: &crate::evidence::Item,
    host: &str,
    port: Option<u16>,
) {
    let is_address = host.parse::<std::net::IpAddr>().is_ok();
    let named = item
        .attempt
        .and_then(|i| input.evidence.attempts.get(i))
        .and_then(|a| a.server.clone());
    if let Some(name) = named.filter(|n| is_address && n != host) {
        if let Some(server) = env.servers.iter_mut().find(|s| s.name == name) {
            server.address.get_or_insert_with(|| host.to_string());
            return;
        }
    }
    if let Some(server) = env
        .servers
        .iter_mut()
        .find(|s| s.name == host && (s.port == port || port.is_none() || s.port.is_none()))
    {
        server.port = server.port.or(port);
        return;
    }
    let address = None;
    env.servers.push(ServerInfo {
        name: host.to_string(),
        address,
        port,
        line: item.line,
    });
}

static TOOL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)^\s*(?:\$|#|%|>|PS [^>]*>|[A-Z]:\\[^>]*>)\s*(?:sudo\s+)?(?P<tool>telnet|swaks|openssl|ncat|nc|curl|Test-NetConnection|Send-MailMessage|msmtp|sendmail|python3?|dig|nslookup|host)\b").unwrap()
});

fn environment(input: &PacketInput, quotes: &Quotes) -> Environment {
    let mut env = Environment::default();
    for item in &input.evidence.items {
        match &item.kind {
            ItemKind::LocalAddress { address }
                if !env.sources.iter().any(|s| &s.address == address) =>
            {
                env.sources
                    .push(SourceInfo::new(address, None, item.line, "interface"));
            }
            ItemKind::Connect { host, port, .. } if !host.is_empty() => {
                add_server(&mut env, input, item, host, *port)
            }
            // the banner names the server when the paste starts after the connect
            ItemKind::Reply(reply)
                if reply.code == 220
                    && !reply.quoted
                    && reply.phase == crate::evidence::Phase::Greeting =>
            {
                let name = reply.text.split_whitespace().next().unwrap_or("");
                if name.contains('.')
                    && !env
                        .servers
                        .iter()
                        .any(|s| s.name.eq_ignore_ascii_case(name))
                {
                    env.servers.push(ServerInfo {
                        name: name.to_string(),
                        address: None,
                        port: None,
                        line: item.line,
                    });
                }
            }
            ItemKind::Field { name, value }
                if env.client.is_none()
                    && (name.eq_ignore_ascii_case("x-mailer")
                        || name.eq_ignore_ascii_case("user-agent")) =>
            {
                env.client = Some(ClientInfo {
                    name: clean_line(value),
                    line: item.line,
                    quote: quotes.line(item.line).text,
                });
            }
            _ => {}
        }
    }
    for attempt in &input.evidence.attempts {
        if let Some(source) = &attempt.source {
            if source.parse::<std::net::IpAddr>().is_err() {
                if !env.networks.contains(source) {
                    env.networks.push(source.clone());
                }
            } else if !env.sources.iter().any(|s| &s.address == source) {
                env.sources
                    .push(SourceInfo::new(source, None, attempt.first_line, "attempt"));
            }
        }
    }
    from_log_lines(&mut env, input, quotes);
    for item in &input.evidence.items {
        if let ItemKind::Ptr { address, name } = &item.kind {
            match env.sources.iter_mut().find(|s| &s.address == address) {
                Some(source) => source.ptr = Some(name.clone()),
                None => env.sources.push(SourceInfo::new(
                    address,
                    Some(name.clone()),
                    item.line,
                    "reverse lookup",
                )),
            }
        }
    }
    if env.client.is_none() {
        env.client = (1..=quotes.lines.len()).find_map(|no| {
            let text = quotes.line(no).text;
            let tool = TOOL.captures(&text)?["tool"].to_string();
            Some(ClientInfo {
                name: tool,
                line: no,
                quote: text,
            })
        });
    }
    env
}

/// Whether an address is one no provider can trace to a line: private
/// (RFC 1918, RFC 4193), shared carrier-grade NAT space (RFC 6598),
/// link-local or loopback.
pub fn is_private(address: &str) -> bool {
    match address.parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V4(a)) => {
            let [first, second, ..] = a.octets();
            a.is_private()
                || a.is_link_local()
                || a.is_loopback()
                || (first == 100 && (64..128).contains(&second))
        }
        Ok(std::net::IpAddr::V6(a)) => {
            let first = a.segments()[0];
            a.is_loopback() || first & 0xfe00 == 0xfc00 || first & 0xffc0 == 0xfe80
        }
        Err(_) => false,
    }
}

static REVERSE_LOOKUP: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)(?:\bdig\b.*?\s-x\s+|^\s*\$?\s*(?:host|nslookup)\s+)(?P<ip>[0-9a-f.:]+)")
        .unwrap()
});
static LOG_PEER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?:\brelay=|\bH=|\bconnect to\s+)(?P<host>[A-Za-z0-9][A-Za-z0-9.-]*\.[A-Za-z]{2,})\s?\[(?P<ip>[0-9A-Fa-f.:]+)\](?::(?P<port>\d+))?").unwrap()
});
/// The sending address an SPF check names: `client-ip=` in Received-SPF, `ip=` in SPF explanations.
static SPF_IP: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\b(?:client-)?ip=(?P<ip>\d{1,3}(?:\.\d{1,3}){3}|[0-9a-f]*:[0-9a-f:]+)")
        .unwrap()
});
static QUOTED_CLIENT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\[(?P<ip>\d{1,3}(?:\.\d{1,3}){3}|[0-9A-Fa-f]*:[0-9A-Fa-f:]+)(?:\s+\d+)?\]")
        .unwrap()
});
static CONNECT_TO: LazyLock<crate::shared_regex::SharedRegex> =
    LazyLock::new(|| crate::shared_regex::SharedRegex::unicode(r"(?i)\bconnect(?:ion)? to\s+\S*$"));

/// Addresses and peers the evidence model does not carry yet: addresses
/// looked up in reverse DNS (`dig -x`), the client address a server quotes
/// in its reply or an SPF check names, MTA log peers (`relay=host[addr]:port`,
/// `connect to host[addr]:port`, `H=host [addr]`) and the `Remote-MTA` of a
/// DSN.
fn from_log_lines(env: &mut Environment, input: &PacketInput, quotes: &Quotes) {
    let add_source = |env: &mut Environment, address: &str, line: usize, seen: &str| {
        if address.parse::<std::net::IpAddr>().is_ok()
            && !env.sources.iter().any(|s| s.address == address)
        {
            env.sources.push(SourceInfo::new(address, None, line, seen));
        }
    };
    for no in 1..=quotes.lines.len() {
        let text = quotes.line(no).text;
        if let Some(c) = REVERSE_LOOKUP.captures(&text) {
            add_source(env, &c["ip"], no, "reverse lookup");
        }
        if let Some(c) = SPF_IP.captures(&text) {
            add_source(env, &c["ip"], no, "SPF check");
        }
        for c in LOG_PEER.captures_iter(&text) {
            let port = c.name("port").and_then(|p| p.as_str().parse().ok());
            let (host, ip) = (&c["host"], &c["ip"]);
            if !env
                .servers
                .iter()
                .any(|s| s.name.eq_ignore_ascii_case(host) && (s.port == port || port.is_none()))
            {
                env.servers.push(ServerInfo {
                    name: host.to_string(),
                    address: Some(ip.to_string()),
                    port,
                    line: no,
                });
            }
        }
    }
    for item in &input.evidence.items {
        if let ItemKind::Field { name, value } = &item.kind {
            let host = value.rsplit(';').next().unwrap_or("").trim();
            if name.eq_ignore_ascii_case("remote-mta")
                && !host.is_empty()
                && !env
                    .servers
                    .iter()
                    .any(|s| s.name.eq_ignore_ascii_case(host))
            {
                env.servers.push(ServerInfo {
                    name: host.to_string(),
                    address: None,
                    port: None,
                    line: item.line,
                });
            }
        }
    }
    for (item, reply) in input.evidence.replies() {
        // `connect to mx.example.org[192.0.2.60]:25` names the peer the
        // reporting server tried, not the client it refused
        let peer = |m: regex::Match| {
            reply.text[m.end()..].starts_with(':')
                || CONNECT_TO.is_match_str(&reply.text[..m.start()])
        };
        if let Some(c) = QUOTED_CLIENT
            .captures_iter(&reply.text)
            .find(|c| !peer(c.get(0).unwrap()))
        {
            let ip = c["ip"].to_string();
            if !env
                .servers
                .iter()
                .any(|s| s.address.as_deref() == Some(&ip))
            {
                add_source(env, &ip, item.line, "server reply");
            }
        }
    }
}

fn outcome_name(outcome: Outcome) -> String {
    serde_json::to_value(outcome)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

fn attempt_info(input: &PacketInput, index: usize, quotes: &Quotes) -> AttemptInfo {
    let a = &input.evidence.attempts[index];
    AttemptInfo {
        number: index + 1,
        source: a.source.clone(),
        server: a.server.clone(),
        port: a.port,
        outcome: outcome_name(a.outcome),
        first_line: a.first_line,
        last_line: a.last_line,
        outcome_line: a.outcome_line,
        outcome_quote: quotes.line(a.outcome_line).text,
    }
}

fn attempts(input: &PacketInput, quotes: &Quotes) -> Vec<AttemptInfo> {
    (0..input.evidence.attempts.len())
        .map(|i| attempt_info(input, i, quotes))
        .collect()
}

/// Pairs of (failed, worked) outcomes worth showing side by side, closest first.
const PAIRS: &[(&[Outcome], &[Outcome])] = &[
    (&[Outcome::AuthFailed], &[Outcome::AuthOk]),
    (&[Outcome::Rejected], &[Outcome::Accepted]),
    (
        &[
            Outcome::TimedOut,
            Outcome::Refused,
            Outcome::ConnectFailed,
            Outcome::NameNotFound,
        ],
        &[
            Outcome::Connected,
            Outcome::Greeted,
            Outcome::AuthOk,
            Outcome::Accepted,
        ],
    ),
    (
        &[Outcome::SessionRejected],
        &[Outcome::Greeted, Outcome::AuthOk, Outcome::Accepted],
    ),
];

fn comparison(input: &PacketInput, quotes: &Quotes) -> Option<Comparison> {
    let attempts = &input.evidence.attempts;
    let (fail, work) = PAIRS.iter().find_map(|(failed, worked)| {
        let f = attempts.iter().position(|a| failed.contains(&a.outcome))?;
        let w = attempts.iter().position(|a| worked.contains(&a.outcome))?;
        Some((f, w))
    })?;
    let failing = attempt_info(input, fail, quotes);
    let working = attempt_info(input, work, quotes);
    let mut differs = Vec::new();
    let show = |v: &Option<String>| v.clone().unwrap_or_else(|| "not shown".into());
    if failing.source != working.source {
        differs.push(format!(
            "source: {} / {}",
            show(&failing.source),
            show(&working.source)
        ));
    }
    if failing.server != working.server {
        differs.push(format!(
            "server: {} / {}",
            show(&failing.server),
            show(&working.server)
        ));
    }
    if failing.port != working.port {
        let port = |p: Option<u16>| p.map_or("not shown".to_string(), |p| p.to_string());
        differs.push(format!(
            "port: {} / {}",
            port(failing.port),
            port(working.port)
        ));
    }
    let prints = &input.evidence.credential_prints;
    let same_credentials = match (
        prints.get(fail).copied().flatten(),
        prints.get(work).copied().flatten(),
    ) {
        (Some(a), Some(b)) => Some(a == b),
        _ => None,
    };
    let rows = comparison_rows(&failing, &working);
    let width = rows
        .iter()
        .map(|r| r.failing.chars().count())
        .max()
        .unwrap_or(0);
    Some(Comparison {
        rows,
        width,
        failing_network: failing.source.as_deref().and_then(network_of),
        failing_lines: quotes.range(failing.first_line, failing.last_line),
        working_lines: quotes.range(working.first_line, working.last_line),
        failing,
        working,
        differs,
        same_credentials,
    })
}

fn comparison_rows(failing: &AttemptInfo, working: &AttemptInfo) -> Vec<Row> {
    let text = |v: &Option<String>| v.clone().unwrap_or_else(|| "not shown".into());
    let port = |p: Option<u16>| p.map_or("not shown".to_string(), |p| p.to_string());
    let row = |label: &str, failing: String, working: String| Row {
        label: label.into(),
        failing,
        working,
    };
    vec![
        row("source", text(&failing.source), text(&working.source)),
        row("server", text(&failing.server), text(&working.server)),
        row("port", port(failing.port), port(working.port)),
        row(
            "result",
            format!("{} (line {})", failing.outcome, failing.outcome_line),
            format!("{} (line {})", working.outcome, working.outcome_line),
        ),
    ]
}

/// The network around an address: `/24` for IPv4, `/64` for IPv6.
pub fn network_of(address: &str) -> Option<String> {
    match address.parse::<std::net::IpAddr>().ok()? {
        std::net::IpAddr::V4(v4) => {
            let [a, b, c, _] = v4.octets();
            Some(format!("{a}.{b}.{c}.0/24"))
        }
        std::net::IpAddr::V6(v6) => {
            let s = v6.segments();
            let net = std::net::Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0);
            Some(format!("{net}/64"))
        }
    }
}

fn suspects(v: &engine::Verdict, ruled_out: bool, quotes: &Quotes) -> Vec<SuspectInfo> {
    v.suspects
        .iter()
        .filter(|s| s.ruled_out == ruled_out)
        .map(|s| SuspectInfo {
            suspect: s.suspect.clone(),
            label: s.label.clone(),
            because: s.because.clone(),
            lines: quotes.refs(&s.refs),
        })
        .collect()
}

fn answered(input: &PacketInput, quotes: &Quotes) -> Vec<Answered> {
    let kb = input.kb;
    let question = |fact: &str| {
        kb.question_for(fact)
            .map(|q| q.text.clone())
            .unwrap_or_else(|| fact.to_string())
    };
    let to_customer = |fact: &str| {
        kb.question_for(fact)
            .map(|q| q.customer_text().to_string())
            .unwrap_or_else(|| fact.to_string())
    };
    // an answer of "unknown" settles nothing: the question stays pending
    let mut out: Vec<Answered> = input
        .answers
        .iter()
        .filter(|(_, answer)| **answer != Answer::Unknown)
        .map(|(fact, answer)| Answered {
            fact: fact.clone(),
            question: question(fact),
            to_customer: to_customer(fact),
            answer: answer.as_str().to_string(),
            by: "agent".into(),
            lines: vec![],
        })
        .collect();
    for f in &input.verdict.findings {
        if kb.question_for(&f.fact).is_some() && !out.iter().any(|a| a.fact == f.fact) {
            out.push(Answered {
                fact: f.fact.clone(),
                question: question(&f.fact),
                to_customer: to_customer(&f.fact),
                answer: f.value.as_str().to_string(),
                by: "transcript".into(),
                lines: quotes.refs(&f.refs),
            });
        }
    }
    out
}

/// Diagnoses the evidence also points at, and those a different answer to a
/// pending question would reach (found by re-running the engine).
fn alternatives(input: &PacketInput) -> Vec<Alternative> {
    let kb = input.kb;
    let v = input.verdict;
    let mut out: Vec<Alternative> = Vec::new();
    let push = |id: &str, when: String, out: &mut Vec<Alternative>| {
        if id == v.diagnosis || out.iter().any(|a| a.diagnosis == id) {
            return;
        }
        // a cause whose usual suspect this packet lists as ruled out is no alternative
        let ruled_out = |cause: &str| {
            v.suspects.iter().any(|s| {
                s.ruled_out
                    && kb
                        .suspect(&s.suspect)
                        .is_some_and(|k| k.stands_for.iter().any(|c| c == cause))
            })
        };
        if let Some(d) = kb.diagnosis(id).filter(|d| !ruled_out(&d.cause)) {
            out.push(Alternative {
                diagnosis: d.id.clone(),
                title: d.title.clone(),
                cause: d.cause.clone(),
                owner: kb.owner_of(d).to_string(),
                when,
            });
        }
    };
    for id in &v.also_seen {
        push(id, "the evidence also matches it".into(), &mut out);
    }
    for fact in &v.pending {
        for answer in [Answer::Yes, Answer::No] {
            let mut answers = input.answers.clone();
            answers.insert(fact.clone(), answer);
            let other = engine::evaluate_ticket(kb, input.evidence, &answers);
            let asked = kb
                .question_for(fact)
                .map(|q| q.text.clone())
                .unwrap_or_else(|| fact.clone());
            push(
                &other.diagnosis,
                format!("if the answer to \"{asked}\" is {}", answer.as_str()),
                &mut out,
            );
        }
    }
    out
}

/// The transcript lines a packet quotes: the evidence's own redacted lines,
/// or, to show usernames, the original redacted again with that option.
pub fn packet_lines(
    input: &PacketInput,
    original: Option<&str>,
    show_usernames: bool,
) -> (Vec<String>, usize) {
    let secrets = input
        .evidence
        .items
        .iter()
        .filter(|i| matches!(i.kind, ItemKind::Secret { .. }))
        .count();
    match original {
        Some(text) if show_usernames => {
            let normalised = text.replace("\r\n", "\n").replace('\r', "\n");
            let lines: Vec<String> = normalised.lines().map(str::to_string).collect();
            let r = redact::redact_lines_with(
                &lines,
                redact::RedactOptions {
                    show_usernames: true,
                },
            );
            if r.lines.len() == input.evidence.lines.len() {
                return (r.lines, r.secrets.len());
            }
            (input.evidence.lines.clone(), secrets)
        }
        _ => {
            // evidence read again from text already redacted (a REPL session
            // keeps nothing else) holds no secrets, only their markers
            let markers = input
                .evidence
                .lines
                .iter()
                .map(|l| l.matches("<redacted: ").count())
                .sum();
            (input.evidence.lines.clone(), secrets.max(markers))
        }
    }
}
