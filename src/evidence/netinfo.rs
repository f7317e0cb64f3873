//! Network evidence: connection attempts (telnet, nc, openssl, swaks,
//! PowerShell), local addresses (ifconfig, ip, ipconfig, pppd), reverse DNS
//! (dig, host, nslookup), failed lookups and hints of which network a
//! session ran from.

use super::{ConnectResult, Evidence, ItemKind};
use crate::prefilter::Prefilter;
use regex::Regex;
use std::sync::{LazyLock, OnceLock};

/// A pattern compiled on first use: most tickets need few or none of them,
/// and compiling all thirty cost more than classifying one ticket.
struct Pattern {
    text: &'static str,
    re: OnceLock<Regex>,
    make: fn(&regex::Captures) -> Option<ItemKind>,
}

impl Pattern {
    fn re(&self) -> &Regex {
        self.re
            .get_or_init(|| Regex::new(&ascii_word_and_digit(self.text)).unwrap())
    }
}

/// `pattern` with `\w` and `\d` meaning ASCII word characters and digits:
/// host names, addresses and ports are ASCII on the wire (an IDN travels as
/// punycode), and the Unicode classes made each of these patterns several
/// times costlier to compile than to run on a whole ticket.
fn ascii_word_and_digit(pattern: &str) -> String {
    pattern
        .replace(r"\w", "[0-9A-Za-z_]")
        .replace(r"\d", "[0-9]")
}

fn connect(host: &str, port: Option<&str>, result: ConnectResult) -> Option<ItemKind> {
    Some(ItemKind::Connect {
        host: host.trim_end_matches(['.', ',', ':']).to_string(),
        port: port.and_then(|p| p.parse().ok()),
        result,
    })
}

fn cap<'a>(caps: &'a regex::Captures, name: &str) -> &'a str {
    caps.name(name).map(|m| m.as_str()).unwrap_or("")
}

fn port_of<'a>(caps: &'a regex::Captures) -> Option<&'a str> {
    caps.name("port").map(|m| m.as_str())
}

fn result_of(text: &str) -> ConnectResult {
    let t = text.to_ascii_lowercase();
    if t.contains("timed out") || t.contains("timeout") {
        ConnectResult::TimedOut
    } else if t.contains("refused") {
        ConnectResult::Refused
    } else if t.contains("not known")
        || t.contains("resolve")
        || t.contains("unknown host")
        || t.contains("nodename")
        || t.contains("name resolution")
        || t.contains("no address associated")
        || t.contains("getaddrinfo")
    {
        ConnectResult::NameNotFound
    } else {
        ConnectResult::Failed
    }
}

/// Builds an item from a pattern's captures.
type MakeItem = fn(&regex::Captures) -> Option<ItemKind>;

static PATTERNS: LazyLock<Vec<Pattern>> = LazyLock::new(|| {
    let table: Vec<(&str, MakeItem)> = vec![
        // commands that open a connection
        (
            r"(?i)(?:^\s*|[$#>]\s*)(?:telnet)\s+(?P<host>[\w.:-]+)\s+(?P<port>\d{1,5})\b",
            |c| connect(cap(c, "host"), port_of(c), ConnectResult::Trying),
        ),
        (
            r"(?i)(?:^\s*|[$#>]\s*)(?:nc|ncat|netcat)\s+(?:-\S+\s+(?:\d+\s+)?)*(?P<host>[A-Za-z0-9][\w.:-]*)\s+(?P<port>\d{1,5})\b",
            |c| connect(cap(c, "host"), port_of(c), ConnectResult::Trying),
        ),
        (
            r"(?i)openssl\s+s_client\b.*?-connect\s+(?P<host>[\w.-]+):(?P<port>\d{1,5})",
            |c| connect(cap(c, "host"), port_of(c), ConnectResult::Trying),
        ),
        (
            r"(?i)(?:^|[$#>]\s*)swaks\b.*?(?:--server|-s)\s+(?P<host>[\w.-]+)(?::(?P<port>\d{1,5}))?",
            |c| connect(cap(c, "host"), port_of(c), ConnectResult::Trying),
        ),
        (
            r"(?i)Test-NetConnection\s+(?:-ComputerName\s+)?(?P<host>[\w.-]+)\s+-Port\s+(?P<port>\d{1,5})",
            |c| connect(cap(c, "host"), port_of(c), ConnectResult::Trying),
        ),
        // progress and results
        (
            r"^\s*===\s*Trying\s+(?P<host>[\w.:-]+?):(?P<port>\d{1,5})\.*\s*$",
            |c| connect(cap(c, "host"), port_of(c), ConnectResult::Trying),
        ),
        (r"^\s*Trying\s+(?P<host>[\w.:]+)\.\.\.", |c| {
            connect(cap(c, "host"), None, ConnectResult::Trying)
        }),
        (
            r"(?i)^\s*(?:===\s*)?Connected to\s+(?P<host>[\w.:-]+?)\.?(?:\s+\(.*\))?\.?\s*$",
            |c| connect(cap(c, "host"), None, ConnectResult::Connected),
        ),
        (
            r"(?i)^\s*Ncat: Connected to\s+(?P<host>[\w.:-]+?):(?P<port>\d{1,5})",
            |c| connect(cap(c, "host"), port_of(c), ConnectResult::Connected),
        ),
        (
            // OpenBSD netcat: `Connection to host (192.0.2.1) 587 port
            // [tcp/submission] succeeded!` (older ones leave the address
            // out); macOS: `Connection to host port 587 [tcp/submission]
            // succeeded!`
            r"(?i)Connection to\s+(?P<host>[\w.:-]+)(?:\s+\([\w.:]+\))?\s+(?:(?P<port>\d{1,5})\s+port|port\s+(?P<mport>\d{1,5}))\b.*succeeded",
            |c| {
                let port = port_of(c).or_else(|| c.name("mport").map(|m| m.as_str()));
                connect(cap(c, "host"), port, ConnectResult::Connected)
            },
        ),
        (r"^CONNECTED\(\w+\)", |_| {
            connect("", None, ConnectResult::Connected)
        }),
        (r"(?i)TcpTestSucceeded\s*:\s*True", |_| {
            connect("", None, ConnectResult::Connected)
        }),
        (r"(?i)TcpTestSucceeded\s*:\s*False", |_| {
            connect("", None, ConnectResult::Failed)
        }),
        (
            // `nc: connect to host (192.0.2.1) port 25 (tcp) timed out:
            // Operation now in progress`, `... failed: Connection refused`,
            // macOS's `nc: connectx to host port 25 (tcp) failed: ...`
            r"(?i)(?:nc|ncat|netcat):\s*connectx? to\s+(?P<host>[\w.:-]+)(?:\s+\([\w.:]+\))?\s+port\s+(?P<port>\d{1,5}).*?(?P<how>failed|timed out):\s*(?P<why>.*)$",
            |c| {
                let how = format!("{} {}", cap(c, "how"), cap(c, "why"));
                connect(cap(c, "host"), port_of(c), result_of(&how))
            },
        ),
        (
            r"(?i)\*\*\*\s*Error connecting to\s+(?P<host>[\w.:-]+?):(?P<port>\d{1,5})",
            |c| connect(cap(c, "host"), port_of(c), ConnectResult::Failed),
        ),
        (
            r"(?i)Could not open connection to the host,? on port (?P<port>\d{1,5})",
            |c| connect("", port_of(c), ConnectResult::Failed),
        ),
        (
            r"(?i)TCP connect to \((?P<host>[\w.:-]+)\s*:\s*(?P<port>\d{1,5})\) failed",
            |c| connect(cap(c, "host"), port_of(c), ConnectResult::Failed),
        ),
        (
            // a reset is a failed connect only where the tool says it could
            // not connect; a bare `telnet: Connection reset by peer` ends a
            // session that was made (the server or something in the path
            // cut it), which is no connection result
            r"(?i)^(?:telnet:|\*\*\*|connect:|.*?connect\(\)|.*IO::Socket\S*:\s*connect:|Ncat:)\s*(?:(?:Unable to connect to remote host:\s*|connect to address \S+:\s*)?(?P<why>(?:Connection|Operation) timed out|timeout|Connection refused|No route to host|Network is unreachable)|(?:Unable to connect to remote host:\s*|connect to address \S+:\s*)(?P<reset>Connection reset by peer))",
            |c| {
                let why = c.name("why").or_else(|| c.name("reset"));
                connect("", None, result_of(why.map_or("", |m| m.as_str())))
            },
        ),
        (
            r"^\s*(?P<why>Connection timed out|Connection refused|Operation timed out|No route to host|Network is unreachable)\.?\s*$",
            |c| connect("", None, result_of(cap(c, "why"))),
        ),
        (
            r"(?i)(?:telnet|nc|ncat|swaks|curl|openssl|getaddrinfo|connect)\b.*?(?P<host>[A-Za-z][\w-]*(?:\.[\w-]+)+)?\S*?:?\s*(?P<why>Name or service not known|nodename nor servname provided|Temporary failure in name resolution|No address associated with hostname|Could not resolve host|could not resolve|Unknown host)",
            |c| connect(cap(c, "host"), None, ConnectResult::NameNotFound),
        ),
        // addresses and names
        (
            r"\binet (?:addr:)?(?P<addr>\d{1,3}(?:\.\d{1,3}){3})\b",
            |c| local(cap(c, "addr")),
        ),
        (
            r"(?i)IPv4 Address[ .]*:\s*(?P<addr>\d{1,3}(?:\.\d{1,3}){3})",
            |c| local(cap(c, "addr")),
        ),
        (
            r"(?i)\blocal\s+IP address\s+(?P<addr>\d{1,3}(?:\.\d{1,3}){3})",
            |c| local(cap(c, "addr")),
        ),
        (
            // PowerShell's Test-NetConnection
            r"(?i)^\s*SourceAddress\s*:\s*(?P<addr>\d{1,3}(?:\.\d{1,3}){3})\b",
            |c| local(cap(c, "addr")),
        ),
        (
            // a note: "public IP is 203.0.113.7", "customer's IP: ...",
            // "from dial-up 203.0.113.7", "on the DSL line (203.0.113.7)"
            r"(?i)(?:\b(?:public|external|wan|my|our|his|her|their|customer'?s)\s+IP(?:v4)?(?:\s+address)?\s*(?:is|was|:|=)?|\b(?:from|on|via)\s+(?:the\s+|a\s+|his\s+|her\s+|their\s+)?(?:dial-?up|broadband|a?dsl|vdsl|cable|fib(?:re|er)|hotspot|mobile|lte|4g)(?:\s+(?:line|connection|modem|router))?)\s*[(\[]?(?P<addr>\d{1,3}(?:\.\d{1,3}){3})\b",
            |c| local(cap(c, "addr")),
        ),
        (
            r"(?i)^(?P<rev>[\d.]+)\.in-addr\.arpa\.?\s+(?:\d+\s+)?(?:IN\s+)?PTR\s+(?P<name>\S+?)\.?\s*$",
            |c| ptr(cap(c, "rev"), cap(c, "name")),
        ),
        (
            r"(?i)^(?P<rev>[\d.]+)\.in-addr\.arpa\.?\s+(?:domain name pointer|name\s*=)\s*(?P<name>\S+?)\.?\s*$",
            |c| ptr(cap(c, "rev"), cap(c, "name")),
        ),
        (
            r"(?i)^Host\s+(?P<name>\S+?)\.?\s+not found:\s*\d?\(?(?:NXDOMAIN|SERVFAIL)",
            |c| name_error(cap(c, "name")),
        ),
        (
            // BIND's nslookup says NXDOMAIN, Windows' says "Non-existent domain"
            r"(?i)\S+ can't find\s+(?P<name>\S+?)\.?:\s*(?:NXDOMAIN|SERVFAIL|Non-existent domain)",
            |c| name_error(cap(c, "name")),
        ),
        (
            // Windows' nslookup in other languages keeps the resolver's
            // English "Non-existent domain" and words the rest its own way:
            // "*** fritz.box kann x nicht finden", "*** x wurde von fritz.box
            // nicht gefunden", "*** UnKnown ne parvient pas à trouver x"
            r"^\s*\*{2,3}\s+(?P<body>\S.*?)\s*:\s*Non-existent domain\s*$",
            |c| localized_lookup_name(cap(c, "body")).and_then(name_error),
        ),
        (
            // PowerShell: Test-NetConnection and Resolve-DnsName
            r"(?i)(?:Name resolution of (?P<a>\S+?)\.? failed|^Resolve-DnsName\s*:\s*(?P<b>\S+?)\.?\s*:\s*DNS name does not exist)",
            |c| {
                name_error(if cap(c, "a").is_empty() {
                    cap(c, "b")
                } else {
                    cap(c, "a")
                })
            },
        ),
        // which network a session ran from
        (
            r"(?i)\b(?P<label>dial-?up|ppp0|broadband|a?dsl|vdsl|cable modem|fib(?:re|er) line|hotspot|tether(?:ing|ed)?|mobile data|4g|lte|vpn|home network|office network|guest wi-?fi|another network|different network|other network)\b",
            |c| {
                Some(ItemKind::NetworkHint {
                    label: normalise_network(cap(c, "label")),
                })
            },
        ),
    ];
    table
        .into_iter()
        .map(|(pattern, make)| Pattern {
            text: pattern,
            re: OnceLock::new(),
            make,
        })
        .collect()
});

/// The literals of [`PATTERNS`]: most lines contain none, and then no
/// pattern runs (see [`crate::prefilter`]).
static PREFILTER: LazyLock<Prefilter> =
    LazyLock::new(|| Prefilter::new(PATTERNS.iter().map(|p| p.text)));

fn local(addr: &str) -> Option<ItemKind> {
    (!addr.starts_with("127.") && !addr.starts_with("255.") && addr != "0.0.0.0").then(|| {
        ItemKind::LocalAddress {
            address: addr.to_string(),
        }
    })
}

fn ptr(reversed: &str, name: &str) -> Option<ItemKind> {
    let address: Vec<&str> = reversed.split('.').rev().collect();
    Some(ItemKind::Ptr {
        address: address.join("."),
        name: name.to_string(),
    })
}

fn name_error(name: &str) -> Option<ItemKind> {
    Some(ItemKind::NameError {
        name: name.trim_end_matches('.').to_string(),
    })
}

/// The name a localized Windows nslookup failed to find: of the host names
/// and addresses in the message, the one that is not the resolver. The
/// resolver comes first ("*** fritz.box kann x nicht finden") except in the
/// German passive ("*** x wurde von fritz.box nicht gefunden").
fn localized_lookup_name(body: &str) -> Option<&str> {
    let names: Vec<&str> = body
        .split_whitespace()
        .map(|w| w.trim_matches(|c: char| matches!(c, '"' | '\'' | '«' | '»' | '„' | '“')))
        .filter(|w| {
            !w.eq_ignore_ascii_case("unknown")
                && (w.contains('.') || w.contains(':'))
                && w.chars().any(|c| c.is_ascii_alphanumeric())
                && w.chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '_'))
        })
        .collect();
    if body.contains(" von ") {
        names.first().copied()
    } else {
        names.last().copied()
    }
}

fn normalise_network(label: &str) -> String {
    let l = label.to_ascii_lowercase();
    match l.as_str() {
        "dialup" | "dial-up" | "ppp0" => "dial-up".into(),
        "dsl" | "adsl" | "vdsl" | "cable modem" | "fibre line" | "fiber line" => "broadband".into(),
        "tether" | "tethering" | "tethered" | "mobile data" | "4g" | "lte" => "hotspot".into(),
        _ => l,
    }
}

static DIG_NXDOMAIN: LazyLock<crate::shared_regex::SharedRegex> =
    LazyLock::new(|| crate::shared_regex::SharedRegex::unicode(r"status:\s*(?:NXDOMAIN|SERVFAIL)"));
static DIG_QUESTION: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^;(?P<name>[\w.-]+?)\.?\s+(?:IN\s+)?(?:A|AAAA|MX|PTR|TXT)\b").unwrap()
});

pub fn extract(evidence: &mut Evidence) {
    let mut found = Vec::new();
    for (index, line) in evidence.lines.iter().enumerate() {
        let no = index + 1;
        if line.len() > 4096 {
            continue;
        }
        if DIG_NXDOMAIN.is_match_str(line) {
            if let Some(name) = dig_question(&evidence.lines[index..]) {
                found.push((no, ItemKind::NameError { name }));
            }
            continue;
        }
        if let Some(kind) = item_of(line) {
            found.push((no, kind));
        }
    }
    for (no, kind) in found {
        evidence.push(kind, no, no);
    }
}

/// The item the first pattern (in table order) that matches `line` makes.
fn item_of(line: &str) -> Option<ItemKind> {
    // Only the patterns the prefilter names can match.
    PREFILTER.candidates(line).iter().find_map(|i| {
        let p = &PATTERNS[i];
        p.re().captures(line).and_then(|c| (p.make)(&c))
    })
}

fn dig_question(lines: &[String]) -> Option<String> {
    lines.iter().take(8).find_map(|l| {
        DIG_QUESTION
            .captures(l)
            .map(|c| c["name"].trim_end_matches('.').to_string())
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use crate::evidence::{ConnectResult, Evidence, ItemKind};

    /// Every line of the shipped transcripts and test inputs.
    pub(crate) fn sample_lines() -> Vec<String> {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut lines = Vec::new();
        for dir in ["transcripts", "tests/data/bounce", "tests/data/inputs"] {
            for entry in std::fs::read_dir(root.join(dir)).unwrap().flatten() {
                if let Ok(bytes) = std::fs::read(entry.path()) {
                    let text = String::from_utf8_lossy(&bytes);
                    lines.extend(text.lines().map(str::to_string));
                }
            }
        }
        lines.push("telnet: connect to address 192.0.2.1: Connection timed out (é)".into());
        lines
    }

    #[test]
    fn the_prefilter_keeps_every_item() {
        let mut items = 0;
        for line in sample_lines() {
            let want = super::PATTERNS
                .iter()
                .find_map(|p| p.re().captures(&line).and_then(|c| (p.make)(&c)));
            items += usize::from(want.is_some());
            assert_eq!(super::item_of(&line), want, "{line:?}");
        }
        assert!(
            items > 50,
            "only {items} network items: the test proves little"
        );
    }

    fn kinds(text: &str) -> Vec<ItemKind> {
        Evidence::from_text(text)
            .items
            .into_iter()
            .map(|i| i.kind)
            .filter(|k| !matches!(k, ItemKind::Reply(_)))
            .collect()
    }

    #[test]
    fn host_and_port_classes_are_ascii() {
        assert_eq!(
            super::ascii_word_and_digit(r"(?P<host>[\w.-]+):(?P<port>\d{1,5})"),
            r"(?P<host>[[0-9A-Za-z_].-]+):(?P<port>[0-9]{1,5})"
        );
        // a port written in other digits is no port
        assert!(kinds("$ telnet smtp.example.com \u{0662}\u{0665}\n").is_empty());
        assert!(!kinds("$ telnet smtp.example.com 25\n").is_empty());
    }

    #[test]
    fn each_port_netcat_reports_is_read_with_its_result() {
        let connects = |text: &str| -> Vec<(Option<u16>, ConnectResult)> {
            kinds(text)
                .into_iter()
                .filter_map(|k| match k {
                    ItemKind::Connect { port, result, .. } => Some((port, result)),
                    _ => None,
                })
                .collect()
        };
        // OpenBSD netcat, with the address it resolved
        let got = connects("$ nc -vz -w 5 smtp.example.net 25 587\nnc: connect to smtp.example.net (192.0.2.41) port 25 (tcp) timed out: Operation now in progress\nConnection to smtp.example.net (192.0.2.41) 587 port [tcp/submission] succeeded!\n");
        assert_eq!(
            got,
            vec![
                (Some(25), ConnectResult::Trying),
                (Some(25), ConnectResult::TimedOut),
                (Some(587), ConnectResult::Connected),
            ]
        );
        // macOS netcat
        let got = connects("nc: connectx to smtp.example.net port 25 (tcp) failed: Connection refused\nConnection to smtp.example.net port 465 [tcp/submissions] succeeded!\n");
        assert_eq!(
            got,
            vec![
                (Some(25), ConnectResult::Refused),
                (Some(465), ConnectResult::Connected),
            ]
        );
    }

    #[test]
    fn a_reset_after_the_session_was_made_is_no_failed_connect() {
        let failed = |text: &str| {
            kinds(text).iter().any(|k| {
                matches!(
                    k,
                    ItemKind::Connect {
                        result: ConnectResult::Failed,
                        ..
                    }
                )
            })
        };
        assert!(!failed("$ telnet smtp.example.net 587\nTrying 192.0.2.5...\nConnected to smtp.example.net.\n220 smtp.example.net ESMTP\nEHLO pc\n250 smtp.example.net\ntelnet: Connection reset by peer\n"));
        assert!(!failed("Ncat: Connection reset by peer.\n"));
        assert!(failed("$ telnet smtp.example.net 25\nTrying 192.0.2.5...\ntelnet: Unable to connect to remote host: Connection reset by peer\n"));
    }

    #[test]
    fn telnet_naming_the_address_it_failed_is_a_failed_connect() {
        let k = kinds("$ telnet smtp.example.com 25\nTrying 192.0.2.10...\ntelnet: connect to address 192.0.2.10: Connection refused\n");
        assert!(
            k.iter().any(|i| matches!(
                i,
                ItemKind::Connect {
                    result: ConnectResult::Refused,
                    ..
                }
            )),
            "{k:?}"
        );
    }

    #[test]
    fn telnet_timeout_is_a_failed_connect_to_port_25() {
        let k = kinds("$ telnet smtp.example.com 25\nTrying 192.0.2.10...\ntelnet: Unable to connect to remote host: Connection timed out\n");
        assert_eq!(k.len(), 3);
        assert!(matches!(&k[0], ItemKind::Connect { port: Some(25), .. }));
        assert!(matches!(
            &k[2],
            ItemKind::Connect {
                result: ConnectResult::TimedOut,
                ..
            }
        ));
    }

    #[test]
    fn windows_and_powershell_lookups_that_find_nothing() {
        for (text, name) in [
            (
                "*** router.home can't find smtp.exampel.net: Non-existent domain",
                "smtp.exampel.net",
            ),
            (
                "** server can't find smtp.exampel.net: NXDOMAIN",
                "smtp.exampel.net",
            ),
            (
                "WARNING: Name resolution of smtp.exampel.net failed",
                "smtp.exampel.net",
            ),
            (
                "Resolve-DnsName : smtp.exampel.net : DNS name does not exist",
                "smtp.exampel.net",
            ),
            (
                "*** smtp.exampel.net wurde von fritz.box nicht gefunden: Non-existent domain",
                "smtp.exampel.net",
            ),
            (
                "*** fritz.box kann smtp.exampel.net nicht finden: Non-existent domain",
                "smtp.exampel.net",
            ),
            (
                "*** UnKnown ne parvient pas à trouver smtp.exampel.net : Non-existent domain",
                "smtp.exampel.net",
            ),
            (
                "*** router.home no encuentra smtp.exampel.net: Non-existent domain",
                "smtp.exampel.net",
            ),
        ] {
            assert!(
                kinds(text).contains(&ItemKind::NameError { name: name.into() }),
                "{text}: {:?}",
                kinds(text)
            );
        }
    }

    #[test]
    fn addresses_ptr_and_nxdomain() {
        let k = kinds("ppp0: flags=4305<UP>\n        inet 198.51.100.7  netmask 255.255.255.255\n7.100.51.198.in-addr.arpa domain name pointer dialup-7.example.net.\nHost smtp.exmaple.com not found: 3(NXDOMAIN)\n");
        assert!(k.contains(&ItemKind::LocalAddress {
            address: "198.51.100.7".into()
        }));
        assert!(k.contains(&ItemKind::Ptr {
            address: "198.51.100.7".into(),
            name: "dialup-7.example.net".into()
        }));
        assert!(k.contains(&ItemKind::NameError {
            name: "smtp.exmaple.com".into()
        }));
        assert!(k.contains(&ItemKind::NetworkHint {
            label: "dial-up".into()
        }));
    }

    #[test]
    fn source_addresses_in_tool_output_and_notes() {
        for (line, want) in [
            ("SourceAddress          : 192.168.178.34", "192.168.178.34"),
            (
                "Customer says it fails from dial-up 203.0.113.7 too",
                "203.0.113.7",
            ),
            (
                "on the DSL line (198.51.100.9) it times out",
                "198.51.100.9",
            ),
            (
                "Agent: customer's public IP is 203.0.113.44",
                "203.0.113.44",
            ),
            ("my IP: 198.51.100.20", "198.51.100.20"),
        ] {
            assert!(
                kinds(line).contains(&ItemKind::LocalAddress {
                    address: want.into()
                }),
                "{line}: {:?}",
                kinds(line)
            );
        }
        // the server's address is no source
        for line in [
            "Connection to mail.example.net (192.0.2.30) 465 port succeeded!",
            "RemoteAddress          : 203.0.113.25",
            "the server's IP is 192.0.2.5",
        ] {
            assert!(
                !kinds(line)
                    .iter()
                    .any(|k| matches!(k, ItemKind::LocalAddress { .. })),
                "{line}"
            );
        }
    }
}
