//! Graph: the decision tree as Graphviz DOT or Mermaid, so a rule author
//! sees every node, what each edge tests, and which diagnosis (and owner)
//! each path ends at.
//!
//! Owns: the two renderings. Must not touch: the model, validation or the
//! walk; it only draws what the knowledge base holds.

use super::model::Node;
use super::{KnowledgeBase, Target, ROOT};
use crate::engine::describe;
use std::collections::HashSet;
use std::fmt::Write;

/// The drawing formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum GraphFormat {
    Dot,
    Mermaid,
}

/// One edge: from, to, label.
type Edge = (String, String, String);

/// Renders the tree reachable from the root in `format`.
pub fn render(kb: &KnowledgeBase, format: GraphFormat) -> String {
    let (nodes, edges) = collect(kb);
    match format {
        GraphFormat::Dot => dot(kb, &nodes, &edges),
        GraphFormat::Mermaid => mermaid(kb, &nodes, &edges),
    }
}

/// Node and diagnosis ids reachable from the root, in walk order, and the edges.
fn collect(kb: &KnowledgeBase) -> (Vec<String>, Vec<Edge>) {
    let mut order = Vec::new();
    let mut edges = Vec::new();
    let mut seen = HashSet::new();
    let mut stack = vec![ROOT.to_string()];
    while let Some(id) = stack.pop() {
        if !seen.insert(id.clone()) {
            continue;
        }
        order.push(id.clone());
        let Some(node) = kb.node(&id) else { continue };
        let out = node_edges(node);
        for (_, to, _) in out.iter().rev() {
            stack.push(to.clone());
        }
        edges.extend(out);
    }
    (order, edges)
}

fn node_edges(node: &Node) -> Vec<Edge> {
    let from = node.id().to_string();
    match node {
        Node::Switch {
            cases, otherwise, ..
        } => cases
            .iter()
            .map(|c| (from.clone(), c.then.clone(), describe(&c.when)))
            .chain(std::iter::once((
                from.clone(),
                otherwise.clone(),
                "otherwise".to_string(),
            )))
            .collect(),
        Node::Ask {
            fact,
            yes,
            no,
            unknown,
            ..
        } => vec![
            (from.clone(), yes.clone(), format!("{fact} = yes")),
            (from.clone(), no.clone(), format!("{fact} = no")),
            (from, unknown.clone(), format!("{fact} unknown (assumed)")),
        ],
    }
}

fn label(kb: &KnowledgeBase, id: &str) -> (String, &'static str) {
    match kb.target(id) {
        Some(Target::Node(Node::Switch { .. })) => (id.to_string(), "switch"),
        Some(Target::Node(Node::Ask { fact, .. })) => (format!("{id}\nask: {fact}"), "ask"),
        Some(Target::Diagnosis(d)) => (
            format!("{}\ncause: {}\nowner: {}", d.id, d.cause, kb.owner_of(d)),
            "diagnosis",
        ),
        None => (format!("{id}\n(undefined)"), "missing"),
    }
}

fn dot_escape(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

fn dot(kb: &KnowledgeBase, nodes: &[String], edges: &[Edge]) -> String {
    let mut out = String::from("digraph mailtriage {\n  rankdir=LR;\n  node [fontname=\"Helvetica\", fontsize=10];\n  edge [fontname=\"Helvetica\", fontsize=9];\n");
    for id in nodes {
        let (text, kind) = label(kb, id);
        let style = match kind {
            "switch" => "shape=box, style=rounded",
            "ask" => "shape=diamond, style=filled, fillcolor=\"#fff3c4\"",
            "diagnosis" => "shape=ellipse, style=filled, fillcolor=\"#dff0d8\"",
            _ => "shape=octagon, color=red",
        };
        let _ = writeln!(
            out,
            "  \"{}\" [label=\"{}\", {style}];",
            dot_escape(id),
            dot_escape(&text)
        );
    }
    for (from, to, text) in edges {
        let _ = writeln!(
            out,
            "  \"{}\" -> \"{}\" [label=\"{}\"];",
            dot_escape(from),
            dot_escape(to),
            dot_escape(text)
        );
    }
    out.push_str("}\n");
    out
}

/// Mermaid ids: letters, digits and `_` only, prefixed so none is a keyword.
fn mermaid_id(id: &str) -> String {
    let clean: String = id
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    format!("n_{clean}")
}

fn mermaid_text(text: &str) -> String {
    text.replace('"', "#quot;").replace('\n', "<br/>")
}

fn mermaid(kb: &KnowledgeBase, nodes: &[String], edges: &[Edge]) -> String {
    let mut out = String::from("flowchart LR\n");
    for id in nodes {
        let (text, kind) = label(kb, id);
        let text = mermaid_text(&text);
        let shape = match kind {
            "ask" => format!("{{\"{text}\"}}"),
            "diagnosis" => format!("([\"{text}\"])"),
            _ => format!("[\"{text}\"]"),
        };
        let _ = writeln!(out, "  {}{shape}", mermaid_id(id));
    }
    for (from, to, text) in edges {
        let _ = writeln!(
            out,
            "  {} -->|\"{}\"| {}",
            mermaid_id(from),
            mermaid_text(text),
            mermaid_id(to)
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_reachable_edge_is_drawn_in_both_formats() {
        let kb = KnowledgeBase::embedded().unwrap();
        let (nodes, edges) = collect(&kb);
        let dot = render(&kb, GraphFormat::Dot);
        let mermaid = render(&kb, GraphFormat::Mermaid);
        assert!(dot.starts_with("digraph") && dot.trim_end().ends_with('}'));
        assert_eq!(dot.matches(" -> ").count(), edges.len());
        assert_eq!(mermaid.matches(" -->|").count(), edges.len());
        for id in &nodes {
            assert!(
                dot.contains(&format!("\"{id}\" [label=")),
                "{id} missing from DOT"
            );
            assert!(
                mermaid.contains(&format!("  {}", mermaid_id(id))),
                "{id} missing from Mermaid"
            );
        }
        assert!(
            nodes.iter().any(|n| n == "auth-backend-fault"),
            "diagnoses are drawn"
        );
    }

    #[test]
    fn mermaid_ids_are_safe() {
        assert_eq!(mermaid_id("end"), "n_end");
        assert_eq!(mermaid_id("auth-failed"), "n_auth_failed");
        assert_eq!(mermaid_text("a \"b\"\nc"), "a #quot;b#quot;<br/>c");
    }
}
