//! Header and delivery-status fields found in pasted bounces and messages
//! (`Final-Recipient`, `Status`, `Action`, `Received-SPF`,
//! `Authentication-Results`, `Content-Type`, `Auto-Submitted`, ...), and the
//! recipients they name. Folded continuation lines are joined.

use super::reply::parse_status;
use super::{Evidence, ItemKind, Recipient};

/// Fields worth keeping; others are left to free-text signatures.
const FIELDS: &[&str] = &[
    "final-recipient",
    "original-recipient",
    "x-failed-recipients",
    "original-rcpt-to",
    "action",
    "status",
    "remote-mta",
    "reporting-mta",
    "diagnostic-code",
    "last-attempt-date",
    "arrival-date",
    "received-spf",
    "authentication-results",
    "arc-authentication-results",
    "dkim-signature",
    "content-type",
    "auto-submitted",
    "x-autoreply",
    "x-autorespond",
    "precedence",
    "feedback-type",
    "subject",
    "from",
    "to",
    "date",
    "message-id",
    "x-postfix-queue-id",
    "x-mailer",
    "user-agent",
];

pub fn extract(evidence: &mut Evidence) {
    let mut fields = Vec::new();
    let count = evidence.lines.len();
    let mut no = 1;
    while no <= count {
        let line = evidence.line(no);
        let Some((name, value)) = split_field(line) else {
            no += 1;
            continue;
        };
        let mut value = value.to_string();
        let mut last = no;
        while last < count && is_fold(evidence.line(last + 1)) && last - no < 20 {
            value.push(' ');
            value.push_str(evidence.line(last + 1).trim());
            last += 1;
        }
        fields.push((name, value, no, last));
        no = last + 1;
    }
    let mut current: Option<usize> = None;
    for (name, value, first, last) in fields {
        let lower = name.to_ascii_lowercase();
        // an ARF report names the complaining recipients in Original-Rcpt-To
        if lower == "final-recipient"
            || lower == "x-failed-recipients"
            || lower == "original-rcpt-to"
        {
            for address in addresses(&value) {
                current = Some(add_recipient(
                    evidence,
                    address,
                    first,
                    lower == "final-recipient",
                ));
            }
        }
        if let Some(index) = current {
            let recipient = &mut evidence.recipients[index];
            match lower.as_str() {
                "action" => recipient.action = Some(value.trim().to_ascii_lowercase()),
                "status" => recipient.status = parse_status(&value),
                _ => {}
            }
        }
        evidence.push(ItemKind::Field { name, value }, first, last);
        if is_per_recipient(&lower) {
            if let Some(item) = evidence.items.last_mut() {
                item.recipient = current;
            }
        }
    }
}

/// Adds a recipient, or returns the one already named by a header
/// (`X-Failed-Recipients` then `Final-Recipient` name the same address).
fn add_recipient(evidence: &mut Evidence, address: String, line: usize, dsn: bool) -> usize {
    let same = |r: &Recipient| r.address.eq_ignore_ascii_case(&address);
    // a header named it (X-Failed-Recipients), or a DSN block that has no
    // Final-Recipient of its own yet; an Action field may come first
    let from_header = |r: &Recipient| {
        !evidence
            .line(r.line)
            .to_ascii_lowercase()
            .starts_with("final-recipient")
    };
    let reusable = evidence.recipients.iter().position(|r| {
        same(r) && (!dsn || from_header(r) || (r.action.is_none() && r.status.is_none()))
    });
    if let Some(index) = reusable {
        return index;
    }
    evidence.recipients.push(Recipient {
        address,
        line,
        ..Recipient::default()
    });
    evidence.recipients.len() - 1
}

fn is_per_recipient(name: &str) -> bool {
    matches!(
        name,
        "final-recipient"
            | "original-recipient"
            | "action"
            | "status"
            | "remote-mta"
            | "diagnostic-code"
            | "last-attempt-date"
    )
}

/// The header labels a localized mail program prints when a message is
/// pasted or forwarded (Outlook's "Betreff:", "Objet :", "件名:"), with the
/// field they stand for. French typography puts a space before the colon.
const LOCALIZED: &[(&str, &str)] = &[
    ("betreff", "Subject"),
    ("objet", "Subject"),
    ("asunto", "Subject"),
    ("oggetto", "Subject"),
    ("onderwerp", "Subject"),
    ("assunto", "Subject"),
    ("件名", "Subject"),
    ("主题", "Subject"),
    ("von", "From"),
    ("de", "From"),
    ("da", "From"),
    ("van", "From"),
    ("差出人", "From"),
    ("发件人", "From"),
];

fn split_field(line: &str) -> Option<(String, &str)> {
    let (name, value) = line.split_once(':')?;
    if name.is_empty() || name.starts_with(['-', '>', '<']) {
        return None;
    }
    if !name.contains(' ') {
        let lower = name.to_ascii_lowercase();
        if FIELDS.contains(&lower.as_str()) {
            return Some((canonical(name), value.trim()));
        }
    }
    let label = name.trim_end().to_lowercase();
    if label.contains(' ') {
        return None;
    }
    LOCALIZED
        .iter()
        .find(|(alias, _)| *alias == label)
        .map(|(_, field)| (field.to_string(), value.trim()))
}

/// `final-recipient` -> `Final-Recipient`, so field names compare simply.
fn canonical(name: &str) -> String {
    name.split('-')
        .map(|part| {
            let mut chars = part.chars();
            match chars.next() {
                Some(first) => {
                    first.to_ascii_uppercase().to_string() + &chars.as_str().to_ascii_lowercase()
                }
                None => String::new(),
            }
        })
        .collect::<Vec<_>>()
        .join("-")
}

fn is_fold(line: &str) -> bool {
    line.starts_with([' ', '\t']) && !line.trim().is_empty()
}

fn addresses(value: &str) -> Vec<String> {
    let value = value.split_once(';').map(|(_, v)| v).unwrap_or(value);
    value
        .split([',', ' '])
        .map(|a| a.trim().trim_matches(['<', '>']))
        .filter(|a| a.contains('@'))
        .map(str::to_string)
        .collect()
}

#[cfg(test)]
mod tests {
    use crate::evidence::Evidence;

    #[test]
    fn a_failed_recipients_header_and_its_dsn_block_are_one_recipient() {
        let e = Evidence::from_text("X-Failed-Recipients: bob@example.org\n\nReporting-MTA: dns; mx.example.com\n\nAction: failed\nFinal-Recipient: rfc822;bob@example.org\nStatus: 5.0.0\n");
        assert_eq!(e.recipients.len(), 1);
        assert_eq!(e.recipients[0].status.unwrap().to_string(), "5.0.0");
    }

    #[test]
    fn localized_header_labels_of_a_pasted_message_are_its_subject_and_from() {
        let e = Evidence::from_text("De : Julien Moreau\nObjet : Réponse automatique : Facture\nBetreff: Automatische Antwort: Lieferung\n件名: 配信不能: お見積り\nDe la part de quelqu'un: rien\n");
        let fields: Vec<(String, String)> = e
            .items
            .iter()
            .filter_map(|i| match &i.kind {
                crate::evidence::ItemKind::Field { name, value } => {
                    Some((name.clone(), value.clone()))
                }
                _ => None,
            })
            .collect();
        assert_eq!(
            fields,
            vec![
                ("From".to_string(), "Julien Moreau".to_string()),
                (
                    "Subject".to_string(),
                    "Réponse automatique : Facture".to_string()
                ),
                (
                    "Subject".to_string(),
                    "Automatische Antwort: Lieferung".to_string()
                ),
                ("Subject".to_string(), "配信不能: お見積り".to_string()),
            ]
        );
    }

    #[test]
    fn dsn_fields_name_the_recipient_and_status() {
        let e = Evidence::from_text("Final-Recipient: rfc822; bob@example.org\nAction: failed\nStatus: 5.1.1\nDiagnostic-Code: smtp; 550 5.1.1 <bob@example.org>:\n    Recipient address rejected\n");
        assert_eq!(e.recipients.len(), 1);
        assert_eq!(e.recipients[0].address, "bob@example.org");
        assert_eq!(e.recipients[0].status.unwrap().to_string(), "5.1.1");
        let (item, reply) = e.replies().next().unwrap();
        assert_eq!(reply.code, 550);
        assert_eq!(item.end_line, 5);
    }
}
