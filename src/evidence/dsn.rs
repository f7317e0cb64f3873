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
        if lower == "final-recipient" || lower == "x-failed-recipients" {
            for address in addresses(&value) {
                evidence.recipients.push(Recipient { address, line: first, ..Recipient::default() });
            }
            current = evidence.recipients.len().checked_sub(1);
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

fn is_per_recipient(name: &str) -> bool {
    matches!(
        name,
        "final-recipient" | "original-recipient" | "action" | "status" | "remote-mta" | "diagnostic-code" | "last-attempt-date"
    )
}

fn split_field(line: &str) -> Option<(String, &str)> {
    let (name, value) = line.split_once(':')?;
    if name.is_empty() || name.contains(' ') || name.starts_with(['-', '>', '<']) {
        return None;
    }
    let lower = name.to_ascii_lowercase();
    FIELDS
        .contains(&lower.as_str())
        .then(|| (canonical(name), value.trim()))
}

/// `final-recipient` -> `Final-Recipient`, so field names compare simply.
fn canonical(name: &str) -> String {
    name.split('-')
        .map(|part| {
            let mut chars = part.chars();
            match chars.next() {
                Some(first) => first.to_ascii_uppercase().to_string() + &chars.as_str().to_ascii_lowercase(),
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
