//! Report: renders the escalation packet for a classified ticket.
//!
//! Owns: turning a verdict plus its evidence into packets for people (text,
//! Markdown, JSON, RFC 5322 email) through the knowledge base's Tera
//! templates (`rules/templates/<target>.tera`, one per escalation target).
//! Must not touch: classification; it renders what it is given.
//!
//! Transcript content only ever enters a template as context data, never as
//! template source, so a paste cannot change what a template does; values
//! that reach e-mail headers have control characters (CR/LF) stripped so they
//! cannot add headers. Every quoted line is taken from redacted lines.

mod eml;
pub mod packet;

pub use packet::Packet;

use crate::engine::Verdict;
use crate::evidence::Evidence;
use crate::kb::KnowledgeBase;
use std::collections::BTreeMap;

/// What a packet is built from.
pub struct PacketInput<'a> {
    pub kb: &'a KnowledgeBase,
    pub ticket: &'a str,
    pub evidence: &'a Evidence,
    pub verdict: &'a Verdict,
    pub answers: &'a BTreeMap<String, crate::kb::Answer>,
    /// Escalation target; defaults to the diagnosis's `escalate_to`.
    pub target: Option<&'a str>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum PacketFormat {
    Text,
    Markdown,
    Json,
    Eml,
}

impl PacketFormat {
    pub fn name(self) -> &'static str {
        match self {
            PacketFormat::Text => "text",
            PacketFormat::Markdown => "markdown",
            PacketFormat::Json => "json",
            PacketFormat::Eml => "eml",
        }
    }
}

/// Settings beyond the ticket itself; the defaults suit the REPL.
#[derive(Debug, Clone, Default)]
pub struct RenderOptions {
    /// The original transcript, needed only to show usernames.
    pub original: Option<String>,
    /// Show usernames decoded (`<username: alice@example.net>`); never passwords.
    pub show_usernames: bool,
    /// The packet's date, seconds since 1970; default `SOURCE_DATE_EPOCH`, else now.
    pub date: Option<i64>,
    /// The e-mail sender, `Name <address>` or `address`; default `mailtriage <triage@localhost>`.
    pub from: Option<String>,
    /// The e-mail recipient; default `<target>@localhost`.
    pub to_address: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("template error: {0}")]
    Template(String),
    #[error("templates/{file}: {message}")]
    InTemplate { file: String, message: String },
    #[error("no template for escalation target \"{target}\" (looked for templates/{target}.tera; targets with templates: {available})")]
    NoTemplate { target: String, available: String },
    #[error("building the e-mail: {0}")]
    Eml(String),
}

/// Renders a packet with default options.
pub fn render(input: &PacketInput, format: PacketFormat) -> Result<String, ReportError> {
    render_with(input, format, &RenderOptions::default())
}

/// Renders a packet.
pub fn render_with(
    input: &PacketInput,
    format: PacketFormat,
    options: &RenderOptions,
) -> Result<String, ReportError> {
    let packet = build_packet(input, format, options)?;
    match format {
        PacketFormat::Json => {
            let mut text = serde_json::to_string_pretty(&packet)
                .map_err(|e| ReportError::Template(e.to_string()))?;
            text.push('\n');
            Ok(text)
        }
        PacketFormat::Text | PacketFormat::Markdown => render_template(input.kb, &packet),
        PacketFormat::Eml => {
            let body = render_template(input.kb, &packet)?;
            eml::build(&packet, &body, options)
        }
    }
}

/// The escalation target for a verdict: the one asked for, else the diagnosis's.
pub fn target_of<'a>(input: &'a PacketInput) -> &'a str {
    input
        .target
        .or_else(|| {
            input
                .kb
                .diagnosis(&input.verdict.diagnosis)
                .and_then(|d| d.escalate_to.as_deref())
        })
        .unwrap_or("customer")
}

/// Gathers the packet (the template context) without rendering it.
pub fn build_packet(
    input: &PacketInput,
    format: PacketFormat,
    options: &RenderOptions,
) -> Result<Packet, ReportError> {
    let target = target_of(input);
    let template = template_name(target);
    if input.kb.template(&template).is_none() {
        return Err(ReportError::NoTemplate {
            target: target.to_string(),
            available: targets(input.kb).join(", "),
        });
    }
    let (lines, redactions) =
        packet::packet_lines(input, options.original.as_deref(), options.show_usernames);
    let gather = packet::Gather {
        format: format.name(),
        target,
        template: &template,
        generated: mail_builder::headers::date::Date::new(packet_date(options)).to_rfc822(),
        lines,
        redactions,
    };
    Ok(packet::gather(input, gather))
}

/// The template file for a target.
pub fn template_name(target: &str) -> String {
    format!("{target}.tera")
}

/// Every target with a template (template files not starting with `_` or named `macros`/`base`).
pub fn targets(kb: &KnowledgeBase) -> Vec<String> {
    let mut out: Vec<String> = kb
        .templates
        .iter()
        .filter_map(|(path, _)| {
            path.strip_prefix("templates/")
                .unwrap_or(path)
                .strip_suffix(".tera")
                .map(str::to_string)
        })
        .filter(|name| {
            !name.starts_with('_') && !name.contains('/') && name != "macros" && name != "base"
        })
        .collect();
    out.sort();
    out
}

/// The packet's date: the option, else `SOURCE_DATE_EPOCH`, else now.
pub fn packet_date(options: &RenderOptions) -> i64 {
    options
        .date
        .or_else(|| {
            std::env::var("SOURCE_DATE_EPOCH")
                .ok()
                .and_then(|s| s.trim().parse().ok())
        })
        .unwrap_or_else(|| mail_builder::headers::date::Date::now().date)
}

/// Compiles the knowledge base's templates; a syntax error names its file.
pub fn compile(kb: &KnowledgeBase) -> Result<tera::Tera, ReportError> {
    let mut tera = tera::Tera::default();
    tera.autoescape_on(vec![]);
    tera.register_filter("pad", pad);
    for (path, text) in &kb.templates {
        let name = path.strip_prefix("templates/").unwrap_or(path);
        tera::Template::new(name, None, text).map_err(|e| ReportError::InTemplate {
            file: name.to_string(),
            message: error_chain(&e),
        })?;
    }
    let named = kb.templates.iter().map(|(path, text)| {
        (
            path.strip_prefix("templates/").unwrap_or(path),
            text.as_str(),
        )
    });
    tera.add_raw_templates(named)
        .map_err(|e| ReportError::Template(error_chain(&e)))?;
    Ok(tera)
}

/// The last compiled template set, keyed by a hash of the template files:
/// compiling is the slow part of rendering, and the REPL renders often.
static COMPILED: std::sync::Mutex<Option<(u64, std::sync::Arc<tera::Tera>)>> =
    std::sync::Mutex::new(None);

fn compiled(kb: &KnowledgeBase) -> Result<std::sync::Arc<tera::Tera>, ReportError> {
    use std::hash::{Hash, Hasher};
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    kb.templates.hash(&mut hasher);
    let key = hasher.finish();
    let mut cache = COMPILED
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    if let Some((k, tera)) = cache.as_ref() {
        if *k == key {
            return Ok(tera.clone());
        }
    }
    let tera = std::sync::Arc::new(compile(kb)?);
    *cache = Some((key, tera.clone()));
    Ok(tera)
}

fn render_template(kb: &KnowledgeBase, packet: &Packet) -> Result<String, ReportError> {
    let tera = compiled(kb)?;
    let context = tera::Context::from_serialize(packet)
        .map_err(|e| ReportError::Template(error_chain(&e)))?;
    let text = tera
        .render(&packet.target.template, &context)
        .map_err(|e| ReportError::InTemplate {
            file: packet.target.template.clone(),
            message: error_chain(&e),
        })?;
    Ok(tidy(&text))
}

/// Trailing spaces off every line, at most one blank line in a row, one final
/// line end: templates stay readable without fighting Tera's whitespace rules.
fn tidy(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut blank = true;
    for line in text.lines() {
        let line = line.trim_end();
        if line.is_empty() && blank {
            continue;
        }
        blank = line.is_empty();
        out.push_str(line);
        out.push('\n');
    }
    while out.ends_with("\n\n") {
        out.pop();
    }
    out
}

/// Tera filter `pad(width=N)`: pads a value with spaces to N characters.
fn pad(
    value: &tera::Value,
    args: &std::collections::HashMap<String, tera::Value>,
) -> tera::Result<tera::Value> {
    let text = match value {
        tera::Value::String(s) => s.clone(),
        tera::Value::Null => String::new(),
        other => other.to_string(),
    };
    let width = args.get("width").and_then(tera::Value::as_u64).unwrap_or(0) as usize;
    let fill = width.saturating_sub(text.chars().count());
    Ok(tera::Value::String(format!("{text}{}", " ".repeat(fill))))
}

/// A Tera error with its causes: the cause holds the position and the detail.
fn error_chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(cause.to_string().trim());
        source = cause.source();
    }
    text
}

/// Checks that templates only read variables the packet provides.
/// Returns one message per unknown variable, naming the template.
pub fn lint_templates(kb: &KnowledgeBase) -> Vec<String> {
    let known = match serde_json::to_value(Packet::default()) {
        Ok(serde_json::Value::Object(map)) => map,
        _ => serde_json::Map::new(),
    };
    let mut problems = Vec::new();
    for (path, text) in &kb.templates {
        let name = path.strip_prefix("templates/").unwrap_or(path);
        match tera::Template::new(name, None, text) {
            Err(e) => problems.push(format!("templates/{name}: {}", error_chain(&e))),
            Ok(t) => {
                let mut lint = lint::Lint {
                    known: &known,
                    bound: vec![],
                    unknown: vec![],
                };
                lint.nodes(&t.ast);
                for var in lint.unknown {
                    problems.push(format!("templates/{name}: unknown variable `{var}`"));
                }
            }
        }
    }
    problems
}

mod lint;
