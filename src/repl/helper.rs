//! The rustyline helper: completion of commands, answers, facts, targets
//! and file names; hints with a command's arguments; the validator that
//! keeps reading a pasted transcript until it is complete (see
//! [`commands::assess`]).
//!
//! Owns: editor behaviour. Must not touch: what an input means.

use super::commands::{self, Assembly, ANSWER_VALUES, ANSWER_WORDS, COMMANDS, PACKET_FORMATS};
use rustyline::completion::{Completer, FilenameCompleter, Pair};
use rustyline::highlight::Highlighter;
use rustyline::hint::Hinter;
use rustyline::validate::{ValidationContext, ValidationResult, Validator};
use rustyline::{Context, Helper};
use std::borrow::Cow;

/// Editor state the REPL updates before each read.
pub struct ReplHelper {
    /// Inside a `paste` block: input ends at a line holding only `.`.
    pub block: bool,
    pub question_open: bool,
    /// Facts an agent can answer, for `answers FACT`.
    pub facts: Vec<String>,
    /// Escalation targets, for `escalate --to`.
    pub targets: Vec<String>,
    pub color: bool,
    files: FilenameCompleter,
}

impl ReplHelper {
    pub fn new(facts: Vec<String>, targets: Vec<String>, color: bool) -> ReplHelper {
        ReplHelper {
            block: false,
            question_open: false,
            facts,
            targets,
            color,
            files: FilenameCompleter::new(),
        }
    }

    /// Candidates for the word being typed, given the words before it.
    fn candidates(&self, before: &[&str]) -> Vec<String> {
        let own = |xs: &[&str]| xs.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        match before {
            [] => {
                let answers = if self.question_open {
                    own(&ANSWER_WORDS[..3])
                } else {
                    vec![]
                };
                // `yes` is in the command table for `help`; it completes only while a question is open.
                let names = COMMANDS
                    .iter()
                    .filter(|c| !ANSWER_WORDS.contains(&c.name))
                    .map(|c| c.name.to_string());
                answers.into_iter().chain(names).collect()
            }
            ["answers"] => self.facts.clone(),
            ["answers", _] => own(ANSWER_VALUES),
            ["escalate", .., "--to"] => self.targets.clone(),
            ["escalate", .., "--format"] => own(PACKET_FORMATS),
            ["escalate", ..] => own(&["--to", "-o", "--format"]),
            _ => vec![],
        }
    }

    fn wants_file(before: &[&str]) -> bool {
        matches!(
            before,
            ["load", ..] | ["save"] | ["escalate", .., "-o" | "--output"]
        )
    }
}

impl Completer for ReplHelper {
    type Candidate = Pair;

    fn complete(
        &self,
        line: &str,
        pos: usize,
        ctx: &Context<'_>,
    ) -> rustyline::Result<(usize, Vec<Pair>)> {
        let head = &line[..pos];
        if self.block || head.contains('\n') {
            return Ok((pos, vec![]));
        }
        let start = head.rfind(char::is_whitespace).map_or(0, |i| i + 1);
        let before: Vec<&str> = head[..start].split_whitespace().collect();
        if Self::wants_file(&before) {
            return self.files.complete(line, pos, ctx);
        }
        let prefix = &head[start..];
        let pairs = self
            .candidates(&before)
            .into_iter()
            .filter(|c| c.starts_with(prefix))
            .map(|c| Pair {
                display: c.clone(),
                replacement: c,
            })
            .collect();
        Ok((start, pairs))
    }
}

impl Hinter for ReplHelper {
    type Hint = String;

    fn hint(&self, line: &str, pos: usize, _ctx: &Context<'_>) -> Option<String> {
        if self.block || pos < line.len() || line.contains('\n') || line.trim().is_empty() {
            return None;
        }
        let word = line.trim_start();
        if !word.contains(char::is_whitespace) {
            let offered = |name: &str| self.question_open || !ANSWER_WORDS.contains(&name);
            let mut matches = COMMANDS
                .iter()
                .filter(|c| offered(c.name) && c.name.starts_with(word));
            if let (Some(spec), None) = (matches.next(), matches.next()) {
                let rest = &spec.name[word.len()..];
                let args = if spec.args.is_empty() {
                    String::new()
                } else {
                    format!(" {}", spec.args)
                };
                return Some(format!("{rest}{args}"));
            }
            return None;
        }
        if commands::is_command_line(line) {
            return None;
        }
        Some("   (transcript text: end it with an empty line)".to_string())
    }
}

impl Highlighter for ReplHelper {
    fn highlight_hint<'h>(&self, hint: &'h str) -> Cow<'h, str> {
        if self.color {
            Cow::Owned(format!("\x1b[2m{hint}\x1b[0m"))
        } else {
            Cow::Borrowed(hint)
        }
    }
}

impl Validator for ReplHelper {
    fn validate(&self, ctx: &mut ValidationContext) -> rustyline::Result<ValidationResult> {
        Ok(match commands::assess(ctx.input(), self.block) {
            Assembly::Complete => ValidationResult::Valid(None),
            Assembly::Incomplete => ValidationResult::Incomplete,
        })
    }
}

impl Helper for ReplHelper {}

#[cfg(test)]
mod tests {
    use super::*;

    fn helper() -> ReplHelper {
        ReplHelper::new(
            vec!["receive_works".into(), "recent_change".into()],
            vec!["sending-service".into()],
            false,
        )
    }

    #[test]
    fn completes_commands_answers_facts_and_options() {
        let mut h = helper();
        assert_eq!(
            h.candidates(&[])
                .iter()
                .filter(|c| c.starts_with("es"))
                .collect::<Vec<_>>(),
            ["escalate"]
        );
        assert!(!h.candidates(&[]).contains(&"yes".to_string()));
        h.question_open = true;
        assert!(h.candidates(&[]).contains(&"yes".to_string()));
        assert_eq!(
            h.candidates(&["answers"]),
            ["receive_works", "recent_change"]
        );
        assert_eq!(
            h.candidates(&["answers", "receive_works"]),
            ["yes", "no", "unknown", "clear"]
        );
        assert_eq!(h.candidates(&["escalate", "--to"]), ["sending-service"]);
        assert!(ReplHelper::wants_file(&["escalate", "--to", "x", "-o"]));
        assert!(ReplHelper::wants_file(&["load", "a.txt"]));
        assert!(!ReplHelper::wants_file(&["answers"]));
    }

    #[test]
    fn hints_finish_a_command_and_flag_transcript_text() {
        let h = helper();
        let history = rustyline::history::DefaultHistory::new();
        let ctx = Context::new(&history);
        assert_eq!(
            h.hint("esc", 3, &ctx).as_deref(),
            Some("alate [--to TARGET] [-o FILE] [--format text|markdown|json|eml]")
        );
        assert!(h
            .hint("535 auth failed", 15, &ctx)
            .unwrap()
            .contains("transcript"));
        assert_eq!(h.hint("load a", 6, &ctx), None);
    }
}
