//! Template lint: walks a Tera template's syntax tree and lists variables
//! that are neither packet fields nor bound by the template itself (loop
//! variables, `set`, macro arguments), so a typo in a template is caught by
//! `cargo test` rather than by the engineer reading an empty section.
//!
//! Owns: the walk over Tera's syntax tree. Must not touch: rendering, or the
//! knowledge-base checks (`kb::validate` reports syntax errors).

use tera::ast::{Expr, ExprVal, Node};

pub(super) struct Lint<'a> {
    /// An empty packet as JSON: its keys, and the keys of its nested objects.
    pub known: &'a serde_json::Map<String, serde_json::Value>,
    /// Names bound by enclosing loops, sets and macros.
    pub bound: Vec<String>,
    pub unknown: Vec<String>,
}

impl Lint<'_> {
    pub fn nodes(&mut self, nodes: &[Node]) {
        // `set` binds for the rest of the scope, so bindings pile up and are dropped at scope end
        let depth = self.bound.len();
        for node in nodes {
            self.node(node);
        }
        self.bound.truncate(depth);
    }

    fn node(&mut self, node: &Node) {
        match node {
            Node::VariableBlock(_, expr) => self.expr(expr),
            Node::Set(_, set) => {
                self.expr(&set.value);
                self.bound.push(set.key.clone());
            }
            Node::MacroDefinition(_, def, _) => {
                let depth = self.bound.len();
                self.bound.extend(def.args.keys().cloned());
                self.nodes(&def.body);
                self.bound.truncate(depth);
            }
            Node::FilterSection(_, section, _) => self.nodes(&section.body),
            Node::Block(_, block, _) => self.nodes(&block.body),
            Node::Forloop(_, l, _) => {
                self.expr(&l.container);
                let depth = self.bound.len();
                self.bound.push(l.value.clone());
                self.bound.extend(l.key.clone());
                self.bound.push("loop".into());
                self.nodes(&l.body);
                self.bound.truncate(depth);
                if let Some(body) = &l.empty_body {
                    self.nodes(body);
                }
            }
            // `if` opens no scope in Tera: a `set` inside it holds afterwards
            Node::If(i, _) => {
                for (_, cond, body) in &i.conditions {
                    self.expr(cond);
                    body.iter().for_each(|n| self.node(n));
                }
                if let Some((_, body)) = &i.otherwise {
                    body.iter().for_each(|n| self.node(n));
                }
            }
            _ => {}
        }
    }

    fn expr(&mut self, expr: &Expr) {
        self.val(&expr.val);
        for filter in &expr.filters {
            filter.args.values().for_each(|a| self.expr(a));
        }
    }

    fn val(&mut self, val: &ExprVal) {
        match val {
            ExprVal::Ident(name) => self.ident(name),
            ExprVal::Math(m) => {
                self.expr(&m.lhs);
                self.expr(&m.rhs);
            }
            ExprVal::Logic(l) => {
                self.expr(&l.lhs);
                self.expr(&l.rhs);
            }
            ExprVal::Test(t) => {
                self.ident(&t.ident);
                t.args.iter().for_each(|a| self.expr(a));
            }
            ExprVal::MacroCall(m) => m.args.values().for_each(|a| self.expr(a)),
            ExprVal::FunctionCall(f) => f.args.values().for_each(|a| self.expr(a)),
            ExprVal::Array(items) => items.iter().for_each(|a| self.expr(a)),
            ExprVal::StringConcat(c) => c.values.iter().for_each(|v| self.val(v)),
            ExprVal::In(i) => {
                self.expr(&i.lhs);
                self.expr(&i.rhs);
            }
            _ => {}
        }
    }

    fn ident(&mut self, name: &str) {
        let mut path = name.split('.').map(|s| s.split('[').next().unwrap_or(s));
        let root = path.next().unwrap_or(name);
        let known = if self.bound.iter().any(|b| b == root) || root == "__tera_context" {
            true
        } else {
            known_path(self.known.get(root), path)
        };
        if !known && !self.unknown.iter().any(|u| u == name) {
            self.unknown.push(name.to_string());
        }
    }
}

/// Whether a dotted path exists below `value`; paths into lists or values
/// that are empty in the sample (null) cannot be checked and pass.
fn known_path<'s>(
    value: Option<&serde_json::Value>,
    mut rest: impl Iterator<Item = &'s str>,
) -> bool {
    match (value, rest.next()) {
        (None, _) => false,
        (Some(_), None) => true,
        (Some(serde_json::Value::Object(map)), Some(key)) => known_path(map.get(key), rest),
        (Some(_), Some(_)) => true,
    }
}
