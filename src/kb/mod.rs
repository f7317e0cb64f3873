//! Knowledge base: the RON model of signatures, facts, questions, the
//! decision tree, diagnoses and suspects; loading it (embedded or from a
//! folder), validating it, and compiling its patterns.
//!
//! Owns: the rule-file format and every check on it. Must not touch:
//! evidence extraction or the walk itself; it only describes them as data.

mod error;
pub mod graph;
pub mod lint;
mod load;
pub mod model;
mod pattern;
mod validate;

pub use error::{did_you_mean, KbError, Origin, Problem};
pub use load::{dir_sources, embedded_sources, SourceFile};
pub use model::*;
pub use pattern::{FirstLines, LazyRegex, PatternGroup, Scanned};

use crate::evidence::{Outcome, Phase, Status};
use std::collections::HashMap;
use std::path::Path;

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
    Live(Box<CompiledMatcher>),
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
    lines: PatternGroup,
    reply_texts: PatternGroup,
    facts: HashMap<String, usize>,
    nodes: HashMap<String, usize>,
    diagnoses: HashMap<String, usize>,
    question_for_fact: HashMap<String, usize>,
    suspects: HashMap<String, usize>,
    causes: HashMap<String, usize>,
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
    /// The knowledge base embedded in the binary, for running it: parsed,
    /// but neither validated nor its patterns compiled (each is compiled on
    /// first use). Validating it and compiling every pattern cost several
    /// times more than classifying a ticket; the embedded rules are checked
    /// in full by the tests ([`KnowledgeBase::embedded_checked`]) and by
    /// `rules check`. A folder of rules is always checked in full.
    pub fn embedded() -> Result<KnowledgeBase, KbError> {
        let load::Parsed {
            mut kb,
            problems,
            complete,
        } = load::parse(&embedded_sources(), load::Patterns::OnFirstUse);
        if !complete || !problems.is_empty() {
            return Err(KbError::Invalid(problems));
        }
        kb.build_index();
        Ok(kb)
    }

    /// The embedded knowledge base, validated and compiled as a folder of
    /// rules would be.
    pub fn embedded_checked() -> Result<KnowledgeBase, KbError> {
        KnowledgeBase::from_sources(&embedded_sources())
    }

    /// A knowledge base read from a folder laid out like `rules/`.
    pub fn from_dir(dir: &Path) -> Result<KnowledgeBase, KbError> {
        KnowledgeBase::from_sources(&dir_sources(dir)?)
    }

    pub fn from_sources(files: &[SourceFile]) -> Result<KnowledgeBase, KbError> {
        let load::Parsed {
            mut kb,
            mut problems,
            complete,
        } = load::parse(files, load::Patterns::Now);
        if complete {
            kb.build_index();
            problems.extend(validate::validate(&kb, files));
        }
        if problems.is_empty() {
            return Ok(kb);
        }
        // file by file, top to bottom, the way an editor walks them
        problems.sort_by(|a, b| {
            (&a.at.file, a.at.line, a.at.col).cmp(&(&b.at.file, b.at.line, b.at.col))
        });
        Err(KbError::Invalid(problems))
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
        let (mut lines, mut replies) = (Vec::new(), Vec::new());
        for sig in &mut self.signatures {
            collect_patterns(&mut sig.matcher, &mut lines, &mut replies);
        }
        index.lines = PatternGroup::new(lines);
        index.reply_texts = PatternGroup::new(replies);
        self.index = index;
    }

    /// Every `Line` pattern of the signatures, as one set.
    pub fn line_patterns(&self) -> &PatternGroup {
        &self.index.lines
    }

    /// Every reply-text pattern of the signatures, as one set.
    pub fn reply_patterns(&self) -> &PatternGroup {
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

/// The `Line` patterns and reply-text patterns of a matcher, to group.
fn collect_patterns<'a>(
    m: &'a mut CompiledMatcher,
    lines: &mut Vec<&'a mut LazyRegex>,
    replies: &mut Vec<&'a mut LazyRegex>,
) {
    match m {
        CompiledMatcher::Line(re) => lines.push(re),
        CompiledMatcher::Reply { text: Some(re), .. } => replies.push(re),
        CompiledMatcher::All(ms) | CompiledMatcher::Any(ms) => ms
            .iter_mut()
            .for_each(|m| collect_patterns(m, lines, replies)),
        CompiledMatcher::Not(m) | CompiledMatcher::Live(m) => collect_patterns(m, lines, replies),
        _ => {}
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
mod embedded_tests {
    use super::*;

    /// `embedded()` skips validation and compiling at run time; this is
    /// the check it relies on.
    #[test]
    fn the_embedded_knowledge_base_loads() {
        if let Err(e) = KnowledgeBase::embedded_checked() {
            panic!("{e}");
        }
        if let Err(e) = KnowledgeBase::embedded() {
            panic!("{e}");
        }
    }
}
