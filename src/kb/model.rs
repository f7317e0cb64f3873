//! The knowledge-base model as rule authors write it in RON: plain serde data.

use crate::evidence::{ConnectResult, Outcome, Phase};
use serde::{Deserialize, Serialize};

/// `taxonomy.ron`: the public vocabulary (mirrors TAXONOMY.md).
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Taxonomy {
    pub owners: Vec<String>,
    pub causes: Vec<CauseDef>,
    /// Agent-fact ids that are always understood.
    pub agent_facts: Vec<String>,
    /// Sisimai's reason vocabulary, for the `reason` output field.
    pub reasons: Vec<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct CauseDef {
    pub id: String,
    pub owner: String,
    /// The closest Sisimai reason.
    pub reason: String,
}

/// An entry of `facts.ron`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct FactDef {
    pub id: String,
    pub describe: String,
}

/// An entry of `questions.ron`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Question {
    pub id: String,
    /// The fact the answer settles.
    pub fact: String,
    pub text: String,
    /// The question put to the customer in their own words ("Can you ...?"),
    /// for the customer's letter; `text` (written for the agent) when absent.
    #[serde(default)]
    pub to_customer: Option<String>,
    /// Why the answer matters, shown with the question.
    pub why: String,
    #[serde(default = "all_answers")]
    pub answers: Vec<Answer>,
}

impl Question {
    /// The question as the customer's letter puts it.
    pub fn customer_text(&self) -> &str {
        self.to_customer.as_deref().unwrap_or(&self.text)
    }
}

fn all_answers() -> Vec<Answer> {
    vec![Answer::Yes, Answer::No, Answer::Unknown]
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Answer {
    Yes,
    No,
    Unknown,
}

impl Answer {
    pub fn parse(text: &str) -> Option<Answer> {
        match text.trim().to_ascii_lowercase().as_str() {
            "yes" | "y" | "true" | "1" => Some(Answer::Yes),
            "no" | "n" | "false" | "0" => Some(Answer::No),
            "unknown" | "?" | "u" | "dunno" | "don't know" => Some(Answer::Unknown),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Answer::Yes => "yes",
            Answer::No => "no",
            Answer::Unknown => "unknown",
        }
    }
}

/// An entry of `signatures/*.ron`: a pattern over evidence that sets facts.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Signature {
    pub id: String,
    pub describe: String,
    pub when: Matcher,
    /// Facts set to yes when the signature matches.
    #[serde(default)]
    pub sets: Vec<String>,
    /// Facts set to no when the signature matches.
    #[serde(default)]
    pub clears: Vec<String>,
    /// Transcript snippets the signature must match (checked by `rules check` and the tests).
    #[serde(default)]
    pub examples: Vec<String>,
    /// Snippets it must not match.
    #[serde(default)]
    pub counter_examples: Vec<String>,
}

/// What a signature looks for in the evidence.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub enum Matcher {
    /// A server reply. Every given field must match.
    Reply {
        /// `"535"`, `"5xx"`, `"55x"`, alternatives with `|`: `"421|450"`.
        #[serde(default)]
        code: Option<String>,
        /// `"5.7.1"`, `"5.7.*"`, `"*.1.1"`, alternatives with `|`.
        #[serde(default)]
        status: Option<String>,
        #[serde(default)]
        phase: Option<Vec<Phase>>,
        /// A regex over the reply text (status included).
        #[serde(default)]
        text: Option<String>,
    },
    /// Any line of the transcript, by regex.
    Line(String),
    /// A header or DSN field, by name (case-insensitive) and value regex.
    Field {
        name: String,
        #[serde(default)]
        value: Option<String>,
    },
    /// A connection attempt's TCP/DNS result.
    Connect {
        #[serde(default)]
        result: Option<Vec<ConnectResult>>,
        #[serde(default)]
        port: Option<Vec<u16>>,
    },
    /// An EHLO capability keyword (`STARTTLS`, `AUTH`, `SIZE`).
    Capability(String),
    /// A client command by verb (`AUTH`, `STARTTLS`, `MAIL`).
    Command(String),
    /// A DNS lookup that found nothing.
    NameError,
    /// A reverse-DNS record was shown.
    Ptr,
    /// Two attempts compared: one ended in `failed`, another in `worked`,
    /// and they differ in `differ` (and, with `same_credentials`, sent the
    /// same credentials).
    Attempts {
        failed: Vec<Outcome>,
        worked: Vec<Outcome>,
        #[serde(default)]
        differ: Difference,
        #[serde(default)]
        same_credentials: bool,
    },
    /// Any attempt ended in one of these outcomes.
    Outcome(Vec<Outcome>),
    All(Vec<Matcher>),
    Any(Vec<Matcher>),
    Not(Box<Matcher>),
    /// The matcher over the customer's own live session alone: lines,
    /// items and attempts outside any pasted report (a bounce, its quoted
    /// session transcript, a forwarded message), and replies read from a
    /// dialogue rather than quoted in prose or a log.
    Live(Box<Matcher>),
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Difference {
    /// Anything may differ.
    #[default]
    Any,
    /// The source address or network.
    Source,
    /// The server port.
    Port,
    /// The server name.
    Server,
}

/// A node of the decision tree (`tree/*.ron` or `tree.ron`).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub enum Node {
    /// Tests conditions in order; the first that holds decides.
    Switch {
        id: String,
        why: String,
        cases: Vec<Case>,
        otherwise: String,
    },
    /// Tests one fact that the agent may have to ask about.
    Ask {
        id: String,
        fact: String,
        yes: String,
        no: String,
        /// Where to go while nobody knows: the best-supported branch.
        unknown: String,
        why: String,
    },
}

impl Node {
    pub fn id(&self) -> &str {
        match self {
            Node::Switch { id, .. } | Node::Ask { id, .. } => id,
        }
    }

    /// Every node or diagnosis this node can lead to.
    pub fn targets(&self) -> Vec<&str> {
        match self {
            Node::Switch {
                cases, otherwise, ..
            } => cases
                .iter()
                .map(|c| c.then.as_str())
                .chain(std::iter::once(otherwise.as_str()))
                .collect(),
            Node::Ask {
                yes, no, unknown, ..
            } => vec![yes, no, unknown],
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Case {
    pub when: Condition,
    pub then: String,
}

/// A condition over facts.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub enum Condition {
    /// The fact is yes.
    Fact(String),
    /// The fact is no (explicitly, or by default for evidence-only facts).
    No(String),
    All(Vec<Condition>),
    Any(Vec<Condition>),
    Not(Box<Condition>),
}

impl Condition {
    /// Every fact id the condition reads.
    pub fn facts(&self) -> Vec<&str> {
        match self {
            Condition::Fact(f) | Condition::No(f) => vec![f],
            Condition::All(cs) | Condition::Any(cs) => cs.iter().flat_map(|c| c.facts()).collect(),
            Condition::Not(c) => c.facts(),
        }
    }
}

/// An entry of `diagnoses/*.ron`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Diagnosis {
    pub id: String,
    pub cause: String,
    /// Defaults to the cause's owner.
    #[serde(default)]
    pub owner: Option<String>,
    /// Sisimai-style reason; defaults to the cause's.
    #[serde(default)]
    pub reason: Option<String>,
    pub title: String,
    /// For the agent: what the evidence shows.
    pub summary: String,
    /// What to tell the customer, in one or two sentences.
    pub tell_customer: String,
    /// The recommended action.
    pub action: String,
    /// Who to escalate to (an escalation target id, see `targets`).
    #[serde(default)]
    pub escalate_to: Option<String>,
    /// Usual suspects this diagnosis examines (`suspects.ron`).
    #[serde(default)]
    pub suspects: Vec<String>,
    /// Facts that point at this diagnosis; used to mention it when another
    /// diagnosis wins.
    #[serde(default)]
    pub indicated_by: Vec<String>,
    /// Base confidence when reached on evidence alone (0..1).
    #[serde(default = "default_confidence")]
    pub confidence: f64,
}

fn default_confidence() -> f64 {
    0.9
}

/// An entry of `suspects.ron`: a usual suspect and what rules it out.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Suspect {
    pub id: String,
    pub label: String,
    /// The taxonomy causes this suspect stands for: while the suspect is
    /// ruled out, no diagnosis of these causes is offered as an alternative.
    #[serde(default)]
    pub stands_for: Vec<String>,
    pub ruled_out_by: Vec<RuleOut>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RuleOut {
    pub when: Condition,
    pub because: String,
}
