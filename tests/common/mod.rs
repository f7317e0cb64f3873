//! Helpers shared by the integration tests: broken rule sets are the minimal
//! rule set in tests/data/minimal-rules/ with a case folder laid over it.

#![allow(dead_code)]

use mailtriage::kb::{dir_sources, SourceFile};
use std::path::{Path, PathBuf};

pub fn data_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data")
}

/// Every case folder under tests/data/broken-rules/, sorted by name.
pub fn broken_cases() -> Vec<PathBuf> {
    let mut cases: Vec<PathBuf> = std::fs::read_dir(data_dir().join("broken-rules"))
        .expect("tests/data/broken-rules exists")
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    cases.sort();
    cases
}

/// The minimal rules with `case` laid over them: a file of the same path
/// replaces the minimal one, a new path is added, and the paths listed in
/// the case's `REMOVE` file are dropped.
pub fn overlay_sources(case: &Path) -> Vec<SourceFile> {
    let mut files = dir_sources(&data_dir().join("minimal-rules")).unwrap();
    let remove = std::fs::read_to_string(case.join("REMOVE")).unwrap_or_default();
    files.retain(|f| !remove.lines().any(|r| r.trim() == f.path));
    for patch in dir_sources(case).unwrap() {
        files.retain(|f| f.path != patch.path);
        files.push(patch);
    }
    files.sort_by(|a, b| a.path.cmp(&b.path));
    files
}

/// Writes the overlaid rule set of `case` into a fresh temporary folder.
pub fn materialise(case: &Path) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for file in overlay_sources(case) {
        let path = dir.path().join(&file.path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, file.text).unwrap();
    }
    dir
}
