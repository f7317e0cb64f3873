//! Session: what one REPL conversation holds (the pasted transcripts, in
//! order, and the log of answers) and keeping it on disk so nothing is lost.
//!
//! Every session is one JSON file `ID.json` in the sessions folder of the
//! data directory (`$MAILTRIAGE_DATA_DIR`, else the platform data directory
//! plus `mailtriage`). A save writes a temporary file in the same folder and
//! renames it over the old one, so a crash or `kill -9` leaves either the old
//! or the new file, never half of one. Only redacted text is ever stored.
//!
//! Owns: the session model and its files. Must not touch: evidence
//! extraction or the walk; the REPL re-evaluates a loaded session.

use crate::engine::Answers;
use crate::evidence::Evidence;
use crate::kb::Answer;
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

/// The session file format version.
const FORMAT: u32 = 1;

#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    #[error("no data directory: set MAILTRIAGE_DATA_DIR")]
    NoDataDir,
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    /// The file exists but cannot be read as a session; it is left untouched.
    #[error(
        "{path}:{line}:{column}: not a readable session ({message}); the file is left as it is"
    )]
    Corrupt {
        path: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },
    #[error("no session {id:?} in {dir}{}", recent_note(recent))]
    NotFound {
        id: String,
        dir: PathBuf,
        recent: Vec<String>,
    },
    #[error("no saved sessions in {dir}")]
    NoSessions { dir: PathBuf },
}

/// One pasted or loaded transcript, redacted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Paste {
    /// Where it came from: `paste` or a file name.
    pub source: String,
    pub text: String,
}

/// One entry of the answer log; `None` clears the fact.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AnswerEntry {
    pub fact: String,
    pub answer: Option<Answer>,
}

/// The last result, stored so a listing can show it without re-evaluating.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Outcome {
    pub diagnosis: String,
    pub cause: String,
    pub owner: String,
    pub confidence: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub question: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Session {
    pub format: u32,
    pub id: String,
    /// Unix seconds.
    pub created: u64,
    /// Unix milliseconds of the last save: the most recent session resumes first.
    pub updated: u128,
    pub pastes: Vec<Paste>,
    /// Every answer in the order given; later entries win, `back` drops the last.
    pub answers: Vec<AnswerEntry>,
    #[serde(default)]
    pub outcome: Option<Outcome>,
}

/// Blank lines put between pastes in the combined transcript.
const SEPARATOR_LINES: usize = 1;

impl Session {
    pub fn new(id: String) -> Session {
        Session {
            format: FORMAT,
            id,
            created: now_secs(),
            updated: 0,
            pastes: vec![],
            answers: vec![],
            outcome: None,
        }
    }

    /// Adds a transcript; only its redacted text is kept: the lines exactly
    /// as the evidence layer split, cleaned and redacted them, so any line
    /// ending (CR-only too) and any AUTH exchange is redacted the same way.
    pub fn add_paste(&mut self, source: &str, text: &str) -> usize {
        let mut lines = Evidence::from_text(text).lines;
        while lines.last().is_some_and(|l| l.trim().is_empty()) {
            lines.pop();
        }
        let text = lines.join("\n");
        self.pastes.push(Paste {
            source: source.to_string(),
            text,
        });
        self.pastes.len()
    }

    /// Every paste in order, separated by a blank line, so evidence from
    /// different pastes (a retry from another network) is compared.
    pub fn transcript(&self) -> String {
        let sep = "\n".repeat(SEPARATOR_LINES + 1);
        self.pastes
            .iter()
            .map(|p| p.text.as_str())
            .collect::<Vec<_>>()
            .join(&sep)
    }

    /// Maps a line of the combined transcript to (paste index, line in it).
    pub fn locate(&self, line: usize) -> Option<(usize, usize)> {
        let mut start = 1;
        for (i, paste) in self.pastes.iter().enumerate() {
            let count = paste.text.lines().count().max(1);
            if line >= start && line < start + count {
                return Some((i, line - start + 1));
            }
            start += count + SEPARATOR_LINES;
        }
        None
    }

    /// The answers in force: the log folded, later entries winning.
    pub fn answers(&self) -> Answers {
        let mut out = Answers::new();
        for entry in &self.answers {
            match entry.answer {
                Some(a) => out.insert(entry.fact.clone(), a),
                None => out.remove(&entry.fact),
            };
        }
        out
    }

    /// The answers in force, in the order they were last given.
    pub fn answer_list(&self) -> Vec<(String, Answer)> {
        let mut out: Vec<(String, Answer)> = Vec::new();
        for entry in &self.answers {
            out.retain(|(f, _)| f != &entry.fact);
            if let Some(a) = entry.answer {
                out.push((entry.fact.clone(), a));
            }
        }
        out
    }

    pub fn answer(&mut self, fact: &str, answer: Option<Answer>) {
        self.answers.push(AnswerEntry {
            fact: fact.to_string(),
            answer,
        });
    }

    /// Undoes the last answer; earlier answers (including an earlier value
    /// of the same fact) come back into force.
    pub fn back(&mut self) -> Option<AnswerEntry> {
        self.answers.pop()
    }
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

fn now_millis() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or(0)
}

/// The folder of saved sessions.
pub struct Store {
    dir: PathBuf,
}

impl Store {
    /// The data directory: `$MAILTRIAGE_DATA_DIR`, else `<data dir>/mailtriage`.
    pub fn data_dir() -> Result<PathBuf, SessionError> {
        match std::env::var_os("MAILTRIAGE_DATA_DIR") {
            Some(dir) if !dir.is_empty() => Ok(PathBuf::from(dir)),
            _ => dirs::data_dir()
                .map(|d| d.join("mailtriage"))
                .ok_or(SessionError::NoDataDir),
        }
    }

    /// Opens (creating) `<data_dir>/sessions`.
    pub fn open(data_dir: &Path) -> Result<Store, SessionError> {
        let dir = data_dir.join("sessions");
        std::fs::create_dir_all(&dir).map_err(|source| SessionError::Io {
            path: dir.clone(),
            source,
        })?;
        Ok(Store { dir })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn path(&self, id: &str) -> PathBuf {
        self.dir.join(format!("{id}.json"))
    }

    /// A fresh id, `YYYYMMDD-HHMMSS-xxxx`: the time sorts it for people, the
    /// suffix (process and nanoseconds) keeps two REPLs started in the same
    /// second apart, and an id whose file exists is never reused, so a new
    /// session never overwrites another, corrupt or not.
    pub fn new_id(&self) -> String {
        let base = timestamp_id(now_secs());
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let mut salt = nanos ^ std::process::id().rotate_left(16);
        loop {
            let id = format!("{base}-{:04x}", salt & 0xffff);
            if !self.path(&id).exists() {
                return id;
            }
            salt = salt.wrapping_add(1);
        }
    }

    /// Saves atomically: a temporary file in the same folder, synced, then renamed.
    pub fn save(&self, session: &mut Session) -> Result<PathBuf, SessionError> {
        session.updated = now_millis();
        let path = self.path(&session.id);
        write_atomic(&path, &to_json(session))?;
        Ok(path)
    }

    pub fn load(&self, id: &str) -> Result<Session, SessionError> {
        let path = self.path(id);
        if !path.exists() {
            let mut recent: Vec<String> = self
                .files()?
                .iter()
                .filter_map(|p| p.file_stem()?.to_str().map(String::from))
                .collect();
            recent.reverse();
            recent.truncate(5);
            return Err(SessionError::NotFound {
                id: id.to_string(),
                dir: self.dir.clone(),
                recent,
            });
        }
        load_file(&path)
    }

    /// The most recently saved readable session, and the problems with any
    /// unreadable files met on the way (reported, never touched).
    pub fn latest(&self) -> Result<(Session, Vec<SessionError>), SessionError> {
        let mut problems = Vec::new();
        let mut best: Option<Session> = None;
        for path in self.files()? {
            match load_file(&path) {
                Ok(s) => {
                    let newer = match &best {
                        None => true,
                        Some(b) => (s.updated, &s.id) > (b.updated, &b.id),
                    };
                    if newer {
                        best = Some(s);
                    }
                }
                Err(e) => problems.push(e),
            }
        }
        match best {
            Some(s) => Ok((s, problems)),
            None => Err(problems.pop().unwrap_or(SessionError::NoSessions {
                dir: self.dir.clone(),
            })),
        }
    }

    fn files(&self) -> Result<Vec<PathBuf>, SessionError> {
        let io = |source| SessionError::Io {
            path: self.dir.clone(),
            source,
        };
        let mut out = Vec::new();
        for entry in std::fs::read_dir(&self.dir).map_err(io)? {
            let path = entry.map_err(io)?.path();
            if path.extension().is_some_and(|e| e == "json") {
                out.push(path);
            }
        }
        out.sort();
        Ok(out)
    }
}

fn recent_note(recent: &[String]) -> String {
    if recent.is_empty() {
        String::new()
    } else {
        format!("; the most recent are: {}", recent.join(", "))
    }
}

pub fn to_json(session: &Session) -> String {
    let mut text = serde_json::to_string_pretty(session).expect("a session always serialises");
    text.push('\n');
    text
}

/// Reads a session file; anything unreadable is `Corrupt` with its position.
pub fn load_file(path: &Path) -> Result<Session, SessionError> {
    let text = std::fs::read(path).map_err(|source| SessionError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let corrupt = |line, column, message: String| SessionError::Corrupt {
        path: path.to_path_buf(),
        line,
        column,
        message,
    };
    let session: Session =
        serde_json::from_slice(&text).map_err(|e| corrupt(e.line(), e.column(), e.to_string()))?;
    if session.format != FORMAT {
        return Err(corrupt(
            1,
            1,
            format!("format {} is not {FORMAT}", session.format),
        ));
    }
    Ok(session)
}

/// Writes `text` to `path` through a synced temporary file and a rename.
pub fn write_atomic(path: &Path, text: &str) -> Result<(), SessionError> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let io = |source| SessionError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut tmp = tempfile::Builder::new()
        .prefix(".session-")
        .suffix(".tmp")
        .tempfile_in(dir)
        .map_err(io)?;
    tmp.write_all(text.as_bytes()).map_err(io)?;
    tmp.as_file().sync_all().map_err(io)?;
    tmp.persist(path).map_err(|e| io(e.error))?;
    Ok(())
}

/// `YYYYMMDD-HHMMSS` in UTC.
fn timestamp_id(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}{m:02}{d:02}-{:02}{:02}{:02}",
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    )
}

/// Days since 1970-01-01 to a proleptic Gregorian date (H. Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_utc_timestamps() {
        assert_eq!(timestamp_id(0), "19700101-000000");
        assert_eq!(timestamp_id(1_795_000_000), "20261118-110640");
        assert_eq!(timestamp_id(951_825_600), "20000229-120000");
    }

    #[test]
    fn lines_map_back_to_their_paste() {
        let mut s = Session::new("t".into());
        s.add_paste("paste", "a\nb\nc\n");
        s.add_paste("paste", "d\ne");
        assert_eq!(s.transcript(), "a\nb\nc\n\nd\ne");
        assert_eq!(s.locate(3), Some((0, 3)));
        assert_eq!(s.locate(4), None);
        assert_eq!(s.locate(5), Some((1, 1)));
        assert_eq!(s.locate(6), Some((1, 2)));
    }

    #[test]
    fn back_restores_an_earlier_value_of_the_same_fact() {
        let mut s = Session::new("t".into());
        s.answer("receive_works", Some(Answer::Yes));
        s.answer("other_network_works", Some(Answer::No));
        s.answer("receive_works", Some(Answer::No));
        assert_eq!(s.answers()["receive_works"], Answer::No);
        s.back();
        assert_eq!(s.answers()["receive_works"], Answer::Yes);
        assert_eq!(s.answers()["other_network_works"], Answer::No);
        assert_eq!(
            s.answer_list(),
            vec![
                ("receive_works".to_string(), Answer::Yes),
                ("other_network_works".to_string(), Answer::No)
            ]
        );
        s.answer("receive_works", None);
        assert!(!s.answers().contains_key("receive_works"));
    }

    #[test]
    fn pastes_are_stored_redacted() {
        let mut s = Session::new("t".into());
        s.add_paste("paste", "AUTH LOGIN\n334 VXNlcm5hbWU6\nYWxpY2VAZXhhbXBsZS5uZXQ=\n334 UGFzc3dvcmQ6\nU3VuZmxvd2VyLTc3\n");
        let json = to_json(&s);
        assert!(
            !json.contains("U3VuZmxvd2VyLTc3") && !json.contains("YWxpY2VAZXhhbXBsZS5uZXQ="),
            "{json}"
        );
        assert!(json.contains("redacted"));
    }

    #[test]
    fn credentials_are_redacted_whatever_the_line_ends() {
        let exchange = [
            "AUTH LOGIN",
            "334 VXNlcm5hbWU6",
            "YWxpY2VAZXhhbXBsZS5uZXQ=",
            "334 UGFzc3dvcmQ6",
            "U3VuZmxvd2VyLTc3",
            "535 no",
        ];
        for end in ["\n", "\r\n", "\r"] {
            let mut s = Session::new("t".into());
            s.add_paste("paste", &exchange.join(end));
            let json = to_json(&s);
            assert!(
                !json.contains("U3VuZmxvd2VyLTc3") && !json.contains("YWxpY2VAZXhhbXBsZS5uZXQ="),
                "{end:?}: {json}"
            );
            assert_eq!(s.pastes[0].text.lines().count(), 6, "{end:?}");
        }
    }

    #[test]
    fn saves_round_trip_and_corrupt_files_are_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let mut s = Session::new(store.new_id());
        s.add_paste("paste", "220 mx ESMTP");
        s.answer("receive_works", Some(Answer::Yes));
        store.save(&mut s).unwrap();
        assert_eq!(store.load(&s.id).unwrap(), s);
        let bad = store.path("20000101-000000");
        std::fs::write(&bad, "{\"format\": 1, \"id\": ").unwrap();
        assert!(matches!(
            store.load("20000101-000000"),
            Err(SessionError::Corrupt { line: 1, .. })
        ));
        let (latest, problems) = store.latest().unwrap();
        assert_eq!(latest.id, s.id);
        assert_eq!(problems.len(), 1);
        assert_eq!(
            std::fs::read_to_string(&bad).unwrap(),
            "{\"format\": 1, \"id\": "
        );
        assert_ne!(store.new_id(), s.id);
        let missing = store.load("nope").unwrap_err().to_string();
        assert!(
            missing.contains(&format!("the most recent are: {}, 20000101-000000", s.id)),
            "{missing}"
        );
    }
}
