//! The strings a pattern's matches must contain, for the prefilter.
//!
//! This file uses nothing of the crate but `regex-syntax`: the build script
//! includes it too, to compute the literals of the embedded rules' patterns
//! ahead of time (parsing those long patterns took half of a run's
//! start-up).

use regex_syntax::hir::{Class, Hir, HirKind};

/// Sets larger than this are not multiplied out further.
const MAX_SET: usize = 64;
/// Literals are cut to this length: a haystack that holds a literal holds
/// its start, and short literals make a small automaton.
const MAX_LEN: usize = 8;
/// Among requirement sets whose shortest string is at least this long, the
/// one with fewer strings is preferred (they pass about as few haystacks).
const GOOD_LEN: usize = 5;

/// Strings (lower-case ASCII) one of which every match of `pattern` contains,
/// ignoring ASCII case; None when there is no such set worth using.
pub fn required_literals(pattern: &str) -> Option<Vec<Vec<u8>>> {
    // The ASCII reading, which is how the pattern runs on ASCII text; a
    // pattern with a non-ASCII character in a class (`[äa]`) has none, and
    // is read with Unicode rules instead: its literals hold for the Unicode
    // form, which matches what the ASCII form does on ASCII text.
    let hir = parse(pattern, false).or_else(|| parse(pattern, true))?;
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

fn parse(pattern: &str, unicode: bool) -> Option<Hir> {
    regex_syntax::ParserBuilder::new()
        .unicode(unicode)
        .utf8(unicode)
        .build()
        .parse(pattern)
        .ok()
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
                    // Unicode `(?i)` adds the Kelvin sign to k and the long
                    // s to s; the prefilter folds both in the haystack
                    let ch = match ch {
                        '\u{212A}' => 'k',
                        '\u{17F}' => 's',
                        ch if ch.is_ascii() => ch,
                        _ => return None,
                    };
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
    fn a_pattern_with_non_ascii_in_a_class_is_read_with_unicode_rules() {
        // no ASCII reading: `[äa]` holds a character outside ASCII
        assert_eq!(
            lits(r"(?i)\bpasswor[dt]\b.{0,25}ge[äa]ndert"),
            Some(vec!["ndert".into()])
        );
        // the Kelvin sign and the long s of Unicode `(?i)` read as k and s
        assert_eq!(lits(r"(?i)\bmask\b.{0,9}[éè]"), Some(vec!["mask".into()]));
        // a case-insensitive non-ASCII letter ends a literal run
        assert_eq!(
            lits(r"(?i)pi[eè]ces? jointes?"),
            Some(vec![" jointe".into()])
        );
    }
}
