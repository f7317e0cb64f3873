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
//! [`crate::kb::LazyRegex`]; a pattern that has none, with a non-ASCII
//! character in a class, is read with Unicode rules) and compared ignoring
//! ASCII case, which is sound
//! whether the pattern has `(?i)` or not. On other text the pattern runs with
//! Unicode rules, under which `(?i)` also lets `k` match the Kelvin sign and
//! `s` the long s (the only characters outside ASCII that fold to an ASCII
//! letter), and lets a non-ASCII letter match its other cases: so a haystack
//! has those two characters folded before the search, and a pattern whose
//! strings hold non-ASCII bytes is a candidate on every non-ASCII haystack.
//!
//! Finding a pattern's strings means parsing it, and the knowledge base's
//! long patterns took most of a run's start-up to parse: the build computes
//! the strings of every `Line` and reply-text pattern of the embedded rules
//! ([`literals::required_literals`], in `build.rs`) into a table, and
//! [`Prefilter::new`] parses only a pattern the table does not hold (rules
//! read from a folder, the evidence stage's own patterns). The table is a
//! cache: the tests check that it holds every embedded pattern and that
//! each entry is what parsing the pattern now gives.
//!
//! The search is overlapping, which the packed (SIMD) searchers cannot do:
//! it runs on an NFA, cheap to build, and, once the NFA has scanned enough
//! text to have lost more to it than building one costs, on a DFA (one
//! step per byte, several times faster, but building the knowledge base's
//! two DFAs cost a run that classifies one ticket more than all its
//! scanning). Both find the same literals.

mod literals;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, AhoCorasickKind, MatchKind};
pub use literals::required_literals;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;

// `BUILT_LITERALS`, written by build.rs: sorted by pattern.
include!(concat!(env!("OUT_DIR"), "/literals.rs"));

/// The strings of `pattern`, from the build's table when it holds the
/// pattern (see the module docs).
fn literals_of(pattern: &str) -> Option<Vec<Vec<u8>>> {
    match built_literals(pattern) {
        Some(set) => set.map(|set| set.iter().map(|s| s.to_vec()).collect()),
        None => required_literals(pattern),
    }
}

/// The build's entry for `pattern`: None when the table does not hold it.
fn built_literals(pattern: &str) -> Option<Option<&'static [&'static [u8]]>> {
    BUILT_LITERALS
        .binary_search_by(|(p, _)| (*p).cmp(pattern))
        .ok()
        .map(|at| BUILT_LITERALS[at].1)
}

/// The patterns of the build's table (for the test that keeps it complete).
#[cfg(test)]
pub(crate) fn built_patterns() -> impl Iterator<Item = &'static str> {
    BUILT_LITERALS.iter().map(|&(p, _)| p)
}

/// The prefilter of a list of patterns.
#[derive(Debug)]
pub struct Prefilter {
    /// The literals, in the automatons' numbering.
    literals: Vec<Vec<u8>>,
    /// An NFA: built at once, cheap to build.
    nfa: Option<AhoCorasick>,
    /// A DFA, built once the NFA has scanned [`Prefilter::dfa_after`]
    /// bytes: several times faster per byte, but building it cost more than
    /// a run that classifies one ticket scans.
    dfa: OnceLock<AhoCorasick>,
    /// Bytes the NFA has scanned.
    scanned: AtomicUsize,
    dfa_after: usize,
    /// For each literal of the automaton, the patterns that need it.
    needed_by: Vec<Vec<usize>>,
    /// Patterns with no usable literal: always candidates.
    always: Vec<usize>,
    /// Patterns whose strings hold non-ASCII bytes: candidates on every
    /// non-ASCII haystack (their case variants are not folded here).
    non_ascii: Vec<usize>,
    patterns: usize,
}

/// How many bytes the NFA scans, per byte of the literals, before the DFA
/// is built. Building the DFA costs about as many instructions per byte of
/// literals as the NFA loses to it over 300 bytes of haystack, so waiting
/// until then spends at most about twice the better choice's cost: a run
/// that classifies one ticket never builds the DFA, a batch builds it after
/// its first few dozen tickets.
const DFA_AFTER_PER_LITERAL_BYTE: usize = 300;

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
            match literals_of(pattern) {
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
        let nfa = automaton(&literals, AhoCorasickKind::ContiguousNFA);
        if nfa.is_none() {
            // no automaton: every pattern is a candidate everywhere
            always = (0..count).collect();
        }
        let dfa_after = DFA_AFTER_PER_LITERAL_BYTE * literals.iter().map(Vec::len).sum::<usize>();
        Prefilter {
            literals,
            nfa,
            dfa: OnceLock::new(),
            scanned: AtomicUsize::new(0),
            dfa_after,
            needed_by,
            always,
            non_ascii,
            patterns: count,
        }
    }

    /// The automaton to scan `haystack` with: the DFA once it is built.
    /// The call whose haystack takes the NFA's bytes past
    /// [`Prefilter::dfa_after`] builds it; until then (and meanwhile, on
    /// other threads) the NFA scans.
    fn automaton_for(&self, haystack: &[u8]) -> Option<&AhoCorasick> {
        if let Some(dfa) = self.dfa.get() {
            return Some(dfa);
        }
        let nfa = self.nfa.as_ref()?;
        let before = self.scanned.fetch_add(haystack.len(), Ordering::Relaxed);
        if before < self.dfa_after && before + haystack.len() >= self.dfa_after {
            if let Some(dfa) = automaton(&self.literals, AhoCorasickKind::DFA) {
                return Some(self.dfa.get_or_init(|| dfa));
            }
        }
        Some(nfa)
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
        if let Some(ac) = self.automaton_for(haystack) {
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

/// An automaton of `literals` (overlapping, ignoring ASCII case), None when
/// there are none or it cannot be built. Either kind finds the same
/// matches.
fn automaton(literals: &[Vec<u8>], kind: AhoCorasickKind) -> Option<AhoCorasick> {
    if literals.is_empty() {
        return None;
    }
    AhoCorasickBuilder::new()
        .ascii_case_insensitive(true)
        .match_kind(MatchKind::Standard)
        .kind(Some(kind))
        .build(literals)
        .ok()
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

#[cfg(test)]
mod tests {
    use super::*;
    use regex_syntax::hir::{Class, HirKind};

    #[test]
    fn built_literals_are_what_parsing_gives() {
        assert!(!BUILT_LITERALS.is_empty());
        for pair in BUILT_LITERALS.windows(2) {
            assert!(
                pair[0].0 < pair[1].0,
                "sorted, no duplicates: {:?}",
                pair[1].0
            );
        }
        for &(pattern, built) in BUILT_LITERALS {
            let built = built.map(|set| set.iter().map(|s| s.to_vec()).collect::<Vec<_>>());
            assert_eq!(built, required_literals(pattern), "{pattern:?}");
        }
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
    fn the_dfa_finds_the_candidates_the_nfa_finds() {
        let patterns = [
            r"(?i)user unknown",
            r"\d{3}",
            r"(?i)relay(?:ing)? denied",
            r"(?i)\bspam\b|unsolicited",
            r"(?i)mailbox (?:full|unavailable)",
            r"(?i)échec",
        ];
        let haystacks = [
            "550 5.7.1 RELAYING DENIED",
            "nothing here",
            "552 Mailbox full; user unknown, spam, unsolicited",
            "ÉCHEC: mailbox unavailable",
            "",
        ];
        let mut pre = Prefilter::new(patterns);
        let scan = |pre: &Prefilter| -> Vec<Vec<usize>> {
            haystacks
                .iter()
                .map(|h| pre.candidates(h).iter().collect())
                .collect()
        };
        let by_nfa = scan(&pre);
        assert!(
            pre.dfa.get().is_none(),
            "one ticket's text does not build the DFA"
        );
        pre.scanned = AtomicUsize::new(0);
        pre.dfa_after = 1;
        let by_dfa = scan(&pre);
        assert!(pre.dfa.get().is_some());
        assert_eq!(by_nfa, by_dfa);
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
