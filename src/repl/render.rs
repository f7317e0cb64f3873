//! Render: what the REPL prints: the evidence summary, the question, the
//! diagnosis, the trace (`why`), the answer list. Plain text, short and
//! aligned; colour only when the caller says so.
//!
//! Owns: wording and layout of REPL output. Must not touch: the session or
//! the walk; it renders what it is given.

use super::session::Session;
use crate::engine::{Ask, Conflict, Decision, EvidenceRef, Verdict};
use crate::evidence::Evidence;
use crate::kb::{Answer, KnowledgeBase};
use std::fmt::Write as _;

/// Longest quote shown on one line.
const QUOTE_WIDTH: usize = 56;
/// Prose is wrapped to this many columns.
const WIDTH: usize = 80;
/// Lines shown under one fact in the evidence summary.
const MAX_REFS: usize = 3;

/// Terminal styling; every method is the identity when colour is off.
#[derive(Debug, Clone, Copy)]
pub struct Style {
    pub color: bool,
}

impl Style {
    fn paint(self, code: &str, text: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }
    pub fn bold(self, t: &str) -> String {
        self.paint("1", t)
    }
    pub fn dim(self, t: &str) -> String {
        self.paint("2", t)
    }
    pub fn good(self, t: &str) -> String {
        self.paint("32", t)
    }
    pub fn warn(self, t: &str) -> String {
        self.paint("33", t)
    }
    pub fn accent(self, t: &str) -> String {
        self.paint("36", t)
    }
}

/// Shared inputs of the renderers.
pub struct View<'a> {
    pub kb: &'a KnowledgeBase,
    pub session: &'a Session,
    pub evidence: &'a Evidence,
    pub verdict: &'a Verdict,
    pub style: Style,
}

impl View<'_> {
    /// "line 15", or "paste 2, line 5" once there is more than one paste.
    pub fn place(&self, line: usize) -> String {
        match self.session.locate(line) {
            Some((paste, local)) if self.session.pastes.len() > 1 => {
                format!("paste {}, line {local}", paste + 1)
            }
            Some((_, local)) => format!("line {local}"),
            None => format!("line {line}"),
        }
    }

    fn place_ref(&self, r: &EvidenceRef) -> String {
        self.place(r.line)
    }

    /// What a fact the evidence set means: its description, or for a fact
    /// the agent could have been asked, the question and the evidence's answer.
    fn describe_finding(&self, fact: &str, value: Answer) -> String {
        match (self.kb.fact(fact), self.kb.question_for(fact)) {
            (Some(def), _) if value == Answer::No => format!("not: {}", def.describe),
            (Some(def), _) => def.describe.clone(),
            (None, Some(q)) => format!("{} {}", q.text, value.as_str()),
            _ => format!("{fact} = {}", value.as_str()),
        }
    }

    /// The evidence found: one line per fact, with where it is and the quote.
    pub fn evidence_summary(&self) -> String {
        let s = self.style;
        let findings = &self.verdict.findings;
        if findings.is_empty() {
            return format!("{}\n", s.warn("No evidence found yet: paste an SMTP dialogue, a bounce, a log or an error text."));
        }
        let mut rows: Vec<(String, String, String)> = Vec::new();
        for f in findings {
            let meaning = self.describe_finding(&f.fact, f.value);
            if f.refs.is_empty() {
                rows.push((String::new(), String::new(), meaning));
                continue;
            }
            // Several lines behind one fact are usually attempts compared
            // (failing here, working there): show them together.
            for (i, r) in f.refs.iter().take(MAX_REFS).enumerate() {
                let quote = shorten(first_line(&r.quote), QUOTE_WIDTH);
                let text = match i {
                    0 if f.refs.len() > MAX_REFS => {
                        format!("{meaning} (+{} more)", f.refs.len() - MAX_REFS)
                    }
                    0 => meaning.clone(),
                    _ => String::new(),
                };
                rows.push((self.place_ref(r), quote, text));
            }
        }
        let w_place = rows.iter().map(|r| r.0.chars().count()).max().unwrap_or(0);
        let w_quote = rows.iter().map(|r| r.1.chars().count()).max().unwrap_or(0);
        let mut out = format!("{}\n", s.bold("Evidence:"));
        for (place, quote, meaning) in rows {
            let meaning = if meaning.is_empty() {
                meaning
            } else {
                s.dim(&format!("-> {meaning}"))
            };
            let line = format!("  {place:<w_place$}  {quote:<w_quote$}  {meaning}");
            let _ = writeln!(out, "{}", line.trim_end());
        }
        out
    }

    /// Conflicts, then the open question or the diagnosis.
    pub fn next(&self) -> String {
        let mut out = self.conflicts();
        match &self.verdict.question {
            Some(ask) => out.push_str(&question(ask, self.style)),
            None => out.push_str(&self.diagnosis()),
        }
        out
    }

    fn conflicts(&self) -> String {
        let mut out = String::new();
        for c in &self.verdict.conflicts {
            out.push_str(&self.conflict(c));
        }
        out
    }

    fn conflict(&self, c: &Conflict) -> String {
        let lines = c
            .refs
            .iter()
            .map(|r| self.place_ref(r))
            .collect::<Vec<_>>()
            .join(", ");
        let text = format!(
            "Note: the answer {} = {} disagrees with the evidence ({}, {lines}), which says {}; the evidence is kept.",
            c.fact,
            c.answered.as_str(),
            c.signature,
            c.evidence_says.as_str()
        );
        format!("{}\n", self.style.warn(&text))
    }

    /// Cause, owner, what to tell the customer, what is ruled out, escalation.
    pub fn diagnosis(&self) -> String {
        let (s, v) = (self.style, self.verdict);
        let d = self.kb.diagnosis(&v.diagnosis);
        let label = if v.settled() || v.cause == "unknown" {
            "Diagnosis:"
        } else {
            "Diagnosis (most likely, not yet confirmed):"
        };
        let mut out = format!("{} {}\n", s.bold(label), s.good(&v.title));
        let _ = writeln!(out, "  cause       {}", s.accent(&v.cause));
        let _ = writeln!(out, "  owner       {}", s.accent(&v.owner));
        let _ = writeln!(out, "  confidence  {:.2}", v.confidence);
        if !v.pending.is_empty() {
            let _ = writeln!(
                out,
                "  assumed     {} (not known; answer to confirm)",
                v.pending.join(", ")
            );
        }
        if let Some(d) = d {
            if v.settled() {
                let _ = writeln!(
                    out,
                    "{}\n  {}",
                    s.bold("Tell the customer:"),
                    wrap(&d.tell_customer, 2, "  ")
                );
            } else {
                // the diagnosis rests on an open question: say it as the
                // likely cause and ask what would confirm it
                let asks: Vec<String> = v
                    .pending
                    .iter()
                    .filter_map(|f| self.kb.question_for(f))
                    .map(|q| q.customer_text().to_string())
                    .collect();
                let text = format!(
                    "Most likely: {} {}{}",
                    d.tell_customer,
                    if asks.is_empty() {
                        ""
                    } else {
                        "To confirm it: "
                    },
                    asks.join(" ")
                );
                let _ = writeln!(
                    out,
                    "{}\n  {}",
                    s.bold("Tell the customer (not yet confirmed):"),
                    wrap(text.trim_end(), 2, "  ")
                );
            }
            let _ = writeln!(
                out,
                "{} {}",
                s.bold("Next step:"),
                wrap(&d.action, 11, "  ")
            );
        }
        out.push_str(&self.suspects());
        if !v.also_seen.is_empty() {
            let _ = writeln!(out, "Also seen in the evidence: {}", v.also_seen.join(", "));
        }
        if v.cause != "unknown" {
            let target = d.and_then(|d| d.escalate_to.as_deref()).unwrap_or(&v.owner);
            let _ = writeln!(
                out,
                "Type {} to write the escalation packet (to {target}).",
                s.bold("escalate")
            );
        }
        out
    }

    fn suspects(&self) -> String {
        let s = self.style;
        let mut out = String::new();
        let (out_, open): (Vec<_>, Vec<_>) =
            self.verdict.suspects.iter().partition(|x| x.ruled_out);
        if !out_.is_empty() {
            let _ = writeln!(out, "{}", s.bold("Ruled out by the evidence:"));
            for x in out_ {
                let at = x
                    .refs
                    .first()
                    .map(|r| format!(" ({})", self.place_ref(r)))
                    .unwrap_or_default();
                let text = wrap(&format!("{}: {}", x.label, x.because), 4, "    ");
                let _ = writeln!(out, "  - {}", append_kept(&text, &at, 4, "    "));
            }
        }
        if !open.is_empty() {
            let labels: Vec<&str> = open.iter().map(|x| x.label.as_str()).collect();
            let _ = writeln!(out, "Not ruled out: {}", labels.join(", "));
        }
        out
    }

    /// `why`: each step with what decided it, then the suspects.
    pub fn trace(&self) -> String {
        let (s, v) = (self.style, self.verdict);
        let mut out = format!("{}\n", s.bold("How the decision was reached:"));
        for (i, step) in v.trace.iter().enumerate() {
            let taken = 6 + step.node.chars().count();
            let why = wrap(&format!("- {}", step.why), taken, "     ");
            let _ = writeln!(out, "  {}. {} {}", i + 1, s.accent(&step.node), s.dim(&why));
            let _ = writeln!(out, "     {}", self.decision(&step.decision));
        }
        let _ = writeln!(
            out,
            "  => {} ({}, owner {})",
            s.good(&v.diagnosis),
            v.cause,
            v.owner
        );
        out.push_str(&self.suspects());
        if let Some(ask) = &v.question {
            let _ = writeln!(out, "Open question: {} ({})", ask.text, ask.fact);
        }
        out
    }

    fn decision(&self, d: &Decision) -> String {
        match d {
            Decision::Evidence { condition, facts } => {
                let lines: Vec<String> = facts
                    .iter()
                    .flat_map(|f| f.refs.iter().take(MAX_REFS).map(move |r| (f, r)))
                    .map(|(f, r)| {
                        let quote = shorten(first_line(&r.quote), QUOTE_WIDTH);
                        format!("{} at {}: {quote}", f.fact, self.place_ref(r))
                    })
                    .collect();
                let head = wrap(&format!("evidence: {condition}"), 5, "       ");
                if lines.is_empty() {
                    head
                } else {
                    format!("{head}\n       {}", lines.join("\n       "))
                }
            }
            Decision::Answer { fact, value } => format!("you answered {fact} = {}", value.as_str()),
            Decision::Assumed { fact } => {
                format!("{fact} is not known yet: assumed the likelier branch")
            }
            Decision::Otherwise => "none of the cases held".to_string(),
        }
    }

    /// `evidence`: the pastes, then the facts found.
    pub fn evidence_list(&self) -> String {
        let mut out = format!("{}\n", self.style.bold("Pastes:"));
        if self.session.pastes.is_empty() {
            out.push_str("  none yet\n");
        }
        for (i, p) in self.session.pastes.iter().enumerate() {
            let lines = p.text.lines().count();
            let _ = writeln!(
                out,
                "  {}. {} ({lines} line{})",
                i + 1,
                p.source,
                if lines == 1 { "" } else { "s" }
            );
        }
        if !self.evidence.attempts.is_empty() {
            let _ = writeln!(out, "Connection attempts: {}", self.evidence.attempts.len());
            for a in &self.evidence.attempts {
                let from = a
                    .source
                    .as_deref()
                    .map(|x| format!(" from {x}"))
                    .unwrap_or_default();
                let port = a.port.map(|p| format!(":{p}")).unwrap_or_default();
                let server = a.server.as_deref().unwrap_or("?");
                let _ = writeln!(
                    out,
                    "  {}: {server}{port}{from} -> {:?}",
                    self.place(a.first_line),
                    a.outcome
                );
            }
        }
        out.push_str(&self.evidence_summary());
        for note in &self.evidence.notes {
            let _ = writeln!(out, "Note: {note}");
        }
        out
    }
}

/// The question with why it is asked.
pub fn question(ask: &Ask, s: Style) -> String {
    format!(
        "{} {}\n  {} {}\n  {}\n",
        s.bold("Question:"),
        wrap(&ask.text, 10, "  "),
        s.dim("Why:"),
        s.dim(&wrap(&ask.why, 7, "  ")),
        s.dim("Answer yes, no or unknown (y, n, ?).")
    )
}

/// The answers in force, numbered for `answers N VALUE`.
pub fn answers_list(kb: &KnowledgeBase, answers: &[(String, Answer)], s: Style) -> String {
    if answers.is_empty() {
        return "No answers yet.\n".to_string();
    }
    let width = answers.iter().map(|(f, _)| f.len()).max().unwrap_or(0);
    let mut out = format!("{}\n", s.bold("Answers:"));
    for (i, (fact, value)) in answers.iter().enumerate() {
        let text = kb.question_for(fact).map(|q| q.text.as_str()).unwrap_or("");
        let _ = writeln!(
            out,
            "  {}. {fact:<width$} = {:<7} {}",
            i + 1,
            value.as_str(),
            s.dim(&shorten(text, 60))
        );
    }
    out
}

/// Greedy word wrap to [`WIDTH`]; `taken` columns of the first line are
/// already used, later lines start with `indent`.
fn wrap(text: &str, taken: usize, indent: &str) -> String {
    let mut out = String::new();
    let mut col = taken;
    let mut line_empty = true;
    for word in text.split_whitespace() {
        let len = word.chars().count();
        if !line_empty && col + 1 + len > WIDTH {
            out.push('\n');
            out.push_str(indent);
            col = indent.len();
            line_empty = true;
        }
        if !line_empty {
            out.push(' ');
            col += 1;
        }
        out.push_str(word);
        col += len;
        line_empty = false;
    }
    out
}

/// Appends `tail` (e.g. " (line 27)") to wrapped text without splitting it.
/// `taken` columns precede the first line of `text`.
fn append_kept(text: &str, tail: &str, taken: usize, indent: &str) -> String {
    let mut last = text.rsplit('\n').next().unwrap_or("").chars().count();
    if !text.contains('\n') {
        last += taken;
    }
    if tail.is_empty() || last + tail.chars().count() <= WIDTH {
        format!("{text}{tail}")
    } else {
        format!("{text}\n{indent}{}", tail.trim_start())
    }
}

fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or("").trim()
}

fn shorten(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        return text.to_string();
    }
    let cut: String = text.chars().take(width - 1).collect();
    format!("{cut}…")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shorten_keeps_short_text_and_marks_cuts() {
        assert_eq!(shorten("abc", 5), "abc");
        assert_eq!(shorten("abcdef", 4), "abc…");
    }

    #[test]
    fn prose_wraps_at_the_width_with_an_indent() {
        let text = "word ".repeat(40);
        let wrapped = wrap(&text, 10, "  ");
        let lines: Vec<&str> = wrapped.lines().collect();
        assert!(lines.len() > 2);
        assert!(lines[0].len() <= WIDTH - 10 && lines[1].starts_with("  word"));
        assert!(lines.iter().all(|l| l.len() <= WIDTH));
        assert_eq!(wrapped.split_whitespace().count(), 40);
    }

    #[test]
    fn a_line_reference_is_never_split() {
        let text = wrap(&"x".repeat(70), 4, "    ");
        assert_eq!(
            append_kept(&text, " (line 27)", 4, "    "),
            format!("{}\n    (line 27)", "x".repeat(70))
        );
        assert_eq!(
            append_kept("short", " (line 2)", 4, "    "),
            "short (line 2)"
        );
    }

    #[test]
    fn style_without_colour_is_plain() {
        let s = Style { color: false };
        assert_eq!(s.bold("x"), "x");
        assert_eq!(Style { color: true }.bold("x"), "\x1b[1mx\x1b[0m");
    }
}
