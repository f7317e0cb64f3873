//! The interactive REPL a tier-1 agent works in during a call: paste
//! transcripts, answer the one question the evidence leaves open, read the
//! diagnosis, escalate. Every step is saved, so a crash loses nothing
//! (`mailtriage repl --resume`); with stdin not a terminal the same commands
//! are read from a script.
//!
//! Owns: the conversation (inputs to actions, what is printed when) and its
//! parts: `commands` (syntax), `session` (state and files), `helper`
//! (rustyline), `input` (terminal and script sources), `render` (output).
//! Must not touch: evidence extraction, the walk or packet rendering; it
//! calls `evidence`, `engine` and `report` as they are.

pub mod commands;
pub mod helper;
pub mod input;
pub mod render;
pub mod session;

use crate::engine::{self, Verdict};
use crate::evidence::Evidence;
use crate::kb::{did_you_mean, Answer, KnowledgeBase};
use crate::report::{self, PacketFormat, PacketInput};
use commands::{Command, Input, COMMANDS};
use helper::ReplHelper;
use input::{Prompt, Read, Script, Source, Terminal};
use render::{Style, View};
use session::{Outcome, Session, SessionError, Store};
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum ReplError {
    #[error(transparent)]
    Session(#[from] SessionError),
    #[error("terminal: {0}")]
    Readline(#[from] rustyline::error::ReadlineError),
    #[error("output: {0}")]
    Io(#[from] std::io::Error),
}

/// How the REPL starts.
#[derive(Debug, Default)]
pub struct Options {
    /// `--resume` (Some(None): the most recent session; Some(Some(x)): an id or a session file).
    pub resume: Option<Option<String>>,
    /// Transcript files to load first.
    pub files: Vec<PathBuf>,
}

/// Runs the REPL on this process's terminal, or on stdin as a script.
pub fn run(kb: &KnowledgeBase, options: &Options) -> Result<(), ReplError> {
    let data_dir = Store::data_dir()?;
    let store = Store::open(&data_dir)?;
    let style = Style {
        color: std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none(),
    };
    let mut repl = Repl::start(kb, store, style, Box::new(std::io::stdout()), options)?;
    if std::io::stdin().is_terminal() {
        let helper = ReplHelper::new(askable(kb), targets(kb), style.color);
        let mut terminal = Terminal::new(helper, Some(data_dir.join("history.txt")))?;
        repl.run(&mut terminal)
    } else {
        repl.run(&mut Script::new(std::io::stdin().lock()))
    }
}

fn askable(kb: &KnowledgeBase) -> Vec<String> {
    kb.askable_facts().into_iter().map(String::from).collect()
}

/// Where a packet can go: every owner and every diagnosis's `escalate_to`.
fn targets(kb: &KnowledgeBase) -> Vec<String> {
    let mut out: Vec<String> = kb.taxonomy.owners.clone();
    out.extend(kb.diagnoses.iter().filter_map(|d| d.escalate_to.clone()));
    out.sort();
    out.dedup();
    out
}

/// Whether the loop goes on.
enum Flow {
    Continue,
    Quit,
}

/// One conversation: the session, its evidence and the current verdict.
pub struct Repl<'a> {
    kb: &'a KnowledgeBase,
    store: Store,
    session: Session,
    evidence: Evidence,
    verdict: Verdict,
    style: Style,
    out: Box<dyn Write + 'a>,
}

impl<'a> Repl<'a> {
    /// Opens a new or resumed session and loads `options.files`.
    pub fn start(
        kb: &'a KnowledgeBase,
        store: Store,
        style: Style,
        out: Box<dyn Write + 'a>,
        options: &Options,
    ) -> Result<Repl<'a>, ReplError> {
        let mut warnings = Vec::new();
        let resumed = options.resume.is_some();
        let session = match &options.resume {
            None => Session::new(store.new_id()),
            Some(None) => {
                let (s, problems) = store.latest()?;
                warnings.extend(problems.iter().map(|p| format!("skipped {p}")));
                s
            }
            Some(Some(x)) if looks_like_path(x) => session::load_file(Path::new(x))?,
            Some(Some(id)) => store.load(id)?,
        };
        let evidence = Evidence::default();
        let verdict = engine::evaluate_ticket(kb, &evidence, &Default::default());
        let mut repl = Repl {
            kb,
            store,
            session,
            evidence,
            verdict,
            style,
            out,
        };
        for w in warnings {
            repl.say(&format!("{}\n", style.warn(&w)))?;
        }
        repl.evaluate();
        repl.banner(resumed)?;
        if !options.files.is_empty() {
            repl.load(&options.files)?;
        }
        Ok(repl)
    }

    fn banner(&mut self, resumed: bool) -> Result<(), ReplError> {
        let s = self.style;
        if !resumed {
            let text = format!(
                "mailtriage session {}. Paste a transcript (end with an empty line), or type {}.\n",
                s.bold(&self.session.id),
                s.bold("help")
            );
            return self.say(&text);
        }
        let text = format!(
            "Resumed session {} ({} paste{}, {} answer{}).\n",
            s.bold(&self.session.id),
            self.session.pastes.len(),
            plural(self.session.pastes.len()),
            self.session.answer_list().len(),
            plural(self.session.answer_list().len()),
        );
        self.say(&text)?;
        let answers = render::answers_list(self.kb, &self.session.answer_list(), s);
        self.say(&answers)?;
        if !self.session.pastes.is_empty() {
            self.show_result()?;
        }
        Ok(())
    }

    /// Reads and handles inputs until `quit` or end of input, then saves.
    ///
    /// A terminal that goes away (hang-up, closed window, broken pipe) shows
    /// as a failed read or write, or an end of input whose goodbye cannot be
    /// written: the session is saved all the same and the REPL ends without
    /// an error, for there is nobody left to tell; a note goes to stderr in
    /// case that still works.
    pub fn run(&mut self, source: &mut dyn Source) -> Result<(), ReplError> {
        let ended = self.converse(source);
        let saved = self.save_on_leaving();
        if let Err(lost) = ended.and_then(|()| self.farewell(&saved)) {
            let outcome = match &saved {
                Ok(_) => format!("session {} is saved", self.session.id),
                Err(e) => format!("the session could not be saved: {e}"),
            };
            let _ = writeln!(std::io::stderr(), "mailtriage: {lost}; {outcome}");
        }
        Ok(())
    }

    fn converse(&mut self, source: &mut dyn Source) -> Result<(), ReplError> {
        loop {
            let prompt_text = self.prompt_text();
            let prompt = Prompt {
                text: &prompt_text,
                block: false,
                question_open: self.verdict.question.is_some(),
            };
            match source.read(&prompt)? {
                Read::Eof => break,
                Read::Interrupted => self.say("(input cancelled; quit or Ctrl-D leaves)\n")?,
                Read::Text(text) => {
                    let input = commands::classify(&text, false);
                    if matches!(input, Input::Command(_) | Input::Usage(_)) {
                        source.remember(text.trim());
                    }
                    if let Flow::Quit = self.handle(input, source)? {
                        return Ok(());
                    }
                }
            }
        }
        Ok(())
    }

    fn prompt_text(&self) -> String {
        match &self.verdict.question {
            Some(q) => format!("{} (yes/no/unknown)> ", q.fact),
            None => "mailtriage> ".to_string(),
        }
    }

    fn handle(&mut self, input: Input, source: &mut dyn Source) -> Result<Flow, ReplError> {
        match input {
            Input::Empty => {}
            Input::Usage(msg) => self.say(&format!("{msg}\n"))?,
            Input::Unknown(word) => self.unknown(&word)?,
            Input::Transcript(text) => self.add_transcript("paste", &text)?,
            Input::Command(cmd) => return self.command(cmd, source),
        }
        Ok(Flow::Continue)
    }

    fn command(&mut self, cmd: Command, source: &mut dyn Source) -> Result<Flow, ReplError> {
        match cmd {
            Command::Paste => self.paste(source)?,
            Command::Load(files) => self.load(&files)?,
            Command::Answer(a) => self.answer_question(a)?,
            Command::Why => {
                let text = self.view().trace();
                self.say(&text)?
            }
            Command::Back => self.back()?,
            Command::Answers { target, value } => self.answers(target, value, source)?,
            Command::Evidence => {
                let text = self.view().evidence_list();
                self.say(&text)?
            }
            Command::Restart => self.restart()?,
            Command::Escalate { to, output, format } => {
                self.escalate(to.as_deref(), output.as_deref(), format)?
            }
            Command::Save(path) => self.save_to(&path)?,
            Command::Help => {
                let text = self.help();
                self.say(&text)?
            }
            Command::Quit => return Ok(Flow::Quit),
        }
        Ok(Flow::Continue)
    }

    fn view(&self) -> View<'_> {
        View {
            kb: self.kb,
            session: &self.session,
            evidence: &self.evidence,
            verdict: &self.verdict,
            style: self.style,
        }
    }

    fn say(&mut self, text: &str) -> Result<(), ReplError> {
        self.out.write_all(text.as_bytes())?;
        self.out.flush()?;
        Ok(())
    }

    /// Re-extracts evidence from every paste and walks the tree again.
    fn evaluate(&mut self) {
        // a pasted email (a forwarded bounce) is decoded as classify decodes it
        self.evidence = Evidence::from_bytes(self.session.transcript().as_bytes());
        self.verdict = engine::evaluate_ticket(self.kb, &self.evidence, &self.session.answers());
        let v = &self.verdict;
        self.session.outcome = Some(Outcome {
            diagnosis: v.diagnosis.clone(),
            cause: v.cause.clone(),
            owner: v.owner.clone(),
            confidence: v.confidence,
            question: v.question.as_ref().map(|q| q.fact.clone()),
        });
    }

    /// One step: re-evaluate, then save before anything is shown, so what
    /// the agent sees is always on disk.
    fn step(&mut self) -> Result<(), ReplError> {
        self.evaluate();
        if let Err(e) = self.store.save(&mut self.session) {
            let text = format!(
                "{}\n",
                self.style.warn(&format!(
                    "warning: the session could not be saved: {e}\n\
                     The last saved copy is kept and this session goes on in memory; \
                     free some space, or keep a copy with: save FILE"
                ))
            );
            self.say(&text)?;
        }
        Ok(())
    }

    fn show_result(&mut self) -> Result<(), ReplError> {
        let text = {
            let view = self.view();
            format!("{}{}", view.evidence_summary(), view.next())
        };
        self.say(&text)
    }

    fn add_transcript(&mut self, source: &str, text: &str) -> Result<(), ReplError> {
        let n = self.session.add_paste(source, text);
        self.step()?;
        let lines = self.session.pastes[n - 1].text.lines().count();
        self.say(&format!(
            "Added paste {n} ({lines} line{}).\n",
            plural(lines)
        ))?;
        self.show_result()
    }

    fn paste(&mut self, source: &mut dyn Source) -> Result<(), ReplError> {
        self.say("Paste the text, then a line holding only a dot (.).\n")?;
        let prompt = Prompt {
            text: "paste> ",
            block: true,
            question_open: false,
        };
        match source.read(&prompt)? {
            Read::Text(text) => match commands::classify(&text, true) {
                Input::Transcript(t) => self.add_transcript("paste", &t),
                _ => self.say("Nothing pasted.\n"),
            },
            Read::Interrupted | Read::Eof => self.say("(paste cancelled)\n"),
        }
    }

    fn load(&mut self, files: &[PathBuf]) -> Result<(), ReplError> {
        let mut added = 0;
        for path in files {
            match std::fs::read(path) {
                Ok(bytes) => {
                    let n = self.session.add_paste(
                        &path.display().to_string(),
                        &String::from_utf8_lossy(&bytes),
                    );
                    self.say(&format!("Added paste {n} from {}.\n", path.display()))?;
                    added += 1;
                }
                Err(e) => self.say(&format!(
                    "{}\n",
                    self.style
                        .warn(&format!("cannot read {}: {e}", path.display()))
                ))?,
            }
        }
        if added > 0 {
            self.step()?;
            self.show_result()?;
        }
        Ok(())
    }

    fn answer_question(&mut self, answer: Answer) -> Result<(), ReplError> {
        let Some(fact) = self.verdict.question.as_ref().map(|q| q.fact.clone()) else {
            return self
                .say("No question is open. To set a fact yourself: answers FACT yes|no|unknown\n");
        };
        self.set_answer(&fact, Some(answer))
    }

    fn set_answer(&mut self, fact: &str, answer: Option<Answer>) -> Result<(), ReplError> {
        self.session.answer(fact, answer);
        self.step()?;
        let value = answer.map_or("cleared", |a| a.as_str());
        self.say(&format!("{fact} = {value}\n"))?;
        let text = self.view().next();
        self.say(&text)
    }

    fn back(&mut self) -> Result<(), ReplError> {
        let Some(undone) = self.session.back() else {
            return self.say("No answer to undo.\n");
        };
        self.step()?;
        let value = undone.answer.map_or("cleared", |a| a.as_str());
        self.say(&format!("Undid {} = {value}.\n", undone.fact))?;
        let text = self.view().next();
        self.say(&text)
    }

    /// `answers [TARGET [VALUE]]`: lists, and changes one answer; a person
    /// at the terminal is asked for what is missing.
    fn answers(
        &mut self,
        target: Option<String>,
        value: Option<String>,
        source: &mut dyn Source,
    ) -> Result<(), ReplError> {
        let list = self.session.answer_list();
        let target = match target {
            Some(t) => t,
            None => {
                self.say(&render::answers_list(self.kb, &list, self.style))?;
                if list.is_empty() || !source.interactive() {
                    return Ok(());
                }
                match self.ask(
                    source,
                    "Change which answer (number or fact; Enter keeps them)? ",
                )? {
                    Some(t) => t,
                    None => return Ok(()),
                }
            }
        };
        let fact = match self.resolve_fact(&target, &list) {
            Ok(fact) => fact,
            Err(msg) => return self.say(&msg),
        };
        let value = match value {
            Some(v) => v,
            None if source.interactive() => match self.ask(
                source,
                &format!("New answer for {fact} (yes/no/unknown/clear)? "),
            )? {
                Some(v) => v,
                None => return Ok(()),
            },
            None => return self.say("usage: answers FACT|N yes|no|unknown|clear\n"),
        };
        match value.as_str() {
            "clear" => self.set_answer(&fact, None),
            v => match commands::answer_of(v).or_else(|| Answer::parse(v)) {
                Some(a) => self.set_answer(&fact, Some(a)),
                None => self.say(&format!(
                    "{v:?} is not an answer: use yes, no, unknown or clear.\n"
                )),
            },
        }
    }

    /// The fact `answers` names: a number from the list or an askable fact id.
    fn resolve_fact(&self, target: &str, list: &[(String, Answer)]) -> Result<String, String> {
        match target.parse::<usize>() {
            Ok(n) if (1..=list.len()).contains(&n) => Ok(list[n - 1].0.clone()),
            Ok(n) => Err(format!(
                "There is no answer {n}; type answers to list them.\n"
            )),
            Err(_) if self.kb.question_for(target).is_some() => Ok(target.to_string()),
            Err(_) => {
                let facts = self.kb.askable_facts();
                let hint = did_you_mean(target, facts.iter().copied())
                    .map(|h| format!(" ({h})"))
                    .unwrap_or_default();
                Err(format!(
                    "{target:?} is not a fact an agent can answer{hint}.\n"
                ))
            }
        }
    }

    /// A follow-up question to the person at the terminal; `None` if empty or cancelled.
    fn ask(&mut self, source: &mut dyn Source, text: &str) -> Result<Option<String>, ReplError> {
        let prompt = Prompt {
            text,
            block: false,
            question_open: false,
        };
        Ok(match source.read(&prompt)? {
            Read::Text(t) if !t.trim().is_empty() => Some(t.trim().to_string()),
            _ => None,
        })
    }

    fn restart(&mut self) -> Result<(), ReplError> {
        let old = std::mem::replace(&mut self.session, Session::new(self.store.new_id()));
        self.evaluate();
        self.say(&format!(
            "New session {}; the previous one stays saved as {}.\n",
            self.session.id, old.id
        ))
    }

    fn escalate(
        &mut self,
        to: Option<&str>,
        output: Option<&Path>,
        format: PacketFormat,
    ) -> Result<(), ReplError> {
        if self.session.pastes.is_empty() {
            return self.say("Nothing to escalate yet: paste or load a transcript first.\n");
        }
        if let Some(q) = &self.verdict.question {
            let text = format!(
                "Note: the question about {} is still open; the packet will say so.\n",
                q.fact
            );
            self.say(&self.style.warn(&text))?;
        }
        let answers = self.session.answers();
        let input = PacketInput {
            kb: self.kb,
            ticket: &self.session.id,
            evidence: &self.evidence,
            verdict: &self.verdict,
            answers: &answers,
            target: to,
        };
        let packet = match report::render(&input, format) {
            Ok(p) => p,
            Err(e) => return self.say(&format!("cannot render the packet: {e}\n")),
        };
        match output {
            None => self.say(&packet),
            Some(path) => match session::write_atomic(path, &packet) {
                Ok(()) => self.say(&format!(
                    "Wrote the escalation packet to {}.\n",
                    path.display()
                )),
                Err(e) => self.say(&format!("cannot write the packet: {e}\n")),
            },
        }
    }

    fn save_to(&mut self, path: &Path) -> Result<(), ReplError> {
        match session::write_atomic(path, &session::to_json(&self.session)) {
            Ok(()) => self.say(&format!(
                "Saved session {} to {}.\n",
                self.session.id,
                path.display()
            )),
            Err(e) => self.say(&format!(
                "cannot save: {e}\nThe session itself is still saved as {}.\n",
                self.session.id
            )),
        }
    }

    fn unknown(&mut self, word: &str) -> Result<(), ReplError> {
        let names = COMMANDS.iter().map(|c| c.name);
        let hint = did_you_mean(word, names)
            .or_else(|| swapped_letters(word).map(|c| format!("did you mean \"{c}\"?")))
            .map(|h| format!(" ({h})"))
            .unwrap_or_default();
        self.say(&format!("Unknown command {word:?}{hint}. Type help; a transcript is pasted and ends with an empty line.\n"))
    }

    fn help(&self) -> String {
        let s = self.style;
        let width = COMMANDS
            .iter()
            .map(|c| c.name.len() + c.args.len() + 1)
            .max()
            .unwrap_or(0);
        let mut out = String::from(
            "Paste a transcript at the prompt: a line that does not start with a command, and\n\
             every multi-line paste, is transcript text and ends at an empty line (press\n\
             Enter once more if the paste did not end with one). Or type paste, the text,\n\
             then a line holding only a dot. Each paste or loaded file adds evidence and\n\
             everything is re-evaluated.\n",
        );
        out.push_str(&format!("{}\n", s.bold("Commands:")));
        for c in COMMANDS {
            let usage = if c.args.is_empty() {
                c.name.to_string()
            } else {
                format!("{} {}", c.name, c.args)
            };
            if usage.len() > 30 {
                out.push_str(&format!("  {usage}\n  {:30}  {}\n", "", c.help));
            } else {
                out.push_str(&format!("  {usage:<w$}  {}\n", c.help, w = width.min(30)));
            }
        }
        out.push_str(
            "Keys: Tab completes, Up/Down recall commands, Ctrl-C cancels the input, Ctrl-D leaves.\n",
        );
        out.push_str(&format!(
            "Every step is saved in {}; resume with: mailtriage repl --resume [ID]\n",
            self.store.dir().display()
        ));
        out
    }

    /// The last save; `Ok(false)` when there was nothing to save.
    fn save_on_leaving(&mut self) -> Result<bool, SessionError> {
        if self.session.pastes.is_empty() && self.session.answers.is_empty() {
            return Ok(false);
        }
        self.store.save(&mut self.session).map(|_| true)
    }

    fn farewell(&mut self, saved: &Result<bool, SessionError>) -> Result<(), ReplError> {
        let id = self.session.id.clone();
        match saved {
            Ok(false) => self.say("Nothing to save. Bye.\n"),
            Ok(true) => self.say(&format!(
                "Session {id} saved; resume with: mailtriage repl --resume {id}\n"
            )),
            Err(e) => {
                let text = format!(
                    "{}\n",
                    self.style
                        .warn(&format!("the session could not be saved: {e}"))
                );
                self.say(&text)
            }
        }
    }
}

/// A command typed with its letters shuffled (`qiut`), which edit distance misses.
fn swapped_letters(word: &str) -> Option<&'static str> {
    let sorted = |w: &str| {
        let mut cs: Vec<char> = w.to_ascii_lowercase().chars().collect();
        cs.sort_unstable();
        cs
    };
    COMMANDS
        .iter()
        .map(|c| c.name)
        .find(|name| sorted(name) == sorted(word))
}

fn looks_like_path(x: &str) -> bool {
    x.contains(std::path::MAIN_SEPARATOR) || x.ends_with(".json")
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Sessions keep only redacted text and are re-evaluated from it, so
    /// redaction must not change any verdict.
    #[test]
    fn redacted_transcripts_reach_the_same_verdict_as_the_originals() {
        let kb = KnowledgeBase::embedded().unwrap();
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("transcripts");
        let mut checked = 0;
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().and_then(|e| e.to_str()) != Some("txt") {
                continue;
            }
            let raw = String::from_utf8_lossy(&std::fs::read(&path).unwrap()).into_owned();
            let mut session = Session::new("t".into());
            session.add_paste("paste", &raw);
            let none = Default::default();
            // judged as the REPL judges a session (`Repl::evaluate`)
            let judge = |text: &str| {
                engine::evaluate_ticket(&kb, &Evidence::from_bytes(text.as_bytes()), &none)
            };
            let original = judge(&raw);
            let stored = judge(&session.transcript());
            let key = |v: &Verdict| {
                (
                    v.diagnosis.clone(),
                    v.question.as_ref().map(|q| q.fact.clone()),
                    v.pending.clone(),
                )
            };
            assert_eq!(key(&original), key(&stored), "{}", path.display());
            checked += 1;
        }
        assert!(checked > 50, "only {checked} transcripts found");
    }
}
