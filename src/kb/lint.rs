//! Lint: checks a knowledge base that loads and validates for rules that are
//! legal yet cannot work as their author meant.
//!
//! - every signature's `examples` must reach it and no `counter_examples`
//!   may (errors: a pattern that misses its own example is dead or shadowed);
//! - Switch cases that can never be the first to hold, because earlier cases
//!   cover every way they could hold (warnings, with the earlier case);
//! - nodes and diagnoses reached only through such cases;
//! - questions that never change the outcome (every answer ends at the same
//!   diagnosis) and questions nothing reads;
//! - facts nothing sets (always `no`) and facts nothing reads;
//! - diagnoses no labelled transcript reaches, when a corpus is given.
//!
//! Template variables are not checked: the report module does not yet
//! publish the context keys its templates may use.
//!
//! Owns: the lint findings. Must not touch: the model or validation. It
//! runs the engine's matcher and walk to see what rules do, never to decide.

use super::error::Origin;
use super::load::{position, SourceFile};
use super::model::{Answer, Condition, Node};
use super::{KnowledgeBase, ROOT};
use crate::engine::{self, Answers};
use crate::evidence::Evidence;
use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::fmt;

/// How bad a finding is: errors fail `rules check`, warnings only with `--strict`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    Warning,
    Error,
}

/// One lint finding, rendered like a validation problem.
#[derive(Debug, Clone, PartialEq)]
pub struct Finding {
    pub severity: Severity,
    pub at: Origin,
    pub message: String,
    pub note: Option<(Origin, String)>,
    pub hint: Option<String>,
}

impl Finding {
    fn new(severity: Severity, at: Origin, message: impl Into<String>) -> Finding {
        Finding {
            severity,
            at,
            message: message.into(),
            note: None,
            hint: None,
        }
    }

    fn hint(mut self, hint: impl Into<String>) -> Finding {
        self.hint = Some(hint.into());
        self
    }

    fn note(mut self, at: Origin, text: impl Into<String>) -> Finding {
        self.note = Some((at, text.into()));
        self
    }
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let level = match self.severity {
            Severity::Warning => "warning",
            Severity::Error => "error",
        };
        write!(f, "{}: {level}: {}", self.at, self.message)?;
        if let Some((at, text)) = &self.note {
            write!(f, "\n  note: {at}: {text}")?;
        }
        if let Some(hint) = &self.hint {
            write!(f, "\n  hint: {hint}")?;
        }
        Ok(())
    }
}

/// A labelled transcript to measure coverage with.
#[derive(Debug, Clone)]
pub struct Sample {
    pub name: String,
    pub evidence: Evidence,
    pub answers: Answers,
}

/// Lints `kb`; `files` are its sources (for positions), `corpus` the
/// labelled transcripts (for diagnosis coverage), when there are any.
pub fn lint(kb: &KnowledgeBase, files: &[SourceFile], corpus: Option<&[Sample]>) -> Vec<Finding> {
    let mut l = Linter {
        kb,
        files,
        out: Vec::new(),
    };
    l.examples();
    l.word_boundaries();
    let live = l.switch_cases();
    l.effective_reachability(&live);
    l.questions(&live);
    l.facts();
    if let Some(corpus) = corpus {
        l.coverage(corpus);
    }
    l.out.sort_by(|a, b| {
        b.severity
            .cmp(&a.severity)
            .then_with(|| (&a.at.file, a.at.line).cmp(&(&b.at.file, b.at.line)))
    });
    l.out
}

struct Linter<'a> {
    kb: &'a KnowledgeBase,
    files: &'a [SourceFile],
    out: Vec<Finding>,
}

/// Which edges of the tree can be taken: node id -> targets.
type LiveEdges = BTreeMap<String, Vec<String>>;

/// At most this many facts are enumerated together (up to 3^n assignments).
const MAX_FACTS_ENUMERATED: usize = 10;

/// What lint found about one switch case.
enum Fate {
    /// Some facts make it the first case to hold.
    Live,
    /// It can hold, but an earlier case (if one alone does) always holds too.
    Shadowed(Option<usize>),
    /// No values of its facts make it hold.
    Never,
}

/// The distinct facts some conditions read, sorted.
fn facts_of<'c>(conditions: impl IntoIterator<Item = &'c Condition>) -> Vec<&'c str> {
    let mut facts: Vec<&str> = conditions.into_iter().flat_map(|c| c.facts()).collect();
    facts.sort_unstable();
    facts.dedup();
    facts
}

impl Linter<'_> {
    /// Where `needle` first stands at or after `from`, else `from`.
    fn locate(&self, from: &Origin, needle: &str) -> Origin {
        self.locate_nth(from, needle, 0)
    }

    /// Where the `nth` (0-based) `needle` stands at or after `from`, else `from`.
    fn locate_nth(&self, from: &Origin, needle: &str, nth: usize) -> Origin {
        let Some(file) = self.files.iter().find(|f| f.path == from.file) else {
            return from.clone();
        };
        let start: usize = file
            .text
            .split_inclusive('\n')
            .take(from.line.saturating_sub(1))
            .map(str::len)
            .sum();
        match file.text[start..].match_indices(needle).nth(nth) {
            Some((found, _)) if !needle.is_empty() => {
                position(&file.path, &file.text, start + found)
            }
            _ => from.clone(),
        }
    }

    /// Where case `i` of a switch stands: its `then:`, counting earlier
    /// cases with the same target.
    fn locate_case(&self, at: &Origin, cases: &[super::model::Case], i: usize) -> Origin {
        let same = cases[..i]
            .iter()
            .filter(|c| c.then == cases[i].then)
            .count();
        self.locate_nth(at, &format!("then: \"{}\"", cases[i].then), same)
    }

    /// Where an example string stands: its first line as RON writes it.
    fn locate_example(&self, from: &Origin, text: &str) -> Origin {
        let first_line = text.lines().next().unwrap_or("");
        let escaped = first_line.replace('\\', "\\\\").replace('"', "\\\"");
        let needle: String = escaped.chars().take(60).collect();
        self.locate(from, &needle)
    }

    fn examples(&mut self) {
        for sig in &self.kb.signatures {
            for example in &sig.def.examples {
                let evidence = Evidence::from_text(example);
                if engine::facts::matches(&sig.matcher, &evidence, None).is_none() {
                    let at = self.locate_example(&sig.at, example);
                    self.out.push(
                        Finding::new(Severity::Error, at, format!("signature \"{}\" does not match its example \"{}\"", sig.def.id, short(example)))
                            .hint("the pattern is dead or narrower than meant: fix the pattern, or the example if it is not a real instance of this class"),
                    );
                }
            }
            for counter in &sig.def.counter_examples {
                let evidence = Evidence::from_text(counter);
                if engine::facts::matches(&sig.matcher, &evidence, None).is_some() {
                    let at = self.locate_example(&sig.at, counter);
                    self.out.push(
                        Finding::new(
                            Severity::Error,
                            at,
                            format!(
                                "signature \"{}\" matches its counter-example \"{}\"",
                                sig.def.id,
                                short(counter)
                            ),
                        )
                        .hint("narrow the pattern so this near miss stays out"),
                    );
                }
            }
            if sig.def.examples.is_empty() {
                self.out.push(
                    Finding::new(
                        Severity::Warning,
                        sig.at.clone(),
                        format!("signature \"{}\" has no examples", sig.def.id),
                    )
                    .hint("add `examples: [...]` with real server or client wording it must match"),
                );
            }
        }
    }

    /// `\b` is an ASCII word boundary in every pattern (see RULES.md), so
    /// one written next to a non-ASCII letter (`ящик\b`) never holds there.
    fn word_boundaries(&mut self) {
        for sig in &self.kb.signatures {
            let mut patterns = Vec::new();
            regexes_of(&sig.def.when, &mut patterns);
            for pattern in patterns {
                if let Some(letter) = non_ascii_letter_at_boundary(pattern) {
                    self.out.push(
                        Finding::new(
                            Severity::Warning,
                            sig.at.clone(),
                            format!(
                                "signature \"{}\": a word boundary next to '{letter}' never holds (\\b is an ASCII word boundary)",
                                sig.def.id
                            ),
                        )
                        .hint("drop the \\b there, or end the word with (?:\\s|$) or a punctuation class"),
                    );
                }
            }
        }
    }

    /// The values a fact can take when a walk reads it.
    fn domain(&self, fact: &str) -> Vec<Answer> {
        let askable = self.kb.question_for(fact).is_some();
        let set = self
            .kb
            .signatures
            .iter()
            .any(|s| s.def.sets.iter().any(|f| f == fact));
        // a signature that only clears a fact gives `no`, the default anyway
        match (askable, set) {
            (true, _) => vec![Answer::Yes, Answer::No, Answer::Unknown],
            (false, true) => vec![Answer::Yes, Answer::No],
            (false, false) => vec![Answer::No],
        }
    }

    /// Reports cases that can never be first; returns the edges that can be taken.
    fn switch_cases(&mut self) -> LiveEdges {
        let mut live = LiveEdges::new();
        for node in &self.kb.nodes {
            let targets = match &node.value {
                Node::Ask {
                    yes,
                    no,
                    unknown,
                    fact,
                    ..
                } => {
                    let domain = self.domain(fact);
                    let mut t = Vec::new();
                    for (answer, target) in [
                        (Answer::Yes, yes),
                        (Answer::No, no),
                        (Answer::Unknown, unknown),
                    ] {
                        if domain.contains(&answer) {
                            t.push(target.clone());
                        }
                    }
                    t
                }
                Node::Switch {
                    id,
                    cases,
                    otherwise,
                    ..
                } => self.switch_live_targets(&node.at, id, cases, otherwise),
            };
            live.insert(node.id().to_string(), targets);
        }
        live
    }

    fn switch_live_targets(
        &mut self,
        at: &Origin,
        id: &str,
        cases: &[super::model::Case],
        otherwise: &str,
    ) -> Vec<String> {
        let (fates, otherwise_live) = self.case_fates(cases);
        let mut targets = Vec::new();
        for (i, (case, fate)) in cases.iter().zip(&fates).enumerate() {
            let case_at = self.locate_case(at, cases, i);
            let describe = engine::describe(&case.when);
            let finding = match fate {
                Fate::Live => {
                    targets.push(case.then.clone());
                    continue;
                }
                Fate::Shadowed(cover) => {
                    let f = Finding::new(Severity::Warning, case_at, format!("in switch \"{id}\", the case `{describe}` -> \"{}\" can never be the first to hold", case.then));
                    match cover {
                        Some(j) => f.note(
                            self.locate_case(at, cases, *j),
                            format!("the earlier case `{}` -> \"{}\" holds whenever it does", engine::describe(&cases[*j].when), cases[*j].then),
                        ),
                        None => f.note(at.clone(), "the earlier cases together hold whenever it does"),
                    }
                    .hint("move the case before the cases that cover it, or remove it")
                }
                Fate::Never => Finding::new(Severity::Warning, case_at, format!("in switch \"{id}\", the case `{describe}` -> \"{}\" can never hold", case.then))
                    .hint("a fact it needs is never set by any signature nor asked; check the fact names and the signatures' `sets`"),
            };
            self.out.push(finding);
        }
        if otherwise_live {
            targets.push(otherwise.to_string());
        }
        targets
    }

    /// Whether each case can be the first to hold, and whether `otherwise`
    /// can be reached. Small switches are enumerated exactly; in larger ones
    /// each case is compared with each earlier case alone.
    fn case_fates(&self, cases: &[super::model::Case]) -> (Vec<Fate>, bool) {
        let facts = facts_of(cases.iter().map(|c| &c.when));
        let domains: Vec<Vec<Answer>> = facts.iter().map(|f| self.domain(f)).collect();
        if facts.len() <= MAX_FACTS_ENUMERATED {
            let mut first_for = vec![false; cases.len() + 1];
            for assignment in assignments(&domains) {
                let values: BTreeMap<&str, Answer> =
                    facts.iter().copied().zip(assignment).collect();
                let first = cases
                    .iter()
                    .position(|c| eval(&c.when, &values))
                    .unwrap_or(cases.len());
                first_for[first] = true;
            }
            let fates = (0..cases.len())
                .map(|i| match first_for[i] {
                    true => Fate::Live,
                    false if !self.satisfiable(&cases[i].when) => Fate::Never,
                    false => Fate::Shadowed(
                        (0..i).find(|&j| self.implies(&cases[i].when, &cases[j].when)),
                    ),
                })
                .collect();
            return (fates, first_for[cases.len()]);
        }
        let fates = (0..cases.len())
            .map(|i| {
                if !self.satisfiable(&cases[i].when) {
                    return Fate::Never;
                }
                match (0..i).find(|&j| self.implies(&cases[i].when, &cases[j].when)) {
                    Some(j) => Fate::Shadowed(Some(j)),
                    None => Fate::Live,
                }
            })
            .collect();
        (fates, true)
    }

    fn satisfiable(&self, c: &Condition) -> bool {
        let facts = facts_of(std::iter::once(c));
        let domains: Vec<Vec<Answer>> = facts.iter().map(|f| self.domain(f)).collect();
        let holds = assignments(&domains).any(|a| eval(c, &facts.iter().copied().zip(a).collect()));
        holds
    }

    /// Whether `b` holds whenever `a` does, over the facts the two read.
    fn implies(&self, a: &Condition, b: &Condition) -> bool {
        let facts = facts_of([a, b]);
        if facts.len() > MAX_FACTS_ENUMERATED {
            return false;
        }
        let domains: Vec<Vec<Answer>> = facts.iter().map(|f| self.domain(f)).collect();
        implies(a, b, &facts, &domains)
    }

    fn effective_reachability(&mut self, live: &LiveEdges) {
        let reached = reach(ROOT, live);
        for n in &self.kb.nodes {
            if !reached.contains(n.id()) {
                self.out.push(
                    Finding::new(
                        Severity::Warning,
                        n.at.clone(),
                        format!(
                            "node \"{}\" is only reached through cases that can never hold",
                            n.id()
                        ),
                    )
                    .hint("see the warnings about those cases"),
                );
            }
        }
        for d in &self.kb.diagnoses {
            if !reached.contains(d.id.as_str()) {
                self.out.push(
                    Finding::new(
                        Severity::Warning,
                        d.at.clone(),
                        format!(
                            "diagnosis \"{}\" is only reached through cases that can never hold",
                            d.id
                        ),
                    )
                    .hint("see the warnings about those cases"),
                );
            }
        }
    }

    fn questions(&mut self, live: &LiveEdges) {
        let kb = self.kb;
        for node in &kb.nodes {
            let Node::Ask {
                id,
                fact,
                yes,
                no,
                unknown,
                ..
            } = &node.value
            else {
                continue;
            };
            let mut outcomes: BTreeSet<String> = BTreeSet::new();
            for target in [yes, no, unknown] {
                outcomes.extend(diagnoses_below(kb, target, live));
            }
            if outcomes.len() == 1 {
                let only = outcomes.into_iter().next().unwrap_or_default();
                self.out.push(
                    Finding::new(Severity::Warning, node.at.clone(), format!("asking \"{fact}\" in node \"{id}\" never changes the outcome: every answer ends at \"{only}\""))
                        .hint("lead the answers to different diagnoses, or replace the Ask by its target"),
                );
            }
        }
        let read = facts_read(kb);
        for q in &kb.questions {
            if !read.contains(q.fact.as_str()) {
                self.out.push(
                    Finding::new(Severity::Warning, q.at.clone(), format!("question \"{}\" settles \"{}\", which no node, suspect or diagnosis reads", q.id, q.fact))
                        .hint("ask it from an Ask node where the answer matters, or remove it"),
                );
            }
        }
    }

    fn facts(&mut self) {
        let kb = self.kb;
        let read = facts_read(kb);
        for f in &kb.facts {
            let set = kb
                .signatures
                .iter()
                .any(|s| s.def.sets.contains(&f.id) || s.def.clears.contains(&f.id));
            if !set && kb.question_for(&f.id).is_none() {
                self.out.push(
                    Finding::new(Severity::Warning, f.at.clone(), format!("fact \"{}\" is set by no signature and settled by no question, so it is always no", f.id))
                        .hint("add a signature that sets it, or remove it"),
                );
            }
            if !read.contains(f.id.as_str()) {
                self.out.push(
                    Finding::new(
                        Severity::Warning,
                        f.at.clone(),
                        format!("fact \"{}\" is read by no node, suspect or diagnosis", f.id),
                    )
                    .hint("test it in the tree, or remove it and the signatures' `sets` entries"),
                );
            }
        }
    }

    fn coverage(&mut self, corpus: &[Sample]) {
        let reached: HashSet<String> = corpus
            .iter()
            .map(|s| engine::evaluate(self.kb, &s.evidence, &s.answers).diagnosis)
            .collect();
        for d in &self.kb.diagnoses {
            if !reached.contains(&d.id) {
                self.out.push(
                    Finding::new(Severity::Warning, d.at.clone(), format!("diagnosis \"{}\" is reached by no labelled transcript", d.id))
                        .hint(format!("add a transcript that shows it to the corpus ({} samples read), or check the path to it", corpus.len())),
                );
            }
        }
    }
}

/// The regexes of a matcher and of the matchers inside it.
fn regexes_of<'m>(m: &'m super::model::Matcher, out: &mut Vec<&'m str>) {
    use super::model::Matcher;
    match m {
        Matcher::Reply { text: Some(t), .. } => out.push(t),
        Matcher::Line(t) => out.push(t),
        Matcher::Field { value: Some(v), .. } => out.push(v),
        Matcher::All(ms) | Matcher::Any(ms) => ms.iter().for_each(|m| regexes_of(m, out)),
        Matcher::Not(m) | Matcher::Live(m) => regexes_of(m, out),
        _ => {}
    }
}

/// A non-ASCII letter written right before or after a `\b` or `\B`
/// (outside a character class), if any.
fn non_ascii_letter_at_boundary(pattern: &str) -> Option<char> {
    super::load::word_boundaries(pattern)
        .into_iter()
        .flat_map(|i| {
            [
                pattern[..i].chars().next_back(),
                pattern[i + 2..].chars().next(),
            ]
        })
        .flatten()
        .find(|c| !c.is_ascii() && c.is_alphanumeric())
}

fn short(text: &str) -> String {
    let one_line = text.replace('\n', "\\n");
    if one_line.chars().count() > 70 {
        format!("{}...", one_line.chars().take(67).collect::<String>())
    } else {
        one_line
    }
}

/// Evaluates a condition the way the engine does, over explicit values.
fn eval(c: &Condition, values: &BTreeMap<&str, Answer>) -> bool {
    let value = |f: &str| values.get(f).copied().unwrap_or(Answer::No);
    match c {
        Condition::Fact(f) => value(f) == Answer::Yes,
        Condition::No(f) => value(f) == Answer::No,
        Condition::All(cs) => cs.iter().all(|c| eval(c, values)),
        Condition::Any(cs) => cs.iter().any(|c| eval(c, values)),
        Condition::Not(c) => !eval(c, values),
    }
}

/// Whether `b` holds whenever `a` does.
fn implies(a: &Condition, b: &Condition, facts: &[&str], domains: &[Vec<Answer>]) -> bool {
    assignments(domains).all(|assignment| {
        let values: BTreeMap<&str, Answer> = facts.iter().copied().zip(assignment).collect();
        !eval(a, &values) || eval(b, &values)
    })
}

/// Every combination of values, one per domain.
fn assignments(domains: &[Vec<Answer>]) -> impl Iterator<Item = Vec<Answer>> + '_ {
    let total: usize = domains.iter().map(Vec::len).product();
    (0..total).map(move |mut n| {
        domains
            .iter()
            .map(|d| {
                let v = d[n % d.len()];
                n /= d.len();
                v
            })
            .collect()
    })
}

fn reach<'a>(from: &'a str, live: &'a LiveEdges) -> HashSet<&'a str> {
    let mut seen = HashSet::new();
    let mut stack = vec![from];
    while let Some(id) = stack.pop() {
        if seen.insert(id) {
            if let Some(targets) = live.get(id) {
                stack.extend(targets.iter().map(String::as_str));
            }
        }
    }
    seen
}

fn diagnoses_below(kb: &KnowledgeBase, target: &str, live: &LiveEdges) -> BTreeSet<String> {
    reach(target, live)
        .into_iter()
        .filter(|id| kb.diagnosis(id).is_some())
        .map(str::to_string)
        .collect()
}

/// Facts some node, suspect or diagnosis reads.
fn facts_read(kb: &KnowledgeBase) -> HashSet<&str> {
    let mut read: HashSet<&str> = HashSet::new();
    for n in &kb.nodes {
        match &n.value {
            Node::Switch { cases, .. } => read.extend(cases.iter().flat_map(|c| c.when.facts())),
            Node::Ask { fact, .. } => {
                read.insert(fact);
            }
        }
    }
    for s in &kb.suspects {
        read.extend(s.ruled_out_by.iter().flat_map(|r| r.when.facts()));
    }
    for d in &kb.diagnoses {
        read.extend(d.indicated_by.iter().map(String::as_str));
    }
    read
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fact(f: &str) -> Condition {
        Condition::Fact(f.into())
    }

    #[test]
    fn implication_is_checked_over_every_value() {
        let two = [Answer::Yes, Answer::No].to_vec();
        let three = [Answer::Yes, Answer::No, Answer::Unknown].to_vec();
        let a_and_b = Condition::All(vec![fact("a"), fact("b")]);
        assert!(implies(
            &a_and_b,
            &fact("a"),
            &["a", "b"],
            &[two.clone(), two.clone()]
        ));
        assert!(!implies(
            &fact("a"),
            &a_and_b,
            &["a", "b"],
            &[two.clone(), two.clone()]
        ));
        // not-no is not yes when the fact can be unknown
        let not_no = Condition::Not(Box::new(Condition::No("a".into())));
        assert!(implies(
            &not_no,
            &fact("a"),
            &["a"],
            std::slice::from_ref(&two)
        ));
        assert!(!implies(
            &not_no,
            &fact("a"),
            &["a"],
            std::slice::from_ref(&three)
        ));
    }

    #[test]
    fn a_word_boundary_next_to_a_non_ascii_letter_is_found() {
        assert_eq!(non_ascii_letter_at_boundary(r"ящик\b"), Some('к'));
        assert_eq!(non_ascii_letter_at_boundary(r"(?i)\bété"), Some('é'));
        assert_eq!(
            non_ascii_letter_at_boundary(r"(?i)\bpostfach\b.*voll"),
            None
        );
        // inside a class, or an escaped backslash, is no boundary
        assert_eq!(non_ascii_letter_at_boundary(r"[\bé]"), None);
        assert_eq!(non_ascii_letter_at_boundary(r"\\bé"), None);
    }

    #[test]
    fn assignments_cover_the_product() {
        let d = vec![
            vec![Answer::Yes, Answer::No],
            vec![Answer::Yes, Answer::No, Answer::Unknown],
        ];
        let all: Vec<Vec<Answer>> = assignments(&d).collect();
        assert_eq!(all.len(), 6);
        let unique: std::collections::HashSet<_> = all.iter().map(|a| format!("{a:?}")).collect();
        assert_eq!(unique.len(), 6);
    }
}
