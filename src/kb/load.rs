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

/// The result of parsing: the rule files read so far and every problem.
pub(super) struct Parsed {
    pub kb: KnowledgeBase,
    pub problems: Vec<Problem>,
    /// False when a file could not be parsed or the taxonomy is missing:
    /// validating the rest would then only report follow-on errors.
    pub complete: bool,
}

/// When signature patterns are compiled.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Patterns {
    /// While loading, reporting every pattern that does not compile.
    Now,
    /// On first use, for rules already checked (the embedded ones): one
    /// that does not compile matches nothing.
    OnFirstUse,
}

/// Parses every file; collects all problems rather than stopping at the first.
pub(super) fn parse(files: &[SourceFile], patterns: Patterns) -> Parsed {
    let mut kb = KnowledgeBase::default();
    let mut problems = Vec::new();
    let mut syntax_errors = 0;
    let mut taxonomy: Option<Taxonomy> = None;
    for file in files {
        let Some(role) = role_of(&file.path) else {
            problems.push(
                Problem::new(origin(&file.path, 1, 1), "this file is not part of any knowledge-base section")
                    .hint("rule files are taxonomy.ron, facts.ron, facts/*.ron, questions.ron, suspects.ron, tree.ron, signatures/*.ron, tree/*.ron, diagnoses/*.ron and templates/*.tera"),
            );
            continue;
        };
        let before = problems.len();
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
                syntax_errors += problems.len() - before;
                for def in defs {
                    let sig = compile_signature(file, def, &mut problems, patterns);
                    kb.signatures.push(sig);
                }
                continue;
            }
            Role::Template => kb.templates.push((file.path.clone(), file.text.clone())),
        }
        syntax_errors += problems.len() - before;
    }
    match taxonomy {
        Some(t) => kb.taxonomy = t,
        None if !files
            .iter()
            .any(|f| role_of(&f.path) == Some(Role::Taxonomy)) =>
        {
            syntax_errors += 1;
            problems.push(
                Problem::new(origin("taxonomy.ron", 1, 1), "the knowledge base has no taxonomy.ron")
                    .hint("copy taxonomy.ron from the shipped rules/ folder; it lists the causes, owners and agent facts"),
            );
        }
        None => {}
    }
    Parsed {
        kb,
        problems,
        complete: syntax_errors == 0,
    }
}

/// Compiles a signature's patterns. A pattern that does not compile is
/// reported and replaced by one that matches nothing, so the signature still
/// takes part in validation (duplicate ids, unknown facts).
fn compile_signature(
    file: &SourceFile,
    def: Located<Signature>,
    problems: &mut Vec<Problem>,
    patterns: Patterns,
) -> CompiledSignature {
    let mut errors = Vec::new();
    let matcher = compile_matcher(&def.value.when, &mut errors, patterns);
    let mut located = RefLocator::default();
    for err in errors {
        let at = match &err.written {
            Some(written) => located.find_ref(std::slice::from_ref(file), &def.at, written),
            None => def.at.clone(),
        };
        problems.push(
            Problem::new(
                at,
                format!("signature \"{}\": {}", def.value.id, err.message),
            )
            .hint(err.hint),
        );
    }
    CompiledSignature {
        def: def.value,
        matcher,
        at: def.at,
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
    let (line, mut col) = (err.position.line.max(1), err.position.col.max(1));
    // RON stands just after an unknown name; point at the name itself
    if let ron::Error::NoSuchStructField { found, .. }
    | ron::Error::NoSuchEnumVariant { found, .. } = &err.code
    {
        let text = file.text.lines().nth(line - 1).unwrap_or("");
        let before: String = text.chars().take(col - 1).collect();
        if before.ends_with(found.as_str()) {
            col -= found.chars().count();
        }
    }
    let (message, hint) = describe_ron_error(&err.code);
    Problem::new(origin(&file.path, line, col), message).hint(hint)
}

/// A one-line explanation and a hint for a RON error, in the rule author's terms.
fn describe_ron_error(code: &ron::Error) -> (String, String) {
    use ron::Error as E;
    let within = |outer: &Option<String>| {
        outer
            .as_ref()
            .map(|o| format!(" in `{o}`"))
            .unwrap_or_default()
    };
    let choices = |found: &str, expected: &[&str], what: &str| {
        let list = expected.join(", ");
        match super::error::did_you_mean(found, expected.iter().copied()) {
            Some(guess) => format!("{guess} the {what} are: {list}"),
            None => format!("the {what} are: {list}"),
        }
    };
    let (message, hint): (String, String) = match code {
        E::NoSuchStructField { expected, found, outer } => {
            (format!("unknown field `{found}`{}", within(outer)), choices(found, expected, "fields"))
        }
        E::NoSuchEnumVariant { expected, found, outer } => {
            (format!("unknown kind `{found}`{}", within(outer)), choices(found, expected, "kinds"))
        }
        E::MissingStructField { field, outer } => {
            (format!("missing field `{field}`{}", within(outer)), format!("add `{field}: ...` before the closing parenthesis"))
        }
        E::DuplicateStructField { field, outer } => {
            (format!("field `{field}` is given twice{}", within(outer)), "remove one of them".into())
        }
        E::ExpectedComma => ("expected a comma".into(), "separate entries and fields with `,`; the comma is usually missing at the end of the line before".into()),
        E::ExpectedStringEnd => ("a string is not closed".into(), "add the closing `\"`; a quote inside a string is written \\\"".into()),
        E::Eof => ("the file ends too early".into(), "a `[`, `(` or a string is not closed".into()),
        E::ExpectedIdentifier => ("expected a field name".into(), "fields are written `name: value`; look for a doubled comma or a stray character".into()),
        E::ExpectedArray => ("expected a list `[...]`".into(), "rule files hold a list of entries: `[ (...), (...) ]`".into()),
        E::ExpectedArrayEnd => ("expected `]` or a comma".into(), "separate list entries with `,` and close the list with `]`".into()),
        E::ExpectedStructLikeEnd => ("expected `)` or a comma".into(), "separate fields with `,` and close the entry with `)`".into()),
        E::TrailingCharacters => ("unexpected text after the end of the file's value".into(), "a rule file holds one value, a list `[...]` (the taxonomy: one `(...)`)".into()),
        E::InvalidEscape(what) => (format!("invalid escape in a string: {what}"), "in a RON string a backslash is written \\\\ (a regex `\\d` is written \"\\\\d\")".into()),
        E::ExceededRecursionLimit => ("the value is nested too deeply".into(), "flatten the nested All/Any/Not conditions".into()),
        E::InvalidValueForType { expected, found } => (format!("expected {expected}, found {found}"), "see RULES.md for the type of this field".into()),
        other => (other.to_string(), "see RULES.md for the format of this file".into()),
    };
    (message, hint)
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
///
/// Entries come in file order, so each search starts where the last one
/// ended and the line count carries on from there (searching from the top
/// each time made loading quadratic in a file's length).
pub(super) struct Locator<'f> {
    file: &'f SourceFile,
    /// Where the next id is looked for.
    from: usize,
    /// The line (1-based) that starts at `line_start`, where the last id stood.
    line: usize,
    line_start: usize,
    seen: std::collections::HashMap<String, usize>,
}

impl<'f> Locator<'f> {
    fn new(file: &'f SourceFile) -> Self {
        Locator {
            file,
            from: 0,
            line: 1,
            line_start: 0,
            seen: Default::default(),
        }
    }

    fn next(&mut self, id: &str) -> Origin {
        let nth = self.seen.entry(id.to_string()).or_insert(0);
        let needle = format!("\"{id}\"");
        let text = &self.file.text;
        let ahead = find_id_field(text, &needle, 0, self.from);
        let offset = ahead
            .or_else(|| find_id_field(text, &needle, *nth, 0))
            .unwrap_or(0);
        *nth += 1;
        if ahead.is_none() {
            return position(&self.file.path, text, offset);
        }
        let skipped = &text[self.line_start..offset];
        if let Some(last) = skipped.rfind('\n') {
            self.line += skipped.matches('\n').count();
            self.line_start += last + 1;
        }
        self.from = offset + needle.len();
        let col = text[self.line_start..offset].chars().count() + 1;
        origin(&self.file.path, self.line, col)
    }
}

/// The offset of the `nth` occurrence of `needle` directly after `id:`, at
/// or after byte `from`.
fn find_id_field(text: &str, needle: &str, nth: usize, mut from: usize) -> Option<usize> {
    let mut count = 0;
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

fn line_offset(text: &str, line: usize) -> usize {
    text.split_inclusive('\n')
        .take(line.saturating_sub(1))
        .map(str::len)
        .sum()
}

/// Why a pattern of a signature does not compile, and what to do.
pub(super) struct PatternError {
    /// The pattern as the rule author wrote it, to point at it.
    written: Option<String>,
    message: String,
    hint: String,
}

/// The compiled-program limit of one pattern. The regex crate matches in
/// time linear in the input; this bounds the factor (and the memory).
pub const REGEX_SIZE_LIMIT: usize = 1 << 21;
/// The lazy DFA's cache per pattern.
pub const REGEX_DFA_LIMIT: usize = 1 << 22;

/// Compiles a pattern with the regex crate, which never backtracks: it
/// rejects look-around and backreferences, the features that make a
/// pattern super-linear, and the size limits bound the compiled program.
pub(super) fn compile_regex(pattern: &str) -> Result<Regex, PatternError> {
    let err = match RegexBuilder::new(&ascii_word_boundaries(pattern))
        .size_limit(REGEX_SIZE_LIMIT)
        .dfa_size_limit(REGEX_DFA_LIMIT)
        .build()
    {
        Ok(re) => return Ok(re),
        Err(err) => err,
    };
    let written = Some(pattern.to_string());
    Err(match err {
        regex::Error::CompiledTooBig(limit) => PatternError {
            written,
            message: format!("pattern {pattern:?} compiles to more than {} KiB, the limit that keeps matching fast", limit >> 10),
            hint: "shorten large counted repetitions such as {400} or \\w{50} under (?i), or split the pattern over several signatures".into(),
        },
        other => {
            let text = other.to_string();
            let why = text.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or("");
            let why = why.trim().trim_start_matches("error: ");
            let unsafe_feature = why.contains("look-around") || why.contains("backreference");
            PatternError {
                written,
                message: format!("invalid pattern {pattern:?}: {why}"),
                hint: if unsafe_feature {
                    "look-around and backreferences are rejected because they can take super-linear time; match the wider text, or combine signatures with All([...]) and Not(...)".into()
                } else {
                    "patterns use the regex crate's syntax (https://docs.rs/regex/#syntax); inside a RON string a backslash is written \\\\".into()
                },
            }
        }
    })
}

/// Rewrites `\b` and `\B` as ASCII word boundaries. A Unicode word
/// boundary makes the regex crate's fast DFA give up on any non-ASCII text
/// (one accented name in a transcript), and the slower engine it falls back
/// to took 50 times longer per byte on long lines; the words the rules look
/// for are ASCII. Escaped backslashes and character classes are left alone.
pub(super) fn ascii_word_boundaries(pattern: &str) -> std::borrow::Cow<'_, str> {
    let at = word_boundaries(pattern);
    if at.is_empty() {
        return pattern.into();
    }
    let mut out = String::with_capacity(pattern.len() + 8 * at.len());
    let mut copied = 0;
    for i in at {
        out.push_str(&pattern[copied..i]);
        out.push_str("(?-u:");
        out.push_str(&pattern[i..i + 2]);
        out.push(')');
        copied = i + 2;
    }
    out.push_str(&pattern[copied..]);
    out.into()
}

/// Where a pattern writes a word boundary (`\b` or `\B` outside a
/// character class, not an escaped backslash followed by `b`): the byte
/// index of each one's backslash.
pub(super) fn word_boundaries(pattern: &str) -> Vec<usize> {
    let mut found = Vec::new();
    let mut class_depth = 0usize;
    let mut chars = pattern.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '\\' => {
                if let Some((_, 'b' | 'B')) = chars.next().filter(|_| class_depth == 0) {
                    found.push(i);
                }
            }
            '[' => class_depth += 1,
            ']' if class_depth > 0 => class_depth -= 1,
            _ => {}
        }
    }
    found
}

fn compile_code(text: &str, errors: &mut Vec<PatternError>) -> Option<super::CodePattern> {
    super::CodePattern::parse(text)
        .map_err(|message| {
            let hint =
                "a reply code is three characters, digits or x: \"535\", \"5xx\", \"421|450\""
                    .into();
            errors.push(PatternError {
                written: Some(text.to_string()),
                message,
                hint,
            });
        })
        .ok()
}

fn compile_status(text: &str, errors: &mut Vec<PatternError>) -> Option<super::StatusPattern> {
    super::StatusPattern::parse(text)
        .map_err(|message| {
            let hint = "an enhanced status is class.subject.detail, * for any part: \"5.7.1\", \"5.7.*\", \"*.1.1\"".into();
            errors.push(PatternError { written: Some(text.to_string()), message, hint });
        })
        .ok()
}

fn compile_text(
    pattern: &str,
    errors: &mut Vec<PatternError>,
    when: Patterns,
) -> Option<LazyRegex> {
    match when {
        Patterns::OnFirstUse => Some(LazyRegex::new(pattern)),
        // compiled to check it: what runs are the forms `LazyRegex` builds
        // on first use, so the checked regex is not kept
        Patterns::Now => compile_regex(pattern)
            .map(|_| LazyRegex::new(pattern))
            .map_err(|e| errors.push(e))
            .ok(),
    }
}

/// Compiles a matcher; every pattern that fails is added to `errors` and
/// the part it belongs to matches nothing.
fn compile_matcher(m: &Matcher, errors: &mut Vec<PatternError>, when: Patterns) -> CompiledMatcher {
    let nothing = || CompiledMatcher::Any(Vec::new());
    match m {
        Matcher::Reply {
            code,
            status,
            phase,
            text,
        } => {
            let before = errors.len();
            let compiled = CompiledMatcher::Reply {
                code: code.as_deref().and_then(|c| compile_code(c, errors)),
                status: status.as_deref().and_then(|s| compile_status(s, errors)),
                phase: phase.clone(),
                text: text.as_deref().and_then(|t| compile_text(t, errors, when)),
            };
            if errors.len() > before {
                nothing()
            } else {
                compiled
            }
        }
        Matcher::Line(p) => compile_text(p, errors, when)
            .map(CompiledMatcher::Line)
            .unwrap_or_else(nothing),
        Matcher::Field { name, value } => {
            match value.as_deref().map(|v| compile_text(v, errors, when)) {
                Some(None) => nothing(),
                compiled => CompiledMatcher::Field {
                    name: name.to_ascii_lowercase(),
                    value: compiled.flatten(),
                },
            }
        }
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
        Matcher::All(ms) => CompiledMatcher::All(
            ms.iter()
                .map(|m| compile_matcher(m, errors, when))
                .collect(),
        ),
        Matcher::Any(ms) => CompiledMatcher::Any(
            ms.iter()
                .map(|m| compile_matcher(m, errors, when))
                .collect(),
        ),
        Matcher::Not(m) => CompiledMatcher::Not(Box::new(compile_matcher(m, errors, when))),
        Matcher::Live(m) => CompiledMatcher::Live(Box::new(compile_matcher(m, errors, when))),
    }
}

/// A string as RON writes it, quotes included, to find it in a rule file.
fn ron_string(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len() + 2);
    out.push('"');
    for c in raw.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Finds references (quoted strings) in the item that starts at `from`.
/// Looking up the same text again from the same item finds its next
/// occurrence, so a fact named twice in a node is pointed at twice.
#[derive(Default)]
pub(super) struct RefLocator {
    seen: std::collections::HashMap<(String, usize, String), usize>,
}

impl RefLocator {
    /// Where `quoted` (the text as written, quotes included) stands.
    pub(super) fn find(&mut self, files: &[SourceFile], from: &Origin, quoted: &str) -> Origin {
        let Some(file) = files.iter().find(|f| f.path == from.file) else {
            return from.clone();
        };
        let nth = self
            .seen
            .entry((from.file.clone(), from.line, quoted.to_string()))
            .or_insert(0);
        let start = line_offset(&file.text, from.line);
        let found = file.text[start..].match_indices(quoted).nth(*nth);
        *nth += 1;
        match found {
            Some((offset, _)) => position(&file.path, &file.text, start + offset),
            None => from.clone(),
        }
    }

    /// Where the id or name `needle` is referenced, written as a RON string.
    pub(super) fn find_ref(&mut self, files: &[SourceFile], from: &Origin, needle: &str) -> Origin {
        self.find(files, from, &ron_string(needle))
    }
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

    /// Every entry of the shipped rules is located on the line (and at the
    /// column) where its `id: "..."` stands.
    #[test]
    fn every_shipped_entry_is_located_at_its_id() {
        for file in embedded_sources() {
            let ids: Vec<(usize, String)> = file
                .text
                .match_indices("id: \"")
                .map(|(at, _)| {
                    let rest = &file.text[at + 5..];
                    (at + 4, rest[..rest.find('"').unwrap()].to_string())
                })
                .collect();
            let mut loc = Locator::new(&file);
            for (at, id) in ids {
                let found = loc.next(&id);
                let want = position(&file.path, &file.text, at);
                assert_eq!(
                    (found.line, found.col),
                    (want.line, want.col),
                    "{}: {id}",
                    file.path
                );
            }
        }
    }

    /// Catastrophic for a backtracking engine (exponential in the run of
    /// a's); the regex crate answers in one linear pass.
    #[test]
    fn patterns_that_blow_up_backtracking_engines_run_in_linear_time() {
        let re =
            compile_regex("(a+)+$|(a|aa)+b|(x+x+)+y").unwrap_or_else(|e| panic!("{}", e.message));
        let input = "a".repeat(200_000) + "!";
        assert!(!re.is_match(&input));
    }

    #[test]
    fn word_boundaries_are_ascii_and_escapes_and_classes_are_kept() {
        assert_eq!(
            ascii_word_boundaries(r"(?i)\bspam\b|\Bx"),
            r"(?i)(?-u:\b)spam(?-u:\b)|(?-u:\B)x"
        );
        assert_eq!(
            ascii_word_boundaries(r"a\\b[\b\]b]\b"),
            r"a\\b[\b\]b](?-u:\b)"
        );
        assert_eq!(
            ascii_word_boundaries(r"no boundary \d+"),
            r"no boundary \d+"
        );
        // still a word boundary between ASCII words, next to non-ASCII text too
        let re = compile_regex(r"(?i)\bspam\b").unwrap_or_else(|e| panic!("{}", e.message));
        assert!(re.is_match("Message rejected as SPAM (é)") && !re.is_match("antispamfilter"));
    }

    #[test]
    fn super_linear_features_are_refused_with_the_reason() {
        for pattern in ["queued(?! later)", "(?<=status=)sent", "(sent) \\1"] {
            let err = compile_regex(pattern)
                .err()
                .unwrap_or_else(|| panic!("{pattern} compiled"));
            assert!(err.hint.contains("super-linear"), "{pattern}: {}", err.hint);
            assert!(
                !err.message.contains("error:"),
                "{pattern}: {}",
                err.message
            );
        }
        let Err(err) = compile_regex("(?:\\w{50}){400}") else {
            panic!("a 400 x 50 \\w pattern compiled")
        };
        assert!(err.message.contains("KiB"), "{}", err.message);
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
