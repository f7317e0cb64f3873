//! Validation: a separate pass over a parsed knowledge base. Reports every
//! problem at once: duplicate ids (with the first definition), references
//! that do not resolve, unknown causes, owners, reasons and facts, cycles
//! and unreachable parts of the tree.

use super::error::{did_you_mean, Origin, Problem};
use super::load::{RefLocator, SourceFile};
use super::model::*;
use super::{CompiledMatcher, KnowledgeBase, ROOT};
use std::collections::{HashMap, HashSet};

pub(super) fn validate(kb: &KnowledgeBase, files: &[SourceFile]) -> Vec<Problem> {
    let mut v = Validator {
        kb,
        files,
        problems: Vec::new(),
        refs: RefLocator::default(),
    };
    v.taxonomy();
    v.duplicates();
    v.questions();
    v.signatures();
    v.tree();
    v.diagnoses();
    v.suspects();
    v.templates();
    v.problems
}

struct Validator<'a> {
    kb: &'a KnowledgeBase,
    files: &'a [SourceFile],
    problems: Vec<Problem>,
    refs: RefLocator,
}

impl Validator<'_> {
    fn taxonomy_at(&self) -> Origin {
        Origin {
            file: self.kb.taxonomy_file.clone(),
            line: 1,
            col: 1,
        }
    }

    /// A cause listed twice in the taxonomy, pointed at both times.
    fn duplicate_causes(&mut self) {
        let mut ids = RefLocator::default();
        let mut first: HashMap<&str, Origin> = HashMap::new();
        for cause in &self.kb.taxonomy.causes {
            let at = ids.find(
                self.files,
                &self.taxonomy_at(),
                &format!("id: \"{}\"", cause.id),
            );
            match first.get(cause.id.as_str()) {
                Some(earlier) => self.problems.push(
                    Problem::new(at, format!("cause \"{}\" is listed twice", cause.id))
                        .note(earlier.clone(), "first listed here")
                        .hint("remove one; a cause has one owner and one reason"),
                ),
                None => {
                    first.insert(&cause.id, at);
                }
            }
        }
    }

    fn taxonomy(&mut self) {
        self.duplicate_causes();
        let t = &self.kb.taxonomy;
        for cause in &t.causes {
            if !t.owners.contains(&cause.owner) {
                let at = self
                    .refs
                    .find_ref(self.files, &self.taxonomy_at(), &cause.owner);
                let p = Problem::new(
                    at,
                    format!(
                        "cause \"{}\" names owner \"{}\", which is not in owners",
                        cause.id, cause.owner
                    ),
                );
                let p = with_suggestion(p, &cause.owner, t.owners.iter().map(String::as_str));
                self.problems.push(or_hint(
                    p,
                    format!("the owners are: {}", t.owners.join(", ")),
                ));
            }
            if !t.reasons.contains(&cause.reason) {
                let at = self
                    .refs
                    .find_ref(self.files, &self.taxonomy_at(), &cause.reason);
                let p = Problem::new(
                    at,
                    format!(
                        "cause \"{}\" names reason \"{}\", which is not in reasons",
                        cause.id, cause.reason
                    ),
                );
                let p = with_suggestion(p, &cause.reason, t.reasons.iter().map(String::as_str));
                self.problems.push(or_hint(
                    p,
                    "add it to `reasons` (Sisimai's reason names) or use one listed there",
                ));
            }
        }
        for fact in &t.agent_facts {
            if self.kb.question_for(fact).is_none() {
                let at = self.refs.find_ref(self.files, &self.taxonomy_at(), fact);
                self.problems.push(
                    Problem::new(at, format!("agent fact \"{fact}\" has no question"))
                        .hint("add an entry to questions.ron with `fact: \"...\"` so the agent can be asked"),
                );
            }
        }
    }

    fn duplicates(&mut self) {
        let mut first: HashMap<String, (Origin, &str)> = HashMap::new();
        let mut check =
            |id: &str, at: &Origin, what: &'static str, problems: &mut Vec<Problem>| match first
                .get(id)
            {
                Some((earlier, earlier_what)) => problems.push(
                    Problem::new(at.clone(), format!("{what} \"{id}\" is defined twice"))
                        .note(
                            earlier.clone(),
                            format!("{earlier_what} \"{id}\" first defined here"),
                        )
                        .hint("ids must be unique across the knowledge base; rename one of them"),
                ),
                None => {
                    first.insert(id.to_string(), (at.clone(), what));
                }
            };
        let kb = self.kb;
        let mut problems = Vec::new();
        // nodes and diagnoses share one namespace: tree edges name either
        for n in &kb.nodes {
            check(n.id(), &n.at, "node", &mut problems);
        }
        for d in &kb.diagnoses {
            check(&d.id, &d.at, "diagnosis", &mut problems);
        }
        let separate =
            |items: Vec<(&str, &Origin)>, what: &'static str, problems: &mut Vec<Problem>| {
                let mut seen: HashMap<&str, &Origin> = HashMap::new();
                for (id, at) in items {
                    if let Some(earlier) = seen.insert(id, at) {
                        problems.push(
                            Problem::new(at.clone(), format!("{what} \"{id}\" is defined twice"))
                                .note(earlier.clone(), "first defined here")
                                .hint("rename or remove one of them"),
                        );
                    }
                }
            };
        separate(
            kb.facts.iter().map(|f| (f.id.as_str(), &f.at)).collect(),
            "fact",
            &mut problems,
        );
        separate(
            kb.questions
                .iter()
                .map(|q| (q.id.as_str(), &q.at))
                .collect(),
            "question",
            &mut problems,
        );
        separate(
            kb.questions
                .iter()
                .map(|q| (q.fact.as_str(), &q.at))
                .collect(),
            "question for fact",
            &mut problems,
        );
        separate(
            kb.signatures
                .iter()
                .map(|s| (s.def.id.as_str(), &s.at))
                .collect(),
            "signature",
            &mut problems,
        );
        separate(
            kb.suspects.iter().map(|s| (s.id.as_str(), &s.at)).collect(),
            "suspect",
            &mut problems,
        );
        self.problems.extend(problems);
    }

    fn unknown_fact(&mut self, from: &Origin, fact: &str, context: &str) {
        if self.kb.is_fact(fact) {
            return;
        }
        let at = self.refs.find_ref(self.files, from, fact);
        let known = self
            .kb
            .facts
            .iter()
            .map(|f| f.id.as_str())
            .chain(self.kb.taxonomy.agent_facts.iter().map(String::as_str));
        let p = Problem::new(
            at,
            format!("{context} names fact \"{fact}\", which is not defined"),
        );
        let p = with_suggestion(p, fact, known);
        let p = if p.hint.is_none() {
            p.hint("define it in facts.ron (or use an agent fact from taxonomy.ron)")
        } else {
            p
        };
        self.problems.push(p);
    }

    fn questions(&mut self) {
        for q in &self.kb.questions {
            self.unknown_fact(&q.at, &q.fact, &format!("question \"{}\"", q.id));
            if q.answers.is_empty() {
                self.problems.push(
                    Problem::new(
                        q.at.clone(),
                        format!("question \"{}\" allows no answers", q.id),
                    )
                    .hint("list answers: [yes, no, unknown]"),
                );
            }
        }
    }

    fn signatures(&mut self) {
        let kb = self.kb;
        for s in &kb.signatures {
            for fact in s.def.sets.iter().chain(&s.def.clears) {
                self.unknown_fact(&s.at, fact, &format!("signature \"{}\"", s.def.id));
            }
            if s.def.sets.is_empty() && s.def.clears.is_empty() {
                self.problems.push(
                    Problem::new(
                        s.at.clone(),
                        format!("signature \"{}\" sets no fact", s.def.id),
                    )
                    .hint("add `sets: [\"some_fact\"]`"),
                );
            }
            if matches!(
                s.matcher,
                CompiledMatcher::Reply {
                    code: None,
                    status: None,
                    phase: None,
                    text: None
                }
            ) {
                self.problems.push(
                    Problem::new(
                        s.at.clone(),
                        format!("signature \"{}\" matches every reply", s.def.id),
                    )
                    .hint("give Reply at least one of code, status, phase or text"),
                );
            }
        }
    }

    fn target_exists(&mut self, from: &Origin, node: &str, target: &str) {
        if self.kb.target(target).is_some() {
            return;
        }
        let at = self.refs.find_ref(self.files, from, target);
        let names = self
            .kb
            .nodes
            .iter()
            .map(|n| n.id())
            .chain(self.kb.diagnoses.iter().map(|d| d.id.as_str()));
        let p = Problem::new(
            at,
            format!(
                "node \"{node}\" leads to \"{target}\", which is neither a node nor a diagnosis"
            ),
        );
        let p = with_suggestion(p, target, names);
        let p = if p.hint.is_none() {
            p.hint("define the node or diagnosis, or correct the name")
        } else {
            p
        };
        self.problems.push(p);
    }

    fn tree(&mut self) {
        let kb = self.kb;
        if kb.node(ROOT).is_none() {
            let at = kb
                .nodes
                .first()
                .map(|n| n.at.clone())
                .unwrap_or_else(|| Origin {
                    file: "tree.ron".into(),
                    line: 1,
                    col: 1,
                });
            self.problems.push(
                Problem::new(at, format!("the tree has no node \"{ROOT}\""))
                    .hint("every walk starts at the node with id \"start\""),
            );
        }
        for n in &kb.nodes {
            for target in n.targets() {
                self.target_exists(&n.at, n.id(), target);
            }
            match &n.value {
                Node::Switch { cases, .. } => {
                    for case in cases {
                        for fact in case.when.facts() {
                            self.unknown_fact(&n.at, fact, &format!("node \"{}\"", n.id()));
                        }
                    }
                }
                Node::Ask { fact, .. } => {
                    self.unknown_fact(&n.at, fact, &format!("node \"{}\"", n.id()));
                    if kb.is_fact(fact) && kb.question_for(fact).is_none() {
                        self.problems.push(
                            Problem::new(self.refs.find_ref(self.files, &n.at, fact), format!("node \"{}\" asks about fact \"{fact}\", but no question settles it", n.id()))
                                .hint("add a question for it to questions.ron, or test it in a Switch"),
                        );
                    }
                }
            }
        }
        self.cycles();
        self.reachability();
    }

    fn cycles(&mut self) {
        let kb = self.kb;
        let mut walk = CycleWalk {
            kb,
            state: HashMap::new(),
            path: Vec::new(),
            reported: HashSet::new(),
            problems: Vec::new(),
        };
        for n in &kb.nodes {
            walk.visit(n.id());
        }
        self.problems.extend(walk.problems);
    }

    fn reachability(&mut self) {
        let kb = self.kb;
        if kb.node(ROOT).is_none() {
            return;
        }
        let mut seen: HashSet<&str> = HashSet::new();
        let mut stack = vec![ROOT];
        while let Some(id) = stack.pop() {
            if !seen.insert(id) {
                continue;
            }
            if let Some(node) = kb.node(id) {
                stack.extend(node.targets());
            }
        }
        for n in &kb.nodes {
            if !seen.contains(n.id()) {
                self.problems.push(unreachable(&n.at, "node", n.id()));
            }
        }
        for d in &kb.diagnoses {
            if !seen.contains(d.id.as_str()) {
                self.problems.push(unreachable(&d.at, "diagnosis", &d.id));
            }
        }
    }

    fn diagnoses(&mut self) {
        let kb = self.kb;
        for d in &kb.diagnoses {
            self.known(
                &d.at,
                &d.cause,
                kb.taxonomy.causes.iter().map(|c| c.id.as_str()),
                "cause",
                &format!("diagnosis \"{}\"", d.id),
            );
            if let Some(owner) = &d.owner {
                self.known(
                    &d.at,
                    owner,
                    kb.taxonomy.owners.iter().map(String::as_str),
                    "owner",
                    &format!("diagnosis \"{}\"", d.id),
                );
            }
            if let Some(reason) = &d.reason {
                self.known(
                    &d.at,
                    reason,
                    kb.taxonomy.reasons.iter().map(String::as_str),
                    "reason",
                    &format!("diagnosis \"{}\"", d.id),
                );
            }
            for s in &d.suspects {
                self.known(
                    &d.at,
                    s,
                    kb.suspects.iter().map(|s| s.id.as_str()),
                    "suspect",
                    &format!("diagnosis \"{}\"", d.id),
                );
            }
            for f in &d.indicated_by {
                self.unknown_fact(&d.at, f, &format!("diagnosis \"{}\"", d.id));
            }
            if !(0.0..=1.0).contains(&d.confidence) {
                self.problems.push(
                    Problem::new(d.at.clone(), format!("diagnosis \"{}\" has confidence {}, outside 0..1", d.id, d.confidence))
                        .hint("write a number from 0.0 (a guess) to 1.0 (certain); leave it out for the default 0.9"),
                );
            }
        }
    }

    fn known<'x>(
        &mut self,
        from: &Origin,
        value: &str,
        known: impl Iterator<Item = &'x str> + Clone,
        what: &str,
        owner: &str,
    ) {
        if known.clone().any(|k| k == value) {
            return;
        }
        let at = self.refs.find_ref(self.files, from, value);
        let p = Problem::new(
            at,
            format!("{owner} names {what} \"{value}\", which is not defined"),
        );
        let p = with_suggestion(p, value, known.clone());
        let mut names: Vec<&str> = known.collect();
        names.sort_unstable();
        let p = or_hint(p, format!("the {what}s defined are: {}", names.join(", ")));
        self.problems.push(p);
    }

    fn suspects(&mut self) {
        let kb = self.kb;
        for s in &kb.suspects {
            for cause in &s.stands_for {
                self.known(
                    &s.at,
                    cause,
                    kb.taxonomy.causes.iter().map(|c| c.id.as_str()),
                    "cause",
                    &format!("suspect \"{}\"", s.id),
                );
            }
            for r in &s.ruled_out_by {
                for f in r.when.facts() {
                    self.unknown_fact(&s.at, f, &format!("suspect \"{}\"", s.id));
                }
            }
        }
    }
}

/// Depth-first search that reports each loop in the tree once.
struct CycleWalk<'k> {
    kb: &'k KnowledgeBase,
    /// 1 while on the current path, 2 when finished.
    state: HashMap<&'k str, u8>,
    path: Vec<&'k str>,
    reported: HashSet<String>,
    problems: Vec<Problem>,
}

impl<'k> CycleWalk<'k> {
    fn visit(&mut self, id: &'k str) {
        match self.state.get(id) {
            Some(2) => return,
            Some(_) => return self.report(id),
            None => {}
        }
        let Some(node) = self.kb.node(id) else { return };
        self.state.insert(id, 1);
        self.path.push(id);
        for target in node.targets() {
            self.visit(target);
        }
        self.path.pop();
        self.state.insert(id, 2);
    }

    fn report(&mut self, id: &str) {
        let start = self.path.iter().position(|p| *p == id).unwrap_or(0);
        let cycle = &self.path[start..];
        let mut key = cycle.to_vec();
        key.sort_unstable();
        if !self.reported.insert(key.join(",")) {
            return;
        }
        let at = self
            .kb
            .nodes
            .iter()
            .find(|n| n.id() == id)
            .map(|n| n.at.clone())
            .unwrap_or_default();
        self.problems.push(
            Problem::new(
                at,
                format!("the tree loops: {} -> {id}", cycle.join(" -> ")),
            )
            .hint("a walk must always end at a diagnosis; point one of these edges elsewhere"),
        );
    }
}

fn unreachable(at: &Origin, what: &str, id: &str) -> Problem {
    Problem::new(
        at.clone(),
        format!("{what} \"{id}\" cannot be reached from \"{ROOT}\""),
    )
    .hint("lead to it from a node of the tree, or remove it")
}

fn or_hint(p: Problem, hint: impl Into<String>) -> Problem {
    if p.hint.is_some() {
        p
    } else {
        p.hint(hint)
    }
}

fn with_suggestion<'x>(
    p: Problem,
    wrong: &str,
    known: impl IntoIterator<Item = &'x str>,
) -> Problem {
    match did_you_mean(wrong, known) {
        Some(hint) => p.hint(hint),
        None => p,
    }
}

/// Escalation templates: each parses, and each diagnosis's `escalate_to`
/// target has `templates/<target>.tera`. A knowledge base without any
/// template (a test fixture) is not held to the second rule.
impl Validator<'_> {
    fn templates(&mut self) {
        for (path, text) in &self.kb.templates {
            let name = path.strip_prefix("templates/").unwrap_or(path);
            if let Err(e) = tera::Template::new(name, None, text) {
                let detail = std::error::Error::source(&e)
                    .map(|c| c.to_string())
                    .unwrap_or_else(|| e.to_string());
                let (line, col) = tera_position(&detail).unwrap_or((1, 1));
                let first = detail
                    .lines()
                    .map(str::trim)
                    .rfind(|l| l.starts_with('='))
                    .unwrap_or("syntax error");
                self.problems.push(
                    Problem::new(Origin { file: path.clone(), line, col }, format!("template syntax: {}", first.trim_start_matches("= ")))
                        .hint("templates use Tera 1 syntax: {{ variable }}, {% if %}...{% endif %}, {% for x in list %}...{% endfor %}"),
                );
            }
        }
        if self.kb.templates.is_empty() {
            return;
        }
        let has = |target: &str| {
            self.kb
                .templates
                .iter()
                .any(|(p, _)| p == &format!("templates/{target}.tera"))
        };
        let mut problems = Vec::new();
        for d in &self.kb.diagnoses {
            let Some(target) = d.escalate_to.as_deref() else {
                continue;
            };
            if !has(target) {
                let at = self.refs.find_ref(self.files, &d.at, target);
                problems.push(
                    Problem::new(at, format!("diagnosis \"{}\" escalates to \"{target}\", which has no template", d.id))
                        .hint(format!("add templates/{target}.tera (it may extend base.tera), or name a target that has one")),
                );
            }
        }
        self.problems.extend(problems);
    }
}

/// The `line:col` pest prints as ` --> 3:5` in a Tera parse error.
fn tera_position(detail: &str) -> Option<(usize, usize)> {
    let at = detail.split("--> ").nth(1)?;
    let (line, rest) = at.split_once(':')?;
    let col: String = rest.chars().take_while(char::is_ascii_digit).collect();
    Some((line.trim().parse().ok()?, col.parse().ok()?))
}
