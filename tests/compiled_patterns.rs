//! The forms the knowledge base's patterns run in (an ASCII-only regex for
//! ASCII text, one literal prefilter per kind of pattern, compiling on first
//! use) must match exactly what each pattern, compiled alone as the loader
//! compiles it, matches: on the shipped transcripts, the test bounces, the
//! Sisimai corpus when it is there, and random text.

use mailtriage::engine::{self, Scan};
use mailtriage::evidence::{Evidence, ItemKind};
use mailtriage::kb::{CompiledMatcher, KnowledgeBase, LazyRegex};
use mailtriage::prefilter::Prefilter;
use proptest::prelude::*;
use std::path::{Path, PathBuf};
use std::sync::LazyLock;

#[derive(Clone, Copy, PartialEq, Debug)]
enum Kind {
    Line,
    Reply,
    Field,
}

/// Every pattern of the signatures, with its reference: the Unicode regex
/// the loader compiles when it checks a rule set.
fn patterns(kb: &KnowledgeBase) -> Vec<(LazyRegex, regex::Regex, Kind)> {
    fn walk(m: &CompiledMatcher, out: &mut Vec<(LazyRegex, Kind)>) {
        match m {
            CompiledMatcher::Reply { text: Some(re), .. } => out.push((re.clone(), Kind::Reply)),
            CompiledMatcher::Field {
                value: Some(re), ..
            } => out.push((re.clone(), Kind::Field)),
            CompiledMatcher::Line(re) => out.push((re.clone(), Kind::Line)),
            CompiledMatcher::All(ms) | CompiledMatcher::Any(ms) => {
                ms.iter().for_each(|m| walk(m, out))
            }
            CompiledMatcher::Not(m) => walk(m, out),
            _ => {}
        }
    }
    let mut found = Vec::new();
    for sig in &kb.signatures {
        walk(&sig.matcher, &mut found);
    }
    let checked = KnowledgeBase::embedded_checked().expect("the embedded rules check");
    let mut reference = Vec::new();
    for sig in &checked.signatures {
        walk(&sig.matcher, &mut reference);
    }
    assert_eq!(found.len(), reference.len());
    found
        .into_iter()
        .zip(reference)
        .map(|((lazy, kind), (checked, _))| {
            assert_eq!(lazy.as_str(), checked.as_str());
            let plain = checked.unicode().expect("compiled by the loader").clone();
            (lazy, plain, kind)
        })
        .collect()
}

fn files_in(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            files_in(&path, out);
        } else if path.extension().is_some_and(|e| e != "md" && e != "tsv") {
            out.push(path);
        }
    }
}

/// The shipped transcripts, the test bounces and (when present) the Sisimai
/// corpus, as evidence.
fn inputs() -> Vec<(String, Evidence)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    files_in(&root.join("transcripts"), &mut files);
    files_in(&root.join("tests/data/bounce"), &mut files);
    let sisimai = root.join("../shared/corpus/sisimai/emails");
    if sisimai.is_dir() {
        // every eighth email: each kind of bounce, in a debug build's time
        let mut emails = Vec::new();
        files_in(&sisimai, &mut emails);
        emails.sort();
        files.extend(emails.into_iter().step_by(8));
    } else {
        eprintln!(
            "note: {} is absent; transcripts and test bounces only",
            sisimai.display()
        );
    }
    files.sort();
    files
        .into_iter()
        .map(|f| {
            let bytes = std::fs::read(&f).unwrap();
            (f.display().to_string(), Evidence::from_bytes(&bytes))
        })
        .collect()
}

static KB: LazyLock<KnowledgeBase> = LazyLock::new(|| KnowledgeBase::embedded().unwrap());
static PATTERNS: LazyLock<Vec<(LazyRegex, regex::Regex, Kind)>> = LazyLock::new(|| patterns(&KB));

#[test]
fn every_pattern_matches_the_same_in_its_compiled_forms() {
    let kb = &*KB;
    let (mut line_hits, mut reply_hits, mut non_ascii_lines) = (0, 0, 0);
    for (name, evidence) in inputs() {
        non_ascii_lines += evidence.lines.iter().filter(|l| !l.is_ascii()).count();
        // Line patterns: the first line each matches, through the prefilter
        let mut first = kb.line_patterns().lines(&evidence.lines);
        for (lazy, plain, kind) in PATTERNS.iter() {
            for line in &evidence.lines {
                assert_eq!(
                    lazy.is_match(line),
                    plain.is_match(line),
                    "{name}: {} on {line:?}",
                    plain.as_str()
                );
            }
            if *kind == Kind::Line {
                let want = evidence.lines.iter().position(|l| plain.is_match(l));
                assert_eq!(
                    first.get(lazy, &evidence.lines),
                    want,
                    "{name}: {}",
                    plain.as_str()
                );
                line_hits += usize::from(want.is_some());
            }
        }
        // reply-text patterns: on every reply's text and quote
        for item in &evidence.items {
            let ItemKind::Reply(reply) = &item.kind else {
                continue;
            };
            for haystack in [reply.text.as_str(), item.quote.as_str()] {
                let mut scanned = kb.reply_patterns().scan(haystack);
                for (lazy, plain, kind) in PATTERNS.iter() {
                    if *kind != Kind::Reply {
                        continue;
                    }
                    let want = plain.is_match(haystack);
                    assert_eq!(
                        scanned.matches(lazy, haystack),
                        want,
                        "{name}: {} on {haystack:?}",
                        plain.as_str()
                    );
                    reply_hits += usize::from(want);
                }
            }
        }
    }
    assert!(
        line_hits > 0 && reply_hits > 0,
        "no Line ({line_hits}) or reply ({reply_hits}) pattern matched: the comparison proves nothing"
    );
    assert!(
        non_ascii_lines > 0,
        "no non-ASCII line: the Unicode path is untested"
    );
}

/// The facts a ticket gets, derived once for all recipients through one
/// shared scan, are those derived afresh for each.
#[test]
fn a_shared_scan_derives_the_same_facts_as_a_fresh_one() {
    let kb = &*KB;
    let answers = engine::Answers::new();
    let mut recipients = 0;
    for (name, evidence) in inputs() {
        let mut shared = Scan::new(kb);
        let scopes = std::iter::once(None).chain((0..evidence.recipients.len()).map(Some));
        for scope in scopes {
            recipients += usize::from(scope.is_some());
            let fresh = engine::derive(kb, &evidence, &answers, scope);
            let reused = engine::derive_in(&mut shared, &evidence, &answers, scope);
            assert_eq!(
                serde_json::to_string(&fresh).unwrap(),
                serde_json::to_string(&reused).unwrap(),
                "{name}, recipient {scope:?}"
            );
        }
    }
    assert!(recipients > 0, "no bounce with recipients: nothing shared");
}

#[test]
fn a_non_ascii_line_before_the_first_ascii_match_is_found() {
    let kb = &*KB;
    let (lazy, plain, _) = PATTERNS
        .iter()
        .find(|(_, plain, kind)| *kind == Kind::Line && plain.as_str().contains("(?i)"))
        .expect("a case-insensitive Line pattern");
    // a line the pattern matches, found by searching the examples of the rules
    let hit = KB
        .signatures
        .iter()
        .flat_map(|s| &s.def.examples)
        .flat_map(|e| e.lines())
        .find(|l| plain.is_match(l) && l.is_ascii())
        .expect("an example line of a Line pattern");
    let accented = format!("é {hit}");
    let lines: Vec<String> = vec!["nothing".into(), accented, hit.to_string()];
    let mut first = kb.line_patterns().lines(&lines);
    assert_eq!(first.get(lazy, &lines), Some(1));
}

#[test]
fn non_ascii_text_uses_unicode_semantics() {
    let re = LazyRegex::new(r"(?i)k\w+");
    assert!(
        re.is_match("\u{212A}elvin"),
        "the Kelvin sign folds to k under Unicode rules"
    );
    assert!(re.is_match("kühl"));
    assert!(!re.is_match("ok") && !re.is_match("\u{212A}"));
}

/// Every compiled form matches as the pattern alone does, and the prefilter
/// keeps every pattern that matches.
fn forms_and_prefilter_agree(text: &str) -> Result<(), TestCaseError> {
    let prefilter = Prefilter::new(PATTERNS.iter().map(|(_, plain, _)| plain.as_str()));
    let candidates = prefilter.candidates(text);
    for (i, (lazy, plain, _)) in PATTERNS.iter().enumerate() {
        let want = plain.is_match(text);
        prop_assert_eq!(
            lazy.is_match(text),
            want,
            "{} on {:?}",
            plain.as_str(),
            text
        );
        prop_assert!(
            !want || candidates.contains(i),
            "prefilter dropped {} on {:?}",
            plain.as_str(),
            text
        );
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    #[test]
    fn ascii_forms_and_prefilters_agree_on_random_ascii_text(text in "[ -~\t]{0,120}") {
        forms_and_prefilter_agree(&text)?;
    }

    /// Random text built from the patterns' own words, so matches happen.
    #[test]
    fn prefilters_keep_every_match_on_rule_words(words in proptest::collection::vec(0usize..10_000, 1..12)) {
        let vocabulary = rule_words();
        let text: Vec<&str> = words.iter().map(|&w| vocabulary[w % vocabulary.len()]).collect();
        let text = text.join(" ");
        forms_and_prefilter_agree(&text)?;
    }

    /// The same on non-ASCII text: rule words with the Unicode case variants
    /// of k and s (the Kelvin sign, the long s) and other scripts between.
    #[test]
    fn prefilters_keep_every_match_on_non_ascii_text(
        words in proptest::collection::vec((0usize..10_000, 0usize..6, any::<bool>()), 1..12),
    ) {
        const BETWEEN: [&str; 6] = [" ", " é ", " 日本語 ", "Ü", " – ", "\u{a0}"];
        let vocabulary = rule_words();
        let mut text = String::new();
        for (w, between, variants) in words {
            let word = vocabulary[w % vocabulary.len()];
            text.extend(word.chars().map(|c| match (variants, c) {
                (true, 'k' | 'K') => '\u{212A}',
                (true, 's' | 'S') => '\u{17F}',
                _ => c,
            }));
            text.push_str(BETWEEN[between]);
        }
        forms_and_prefilter_agree(&text)?;
    }
}

/// The words of the patterns, to build text on which they match.
fn rule_words() -> Vec<&'static str> {
    PATTERNS
        .iter()
        .flat_map(|(_, plain, _)| {
            plain
                .as_str()
                .split(|c: char| !c.is_ascii_alphanumeric() && c != ' ')
        })
        .filter(|w| w.len() > 2)
        .collect()
}
