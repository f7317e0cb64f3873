//! Measurement against the Sisimai bounce corpus: classifies every email
//! of a corpus folder (`emails/**`), compares the per-recipient `reason`s
//! with the records Sisimai's own tests expect (`labels.tsv`: path, reason,
//! status; a file with several records has several rows, compared as a
//! multiset), and reports agreement per record, per file and per reason,
//! with the disagreeing files listed.
//!
//! Owns: reading the corpus and labels, the comparison and its report.
//! Must not touch: classification itself (it calls [`crate::classify`]).

use crate::classify::{classify, TicketResult};
use crate::kb::KnowledgeBase;
use crate::ticket::Ticket;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

#[derive(Debug, thiserror::Error)]
pub enum SisimaiError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}:{line}: expected `path<TAB>reason<TAB>status`")]
    Label { path: PathBuf, line: usize },
}

/// One email of the corpus and how it came out.
#[derive(Debug, Clone)]
pub struct FileOutcome {
    /// Path relative to the corpus folder, `/`-separated.
    pub path: String,
    /// The reasons Sisimai's tests expect (empty when unlabelled).
    pub expected: Vec<String>,
    /// One reason per recipient (or the ticket's, with no recipient named).
    pub got: Vec<String>,
    /// How many expected records found a matching reason.
    pub agreed: usize,
    /// Set when classifying the file panicked.
    pub panic: Option<String>,
}

impl FileOutcome {
    pub fn labelled(&self) -> bool {
        !self.expected.is_empty()
    }

    /// Every expected record matched and nothing extra was reported.
    pub fn agrees(&self) -> bool {
        self.agreed == self.expected.len() && self.got.len() == self.expected.len()
    }
}

/// The whole measurement.
#[derive(Debug, Clone)]
pub struct Measurement {
    pub files: Vec<FileOutcome>,
    pub elapsed: Duration,
}

impl Measurement {
    pub fn labelled(&self) -> impl Iterator<Item = &FileOutcome> {
        self.files.iter().filter(|f| f.labelled())
    }

    /// Agreeing and labelled records.
    pub fn records(&self) -> (usize, usize) {
        self.labelled()
            .fold((0, 0), |(a, t), f| (a + f.agreed, t + f.expected.len()))
    }

    /// Agreeing and labelled files.
    pub fn file_agreement(&self) -> (usize, usize) {
        self.labelled()
            .fold((0, 0), |(a, t), f| (a + usize::from(f.agrees()), t + 1))
    }

    pub fn record_rate(&self) -> f64 {
        let (agreed, total) = self.records();
        if total == 0 {
            0.0
        } else {
            agreed as f64 / total as f64
        }
    }

    pub fn panics(&self) -> Vec<&FileOutcome> {
        self.files.iter().filter(|f| f.panic.is_some()).collect()
    }

    /// Files for which no recipient got any reason but `undefined`/`onhold`.
    pub fn unclassified(&self) -> Vec<&FileOutcome> {
        self.files
            .iter()
            .filter(|f| f.got.is_empty() || f.got.iter().all(|r| r == "undefined" || r == "onhold"))
            .collect()
    }

    /// Per expected reason: (agreed, total, what came out instead).
    pub fn per_reason(&self) -> BTreeMap<String, (usize, usize, BTreeMap<String, usize>)> {
        let mut table: BTreeMap<String, (usize, usize, BTreeMap<String, usize>)> = BTreeMap::new();
        for f in self.labelled() {
            let mut unmatched_got = f.got.clone();
            let mut missed = Vec::new();
            for want in &f.expected {
                let entry = table.entry(want.clone()).or_default();
                entry.1 += 1;
                match unmatched_got.iter().position(|g| g == want) {
                    Some(i) => {
                        unmatched_got.remove(i);
                        entry.0 += 1;
                    }
                    None => missed.push(want.clone()),
                }
            }
            for (want, got) in missed.iter().zip(
                unmatched_got
                    .iter()
                    .chain(std::iter::repeat(&"(none)".to_string())),
            ) {
                *table
                    .get_mut(want)
                    .expect("counted above")
                    .2
                    .entry(got.clone())
                    .or_default() += 1;
            }
        }
        table
    }

    /// The report `mailtriage eval --sisimai` prints.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let (ra, rt) = self.records();
        let (fa, ft) = self.file_agreement();
        let secs = self.elapsed.as_secs_f64().max(1e-9);
        let _ = writeln!(
            out,
            "files read: {}  panics: {}  unclassified: {}  ({:.0} files/s)",
            self.files.len(),
            self.panics().len(),
            self.unclassified().len(),
            self.files.len() as f64 / secs
        );
        let _ = writeln!(out, "per record: {ra}/{rt} = {:.1}%", pct(ra, rt));
        let _ = writeln!(out, "per file:   {fa}/{ft} = {:.1}%", pct(fa, ft));
        let _ = writeln!(out, "\n{:<16} {:>9} {:>7}  instead", "reason", "agree", "%");
        for (reason, (agreed, total, instead)) in self.per_reason() {
            let mut others: Vec<_> = instead.into_iter().collect();
            others.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
            let others = others
                .iter()
                .map(|(r, n)| format!("{r} {n}"))
                .collect::<Vec<_>>()
                .join(", ");
            let _ = writeln!(
                out,
                "{reason:<16} {:>9} {:>6.1}%  {others}",
                format!("{agreed}/{total}"),
                pct(agreed, total)
            );
        }
        let _ = writeln!(out, "\ndisagreeing files:");
        for f in self.labelled().filter(|f| !f.agrees()) {
            let _ = writeln!(
                out,
                "  {}  expected [{}]  got [{}]",
                f.path,
                f.expected.join(", "),
                f.got.join(", ")
            );
        }
        for f in self.panics() {
            let _ = writeln!(
                out,
                "  PANIC {}: {}",
                f.path,
                f.panic.as_deref().unwrap_or("")
            );
        }
        out
    }
}

/// The measurement as `eval --sisimai --format json` prints it.
#[derive(Debug, serde::Serialize)]
pub struct Summary<'a> {
    pub files_read: usize,
    pub records: Agreement,
    pub files: Agreement,
    /// Per expected reason: agreement, and what came out instead.
    pub reasons: BTreeMap<String, ReasonRow>,
    pub disagreeing: Vec<Disagreement<'a>>,
    pub panics: Vec<Disagreement<'a>>,
    /// Files no recipient of which got a reason but `undefined`/`onhold`.
    pub unclassified: Vec<&'a str>,
}

#[derive(Debug, serde::Serialize)]
pub struct Agreement {
    pub agreed: usize,
    pub total: usize,
    pub percent: f64,
}

impl Agreement {
    fn of((agreed, total): (usize, usize)) -> Agreement {
        Agreement {
            agreed,
            total,
            percent: (pct(agreed, total) * 10.0).round() / 10.0,
        }
    }
}

#[derive(Debug, serde::Serialize)]
pub struct ReasonRow {
    pub agreement: Agreement,
    pub instead: BTreeMap<String, usize>,
}

#[derive(Debug, serde::Serialize)]
pub struct Disagreement<'a> {
    pub path: &'a str,
    pub expected: &'a [String],
    pub got: &'a [String],
    #[serde(skip_serializing_if = "Option::is_none")]
    pub panic: Option<&'a str>,
}

impl<'a> Disagreement<'a> {
    fn of(f: &'a FileOutcome) -> Disagreement<'a> {
        Disagreement {
            path: &f.path,
            expected: &f.expected,
            got: &f.got,
            panic: f.panic.as_deref(),
        }
    }
}

impl Measurement {
    /// The same figures as [`Measurement::render`], as data.
    pub fn summary(&self) -> Summary<'_> {
        Summary {
            files_read: self.files.len(),
            records: Agreement::of(self.records()),
            files: Agreement::of(self.file_agreement()),
            reasons: self
                .per_reason()
                .into_iter()
                .map(|(reason, (agreed, total, instead))| {
                    let agreement = Agreement::of((agreed, total));
                    (reason, ReasonRow { agreement, instead })
                })
                .collect(),
            disagreeing: self
                .labelled()
                .filter(|f| !f.agrees())
                .map(Disagreement::of)
                .collect(),
            panics: self.panics().into_iter().map(Disagreement::of).collect(),
            unclassified: self
                .unclassified()
                .into_iter()
                .map(|f| f.path.as_str())
                .collect(),
        }
    }
}

fn pct(a: usize, t: usize) -> f64 {
    if t == 0 {
        0.0
    } else {
        100.0 * a as f64 / t as f64
    }
}

/// The reasons one email yields: one per recipient, or the ticket's own.
pub fn reasons(result: &TicketResult) -> Vec<String> {
    if result.recipients.is_empty() {
        vec![result.reason.clone()]
    } else {
        result.recipients.iter().map(|r| r.reason.clone()).collect()
    }
}

/// Reads `labels.tsv` into path -> expected reasons.
pub fn read_labels(path: &Path) -> Result<BTreeMap<String, Vec<String>>, SisimaiError> {
    let text = std::fs::read_to_string(path).map_err(|source| SisimaiError::Io {
        path: path.into(),
        source,
    })?;
    let mut labels: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (index, line) in text.lines().enumerate().skip(1) {
        if line.trim().is_empty() {
            continue;
        }
        let mut cols = line.split('\t');
        let (Some(file), Some(reason)) = (cols.next(), cols.next()) else {
            return Err(SisimaiError::Label {
                path: path.into(),
                line: index + 1,
            });
        };
        labels
            .entry(file.to_string())
            .or_default()
            .push(reason.to_string());
    }
    Ok(labels)
}

/// Classifies every file under `dir/emails` and compares with `dir/labels.tsv`.
pub fn measure(kb: &KnowledgeBase, dir: &Path) -> Result<Measurement, SisimaiError> {
    let labels = read_labels(&dir.join("labels.tsv"))?;
    let mut paths = Vec::new();
    collect(&dir.join("emails"), &mut paths)?;
    paths.sort();
    let started = Instant::now();
    let mut files = Vec::with_capacity(paths.len());
    for path in paths {
        let rel = path
            .strip_prefix(dir)
            .unwrap_or(&path)
            .to_string_lossy()
            .replace('\\', "/");
        let bytes = std::fs::read(&path).map_err(|source| SisimaiError::Io {
            path: path.clone(),
            source,
        })?;
        let expected = labels.get(&rel).cloned().unwrap_or_default();
        files.push(outcome(kb, rel, bytes, expected));
    }
    Ok(Measurement {
        files,
        elapsed: started.elapsed(),
    })
}

fn outcome(kb: &KnowledgeBase, rel: String, bytes: Vec<u8>, expected: Vec<String>) -> FileOutcome {
    let ticket = Ticket {
        id: rel.clone(),
        text: bytes,
        answers: BTreeMap::new(),
        notes: vec![],
    };
    let run = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        classify(kb, &ticket, &BTreeMap::new())
    }));
    let (got, panic) = match run {
        Ok(result) => (reasons(&result), None),
        Err(payload) => {
            let message = payload
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_else(|| "panic".to_string());
            (vec![], Some(message))
        }
    };
    let mut pool = got.clone();
    let agreed = expected
        .iter()
        .filter(|want| match pool.iter().position(|g| g == *want) {
            Some(i) => {
                pool.remove(i);
                true
            }
            None => false,
        })
        .count();
    FileOutcome {
        path: rel,
        expected,
        got,
        agreed,
        panic,
    }
}

fn collect(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), SisimaiError> {
    let entries = std::fs::read_dir(dir).map_err(|source| SisimaiError::Io {
        path: dir.into(),
        source,
    })?;
    for entry in entries {
        let entry = entry.map_err(|source| SisimaiError::Io {
            path: dir.into(),
            source,
        })?;
        let path = entry.path();
        if path.is_dir() {
            collect(&path, out)?;
        } else {
            out.push(path);
        }
    }
    Ok(())
}
