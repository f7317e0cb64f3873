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
use regex_automata::util::syntax;
use regex_automata::{Input, MatchKind};
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
        let config = meta::Config::new()
            .nfa_size_limit(Some(size_limit))
            .hybrid_cache_capacity(dfa_size_limit)
            .match_kind(MatchKind::LeftmostFirst)
            .utf8_empty(utf8);
        let syntax = syntax::Config::default().unicode(utf8).utf8(utf8);
        let re = meta::Builder::new()
            .configure(config)
            .syntax(syntax)
            .build(pattern)
            .ok()?;
        Some(SharedRegex {
            re,
            cache: Mutex::new(None),
        })
    }

    /// Whether the regex matches anywhere in `haystack` (which must be
    /// UTF-8 for the [`Flavour::Unicode`] flavour).
    pub fn is_match(&self, haystack: &[u8]) -> bool {
        let input = Input::new(haystack).earliest(true);
        match self.cache.try_lock() {
            Ok(mut slot) => {
                let cache = slot.get_or_insert_with(|| Box::new(self.re.create_cache()));
                self.re.search_half_with(cache, &input).is_some()
            }
            // Another thread is searching with this regex, or one panicked
            // while it did: a cache of its own for this one search.
            Err(TryLockError::WouldBlock | TryLockError::Poisoned(_)) => {
                let mut cache = self.re.create_cache();
                self.re.search_half_with(&mut cache, &input).is_some()
            }
        }
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
}
