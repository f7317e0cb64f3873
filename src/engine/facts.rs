//! Fact derivation: runs the knowledge base's signatures over the evidence
//! and records, for every fact set, the lines that set it.

use crate::evidence::{Evidence, Item, ItemKind, Outcome};
use crate::kb::{
    Answer, CompiledMatcher, Difference, FirstLines, KnowledgeBase, LazyRegex, Scanned,
};
use serde::Serialize;
use std::collections::BTreeMap;

/// A line of evidence behind a fact.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EvidenceRef {
    pub line: usize,
    pub end_line: usize,
    pub quote: String,
}

impl EvidenceRef {
    fn of_item(item: &Item) -> EvidenceRef {
        EvidenceRef {
            line: item.line,
            end_line: item.end_line,
            quote: item.quote.clone(),
        }
    }

    fn of_line(evidence: &Evidence, no: usize) -> EvidenceRef {
        EvidenceRef {
            line: no,
            end_line: no,
            quote: evidence.line(no).trim().to_string(),
        }
    }
}

/// Where a fact's value came from.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "from", rename_all = "snake_case")]
pub enum Source {
    /// A signature matched these lines.
    Evidence {
        signature: String,
        refs: Vec<EvidenceRef>,
    },
    /// The agent answered.
    Answer,
    /// Nothing set it: evidence-only facts default to no.
    Default,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FactState {
    pub value: Answer,
    pub source: Source,
}

/// An answer that disagrees with the evidence.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Conflict {
    pub fact: String,
    pub answered: Answer,
    pub evidence_says: Answer,
    pub signature: String,
    pub refs: Vec<EvidenceRef>,
}

/// Every fact's value for one ticket (or one recipient of it).
#[derive(Debug, Clone, Default, Serialize)]
pub struct Facts {
    pub values: BTreeMap<String, FactState>,
    pub conflicts: Vec<Conflict>,
    /// Facts the agent answered (including `unknown`).
    pub answered: BTreeMap<String, Answer>,
}

impl Facts {
    /// Yes, No or Unknown. Facts nobody can be asked about default to No.
    pub fn value(&self, kb: &KnowledgeBase, fact: &str) -> Answer {
        match self.values.get(fact) {
            Some(state) => state.value,
            None if kb.question_for(fact).is_some() => Answer::Unknown,
            None => Answer::No,
        }
    }

    pub fn state(&self, fact: &str) -> Option<&FactState> {
        self.values.get(fact)
    }
}

/// Derives facts from evidence, then applies the agent's answers.
/// Evidence wins over a contradicting answer; the contradiction is recorded.
/// `recipient` limits per-recipient items (DSN fields) to that recipient.
pub fn derive(
    kb: &KnowledgeBase,
    evidence: &Evidence,
    answers: &BTreeMap<String, Answer>,
    recipient: Option<usize>,
) -> Facts {
    derive_in(&mut Scan::new(kb), evidence, answers, recipient)
}

/// As [`derive`], sharing `scan` (what pattern sets found in this
/// evidence) with other derivations over the same evidence: the recipients
/// of one bounce.
pub fn derive_in(
    scan: &mut Scan,
    evidence: &Evidence,
    answers: &BTreeMap<String, Answer>,
    recipient: Option<usize>,
) -> Facts {
    let kb = scan.kb;
    let scope = Scope::of(evidence, recipient);
    let mut facts = Facts::default();
    let mut cleared: Vec<(String, Source)> = Vec::new();
    for sig in &kb.signatures {
        let Some(refs) = matches_in(scan, &sig.matcher, evidence, scope) else {
            continue;
        };
        let source = Source::Evidence {
            signature: sig.def.id.clone(),
            refs,
        };
        for fact in &sig.def.sets {
            facts
                .values
                .entry(fact.clone())
                .or_insert_with(|| FactState {
                    value: Answer::Yes,
                    source: source.clone(),
                });
        }
        for fact in &sig.def.clears {
            cleared.push((fact.clone(), source.clone()));
        }
    }
    for (fact, source) in cleared {
        facts.values.entry(fact).or_insert(FactState {
            value: Answer::No,
            source,
        });
    }
    for (fact, &answer) in answers {
        facts.answered.insert(fact.clone(), answer);
        match facts.values.get(fact) {
            Some(FactState {
                value,
                source: Source::Evidence { signature, refs },
            }) => {
                if answer != Answer::Unknown && answer != *value {
                    facts.conflicts.push(Conflict {
                        fact: fact.clone(),
                        answered: answer,
                        evidence_says: *value,
                        signature: signature.clone(),
                        refs: refs.clone(),
                    });
                }
            }
            _ => {
                facts.values.insert(
                    fact.clone(),
                    FactState {
                        value: answer,
                        source: Source::Answer,
                    },
                );
            }
        }
    }
    facts
}

/// Which items one derivation reads: all of them for the whole ticket; for
/// one recipient, its own items and those tied to no recipient, except that
/// a recipient with a quoted reply of its own (not one inferred from a
/// status) is judged on its replies alone: a reply a report ties to no
/// recipient (a session summary like Sendmail's `554 5.0.0 Service
/// unavailable`, a reply about another address) then says nothing about it.
/// A reply of the customer's own live session is about the ticket itself,
/// and counts for every recipient. Inside `Live(...)`, only the live session
/// is read.
#[derive(Debug, Clone, Copy)]
struct Scope {
    recipient: Option<usize>,
    own_reply: bool,
    /// Only the customer's own live session (see `Matcher::Live`).
    live: bool,
}

impl Scope {
    /// Looks at the evidence once per derivation, not once per matcher.
    fn of(e: &Evidence, recipient: Option<usize>) -> Scope {
        Scope {
            recipient,
            own_reply: has_own_reply(e, recipient),
            live: false,
        }
    }

    fn live(self) -> Scope {
        Scope { live: true, ..self }
    }

    fn holds(&self, item: &Item) -> bool {
        if self.live && !is_live(item) {
            return false;
        }
        match (item.recipient, self.recipient) {
            (None, Some(_)) => {
                !(self.own_reply && matches!(item.kind, ItemKind::Reply(_)) && !is_live(item))
            }
            (None, None) => true,
            (Some(r), Some(want)) => r == want,
            (Some(_), None) => true,
        }
    }
}

/// Whether an item is part of the customer's own live session: outside any
/// pasted report and, for a reply, read from a dialogue rather than quoted.
fn is_live(item: &Item) -> bool {
    !item.in_report && !matches!(&item.kind, ItemKind::Reply(r) if r.quoted)
}

fn has_own_reply(e: &Evidence, recipient: Option<usize>) -> bool {
    recipient.is_some_and(|want| {
        e.items.iter().any(|i| {
            i.recipient == Some(want) && matches!(&i.kind, ItemKind::Reply(r) if !r.code_inferred)
        })
    })
}

/// Sentences wrapped over two lines, joined, with the first one each `Line`
/// pattern matches.
struct Wrapped {
    /// 0-based index of each joined pair's first line.
    starts: Vec<usize>,
    texts: Vec<String>,
    first: FirstLines,
}

/// What one ticket's signatures share: the first line each `Line` pattern
/// matches, found by one scan of the knowledge base's set of them over the
/// lines, and which reply-text patterns each reply matches, found by one
/// scan of its text and quote; both on first need. The same evidence must
/// be passed with it every time.
pub struct Scan<'kb> {
    kb: &'kb KnowledgeBase,
    first_lines: Option<FirstLines>,
    /// Wrapped sentences joined (`Evidence::wrapped_pairs`) and the first
    /// one each `Line` pattern matches: tried when no single line matches.
    wrapped: Option<Wrapped>,
    /// By item index: what the reply-text prefilter found in the reply's
    /// text and in the server's words of the item's quote, and those words
    /// when they are not the whole quote.
    replies: Vec<Option<(Scanned, Scanned, Option<String>)>>,
}

impl<'kb> Scan<'kb> {
    pub fn new(kb: &'kb KnowledgeBase) -> Scan<'kb> {
        Scan {
            kb,
            first_lines: None,
            wrapped: None,
            replies: Vec::new(),
        }
    }

    pub fn kb(&self) -> &'kb KnowledgeBase {
        self.kb
    }

    /// The 0-based index of the first line `re` (a `Line` pattern) matches,
    /// and whether it matched only with the next line joined to it (a
    /// sentence wrapped over two lines).
    fn first_line(&mut self, e: &Evidence, re: &LazyRegex) -> Option<(usize, bool)> {
        let group = self.kb.line_patterns();
        let single = self
            .first_lines
            .get_or_insert_with(|| group.lines(&e.lines))
            .get(re, &e.lines);
        if let Some(no) = single {
            return Some((no, false));
        }
        let wrapped = self.wrapped.get_or_insert_with(|| {
            let (starts, texts): (Vec<usize>, Vec<String>) = e.wrapped_pairs().into_iter().unzip();
            let first = group.lines(&texts);
            Wrapped {
                starts,
                texts,
                first,
            }
        });
        wrapped
            .first
            .get(re, &wrapped.texts)
            .map(|k| (wrapped.starts[k], true))
    }

    /// Whether `re` (a reply-text pattern) matches the reply's text or the
    /// item's quote.
    fn reply_matches(&mut self, index: usize, item: &Item, text: &str, re: &LazyRegex) -> bool {
        let group = self.kb.reply_patterns();
        if self.replies.len() <= index {
            self.replies.resize(index + 1, None);
        }
        let (in_text, in_quote, words) = self.replies[index].get_or_insert_with(|| {
            let words = server_words(item);
            let scanned = group.scan(&words);
            // server_words only leaves text out: the same length is the whole quote
            let words = (words.len() != item.quote.len()).then(|| words.into_owned());
            (group.scan(text), scanned, words)
        });
        let quote = words.as_deref().unwrap_or(&item.quote);
        in_text.matches(re, text) || in_quote.matches(re, quote)
    }
}

/// The quoted lines of a reply without a reporter's own reading before it:
/// a report that writes its own status and category ahead of the server's
/// reply (Amazon SES's `5.1.0 - Unknown address error 550-'5.7.1 ...'`)
/// is guessing, while the server's words start at the code. Prose without
/// a status before the code (Exim's `after initial connection:`) stays.
fn server_words(item: &Item) -> std::borrow::Cow<'_, str> {
    static OWN_STATUS: std::sync::LazyLock<crate::shared_regex::SharedRegex> =
        std::sync::LazyLock::new(|| {
            crate::shared_regex::SharedRegex::unicode(r"\b[245]\.\d{1,3}\.\d{1,3}\b")
        });
    let ItemKind::Reply(reply) = &item.kind else {
        return item.quote.as_str().into();
    };
    if reply.code_inferred {
        return item.quote.as_str().into();
    }
    let code = reply.code.to_string();
    let starts_code = |(at, _): &(usize, &str)| {
        let before = item.quote[..*at].chars().next_back();
        let after = item.quote[at + 3..].chars().next();
        !before.is_some_and(|c| c.is_ascii_alphanumeric())
            && !after.is_some_and(|c| c.is_ascii_alphanumeric())
    };
    match item.quote.match_indices(code.as_str()).find(starts_code) {
        Some((at, _)) if OWN_STATUS.is_match_str(&item.quote[..at]) => item.quote[at..].into(),
        // Postfix's `host mx.example.org[192.0.2.1] said:` (Exim's `host
        // mx.example.org [192.0.2.1]`) names the host the reply came from: a
        // hosted filter's name (mimecast, barracuda) is no word of the reply,
        // so it is left out (the prose around it stays)
        Some((at, _)) => match REPORTER_HOST.find(&item.quote[..at]) {
            Some(host) => format!(
                "{}{}",
                &item.quote[..host.start()],
                &item.quote[host.end()..]
            )
            .into(),
            None => item.quote.as_str().into(),
        },
        None => item.quote.as_str().into(),
    }
}

/// A report's lead-in naming the host that replied: Postfix's `host
/// <name>[<address>] said:`, Exim's `host <name> [<address>]` (its own line,
/// or followed by a colon).
static REPORTER_HOST: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
    regex::Regex::new(r"(?i)\bhost\s+\S+?\s*\[[^\]\s]*\](?:\s+said)?:?\s*").unwrap()
});

/// The evidence a matcher finds, or None when it does not match.
pub fn matches(
    m: &CompiledMatcher,
    e: &Evidence,
    recipient: Option<usize>,
) -> Option<Vec<EvidenceRef>> {
    // One matcher alone gains nothing from the pattern groups: with an
    // empty knowledge base's (empty) groups, each pattern runs alone.
    static ALONE: std::sync::LazyLock<KnowledgeBase> =
        std::sync::LazyLock::new(KnowledgeBase::default);
    matches_in(&mut Scan::new(&ALONE), m, e, Scope::of(e, recipient))
}

fn matches_in(
    scan: &mut Scan,
    m: &CompiledMatcher,
    e: &Evidence,
    scope: Scope,
) -> Option<Vec<EvidenceRef>> {
    let items = || e.items.iter().filter(move |i| scope.holds(i));
    let first = |pred: &dyn Fn(&Item) -> bool| {
        items()
            .find(|i| pred(i))
            .map(|i| vec![EvidenceRef::of_item(i)])
    };
    match m {
        CompiledMatcher::Reply {
            code,
            status,
            phase,
            text,
        } => e
            .items
            .iter()
            .enumerate()
            .filter(|(_, item)| scope.holds(item))
            .find(|&(index, item)| {
                let ItemKind::Reply(r) = &item.kind else {
                    return false;
                };
                code.as_ref().is_none_or(|c| c.matches(r.code))
                    && status
                        .as_ref()
                        .is_none_or(|s| r.status.is_some_and(|st| s.matches(st)))
                    && phase.as_ref().is_none_or(|p| p.contains(&r.phase))
                    && text
                        .as_ref()
                        .is_none_or(|t| scan.reply_matches(index, item, &r.text, t))
            })
            .map(|(_, item)| vec![EvidenceRef::of_item(item)]),
        CompiledMatcher::Line(re) => {
            let found = if scope.live {
                first_open_line(e, re, |no| {
                    !e.in_report(no) && !line_out_of_scope(e, scope, no)
                })
            } else {
                scoped_first_line(scan, e, re, scope)
            };
            found.map(|(i, wrapped)| {
                let mut found = EvidenceRef::of_line(e, i + 1);
                if wrapped {
                    found.end_line = i + 2;
                    found.quote = format!("{} {}", found.quote, e.line(i + 2).trim());
                }
                vec![found]
            })
        }
        CompiledMatcher::Field { name, value } => first(&|item| {
            let ItemKind::Field { name: n, value: v } = &item.kind else {
                return false;
            };
            n.eq_ignore_ascii_case(name) && value.as_ref().is_none_or(|re| re.is_match(v))
        }),
        CompiledMatcher::Connect { result, port } => {
            let found = items().find(|item| {
                let ItemKind::Connect { result: r, .. } = &item.kind else {
                    return false;
                };
                let attempt_port = item
                    .attempt
                    .and_then(|a| e.attempts.get(a))
                    .and_then(|a| a.port);
                result.as_ref().is_none_or(|want| want.contains(r))
                    && port
                        .as_ref()
                        .is_none_or(|want| attempt_port.is_some_and(|p| want.contains(&p)))
            })?;
            let mut refs = vec![EvidenceRef::of_item(found)];
            if let Some(attempt) = found.attempt.and_then(|a| e.attempts.get(a)) {
                if attempt.first_line != found.line {
                    refs.insert(0, EvidenceRef::of_line(e, attempt.first_line));
                }
            }
            Some(refs)
        }
        CompiledMatcher::Capability(k) => first(
            &|item| matches!(&item.kind, ItemKind::Capability { keyword, .. } if keyword == k),
        ),
        CompiledMatcher::Command(v) => {
            first(&|item| matches!(&item.kind, ItemKind::Command { verb, .. } if verb == v))
        }
        CompiledMatcher::NameError => {
            first(&|item| matches!(&item.kind, ItemKind::NameError { .. }))
        }
        CompiledMatcher::Ptr => first(&|item| matches!(&item.kind, ItemKind::Ptr { .. })),
        CompiledMatcher::Outcome(outcomes) => e
            .attempts
            .iter()
            .filter(|a| !(scope.live && a.in_report))
            .find(|a| outcomes.contains(&a.outcome))
            // the line that first shows one of the outcomes (the banner for
            // "greeted or further"), not the attempt's last reply
            .map(|a| {
                let line = a.first_reached(outcomes).unwrap_or(a.outcome_line);
                vec![EvidenceRef::of_line(e, line)]
            }),
        CompiledMatcher::Attempts {
            failed,
            worked,
            differ,
            same_credentials,
        } => compare_attempts(e, failed, worked, *differ, *same_credentials, scope.live),
        CompiledMatcher::All(ms) => {
            let mut refs = Vec::new();
            for m in ms {
                refs.extend(matches_in(scan, m, e, scope)?);
            }
            Some(refs)
        }
        CompiledMatcher::Any(ms) => ms.iter().find_map(|m| matches_in(scan, m, e, scope)),
        CompiledMatcher::Not(m) => match matches_in(scan, m, e, scope) {
            Some(_) => None,
            None => Some(Vec::new()),
        },
        CompiledMatcher::Live(m) => matches_in(scan, m, e, scope.live()),
    }
}

/// Whether 1-based line `no` is out of `scope`: for one recipient, a log's
/// delivery line about other recipients only.
fn line_out_of_scope(e: &Evidence, scope: Scope, no: usize) -> bool {
    scope.recipient.is_some_and(|want| e.about_others(no, want))
}

/// The first line in `scope` that `re` matches (0-based), and whether only
/// with the next line joined: the shared first match, unless that line is
/// out of the scope, when the lines after it are read one by one.
fn scoped_first_line(
    scan: &mut Scan,
    e: &Evidence,
    re: &LazyRegex,
    scope: Scope,
) -> Option<(usize, bool)> {
    let open = |no: usize| !line_out_of_scope(e, scope, no);
    let (i, wrapped) = scan.first_line(e, re)?;
    if open(i + 1) && (!wrapped || open(i + 2)) {
        return Some((i, wrapped));
    }
    first_open_line(e, re, open)
}

/// The first line (0-based) whose 1-based number `open` accepts and that
/// `re` matches, failing that the first sentence wrapped over two such
/// lines (and then true).
fn first_open_line(
    e: &Evidence,
    re: &LazyRegex,
    open: impl Fn(usize) -> bool,
) -> Option<(usize, bool)> {
    if let Some(k) = (0..e.lines.len()).find(|&k| open(k + 1) && re.is_match(&e.lines[k])) {
        return Some((k, false));
    }
    e.wrapped_pairs()
        .into_iter()
        .find(|(k, text)| open(k + 1) && open(k + 2) && re.is_match(text))
        .map(|(k, _)| (k, true))
}

fn compare_attempts(
    e: &Evidence,
    failed: &[Outcome],
    worked: &[Outcome],
    differ: Difference,
    same_credentials: bool,
    live: bool,
) -> Option<Vec<EvidenceRef>> {
    let attempts = &e.attempts;
    for (i, bad) in attempts.iter().enumerate() {
        if !failed.contains(&bad.outcome) || live && bad.in_report {
            continue;
        }
        for (j, good) in attempts.iter().enumerate() {
            if i == j || !worked.contains(&good.outcome) || live && good.in_report {
                continue;
            }
            let differs = match differ {
                Difference::Any => true,
                Difference::Source => {
                    bad.source.is_some() && good.source.is_some() && bad.source != good.source
                }
                Difference::Port => {
                    bad.port.is_some() && good.port.is_some() && bad.port != good.port
                }
                Difference::Server => {
                    bad.server.is_some() && good.server.is_some() && bad.server != good.server
                }
            };
            let creds_ok = !same_credentials
                || matches!((e.credential_prints.get(i), e.credential_prints.get(j)), (Some(Some(a)), Some(Some(b))) if a == b);
            if differs && creds_ok {
                return Some(vec![
                    EvidenceRef::of_line(e, bad.outcome_line),
                    EvidenceRef::of_line(e, good.outcome_line),
                ]);
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evidence::{Phase, Recipient, Reply};

    fn reply(code: u16, text: &str, recipient: Option<usize>, inferred: bool) -> Item {
        Item {
            kind: ItemKind::Reply(Reply {
                code,
                status: None,
                text: text.into(),
                phase: Phase::Unknown,
                quoted: true,
                code_inferred: inferred,
            }),
            line: 1,
            end_line: 1,
            quote: text.into(),
            attempt: None,
            recipient,
            in_report: false,
        }
    }

    fn evidence(items: Vec<Item>) -> Evidence {
        Evidence {
            items,
            recipients: vec![Recipient::default(), Recipient::default()],
            ..Evidence::default()
        }
    }

    /// A live relay refusal above an old bounce whose sendmail transcript
    /// reads as a dialogue.
    const LIVE_AND_REPORT: &str =
        include_str!("../../tests/data/scope/live-session-above-old-bounce.txt");

    fn live(m: CompiledMatcher) -> CompiledMatcher {
        CompiledMatcher::Live(Box::new(m))
    }

    #[test]
    fn live_reads_the_customers_session_and_not_a_reports_transcript() {
        let e = Evidence::from_text(LIVE_AND_REPORT);
        // replies
        assert!(matches(&text_matcher("User unknown"), &e, None).is_some());
        assert!(matches(&live(text_matcher("User unknown")), &e, None).is_none());
        let refs = matches(&live(text_matcher("Relay access denied")), &e, None).expect("live");
        assert_eq!(refs[0].line, 8);
        // attempts: the transcript's refused RCPT is the report's, the
        // live session's refused RCPT the customer's
        let rejected = CompiledMatcher::Outcome(vec![Outcome::Rejected]);
        let refs = matches(&live(rejected), &e, None).expect("the live session was refused");
        assert_eq!(refs[0].line, 8);
        // lines
        let line = CompiledMatcher::Line(crate::kb::LazyRegex::new("while talking to"));
        assert!(matches(&line, &e, None).is_some());
        assert!(matches(&live(line), &e, None).is_none());
        // a report alone has no live session
        let report = &LIVE_AND_REPORT[LIVE_AND_REPORT.find("\n\n").unwrap() + 2..];
        let e = Evidence::from_text(report);
        let rejected = CompiledMatcher::Outcome(vec![Outcome::Rejected]);
        assert!(matches(&rejected, &e, None).is_some());
        assert!(matches(&live(rejected), &e, None).is_none());
    }

    #[test]
    fn a_live_reply_counts_for_a_recipient_with_a_reply_of_its_own() {
        let e = Evidence::from_text(LIVE_AND_REPORT);
        let c = e
            .recipients
            .iter()
            .position(|r| r.address == "c@example.org")
            .expect("the DSN names c");
        assert!(has_own_reply(&e, Some(c)));
        // the live session's refusal is about the ticket, and so about c
        assert!(matches(&text_matcher("Relay access denied"), &e, Some(c)).is_some());
        assert!(matches(&text_matcher("User unknown"), &e, Some(c)).is_some());
    }

    #[test]
    fn a_line_pattern_finds_a_sentence_wrapped_over_two_lines() {
        let e = Evidence::from_text(
            "Cannot Send Mail\nThe recipient \"b@example.org\" was rejected by the server because it does not\n  allow relaying.\n",
        );
        let m = CompiledMatcher::Line(crate::kb::LazyRegex::new("does not allow relaying"));
        let refs = matches(&m, &e, None).expect("the wrapped wording is found");
        assert_eq!((refs[0].line, refs[0].end_line), (2, 3));
        assert!(refs[0].quote.ends_with("does not allow relaying."));
        // a line matching on its own is cited alone
        let m = CompiledMatcher::Line(crate::kb::LazyRegex::new("Cannot Send Mail"));
        let refs = matches(&m, &e, None).expect("found");
        assert_eq!((refs[0].line, refs[0].end_line), (1, 1));
        // lines that are not one sentence are not joined
        let e = Evidence::from_text("The server said no.\nallow relaying.\n");
        let m = CompiledMatcher::Line(crate::kb::LazyRegex::new("no\\. allow"));
        assert!(matches(&m, &e, None).is_none());
    }

    #[test]
    fn a_log_line_about_another_recipient_is_out_of_a_recipients_scope() {
        let e = Evidence::from_text(concat!(
            "Mar 11 08:14:56 gw postfix/smtp[1]: 6F2B: to=<a@example.net>, relay=mx.example.net[192.0.2.4]:25, dsn=2.0.0, status=sent (250 2.0.0 Ok: queued as 4ZcL)\n",
            "Mar 11 08:14:57 gw postfix/smtp[2]: 6F2B: to=<b@example.org>, relay=mx.example.org[192.0.2.7]:25, dsn=4.2.0, status=deferred (host mx.example.org[192.0.2.7] said: 450 4.2.0 Greylisted, try again later (in reply to RCPT TO command))\n",
            "Mar 11 08:20:00 gw postfix/qmgr[3]: 6F2B: status=sent is what we want to see\n",
        ));
        let sent = CompiledMatcher::Line(crate::kb::LazyRegex::new("status=sent"));
        // the whole ticket and the sent recipient read the first line
        assert_eq!(matches(&sent, &e, None).expect("whole")[0].line, 1);
        assert_eq!(matches(&sent, &e, Some(0)).expect("a")[0].line, 1);
        // the deferred recipient reads past it to a line about no one
        assert_eq!(matches(&sent, &e, Some(1)).expect("b")[0].line, 3);
        let queued = CompiledMatcher::Line(crate::kb::LazyRegex::new("queued as"));
        assert!(matches(&queued, &e, Some(1)).is_none());
        assert!(matches(&live(queued), &e, Some(1)).is_none());
        assert!(matches(&text_matcher("Greylisted"), &e, Some(0)).is_none());
    }

    /// A `Reply` matcher on the reply text alone.
    fn text_matcher(re: &str) -> CompiledMatcher {
        CompiledMatcher::Reply {
            code: None,
            status: None,
            phase: None,
            text: Some(crate::kb::LazyRegex::new(re)),
        }
    }

    #[test]
    fn a_reporters_own_status_and_reading_before_the_reply_is_not_the_servers() {
        let mut wrapped = reply(550, "<a@example.com>... Access denied", Some(0), false);
        wrapped.quote =
            "5.1.0 - Unknown address error 550-'5.7.1 <a@example.com>... Access denied'".into();
        let e = evidence(vec![wrapped]);
        assert!(matches(&text_matcher("(?i)unknown address"), &e, Some(0)).is_none());
        assert!(matches(&text_matcher("(?i)access denied"), &e, Some(0)).is_some());
        // prose without a status of its own before the code is kept
        let mut exim = reply(550, "Access denied", Some(0), false);
        exim.quote =
            "SMTP error from remote mail server after initial connection:\n550 Access denied"
                .into();
        let e = evidence(vec![exim]);
        assert!(matches(&text_matcher("(?i)after initial connection"), &e, Some(0)).is_some());
    }

    #[test]
    fn the_host_a_postfix_report_names_is_not_the_servers_words() {
        let mut postfix = reply(550, "Envelope blocked - User Entry", Some(0), false);
        postfix.quote = "<b@example.org>: host\n    eu-smtp-inbound-1.mimecast.com[192.0.2.1] said: 550 Envelope blocked -\n    User Entry (in reply to RCPT TO command)".into();
        let e = evidence(vec![postfix]);
        assert!(matches(&text_matcher("(?i)mimecast.*block"), &e, Some(0)).is_none());
        // the server's own words, wrapped over lines, still count
        assert!(matches(&text_matcher("(?i)blocked\\s+-\\s+user entry"), &e, Some(0)).is_some());
        assert!(matches(&text_matcher("(?i)in reply to rcpt to"), &e, Some(0)).is_some());
        let mut exim = reply(550, "Envelope blocked - User Entry", Some(0), false);
        exim.quote = "b@example.org\n    host us-smtp-inbound-1.mimecast.com [192.0.2.1]\n    SMTP error from remote mail server after RCPT TO:<b@example.org>:\n    550 Envelope blocked - User Entry".into();
        let e = evidence(vec![exim]);
        assert!(matches(&text_matcher("(?i)mimecast[\\s\\S]*block"), &e, Some(0)).is_none());
        assert!(matches(&text_matcher("(?i)smtp error from remote"), &e, Some(0)).is_some());
        // prose before the host line stays
        let mut exim = reply(554, "relay quota", Some(0), false);
        exim.quote = "b@example.org\n    SMTP error from remote mail server after initial connection:\n    host rbl-gw.example.net [192.0.2.2]:\n    554 relay quota".into();
        let e = evidence(vec![exim]);
        assert!(matches(&text_matcher("(?i)rbl"), &e, Some(0)).is_none());
        assert!(matches(
            &text_matcher("(?i)after initial connection:\\s+554"),
            &e,
            Some(0)
        )
        .is_some());
    }

    #[test]
    fn a_recipient_with_its_own_reply_ignores_replies_tied_to_no_one() {
        let e = evidence(vec![
            reply(552, "mailbox full", Some(0), false),
            reply(554, "Service unavailable", None, false),
        ]);
        assert!(!has_own_reply(&e, None));
        assert!(has_own_reply(&e, Some(0)));
        // recipient 1 has nothing of its own: the unscoped reply is all it has
        assert!(!has_own_reply(&e, Some(1)));
    }

    #[test]
    fn a_reply_inferred_from_a_status_is_not_the_recipients_own() {
        let e = evidence(vec![
            reply(550, "Status: 5.0.0", Some(0), true),
            reply(554, "5.7.1 blocked using a blocklist", None, false),
        ]);
        assert!(!has_own_reply(&e, Some(0)));
    }

    #[test]
    fn a_session_refusal_tied_to_no_one_does_not_override_a_recipients_own_reply() {
        let kb = crate::kb::KnowledgeBase::embedded().unwrap();
        let e = evidence(vec![
            reply(
                552,
                "5.2.2 <one@example.org>... Mailbox full",
                Some(0),
                false,
            ),
            reply(
                554,
                "5.7.1 Service unavailable; blocked using zen.spamhaus.org",
                None,
                false,
            ),
        ]);
        let own = crate::engine::evaluate_scoped(&kb, &e, &Default::default(), Some(0));
        assert_eq!(own.cause, "mailbox-full");
        let other = crate::engine::evaluate_scoped(&kb, &e, &Default::default(), Some(1));
        assert_eq!(other.cause, "ip-blocklisted");
    }
}
