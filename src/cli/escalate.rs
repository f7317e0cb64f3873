//! `mailtriage escalate`: reads one ticket (one or more transcript files
//! pasted together), classifies it and writes its escalation packet.
//!
//! Owns: the subcommand's arguments and writing the output atomically.
//! Must not touch: how the packet is gathered or rendered (`report`).

use super::{load_kb, parse_answers};
use crate::engine;
use crate::evidence::Evidence;
use crate::report::{self, PacketFormat, PacketInput, RenderOptions};
use anyhow::Context as _;
use clap::Args;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

pub const ESCALATE_HELP: &str = "\
Targets follow the owner: sending-service (the mail platform's tier-2),
access-isp (the access provider's network desk), recipient-service (the
recipient's postmaster), sender-dns (the domain's DNS admin) and customer (a
plain-language reply). The default is the diagnosis's own target. Templates
are rules/templates/<target>.tera (embedded; --rules DIR overrides them).
Credentials are redacted in every format. The date defaults to
SOURCE_DATE_EPOCH when set, so packets can be reproduced.

Examples:
  mailtriage escalate ticket.txt
  mailtriage escalate --answer receive_works=yes ticket.txt
  mailtriage escalate --ticket T-1042 --format eml -o T-1042.eml ticket.txt
  mailtriage escalate --to customer --format markdown ticket.txt";

#[derive(Debug, Args)]
pub struct EscalateArgs {
    /// Transcript files (read as one ticket, in order), or - for stdin.
    #[arg(value_name = "TRANSCRIPT", required = true)]
    pub paths: Vec<String>,
    /// An answer the agent already has, e.g. receive_works=yes (repeatable).
    #[arg(long = "answer", value_name = "FACT=VALUE")]
    pub answers: Vec<String>,
    /// Escalation target [default: the diagnosis's escalate_to].
    #[arg(long, value_name = "TARGET")]
    pub to: Option<String>,
    /// Ticket id [default: the first file's name].
    #[arg(long, value_name = "ID")]
    pub ticket: Option<String>,
    /// Packet format.
    #[arg(long, value_enum, default_value = "text")]
    pub format: PacketFormat,
    /// Write to FILE (atomically) instead of standard output.
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Show usernames decoded (never passwords).
    #[arg(long)]
    pub show_usernames: bool,
    /// E-mail sender [default: mailtriage <triage@localhost>].
    #[arg(long, value_name = "ADDRESS")]
    pub from: Option<String>,
    /// E-mail recipient [default: <target>@localhost].
    #[arg(long, value_name = "ADDRESS")]
    pub to_address: Option<String>,
    /// The packet's date: seconds since 1970 or YYYY-MM-DDTHH:MM:SSZ [default: SOURCE_DATE_EPOCH, else now].
    #[arg(long, value_name = "DATE", value_parser = parse_date)]
    pub date: Option<i64>,
}

pub fn run(rules: Option<&Path>, args: EscalateArgs) -> anyhow::Result<ExitCode> {
    let kb = load_kb(rules)?;
    let answers = parse_answers(&kb, &args.answers)?;
    let text = read_all(&args.paths)?;
    let ticket = args
        .ticket
        .clone()
        .unwrap_or_else(|| default_ticket(&args.paths));
    // an email (a forwarded bounce) is decoded as classify decodes it
    let evidence = Evidence::from_bytes(text.as_bytes());
    let verdict = engine::evaluate_ticket(&kb, &evidence, &answers);
    let input = PacketInput {
        kb: &kb,
        ticket: &ticket,
        evidence: &evidence,
        verdict: &verdict,
        answers: &answers,
        target: args.to.as_deref(),
    };
    let options = RenderOptions {
        original: args
            .show_usernames
            .then(|| Evidence::source_text(text.as_bytes())),
        show_usernames: args.show_usernames,
        date: args.date,
        from: args.from.clone(),
        to_address: args.to_address.clone(),
    };
    let packet = report::render_with(&input, args.format, &options)?;
    match &args.output {
        Some(path) => write_atomically(path, packet.as_bytes())?,
        None => std::io::stdout().lock().write_all(packet.as_bytes())?,
    }
    Ok(ExitCode::SUCCESS)
}

/// Reads every part; several files are one ticket, each part headed by its name.
fn read_all(paths: &[String]) -> anyhow::Result<String> {
    let mut parts = Vec::new();
    for path in paths {
        let bytes = super::evidence::read(path)?;
        parts.push((path, String::from_utf8_lossy(&bytes).into_owned()));
    }
    if parts.len() == 1 {
        return Ok(parts.remove(0).1);
    }
    Ok(parts
        .iter()
        .map(|(path, text)| format!("=== {path} ===\n{}\n", text.trim_end()))
        .collect::<Vec<_>>()
        .join("\n"))
}

fn default_ticket(paths: &[String]) -> String {
    let first = paths.first().map(String::as_str).unwrap_or("-");
    if first == "-" {
        return "stdin".into();
    }
    Path::new(first)
        .file_stem()
        .map_or_else(|| first.to_string(), |s| s.to_string_lossy().into_owned())
}

/// Writes a temporary file beside the target and renames it, so no partial file is left.
fn write_atomically(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let mut file = tempfile::NamedTempFile::new_in(dir)
        .with_context(|| format!("creating a file in {}", dir.display()))?;
    file.write_all(bytes)
        .with_context(|| format!("writing {}", path.display()))?;
    file.persist(path)
        .with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}

/// Seconds since 1970, or `YYYY-MM-DDTHH:MM:SSZ` (UTC).
fn parse_date(text: &str) -> Result<i64, String> {
    if let Ok(seconds) = text.trim().parse::<i64>() {
        return Ok(seconds);
    }
    let bad = || format!("{text:?}: write seconds since 1970 or YYYY-MM-DDTHH:MM:SSZ");
    let t = text.trim().trim_end_matches('Z');
    let (date, time) = t.split_once(['T', ' ']).unwrap_or((t, "00:00:00"));
    let d: Vec<i64> = date
        .split('-')
        .map(|p| p.parse().map_err(|_| bad()))
        .collect::<Result<_, _>>()?;
    let h: Vec<i64> = time
        .split(':')
        .map(|p| p.parse().map_err(|_| bad()))
        .collect::<Result<_, _>>()?;
    let ([y, m, day], [hh, mm, ss]) = (d.as_slice(), h.as_slice()) else {
        return Err(bad());
    };
    if !(1..=12).contains(m) || !(1..=31).contains(day) || *hh > 23 || *mm > 59 || *ss > 60 {
        return Err(bad());
    }
    Ok(days_from_civil(*y, *m, *day) * 86_400 + hh * 3600 + mm * 60 + ss)
}

/// Days since 1970-01-01 for a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (m + if m > 2 { -3 } else { 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::parse_date;

    #[test]
    fn dates_parse_as_seconds_or_utc_timestamps() {
        assert_eq!(parse_date("1717488000"), Ok(1_717_488_000));
        assert_eq!(parse_date("2024-06-04T08:00:00Z"), Ok(1_717_488_000));
        assert_eq!(parse_date("1970-01-01T00:00:00Z"), Ok(0));
        assert!(parse_date("June 4").is_err());
    }
}
