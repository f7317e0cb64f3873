//! A regex whose matching cache all threads share.
//!
//! The regex crate gives each thread that runs a regex its own matching
//! cache (the lazy DFA's states, the PikeVM's and backtracker's scratch),
//! and keeps it for the life of the regex. With some 300 patterns run per
//! batch, each thread's caches added about 20 MiB to a two-thread run,
//! although two threads seldom run the same pattern at the same moment.
//!
//! [`SharedRegex`] keeps one cache per regex: a search takes it when it is
//! free and otherwise (another thread is searching with this very regex)
//! searches with a fresh cache that is dropped afterwards. The regex is the
//! regex crate's own engine (`regex_automata::meta`) built with the settings
//! `regex::RegexBuilder` and `regex::bytes::RegexBuilder` use, so it matches
//! exactly what they match (`tests/compiled_patterns.rs` compares it with
//! `regex::Regex` on every knowledge-base pattern).

use regex_automata::meta::{self, Cache};
use regex_automata::util::iter::Searcher;
use regex_automata::util::syntax;
use regex_automata::{Input, MatchKind};
use regex_syntax::hir::{
    Capture, Class, ClassBytes, ClassBytesRange, Hir, HirKind, Look, Repetition,
};
use std::sync::{Mutex, TryLockError};

#[derive(Debug)]
pub struct SharedRegex {
    re: meta::Regex,
    cache: Mutex<Option<Box<Cache>>>,
}

/// How a [`SharedRegex`] reads its pattern and its haystacks.
#[derive(Debug, Clone, Copy)]
pub enum Flavour {
    /// As `regex::Regex`: Unicode rules, haystacks are `str`.
    Unicode,
    /// As `regex::bytes::RegexBuilder::unicode(false)`: ASCII rules, any bytes.
    AsciiBytes,
}

impl SharedRegex {
    /// Compiles `pattern` as the regex crate would with these limits
    /// (`size_limit`, `dfa_size_limit`); None when it does not compile.
    pub fn new(
        pattern: &str,
        flavour: Flavour,
        size_limit: usize,
        dfa_size_limit: usize,
    ) -> Option<SharedRegex> {
        let utf8 = matches!(flavour, Flavour::Unicode);
        let syntax = syntax::Config::default().unicode(utf8).utf8(utf8);
        meta::Builder::new()
            .configure(config(size_limit, dfa_size_limit, utf8))
            .syntax(syntax)
            .build(pattern)
            .ok()
            .map(SharedRegex::of)
    }

    fn of(re: meta::Regex) -> SharedRegex {
        SharedRegex {
            re,
            cache: Mutex::new(None),
        }
    }

    /// `pattern` as `regex::Regex::new` compiles it (with the regex crate's
    /// default limits), for a pattern written in the code.
    ///
    /// # Panics
    /// When the pattern does not compile.
    pub fn unicode(pattern: &str) -> SharedRegex {
        SharedRegex::new(pattern, Flavour::Unicode, 10 << 20, 2 << 20)
            .unwrap_or_else(|| panic!("pattern {pattern:?} does not compile"))
    }

    /// [`SharedRegex::is_match`] on text.
    pub fn is_match_str(&self, haystack: &str) -> bool {
        self.is_match(haystack.as_bytes())
    }

    /// `pattern` read with Unicode rules, for ASCII haystacks only: every
    /// class keeps only its ASCII members, a literal with a non-ASCII
    /// character matches nothing, and word boundaries are ASCII ones. On an
    /// ASCII haystack that matches exactly what the pattern matches, and it
    /// compiles where `Flavour::AsciiBytes` cannot (a non-ASCII character in
    /// a class, `\p{..}`), at the cost of the ASCII form, not the Unicode
    /// one. None when the pattern does not compile.
    pub fn for_ascii_text(
        pattern: &str,
        size_limit: usize,
        dfa_size_limit: usize,
    ) -> Option<SharedRegex> {
        let hir = regex_syntax::ParserBuilder::new()
            .build()
            .parse(pattern)
            .ok()?;
        meta::Builder::new()
            .configure(config(size_limit, dfa_size_limit, false))
            .build_from_hir(&ascii_only(hir))
            .ok()
            .map(SharedRegex::of)
    }

    /// Whether the regex matches anywhere in `haystack` (which must be
    /// UTF-8 for the [`Flavour::Unicode`] flavour).
    pub fn is_match(&self, haystack: &[u8]) -> bool {
        let input = Input::new(haystack).earliest(true);
        self.with_cache(|cache| self.re.search_half_with(cache, &input).is_some())
    }

    /// Whether one of the matches in `haystack`, found left to right as
    /// `regex::Regex::find_iter` finds them, starts where `keep` accepts.
    pub fn any_match_start(&self, haystack: &str, mut keep: impl FnMut(usize) -> bool) -> bool {
        self.with_cache(|cache| {
            let mut matches = Searcher::new(Input::new(haystack));
            while let Some(m) = matches.advance(|input| Ok(self.re.search_with(cache, input))) {
                if keep(m.start()) {
                    return true;
                }
            }
            false
        })
    }

    /// Runs `search` with the regex's own cache when it is free.
    fn with_cache<T>(&self, search: impl FnOnce(&mut Cache) -> T) -> T {
        match self.cache.try_lock() {
            Ok(mut slot) => search(slot.get_or_insert_with(|| Box::new(self.re.create_cache()))),
            // Another thread is searching with this regex, or one panicked
            // while it did: a cache of its own for this one search.
            Err(TryLockError::WouldBlock | TryLockError::Poisoned(_)) => {
                search(&mut self.re.create_cache())
            }
        }
    }
}

/// The settings `regex::RegexBuilder` gives its engine, with these limits.
fn config(size_limit: usize, dfa_size_limit: usize, utf8: bool) -> meta::Config {
    meta::Config::new()
        .nfa_size_limit(Some(size_limit))
        .hybrid_cache_capacity(dfa_size_limit)
        .match_kind(MatchKind::LeftmostFirst)
        .utf8_empty(utf8)
}

/// What `hir` matches of ASCII text (see [`SharedRegex::for_ascii_text`]).
fn ascii_only(hir: Hir) -> Hir {
    match hir.into_kind() {
        HirKind::Literal(lit) if !lit.0.is_ascii() => Hir::fail(),
        // the ranges are sorted: the ASCII ones come first
        HirKind::Class(Class::Unicode(class)) => Hir::class(Class::Bytes(ClassBytes::new(
            class
                .ranges()
                .iter()
                .take_while(|r| r.start().is_ascii())
                .map(|r| ClassBytesRange::new(r.start() as u8, r.end().min('\x7F') as u8)),
        ))),
        HirKind::Class(Class::Bytes(class)) => Hir::class(Class::Bytes(ClassBytes::new(
            class
                .ranges()
                .iter()
                .take_while(|r| r.start().is_ascii())
                .map(|r| ClassBytesRange::new(r.start(), r.end().min(0x7F))),
        ))),
        HirKind::Look(look) => Hir::look(match look {
            Look::WordUnicode => Look::WordAscii,
            Look::WordUnicodeNegate => Look::WordAsciiNegate,
            Look::WordStartUnicode => Look::WordStartAscii,
            Look::WordEndUnicode => Look::WordEndAscii,
            Look::WordStartHalfUnicode => Look::WordStartHalfAscii,
            Look::WordEndHalfUnicode => Look::WordEndHalfAscii,
            other => other,
        }),
        HirKind::Repetition(rep) => Hir::repetition(Repetition {
            sub: Box::new(ascii_only(*rep.sub)),
            ..rep
        }),
        HirKind::Capture(cap) => Hir::capture(Capture {
            sub: Box::new(ascii_only(*cap.sub)),
            ..cap
        }),
        HirKind::Concat(subs) => Hir::concat(subs.into_iter().map(ascii_only).collect()),
        HirKind::Alternation(subs) => Hir::alternation(subs.into_iter().map(ascii_only).collect()),
        HirKind::Empty => Hir::empty(),
        HirKind::Literal(lit) => Hir::literal(lit.0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_search_while_the_cache_is_taken_gives_the_same_answer() {
        let re = SharedRegex::new(r"(?i)\bfoo\w+", Flavour::AsciiBytes, 1 << 20, 1 << 20).unwrap();
        assert!(re.is_match(b"x FOObar"));
        let held = re.cache.lock().unwrap();
        assert!(re.is_match(b"x FOObar"));
        assert!(!re.is_match(b"xfoobar"));
        drop(held);
        assert!(!re.is_match(b"xfoobar"));
    }

    #[test]
    fn match_starts_are_those_find_iter_gives() {
        let pattern = r"(?i)not delivered|undeliverable|";
        let re = SharedRegex::unicode(pattern);
        let reference = regex::Regex::new(pattern).unwrap();
        for text in ["", "Undeliverable: not delivered", "é undeliverable"] {
            let want: Vec<usize> = reference.find_iter(text).map(|m| m.start()).collect();
            let mut got = Vec::new();
            assert!(!re.any_match_start(text, |start| {
                got.push(start);
                false
            }));
            assert_eq!(got, want, "{text:?}");
        }
        assert!(re.any_match_start("x not delivered", |start| start == 2));
    }

    #[test]
    fn the_flavours_read_text_as_the_regex_crate_does() {
        let unicode = SharedRegex::new(r"(?i)^\w+k$", Flavour::Unicode, 1 << 20, 1 << 20).unwrap();
        let ascii = SharedRegex::new(r"(?i)^\w+k$", Flavour::AsciiBytes, 1 << 20, 1 << 20).unwrap();
        // the Kelvin sign folds to k, and é is a word character, under Unicode rules only
        let text = "héllo\u{212A}";
        let reference = regex::Regex::new(r"(?i)^\w+k$").unwrap();
        assert!(reference.is_match(text));
        assert!(unicode.is_match(text.as_bytes()));
        assert!(!ascii.is_match(text.as_bytes()));
        assert!(ascii.is_match(b"hellok"));
    }

    #[test]
    fn the_ascii_reading_of_a_unicode_pattern_matches_the_same_ascii_text() {
        let patterns = [
            r"(?i)\banh[äa]ng\w*\b.{0,10}\bmb\b",
            r"(?i)r[ée]ception\b[^.;!?]*\bfunciona|zurückgesetzt|\bk\b",
            r"\p{Greek}|\bfoo\B",
            r"(?i)^\s*stra(?:ss|ß)e\s*$",
        ];
        let texts = [
            "Anhang 12 MB",
            "ANHANGE mit 40mb",
            "reception not funciona",
            "reception. funciona",
            "zuruckgesetzt",
            "K",
            "foox",
            "foo bar",
            "  STRASSE ",
            "strae",
        ];
        for pattern in patterns {
            let reference = regex::Regex::new(pattern).unwrap();
            let ascii = SharedRegex::for_ascii_text(pattern, 1 << 20, 1 << 20).unwrap();
            for text in texts {
                assert_eq!(
                    ascii.is_match(text.as_bytes()),
                    reference.is_match(text),
                    "{pattern} on {text:?}"
                );
            }
        }
    }
}
