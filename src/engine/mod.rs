//! Engine: from evidence plus answers, walks the decision tree to the next
//! question or a diagnosis, and records why (the trace), what the evidence
//! rules out, and what is still pending.
//!
//! Owns: the walk and its result model. Must not touch: parsing transcripts
//! or rule files, and it holds no diagnosis logic of its own: every branch
//! it takes is written in the knowledge base.

pub mod facts;

pub use facts::{derive, derive_in, Conflict, EvidenceRef, FactState, Facts, Scan, Source};

use crate::evidence::Evidence;
use crate::kb::{Answer, Condition, KnowledgeBase, Node, Target, ROOT};
use serde::Serialize;
use std::collections::BTreeMap;

/// Confidence kept when a branch is taken on an unanswered question.
const GUESS_WEIGHT: f64 = 0.6;
/// A walk longer than this is a broken tree; validation forbids loops.
const MAX_STEPS: usize = 10_000;

/// The agent's answers, by fact id.
pub type Answers = BTreeMap<String, Answer>;

/// How one step of the walk was decided.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "by", rename_all = "snake_case")]
pub enum Decision {
    /// A condition over facts held (or, for `otherwise`, none did).
    Evidence {
        condition: String,
        facts: Vec<FactUse>,
    },
    /// The agent answered.
    Answer { fact: String, value: Answer },
    /// Nobody knows yet: the best-supported branch was taken.
    Assumed { fact: String },
    /// No case of a switch held.
    Otherwise,
}

/// A fact used in a decision, with its value and the lines behind it.
#[derive(Debug, Clone, Serialize)]
pub struct FactUse {
    pub fact: String,
    pub value: Answer,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub refs: Vec<EvidenceRef>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Step {
    pub node: String,
    pub why: String,
    #[serde(flatten)]
    pub decision: Decision,
    pub next: String,
}

/// The next question to ask, and why.
#[derive(Debug, Clone, Serialize)]
pub struct Ask {
    pub id: String,
    pub fact: String,
    pub text: String,
    pub why: String,
}

/// A usual suspect and whether the evidence rules it out.
#[derive(Debug, Clone, Serialize)]
pub struct SuspectVerdict {
    pub suspect: String,
    pub label: String,
    pub ruled_out: bool,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub because: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub refs: Vec<EvidenceRef>,
}

/// A fact the evidence set, with the lines that set it.
#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    pub fact: String,
    pub value: Answer,
    pub signature: String,
    pub refs: Vec<EvidenceRef>,
}

/// The result of a walk.
#[derive(Debug, Clone, Serialize)]
pub struct Verdict {
    pub diagnosis: String,
    pub title: String,
    pub cause: String,
    pub owner: String,
    pub reason: String,
    pub confidence: f64,
    /// The diagnosis's own confidence, before the discount for each
    /// question assumed on the way: what `confidence` becomes once every
    /// pending question is answered the way it was assumed.
    pub base_confidence: f64,
    /// Facts that were assumed on the way: answering them confirms or changes the result.
    pub pending: Vec<String>,
    /// The first pending question, when one is open.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub question: Option<Ask>,
    pub trace: Vec<Step>,
    pub findings: Vec<Finding>,
    pub suspects: Vec<SuspectVerdict>,
    /// Other diagnoses the evidence also points at.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub also_seen: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub conflicts: Vec<Conflict>,
}

impl Verdict {
    /// Whether the result stands on the evidence and the answers alone: no
    /// question was assumed on the way, and a cause was found.
    pub fn settled(&self) -> bool {
        self.pending.is_empty() && self.cause != "unknown"
    }
}

/// Derives facts and walks the tree.
pub fn evaluate(kb: &KnowledgeBase, evidence: &Evidence, answers: &Answers) -> Verdict {
    evaluate_scoped(kb, evidence, answers, None)
}

/// The ticket's verdict, the one every front-end shows: that of the first
/// recipient a bounce reports as failed, judged on its own evidence; for a
/// transcript naming no failed recipient, that of the whole transcript.
pub fn evaluate_ticket(kb: &KnowledgeBase, evidence: &Evidence, answers: &Answers) -> Verdict {
    evaluate_recipients(kb, evidence, answers).1
}

/// Every recipient's verdict (in the order of `evidence.recipients`) and the
/// ticket's (see [`evaluate_ticket`]), the recipients sharing one [`Scan`].
pub fn evaluate_recipients(
    kb: &KnowledgeBase,
    evidence: &Evidence,
    answers: &Answers,
) -> (Vec<Verdict>, Verdict) {
    let mut scan = Scan::new(kb);
    let verdicts: Vec<Verdict> = (0..evidence.recipients.len())
        .map(|index| evaluate_in(&mut scan, evidence, answers, Some(index)))
        .collect();
    let first_failed = evidence
        .recipients
        .iter()
        .zip(&verdicts)
        .find(|(recipient, verdict)| !recipient.delivered() && verdict.cause != "delivered")
        .map(|(_, verdict)| verdict.clone());
    let ticket = first_failed.unwrap_or_else(|| evaluate_in(&mut scan, evidence, answers, None));
    (verdicts, ticket)
}

/// As [`evaluate`], with per-recipient evidence limited to one recipient.
pub fn evaluate_scoped(
    kb: &KnowledgeBase,
    evidence: &Evidence,
    answers: &Answers,
    recipient: Option<usize>,
) -> Verdict {
    evaluate_in(&mut Scan::new(kb), evidence, answers, recipient)
}

/// As [`evaluate_scoped`], sharing `scan` between evaluations of the same
/// evidence (see [`Scan`]).
fn evaluate_in(
    scan: &mut Scan,
    evidence: &Evidence,
    answers: &Answers,
    recipient: Option<usize>,
) -> Verdict {
    let facts = derive_in(scan, evidence, answers, recipient);
    walk(scan.kb(), &facts)
}

/// Walks the tree over already-derived facts.
pub fn walk(kb: &KnowledgeBase, facts: &Facts) -> Verdict {
    let mut trace = Vec::new();
    let mut pending = Vec::new();
    let mut question = None;
    let mut confidence = 1.0;
    let mut at = ROOT.to_string();
    let diagnosis = loop {
        if trace.len() > MAX_STEPS {
            break kb.diagnosis("unknown");
        }
        match kb.target(&at) {
            Some(Target::Diagnosis(d)) => break Some(d),
            None => break kb.diagnosis("unknown"),
            Some(Target::Node(node)) => {
                let step = step(kb, facts, node);
                if let Decision::Assumed { fact } = &step.decision {
                    confidence *= GUESS_WEIGHT;
                    pending.push(fact.clone());
                    if question.is_none() {
                        question = ask_for(kb, fact);
                    }
                }
                if let Decision::Answer {
                    fact,
                    value: Answer::Unknown,
                } = &step.decision
                {
                    confidence *= GUESS_WEIGHT;
                    pending.push(fact.clone());
                }
                at = step.next.clone();
                trace.push(step);
            }
        }
    };
    let findings = findings(facts);
    match diagnosis {
        Some(d) => {
            let base = if d.cause == "unknown" {
                0.0
            } else {
                d.confidence
            };
            let confidence = base * confidence;
            Verdict {
                diagnosis: d.id.clone(),
                title: d.title.clone(),
                cause: d.cause.clone(),
                owner: kb.owner_of(d).to_string(),
                reason: kb.reason_of(d).to_string(),
                confidence: (confidence * 100.0).round() / 100.0,
                base_confidence: (base * 100.0).round() / 100.0,
                pending,
                question,
                trace,
                suspects: suspects(kb, facts, &d.suspects),
                also_seen: also_seen(kb, facts, &d.id, &d.cause),
                findings,
                conflicts: facts.conflicts.clone(),
            }
        }
        None => Verdict {
            diagnosis: "unknown".into(),
            title: "Not enough evidence".into(),
            cause: "unknown".into(),
            owner: "unknown".into(),
            reason: "undefined".into(),
            confidence: 0.0,
            base_confidence: 0.0,
            pending,
            question,
            trace,
            suspects: vec![],
            also_seen: vec![],
            findings,
            conflicts: facts.conflicts.clone(),
        },
    }
}

fn step(kb: &KnowledgeBase, facts: &Facts, node: &Node) -> Step {
    match node {
        Node::Switch {
            id,
            why,
            cases,
            otherwise,
        } => {
            let chosen = cases.iter().find(|c| holds(kb, facts, &c.when));
            let (decision, next) = match chosen {
                Some(case) => (
                    Decision::Evidence {
                        condition: describe(&case.when),
                        facts: uses(kb, facts, &case.when),
                    },
                    case.then.clone(),
                ),
                None => (Decision::Otherwise, otherwise.clone()),
            };
            Step {
                node: id.clone(),
                why: why.clone(),
                decision,
                next,
            }
        }
        Node::Ask {
            id,
            fact,
            yes,
            no,
            unknown,
            why,
        } => {
            let value = facts.value(kb, fact);
            let next = match value {
                Answer::Yes => yes,
                Answer::No => no,
                Answer::Unknown => unknown,
            };
            let decision = match (value, facts.state(fact)) {
                (
                    _,
                    Some(FactState {
                        source: Source::Evidence { .. },
                        ..
                    }),
                ) => Decision::Evidence {
                    condition: format!("{fact} is {}", value.as_str()),
                    facts: uses(kb, facts, &Condition::Fact(fact.clone())),
                },
                (Answer::Unknown, _) if !facts.answered.contains_key(fact) => {
                    Decision::Assumed { fact: fact.clone() }
                }
                _ => Decision::Answer {
                    fact: fact.clone(),
                    value,
                },
            };
            Step {
                node: id.clone(),
                why: why.clone(),
                decision,
                next: next.clone(),
            }
        }
    }
}

/// Evaluates a condition; an unknown fact makes neither `Fact` nor `No` hold.
pub fn holds(kb: &KnowledgeBase, facts: &Facts, c: &Condition) -> bool {
    match c {
        Condition::Fact(f) => facts.value(kb, f) == Answer::Yes,
        Condition::No(f) => facts.value(kb, f) == Answer::No,
        Condition::All(cs) => cs.iter().all(|c| holds(kb, facts, c)),
        Condition::Any(cs) => cs.iter().any(|c| holds(kb, facts, c)),
        Condition::Not(c) => !holds(kb, facts, c),
    }
}

/// A condition in words, for the trace.
pub fn describe(c: &Condition) -> String {
    match c {
        Condition::Fact(f) => f.clone(),
        Condition::No(f) => format!("not {f}"),
        Condition::All(cs) => cs.iter().map(describe).collect::<Vec<_>>().join(" and "),
        Condition::Any(cs) => format!(
            "({})",
            cs.iter().map(describe).collect::<Vec<_>>().join(" or ")
        ),
        Condition::Not(c) => format!("not ({})", describe(c)),
    }
}

fn uses(kb: &KnowledgeBase, facts: &Facts, c: &Condition) -> Vec<FactUse> {
    let mut out: Vec<FactUse> = Vec::new();
    for fact in c.facts() {
        if out.iter().any(|u| u.fact == fact) {
            continue;
        }
        let refs = match facts.state(fact) {
            Some(FactState {
                source: Source::Evidence { refs, .. },
                ..
            }) => refs.clone(),
            _ => Vec::new(),
        };
        out.push(FactUse {
            fact: fact.to_string(),
            value: facts.value(kb, fact),
            refs,
        });
    }
    out
}

fn ask_for(kb: &KnowledgeBase, fact: &str) -> Option<Ask> {
    kb.question_for(fact).map(|q| Ask {
        id: q.id.clone(),
        fact: q.fact.clone(),
        text: q.text.clone(),
        why: q.why.clone(),
    })
}

fn findings(facts: &Facts) -> Vec<Finding> {
    facts
        .values
        .iter()
        .filter_map(|(fact, state)| match &state.source {
            Source::Evidence { signature, refs } => Some(Finding {
                fact: fact.clone(),
                value: state.value,
                signature: signature.clone(),
                refs: refs.clone(),
            }),
            _ => None,
        })
        .collect()
}

fn suspects(kb: &KnowledgeBase, facts: &Facts, ids: &[String]) -> Vec<SuspectVerdict> {
    ids.iter()
        .filter_map(|id| kb.suspect(id))
        .map(|s| {
            let rule = s.ruled_out_by.iter().find(|r| holds(kb, facts, &r.when));
            SuspectVerdict {
                suspect: s.id.clone(),
                label: s.label.clone(),
                ruled_out: rule.is_some(),
                because: rule.map(|r| r.because.clone()).unwrap_or_default(),
                refs: rule
                    .map(|r| {
                        uses(kb, facts, &r.when)
                            .into_iter()
                            .flat_map(|u| u.refs)
                            .collect()
                    })
                    .unwrap_or_default(),
            }
        })
        .collect()
}

/// Whether the evidence rules out a usual suspect that stands for `cause`
/// (`stands_for` in `suspects.ron`): a diagnosis of that cause is then no
/// alternative, whatever else points at it.
pub fn cause_ruled_out(kb: &KnowledgeBase, facts: &Facts, cause: &str) -> bool {
    kb.suspects.iter().any(|s| {
        s.stands_for.iter().any(|c| c == cause)
            && s.ruled_out_by.iter().any(|r| holds(kb, facts, &r.when))
    })
}

fn also_seen(kb: &KnowledgeBase, facts: &Facts, chosen: &str, cause: &str) -> Vec<String> {
    // one diagnosis per other cause: a second one of the same cause adds nothing
    let mut causes: Vec<&str> = vec![cause];
    let mut seen: Vec<String> = Vec::new();
    for d in &kb.diagnoses {
        if d.id == chosen || d.indicated_by.is_empty() || causes.contains(&d.cause.as_str()) {
            continue;
        }
        if d.indicated_by
            .iter()
            .all(|f| facts.value(kb, f) == Answer::Yes)
            && !cause_ruled_out(kb, facts, &d.cause)
        {
            causes.push(&d.cause);
            seen.push(d.id.clone());
        }
    }
    seen
}
