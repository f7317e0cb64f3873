//! A bounded, seeded mutation fuzzer for the evidence parsers, the engine,
//! the JSON Lines reader and the RON rule loader. Runs on stable Rust (no
//! cargo-fuzz / libFuzzer needed):
//!
//! ```sh
//! cargo run --release --example fuzz -- --target all --seconds 180 --seed 1
//! ```
//!
//! Seeds are the labelled transcripts (`transcripts/`), the shipped rules
//! (`rules/`) and, with `--corpus DIR`, any other folder of samples (e.g.
//! `../shared/corpus/sisimai`). Every input runs under `catch_unwind`; a
//! panicking input is written to `target/fuzz-findings/` and counted. The
//! slowest input per target is reported, to catch super-linear paths.

use mailtriage::classify::classify;
use mailtriage::engine::Answers;
use mailtriage::evidence::Evidence;
use mailtriage::kb::{embedded_sources, KnowledgeBase};
use mailtriage::ticket::{self, Ticket};
use std::collections::BTreeMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// xorshift64*: small, seeded, reproducible.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// Byte strings that steer the parsers into their corners.
const TOKENS: &[&[u8]] = &[
    b"\r",
    b"\r\n",
    b"\n",
    b"\t",
    b"\0",
    b"\xff",
    b"\xc3",
    b"\x1b[",
    b"\x1b]0;",
    b"\x07",
    b"\x1b\\",
    b"\n334 ",
    b"AUTH PLAIN ",
    b"AUTH LOGIN\n",
    b"235 ",
    b"535 5.7.8 ",
    b"250-",
    b"550-5.1.1 ",
    b"5.7.",
    b"Status: ",
    b"Final-Recipient: rfc822; ",
    b"Diagnostic-Code: smtp; ",
    b"Trying ",
    b"Connected to ",
    b"Connection timed out",
    b"NXDOMAIN",
    b"in-addr.arpa name = ",
    b"(",
    b")",
    b"[",
    b"]",
    b"\"",
    b"\\",
    b"Reply(",
    b"Line(\"",
    b"Any([",
    b"Fact(\"",
    b"id: \"",
    b"then: \"",
    b"(?=",
    b"\\1",
    b"{9999}",
];

fn mutate(rng: &mut Rng, input: &mut Vec<u8>, corpus: &[Vec<u8>]) {
    for _ in 0..1 + rng.below(8) {
        let len = input.len();
        match rng.below(8) {
            0 if len > 0 => {
                let i = rng.below(len);
                input[i] ^= 1 << rng.below(8);
            }
            1 if len > 0 => {
                let i = rng.below(len);
                let n = rng.below(16).min(len - i);
                input.drain(i..i + n);
            }
            2 => {
                let token = TOKENS[rng.below(TOKENS.len())];
                let i = rng.below(len + 1);
                input.splice(i..i, token.iter().copied());
            }
            3 if len > 0 => {
                let i = rng.below(len);
                let n = rng.below(64).min(len - i);
                let chunk = input[i..i + n].to_vec();
                let at = rng.below(len + 1);
                input.splice(at..at, chunk);
            }
            4 => {
                let other = &corpus[rng.below(corpus.len())];
                if !other.is_empty() {
                    let i = rng.below(other.len());
                    let n = rng.below(256).min(other.len() - i);
                    let at = rng.below(len + 1);
                    input.splice(at..at, other[i..i + n].iter().copied());
                }
            }
            5 if len > 0 => {
                // a long run, for the linear-time paths
                let b = input[rng.below(len)];
                let at = rng.below(len + 1);
                input.splice(at..at, std::iter::repeat_n(b, 1 + rng.below(20_000)));
            }
            6 if len > 0 => {
                let i = rng.below(len);
                input[i] = rng.next() as u8;
            }
            _ => input.truncate(rng.below(len + 1)),
        }
    }
    input.truncate(1 << 20);
}

fn files_below(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            files_below(&path, out);
        } else {
            out.push(path);
        }
    }
}

fn read_corpus(dirs: &[PathBuf]) -> Vec<Vec<u8>> {
    let mut paths = Vec::new();
    for dir in dirs {
        files_below(dir, &mut paths);
    }
    paths.sort();
    paths
        .iter()
        .filter_map(|p| std::fs::read(p).ok())
        .filter(|b| b.len() < 1 << 20)
        .collect()
}

type Run = Box<dyn Fn(&[u8])>;

struct Target {
    name: &'static str,
    run: Run,
    seeds: Vec<Vec<u8>>,
}

fn targets(corpus_dirs: &[PathBuf]) -> Vec<Target> {
    let kb = std::sync::Arc::new(KnowledgeBase::embedded().expect("the embedded rules load"));
    let transcripts = read_corpus(corpus_dirs);
    let rules: Vec<Vec<u8>> = embedded_sources()
        .into_iter()
        .map(|f| f.text.into_bytes())
        .collect();
    let kb2 = kb.clone();
    vec![
        Target { name: "evidence", run: Box::new(|b| drop(Evidence::from_bytes(b))), seeds: transcripts.clone() },
        Target {
            name: "engine",
            run: Box::new(move |b| {
                let t = Ticket { id: "f".into(), text: b.to_vec(), answers: BTreeMap::new(), notes: vec![] };
                drop(classify(&kb2, &t, &Answers::new()));
            }),
            seeds: transcripts.clone(),
        },
        Target {
            name: "jsonl",
            run: Box::new(|b| ticket::for_each_record("f", b, drop)),
            seeds: transcripts
                .iter()
                .take(50)
                .map(|t| {
                    let rec = serde_json::json!({"id": 1, "transcript": String::from_utf8_lossy(t), "answers": {"receive_works": "yes"}});
                    format!("{rec}\n").into_bytes()
                })
                .collect(),
        },
        Target {
            name: "ron",
            // one rule file replaced by the input, the others as shipped
            run: Box::new(|b| {
                let mut files = embedded_sources();
                let i = b.first().map(|x| *x as usize % files.len()).unwrap_or(0);
                files[i].text = String::from_utf8_lossy(b.get(1..).unwrap_or_default()).into_owned();
                drop(KnowledgeBase::from_sources(&files));
            }),
            seeds: rules.iter().enumerate().map(|(i, r)| [&[i as u8][..], r].concat()).collect(),
        },
    ]
}

struct Options {
    target: String,
    seconds: u64,
    seed: u64,
    corpus: Vec<PathBuf>,
}

fn options() -> Options {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut o = Options {
        target: "all".into(),
        seconds: 60,
        seed: 1,
        corpus: vec![root.join("transcripts")],
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().unwrap_or_else(|| panic!("{arg} needs a value"));
        match arg.as_str() {
            "--target" => o.target = value(),
            "--seconds" => o.seconds = value().parse().expect("--seconds N"),
            "--seed" => o.seed = value().parse().expect("--seed N"),
            "--corpus" => o.corpus.push(PathBuf::from(value())),
            other => panic!("unknown argument {other}; use --target evidence|engine|jsonl|ron|all --seconds N --seed N --corpus DIR"),
        }
    }
    o
}

fn main() {
    let o = options();
    let out_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/fuzz-findings");
    let last_panic = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
    let hook_panic = last_panic.clone();
    std::panic::set_hook(Box::new(move |info| {
        *hook_panic.lock().unwrap() = info.to_string()
    }));
    let chosen: Vec<Target> = targets(&o.corpus)
        .into_iter()
        .filter(|t| o.target == "all" || o.target == t.name)
        .collect();
    assert!(!chosen.is_empty(), "no target named {}", o.target);
    let mut failed = false;
    for target in chosen {
        let mut rng = Rng(o.seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
        let until = Instant::now() + Duration::from_secs(o.seconds);
        let (mut runs, mut panics) = (0u64, 0u64);
        let mut slowest = (Duration::ZERO, Vec::new());
        while Instant::now() < until {
            let mut input = target.seeds[rng.below(target.seeds.len())].clone();
            mutate(&mut rng, &mut input, &target.seeds);
            let started = Instant::now();
            let outcome = catch_unwind(AssertUnwindSafe(|| (target.run)(&input)));
            let took = started.elapsed();
            if took > slowest.0 {
                slowest = (took, input.clone());
            }
            runs += 1;
            if outcome.is_err() {
                panics += 1;
                std::fs::create_dir_all(&out_dir).unwrap();
                let path = out_dir.join(format!("{}-{runs}.bin", target.name));
                std::fs::write(&path, &input).unwrap();
                eprintln!(
                    "{}: panic on {} ({} bytes): {}",
                    target.name,
                    path.display(),
                    input.len(),
                    last_panic.lock().unwrap()
                );
            }
        }
        failed |= panics > 0;
        std::fs::create_dir_all(&out_dir).unwrap();
        let slow_path = out_dir.join(format!("{}-slowest.bin", target.name));
        std::fs::write(&slow_path, &slowest.1).unwrap();
        println!(
            "{:<9} {runs:>8} inputs in {}s, {panics} panics, slowest {:?} on {} bytes ({})",
            target.name,
            o.seconds,
            slowest.0,
            slowest.1.len(),
            slow_path.display()
        );
    }
    std::process::exit(i32::from(failed));
}
