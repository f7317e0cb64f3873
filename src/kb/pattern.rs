//! Signature patterns as they run: compiled on first use, in an ASCII-only
//! form for ASCII text, and grouped so that one scan of a line (or a reply)
//! answers every pattern of a kind at once.
//!
//! Every form here must match exactly what the pattern compiled alone by
//! [`super::load`] matches (`tests/compiled_patterns.rs` checks it on the
//! shipped transcripts and bounces).

use super::load::{ascii_word_boundaries, compile_regex, REGEX_DFA_LIMIT, REGEX_SIZE_LIMIT};
use crate::prefilter::{Candidates, Prefilter};
use crate::shared_regex::{Flavour, SharedRegex};
use regex::Regex;
use std::sync::{Arc, OnceLock};

/// A signature pattern, compiled when it is first needed: a run that
/// classifies one ticket needs few of the knowledge base's patterns, and
/// compiling all of them took most of the start-up time.
///
/// On ASCII text (nearly every line of a ticket) it runs as an ASCII-only
/// byte regex: on ASCII input `\w`, `\b`, `\s`, `.` and `(?i)` mean exactly
/// what their Unicode forms mean, and the ASCII form compiles several times
/// faster and never leaves the lazy DFA for a Unicode word boundary. Other
/// text gets the Unicode form. Both keep one matching cache for all threads
/// ([`SharedRegex`]). The reference for both is the regex the loader
/// compiles ([`LazyRegex::unicode`]).
#[derive(Debug, Clone)]
pub struct LazyRegex {
    inner: Arc<Inner>,
    /// This pattern's place in its [`PatternGroup`], when it is in one.
    pub(super) slot: Option<usize>,
}

#[derive(Debug)]
struct Inner {
    pattern: String,
    /// The regex the loader compiles to check the pattern, compiled again
    /// here only when asked for (the reference in tests).
    checked: OnceLock<Option<Regex>>,
    unicode: OnceLock<Option<SharedRegex>>,
    ascii: OnceLock<Option<SharedRegex>>,
}

impl LazyRegex {
    /// A pattern not compiled yet. Whether it compiles is the loader's
    /// question ([`LazyRegex::unicode`]); one that does not matches nothing.
    pub fn new(pattern: &str) -> LazyRegex {
        LazyRegex {
            inner: Arc::new(Inner {
                pattern: pattern.to_string(),
                checked: OnceLock::new(),
                unicode: OnceLock::new(),
                ascii: OnceLock::new(),
            }),
            slot: None,
        }
    }

    /// This pattern's place in its [`PatternGroup`], when it is in one.
    pub fn slot(&self) -> Option<usize> {
        self.slot
    }

    /// The pattern as the rule author wrote it.
    pub fn as_str(&self) -> &str {
        &self.inner.pattern
    }

    /// The pattern as the loader compiles it, None when it does not compile:
    /// the reference the forms [`LazyRegex::is_match`] runs must agree with.
    pub fn unicode(&self) -> Option<&Regex> {
        self.inner
            .checked
            .get_or_init(|| compile_regex(&self.inner.pattern).ok())
            .as_ref()
    }

    /// The Unicode form that runs on non-ASCII text: the loader's regex,
    /// with one cache for all threads.
    fn shared_unicode(&self) -> Option<&SharedRegex> {
        self.inner
            .unicode
            .get_or_init(|| {
                SharedRegex::new(
                    &ascii_word_boundaries(&self.inner.pattern),
                    Flavour::Unicode,
                    REGEX_SIZE_LIMIT,
                    REGEX_DFA_LIMIT,
                )
            })
            .as_ref()
    }

    /// The form for ASCII text: the pattern read with ASCII rules, or, when it
    /// cannot be (a non-ASCII character in a class, `\p{..}`), its Unicode
    /// reading cut down to what it matches of ASCII text (compiling the
    /// Unicode form itself cost a ticket with such a pattern among its
    /// candidates several milliseconds of start-up). None when the pattern
    /// does not compile.
    fn ascii(&self) -> Option<&SharedRegex> {
        self.inner
            .ascii
            .get_or_init(|| {
                let pattern = &self.inner.pattern;
                SharedRegex::new(
                    pattern,
                    Flavour::AsciiBytes,
                    REGEX_SIZE_LIMIT,
                    REGEX_DFA_LIMIT,
                )
                .or_else(|| SharedRegex::for_ascii_text(pattern, REGEX_SIZE_LIMIT, REGEX_DFA_LIMIT))
            })
            .as_ref()
    }

    pub fn is_match(&self, haystack: &str) -> bool {
        if haystack.is_ascii() {
            if let Some(re) = self.ascii() {
                return re.is_match(haystack.as_bytes());
            }
        }
        self.shared_unicode()
            .is_some_and(|re| re.is_match(haystack.as_bytes()))
    }
}

/// Every pattern of one kind (`Line` patterns, reply texts) of a knowledge
/// base, with one literal prefilter for all of them (built on first use):
/// one pass over a haystack says which few patterns can match it, and only
/// those run (on non-ASCII text too, so that the Unicode forms of the few
/// candidates are all that text compiles).
#[derive(Debug, Clone, Default)]
pub struct PatternGroup {
    patterns: Vec<LazyRegex>,
    prefilter: Arc<OnceLock<Prefilter>>,
}

impl PatternGroup {
    /// Groups `found`, giving each distinct pattern a slot (written back into
    /// the [`LazyRegex`]es, which the matcher keeps).
    pub(super) fn new(found: Vec<&mut LazyRegex>) -> PatternGroup {
        let mut group = PatternGroup::default();
        let mut by_text: std::collections::HashMap<String, usize> = Default::default();
        for re in found {
            let slot = *by_text.entry(re.as_str().to_string()).or_insert_with(|| {
                group.patterns.push(re.clone());
                group.patterns.len() - 1
            });
            re.slot = Some(slot);
        }
        group
    }

    pub fn len(&self) -> usize {
        self.patterns.len()
    }

    pub fn is_empty(&self) -> bool {
        self.patterns.is_empty()
    }

    fn prefilter(&self) -> &Prefilter {
        self.prefilter
            .get_or_init(|| Prefilter::new(self.patterns.iter().map(LazyRegex::as_str)))
    }

    /// How many patterns of the group the prefilter cannot rule out on any
    /// haystack (they have no literal).
    pub fn unfiltered(&self) -> usize {
        self.prefilter().unfiltered()
    }

    /// Looks at `haystack` once for every pattern of the group; then
    /// [`Scanned::matches`] answers for each.
    pub fn scan(&self, haystack: &str) -> Scanned {
        Scanned {
            candidates: self.prefilter().candidates(haystack),
            known: vec![Known::NotYet; self.len()],
        }
    }

    /// For every pattern, the first of `lines` it matches, found on demand
    /// from one prefilter pass over each line.
    pub fn lines(&self, lines: &[String]) -> FirstLines {
        let mut maybe = Vec::new();
        for (no, line) in lines.iter().enumerate() {
            let scanned = self.scan(line);
            if !scanned.candidates.is_empty() {
                maybe.push((no, scanned.candidates));
            }
        }
        FirstLines {
            maybe,
            first: vec![None; self.len()],
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Known {
    NotYet,
    No,
    Yes,
}

/// What [`PatternGroup::scan`] found in one haystack.
#[derive(Debug, Clone)]
pub struct Scanned {
    /// The patterns that may match.
    candidates: Candidates,
    /// By slot: answers already given.
    known: Vec<Known>,
}

impl Scanned {
    /// Whether `re` (a pattern of the group, or any other) matches `haystack`,
    /// the haystack this was scanned from.
    pub fn matches(&mut self, re: &LazyRegex, haystack: &str) -> bool {
        let Some(slot) = re.slot.filter(|&s| s < self.known.len()) else {
            return re.is_match(haystack);
        };
        match self.known[slot] {
            Known::Yes => return true,
            Known::No => return false,
            Known::NotYet => {}
        }
        let hit = self.candidates.contains(slot) && re.is_match(haystack);
        self.known[slot] = if hit { Known::Yes } else { Known::No };
        hit
    }
}

/// The first line each pattern of a group matches (see [`PatternGroup::lines`]).
#[derive(Debug, Clone)]
pub struct FirstLines {
    /// The lines some pattern may match: index, and the patterns that may.
    maybe: Vec<(usize, Candidates)>,
    /// By slot: the answer, once asked.
    first: Vec<Option<Option<usize>>>,
}

impl FirstLines {
    /// The 0-based index of the first line `re` (a pattern of the group this
    /// came from) matches; the same as trying it on each line in turn.
    pub fn get(&mut self, re: &LazyRegex, lines: &[String]) -> Option<usize> {
        let Some(slot) = re.slot.filter(|&s| s < self.first.len()) else {
            return lines.iter().position(|l| re.is_match(l));
        };
        if let Some(known) = self.first[slot] {
            return known;
        }
        let found = self
            .maybe
            .iter()
            .filter(|(_, c)| c.contains(slot))
            .map(|&(no, _)| no)
            .find(|&no| re.is_match(&lines[no]));
        self.first[slot] = Some(found);
        found
    }
}

#[cfg(test)]
mod tests {
    use crate::kb::KnowledgeBase;
    use std::collections::BTreeSet;

    /// The build's table of prefilter literals (see [`crate::prefilter`])
    /// holds exactly the patterns of the embedded knowledge base's groups:
    /// a pattern the build script misses would be parsed on every start.
    #[test]
    fn build_computed_the_literals_of_every_embedded_pattern() {
        let kb = KnowledgeBase::embedded().expect("the embedded rules load");
        let grouped: BTreeSet<&str> = [kb.line_patterns(), kb.reply_patterns()]
            .into_iter()
            .flat_map(|g| g.patterns.iter().map(|p| p.as_str()))
            .collect();
        let built: BTreeSet<&str> = crate::prefilter::built_patterns().collect();
        let missed: Vec<_> = grouped.difference(&built).collect();
        let stale: Vec<_> = built.difference(&grouped).collect();
        assert!(
            missed.is_empty(),
            "patterns build.rs did not find: {missed:#?}"
        );
        assert!(
            stale.is_empty(),
            "patterns build.rs found that no group holds: {stale:#?}"
        );
    }
}
