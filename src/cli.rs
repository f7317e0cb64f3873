//! Command line: turns arguments into a knowledge base, answers and a
//! subcommand, runs it, and maps the outcome to an exit code.
//!
//! Exit codes: 0 success (all tickets classified), 1 some tickets unknown or
//! unreadable (still reported) or an eval floor missed, 2 usage or
//! knowledge-base error.
//!
//! Owns: argument parsing and user-facing messages. Must not touch: the
//! evidence, engine or knowledge-base logic.

use crate::classify::{self, Format, Writer};
use crate::engine::Answers;
use crate::kb::{Answer, KnowledgeBase};
use crate::ticket::{self, Input, Ticket};
use clap::{Args, Parser, Subcommand};
use std::io::{BufReader, IsTerminal};
use std::path::PathBuf;
use std::process::ExitCode;

const AFTER_HELP: &str = "\
Exit codes:
  0  every ticket classified (or the command succeeded)
  1  some tickets unknown or unreadable (they are still reported), or a floor missed
  2  usage error or a broken knowledge base

Examples:
  mailtriage classify transcripts/
  mailtriage classify --answer receive_works=yes ticket.txt
  cat tickets.jsonl | mailtriage classify --jsonl - > results.jsonl
  mailtriage rules check rules/";

#[derive(Debug, Parser)]
#[command(name = "mailtriage", version, about = "Triage email sending and delivery problems from pasted transcripts", after_help = AFTER_HELP)]
pub struct Cli {
    /// Load the knowledge base from this folder instead of the embedded one.
    #[arg(long, global = true, value_name = "DIR")]
    pub rules: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Classify tickets: transcript files, folders (recursive), JSON Lines, or - for stdin.
    #[command(after_help = CLASSIFY_HELP)]
    Classify(ClassifyArgs),
    /// Work with the knowledge base.
    #[command(subcommand)]
    Rules(RulesCommand),
}

const CLASSIFY_HELP: &str = "\
A ticket is a plain-text transcript (SMTP dialogue, telnet test, bounce, MTA log,
client error text, agent notes; several pasted together are fine) or a JSON Lines
record {\"id\": ..., \"transcript\": ..., \"answers\": {\"receive_works\": \"yes\"}}.
Folders are walked recursively; files ending .txt .eml .log .msg .mbox .text .jsonl
or with no ending are read. Each result names cause, owner, reason (Sisimai's
vocabulary), confidence, pending facts (answer them to confirm or change the
result) and the evidence lines behind it.

Limits: a transcript is read up to 64 MiB; longer input is cut there and the
result notes it. Any line ends (LF, CRLF, CR), terminal escapes and invalid
UTF-8 (decoded lossily, noted) are accepted. A missing or unreadable path is
reported as its own result and the other paths are still classified.";

#[derive(Debug, Args)]
pub struct ClassifyArgs {
    /// Files, folders or - (stdin). Defaults to stdin.
    #[arg(value_name = "PATH")]
    pub paths: Vec<String>,
    /// Read every input as JSON Lines ticket records (files ending .jsonl always are).
    #[arg(long)]
    pub jsonl: bool,
    /// An answer applied to every ticket, e.g. receive_works=yes (repeatable).
    #[arg(long = "answer", value_name = "FACT=VALUE")]
    pub answers: Vec<String>,
    /// Output format [default: table on a terminal, jsonl otherwise].
    #[arg(long, value_enum)]
    pub format: Option<Format>,
    /// Write the results to FILE instead of stdout. The file is written
    /// whole or not at all (a temporary file renamed at the end).
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum RulesCommand {
    /// Load and validate a knowledge base; print every problem with file:line:column.
    Check {
        /// The rules folder [default: the --rules folder, else the embedded rules].
        dir: Option<PathBuf>,
    },
}

/// Runs the command line; returns the process exit code.
pub fn run() -> ExitCode {
    let cli = Cli::parse();
    match dispatch(cli) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("mailtriage: {err:#}");
            ExitCode::from(2)
        }
    }
}

fn dispatch(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Some(Command::Classify(args)) => {
            let kb = load_kb(cli.rules.as_deref())?;
            run_classify(&kb, args)
        }
        Some(Command::Rules(RulesCommand::Check { dir })) => rules_check(dir.or(cli.rules)),
        None => {
            use clap::CommandFactory;
            Cli::command().print_help()?;
            Ok(ExitCode::from(2))
        }
    }
}

/// Loads the knowledge base, or reports every problem and fails with exit 2.
pub fn load_kb(dir: Option<&std::path::Path>) -> anyhow::Result<KnowledgeBase> {
    let kb = match dir {
        Some(dir) => KnowledgeBase::from_dir(dir),
        None => KnowledgeBase::embedded(),
    };
    kb.map_err(|e| anyhow::anyhow!("{e}"))
}

fn rules_check(dir: Option<PathBuf>) -> anyhow::Result<ExitCode> {
    let kb = load_kb(dir.as_deref())?;
    println!(
        "ok: {} signatures, {} facts, {} questions, {} nodes, {} diagnoses, {} suspects, {} templates",
        kb.signatures.len(),
        kb.facts.len() + kb.taxonomy.agent_facts.len(),
        kb.questions.len(),
        kb.nodes.len(),
        kb.diagnoses.len(),
        kb.suspects.len(),
        kb.templates.len()
    );
    Ok(ExitCode::SUCCESS)
}

/// Parses `FACT=VALUE` answers, checking the fact and value are known.
pub fn parse_answers(kb: &KnowledgeBase, raw: &[String]) -> anyhow::Result<Answers> {
    let mut answers = Answers::new();
    for item in raw {
        let (fact, value) = item
            .split_once('=')
            .ok_or_else(|| anyhow::anyhow!("--answer {item:?}: write FACT=VALUE, e.g. receive_works=yes"))?;
        let fact = fact.trim();
        if kb.question_for(fact).is_none() {
            let known = kb.askable_facts();
            let hint = crate::kb::did_you_mean(fact, known.iter().copied()).map(|h| format!(" ({h})")).unwrap_or_default();
            anyhow::bail!("--answer {item:?}: unknown fact {fact:?}{hint}; the facts an agent can answer are: {}", known.join(", "));
        }
        let answer = Answer::parse(value)
            .ok_or_else(|| anyhow::anyhow!("--answer {item:?}: the value must be yes, no or unknown (or y, n, ?)"))?;
        answers.insert(fact.to_string(), answer);
    }
    Ok(answers)
}

fn run_classify(kb: &KnowledgeBase, args: ClassifyArgs) -> anyhow::Result<ExitCode> {
    let global = parse_answers(kb, &args.answers)?;
    let output = Output::open(args.output.as_deref())?;
    let format = args.format.unwrap_or(if output.is_terminal() { Format::Table } else { Format::Jsonl });
    let paths = if args.paths.is_empty() { vec!["-".to_string()] } else { args.paths.clone() };
    let mut writer = Writer::new(output, format);
    let mut all_classified = true;
    let mut emit = |result: classify::TicketResult, writer: &mut Writer<_>| -> anyhow::Result<()> {
        all_classified &= result.is_classified();
        writer.write(&result)?;
        Ok(())
    };
    for input in ticket::expand(&paths) {
        let tickets = match input {
            Err(err) => vec![Err(err)],
            Ok(input) => read_tickets(&input, args.jsonl),
        };
        for t in tickets {
            let result = match t {
                Ok(t) => classify::classify(kb, &t, &global),
                Err(err) => classify::TicketResult::from_error(&err),
            };
            emit(result, &mut writer)?;
        }
    }
    writer.finish()?.commit()?;
    Ok(if all_classified { ExitCode::SUCCESS } else { ExitCode::from(1) })
}

fn read_tickets(input: &Input, jsonl: bool) -> Vec<Result<Ticket, ticket::TicketError>> {
    let mut out = Vec::new();
    match input {
        Input::Stdin if jsonl => ticket::for_each_record("-", std::io::stdin().lock(), |t| out.push(t)),
        Input::Stdin => out.push(ticket::read_transcript("-".into(), std::io::stdin().lock())),
        Input::Path(path) => {
            let id = path.display().to_string();
            match std::fs::File::open(path) {
                Err(e) => out.push(Err(ticket::TicketError { id, message: ticket::describe_io(&e) })),
                Ok(file) if jsonl || ticket::is_jsonl(path) => ticket::for_each_record(&id, BufReader::new(file), |t| out.push(t)),
                Ok(file) => out.push(ticket::read_transcript(id, file)),
            }
        }
    }
    out
}

/// Where results go: stdout, or a file that appears whole or not at all.
enum Output {
    Stdout(std::io::StdoutLock<'static>),
    /// A temporary file beside the target, renamed over it by [`Output::commit`];
    /// dropped without a commit, it is deleted.
    File { temp: std::io::BufWriter<tempfile::NamedTempFile>, path: PathBuf },
}

impl Output {
    /// Opens the output; a file that cannot be written fails here, before any work.
    fn open(path: Option<&std::path::Path>) -> anyhow::Result<Output> {
        let Some(path) = path else {
            return Ok(Output::Stdout(std::io::stdout().lock()));
        };
        let dir = match path.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir,
            _ => std::path::Path::new("."),
        };
        if path.is_dir() {
            anyhow::bail!("cannot write {}: it is a folder", path.display());
        }
        let mut builder = tempfile::Builder::new();
        builder.prefix(".mailtriage-");
        // a results file, not a secret: the mode a new file would get
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            builder.permissions(std::fs::Permissions::from_mode(0o644));
        }
        let temp = builder
            .tempfile_in(dir)
            .map_err(|e| anyhow::anyhow!("cannot write {}: {}", path.display(), ticket::describe_io(&e)))?;
        Ok(Output::File { temp: std::io::BufWriter::new(temp), path: path.to_path_buf() })
    }

    fn is_terminal(&self) -> bool {
        matches!(self, Output::Stdout(out) if out.is_terminal())
    }

    /// Moves a finished file into place.
    fn commit(self) -> anyhow::Result<()> {
        if let Output::File { temp, path } = self {
            let temp = temp.into_inner().map_err(|e| anyhow::anyhow!("cannot write {}: {}", path.display(), e.error()))?;
            temp.persist(&path).map_err(|e| anyhow::anyhow!("cannot write {}: {}", path.display(), ticket::describe_io(&e.error)))?;
        }
        Ok(())
    }
}

impl std::io::Write for Output {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self {
            Output::Stdout(out) => out.write(buf),
            Output::File { temp, .. } => temp.write(buf),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        match self {
            Output::Stdout(out) => out.flush(),
            Output::File { temp, .. } => temp.flush(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn an_output_file_dropped_before_commit_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.jsonl");
        std::fs::write(&path, "old\n").unwrap();
        let mut out = Output::open(Some(&path)).unwrap();
        out.write_all(b"half a result").unwrap();
        drop(out);
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "old\n");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);

        let mut out = Output::open(Some(&path)).unwrap();
        out.write_all(b"new\n").unwrap();
        out.commit().unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "new\n");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o044, 0o044, "results are readable by others, like any new file");
        }
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }
}
