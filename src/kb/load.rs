//! Loading: reads rule files (embedded or from a folder), parses them with
//! RON keeping its error positions, locates every id for later messages and
//! compiles the patterns.

use super::error::{KbError, Origin, Problem};
use super::model::*;
use super::{CompiledMatcher, CompiledSignature, KnowledgeBase, LazyRegex, Located};
use include_dir::{include_dir, Dir};
use regex::{Regex, RegexBuilder};
use serde::de::DeserializeOwned;
use std::path::Path;

static EMBEDDED: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/rules");

/// One rule file: its path relative to the rules folder, and its text.
#[derive(Debug, Clone)]
pub struct SourceFile {
    pub path: String,
    pub text: String,
}

/// The knowledge base shipped inside the binary.
pub fn embedded_sources() -> Vec<SourceFile> {
    let mut files = Vec::new();
    collect_embedded(&EMBEDDED, &mut files);
    files.sort_by(|a, b| a.path.cmp(&b.path));
    files
}

fn collect_embedded(dir: &Dir<'static>, out: &mut Vec<SourceFile>) {
    for file in dir.files() {
        if let Some(text) = file.contents_utf8() {
            out.push(SourceFile {
                path: file.path().to_string_lossy().replace('\\', "/"),
                text: text.to_string(),
            });
        }
    }
    for sub in dir.dirs() {
        collect_embedded(sub, out);
    }
}

/// Every file below `dir`, with paths relative to it.
pub fn dir_sources(dir: &Path) -> Result<Vec<SourceFile>, KbError> {
    let mut files = Vec::new();
    walk(dir, dir, &mut files)?;
    files.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(files)
}

fn walk(root: &Path, dir: &Path, out: &mut Vec<SourceFile>) -> Result<(), KbError> {
    let io = |source| KbError::Io {
        path: dir.display().to_string(),
        source,
    };
    for entry in std::fs::read_dir(dir).map_err(io)? {
        let path = entry.map_err(io)?.path();
        if path.is_dir() {
            walk(root, &path, out)?;
        } else if is_rule_file(&path) {
            let text = std::fs::read_to_string(&path).map_err(|source| KbError::Io {
                path: path.display().to_string(),
                source,
            })?;
            let rel = path.strip_prefix(root).unwrap_or(&path);
            out.push(SourceFile {
                path: rel.to_string_lossy().replace('\\', "/"),
                text,
            });
        }
    }
    Ok(())
}

fn is_rule_file(path: &Path) -> bool {
    matches!(
        path.extension().and_then(|e| e.to_str()),
        Some("ron" | "tera")
    )
}

/// What a rule file holds, by its path.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Role {
    Taxonomy,
    Facts,
    Questions,
    Suspects,
    Signatures,
    Tree,
    Diagnoses,
    Template,
}

fn role_of(path: &str) -> Option<Role> {
    let name = path.rsplit('/').next().unwrap_or(path);
    let dir = path.split('/').next().unwrap_or("");
    Some(match (dir, name) {
        (_, "taxonomy.ron") => Role::Taxonomy,
        (_, "facts.ron") => Role::Facts,
        (_, "questions.ron") => Role::Questions,
        (_, "suspects.ron") => Role::Suspects,
        (_, "tree.ron") => Role::Tree,
        ("facts", _) if name.ends_with(".ron") => Role::Facts,
        ("signatures", _) if name.ends_with(".ron") => Role::Signatures,
        ("tree", _) if name.ends_with(".ron") => Role::Tree,
        ("diagnoses", _) if name.ends_with(".ron") => Role::Diagnoses,
        ("templates", _) if name.ends_with(".tera") => Role::Template,
        _ => return None,
    })
}

/// Parses every file; collects all problems rather than stopping at the first.
pub(super) fn parse(files: &[SourceFile]) -> Result<KnowledgeBase, Vec<Problem>> {
    let mut kb = KnowledgeBase::default();
    let mut problems = Vec::new();
    let mut taxonomy: Option<Taxonomy> = None;
    for file in files {
        let Some(role) = role_of(&file.path) else {
            problems.push(
                Problem::new(origin(&file.path, 1, 1), "this file is not part of any knowledge-base section")
                    .hint("rule files are taxonomy.ron, facts.ron, facts/*.ron, questions.ron, suspects.ron, tree.ron, signatures/*.ron, tree/*.ron, diagnoses/*.ron and templates/*.tera"),
            );
            continue;
        };
        let mut ids = Locator::new(file);
        match role {
            Role::Taxonomy => {
                if let Some(t) = read::<Taxonomy>(file, &mut problems) {
                    taxonomy = Some(t);
                    kb.taxonomy_file = file.path.clone();
                }
            }
            Role::Facts => read_list(
                file,
                &mut problems,
                &mut ids,
                &mut kb.facts,
                |f: &FactDef| f.id.clone(),
            ),
            Role::Questions => read_list(
                file,
                &mut problems,
                &mut ids,
                &mut kb.questions,
                |q: &Question| q.id.clone(),
            ),
            Role::Suspects => read_list(
                file,
                &mut problems,
                &mut ids,
                &mut kb.suspects,
                |s: &Suspect| s.id.clone(),
            ),
            Role::Tree => read_list(file, &mut problems, &mut ids, &mut kb.nodes, |n: &Node| {
                n.id().to_string()
            }),
            Role::Diagnoses => read_list(
                file,
                &mut problems,
                &mut ids,
                &mut kb.diagnoses,
                |d: &Diagnosis| d.id.clone(),
            ),
            Role::Signatures => {
                let mut defs: Vec<Located<Signature>> = Vec::new();
                read_list(file, &mut problems, &mut ids, &mut defs, |s: &Signature| {
                    s.id.clone()
                });
                for def in defs {
                    match compile_matcher(&def.value.when) {
                        Ok(matcher) => kb.signatures.push(CompiledSignature { def: def.value, matcher, at: def.at }),
                        Err(message) => problems.push(
                            Problem::new(def.at, format!("signature \"{}\": {message}", def.value.id))
                                .hint("patterns use the regex crate's syntax; look-around and backreferences are not allowed because they can run in super-linear time"),
                        ),
                    }
                }
            }
            Role::Template => kb.templates.push((file.path.clone(), file.text.clone())),
        }
    }
    match taxonomy {
        Some(t) => kb.taxonomy = t,
        None => problems.push(
            Problem::new(origin("taxonomy.ron", 1, 1), "the knowledge base has no taxonomy.ron")
                .hint("copy taxonomy.ron from the shipped rules/ folder; it lists the causes, owners and agent facts"),
        ),
    }
    if problems.is_empty() {
        Ok(kb)
    } else {
        Err(problems)
    }
}

fn origin(file: &str, line: usize, col: usize) -> Origin {
    Origin {
        file: file.to_string(),
        line,
        col,
    }
}

fn ron_options() -> ron::Options {
    ron::Options::default().with_default_extension(ron::extensions::Extensions::IMPLICIT_SOME)
}

fn read<T: DeserializeOwned>(file: &SourceFile, problems: &mut Vec<Problem>) -> Option<T> {
    match ron_options().from_str::<T>(&file.text) {
        Ok(value) => Some(value),
        Err(err) => {
            problems.push(syntax_problem(file, &err));
            None
        }
    }
}

fn syntax_problem(file: &SourceFile, err: &ron::error::SpannedError) -> Problem {
    let at = origin(
        &file.path,
        err.position.line.max(1),
        err.position.col.max(1),
    );
    let problem = Problem::new(at, err.code.to_string());
    match &err.code {
        ron::Error::NoSuchStructField { expected, .. }
        | ron::Error::NoSuchEnumVariant { expected, .. } => {
            problem.hint(format!("expected one of: {}", expected.join(", ")))
        }
        ron::Error::MissingStructField { field, .. } => problem.hint(format!("add `{field}: ...`")),
        _ => problem.hint("see RULES.md for the format of this file"),
    }
}

fn read_list<T: DeserializeOwned>(
    file: &SourceFile,
    problems: &mut Vec<Problem>,
    ids: &mut Locator,
    out: &mut Vec<Located<T>>,
    id_of: impl Fn(&T) -> String,
) {
    if let Some(list) = read::<Vec<T>>(file, problems) {
        for value in list {
            let at = ids.next(&id_of(&value));
            out.push(Located { value, at });
        }
    }
}

/// Finds where each `id: "..."` stands in a file, in order of appearance.
pub(super) struct Locator<'f> {
    file: &'f SourceFile,
    seen: std::collections::HashMap<String, usize>,
}

impl<'f> Locator<'f> {
    fn new(file: &'f SourceFile) -> Self {
        Locator {
            file,
            seen: Default::default(),
        }
    }

    fn next(&mut self, id: &str) -> Origin {
        let nth = self.seen.entry(id.to_string()).or_insert(0);
        let needle = format!("\"{id}\"");
        let offset = find_id_field(&self.file.text, &needle, *nth).unwrap_or(0);
        *nth += 1;
        position(&self.file.path, &self.file.text, offset)
    }
}

/// The offset of the `nth` occurrence of `needle` directly after `id:`.
fn find_id_field(text: &str, needle: &str, nth: usize) -> Option<usize> {
    let mut count = 0;
    let mut from = 0;
    while let Some(found) = text[from..].find(needle) {
        let at = from + found;
        let before = text[..at].trim_end();
        if before.ends_with(':') && before[..before.len() - 1].trim_end().ends_with("id") {
            if count == nth {
                return Some(at);
            }
            count += 1;
        }
        from = at + needle.len();
    }
    None
}

/// 1-based line and column of a byte offset.
pub(super) fn position(file: &str, text: &str, offset: usize) -> Origin {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let col = before
        .rsplit('\n')
        .next()
        .map(|l| l.chars().count())
        .unwrap_or(0)
        + 1;
    origin(file, line, col)
}

/// Where `needle` (a quoted reference) first stands at or after `from`.
pub(super) fn locate_after(files: &[SourceFile], from: &Origin, needle: &str) -> Origin {
    let Some(file) = files.iter().find(|f| f.path == from.file) else {
        return from.clone();
    };
    let start = line_offset(&file.text, from.line);
    let quoted = format!("\"{needle}\"");
    match file.text[start..].find(&quoted) {
        Some(found) => position(&file.path, &file.text, start + found),
        None => from.clone(),
    }
}

fn line_offset(text: &str, line: usize) -> usize {
    text.split_inclusive('\n')
        .take(line.saturating_sub(1))
        .map(str::len)
        .sum()
}

pub(super) fn build_regex(pattern: &str) -> Result<Regex, String> {
    RegexBuilder::new(pattern)
        .size_limit(1 << 21)
        .dfa_size_limit(1 << 22)
        .build()
        .map_err(|e| {
            format!(
                "invalid pattern {pattern:?}: {}",
                e.to_string().lines().last().unwrap_or("")
            )
        })
}

fn compile_matcher(m: &Matcher) -> Result<CompiledMatcher, String> {
    Ok(match m {
        Matcher::Reply {
            code,
            status,
            phase,
            text,
        } => CompiledMatcher::Reply {
            code: code.as_deref().map(super::CodePattern::parse).transpose()?,
            status: status
                .as_deref()
                .map(super::StatusPattern::parse)
                .transpose()?,
            phase: phase.clone(),
            text: text.as_deref().map(LazyRegex::new).transpose()?,
        },
        Matcher::Line(p) => CompiledMatcher::Line(LazyRegex::new(p)?),
        Matcher::Field { name, value } => CompiledMatcher::Field {
            name: name.to_ascii_lowercase(),
            value: value.as_deref().map(LazyRegex::new).transpose()?,
        },
        Matcher::Connect { result, port } => CompiledMatcher::Connect {
            result: result.clone(),
            port: port.clone(),
        },
        Matcher::Capability(k) => CompiledMatcher::Capability(k.to_ascii_uppercase()),
        Matcher::Command(v) => CompiledMatcher::Command(v.to_ascii_uppercase()),
        Matcher::NameError => CompiledMatcher::NameError,
        Matcher::Ptr => CompiledMatcher::Ptr,
        Matcher::Attempts {
            failed,
            worked,
            differ,
            same_credentials,
        } => CompiledMatcher::Attempts {
            failed: failed.clone(),
            worked: worked.clone(),
            differ: *differ,
            same_credentials: *same_credentials,
        },
        Matcher::Outcome(o) => CompiledMatcher::Outcome(o.clone()),
        Matcher::All(ms) => {
            CompiledMatcher::All(ms.iter().map(compile_matcher).collect::<Result<_, _>>()?)
        }
        Matcher::Any(ms) => {
            CompiledMatcher::Any(ms.iter().map(compile_matcher).collect::<Result<_, _>>()?)
        }
        Matcher::Not(m) => CompiledMatcher::Not(Box::new(compile_matcher(m)?)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_located_in_order_even_when_repeated() {
        let file = SourceFile {
            path: "f.ron".into(),
            text: "[\n  (id: \"a\"),\n  (id: \"b\", x: \"a\"),\n  (id: \"a\"),\n]".into(),
        };
        let mut loc = Locator::new(&file);
        assert_eq!(
            (loc.next("a").line, loc.next("b").line, loc.next("a").line),
            (2, 3, 4)
        );
    }

    #[test]
    fn syntax_errors_keep_ron_positions() {
        let file = SourceFile {
            path: "facts.ron".into(),
            text: "[\n  (id: \"a\", describe: \"x\"),\n  (id: \"b\" describe: \"y\"),\n]".into(),
        };
        let mut problems = Vec::new();
        let parsed: Option<Vec<FactDef>> = read(&file, &mut problems);
        assert!(parsed.is_none());
        assert_eq!(
            (problems[0].at.line, problems[0].at.file.as_str()),
            (3, "facts.ron")
        );
    }
}
