//! `mailtriage evidence`: shows what the evidence stage reads from one
//! transcript, item by item, before any rule looks at it. For rule authors
//! asking "why did my signature not fire?".
//!
//! Owns: the subcommand's arguments and its rendering of items.
//! Must not touch: extraction itself (`evidence`) or any diagnosis.

use crate::evidence::{Evidence, Item, ItemKind};
use anyhow::Context as _;
use clap::Args;
use std::io::{Read, Write};
use std::process::ExitCode;

pub const EVIDENCE_HELP: &str = "\
Each line is one item: its line range in the (decoded) transcript, the
recipient it is tied to (#N, counted from 0, as in classify's recipients[]),
its kind and what was read. Replies show code, enhanced status, the phase
(the SMTP command they answer) and flags: `quoted` (inside prose, a log or a
bounce) and `inferred` (a report gave only a status or action, the code was
inferred). Items inside a pasted report (a bounce, the session transcript it
quotes, a forwarded message) end in `(in report)`; the rest is the customer's
own live session and notes, what `Live(...)` reads. Emails are decoded first (MIME parts, base64, quoted-printable), so
line numbers are those of the decoded text; --lines prints it numbered.
Credentials are redacted here as everywhere.

Examples:
  mailtriage evidence bounce.eml
  mailtriage evidence --lines --format json ticket.txt | jq '.items[]'";

#[derive(Debug, Args)]
pub struct EvidenceArgs {
    /// The transcript, or - for stdin.
    #[arg(value_name = "TRANSCRIPT")]
    pub path: String,
    /// Also print the decoded, redacted transcript with line numbers.
    #[arg(long)]
    pub lines: bool,
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    pub format: EvidenceFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum EvidenceFormat {
    Text,
    Json,
}

pub fn run(args: EvidenceArgs) -> anyhow::Result<ExitCode> {
    let bytes = read(&args.path)?;
    let evidence = Evidence::from_bytes(&bytes);
    let mut out = std::io::stdout().lock();
    match args.format {
        EvidenceFormat::Json => write_json(&mut out, &evidence, args.lines)?,
        EvidenceFormat::Text => write_text(&mut out, &evidence, args.lines)?,
    }
    Ok(ExitCode::SUCCESS)
}

/// Reads a file, or standard input for `-`.
pub(super) fn read(path: &str) -> anyhow::Result<Vec<u8>> {
    if path == "-" {
        let mut bytes = Vec::new();
        std::io::stdin()
            .lock()
            .read_to_end(&mut bytes)
            .context("reading standard input")?;
        return Ok(bytes);
    }
    std::fs::read(path).with_context(|| format!("reading {path}"))
}

fn write_json(out: &mut impl Write, evidence: &Evidence, lines: bool) -> anyhow::Result<()> {
    let mut value = serde_json::to_value(evidence)?;
    if lines {
        value["lines"] = serde_json::to_value(&evidence.lines)?;
    }
    serde_json::to_writer_pretty(&mut *out, &value)?;
    writeln!(out)?;
    Ok(())
}

fn write_text(out: &mut impl Write, evidence: &Evidence, lines: bool) -> std::io::Result<()> {
    if lines {
        for (i, line) in evidence.lines.iter().enumerate() {
            writeln!(out, "{:>5} | {line}", i + 1)?;
        }
        writeln!(out)?;
    }
    for (i, r) in evidence.recipients.iter().enumerate() {
        let action = r.action.as_deref().unwrap_or("-");
        let status = r.status.map(|s| s.to_string()).unwrap_or("-".into());
        writeln!(
            out,
            "recipient #{i}  {}  action {action}  status {status}  (L{})",
            r.address, r.line
        )?;
    }
    for item in &evidence.items {
        writeln!(out, "{}", describe(item))?;
    }
    for note in &evidence.notes {
        writeln!(out, "note: {note}")?;
    }
    Ok(())
}

/// One item as a line: where, for whom, what.
fn describe(item: &Item) -> String {
    let place = if item.end_line > item.line {
        format!("L{}-{}", item.line, item.end_line)
    } else {
        format!("L{}", item.line)
    };
    let scope = item
        .recipient
        .map(|r| format!("#{r}"))
        .unwrap_or_else(|| "-".into());
    let report = if item.in_report { " (in report)" } else { "" };
    format!("{place:<10} {scope:<4} {}{report}", what(&item.kind))
}

fn what(kind: &ItemKind) -> String {
    match kind {
        ItemKind::Reply(r) => {
            let status = r.status.map(|s| format!(" {s}")).unwrap_or_default();
            let mut flags = String::new();
            if r.quoted {
                flags.push_str(" quoted");
            }
            if r.code_inferred {
                flags.push_str(" inferred");
            }
            format!(
                "reply {}{status} [{}{flags}] {}",
                r.code,
                r.phase,
                r.text.trim()
            )
        }
        ItemKind::Command { verb, arg } => format!("command {verb} {arg}"),
        ItemKind::Capability { keyword, params } => format!("capability {keyword} {params}"),
        ItemKind::AuthPrompt { decoded } => format!("auth-prompt {decoded}"),
        ItemKind::Secret { secret, bytes } => format!("secret {secret:?} ({bytes} bytes)"),
        ItemKind::Connect { host, port, result } => {
            let port = port.map(|p| format!(":{p}")).unwrap_or_default();
            format!("connect {host}{port} {result:?}")
        }
        ItemKind::LocalAddress { address } => format!("local-address {address}"),
        ItemKind::Ptr { address, name } => format!("ptr {address} -> {name}"),
        ItemKind::NameError { name } => format!("name-error {name}"),
        ItemKind::Field { name, value } => format!("field {name}: {value}"),
        ItemKind::NetworkHint { label } => format!("network-hint {label}"),
    }
}
