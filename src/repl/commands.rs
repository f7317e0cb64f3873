//! Commands: the REPL's command table (names, arguments, help), parsing a
//! command line, and the rule that tells a command from pasted transcript
//! text. The terminal's validator and the scripted reader both use
//! [`assess`], so a paste is assembled the same way in both.
//!
//! Owns: command syntax. Must not touch: what a command does (see `mod.rs`).

use crate::kb::Answer;
use crate::report::PacketFormat;
use std::path::PathBuf;

/// One command as `help` and completion show it.
pub struct Spec {
    pub name: &'static str,
    pub args: &'static str,
    pub help: &'static str,
}

/// Every command, in the order `help` lists them.
pub const COMMANDS: &[Spec] = &[
    Spec {
        name: "paste",
        args: "",
        help: "read a transcript until a line holding only .",
    },
    Spec {
        name: "load",
        args: "FILE...",
        help: "add transcript files as evidence",
    },
    Spec {
        name: "yes",
        args: "",
        help: "answer the open question (also y, no, n, unknown, ?, not sure)",
    },
    Spec {
        name: "why",
        args: "",
        help: "the trace so far: what decided each step, suspects ruled out",
    },
    Spec {
        name: "back",
        args: "",
        help: "undo the last answer, keeping the others",
    },
    Spec {
        name: "answers",
        args: "[FACT|N [yes|no|unknown|clear]]",
        help: "list the answers and change one",
    },
    Spec {
        name: "evidence",
        args: "",
        help: "every paste and the evidence found in it",
    },
    Spec {
        name: "restart",
        args: "",
        help: "start a new, empty session (this one stays saved)",
    },
    Spec {
        name: "escalate",
        args: "[--to TARGET] [-o FILE] [--format text|markdown|json|eml]",
        help: "render the escalation packet",
    },
    Spec {
        name: "save",
        args: "FILE",
        help: "write this session (redacted) to FILE",
    },
    Spec {
        name: "help",
        args: "",
        help: "this list",
    },
    Spec {
        name: "quit",
        args: "",
        help: "save and leave (also Ctrl-D)",
    },
];

/// Words that answer the open question.
pub const ANSWER_WORDS: &[&str] = &["yes", "no", "unknown", "y", "n", "?"];

/// Phrases an agent types for "I don't know": the `unknown` answer.
const UNKNOWN_PHRASES: &[&str] = &[
    "dunno",
    "don't know",
    "dont know",
    "do not know",
    "not sure",
    "unsure",
    "no idea",
    "idk",
];

/// Values `answers FACT VALUE` accepts.
pub const ANSWER_VALUES: &[&str] = &["yes", "no", "unknown", "clear"];

pub const PACKET_FORMATS: &[&str] = &["text", "markdown", "json", "eml"];

/// A parsed command.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    Paste,
    Load(Vec<PathBuf>),
    Answer(Answer),
    Why,
    Back,
    /// `answers`, optionally with the answer to change and its new value.
    Answers {
        target: Option<String>,
        value: Option<String>,
    },
    Evidence,
    Restart,
    Escalate {
        to: Option<String>,
        output: Option<PathBuf>,
        format: PacketFormat,
    },
    Save(PathBuf),
    Help,
    Quit,
}

/// What one complete input is.
#[derive(Debug, Clone, PartialEq)]
pub enum Input {
    Empty,
    Command(Command),
    /// A command name with arguments it cannot take.
    Usage(String),
    /// A single word that is no command: a typo, not a transcript.
    Unknown(String),
    Transcript(String),
}

/// Whether the text typed or pasted so far is a complete input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Assembly {
    Complete,
    Incomplete,
}

/// The input rule (also told by `help`): a line starting with a command is
/// a command; a single word is read as a (mistyped) command; anything else,
/// and every multi-line paste, is transcript text that ends at an empty
/// line. In a `paste` block the text ends at a line holding only `.`.
pub fn assess(buffer: &str, block: bool) -> Assembly {
    let last = buffer.rsplit('\n').next().unwrap_or("");
    let complete = if block {
        last.trim() == "."
    } else if buffer.contains('\n') {
        last.trim().is_empty()
    } else {
        let line = buffer.trim();
        line.is_empty() || is_command_line(line) || !line.contains(char::is_whitespace)
    };
    if complete {
        Assembly::Complete
    } else {
        Assembly::Incomplete
    }
}

/// Whether a line's first word names a command or answers a question.
/// Commands are lower-case, so an SMTP `QUIT` or `HELP` in a transcript is
/// never taken for one.
pub fn is_command_line(line: &str) -> bool {
    let word = line.split_whitespace().next().unwrap_or("");
    is_command_word(word) || answer_of(line).is_some()
}

/// A whole line that answers the open question: an answer word, or a
/// phrase for "I don't know" (`not sure`, `dunno`).
pub fn answer_of(line: &str) -> Option<Answer> {
    let text = line.trim().to_ascii_lowercase();
    let text = text.trim_end_matches(['.', '!']);
    if is_answer_word(text) {
        return Answer::parse(text);
    }
    UNKNOWN_PHRASES
        .contains(&text.replace('\u{2019}', "'").as_str())
        .then_some(Answer::Unknown)
}

fn is_command_word(word: &str) -> bool {
    COMMANDS.iter().any(|c| c.name == word) || word == "exit"
}

fn is_answer_word(word: &str) -> bool {
    ANSWER_WORDS.contains(&word.to_ascii_lowercase().as_str())
}

/// Turns one complete input (as [`assess`] delimits it) into an [`Input`].
pub fn classify(text: &str, block: bool) -> Input {
    if block {
        let body = text.trim_end();
        let body = body.strip_suffix('.').unwrap_or(body);
        return transcript(body);
    }
    if text.trim().is_empty() {
        return Input::Empty;
    }
    if text.trim_end().contains('\n') {
        return transcript(text);
    }
    let line = text.trim();
    if is_command_line(line) {
        return match parse(line) {
            Ok(cmd) => Input::Command(cmd),
            Err(usage) => Input::Usage(usage),
        };
    }
    if !line.contains(char::is_whitespace) {
        return Input::Unknown(line.to_string());
    }
    if let Some(word) = answer_with_remarks(line) {
        return Input::Usage(remarks_usage(word));
    }
    transcript(text)
}

/// "yes please", "No, it fails too": an answer with words around it. Taking
/// it for a one-line transcript would silently lose the answer, and taking it
/// for an answer could misread error text ("No route to host"), so the agent
/// is asked which was meant. Lines with digits are transcript text.
fn answer_with_remarks(line: &str) -> Option<&'static str> {
    if line.bytes().any(|b| b.is_ascii_digit()) {
        return None;
    }
    let first = line.split_whitespace().next()?;
    let word = first
        .trim_end_matches([',', '.', '!', ';', ':'])
        .to_ascii_lowercase();
    match word.as_str() {
        "yes" | "y" | "yeah" | "yep" => Some("yes"),
        "no" | "n" | "nope" => Some("no"),
        _ => None,
    }
}

/// What to do with an answer that has words around it.
fn remarks_usage(word: &str) -> String {
    format!(
        "to answer, type just {word} (yes, no or unknown on its own line); \
         to add this line as evidence, type paste first"
    )
}

fn transcript(text: &str) -> Input {
    let lines: Vec<&str> = text.lines().collect();
    let start = lines.iter().position(|l| !l.trim().is_empty());
    let end = lines.iter().rposition(|l| !l.trim().is_empty());
    match (start, end) {
        (Some(s), Some(e)) => Input::Transcript(lines[s..=e].join("\n")),
        _ => Input::Empty,
    }
}

/// Parses a command line whose first word is a command or an answer.
pub fn parse(line: &str) -> Result<Command, String> {
    if let Some(answer) = answer_of(line) {
        return Ok(Command::Answer(answer));
    }
    let words = split_words(line)?;
    let (name, args) = words
        .split_first()
        .ok_or_else(|| "empty command".to_string())?;
    let none = |cmd: Command| {
        if args.is_empty() {
            Ok(cmd)
        } else {
            Err(format!("{name} takes no arguments"))
        }
    };
    match name.as_str() {
        "paste" => none(Command::Paste),
        "why" => none(Command::Why),
        "back" => none(Command::Back),
        "evidence" => none(Command::Evidence),
        "restart" => none(Command::Restart),
        "help" => Ok(Command::Help),
        "quit" | "exit" => none(Command::Quit),
        "load" if args.is_empty() => Err("usage: load FILE... (each file adds evidence)".into()),
        "load" => Ok(Command::Load(args.iter().map(PathBuf::from).collect())),
        "save" => match args {
            [file] => Ok(Command::Save(PathBuf::from(file))),
            _ => Err("usage: save FILE".into()),
        },
        "answers" => parse_answers(args),
        "escalate" => parse_escalate(args),
        word => match answer_with_remarks(line) {
            Some(answer) => Err(remarks_usage(answer)),
            None => Err(format!("unknown command {word:?}; type help")),
        },
    }
}

fn parse_answers(args: &[String]) -> Result<Command, String> {
    match args {
        [] => Ok(Command::Answers {
            target: None,
            value: None,
        }),
        [target] => Ok(Command::Answers {
            target: Some(target.clone()),
            value: None,
        }),
        [target, value] => Ok(Command::Answers {
            target: Some(target.clone()),
            value: Some(value.clone()),
        }),
        _ => Err("usage: answers [FACT|N [yes|no|unknown|clear]]".into()),
    }
}

fn parse_escalate(args: &[String]) -> Result<Command, String> {
    const USAGE: &str = "usage: escalate [--to TARGET] [-o FILE] [--format text|markdown|json|eml]";
    let (mut to, mut output, mut format) = (None, None, PacketFormat::Text);
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let mut value = || {
            it.next()
                .cloned()
                .ok_or_else(|| format!("{arg} needs a value; {USAGE}"))
        };
        match arg.as_str() {
            "--to" => to = Some(value()?),
            "-o" | "--output" => output = Some(PathBuf::from(value()?)),
            "--format" => {
                let v = value()?;
                format =
                    packet_format(&v).ok_or_else(|| format!("unknown format {v:?}; {USAGE}"))?;
            }
            other => return Err(format!("unexpected {other:?}; {USAGE}")),
        }
    }
    Ok(Command::Escalate { to, output, format })
}

fn packet_format(name: &str) -> Option<PacketFormat> {
    match name {
        "text" => Some(PacketFormat::Text),
        "markdown" | "md" => Some(PacketFormat::Markdown),
        "json" => Some(PacketFormat::Json),
        "eml" | "email" => Some(PacketFormat::Eml),
        _ => None,
    }
}

/// Splits on whitespace, honouring single and double quotes (file names
/// with spaces).
pub fn split_words(line: &str) -> Result<Vec<String>, String> {
    let mut words = Vec::new();
    let mut word: Option<String> = None;
    let mut quote: Option<char> = None;
    for c in line.chars() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), c) => word.get_or_insert_with(String::new).push(c),
            (None, '"' | '\'') => {
                quote = Some(c);
                word.get_or_insert_with(String::new);
            }
            (None, c) if c.is_whitespace() => words.extend(word.take()),
            (None, c) => word.get_or_insert_with(String::new).push(c),
        }
    }
    if quote.is_some() {
        return Err("unclosed quote".into());
    }
    words.extend(word);
    Ok(words)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_complete_at_once_and_transcripts_at_an_empty_line() {
        assert_eq!(assess("why", false), Assembly::Complete);
        assert_eq!(assess("load a.txt b.txt", false), Assembly::Complete);
        assert_eq!(assess("qiut", false), Assembly::Complete);
        assert_eq!(
            assess("535 5.7.8 authentication failed", false),
            Assembly::Incomplete
        );
        assert_eq!(assess("220 mx ESMTP\nEHLO pc", false), Assembly::Incomplete);
        assert_eq!(
            assess("220 mx ESMTP\n\nEHLO pc\n", false),
            Assembly::Complete
        );
        assert_eq!(assess("QUIT\n221 bye", false), Assembly::Incomplete);
        assert_eq!(assess("a\n\nb", true), Assembly::Incomplete);
        assert_eq!(assess("a\n\nb\n.", true), Assembly::Complete);
    }

    #[test]
    fn upper_case_smtp_verbs_are_transcript_not_commands() {
        assert_eq!(classify("QUIT", false), Input::Unknown("QUIT".into()));
        assert!(matches!(
            classify("HELP me\n214 ok\n", false),
            Input::Transcript(_)
        ));
        assert_eq!(classify("quit", false), Input::Command(Command::Quit));
    }

    #[test]
    fn inputs_are_classified() {
        assert_eq!(
            classify("y", false),
            Input::Command(Command::Answer(Answer::Yes))
        );
        assert_eq!(
            classify("?", false),
            Input::Command(Command::Answer(Answer::Unknown))
        );
        assert_eq!(
            classify("No", false),
            Input::Command(Command::Answer(Answer::No))
        );
        assert_eq!(classify("  \n", false), Input::Empty);
        assert_eq!(
            classify("\n\n220 a\n\n250 b\n\n", false),
            Input::Transcript("220 a\n\n250 b".into())
        );
        assert_eq!(
            classify("220 a\n.\n", true),
            Input::Transcript("220 a".into())
        );
        assert!(matches!(classify("why not", false), Input::Usage(_)));
        for remark in [
            "yes please",
            "No, it fails from the hotspot too",
            "yep it works",
        ] {
            assert!(
                matches!(classify(remark, false), Input::Usage(_)),
                "{remark} is neither silently an answer nor a transcript"
            );
        }
        assert!(matches!(
            classify("No such user here 550", false),
            Input::Transcript(_)
        ));
        assert_eq!(
            classify("load 'my file.txt' b", false),
            Input::Command(Command::Load(vec!["my file.txt".into(), "b".into()]))
        );
    }

    #[test]
    fn words_for_not_knowing_answer_unknown_and_never_start_a_paste() {
        for phrase in [
            "dunno",
            "not sure",
            "Don't know",
            "don\u{2019}t know",
            "no idea",
            "idk.",
        ] {
            assert_eq!(assess(phrase, false), Assembly::Complete, "{phrase}");
            assert_eq!(
                classify(phrase, false),
                Input::Command(Command::Answer(Answer::Unknown)),
                "{phrase}"
            );
        }
    }

    #[test]
    fn an_answer_with_remarks_says_how_to_answer_whatever_the_word() {
        for remark in [
            "yes it works",
            "y it works",
            "no it fails too",
            "yep it works",
        ] {
            let Input::Usage(msg) = classify(remark, false) else {
                panic!("{remark} is neither silently an answer nor a transcript");
            };
            assert!(msg.starts_with("to answer, type just "), "{remark}: {msg}");
            assert!(!msg.contains("unknown command"), "{remark}: {msg}");
        }
    }

    #[test]
    fn escalate_options() {
        assert_eq!(
            parse("escalate --to isp -o out.eml --format eml"),
            Ok(Command::Escalate {
                to: Some("isp".into()),
                output: Some("out.eml".into()),
                format: PacketFormat::Eml
            })
        );
        assert!(parse("escalate --to").is_err());
        assert!(parse("escalate --format pdf").is_err());
    }

    #[test]
    fn every_command_in_the_table_parses() {
        for spec in COMMANDS {
            let line = match spec.name {
                "load" | "save" => format!("{} f", spec.name),
                _ => spec.name.to_string(),
            };
            assert!(parse(&line).is_ok(), "{line}");
        }
    }
}
