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
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

mod escalate;
mod evidence;

const AFTER_HELP: &str = "\
Exit codes:
  0  every ticket classified (or the command succeeded)
  1  some tickets unknown or unreadable (they are still reported), or a floor missed
  2  usage error or a broken knowledge base

Examples:
  mailtriage classify transcripts/
  mailtriage classify --answer receive_works=yes ticket.txt
  cat tickets.jsonl | mailtriage classify --jsonl - > results.jsonl
  mailtriage rules check rules/
  mailtriage eval transcripts/ --min-accuracy 0.95
  mailtriage eval --sisimai ../shared/corpus/sisimai --floor 77
  mailtriage evidence bounce.eml";

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
    /// The interactive triage shell (the default with no arguments on a terminal).
    Repl(ReplArgs),
    /// Measure the knowledge base on a labelled corpus (DIR/expected.tsv).
    #[command(after_help = EVAL_HELP)]
    Eval(EvalArgs),
    /// Write the escalation packet for one ticket (text, Markdown, JSON or e-mail).
    #[command(after_help = escalate::ESCALATE_HELP)]
    Escalate(escalate::EscalateArgs),
    /// Show the evidence read from one transcript, item by item (for rule authors).
    #[command(after_help = evidence::EVIDENCE_HELP)]
    Evidence(evidence::EvidenceArgs),
}

#[derive(Debug, Args)]
pub struct ReplArgs {
    /// Continue a saved session: the most recent, or this ID (or session file).
    #[arg(long, value_name = "ID", num_args = 0..=1, default_missing_value = "")]
    pub resume: Option<String>,
    /// Transcript files to load first.
    #[arg(value_name = "FILE")]
    pub files: Vec<PathBuf>,
}

const EVAL_HELP: &str = "\
DIR/expected.tsv has a header line, then one row per transcript: file, cause,
owner and answers (fact=value pairs separated by ;), tab-separated. Every row is
classified with its answers. Questions per ticket are counted by replaying each
ticket as an agent would: start from the evidence alone and answer each question
the engine asks from the row (unknown when the row has no answer) until it asks
no more.";

#[derive(Debug, Args)]
pub struct EvalArgs {
    /// The labelled corpus folder.
    #[arg(value_name = "DIR", default_value = "transcripts")]
    pub dir: PathBuf,
    /// Exit 1 when cause accuracy is below this fraction (0..1).
    #[arg(long, value_name = "X")]
    pub min_accuracy: Option<f64>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = EvalFormat::Text)]
    pub format: EvalFormat,
    /// Measure instead against the Sisimai corpus in this folder (holding
    /// `emails/` and `labels.tsv`): agreement per record, per file and per reason.
    #[arg(long, value_name = "DIR")]
    pub sisimai: Option<PathBuf>,
    /// With --sisimai: exit 1 when per-record agreement is below this percentage.
    #[arg(long, value_name = "PERCENT")]
    pub floor: Option<f64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum EvalFormat {
    Text,
    Json,
}

const CLASSIFY_HELP: &str = "\
A ticket is a plain-text transcript (SMTP dialogue, telnet test, bounce, MTA log,
client error text, agent notes; several pasted together are fine) or a JSON Lines
record {\"id\": ..., \"transcript\": ..., \"answers\": {\"receive_works\": \"yes\"}}.
Folders are walked recursively; files ending .txt .eml .log .msg .mbox .text .jsonl
or with no ending are read. An mbox (a .mbox file, or any input starting with
a \"From \" envelope line) is one ticket per message, named FILE#1, FILE#2, ...
Each result names cause, owner, reason (Sisimai's
vocabulary), confidence, pending facts (answer them to confirm or change the
result) and the evidence lines behind it.

Limits: a transcript is read up to 4 MiB; longer input is cut there and the
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
    /// Show AUTH usernames decoded in quoted lines (never passwords).
    #[arg(long)]
    pub show_usernames: bool,
    /// Worker threads [default: 0, every core]. Output keeps input order whatever N is.
    #[arg(long, short = 'j', value_name = "N")]
    pub jobs: Option<usize>,
    /// Write the results to FILE instead of stdout. The file is written
    /// whole or not at all (a temporary file renamed at the end).
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum RulesCommand {
    /// Load, validate and lint a knowledge base; print every problem with file:line:column.
    #[command(after_help = CHECK_HELP)]
    Check {
        /// The rules folder [default: the --rules folder, else the embedded rules].
        dir: Option<PathBuf>,
        /// Fail (exit 1) on lint warnings too.
        #[arg(long)]
        strict: bool,
        /// Labelled corpus for diagnosis coverage [default: transcripts/ when it has an expected.tsv].
        #[arg(long, value_name = "DIR")]
        corpus: Option<PathBuf>,
        /// Do not measure diagnosis coverage on a corpus.
        #[arg(long, conflicts_with = "corpus")]
        no_corpus: bool,
    },
    /// Draw the decision tree as Graphviz DOT or Mermaid.
    Graph {
        /// The rules folder [default: the --rules folder, else the embedded rules].
        dir: Option<PathBuf>,
        /// Graphviz DOT (render with `dot -Tsvg`) or a Mermaid flowchart.
        #[arg(long, value_enum, default_value_t = crate::kb::graph::GraphFormat::Dot)]
        format: crate::kb::graph::GraphFormat,
    },
}

const CHECK_HELP: &str = "\
Validation errors (bad syntax, unknown ids, loops) and lint errors (a signature
that misses one of its examples or matches a counter-example) exit 2. Lint
warnings (switch cases that can never be first, questions that never change
the outcome, facts nothing sets or reads, diagnoses no labelled transcript
reaches) are printed and exit 0, or 1 with --strict.";

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
        Some(Command::Rules(RulesCommand::Check {
            dir,
            strict,
            corpus,
            no_corpus,
        })) => {
            let corpus = if no_corpus {
                None
            } else {
                Some(corpus.unwrap_or_else(|| PathBuf::from("transcripts")))
            };
            rules_check(dir.or(cli.rules), strict, corpus)
        }
        Some(Command::Rules(RulesCommand::Graph { dir, format })) => {
            let kb = load_kb(dir.or(cli.rules).as_deref())?;
            print!("{}", crate::kb::graph::render(&kb, format));
            Ok(ExitCode::SUCCESS)
        }
        Some(Command::Eval(args)) => {
            let kb = load_kb(cli.rules.as_deref())?;
            if args.sisimai.is_some() {
                run_eval_sisimai(&kb, args)
            } else {
                run_eval(&kb, &args)
            }
        }
        Some(Command::Repl(args)) => run_repl(cli.rules.as_deref(), args),
        None if std::io::stdin().is_terminal() && std::io::stdout().is_terminal() => run_repl(
            cli.rules.as_deref(),
            ReplArgs {
                resume: None,
                files: vec![],
            },
        ),
        Some(Command::Escalate(args)) => escalate::run(cli.rules.as_deref(), args),
        Some(Command::Evidence(args)) => evidence::run(args),
        None => {
            use clap::CommandFactory;
            Cli::command().print_help()?;
            Ok(ExitCode::from(2))
        }
    }
}

fn run_repl(rules: Option<&std::path::Path>, args: ReplArgs) -> anyhow::Result<ExitCode> {
    let kb = load_kb(rules)?;
    let resume = args.resume.map(|id| Some(id).filter(|id| !id.is_empty()));
    crate::repl::run(
        &kb,
        &crate::repl::Options {
            resume,
            files: args.files,
        },
    )?;
    Ok(ExitCode::SUCCESS)
}

/// Loads the knowledge base, or reports every problem and fails with exit 2.
pub fn load_kb(dir: Option<&std::path::Path>) -> anyhow::Result<KnowledgeBase> {
    let kb = match dir {
        Some(dir) => KnowledgeBase::from_dir(dir),
        None => KnowledgeBase::embedded(),
    };
    kb.map_err(|e| anyhow::anyhow!("{e}"))
}

fn rules_check(
    dir: Option<PathBuf>,
    strict: bool,
    corpus: Option<PathBuf>,
) -> anyhow::Result<ExitCode> {
    let files = match &dir {
        Some(dir) => crate::kb::dir_sources(dir)?,
        None => crate::kb::embedded_sources(),
    };
    let kb = KnowledgeBase::from_sources(&files).map_err(|e| anyhow::anyhow!("{e}"))?;
    let samples = match corpus.as_deref() {
        Some(dir) if dir.join(crate::eval::EXPECTED).is_file() => Some(read_samples(dir)?),
        Some(dir) => {
            eprintln!(
                "note: {} has no {}; diagnosis coverage not checked",
                dir.display(),
                crate::eval::EXPECTED
            );
            None
        }
        None => None,
    };
    let findings = crate::kb::lint::lint(&kb, &files, samples.as_deref());
    for finding in &findings {
        println!("{finding}");
    }
    let errors = findings
        .iter()
        .filter(|f| f.severity == crate::kb::lint::Severity::Error)
        .count();
    let warnings = findings.len() - errors;
    println!(
        "{}: {} signatures, {} facts, {} questions, {} nodes, {} diagnoses, {} suspects, {} templates; {errors} error{}, {warnings} warning{}",
        if errors > 0 { "failed" } else { "ok" },
        kb.signatures.len(),
        kb.facts.len() + kb.taxonomy.agent_facts.len(),
        kb.questions.len(),
        kb.nodes.len(),
        kb.diagnoses.len(),
        kb.suspects.len(),
        kb.templates.len(),
        if errors == 1 { "" } else { "s" },
        if warnings == 1 { "" } else { "s" },
    );
    Ok(match (errors, warnings) {
        (0, 0) => ExitCode::SUCCESS,
        (0, _) if !strict => ExitCode::SUCCESS,
        (0, _) => ExitCode::from(1),
        _ => ExitCode::from(2),
    })
}

/// The labelled transcripts of a corpus folder, for lint coverage.
fn read_samples(dir: &std::path::Path) -> anyhow::Result<Vec<crate::kb::lint::Sample>> {
    let rows = crate::eval::read_expected(dir)?;
    let mut samples = Vec::with_capacity(rows.len());
    for row in rows {
        let path = dir.join(&row.file);
        let bytes = std::fs::read(&path)
            .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", path.display()))?;
        samples.push(crate::kb::lint::Sample {
            name: row.file,
            evidence: crate::evidence::Evidence::from_bytes(&bytes),
            answers: row.answers,
        });
    }
    Ok(samples)
}

fn run_eval(kb: &KnowledgeBase, args: &EvalArgs) -> anyhow::Result<ExitCode> {
    if let Some(min) = args.min_accuracy {
        anyhow::ensure!(
            (0.0..=1.0).contains(&min),
            "--min-accuracy {min}: give a fraction between 0 and 1, e.g. 0.95"
        );
    }
    let report = crate::eval::evaluate(kb, &args.dir)?;
    let mut out = std::io::stdout().lock();
    match args.format {
        EvalFormat::Json => {
            serde_json::to_writer_pretty(&mut out, &report)?;
            writeln!(out)?;
        }
        EvalFormat::Text => write_eval(&mut out, &report)?,
    }
    let below = args
        .min_accuracy
        .is_some_and(|min| report.cause_accuracy < min);
    if below {
        let floor = args.min_accuracy.unwrap_or(0.0) * 100.0;
        eprintln!(
            "mailtriage: cause accuracy {:.1}% is below the floor {floor:.1}%",
            report.cause_accuracy * 100.0
        );
    }
    Ok(if below {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

fn write_eval(out: &mut impl Write, r: &crate::eval::Report) -> std::io::Result<()> {
    writeln!(out, "{}: {} labelled tickets", r.dir.display(), r.rows)?;
    writeln!(
        out,
        "cause accuracy  {:>6.1}%  ({}/{})",
        r.cause_accuracy * 100.0,
        r.cause_correct,
        r.rows
    )?;
    writeln!(
        out,
        "owner accuracy  {:>6.1}%  ({}/{})",
        r.owner_accuracy * 100.0,
        r.owner_correct,
        r.rows
    )?;
    writeln!(
        out,
        "questions per ticket: mean {:.2}, max {}",
        r.questions_mean, r.questions_max
    )?;
    if r.questions_max > 0 {
        writeln!(out, "  most asked: {}", r.questions_max_files.join(", "))?;
    }
    let header = (
        "cause",
        "expected",
        "predicted",
        "correct",
        "precision",
        "recall",
    );
    writeln!(
        out,
        "\n  {:<32}{:>9}{:>10}{:>8}{:>10}{:>8}",
        header.0, header.1, header.2, header.3, header.4, header.5
    )?;
    for c in &r.per_cause {
        writeln!(
            out,
            "  {:<32}{:>9}{:>10}{:>8}{:>10.2}{:>8.2}",
            c.cause, c.expected, c.predicted, c.correct, c.precision, c.recall
        )?;
    }
    if r.confusions.is_empty() {
        writeln!(out, "\nno confusions")?;
    } else {
        writeln!(out, "\nconfusions (expected -> got):")?;
        for c in &r.confusions {
            writeln!(
                out,
                "  {} -> {} ({}): {}",
                c.expected,
                c.got,
                c.files.len(),
                c.files.join(", ")
            )?;
        }
    }
    for row in r.results.iter().filter(|row| row.error.is_some()) {
        writeln!(out, "error: {}", row.error.as_deref().unwrap_or(""))?;
    }
    Ok(())
}

fn run_eval_sisimai(kb: &KnowledgeBase, args: EvalArgs) -> anyhow::Result<ExitCode> {
    let dir = args.sisimai.ok_or_else(|| {
        anyhow::anyhow!(
            "eval: give --sisimai DIR (the corpus folder holding emails/ and labels.tsv)"
        )
    })?;
    let measurement = crate::sisimai::measure(kb, &dir)?;
    match args.format {
        EvalFormat::Json => {
            let mut out = std::io::stdout().lock();
            serde_json::to_writer_pretty(&mut out, &measurement.summary())?;
            writeln!(out)?;
        }
        EvalFormat::Text => print!("{}", measurement.render()),
    }
    let below = args
        .floor
        .is_some_and(|floor| measurement.record_rate() * 100.0 < floor);
    Ok(if below || !measurement.panics().is_empty() {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
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
    let output = Output::open(args.output.as_deref())?;
    let format = args.format.unwrap_or(if output.is_terminal() {
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
        show_usernames: args.show_usernames,
    };
    let (summary, output) = batch::run(
        kb,
        ticket::stream(&paths, args.jsonl),
        &global,
        &options,
        output,
    )?;
    output.commit()?;
    Ok(if summary.all_classified {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// Where results go: stdout, or a file that appears whole or not at all.
enum Output {
    Stdout(std::io::BufWriter<std::io::StdoutLock<'static>>),
    /// A temporary file beside the target, renamed over it by [`Output::commit`];
    /// dropped without a commit, it is deleted.
    File {
        temp: std::io::BufWriter<tempfile::NamedTempFile>,
        path: PathBuf,
    },
}

impl Output {
    /// Opens the output; a file that cannot be written fails here, before any work.
    fn open(path: Option<&std::path::Path>) -> anyhow::Result<Output> {
        let Some(path) = path else {
            return Ok(Output::Stdout(std::io::BufWriter::with_capacity(
                256 * 1024,
                std::io::stdout().lock(),
            )));
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
        let temp = builder.tempfile_in(dir).map_err(|e| {
            anyhow::anyhow!(
                "cannot write {}: {}",
                path.display(),
                ticket::describe_io(&e)
            )
        })?;
        Ok(Output::File {
            temp: std::io::BufWriter::new(temp),
            path: path.to_path_buf(),
        })
    }

    fn is_terminal(&self) -> bool {
        matches!(self, Output::Stdout(out) if out.get_ref().is_terminal())
    }

    /// Moves a finished file into place.
    fn commit(self) -> anyhow::Result<()> {
        if let Output::Stdout(mut out) = self {
            out.flush()?;
            return Ok(());
        }
        if let Output::File { temp, path } = self {
            let temp = temp
                .into_inner()
                .map_err(|e| anyhow::anyhow!("cannot write {}: {}", path.display(), e.error()))?;
            temp.persist(&path).map_err(|e| {
                anyhow::anyhow!(
                    "cannot write {}: {}",
                    path.display(),
                    ticket::describe_io(&e.error)
                )
            })?;
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
            assert_eq!(
                mode & 0o044,
                0o044,
                "results are readable by others, like any new file"
            );
        }
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }
}
