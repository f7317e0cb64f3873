//! A literal prefilter for a list of regular expressions: for each pattern,
//! a few strings one of which any match must contain, found in one
//! Aho-Corasick pass over the haystack. A pattern none of whose strings
//! occurs cannot match, so only the (few) others are run.
//!
//! One pass of one automaton over a line is much cheaper than running each
//! pattern, and, unlike one regex set of all the patterns, it does not
//! build a large DFA: the knowledge base's patterns are long alternations
//! with `.{0,80}` and `.*` between words, whose combined DFA kept growing
//! with every new line (the set spent more time determinizing than
//! matching).
//!
//! The strings are taken from the ASCII-only reading of each pattern (see
//! [`crate::kb::LazyRegex`]) and compared ignoring ASCII case, which is sound
//! whether the pattern has `(?i)` or not. On other text the pattern runs with
//! Unicode rules, under which `(?i)` also lets `k` match the Kelvin sign and
//! `s` the long s (the only characters outside ASCII that fold to an ASCII
//! letter), and lets a non-ASCII letter match its other cases: so a haystack
//! has those two characters folded before the search, and a pattern whose
//! strings hold non-ASCII bytes is a candidate on every non-ASCII haystack.

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, AhoCorasickKind, MatchKind};
use regex_syntax::hir::{Class, Hir, HirKind};

/// Sets larger than this are not multiplied out further.
const MAX_SET: usize = 64;
/// Literals are cut to this length: a haystack that holds a literal holds
/// its start, and short literals make a small automaton.
const MAX_LEN: usize = 8;
/// Among requirement sets whose shortest string is at least this long, the
/// one with fewer strings is preferred (they pass about as few haystacks).
const GOOD_LEN: usize = 5;

/// The prefilter of a list of patterns.
#[derive(Debug, Clone)]
pub struct Prefilter {
    automaton: Option<AhoCorasick>,
    /// For each literal of the automaton, the patterns that need it.
    needed_by: Vec<Vec<usize>>,
    /// Patterns with no usable literal: always candidates.
    always: Vec<usize>,
    /// Patterns whose strings hold non-ASCII bytes: candidates on every
    /// non-ASCII haystack (their case variants are not folded here).
    non_ascii: Vec<usize>,
    patterns: usize,
}

/// Which patterns may match one haystack.
#[derive(Debug, Clone, Default)]
pub struct Candidates {
    bits: Vec<u64>,
}

impl Candidates {
    pub fn contains(&self, pattern: usize) -> bool {
        self.bits
            .get(pattern / 64)
            .is_some_and(|w| w & (1 << (pattern % 64)) != 0)
    }

    fn insert(&mut self, pattern: usize) {
        self.bits[pattern / 64] |= 1 << (pattern % 64);
    }

    pub fn is_empty(&self) -> bool {
        self.bits.iter().all(|&w| w == 0)
    }

    /// The candidate patterns, in increasing order.
    pub fn iter(&self) -> impl Iterator<Item = usize> + '_ {
        self.bits.iter().enumerate().flat_map(|(i, &w)| {
            let mut w = w;
            std::iter::from_fn(move || {
                (w != 0).then(|| {
                    let bit = w.trailing_zeros() as usize;
                    w &= w - 1;
                    i * 64 + bit
                })
            })
        })
    }
}

impl Prefilter {
    /// The prefilter of `patterns` (regex syntax).
    pub fn new<'a>(patterns: impl IntoIterator<Item = &'a str>) -> Prefilter {
        let mut literals: Vec<Vec<u8>> = Vec::new();
        let mut needed_by: Vec<Vec<usize>> = Vec::new();
        let mut index: std::collections::HashMap<Vec<u8>, usize> = Default::default();
        let mut always = Vec::new();
        let mut non_ascii = Vec::new();
        let mut count = 0;
        for (i, pattern) in patterns.into_iter().enumerate() {
            count = i + 1;
            match required_literals(pattern) {
                Some(set) => {
                    if !set.iter().all(|s| s.is_ascii()) {
                        non_ascii.push(i);
                    }
                    for lit in set {
                        let at = *index.entry(lit.clone()).or_insert_with(|| {
                            literals.push(lit);
                            needed_by.push(Vec::new());
                            literals.len() - 1
                        });
                        if needed_by[at].last() != Some(&i) {
                            needed_by[at].push(i);
                        }
                    }
                }
                None => always.push(i),
            }
        }
        let automaton = (!literals.is_empty())
            .then(|| {
                // a DFA: an overlapping search cannot use the packed
                // (SIMD) searchers, and a DFA takes one step per byte
                AhoCorasickBuilder::new()
                    .ascii_case_insensitive(true)
                    .match_kind(MatchKind::Standard)
                    .kind(Some(AhoCorasickKind::DFA))
                    .build(&literals)
                    .ok()
            })
            .flatten();
        if automaton.is_none() {
            // no automaton: every pattern is a candidate everywhere
            always = (0..count).collect();
        }
        Prefilter {
            automaton,
            needed_by,
            always,
            non_ascii,
            patterns: count,
        }
    }

    /// The patterns that may match `haystack`: every pattern that matches it
    /// is among them.
    pub fn candidates(&self, haystack: &str) -> Candidates {
        if haystack.is_ascii() {
            return self.candidates_in(haystack.as_bytes());
        }
        let mut found = self.candidates_in(fold_to_ascii(haystack).as_bytes());
        for &p in &self.non_ascii {
            found.insert(p);
        }
        found
    }

    /// The candidates on bytes whose every case variant is an ASCII one.
    fn candidates_in(&self, haystack: &[u8]) -> Candidates {
        let mut found = Candidates {
            bits: vec![0; self.patterns.div_ceil(64)],
        };
        for &p in &self.always {
            found.insert(p);
        }
        if let Some(ac) = &self.automaton {
            for m in ac.find_overlapping_iter(haystack) {
                for &p in &self.needed_by[m.pattern().as_usize()] {
                    found.insert(p);
                }
            }
        }
        found
    }

    /// How many patterns have no literal and always run.
    pub fn unfiltered(&self) -> usize {
        self.always.len()
    }
}

/// `text` with the two non-ASCII characters that Unicode case folding maps
/// to an ASCII letter (KELVIN SIGN to `k`, LATIN SMALL LETTER LONG S to `s`)
/// replaced by that letter.
fn fold_to_ascii(text: &str) -> std::borrow::Cow<'_, str> {
    const FOLDS: [char; 2] = ['\u{212A}', '\u{17F}'];
    if !text.contains(FOLDS) {
        return std::borrow::Cow::Borrowed(text);
    }
    std::borrow::Cow::Owned(
        text.chars()
            .map(|c| match c {
                '\u{212A}' => 'k',
                '\u{17F}' => 's',
                other => other,
            })
            .collect(),
    )
}

/// Strings (lower-case ASCII) one of which every match of `pattern` contains,
/// ignoring ASCII case; None when there is no such set worth using.
pub fn required_literals(pattern: &str) -> Option<Vec<Vec<u8>>> {
    let hir = regex_syntax::ParserBuilder::new()
        .unicode(false)
        .utf8(false)
        .build()
        .parse(pattern)
        .ok()?;
    let set = match required(&hir) {
        Req::Exact(set) | Req::Need(set) => set,
        Req::Nothing => return None,
    };
    // Even a one-character literal passes fewer haystacks than none; an
    // empty one passes all.
    if min_len(&set) == 0 {
        return None;
    }
    let cut = set
        .into_iter()
        .map(|mut s| {
            s.truncate(MAX_LEN);
            s
        })
        .collect();
    Some(dedup(cut))
}

/// What any match of an expression must be or contain.
#[derive(Debug, Clone)]
enum Req {
    /// Every match is one of these strings (ignoring case).
    Exact(Vec<Vec<u8>>),
    /// Every match contains one of these strings (ignoring case).
    Need(Vec<Vec<u8>>),
    /// Nothing known.
    Nothing,
}

fn min_len(set: &[Vec<u8>]) -> usize {
    set.iter().map(Vec::len).min().unwrap_or(0)
}

/// Orders usable requirement sets: longer shortest string first (up to
/// [`GOOD_LEN`]), then fewer strings.
fn better(a: &[Vec<u8>], b: &[Vec<u8>]) -> bool {
    let score = |s: &[Vec<u8>]| (min_len(s).min(GOOD_LEN), std::cmp::Reverse(s.len()));
    score(a) > score(b)
}

fn dedup(mut set: Vec<Vec<u8>>) -> Vec<Vec<u8>> {
    set.sort();
    set.dedup();
    set
}

fn required(hir: &Hir) -> Req {
    match hir.kind() {
        HirKind::Empty | HirKind::Look(_) => Req::Exact(vec![Vec::new()]),
        HirKind::Literal(lit) => Req::Exact(vec![lit.0.to_ascii_lowercase()]),
        HirKind::Class(class) => match class_bytes(class) {
            Some(bytes) => Req::Exact(bytes.into_iter().map(|b| vec![b]).collect()),
            None => Req::Nothing,
        },
        HirKind::Capture(cap) => required(&cap.sub),
        HirKind::Repetition(rep) => {
            if rep.min == 0 {
                return Req::Nothing;
            }
            match required(&rep.sub) {
                Req::Exact(set) if rep.min == 1 && rep.max == Some(1) => Req::Exact(set),
                // `X{4,}` holds `XXXX`
                Req::Exact(set) if set.len() == 1 => {
                    let times = (rep.min as usize).min(MAX_LEN);
                    Req::Need(vec![set[0].repeat(times)])
                }
                Req::Exact(set) | Req::Need(set) => Req::Need(set),
                Req::Nothing => Req::Nothing,
            }
        }
        HirKind::Alternation(alts) => {
            let mut exact = true;
            let mut union = Vec::new();
            for alt in alts {
                match required(alt) {
                    Req::Exact(set) => union.extend(set),
                    Req::Need(set) => {
                        exact = false;
                        union.extend(set);
                    }
                    Req::Nothing => return Req::Nothing,
                }
            }
            let union = dedup(union);
            if exact && union.len() <= MAX_SET {
                Req::Exact(union)
            } else if min_len(&union) == 0 {
                // a branch that can match the empty string needs nothing
                Req::Nothing
            } else {
                Req::Need(union)
            }
        }
        HirKind::Concat(parts) => concat(parts),
    }
}

/// A concatenation: runs of exact parts are multiplied out into longer
/// strings; the best of those runs and of the other parts' requirements wins.
fn concat(parts: &[Hir]) -> Req {
    let mut best: Option<Vec<Vec<u8>>> = None;
    let consider = |set: Vec<Vec<u8>>, best: &mut Option<Vec<Vec<u8>>>| {
        if min_len(&set) > 0 && best.as_ref().is_none_or(|b| better(&set, b)) {
            *best = Some(set);
        }
    };
    let mut run: Option<Vec<Vec<u8>>> = Some(vec![Vec::new()]);
    let mut all_exact = true;
    for part in parts {
        match required(part) {
            Req::Exact(set) => {
                let mut current = run.take().unwrap_or_else(|| vec![Vec::new()]);
                if set.len() == 1 {
                    // the common case, a letter of a word: append in place
                    // (the same suffix keeps the strings distinct)
                    current
                        .iter_mut()
                        .for_each(|s| s.extend_from_slice(&set[0]));
                    run = Some(current);
                } else if current.len() * set.len() <= MAX_SET {
                    let product = current
                        .iter()
                        .flat_map(|a| {
                            set.iter().map(move |b| {
                                let mut s = a.clone();
                                s.extend_from_slice(b);
                                s
                            })
                        })
                        .collect();
                    run = Some(dedup(product));
                } else {
                    // too many combinations: close the run, start another
                    all_exact = false;
                    consider(current, &mut best);
                    run = Some(set);
                }
            }
            other => {
                all_exact = false;
                if let Some(current) = run.take() {
                    consider(current, &mut best);
                }
                if let Req::Need(set) = other {
                    consider(set, &mut best);
                }
            }
        }
    }
    if all_exact {
        return Req::Exact(run.unwrap_or_else(|| vec![Vec::new()]));
    }
    if let Some(current) = run {
        consider(current, &mut best);
    }
    match best {
        Some(set) => Req::Need(set),
        None => Req::Nothing,
    }
}

/// The bytes a small class matches, lower-cased: `[Ss]` is `s`, `[sz]`
/// is `s` or `z`; None for a class too large to be worth spelling out.
fn class_bytes(class: &Class) -> Option<Vec<u8>> {
    let mut bytes = Vec::new();
    match class {
        Class::Bytes(c) => {
            for r in c.ranges() {
                for b in r.start()..=r.end() {
                    bytes.push(b.to_ascii_lowercase());
                    if bytes.len() > 16 {
                        return None;
                    }
                }
            }
        }
        Class::Unicode(c) => {
            for r in c.ranges() {
                for ch in r.start()..=r.end() {
                    if !ch.is_ascii() {
                        return None;
                    }
                    bytes.push((ch as u8).to_ascii_lowercase());
                    if bytes.len() > 16 {
                        return None;
                    }
                }
            }
        }
    }
    bytes.sort_unstable();
    bytes.dedup();
    (bytes.len() <= 4).then_some(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lits(p: &str) -> Option<Vec<String>> {
        required_literals(p).map(|set| {
            set.into_iter()
                .map(|s| String::from_utf8(s).unwrap())
                .collect()
        })
    }

    #[test]
    fn literals_any_match_must_contain() {
        // cut to eight bytes
        assert_eq!(lits("(?i)user unknown"), Some(vec!["user unk".into()]));
        assert_eq!(
            lits(r"(?i)\bspam\b|relay(?:ing)? denied"),
            Some(vec!["relay".into(), "spam".into()])
        );
        assert_eq!(
            lits("(?i)authori[sz]ed"),
            Some(vec!["authoris".into(), "authoriz".into()])
        );
        // an optional branch, or a pattern of large classes only: nothing
        assert_eq!(lits(r"(?i)spam|x?"), None);
        assert_eq!(lits(r"^[*\s]{6,}$"), None);
        assert_eq!(lits(r"\d+\.\d+"), Some(vec![".".into()]));
        assert_eq!(lits(r"\bX{4,}[A-Z]*\b"), Some(vec!["xxxx".into()]));
        // the longest part of a concatenation is kept
        assert_eq!(
            lits(r"(?i)\bport 25 \(tcp\) (?:timed out|failed)"),
            Some(vec!["port 25 ".into()])
        );
        assert_eq!(lits(r"a.*hello.{0,4}b"), Some(vec!["hello".into()]));
        // long enough: the smaller set wins
        assert_eq!(
            lits(r"(?:alpha|bravo|charlie) .* deliver"),
            Some(vec![" deliver".into()])
        );
    }

    #[test]
    fn candidates_include_every_matching_pattern() {
        let patterns = [r"(?i)user unknown", r"\d{3}", r"(?i)relay(?:ing)? denied"];
        let pre = Prefilter::new(patterns);
        assert_eq!(pre.unfiltered(), 1);
        let c = pre.candidates("550 5.7.1 RELAYING DENIED");
        assert_eq!(c.iter().collect::<Vec<_>>(), vec![1, 2]);
        let c = pre.candidates("nothing here");
        assert_eq!(c.iter().collect::<Vec<_>>(), vec![1]);
    }

    #[test]
    fn non_ascii_haystacks_keep_unicode_case_variants() {
        let patterns = [r"(?i)risk", r"(?i)\bgesperrt\b", r"(?i)échec"];
        let pre = Prefilter::new(patterns);
        // the Kelvin sign and the long s fold to k and s under Unicode rules
        let c = pre.candidates("\u{212A}ein ri\u{17F}\u{212A} hier");
        assert!(c.contains(0));
        let c = pre.candidates("Konto GESPERRT – bitte warten");
        assert_eq!(c.iter().collect::<Vec<_>>(), vec![1, 2]);
        // a literal with non-ASCII letters may match another case of them
        let c = pre.candidates("ÉCHEC total");
        assert_eq!(c.iter().collect::<Vec<_>>(), vec![2]);
        // on ASCII text the ASCII reading is exact
        assert!(pre.candidates("nothing").is_empty());
    }

    #[test]
    fn only_two_non_ascii_characters_fold_to_ascii_letters() {
        for letter in ('a'..='z').chain('0'..='9') {
            let hir = regex_syntax::Parser::new()
                .parse(&format!("(?i){letter}"))
                .unwrap();
            let HirKind::Class(Class::Unicode(class)) = hir.kind() else {
                continue;
            };
            for ch in class.ranges().iter().flat_map(|r| r.start()..=r.end()) {
                if !ch.is_ascii() {
                    assert_eq!(
                        fold_to_ascii(&ch.to_string()),
                        letter.to_string(),
                        "{ch:?} folds to {letter} and must be folded for the search"
                    );
                }
            }
        }
    }
}
