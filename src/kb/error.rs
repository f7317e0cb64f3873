//! Knowledge-base errors: every problem names file:line:column, what is
//! wrong and what to change.

use std::fmt;

/// Where something stands in a rule file (1-based line and column).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Origin {
    pub file: String,
    pub line: usize,
    pub col: usize,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.file, self.line, self.col)
    }
}

/// One problem found while loading or validating.
#[derive(Debug, Clone, PartialEq)]
pub struct Problem {
    pub at: Origin,
    pub message: String,
    pub hint: Option<String>,
    /// A related place ("first defined here").
    pub note: Option<(Origin, String)>,
}

impl Problem {
    pub fn new(at: Origin, message: impl Into<String>) -> Problem {
        Problem {
            at,
            message: message.into(),
            hint: None,
            note: None,
        }
    }

    pub fn hint(mut self, hint: impl Into<String>) -> Problem {
        self.hint = Some(hint.into());
        self
    }

    pub fn note(mut self, at: Origin, text: impl Into<String>) -> Problem {
        self.note = Some((at, text.into()));
        self
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: error: {}", self.at, self.message)?;
        if let Some((at, text)) = &self.note {
            write!(f, "\n  note: {at}: {text}")?;
        }
        if let Some(hint) = &self.hint {
            write!(f, "\n  hint: {hint}")?;
        }
        Ok(())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum KbError {
    #[error("cannot read the knowledge base at {path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{}", render(.0))]
    Invalid(Vec<Problem>),
}

fn render(problems: &[Problem]) -> String {
    let mut out = problems
        .iter()
        .map(|p| p.to_string())
        .collect::<Vec<_>>()
        .join("\n");
    out.push_str(&format!(
        "\n{} problem{} in the knowledge base",
        problems.len(),
        if problems.len() == 1 { "" } else { "s" }
    ));
    out
}

/// The closest of `candidates` to `wrong`, when it is close enough to suggest.
pub fn did_you_mean<'a>(
    wrong: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<String> {
    candidates
        .into_iter()
        .map(|c| (edit_distance(wrong, c), c))
        .filter(|(d, c)| *d <= (c.len().max(wrong.len()) / 3).max(1))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| format!("did you mean \"{c}\"?"))
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != *cb)).min(row[j] + 1).min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggestions_are_close_names_only() {
        assert_eq!(
            did_you_mean("recieve_works", ["receive_works", "other"]).as_deref(),
            Some("did you mean \"receive_works\"?")
        );
        assert_eq!(did_you_mean("zzz", ["receive_works"]), None);
    }
}
