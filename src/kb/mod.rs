//! Knowledge base: the RON model of signatures, facts, questions, the
//! decision tree, diagnoses and suspects; loading it (embedded or from a
//! folder), validating it, and compiling its patterns.
//!
//! Owns: the rule-file format and every check on it. Must not touch:
//! evidence extraction or the walk itself; it only describes them as data.

mod error;
mod load;
pub mod model;
mod validate;

pub use error::{did_you_mean, KbError, Origin, Problem};
pub use load::{dir_sources, embedded_sources, SourceFile};
pub use model::*;

use crate::evidence::{Outcome, Phase, Status};
use regex::Regex;
use regex_automata::{meta, Input, PatternSet};
use std::collections::HashMap;
use std::path::Path;
use std::sync::OnceLock;

/// A value with where it was defined.
#[derive(Debug, Clone)]
pub struct Located<T> {
    pub value: T,
    pub at: Origin,
}

impl<T> std::ops::Deref for Located<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.value
    }
}

/// A signature with its patterns compiled.
#[derive(Debug, Clone)]
pub struct CompiledSignature {
    pub def: Signature,
    pub matcher: CompiledMatcher,
    pub at: Origin,
}

#[derive(Debug, Clone)]
pub enum CompiledMatcher {
    Reply {
        code: Option<CodePattern>,
        status: Option<StatusPattern>,
        phase: Option<Vec<Phase>>,
        text: Option<LazyRegex>,
    },
    Line(LazyRegex),
    Field {
        name: String,
        value: Option<LazyRegex>,
    },
    Connect {
        result: Option<Vec<crate::evidence::ConnectResult>>,
        port: Option<Vec<u16>>,
    },
    Capability(String),
    Command(String),
    NameError,
    Ptr,
    Attempts {
        failed: Vec<Outcome>,
        worked: Vec<Outcome>,
        differ: Difference,
        same_credentials: bool,
    },
    Outcome(Vec<Outcome>),
    All(Vec<CompiledMatcher>),
    Any(Vec<CompiledMatcher>),
    Not(Box<CompiledMatcher>),
}

/// Reply-code pattern: `535`, `5xx`, `55x`, alternatives with `|`.
#[derive(Debug, Clone)]
pub struct CodePattern(Vec<[Option<u8>; 3]>);

impl CodePattern {
    pub fn parse(text: &str) -> Result<CodePattern, String> {
        text.split('|')
            .map(|alt| {
                let alt = alt.trim().as_bytes();
                if alt.len() != 3 {
                    return Err(format!("reply code pattern {text:?}: each alternative is three characters, digits or x"));
                }
                let mut digits = [None; 3];
                for (slot, b) in digits.iter_mut().zip(alt) {
                    *slot = match b {
                        b'0'..=b'9' => Some(b - b'0'),
                        b'x' | b'X' | b'*' => None,
                        _ => return Err(format!("reply code pattern {text:?}: use digits or x, like \"5xx\"")),
                    };
                }
                Ok(digits)
            })
            .collect::<Result<_, _>>()
            .map(CodePattern)
    }

    pub fn matches(&self, code: u16) -> bool {
        let digits = [
            (code / 100) as u8,
            (code / 10 % 10) as u8,
            (code % 10) as u8,
        ];
        self.0.iter().any(|alt| {
            alt.iter()
                .zip(digits)
                .all(|(want, got)| want.is_none_or(|w| w == got))
        })
    }
}

/// Enhanced-status pattern: `5.7.1`, `5.7.*`, `*.1.1`, alternatives with `|`.
#[derive(Debug, Clone)]
pub struct StatusPattern(Vec<[Option<u16>; 3]>);

impl StatusPattern {
    pub fn parse(text: &str) -> Result<StatusPattern, String> {
        text.split('|')
            .map(|alt| {
                let parts: Vec<&str> = alt.trim().split('.').collect();
                if parts.len() != 3 {
                    return Err(format!(
                        "status pattern {text:?}: write class.subject.detail, like \"5.7.*\""
                    ));
                }
                let mut out = [None; 3];
                for (slot, part) in out.iter_mut().zip(parts) {
                    *slot = match part {
                        "*" | "x" | "X" => None,
                        n => Some(n.parse().map_err(|_| {
                            format!("status pattern {text:?}: {n:?} is not a number or *")
                        })?),
                    };
                }
                Ok(out)
            })
            .collect::<Result<_, _>>()
            .map(StatusPattern)
    }

    pub fn matches(&self, status: Status) -> bool {
        let got = [status.class as u16, status.subject, status.detail];
        self.0.iter().any(|alt| {
            alt.iter()
                .zip(got)
                .all(|(want, g)| want.is_none_or(|w| w == g))
        })
    }
}

/// A loaded, validated knowledge base.
#[derive(Debug, Clone, Default)]
pub struct KnowledgeBase {
    pub taxonomy: Taxonomy,
    pub taxonomy_file: String,
    pub facts: Vec<Located<FactDef>>,
    pub questions: Vec<Located<Question>>,
    pub signatures: Vec<CompiledSignature>,
    pub nodes: Vec<Located<Node>>,
    pub diagnoses: Vec<Located<Diagnosis>>,
    pub suspects: Vec<Located<Suspect>>,
    /// Template files: path relative to the rules folder, and text.
    pub templates: Vec<(String, String)>,
    index: Index,
}

#[derive(Debug, Clone, Default)]
struct Index {
    lines: LinePatterns,
    reply_texts: LinePatterns,
    facts: HashMap<String, usize>,
    nodes: HashMap<String, usize>,
    diagnoses: HashMap<String, usize>,
    question_for_fact: HashMap<String, usize>,
    suspects: HashMap<String, usize>,
    causes: HashMap<String, usize>,
}

/// A signature pattern: its syntax is checked when the knowledge base
/// loads, and it is compiled on first use, so start-up does not pay for the
/// patterns a run never needs (most runs classify few tickets, and `Line`
/// patterns run only inside [`LinePatterns`]).
///
/// On ASCII text (nearly every line of a transcript) it runs as an
/// ASCII-only byte regex: on ASCII input `\w`, `\b`, `\s` and `(?i)` mean
/// exactly what their Unicode forms mean, and the ASCII form compiles many
/// times faster and never leaves the fast DFA for a Unicode word boundary.
/// Other text gets the Unicode regex, the reference for both.
#[derive(Debug, Clone)]
pub struct LazyRegex {
    pattern: String,
    compiled: OnceLock<Option<Regex>>,
    ascii: OnceLock<Option<regex::bytes::Regex>>,
}

impl LazyRegex {
    /// Checks the pattern's syntax (the grammar only: what needs translating,
    /// such as an unknown Unicode class, and the size limits are checked by
    /// [`LazyRegex::compile`], which `rules check` and folder loading run on
    /// every pattern); the error reads like the regex crate's.
    pub fn new(pattern: &str) -> Result<LazyRegex, String> {
        regex_syntax::ast::parse::Parser::new()
            .parse(pattern)
            .map_err(|e| {
                format!(
                    "invalid pattern {pattern:?}: {}",
                    e.to_string().lines().last().unwrap_or("")
                )
            })?;
        Ok(LazyRegex {
            pattern: pattern.to_string(),
            compiled: OnceLock::new(),
            ascii: OnceLock::new(),
        })
    }

    /// Compiles the (Unicode) pattern now, reporting what would keep it from
    /// running (a pattern can parse and still exceed the size limits).
    pub fn compile(&self) -> Result<&Regex, String> {
        match self
            .compiled
            .get_or_init(|| load::build_regex(&self.pattern).ok())
        {
            Some(re) => Ok(re),
            None => Err(load::build_regex(&self.pattern).err().unwrap_or_default()),
        }
    }

    /// The ASCII-only form, None when the pattern needs Unicode (`\p{..}`).
    fn ascii(&self) -> Option<&regex::bytes::Regex> {
        self.ascii
            .get_or_init(|| ascii_regex(&self.pattern))
            .as_ref()
    }

    /// A pattern that cannot compile matches nothing; `rules check` reports it.
    pub fn is_match(&self, haystack: &str) -> bool {
        if haystack.is_ascii() {
            if let Some(re) = self.ascii() {
                return re.is_match(haystack.as_bytes());
            }
        }
        self.compile().is_ok_and(|re| re.is_match(haystack))
    }

    pub fn as_str(&self) -> &str {
        &self.pattern
    }
}

/// All `Line` patterns of a knowledge base in one regex set, compiled on
/// first use, so a transcript's lines are scanned once for all of them
/// rather than once per signature.
#[derive(Debug, Clone, Default)]
pub struct LinePatterns {
    patterns: Vec<LazyRegex>,
    set: OnceLock<Option<meta::Regex>>,
    index: HashMap<String, usize>,
}

impl LinePatterns {
    fn new(signatures: &[CompiledSignature]) -> LinePatterns {
        let mut found: Vec<&LazyRegex> = Vec::new();
        for sig in signatures {
            collect_lines(&sig.matcher, &mut found);
        }
        LinePatterns::of(found)
    }

    /// Every reply-text pattern of the signatures, as one set.
    fn replies(signatures: &[CompiledSignature]) -> LinePatterns {
        let mut found: Vec<&LazyRegex> = Vec::new();
        for sig in signatures {
            collect_reply_texts(&sig.matcher, &mut found);
        }
        LinePatterns::of(found)
    }

    fn of(found: Vec<&LazyRegex>) -> LinePatterns {
        let mut index = HashMap::new();
        let mut patterns = Vec::new();
        for re in found {
            if !index.contains_key(re.as_str()) {
                index.insert(re.as_str().to_string(), patterns.len());
                patterns.push(re.clone());
            }
        }
        LinePatterns {
            patterns,
            set: OnceLock::new(),
            index,
        }
    }

    /// The set (ASCII-only, for ASCII lines; see [`LazyRegex`]), or None when
    /// it cannot be built: then each pattern runs alone.
    fn set(&self) -> Option<&meta::Regex> {
        self.set
            .get_or_init(|| {
                // Configured as the regex crate configures a bytes RegexSet.
                let config = meta::Config::new()
                    .match_kind(regex_automata::MatchKind::All)
                    .utf8_empty(false)
                    .which_captures(regex_automata::nfa::thompson::WhichCaptures::None)
                    .nfa_size_limit(Some(1 << 24))
                    .hybrid_cache_capacity(1 << 24);
                let syntax = regex_automata::util::syntax::Config::new()
                    .unicode(false)
                    .utf8(false);
                let patterns: Vec<&str> = self.patterns.iter().map(LazyRegex::as_str).collect();
                meta::Builder::new()
                    .configure(config)
                    .syntax(syntax)
                    .build_many(&patterns)
                    .ok()
            })
            .as_ref()
    }

    /// The position of `re`'s pattern in the set, when it is in it.
    pub fn position(&self, re: &LazyRegex) -> Option<usize> {
        self.index.get(re.as_str()).copied()
    }

    pub fn len(&self) -> usize {
        self.index.len()
    }

    pub fn is_empty(&self) -> bool {
        self.index.is_empty()
    }

    /// Marks in `hits` (one slot per pattern, not cleared) every pattern that
    /// matches the ASCII `haystack`; false when the set cannot say (the
    /// haystack is not ASCII, or the set could not be built).
    pub fn mark_ascii(&self, haystack: &str, hits: &mut [bool]) -> bool {
        let Some(set) = self.set().filter(|_| haystack.is_ascii()) else {
            return false;
        };
        let mut found = PatternSet::new(self.len());
        set.which_overlapping_matches(&Input::new(haystack.as_bytes()), &mut found);
        for i in found.iter() {
            hits[i] = true;
        }
        true
    }

    /// For every pattern, the 0-based index of the first line it matches;
    /// None when the set could not be built.
    pub fn first_matches<'a>(
        &self,
        lines: impl IntoIterator<Item = &'a str>,
    ) -> Option<Vec<Option<usize>>> {
        let set = self.set()?;
        let mut first = vec![None; self.len()];
        let mut missing = first.len();
        let mut hits = PatternSet::new(first.len());
        for (no, line) in lines.into_iter().enumerate() {
            if missing == 0 {
                break;
            }
            if !line.is_ascii() {
                for (slot, re) in first.iter_mut().zip(&self.patterns) {
                    if slot.is_none() && re.is_match(line) {
                        *slot = Some(no);
                        missing -= 1;
                    }
                }
                continue;
            }
            // Most lines match no pattern; saying so can stop early,
            // finding every pattern that matches cannot.
            let input = Input::new(line.as_bytes());
            if !set.is_match(input.clone()) {
                continue;
            }
            hits.clear();
            set.which_overlapping_matches(&input, &mut hits);
            for i in hits.iter() {
                if first[i].is_none() {
                    first[i] = Some(no);
                    missing -= 1;
                }
            }
        }
        Some(first)
    }
}

/// `pattern` with Unicode off, to run on ASCII text only.
pub fn ascii_regex(pattern: &str) -> Option<regex::bytes::Regex> {
    regex::bytes::RegexBuilder::new(pattern)
        .unicode(false)
        .size_limit(1 << 21)
        .dfa_size_limit(1 << 22)
        .build()
        .ok()
}

fn compile_all(m: &CompiledMatcher, errors: &mut Vec<String>) {
    let mut check = |re: &LazyRegex| {
        if let Err(e) = re.compile() {
            errors.push(e);
        }
    };
    match m {
        CompiledMatcher::Reply { text: Some(re), .. }
        | CompiledMatcher::Field {
            value: Some(re), ..
        } => check(re),
        CompiledMatcher::Line(re) => check(re),
        CompiledMatcher::All(ms) | CompiledMatcher::Any(ms) => {
            ms.iter().for_each(|m| compile_all(m, errors))
        }
        CompiledMatcher::Not(m) => compile_all(m, errors),
        _ => {}
    }
}

fn collect_reply_texts<'a>(m: &'a CompiledMatcher, out: &mut Vec<&'a LazyRegex>) {
    match m {
        CompiledMatcher::Reply { text: Some(re), .. } => out.push(re),
        CompiledMatcher::All(ms) | CompiledMatcher::Any(ms) => {
            ms.iter().for_each(|m| collect_reply_texts(m, out))
        }
        CompiledMatcher::Not(m) => collect_reply_texts(m, out),
        _ => {}
    }
}

fn collect_lines<'a>(m: &'a CompiledMatcher, out: &mut Vec<&'a LazyRegex>) {
    match m {
        CompiledMatcher::Line(re) => out.push(re),
        CompiledMatcher::All(ms) | CompiledMatcher::Any(ms) => {
            ms.iter().for_each(|m| collect_lines(m, out))
        }
        CompiledMatcher::Not(m) => collect_lines(m, out),
        _ => {}
    }
}

/// Where a tree edge leads.
#[derive(Debug, Clone, Copy)]
pub enum Target<'kb> {
    Node(&'kb Node),
    Diagnosis(&'kb Diagnosis),
}

/// The id of the node every walk starts from.
pub const ROOT: &str = "start";

impl KnowledgeBase {
    /// The knowledge base embedded in the binary.
    pub fn embedded() -> Result<KnowledgeBase, KbError> {
        KnowledgeBase::from_sources(&embedded_sources())
    }

    /// A knowledge base read from a folder laid out like `rules/`.
    pub fn from_dir(dir: &Path) -> Result<KnowledgeBase, KbError> {
        let kb = KnowledgeBase::from_sources(&dir_sources(dir)?)?;
        let problems = kb.compile_patterns();
        if problems.is_empty() {
            Ok(kb)
        } else {
            Err(KbError::Invalid(problems))
        }
    }

    /// Compiles every pattern now (they are otherwise compiled on first use),
    /// so one that parses but is too big to run is reported, not silently
    /// matching nothing. A folder of rules and `rules check` do this.
    pub fn compile_patterns(&self) -> Vec<Problem> {
        let mut problems = Vec::new();
        for sig in &self.signatures {
            let mut errors = Vec::new();
            compile_all(&sig.matcher, &mut errors);
            problems.extend(errors.into_iter().map(|e| {
                Problem::new(sig.at.clone(), format!("signature \"{}\": {e}", sig.def.id))
                    .hint("simplify the pattern or split it over several signatures")
            }));
        }
        problems
    }

    pub fn from_sources(files: &[SourceFile]) -> Result<KnowledgeBase, KbError> {
        let mut kb = load::parse(files).map_err(KbError::Invalid)?;
        kb.build_index();
        let problems = validate::validate(&kb, files);
        if problems.is_empty() {
            Ok(kb)
        } else {
            Err(KbError::Invalid(problems))
        }
    }

    fn build_index(&mut self) {
        let mut index = Index::default();
        for (i, f) in self.facts.iter().enumerate() {
            index.facts.entry(f.id.clone()).or_insert(i);
        }
        for (i, n) in self.nodes.iter().enumerate() {
            index.nodes.entry(n.id().to_string()).or_insert(i);
        }
        for (i, d) in self.diagnoses.iter().enumerate() {
            index.diagnoses.entry(d.id.clone()).or_insert(i);
        }
        for (i, q) in self.questions.iter().enumerate() {
            index.question_for_fact.entry(q.fact.clone()).or_insert(i);
        }
        for (i, s) in self.suspects.iter().enumerate() {
            index.suspects.entry(s.id.clone()).or_insert(i);
        }
        for (i, c) in self.taxonomy.causes.iter().enumerate() {
            index.causes.entry(c.id.clone()).or_insert(i);
        }
        index.lines = LinePatterns::new(&self.signatures);
        index.reply_texts = LinePatterns::replies(&self.signatures);
        self.index = index;
    }

    /// Every `Line` pattern of the signatures, compiled into one set.
    pub fn line_patterns(&self) -> &LinePatterns {
        &self.index.lines
    }

    /// Every reply-text pattern of the signatures, compiled into one set.
    pub fn reply_patterns(&self) -> &LinePatterns {
        &self.index.reply_texts
    }

    pub fn is_fact(&self, id: &str) -> bool {
        self.index.facts.contains_key(id) || self.taxonomy.agent_facts.iter().any(|f| f == id)
    }

    pub fn fact(&self, id: &str) -> Option<&FactDef> {
        self.index.facts.get(id).map(|&i| &self.facts[i].value)
    }

    /// The question that settles `fact`, if the agent can be asked about it.
    pub fn question_for(&self, fact: &str) -> Option<&Question> {
        self.index
            .question_for_fact
            .get(fact)
            .map(|&i| &self.questions[i].value)
    }

    pub fn node(&self, id: &str) -> Option<&Node> {
        self.index.nodes.get(id).map(|&i| &self.nodes[i].value)
    }

    pub fn diagnosis(&self, id: &str) -> Option<&Diagnosis> {
        self.index
            .diagnoses
            .get(id)
            .map(|&i| &self.diagnoses[i].value)
    }

    pub fn suspect(&self, id: &str) -> Option<&Suspect> {
        self.index
            .suspects
            .get(id)
            .map(|&i| &self.suspects[i].value)
    }

    pub fn cause(&self, id: &str) -> Option<&CauseDef> {
        self.index.causes.get(id).map(|&i| &self.taxonomy.causes[i])
    }

    pub fn target(&self, id: &str) -> Option<Target<'_>> {
        self.node(id)
            .map(Target::Node)
            .or_else(|| self.diagnosis(id).map(Target::Diagnosis))
    }

    /// The owner of a diagnosis: its own, or its cause's.
    pub fn owner_of<'a>(&'a self, d: &'a Diagnosis) -> &'a str {
        d.owner
            .as_deref()
            .or_else(|| self.cause(&d.cause).map(|c| c.owner.as_str()))
            .unwrap_or("unknown")
    }

    /// The Sisimai-style reason of a diagnosis: its own, or its cause's.
    pub fn reason_of<'a>(&'a self, d: &'a Diagnosis) -> &'a str {
        d.reason
            .as_deref()
            .or_else(|| self.cause(&d.cause).map(|c| c.reason.as_str()))
            .unwrap_or("undefined")
    }

    /// Every fact id an agent may answer: agent facts and asked facts.
    pub fn askable_facts(&self) -> Vec<&str> {
        let mut ids: Vec<&str> = self.questions.iter().map(|q| q.fact.as_str()).collect();
        ids.sort_unstable();
        ids.dedup();
        ids
    }

    pub fn template(&self, name: &str) -> Option<&str> {
        self.templates
            .iter()
            .find(|(path, _)| path == name || path.strip_prefix("templates/") == Some(name))
            .map(|(_, text)| text.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_and_status_patterns() {
        let c = CodePattern::parse("5xx|421").unwrap();
        assert!(c.matches(550) && c.matches(421) && !c.matches(450));
        assert!(CodePattern::parse("5x").is_err());
        let s = StatusPattern::parse("5.7.*|*.1.1").unwrap();
        let st = |a, b, c| Status {
            class: a,
            subject: b,
            detail: c,
        };
        assert!(s.matches(st(5, 7, 26)) && s.matches(st(4, 1, 1)) && !s.matches(st(5, 2, 2)));
    }
}

#[cfg(test)]
mod lazy_regex_tests {
    use super::*;

    #[test]
    fn grammar_errors_fail_at_load_and_the_rest_at_compile() {
        let err = LazyRegex::new("(?=after)x").unwrap_err();
        assert!(err.contains("look-around"), "{err}");
        assert!(LazyRegex::new("(unclosed").is_err());
        let unknown_class = LazyRegex::new(r"\p{NoSuchClass}").unwrap();
        assert!(unknown_class.compile().is_err());
        assert!(!unknown_class.is_match("anything"));
        let fine = LazyRegex::new(r"(?i)\brelay(?:ing)? denied\b").unwrap();
        assert!(fine.compile().is_ok() && fine.is_match("554 5.7.1 Relaying denied"));
    }
}

#[cfg(test)]
mod embedded_tests {
    use super::*;

    #[test]
    fn the_embedded_knowledge_base_loads() {
        match KnowledgeBase::embedded() {
            Err(e) => panic!("{e}"),
            Ok(kb) => {
                let problems = kb.compile_patterns();
                assert!(problems.is_empty(), "{problems:?}");
            }
        }
    }
}
