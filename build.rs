//! Computes, ahead of time, the prefilter literals of the embedded rules'
//! patterns (see the `prefilter` module): `$OUT_DIR/literals.rs` holds, for
//! every `Line` pattern and reply-text pattern of `rules/signatures/*.ron`,
//! what `required_literals` gives, sorted by pattern.
//!
//! The table is a cache: a pattern it misses is parsed at run time, so the
//! small RON lexer here only has to find the strings, and the tests check
//! that it found every one.

use std::fmt::Write as _;
use std::path::Path;

#[path = "src/prefilter/literals.rs"]
mod literals;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=src/prefilter/literals.rs");
    println!("cargo:rerun-if-changed=rules");
    let root = std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    let dir = Path::new(&root).join("rules").join("signatures");
    let mut patterns = Vec::new();
    if let Ok(entries) = std::fs::read_dir(&dir) {
        for entry in entries.flatten() {
            let path = entry.path();
            if path.extension().is_some_and(|e| e == "ron") {
                if let Ok(text) = std::fs::read_to_string(&path) {
                    patterns_in(&text, &mut patterns);
                }
            }
        }
    }
    patterns.sort();
    patterns.dedup();
    let mut out = String::from(
        "/// The prefilter literals of the embedded rules' patterns, by pattern\n\
         /// (written by build.rs).\n\
         static BUILT_LITERALS: &[(&str, Option<&[&[u8]]>)] = &[\n",
    );
    for pattern in &patterns {
        let set = match literals::required_literals(pattern) {
            Some(set) => {
                let strings: Vec<String> = set.iter().map(|s| byte_string(s)).collect();
                format!("Some(&[{}])", strings.join(", "))
            }
            None => "None".to_string(),
        };
        writeln!(out, "    ({pattern:?}, {set}),").unwrap();
    }
    out.push_str("];\n");
    let out_dir = std::env::var("OUT_DIR").expect("cargo sets OUT_DIR");
    std::fs::write(Path::new(&out_dir).join("literals.rs"), out).expect("OUT_DIR is writable");
}

/// `bytes` as a Rust byte-string literal.
fn byte_string(bytes: &[u8]) -> String {
    let escaped: String = bytes
        .iter()
        .flat_map(|&b| std::ascii::escape_default(b))
        .map(char::from)
        .collect();
    format!("b\"{escaped}\"")
}

/// A token of RON, as far as finding patterns needs.
#[derive(PartialEq)]
enum Token<'a> {
    Ident(&'a str),
    Punct(u8),
    Str,
}

/// Adds to `out` the strings of `text` that follow `Line(` or `text:`: the
/// `Line` patterns and reply-text patterns, the ones the knowledge base
/// groups behind a prefilter.
fn patterns_in(text: &str, out: &mut Vec<String>) {
    let b = text.as_bytes();
    let mut recent: [Option<Token>; 2] = [None, None];
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        let token = if c.is_ascii_whitespace() {
            i += 1;
            continue;
        } else if b[i..].starts_with(b"//") {
            i += b[i..]
                .iter()
                .position(|&c| c == b'\n')
                .unwrap_or(b.len() - i);
            continue;
        } else if b[i..].starts_with(b"/*") {
            i = skip_block_comment(b, i);
            continue;
        } else if c == b'"' || (c == b'r' && raw_start(b, i).is_some()) {
            let (value, end) = if c == b'"' {
                escaped_string(text, i)
            } else {
                raw_string(text, i)
            };
            i = end;
            let wanted = matches!(
                recent,
                [Some(Token::Ident("Line")), Some(Token::Punct(b'('))]
                    | [Some(Token::Ident("text")), Some(Token::Punct(b':'))]
            );
            if let (true, Some(value)) = (wanted, value) {
                out.push(value);
            }
            Token::Str
        } else if c == b'\'' {
            // a char literal
            i += if b.get(i + 1) == Some(&b'\\') { 2 } else { 1 };
            while i < b.len() && b[i] != b'\'' {
                i += 1;
            }
            i += 1;
            Token::Str
        } else if c.is_ascii_alphanumeric() || c == b'_' {
            let start = i;
            while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_') {
                i += 1;
            }
            Token::Ident(&text[start..i])
        } else {
            i += 1;
            Token::Punct(c)
        };
        recent.swap(0, 1);
        recent[1] = Some(token);
    }
}

fn skip_block_comment(b: &[u8], mut i: usize) -> usize {
    let mut depth = 0;
    while i < b.len() {
        if b[i..].starts_with(b"/*") {
            depth += 1;
            i += 2;
        } else if b[i..].starts_with(b"*/") {
            depth -= 1;
            i += 2;
            if depth == 0 {
                break;
            }
        } else {
            i += 1;
        }
    }
    i
}

/// At an `r` that starts a raw string (`r"`, `r#"`, ...): the number of `#`.
fn raw_start(b: &[u8], i: usize) -> Option<usize> {
    if i > 0 && (b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b'_') {
        return None;
    }
    let hashes = b[i + 1..].iter().take_while(|&&c| c == b'#').count();
    (b.get(i + 1 + hashes) == Some(&b'"')).then_some(hashes)
}

/// The raw string at `i`, and where it ends.
fn raw_string(text: &str, i: usize) -> (Option<String>, usize) {
    let b = text.as_bytes();
    let hashes = raw_start(b, i).unwrap_or(0);
    let start = i + 2 + hashes;
    let mut close = String::from("\"");
    close.push_str(&"#".repeat(hashes));
    match text[start..].find(&close) {
        Some(len) => (
            Some(text[start..start + len].to_string()),
            start + len + close.len(),
        ),
        None => (None, b.len()),
    }
}

/// The escaped string at `i` (its value, None when an escape is not one
/// this reads), and where it ends.
fn escaped_string(text: &str, i: usize) -> (Option<String>, usize) {
    let mut value = Some(String::new());
    let mut chars = text[i + 1..].char_indices();
    while let Some((at, c)) = chars.next() {
        match c {
            '"' => return (value, i + 1 + at + 1),
            '\\' => {
                let unescaped = match chars.next().map(|(_, c)| c) {
                    Some('"') => Some('"'),
                    Some('\'') => Some('\''),
                    Some('\\') => Some('\\'),
                    Some('n') => Some('\n'),
                    Some('r') => Some('\r'),
                    Some('t') => Some('\t'),
                    Some('0') => Some('\0'),
                    _ => None,
                };
                match (unescaped, value.as_mut()) {
                    (Some(c), Some(v)) => v.push(c),
                    // \x, \u{...} and the like: leave this pattern to run time
                    _ => value = None,
                }
            }
            c => {
                if let Some(v) = value.as_mut() {
                    v.push(c);
                }
            }
        }
    }
    (None, text.len())
}
