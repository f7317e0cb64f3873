//! Command line: turns arguments into a knowledge base, answers and a
//! subcommand, runs it, and maps the outcome to an exit code.
//!
//! Exit codes: 0 success (all tickets classified), 1 some tickets unknown or
//! unreadable (still reported) or an eval floor missed, 2 usage or
//! knowledge-base error.
//!
//! Owns: argument parsing and user-facing messages. Must not touch: the
//! evidence, engine or knowledge-base logic.

use crate::batch;
use crate::classify::Format;
use crate::engine::Answers;
use crate::kb::{Answer, KnowledgeBase};
use crate::ticket;
use clap::{Args, Parser, Subcommand};
use std::io::IsTerminal;
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
result) and the evidence lines behind it.";

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
    /// Worker threads [default: 0, every core]. Output keeps input order whatever N is.
    #[arg(long, short = 'j', value_name = "N")]
    pub jobs: Option<usize>,
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
    let problems = kb.compile_patterns();
    if !problems.is_empty() {
        anyhow::bail!("{}", crate::kb::KbError::Invalid(problems));
    }
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
        let (fact, value) = item.split_once('=').ok_or_else(|| {
            anyhow::anyhow!("--answer {item:?}: write FACT=VALUE, e.g. receive_works=yes")
        })?;
        let fact = fact.trim();
        if kb.question_for(fact).is_none() {
            let known = kb.askable_facts();
            let hint = crate::kb::did_you_mean(fact, known.iter().copied())
                .map(|h| format!(" ({h})"))
                .unwrap_or_default();
            anyhow::bail!("--answer {item:?}: unknown fact {fact:?}{hint}; the facts an agent can answer are: {}", known.join(", "));
        }
        let answer = Answer::parse(value).ok_or_else(|| {
            anyhow::anyhow!("--answer {item:?}: the value must be yes, no or unknown (or y, n, ?)")
        })?;
        answers.insert(fact.to_string(), answer);
    }
    Ok(answers)
}

fn run_classify(kb: &KnowledgeBase, args: ClassifyArgs) -> anyhow::Result<ExitCode> {
    let global = parse_answers(kb, &args.answers)?;
    let format = args.format.unwrap_or(if std::io::stdout().is_terminal() {
        Format::Table
    } else {
        Format::Jsonl
    });
    let paths = if args.paths.is_empty() {
        vec!["-".to_string()]
    } else {
        args.paths.clone()
    };
    let jobs = match args.jobs {
        None | Some(0) => batch::default_jobs(),
        Some(n) => n,
    };
    let options = batch::Options {
        jobs,
        format,
        progress: std::io::stderr().is_terminal(),
    };
    let out = std::io::BufWriter::with_capacity(256 * 1024, std::io::stdout().lock());
    let (summary, _) = batch::run(
        kb,
        ticket::stream(&paths, args.jsonl),
        &global,
        &options,
        out,
    )?;
    Ok(if summary.all_classified {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
