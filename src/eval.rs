//! Evaluation: measures a knowledge base on a labelled corpus
//! (`expected.tsv` beside the transcripts) and returns a report: cause and
//! owner accuracy, per-cause precision and recall, the confusion pairs with
//! the files behind them, and how many questions the engine asked.
//!
//! Questions are counted by replaying each ticket the way an agent works:
//! classify on the evidence alone; while the result carries an open
//! question, answer it from the row's answers (or `unknown` when the row has
//! none) and classify again. The count is how many questions were asked
//! before the walk reached its final diagnosis. Accuracy is measured on the
//! classification with all of the row's answers given up front, as batch
//! mode runs it.
//!
//! Owns: reading `expected.tsv` and the report model. Must not touch: the
//! rendering (the CLI prints the report) or any diagnosis logic.

use crate::engine::{self, Answers};
use crate::evidence::Evidence;
use crate::kb::{Answer, KnowledgeBase};
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The file that labels a corpus folder.
pub const EXPECTED: &str = "expected.tsv";

#[derive(Debug, thiserror::Error)]
pub enum EvalError {
    #[error("cannot read {path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}:{line}: {message}")]
    Table {
        path: String,
        line: usize,
        message: String,
    },
}

/// One labelled row of `expected.tsv`: `file`, `cause`, `owner`, `answers`.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub file: String,
    pub cause: String,
    pub owner: String,
    pub answers: Answers,
    /// 1-based line in `expected.tsv`.
    pub line: usize,
}

/// Reads `dir/expected.tsv`. The first line is the header; answers are
/// `fact=value` pairs separated by `;`.
pub fn read_expected(dir: &Path) -> Result<Vec<Row>, EvalError> {
    let path = dir.join(EXPECTED);
    let text = std::fs::read_to_string(&path).map_err(|source| EvalError::Io {
        path: path.display().to_string(),
        source,
    })?;
    parse_expected(&text, &path.display().to_string())
}

/// Parses the text of an `expected.tsv`; `path` only names it in errors.
pub fn parse_expected(text: &str, path: &str) -> Result<Vec<Row>, EvalError> {
    let table_error = |line: usize, message: String| EvalError::Table {
        path: path.to_string(),
        line,
        message,
    };
    let mut rows = Vec::new();
    for (index, line) in text.lines().enumerate().skip(1) {
        let no = index + 1;
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        let cols: Vec<&str> = line.split('\t').collect();
        if cols.len() < 3 {
            return Err(table_error(
                no,
                "a row needs file, cause and owner separated by tabs".into(),
            ));
        }
        let answers =
            parse_answers(cols.get(3).copied().unwrap_or("")).map_err(|m| table_error(no, m))?;
        rows.push(Row {
            file: cols[0].trim().to_string(),
            cause: cols[1].trim().to_string(),
            owner: cols[2].trim().to_string(),
            answers,
            line: no,
        });
    }
    Ok(rows)
}

fn parse_answers(field: &str) -> Result<Answers, String> {
    let mut answers = Answers::new();
    for pair in field.split(';').map(str::trim).filter(|p| !p.is_empty()) {
        let (fact, value) = pair
            .split_once('=')
            .ok_or_else(|| format!("answer {pair:?}: write fact=value"))?;
        let value = Answer::parse(value)
            .ok_or_else(|| format!("answer {pair:?}: the value must be yes, no or unknown"))?;
        answers.insert(fact.trim().to_string(), value);
    }
    Ok(answers)
}

/// What happened to one row.
#[derive(Debug, Clone, Serialize)]
pub struct RowResult {
    pub file: String,
    pub expected_cause: String,
    pub expected_owner: String,
    pub cause: String,
    pub owner: String,
    pub diagnosis: String,
    /// Questions the engine asked in the replay.
    pub questions: usize,
    /// Answers that contradicted the evidence.
    pub conflicts: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl RowResult {
    pub fn cause_ok(&self) -> bool {
        self.cause == self.expected_cause
    }

    pub fn owner_ok(&self) -> bool {
        self.owner == self.expected_owner
    }
}

/// Precision and recall of one cause.
#[derive(Debug, Clone, Serialize)]
pub struct CauseScore {
    pub cause: String,
    /// Rows labelled with this cause.
    pub expected: usize,
    /// Rows classified as this cause.
    pub predicted: usize,
    pub correct: usize,
    /// correct / predicted (1 when nothing was predicted).
    pub precision: f64,
    /// correct / expected (1 when nothing was expected).
    pub recall: f64,
}

/// Rows labelled `expected` that came out as `got`.
#[derive(Debug, Clone, Serialize)]
pub struct Confusion {
    pub expected: String,
    pub got: String,
    pub files: Vec<String>,
}

/// The whole evaluation.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub dir: PathBuf,
    pub rows: usize,
    pub cause_correct: usize,
    pub owner_correct: usize,
    pub cause_accuracy: f64,
    pub owner_accuracy: f64,
    pub per_cause: Vec<CauseScore>,
    /// Most frequent first.
    pub confusions: Vec<Confusion>,
    pub questions_mean: f64,
    pub questions_max: usize,
    /// Files asked the most questions (those at the maximum).
    pub questions_max_files: Vec<String>,
    pub results: Vec<RowResult>,
}

/// Classifies every row of `dir/expected.tsv` and scores the results.
pub fn evaluate(kb: &KnowledgeBase, dir: &Path) -> Result<Report, EvalError> {
    let rows = read_expected(dir)?;
    let results = rows.iter().map(|row| run_row(kb, dir, row)).collect();
    Ok(score(dir, results))
}

fn run_row(kb: &KnowledgeBase, dir: &Path, row: &Row) -> RowResult {
    let mut result = RowResult {
        file: row.file.clone(),
        expected_cause: row.cause.clone(),
        expected_owner: row.owner.clone(),
        cause: "unknown".into(),
        owner: "unknown".into(),
        diagnosis: "unknown".into(),
        questions: 0,
        conflicts: 0,
        error: None,
    };
    let bytes = match std::fs::read(dir.join(&row.file)) {
        Ok(bytes) => bytes,
        Err(e) => {
            result.error = Some(format!("cannot read {}: {e}", row.file));
            return result;
        }
    };
    let evidence = Evidence::from_bytes(&bytes);
    let verdict = engine::evaluate_ticket(kb, &evidence, &row.answers);
    result.cause = verdict.cause;
    result.owner = verdict.owner;
    result.diagnosis = verdict.diagnosis;
    result.conflicts = verdict.conflicts.len();
    result.questions = questions_asked(kb, &evidence, &row.answers);
    result
}

/// Replays the ticket as an agent would: answer each question the engine
/// asks (from `known`, else `unknown`) until it asks no more.
pub fn questions_asked(kb: &KnowledgeBase, evidence: &Evidence, known: &Answers) -> usize {
    let mut given = Answers::new();
    // every question settles a new fact, so this many rounds always suffice
    for asked in 0..=kb.questions.len() {
        let verdict = engine::evaluate_ticket(kb, evidence, &given);
        let Some(question) = verdict.question else {
            return asked;
        };
        let answer = known
            .get(&question.fact)
            .copied()
            .unwrap_or(Answer::Unknown);
        given.insert(question.fact, answer);
    }
    kb.questions.len()
}

fn ratio(part: usize, whole: usize) -> f64 {
    if whole == 0 {
        1.0
    } else {
        part as f64 / whole as f64
    }
}

fn score(dir: &Path, results: Vec<RowResult>) -> Report {
    let rows = results.len();
    let cause_correct = results.iter().filter(|r| r.cause_ok()).count();
    let owner_correct = results.iter().filter(|r| r.owner_ok()).count();
    let questions: Vec<usize> = results.iter().map(|r| r.questions).collect();
    let questions_max = questions.iter().copied().max().unwrap_or(0);
    Report {
        dir: dir.to_path_buf(),
        rows,
        cause_correct,
        owner_correct,
        cause_accuracy: ratio(cause_correct, rows),
        owner_accuracy: ratio(owner_correct, rows),
        per_cause: per_cause(&results),
        confusions: confusions(&results),
        questions_mean: if rows == 0 {
            0.0
        } else {
            questions.iter().sum::<usize>() as f64 / rows as f64
        },
        questions_max,
        questions_max_files: results
            .iter()
            .filter(|r| questions_max > 0 && r.questions == questions_max)
            .map(|r| r.file.clone())
            .collect(),
        results,
    }
}

fn per_cause(results: &[RowResult]) -> Vec<CauseScore> {
    let mut causes: Vec<&str> = results
        .iter()
        .flat_map(|r| [r.expected_cause.as_str(), r.cause.as_str()])
        .collect();
    causes.sort_unstable();
    causes.dedup();
    causes
        .into_iter()
        .map(|cause| {
            let expected = results.iter().filter(|r| r.expected_cause == cause).count();
            let predicted = results.iter().filter(|r| r.cause == cause).count();
            let correct = results
                .iter()
                .filter(|r| r.cause == cause && r.cause_ok())
                .count();
            CauseScore {
                cause: cause.to_string(),
                expected,
                predicted,
                correct,
                precision: ratio(correct, predicted),
                recall: ratio(correct, expected),
            }
        })
        .collect()
}

fn confusions(results: &[RowResult]) -> Vec<Confusion> {
    let mut pairs: BTreeMap<(String, String), Vec<String>> = BTreeMap::new();
    for r in results.iter().filter(|r| !r.cause_ok()) {
        pairs
            .entry((r.expected_cause.clone(), r.cause.clone()))
            .or_default()
            .push(r.file.clone());
    }
    let mut out: Vec<Confusion> = pairs
        .into_iter()
        .map(|((expected, got), files)| Confusion {
            expected,
            got,
            files,
        })
        .collect();
    out.sort_by_key(|c| std::cmp::Reverse(c.files.len()));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(file: &str, expected: &str, got: &str, questions: usize) -> RowResult {
        RowResult {
            file: file.into(),
            expected_cause: expected.into(),
            expected_owner: "client".into(),
            cause: got.into(),
            owner: "client".into(),
            diagnosis: got.into(),
            questions,
            conflicts: 0,
            error: None,
        }
    }

    #[test]
    fn expected_rows_parse_with_answers_and_report_bad_lines() {
        let rows = parse_expected("file\tcause\towner\tanswers\na.txt\tx\tclient\treceive_works=yes; alt_port_works=n\n\nb.txt\ty\tnone\t\n", "e.tsv").unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].answers.get("alt_port_works"), Some(&Answer::No));
        assert_eq!(rows[1].line, 4);
        let err = parse_expected("h\nonly-a-file\n", "e.tsv").unwrap_err();
        assert_eq!(
            err.to_string(),
            "e.tsv:2: a row needs file, cause and owner separated by tabs"
        );
        assert!(parse_expected("h\na\tb\tc\tfact=maybe\n", "e.tsv").is_err());
    }

    #[test]
    fn scores_count_precision_recall_and_confusions() {
        let report = score(
            Path::new("t"),
            vec![
                row("1", "a", "a", 0),
                row("2", "a", "b", 2),
                row("3", "b", "b", 1),
                row("4", "a", "b", 0),
            ],
        );
        assert_eq!((report.cause_correct, report.rows), (2, 4));
        assert_eq!(report.cause_accuracy, 0.5);
        let a = report.per_cause.iter().find(|c| c.cause == "a").unwrap();
        assert_eq!(
            (a.expected, a.predicted, a.correct, a.precision, a.recall),
            (3, 1, 1, 1.0, 1.0 / 3.0)
        );
        let b = report.per_cause.iter().find(|c| c.cause == "b").unwrap();
        assert_eq!((b.precision, b.recall), (1.0 / 3.0, 1.0));
        assert_eq!(report.confusions.len(), 1);
        assert_eq!(report.confusions[0].files, vec!["2", "4"]);
        assert_eq!((report.questions_mean, report.questions_max), (0.75, 2));
        assert_eq!(report.questions_max_files, vec!["2"]);
    }
}
