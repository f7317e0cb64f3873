//! The compiled forms of the knowledge base's patterns (ASCII-only regexes
//! for ASCII text, one set for all `Line` patterns) must match exactly what
//! each pattern matches alone, on real transcripts and on random text.

use mailtriage::evidence::Evidence;
use mailtriage::kb::{CompiledMatcher, KnowledgeBase, LazyRegex};
use proptest::prelude::*;
use regex::Regex;
use std::path::Path;
use std::sync::LazyLock;

fn patterns(kb: &KnowledgeBase) -> Vec<(LazyRegex, Regex, bool)> {
    fn walk(m: &CompiledMatcher, out: &mut Vec<(LazyRegex, bool)>) {
        match m {
            CompiledMatcher::Reply { text: Some(re), .. }
            | CompiledMatcher::Field {
                value: Some(re), ..
            } => out.push((re.clone(), false)),
            CompiledMatcher::Line(re) => out.push((re.clone(), true)),
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
    found
        .into_iter()
        .map(|(lazy, line)| {
            let plain = Regex::new(lazy.as_str()).unwrap();
            (lazy, plain, line)
        })
        .collect()
}

fn transcripts() -> Vec<String> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("transcripts");
    let mut texts = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "txt") {
            texts.push(String::from_utf8_lossy(&std::fs::read(path).unwrap()).into_owned());
        }
    }
    texts
}

#[test]
fn every_pattern_matches_the_same_lines_in_its_compiled_forms() {
    let kb = KnowledgeBase::embedded().unwrap();
    let patterns = patterns(&kb);
    let set = kb.line_patterns();
    let mut line_hits = 0;
    for text in transcripts() {
        let evidence = Evidence::from_text(&text);
        let first = set
            .first_matches(evidence.lines.iter().map(String::as_str))
            .expect("the Line set builds");
        for (lazy, plain, is_line) in &patterns {
            for line in &evidence.lines {
                assert_eq!(
                    lazy.is_match(line),
                    plain.is_match(line),
                    "{} on {line:?}",
                    plain.as_str()
                );
            }
            if *is_line {
                let want = evidence.lines.iter().position(|l| plain.is_match(l));
                assert_eq!(
                    first[set.position(lazy).unwrap()],
                    want,
                    "{}",
                    plain.as_str()
                );
                line_hits += usize::from(want.is_some());
            }
        }
    }
    assert!(
        line_hits > 0,
        "no Line pattern matched any transcript: the comparison proves nothing"
    );
}

#[test]
fn the_reply_text_set_marks_exactly_the_patterns_that_match() {
    let kb = KnowledgeBase::embedded().unwrap();
    let set = kb.reply_patterns();
    let replies: Vec<_> = patterns(&kb)
        .into_iter()
        .filter(|(lazy, _, _)| set.position(lazy).is_some())
        .collect();
    assert!(!replies.is_empty());
    let mut marked = 0;
    for text in transcripts() {
        for item in Evidence::from_text(&text).items {
            let mut hits = vec![false; set.len()];
            if !set.mark_ascii(&item.quote, &mut hits) {
                continue;
            }
            for (lazy, plain, _) in &replies {
                let hit = hits[set.position(lazy).unwrap()];
                assert_eq!(
                    hit,
                    plain.is_match(&item.quote),
                    "{} on {:?}",
                    plain.as_str(),
                    item.quote
                );
                marked += usize::from(hit);
            }
        }
    }
    assert!(
        marked > 0,
        "no reply pattern matched any quote: the comparison proves nothing"
    );
}

#[test]
fn non_ascii_text_uses_unicode_semantics() {
    let re = LazyRegex::new(r"(?i)\bk\w+\b").unwrap();
    assert!(
        re.is_match("\u{212A}elvin"),
        "the Kelvin sign folds to k under Unicode rules"
    );
    assert!(re.is_match("kühl"));
    assert!(!re.is_match("ok"));
}

static PATTERNS: LazyLock<Vec<(LazyRegex, Regex, bool)>> =
    LazyLock::new(|| patterns(&KnowledgeBase::embedded().unwrap()));

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    #[test]
    fn ascii_forms_agree_on_random_ascii_text(text in "[ -~\t]{0,120}") {
        for (lazy, plain, _) in PATTERNS.iter() {
            prop_assert_eq!(lazy.is_match(&text), plain.is_match(&text), "{} on {:?}", plain.as_str(), text);
        }
    }
}
