//! The packet as an RFC 5322 message (mail-builder): From, To, Subject,
//! Date, Message-ID, the rendered text as the body and the redacted
//! transcript attached as `transcript.txt`.
//!
//! Owns: the message's headers and MIME structure. Must not touch: what the
//! packet says (the templates) or which lines it quotes (already redacted).
//!
//! Deterministic on purpose: the Message-ID and the MIME boundary come from
//! a hash of the content, so the same packet gives the same bytes.

use super::packet::{clean_line, Packet};
use super::{packet_date, RenderOptions, ReportError};
use mail_builder::headers::address::Address;
use mail_builder::headers::content_type::ContentType;
use mail_builder::mime::MimePart;
use mail_builder::MessageBuilder;

const DEFAULT_FROM: &str = "mailtriage <triage@localhost>";

/// Builds the message.
pub(super) fn build(
    packet: &Packet,
    body: &str,
    options: &RenderOptions,
) -> Result<String, ReportError> {
    let from = mailbox(options.from.as_deref().unwrap_or(DEFAULT_FROM))?;
    let default_to = format!("{0} <{0}@localhost>", packet.target.id);
    let to = mailbox(options.to_address.as_deref().unwrap_or(&default_to))?;
    let transcript: String = packet
        .transcript
        .iter()
        .map(|l| format!("{}\n", l.text))
        .collect();
    let hash = fnv1a(&[
        packet.ticket.as_bytes(),
        body.as_bytes(),
        transcript.as_bytes(),
    ]);
    let domain = from
        .1
        .rsplit_once('@')
        .map_or("localhost", |(_, d)| d)
        .to_string();
    let message_id = format!("{}.{hash:016x}@{domain}", id_part(&packet.ticket));
    let text = MimePart::new("text/plain", body.to_string());
    let attachment = MimePart::new(
        ContentType::new("text/plain").attribute("charset", "utf-8"),
        transcript,
    )
    .attachment("transcript.txt");
    let mixed = MimePart::new(
        ContentType::new("multipart/mixed")
            .attribute("boundary", format!("mailtriage-{hash:016x}")),
        vec![text, attachment],
    );
    MessageBuilder::new()
        .from(Address::new_address(from.0, from.1))
        .to(Address::new_address(to.0, to.1))
        .subject(subject(packet))
        .date(packet_date(options))
        .message_id(message_id)
        .body(mixed)
        .write_to_string()
        .map_err(|e| ReportError::Eml(e.to_string()))
}

/// `[ticket] cause: title`, on one line whatever the ticket id holds;
/// `[ticket] likely cause (unconfirmed): title` while a question is open.
fn subject(packet: &Packet) -> String {
    let d = &packet.diagnosis;
    let cause = if d.settled || packet.pending.is_empty() {
        d.cause.clone()
    } else {
        format!("likely {} (unconfirmed)", d.cause)
    };
    clean_line(&format!("[{}] {cause}: {}", packet.ticket, d.title))
}

/// Parses `Name <address>` or `address`; control characters are removed first.
fn mailbox(text: &str) -> Result<(Option<String>, String), ReportError> {
    let text = clean_line(text);
    let (name, address) = match text.rsplit_once('<') {
        Some((name, rest)) => {
            let address = rest.strip_suffix('>').ok_or_else(|| bad_address(&text))?;
            let name = name.trim().trim_matches('"').trim();
            (
                (!name.is_empty()).then(|| name.to_string()),
                address.trim().to_string(),
            )
        }
        None => (None, text.trim().to_string()),
    };
    let valid = address.split_once('@').is_some_and(|(local, domain)| {
        !local.is_empty()
            && !domain.is_empty()
            && !address.contains(|c: char| c.is_whitespace() || "<>()[]\\,;:\"".contains(c))
    });
    if valid {
        Ok((name, address))
    } else {
        Err(bad_address(&text))
    }
}

fn bad_address(text: &str) -> ReportError {
    ReportError::Eml(format!(
        "{text:?} is not an address: write `Name <user@example.net>` or `user@example.net`"
    ))
}

/// The ticket id as a Message-ID local part: letters, digits and `.-_` only.
fn id_part(ticket: &str) -> String {
    let part: String = ticket
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-_".contains(c) {
                c
            } else {
                '.'
            }
        })
        .collect::<String>()
        .split('.')
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join(".");
    let part: String = part
        .chars()
        .rev()
        .take(48)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    if part.is_empty() {
        "ticket".into()
    } else {
        part.trim_matches('.').to_string()
    }
}

/// FNV-1a, 64 bits: stable across Rust versions, unlike `DefaultHasher`.
fn fnv1a(parts: &[&[u8]]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for part in parts {
        for byte in part.iter().chain(std::iter::once(&0u8)) {
            hash ^= u64::from(*byte);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
    }
    hash
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mailboxes_parse_and_lose_line_breaks() {
        assert_eq!(
            mailbox("mailtriage <triage@localhost>").unwrap(),
            (Some("mailtriage".into()), "triage@localhost".into())
        );
        assert_eq!(
            mailbox("a@b.example").unwrap(),
            (None, "a@b.example".into())
        );
        let (name, _) = mailbox("Eve\r\nBcc: x@y.example <e@example.net>").unwrap();
        assert!(!name.unwrap().contains('\n'));
        assert!(mailbox("not an address").is_err());
    }

    #[test]
    fn message_id_part_is_safe() {
        assert_eq!(
            id_part("transcripts/auth-backend-fault-01.txt"),
            "transcripts.auth-backend-fault-01.txt"
        );
        assert_eq!(id_part("<>"), "ticket");
    }
}
