//! Bounces: ties evidence to the recipient it is about, so that every failed
//! recipient of a bounce can be judged on its own.
//!
//! Owns: finding the recipients of free-form non-delivery reports (those
//! without a `message/delivery-status` part), attaching replies and lines to
//! a recipient (the `Diagnostic-Code` of its DSN block, the paragraph of the
//! notification that names it), dropping dialogue-looking items read from the
//! quoted original message, and giving each recipient a reply to judge when
//! the report states only a status or a sentence (`code_inferred`).
//!
//! Must not touch: what a reply means. It only says which recipient a line
//! is about.

use super::mime::{Section, SectionKind};
use super::reply::{find_status, strip_leading_status};
use super::{Evidence, Item, ItemKind, Phase, Recipient, Reply};
use regex::Regex;
use std::sync::LazyLock;

/// Most recipients a free-form report is searched for.
const MAX_RECIPIENTS: usize = 64;
/// Most lines of a notification paragraph read as one recipient's diagnosis.
const MAX_PARAGRAPH: usize = 12;

/// A pasted notification (not an email): it says a message was not
/// delivered, in the words mail systems and clients use.
static NOTICE: LazyLock<crate::shared_regex::SharedRegex> = LazyLock::new(|| {
    crate::shared_regex::SharedRegex::unicode(
        r"(?i)delivery has failed|could ?n[o']t be delivered|(?:was|were|is) ?n[o']t delivered|undeliverable|delivery to the following recipients? (?:failed|has been delayed)|failed permanently|permanent (?:error|failure)|returned to sender|message not delivered|did ?n[o']t reach|wasn't able to deliver|unable to deliver|delivery (?:status notification|failure)|following (?:addresses|recipients) had|^subject:.*\breturned mail\b",
    )
});

/// The same notice in the languages mail systems localize it into: the
/// heading over an Exchange or Microsoft 365 report's list of failed
/// recipients ("... to these recipients or groups:"), and the sentence that
/// a message could not be delivered, as Exchange, Gmail and ISPs' mail
/// systems write it in their users' language.
static LOCALIZED_NOTICE: LazyLock<crate::shared_regex::SharedRegex> = LazyLock::new(|| {
    crate::shared_regex::SharedRegex::unicode(concat!(
        r"(?i)",
        // Exchange's heading over the recipient list, in its languages
        r"(?:empfänger oder gruppen|destinataires ou groupes|destinatari o gruppi|destinatarios o grupos|destinatários ou grupos|geadresseerden of groepen|ontvangers of groepen|adresatów lub grup|mottagare eller grupper|modtagere eller grupper|mottakere eller grupper|受信者またはグループ|收件人或组|收件者或群組)\s*[:：]?\s*$",
        // German
        r"|(?:konnte|kann) nicht (?:an \S+ )?zugestellt werden|wurde nicht (?:an (?:\S+ ){1,3})?zugestellt|\bunzustellbar|zustellung (?:ist )?fehlgeschlagen|fehler bei der zustellung|nachricht nicht zugestellt",
        // French
        r"|n'a pas (?:pu )?(?:être |été )(?:remis|distribué)|\bnon remis\b|message non distribué|échec de (?:la )?(?:remise|distribution)",
        // Spanish
        r"|no se (?:ha )?(?:pudo |podido )?entregar|no se (?:ha )?entregado|no se entregó|mensaje no entregado",
        // Italian
        r"|non (?:è stato|è stata) recapitat|\bnon recapitabile|impossibile recapitare|recapito non (?:è )?riuscito|il recapito non è riuscito|non (?:è stato|è stata) consegnat",
        // Portuguese
        r"|não (?:foi|pôde ser|pode ser) entregue|falha na entrega|a entrega falhou|mensagem não entregue",
        // Dutch
        r"|(?:kan|kon) niet worden bezorgd|\bonbestelbaar|bezorging (?:is )?mislukt",
        // Polish
        r"|nie (?:można|mogła|może) zostać dostarczon|nie (?:została|zostało) dostarczon|\bniedostarczon|dostarczenie\b.{0,40}nie powiodło się",
        // Swedish, Danish, Norwegian
        r"|kunde inte levereras|kan inte levereras|leveransen misslyckades|kunne ikke (?:leveres|afleveres)",
        // Japanese, Chinese
        r"|配信(?:できませんでした|に失敗しました|不能)|无法(?:传递|投递|送达)|(?:传递|投递)失败|退信|無法傳遞",
        // Russian
        r"|не (?:было |может быть |могло быть )?доставлено|не удалось доставить",
    ))
});

/// A word that denies what follows, ending the text before a notice's words:
/// "no undeliverable message", "keine Unzustellbarkeitsnachricht", "sin
/// mensaje no entregado". A line that says no notice came is no notice.
static DENIED: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(?i)(?:^|[^a-zà-ÿ])(?:no|not|never|without|any|keine?[mnrs]?|ohne|sin|ning[úu]n|aucun|pas d[e'])\s+(?:[a-zà-ÿ]+\s+)?["'“„«]?\s*$"#).unwrap()
});

/// A line of a non-delivery notice, in English or a localized wording,
/// unless the line denies it.
fn is_notice(line: &str) -> bool {
    [&*NOTICE, &*LOCALIZED_NOTICE]
        .iter()
        .any(|re| re.any_match_start(line, |start| !DENIED.is_match(&line[..start])))
}

pub fn extract(evidence: &mut Evidence) {
    if evidence.sections.is_empty() {
        tag_dsn_replies(evidence);
        let has_reply = evidence
            .items
            .iter()
            .any(|i| matches!(i.kind, ItemKind::Reply(_)));
        if has_reply || !evidence.lines.iter().any(|l| is_notice(l)) {
            return;
        }
        // a pasted notification with no reply code: read it as a bounce's text
        evidence.sections.push(Section {
            kind: SectionKind::Text,
            first: 1,
            last: evidence.lines.len(),
        });
        if evidence.recipients.is_empty() {
            find_recipients(evidence);
        }
        infer_replies(evidence);
        return;
    }
    drop_quoted_dialogue(evidence);
    if !looks_like_report(evidence) {
        // an ordinary message (an auto-reply, a forwarded note): its
        // addresses are not failed recipients
        tag_dsn_replies(evidence);
        return;
    }
    // in an mbox, a free-form report may sit beside a DSN
    if evidence.recipients.is_empty() || evidence.messages > 1 {
        find_recipients(evidence);
    }
    tag_dsn_replies(evidence);
    tag_paragraphs(evidence);
    join_twins(evidence);
    infer_replies(evidence);
}

/// A report names recipients in DSN fields, quotes a reply, or uses the
/// words of a non-delivery notice.
fn looks_like_report(evidence: &Evidence) -> bool {
    !evidence.recipients.is_empty()
        || evidence
            .items
            .iter()
            .any(|i| matches!(i.kind, ItemKind::Reply(_)))
        || evidence.lines.iter().any(|l| is_notice(l))
}

fn section_of(evidence: &Evidence, line: usize) -> Option<SectionKind> {
    evidence
        .sections
        .iter()
        .find(|s| s.first <= line && line <= s.last)
        .map(|s| s.kind)
}

/// Dialogue lines inside the original message's headers are not a
/// session, and a report's network lines are not the customer's network.
fn drop_quoted_dialogue(evidence: &mut Evidence) {
    let sections = evidence.sections.clone();
    evidence.items.retain(|item| {
        let kind = sections
            .iter()
            .find(|s| s.first <= item.line && item.line <= s.last)
            .map(|s| s.kind);
        // a report's connection and DNS lines are the remote MTA's, not the
        // customer's own network
        let network = matches!(
            item.kind,
            ItemKind::Connect { .. }
                | ItemKind::NameError { .. }
                | ItemKind::LocalAddress { .. }
                | ItemKind::NetworkHint { .. }
        );
        match kind {
            Some(SectionKind::OriginalHeaders | SectionKind::Original | SectionKind::Headers) => {
                matches!(item.kind, ItemKind::Field { .. })
            }
            _ => !network,
        }
    });
}

/// A reply inside a recipient's DSN fields (its `Diagnostic-Code`) is
/// about that recipient; its status defaults to the block's `Status`.
fn tag_dsn_replies(evidence: &mut Evidence) {
    let spans: Vec<(usize, usize, usize)> = evidence
        .items
        .iter()
        .filter_map(|i| match (&i.kind, i.recipient) {
            (ItemKind::Field { name, .. }, Some(r)) if name == "Diagnostic-Code" => {
                Some((i.line, i.end_line, r))
            }
            _ => None,
        })
        .collect();
    for item in &mut evidence.items {
        if !matches!(item.kind, ItemKind::Reply(_)) || item.recipient.is_some() {
            continue;
        }
        if let Some(&(_, _, r)) = spans
            .iter()
            .find(|(first, last, _)| *first <= item.line && item.line <= *last)
        {
            item.recipient = Some(r);
            let status = evidence.recipients.get(r).and_then(|rc| rc.status);
            if let ItemKind::Reply(reply) = &mut item.kind {
                if reply.status.is_none() {
                    reply.status = status;
                }
            }
        }
    }
}

static ADDRESS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+").unwrap()
});

/// Where a free-form report names the address it failed for: at the start
/// of a line (`<a@b>:`, `  a@b`, `a@b... User unknown`), after `RCPT TO:`,
/// or after "to"/"for" in a sentence about delivery.
static RECIPIENT_AT: LazyLock<Regex> = LazyLock::new(|| {
    // a domain ends before the dot that ends a sentence
    const DOMAIN: &str =
        r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+";
    let pattern = r#"(?ix)
        ^\s*(?:\d{3}[\s-](?:\d\.\d{1,3}\.\d{1,3}\s+)?)?["']?<?(?:mailto:)?(?P<a>[^\s<>"'@]+@{DOMAIN})>?["']?\s*(?:$|:|\.\.\.|,|;|\(|\s-|\s+\(|\s+(?:user|mailbox|recipient|address|unknown|no\b|not\b|does|is\b|was\b|has\b|host|on\b|\d{3}\b|\[|<|smtp|sorry|delivery|failed|error|the\b|because|unable|could|can't|cannot|mail|message|quota|over|account|domain|invalid|rejected|refused|denied|blocked|sender|retry|too|exceeded|this|\#))
        |rcpt\s+to:?\s*<(?P<b>[^\s<>]+@[^\s<>]+)>
        |(?:deliver(?:ed|y)?|sent|send|message|mail)\s+(?:\w+\s+){0,4}(?:to|for)\s*:?\s*["']?<?(?P<c>[^\s<>"'@]+@{DOMAIN})>?["']?(?:[\s,.;:)]|$)
        |(?:recipient|address|addressee|user|mailbox)(?:\s+address)?\s*:\s*<?(?P<d>[^\s<>"'@]+@{DOMAIN})>?(?:[\s,.;:)]|$)
    "#;
    Regex::new(&pattern.replace("{DOMAIN}", DOMAIN)).unwrap()
});

/// Recipients of a free-form report, in order of appearance, found in its
/// notification text; the sender's own addresses and the reporting
/// system's (postmaster, mailer-daemon) are not recipients.
fn find_recipients(evidence: &mut Evidence) {
    let own = own_addresses(evidence);
    let mut found: Vec<Recipient> = evidence.recipients.clone();
    let known: Vec<String> = found
        .iter()
        .map(|r| r.address.to_ascii_lowercase())
        .collect();
    // a text naming a DSN's recipient is that DSN's notification
    let names_known = |s: &&super::mime::Section| {
        (s.first..=s.last).any(|no| {
            let lower = evidence.line(no).to_ascii_lowercase();
            known.iter().any(|k| lower.contains(k.as_str()))
        })
    };
    for section in evidence
        .sections
        .iter()
        .filter(|s| s.kind == SectionKind::Text)
        .filter(|s| !names_known(s))
    {
        for no in section.first..=section.last {
            let line = evidence.line(no);
            for caps in RECIPIENT_AT.captures_iter(line) {
                let Some(m) = ["a", "b", "c", "d"].iter().find_map(|n| caps.name(n)) else {
                    continue;
                };
                let address = m.as_str().trim_end_matches(['.', ',']).to_string();
                if !ADDRESS.is_match(&address) || is_system_address(&address) {
                    continue;
                }
                let lower = address.to_ascii_lowercase();
                if own.contains(&lower)
                    || found
                        .iter()
                        .any(|r| r.address.eq_ignore_ascii_case(&address))
                {
                    continue;
                }
                if found.len() < MAX_RECIPIENTS {
                    found.push(Recipient {
                        address,
                        line: no,
                        ..Recipient::default()
                    });
                }
            }
        }
    }
    evidence.recipients = found;
}

/// The report's own From/To/Return-Path addresses (the reporting system
/// and the original sender).
fn own_addresses(evidence: &Evidence) -> Vec<String> {
    let mut own = Vec::new();
    for item in &evidence.items {
        let ItemKind::Field { name, value } = &item.kind else {
            continue;
        };
        if section_of(evidence, item.line) != Some(SectionKind::Headers) {
            continue;
        }
        if matches!(name.as_str(), "From" | "To") {
            own.extend(
                ADDRESS
                    .find_iter(value)
                    .map(|m| m.as_str().to_ascii_lowercase()),
            );
        }
    }
    for section in evidence
        .sections
        .iter()
        .filter(|s| s.kind == SectionKind::Headers)
    {
        for no in section.first..=section.last {
            let line = evidence.line(no);
            let lower = line.to_ascii_lowercase();
            if lower.starts_with("return-path:")
                || lower.starts_with("reply-to:")
                || lower.starts_with("sender:")
            {
                own.extend(
                    ADDRESS
                        .find_iter(line)
                        .map(|m| m.as_str().to_ascii_lowercase()),
                );
            }
        }
    }
    own
}

fn is_system_address(address: &str) -> bool {
    let local = address.split('@').next().unwrap_or("").to_ascii_lowercase();
    matches!(
        local.as_str(),
        // postmaster can be the failed recipient itself; the reporter's own
        // addresses are left out by `own_addresses`
        "mailer-daemon"
            | "mail-daemon"
            | "daemon"
            | "root"
            | "noreply"
            | "no-reply"
            | "bounce"
            | "bounces"
    )
}

/// In a notification naming several recipients, the lines after one
/// recipient's address (up to the next one's) are about that recipient; in
/// one naming a single recipient, every reply of the report is. In a
/// sendmail transcript, a session's dialogue before any recipient line is
/// about the first recipient line under it, and a line about a host
/// (`550 example.org (smtp)... Host unknown`) about the recipient at that domain.
fn tag_paragraphs(evidence: &mut Evidence) {
    let addresses: Vec<String> = evidence
        .recipients
        .iter()
        .map(|r| r.address.to_ascii_lowercase())
        .collect();
    let mut owner_of_line: Vec<Option<usize>> = vec![None; evidence.lines.len() + 2];
    // sendmail's lines about a host at no recipient's domain: about another
    // message's recipients (a queue run reports them together), never ours
    let mut other_host = vec![false; evidence.lines.len() + 2];
    // the further lines of a quoted reply: an address there is the reply's words
    let mut inside = vec![false; evidence.lines.len() + 2];
    for item in evidence
        .items
        .iter()
        .filter(|i| matches!(i.kind, ItemKind::Reply(_)))
    {
        for flag in inside
            .iter_mut()
            .take(item.end_line + 1)
            .skip(item.line + 1)
        {
            *flag = true;
        }
    }
    for section in evidence
        .sections
        .iter()
        .filter(|s| s.kind == SectionKind::Text)
    {
        let mut current = None;
        // the first line of a sendmail session block ("While talking to
        // <host>:") whose dialogue names no recipient yet
        let mut session: Option<usize> = None;
        let last = section.last.min(evidence.lines.len());
        for no in section.first..=last {
            let lower = evidence.line(no).to_ascii_lowercase();
            let mut named: Vec<usize> = addresses
                .iter()
                .enumerate()
                .filter(|(_, a)| lower.contains(a.as_str()))
                .map(|(i, _)| i)
                .collect();
            // sendmail's line about a host (`550 example.org (smtp)... Host
            // unknown`) is about the recipients at that domain, and starts their part
            let host_line = named.is_empty()
                && host_line_domain(&lower).is_some_and(|domain| {
                    named = addresses
                        .iter()
                        .enumerate()
                        .filter(|(_, a)| a.rsplit('@').next() == Some(domain))
                        .map(|(i, _)| i)
                        .collect();
                    true
                });
            other_host[no] = host_line && named.is_empty();
            if named.len() == 1 {
                current = Some(named[0]);
                // the session's dialogue above is about the first recipient
                // line under it (sendmail writes the dialogue, then its verdict)
                if let Some(start) = session.take() {
                    for owner in owner_of_line.iter_mut().take(no).skip(start) {
                        owner.get_or_insert(named[0]);
                    }
                }
            } else if named.len() > 1
                || host_line
                || (leads_with_address(&lower) && !inside[no])
                || lower.contains("while talking to")
            {
                // several recipients, or an address that is none of them
                current = None;
            }
            if lower.contains("while talking to") {
                session = Some(no + 1);
            } else if lower.trim().is_empty() {
                session = None;
            }
            owner_of_line[no] = current;
        }
    }
    // a report about one recipient is about it throughout, including a
    // reply written before its address
    let lone = (evidence.recipients.len() == 1).then_some(0);
    let sections = &evidence.sections;
    for item in &mut evidence.items {
        if item.recipient.is_none() && matches!(item.kind, ItemKind::Reply(_)) {
            let in_report = sections.iter().any(|s| {
                matches!(s.kind, SectionKind::Text | SectionKind::Report)
                    && s.first <= item.line
                    && item.line <= s.last
            });
            // the reply's last line: its lead-in may close another's paragraph
            let about_other_host = other_host[item.line..=item.end_line].contains(&true);
            item.recipient = owner_of_line
                .get(item.end_line)
                .copied()
                .flatten()
                .or(lone.filter(|_| in_report && !about_other_host));
        }
    }
}

/// A report often quotes one reply twice: in the recipient's paragraph and
/// in the session transcript, in the notification text and in the DSN's
/// `Diagnostic-Code`. Twins (same code, same words) are one reply: a twin
/// no paragraph claimed belongs to the recipient its twins belong to, and
/// a twin that does not say what it answered takes the phase (and status)
/// the other states.
fn join_twins(evidence: &mut Evidence) {
    struct Quote {
        index: usize,
        recipient: Option<usize>,
        key: (u16, String),
        phase: Phase,
        status: Option<super::Status>,
    }
    let quotes: Vec<Quote> = evidence
        .items
        .iter()
        .enumerate()
        .filter_map(|(index, item)| match &item.kind {
            ItemKind::Reply(reply) if !reply.code_inferred => Some(Quote {
                index,
                recipient: item.recipient,
                key: (
                    reply.code,
                    reply
                        .text
                        .to_ascii_lowercase()
                        .chars()
                        .filter(|c| c.is_alphanumeric())
                        .collect(),
                ),
                phase: reply.phase,
                status: reply.status,
            }),
            _ => None,
        })
        .collect();
    for quote in &quotes {
        let twins = || {
            quotes
                .iter()
                .filter(|t| t.index != quote.index && twins(&t.key, &quote.key))
        };
        let mut owners: Vec<usize> = twins().filter_map(|t| t.recipient).collect();
        owners.sort_unstable();
        owners.dedup();
        let owner = match quote.recipient {
            Some(r) => Some(r),
            None if owners.len() == 1 => Some(owners[0]),
            None => None,
        };
        // twins of the same recipient (or of none) tell the phase and status
        let same = |t: &&Quote| t.recipient.is_none() || t.recipient == owner;
        let known = twins()
            .filter(same)
            .map(|t| t.phase)
            .find(|p| !matches!(p, Phase::Unknown));
        let stated = twins().filter(same).find_map(|t| t.status);
        let item = &mut evidence.items[quote.index];
        item.recipient = owner;
        if let ItemKind::Reply(reply) = &mut item.kind {
            if quote.phase == Phase::Unknown {
                reply.phase = known.unwrap_or(Phase::Unknown);
            }
            if quote.status.is_none() {
                reply.status = stated;
            }
        }
    }
}

/// Two quotes of one reply: the same code, and the words of one start the
/// other's (a report may add Postfix's "(in reply to ... command)").
fn twins(a: &(u16, String), b: &(u16, String)) -> bool {
    let (short, long) = if a.1.len() <= b.1.len() {
        (a, b)
    } else {
        (b, a)
    };
    a.0 == b.0 && short.1.len() >= 8 && long.1.starts_with(short.1.as_str())
}

/// The host a sendmail report line is about (`550 example.org (smtp)...
/// 550 Host unknown`, `421 example.org (esmtp)... Deferred: ...`).
fn host_line_domain(line: &str) -> Option<&str> {
    static HOST_LINE: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"^\s*[245]\d\d\s+([a-z0-9-]+(?:\.[a-z0-9-]+)+)\s+\([a-z0-9-]+\)\.\.\.").unwrap()
    });
    HOST_LINE
        .captures(line)
        .and_then(|c| c.get(1))
        .map(|m| m.as_str())
}

/// A line led by an address, as a report starts a recipient's paragraph
/// or a transcript's reply about one (`<a@b>:`, `<<< 550 5.1.1 <a@b>...`).
fn leads_with_address(line: &str) -> bool {
    static LEADING: LazyLock<crate::shared_regex::SharedRegex> = LazyLock::new(|| {
        crate::shared_regex::SharedRegex::unicode(
            r#"^\s*(?:(?:<<<|>>>|\(?reason:)\s*)?(?:[245]\d\d[ -](?:[245]\.\d{1,3}\.\d{1,3}\s+)?)?["']?<?[^\s<>"'@()]+@[a-z0-9-]+(?:\.[a-z0-9-]+)+>?(?:$|[\s:.,;])"#,
        )
    });
    LEADING.is_match_str(line)
}

/// Gives every recipient without a reply of its own one to judge: from its
/// DSN `Diagnostic-Code` or `Status`, or from the notification paragraph
/// that names it. With no recipient at all, the notification text is one.
fn infer_replies(evidence: &mut Evidence) {
    let mut new_items = Vec::new();
    for index in 0..evidence.recipients.len() {
        let has_reply = evidence
            .items
            .iter()
            .any(|i| i.recipient == Some(index) && matches!(i.kind, ItemKind::Reply(_)));
        if has_reply {
            continue;
        }
        let found = dsn_reply(evidence, index).or_else(|| paragraph_reply(evidence, index));
        let free_form = !evidence
            .items
            .iter()
            .any(|i| i.recipient == Some(index) && matches!(i.kind, ItemKind::Field { .. }));
        new_items.extend(found);
        // a lone recipient of a free-form report: the whole notification is
        // about it, including a reason written before its address
        if evidence.recipients.len() == 1 && free_form {
            new_items.extend(notification_reply(evidence, Some(index)));
        }
    }
    let has_reply = evidence
        .items
        .iter()
        .any(|i| matches!(i.kind, ItemKind::Reply(_)));
    if evidence.recipients.is_empty() && !has_reply {
        new_items.extend(notification_reply(evidence, None));
    }
    evidence.items.extend(new_items);
}

/// The start of the first notification text, read as one reply.
fn notification_reply(evidence: &Evidence, recipient: Option<usize>) -> Option<Item> {
    let section = evidence
        .sections
        .iter()
        .find(|s| s.kind == SectionKind::Text)?;
    let cap = section.last.min(section.first + 3 * MAX_PARAGRAPH);
    // an original message quoted without a marker starts with its headers
    let last = (section.first + 1..=cap)
        .find(|&no| is_message_header(evidence.line(no)))
        .map_or(cap, |no| no - 1);
    inferred(evidence, section.first, last, recipient, None)
}

/// A header line of a quoted message (`Received:`, `X-Mailer:`, ...): the
/// notification's words have ended.
fn is_message_header(line: &str) -> bool {
    static HEADER: LazyLock<crate::shared_regex::SharedRegex> = LazyLock::new(|| {
        crate::shared_regex::SharedRegex::unicode(
            r"(?i)^(?:received|return-path|message-id|mime-version|dkim-signature|x-[a-z0-9-]+):\s",
        )
    });
    HEADER.is_match_str(line)
}

fn dsn_reply(evidence: &Evidence, index: usize) -> Option<Item> {
    let recipient = &evidence.recipients[index];
    let field = |want: &str| {
        evidence.items.iter().find(|i| {
            i.recipient == Some(index)
                && matches!(&i.kind, ItemKind::Field { name, .. } if name == want)
        })
    };
    if let Some(item) = field("Diagnostic-Code") {
        return inferred(
            evidence,
            item.line,
            item.end_line,
            Some(index),
            recipient.status,
        );
    }
    // no diagnostic: the notification's paragraph says more than the bare status
    if let Some(mut item) = paragraph_reply(evidence, index) {
        if let ItemKind::Reply(reply) = &mut item.kind {
            reply.status = reply.status.or(recipient.status);
        }
        return Some(item);
    }
    let item = field("Status")?;
    recipient.status?;
    inferred(
        evidence,
        item.line,
        item.line,
        Some(index),
        recipient.status,
    )
}

/// The paragraph that names the recipient: its line and the lines after it
/// up to a blank line or the next recipient.
fn paragraph_reply(evidence: &Evidence, index: usize) -> Option<Item> {
    let address = evidence.recipients[index].address.to_ascii_lowercase();
    let named = |no: usize| evidence.line(no).to_ascii_lowercase().contains(&address);
    let leads = |no: usize| {
        let line = evidence
            .line(no)
            .trim_start()
            .trim_start_matches(['<', '"', '\''])
            .to_ascii_lowercase();
        line.starts_with(&address)
    };
    // a header (X-Failed-Recipients) names it first; the paragraph is in the
    // text, best on a line the address opens (not a "To:" line quoting it)
    let texts = || {
        evidence
            .sections
            .iter()
            .filter(|s| s.kind == SectionKind::Text)
    };
    let (section, start) = texts()
        .find_map(|s| (s.first..=s.last).find(|&no| leads(no)).map(|no| (s, no)))
        .or_else(|| {
            texts().find_map(|s| (s.first..=s.last).find(|&no| named(no)).map(|no| (s, no)))
        })?;
    // "a@b because:" with the reason after a blank line
    let rest = evidence
        .line(start)
        .to_ascii_lowercase()
        .replace(&address, "");
    let bare = rest.chars().filter(|c| c.is_alphanumeric()).count() < 12;
    let others: Vec<String> = evidence
        .recipients
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != index)
        .map(|(_, r)| r.address.to_ascii_lowercase())
        .collect();
    let mut last = start;
    while last < section.last && last - start < MAX_PARAGRAPH {
        let next = evidence.line(last + 1);
        let lower = next.to_ascii_lowercase();
        let said: usize = (start + 1..=last)
            .map(|no| {
                evidence
                    .line(no)
                    .chars()
                    .filter(|c| c.is_alphanumeric())
                    .count()
            })
            .sum();
        let has_text = !bare || said >= 12;
        if next.trim().is_empty() && has_text
            || others.iter().any(|a| lower.contains(a.as_str()))
            || is_message_header(next)
        {
            break;
        }
        last += 1;
    }
    inferred(evidence, start, last, Some(index), None)
}

static DSN_FIELD: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)^(?:diagnostic-code|status|action|remote-mta|final-recipient)\s*:\s*").unwrap()
});

/// A reply read from lines that carry no reply code of their own.
fn inferred(
    evidence: &Evidence,
    first: usize,
    last: usize,
    recipient: Option<usize>,
    status: Option<super::Status>,
) -> Option<Item> {
    let joined = (first..=last)
        .map(|no| evidence.line(no).trim())
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    // a DSN field's words, without its name ("Diagnostic-Code:", "Status:")
    // and the type before them ("smtp;", "X-Postfix;", "X-Unix;")
    let value = DSN_FIELD
        .find(&joined)
        .map_or(joined.as_str(), |m| &joined[m.end()..]);
    let body = value
        .split_once(';')
        .filter(|(kind, _)| !kind.trim().contains(' '))
        .map(|(_, rest)| rest)
        .unwrap_or(value);
    let status = status.or_else(|| find_status(body));
    let success = status.is_some_and(|s| s.class == 2);
    let temporary = status.is_some_and(|s| s.class == 4)
        || recipient.and_then(|r| evidence.recipients[r].action.as_deref()) == Some("delayed");
    let text = strip_leading_status(body.trim()).to_string();
    if text.is_empty() && status.is_none() {
        return None;
    }
    let phase = super::reply::phase_hint(&joined).unwrap_or(Phase::Unknown);
    let quote = (first..=last)
        .map(|no| evidence.line(no).trim_end())
        .collect::<Vec<_>>()
        .join("\n");
    Some(Item {
        kind: ItemKind::Reply(Reply {
            code: if success {
                250
            } else if temporary {
                450
            } else {
                550
            },
            status,
            text,
            phase,
            quoted: true,
            code_inferred: true,
        }),
        line: first,
        end_line: last,
        quote,
        attempt: None,
        recipient,
        in_report: false,
    })
}

#[cfg(test)]
mod tests {
    use crate::evidence::{Evidence, Phase};

    #[test]
    fn a_line_that_denies_a_notice_is_no_notice() {
        assert!(super::is_notice("Your message could not be delivered."));
        assert!(super::is_notice("Die Nachricht ist unzustellbar."));
        assert!(!super::is_notice(
            "Ich bekomme keine Fehlermeldung und keine Unzustellbarkeitsnachricht."
        ));
        assert!(!super::is_notice(
            "She never got any \"undeliverable\" message."
        ));
    }

    #[test]
    fn free_form_report_names_each_recipient_with_its_own_reply() {
        let e = Evidence::from_bytes(include_bytes!(
            "../../tests/data/bounce/qmail-two-recipients.eml"
        ));
        let addresses: Vec<_> = e.recipients.iter().map(|r| r.address.as_str()).collect();
        assert_eq!(addresses, ["alice@example.net", "bob@example.org"]);
        for (index, want) in [(0, "no mailbox here"), (1, "over quota")] {
            let texts: Vec<_> = e
                .replies()
                .filter(|(i, _)| i.recipient == Some(index))
                .map(|(_, r)| r.text.clone())
                .collect();
            assert!(texts.iter().any(|t| t.contains(want)), "{index}: {texts:?}");
        }
    }

    #[test]
    fn a_report_that_only_lists_addresses_with_reasons_names_its_recipient() {
        let e = Evidence::from_bytes(include_bytes!(
            "../../tests/data/bounce/codeless-address-list.eml"
        ));
        let addresses: Vec<_> = e.recipients.iter().map(|r| r.address.as_str()).collect();
        assert_eq!(addresses, ["bob@example.org"]);
        assert!(e
            .replies()
            .any(|(i, r)| i.recipient == Some(0) && r.text.contains("User unknown")));
    }

    #[test]
    fn a_localized_notice_without_a_reply_code_is_read_as_a_bounce() {
        // Exchange's headings over the failed recipients, and the sentence that
        // a message was not delivered, in the languages mail systems localize
        // them into: each recipient gets the sentence after its address
        for (notice, address, reason) in [
            (
                "Recapito non riuscito per i seguenti destinatari o gruppi:",
                "b@example.org",
                "Non sono riuscito a trovare l'indirizzo",
            ),
            (
                "Échec de la remise pour ces destinataires ou groupes :",
                "b@example.org",
                "introuvable",
            ),
            (
                "Dostarczenie do tych adresatów lub grup nie powiodło się:",
                "b@example.org",
                "Nie można odnaleźć",
            ),
            (
                "次の受信者またはグループへの配信に失敗しました:",
                "b@example.org",
                "見つかりませんでした",
            ),
        ] {
            let text = format!("{notice}\n\n{address}\n{reason}.\n");
            let e = Evidence::from_bytes(text.as_bytes());
            let addresses: Vec<_> = e.recipients.iter().map(|r| r.address.as_str()).collect();
            assert_eq!(addresses, [address], "{notice}");
            assert!(
                e.replies().any(|(i, r)| i.recipient == Some(0)
                    && r.code_inferred
                    && r.code == 550
                    && r.text.contains(reason)),
                "{notice}"
            );
        }
        // a notice sentence alone, with no address, is still one reply
        let e = Evidence::from_bytes(
            "Ihre Nachricht wurde nicht an den Empfänger zugestellt, weil die Adresse nicht gefunden wurde.\n"
                .as_bytes(),
        );
        assert!(e.replies().any(|(_, r)| r.code_inferred));
        // prose that merely names recipients and groups is no notice
        let e = Evidence::from_bytes(
            "Añadir destinatarios o grupos de usuarios al proyecto.\n".as_bytes(),
        );
        assert_eq!(e.replies().count(), 0);
    }

    /// Each recipient's replies: (code, phase, quoted, inferred, status).
    fn replies_of(e: &Evidence, index: usize) -> Vec<(u16, Phase, bool, bool, String)> {
        e.replies()
            .filter(|(i, _)| i.recipient == Some(index))
            .map(|(_, r)| {
                (
                    r.code,
                    r.phase,
                    r.quoted,
                    r.code_inferred,
                    r.status.map(|s| s.to_string()).unwrap_or_default(),
                )
            })
            .collect()
    }

    #[test]
    fn sendmail_session_dialogue_and_host_lines_go_to_their_recipients() {
        let e = Evidence::from_bytes(include_bytes!(
            "../../tests/data/bounce/sendmail-v5-host-lines.eml"
        ));
        let addresses: Vec<_> = e.recipients.iter().map(|r| r.address.as_str()).collect();
        assert_eq!(
            addresses,
            ["alice@example.org", "bob@example.net", "carol@example.edu"]
        );
        // the refused MAIL FROM of the session above alice's verdict line is hers
        let alice = replies_of(&e, 0);
        assert!(
            alice.iter().any(|r| r.0 == 501 && r.1 == Phase::Mail),
            "{alice:?}"
        );
        // the line about example.net is bob's, not alice's
        assert!(alice.iter().all(|r| r.0 != 550), "{alice:?}");
        let bob = replies_of(&e, 1);
        assert_eq!(bob.iter().filter(|r| r.0 == 550).count(), 1, "{bob:?}");
        let carol = replies_of(&e, 2);
        assert!(carol.iter().any(|r| r.1 == Phase::Rcpt), "{carol:?}");
    }

    #[test]
    fn a_host_line_about_another_domain_is_not_the_lone_recipients() {
        let e = Evidence::from_bytes(include_bytes!(
            "../../tests/data/bounce/sendmail-v5-other-host.eml"
        ));
        let addresses: Vec<_> = e.recipients.iter().map(|r| r.address.as_str()).collect();
        assert_eq!(addresses, ["alice@example.org"]);
        let alice = replies_of(&e, 0);
        assert!(
            alice.iter().any(|r| r.0 == 550 && r.1 == Phase::Mail),
            "{alice:?}"
        );
        // the queue's deferral of example.net is about some other message
        assert!(alice.iter().all(|r| r.0 != 421), "{alice:?}");
    }

    #[test]
    fn postfix_paragraphs_give_each_recipient_its_reply_and_phase() {
        let e = Evidence::from_bytes(include_bytes!(
            "../../tests/data/bounce/postfix-two-phases.eml"
        ));
        // the reply is on the line under "said:", the phase wrapped over two lines
        let alice = replies_of(&e, 0);
        assert_eq!(
            alice[0],
            (550, Phase::Message, true, false, "5.0.0".to_string())
        );
        // the DSN's Diagnostic-Code quotes the same reply: it answered the same command
        assert_eq!(
            alice[1],
            (550, Phase::Message, true, false, "5.0.0".to_string())
        );
        let (item, _) = e.replies().find(|(i, _)| i.recipient == Some(0)).unwrap();
        assert!(
            item.quote.starts_with("<alice@example.net>: host"),
            "{item:?}"
        );
        let bob = replies_of(&e, 1);
        assert_eq!(bob[0], (550, Phase::Rcpt, true, false, "5.1.1".to_string()));
        // nothing read from the report is a live session's greeting
        assert!(e
            .replies()
            .all(|(_, r)| r.quoted && r.phase != Phase::Greeting));
    }

    #[test]
    fn a_reply_written_with_blank_lines_between_its_lines_is_one_reply() {
        let e = Evidence::from_bytes(include_bytes!(
            "../../tests/data/bounce/dma-blank-lines.eml"
        ));
        assert_eq!(e.recipients[0].address, "carol@example.org");
        let all: Vec<_> = e.replies().collect();
        assert_eq!(all.len(), 1, "{all:?}");
        let (item, reply) = all[0];
        assert_eq!((reply.code, reply.phase), (550, Phase::Message));
        assert_eq!(item.recipient, Some(0));
        assert!(reply.text.ends_with("administrator of the sending domain."));
    }

    #[test]
    fn a_delay_notice_keeps_its_own_reply_and_phase() {
        let e = Evidence::from_bytes(include_bytes!(
            "../../tests/data/bounce/exim-delay-after-mail.eml"
        ));
        // the 450 under Exim's "after MAIL FROM:<...> SIZE=2048:" line, and
        // no 550 inferred from the notification's words
        assert_eq!(
            replies_of(&e, 0),
            vec![(450, Phase::Mail, true, false, "4.7.1".to_string())]
        );
    }

    #[test]
    fn a_pipelined_transcript_is_read_per_recipient() {
        let e = Evidence::from_bytes(include_bytes!(
            "../../tests/data/bounce/sendmail-pipelined.eml"
        ));
        // "(reason: 550 ...)" is a reply, without the closing parenthesis
        let (_, reason) = e.replies().next().unwrap();
        assert_eq!(reason.text, "<erin@example.org>... User unknown");
        // after `>>> DATA`, the replies before the last answered RCPT TO
        let erin = replies_of(&e, 0);
        assert!(
            erin.iter().any(|r| r.0 == 550 && r.1 == Phase::Rcpt),
            "{erin:?}"
        );
        assert!(erin.iter().all(|r| r.1 != Phase::Message), "{erin:?}");
        // the second session's refusal is frank's: its paragraph quotes it
        let frank = replies_of(&e, 1);
        assert!(
            frank.iter().all(|r| r.0 == 550 && r.1 == Phase::Data),
            "{frank:?}"
        );
        assert_eq!(frank.len(), 2, "{frank:?}");
    }

    #[test]
    fn an_exim_list_gives_each_recipient_its_multi_line_reply() {
        let e = Evidence::from_bytes(include_bytes!(
            "../../tests/data/bounce/exim-two-recipients.eml"
        ));
        // the next recipient's line (less indented) ends the first reply
        assert_eq!(
            replies_of(&e, 0),
            vec![(452, Phase::Rcpt, true, false, "4.2.2".to_string())]
        );
        assert_eq!(
            replies_of(&e, 1),
            vec![(550, Phase::Message, true, false, "5.7.1".to_string())]
        );
        let (_, hank) = e.replies().find(|(i, _)| i.recipient == Some(1)).unwrap();
        assert!(hank.text.ends_with("blocked senders list"), "{hank:?}");
    }

    #[test]
    fn an_inferred_reply_leaves_out_the_field_name() {
        let e = Evidence::from_bytes(b"From: MAILER-DAEMON@mx.example.com\nTo: sender@example.com\nSubject: Delivery Status Notification (Failure)\nContent-Type: multipart/report; report-type=delivery-status; boundary=\"b\"\n\n--b\nContent-Type: text/plain\n\nDelivery failed.\n\n--b\nContent-Type: message/delivery-status\n\nReporting-MTA: dns; mx.example.com\n\nFinal-Recipient: rfc822; ivy@example.org\nAction: failed\nStatus: 5.0.0\nDiagnostic-Code: The email account that you tried to reach does not exist.\n\n--b--\n");
        let (_, reply) = e.replies().next().unwrap();
        assert!(reply.code_inferred);
        assert_eq!(
            reply.text,
            "The email account that you tried to reach does not exist."
        );
    }

    #[test]
    fn dsn_status_without_code_becomes_an_inferred_reply() {
        let e = Evidence::from_bytes(include_bytes!(
            "../../tests/data/bounce/dsn-status-only.eml"
        ));
        assert_eq!(e.recipients.len(), 2);
        let (item, reply) = e.replies().find(|(i, _)| i.recipient == Some(1)).unwrap();
        assert!(reply.code_inferred);
        assert_eq!(
            (reply.code, reply.status.unwrap().to_string()),
            (450, "4.2.2".to_string())
        );
        assert!(item.quote.contains("Status"));
    }
}
