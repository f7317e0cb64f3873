//! Session: what one REPL conversation holds (the pasted transcripts, in
//! order, and the log of answers) and keeping it on disk so nothing is lost.
//!
//! Every session is one JSON file `ID.json` in the sessions folder of the
//! data directory (`$MAILTRIAGE_DATA_DIR`, else the platform data directory
//! plus `mailtriage`). A save writes a temporary file in the same folder and
//! renames it over the old one, so a crash or `kill -9` leaves either the old
//! or the new file, never half of one; a failed write (disk full) removes its
//! temporary file and leaves the old save as it was. Hang-up and termination
//! signals wait until a save is finished, and temporary files a `kill -9`
//! left behind are removed when the folder is next opened. Only redacted
//! text is ever stored.
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
    /// A session written in another format version; it is left untouched.
    #[error("{path}: session format {found} {}; the file is left as it is", format_note(*found))]
    Format { path: PathBuf, found: u32 },
}

fn format_note(found: u32) -> String {
    if found > FORMAT {
        format!(
            "is newer than this mailtriage reads (format {FORMAT}): update mailtriage to resume it"
        )
    } else {
        format!("is older than this mailtriage reads (format {FORMAT}) and cannot be resumed")
    }
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

    /// Opens (creating) `<data_dir>/sessions` and removes stale temporary files.
    pub fn open(data_dir: &Path) -> Result<Store, SessionError> {
        let dir = data_dir.join("sessions");
        std::fs::create_dir_all(&dir).map_err(|source| SessionError::Io {
            path: dir.clone(),
            source,
        })?;
        remove_stale_temporaries(&dir);
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

/// A temporary file older than this is litter from a process killed
/// mid-save; a save in flight in another REPL takes milliseconds.
const STALE_AFTER: std::time::Duration = std::time::Duration::from_secs(600);
const TEMP_PREFIX: &str = ".session-";
const TEMP_SUFFIX: &str = ".tmp";

/// Best effort: litter must not stop a session from starting.
fn remove_stale_temporaries(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if !(name.starts_with(TEMP_PREFIX) && name.ends_with(TEMP_SUFFIX)) {
            continue;
        }
        let age = entry
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.elapsed().ok());
        if age.is_some_and(|a| a > STALE_AFTER) {
            let _ = std::fs::remove_file(entry.path());
        }
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
    // The version first: another format's fields must not read as corruption.
    #[derive(Deserialize)]
    struct Version {
        format: u32,
    }
    let parse_error = |e: serde_json::Error| corrupt(e.line(), e.column(), e.to_string());
    let version: Version = serde_json::from_slice(&text).map_err(parse_error)?;
    if version.format != FORMAT {
        return Err(SessionError::Format {
            path: path.to_path_buf(),
            found: version.format,
        });
    }
    serde_json::from_slice(&text).map_err(parse_error)
}

/// Writes `text` to `path` through a synced temporary file and a rename.
pub fn write_atomic(path: &Path, text: &str) -> Result<(), SessionError> {
    write_atomic_with(path, text.as_bytes(), |file, bytes| file.write_all(bytes))
}

/// [`write_atomic`] with the write itself passed in, so a test can make it
/// fail the way a full disk does. A failure drops the temporary file (which
/// deletes it) before anything is renamed, so `path` keeps its old content.
fn write_atomic_with(
    path: &Path,
    bytes: &[u8],
    write: impl FnOnce(&mut std::fs::File, &[u8]) -> std::io::Result<()>,
) -> Result<(), SessionError> {
    let _held = signals::Hold::new();
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let io = |source| SessionError::Io {
        path: path.to_path_buf(),
        source,
    };
    // the temporary file's own name is no use to the person who gave `path`
    let mut tmp = tempfile::Builder::new()
        .prefix(TEMP_PREFIX)
        .suffix(TEMP_SUFFIX)
        .tempfile_in(dir)
        .map_err(|e| {
            io(if dir.is_dir() {
                std::io::Error::from(e.kind())
            } else {
                std::io::Error::new(
                    e.kind(),
                    format!(
                        "there is no folder {}; give a path in a folder that exists",
                        dir.display()
                    ),
                )
            })
        })?;
    write(tmp.as_file_mut(), bytes).map_err(io)?;
    tmp.as_file().sync_all().map_err(io)?;
    tmp.persist(path).map_err(|e| io(e.error))?;
    Ok(())
}

/// Holding back the signals that end a process (a closed terminal's
/// hang-up, a shutdown's termination) for the few milliseconds of a save:
/// their default action then runs right after it, so no temporary file is
/// left half-written. The mask is per thread; the REPL saves on its only thread.
#[cfg(unix)]
mod signals {
    pub struct Hold {
        previous: libc::sigset_t,
    }

    const HELD: [libc::c_int; 4] = [libc::SIGHUP, libc::SIGINT, libc::SIGQUIT, libc::SIGTERM];

    impl Hold {
        pub fn new() -> Option<Hold> {
            // SAFETY: the sets are plain values initialised by sigemptyset
            // before use, and pthread_sigmask only reads and writes them.
            unsafe {
                let mut set: libc::sigset_t = std::mem::zeroed();
                libc::sigemptyset(&mut set);
                for signal in HELD {
                    libc::sigaddset(&mut set, signal);
                }
                let mut previous: libc::sigset_t = std::mem::zeroed();
                (libc::pthread_sigmask(libc::SIG_BLOCK, &set, &mut previous) == 0)
                    .then_some(Hold { previous })
            }
        }
    }

    impl Drop for Hold {
        fn drop(&mut self) {
            // SAFETY: restores the mask saved by `new`; a signal that came
            // meanwhile is delivered now.
            unsafe {
                libc::pthread_sigmask(libc::SIG_SETMASK, &self.previous, std::ptr::null_mut());
            }
        }
    }
}

#[cfg(not(unix))]
mod signals {
    pub struct Hold;

    impl Hold {
        pub fn new() -> Option<Hold> {
            None
        }
    }
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
    fn saved_store() -> (tempfile::TempDir, Store, Session) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let mut s = Session::new(store.new_id());
        s.add_paste("paste", "220 mx ESMTP");
        store.save(&mut s).unwrap();
        (dir, store, s)
    }

    fn folder(store: &Store) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(store.dir())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    /// A disk that fills up half-way through the write: the error reaches
    /// the caller, the previous save is intact and no temporary file stays.
    #[test]
    fn a_write_failing_half_way_keeps_the_previous_save_and_no_temporary() {
        let (_dir, store, mut s) = saved_store();
        let path = store.path(&s.id);
        let before = std::fs::read(&path).unwrap();
        s.answer("receive_works", Some(Answer::Yes));
        let full = |file: &mut std::fs::File, bytes: &[u8]| {
            file.write_all(&bytes[..bytes.len() / 2])?;
            Err(std::io::Error::other("No space left on device"))
        };
        let err = write_atomic_with(&path, to_json(&s).as_bytes(), full).unwrap_err();
        assert!(
            matches!(&err, SessionError::Io { path: p, .. } if *p == path),
            "{err}"
        );
        assert!(
            err.to_string().ends_with("No space left on device"),
            "{err}"
        );
        assert_eq!(std::fs::read(&path).unwrap(), before);
        assert_eq!(folder(&store), [format!("{}.json", s.id)]);
    }

    #[cfg(unix)]
    static HANGUPS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

    #[cfg(unix)]
    extern "C" fn count_hangup(_: libc::c_int) {
        HANGUPS.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    }

    /// A hang-up arriving mid-save is delivered only once the file is in place.
    #[cfg(unix)]
    #[test]
    fn a_hangup_during_a_save_waits_until_the_file_is_in_place() {
        use std::sync::atomic::Ordering::SeqCst;
        let (_dir, store, mut s) = saved_store();
        s.answer("receive_works", Some(Answer::Yes));
        let path = store.path(&s.id);
        // SAFETY: the handler only touches an atomic.
        unsafe {
            libc::signal(
                libc::SIGHUP,
                count_hangup as *const () as libc::sighandler_t,
            )
        };
        let write = |file: &mut std::fs::File, bytes: &[u8]| {
            // SAFETY: raise sends a signal to this thread, whose handler is set above.
            unsafe { libc::raise(libc::SIGHUP) };
            assert_eq!(
                HANGUPS.load(SeqCst),
                0,
                "delivered in the middle of the save"
            );
            file.write_all(bytes)
        };
        write_atomic_with(&path, to_json(&s).as_bytes(), write).unwrap();
        assert_eq!(HANGUPS.load(SeqCst), 1, "held back and never delivered");
        assert_eq!(load_file(&path).unwrap().answers.len(), 1);
    }

    #[test]
    fn temporaries_left_by_a_killed_save_are_removed_and_fresh_ones_kept() {
        let (dir, store, s) = saved_store();
        let old = store.dir().join(".session-killed.tmp");
        let fresh = store.dir().join(".session-in-flight.tmp");
        std::fs::write(&old, "{\"format\": 1, \"id").unwrap();
        std::fs::write(&fresh, "{\"format\": 1, \"id").unwrap();
        let hour_ago = SystemTime::now() - std::time::Duration::from_secs(3600);
        std::fs::File::options()
            .write(true)
            .open(&old)
            .unwrap()
            .set_modified(hour_ago)
            .unwrap();
        let store = Store::open(dir.path()).unwrap();
        assert_eq!(
            folder(&store),
            [
                ".session-in-flight.tmp".to_string(),
                format!("{}.json", s.id)
            ]
        );
    }

    #[test]
    fn another_format_version_is_named_and_the_file_left_alone() {
        let (_dir, store, _) = saved_store();
        for (found, says) in [
            (2, "is newer than this mailtriage reads (format 1)"),
            (0, "is older"),
        ] {
            let path = store.path(&format!("v{found}"));
            let text = format!("{{\"format\": {found}, \"id\": \"v{found}\", \"turns\": []}}\n");
            std::fs::write(&path, &text).unwrap();
            let err = store.load(&format!("v{found}")).unwrap_err();
            assert!(
                matches!(err, SessionError::Format { found: f, .. } if f == found),
                "{err}"
            );
            let message = err.to_string();
            assert!(
                message.contains(&format!("session format {found} {says}")),
                "{message}"
            );
            assert_eq!(std::fs::read_to_string(&path).unwrap(), text);
        }
    }
}
