//! Input sources: the terminal (rustyline, with history, completion and
//! bracketed paste) and scripts (stdin that is not a terminal, read line by
//! line). Both deliver complete inputs, assembled by the same rule
//! ([`commands::assess`]).
//!
//! Owns: reading. Must not touch: what an input means.

use super::commands::{self, Assembly};
use super::helper::ReplHelper;
use rustyline::error::ReadlineError;
use rustyline::history::FileHistory;
use rustyline::{CompletionType, Config, Editor};
use std::io::BufRead;
use std::path::PathBuf;

/// What one read produced.
#[derive(Debug)]
pub enum Read {
    Text(String),
    /// Ctrl-C: the input was dropped.
    Interrupted,
    /// Ctrl-D or end of the script.
    Eof,
}

/// How to read the next input.
pub struct Prompt<'a> {
    pub text: &'a str,
    /// Read a `paste` block (ends at a line holding only `.`).
    pub block: bool,
    pub question_open: bool,
}

pub trait Source {
    fn read(&mut self, prompt: &Prompt) -> Result<Read, ReadlineError>;
    /// Keeps a command in the history (transcripts never go there).
    fn remember(&mut self, line: &str);
    /// Whether a person is typing (follow-up prompts make sense).
    fn interactive(&self) -> bool;
}

/// The terminal, through rustyline.
pub struct Terminal {
    editor: Editor<ReplHelper, FileHistory>,
    history: Option<PathBuf>,
}

impl Terminal {
    pub fn new(helper: ReplHelper, history: Option<PathBuf>) -> Result<Terminal, ReadlineError> {
        let config = Config::builder()
            .auto_add_history(false)
            .history_ignore_space(true)
            .max_history_size(1000)?
            .completion_type(CompletionType::List)
            .bracketed_paste(true)
            .build();
        let mut editor = Editor::with_config(config)?;
        editor.set_helper(Some(helper));
        if let Some(path) = &history {
            // A missing history file is the normal first run.
            let _ = editor.load_history(path);
        }
        Ok(Terminal { editor, history })
    }
}

impl Source for Terminal {
    fn read(&mut self, prompt: &Prompt) -> Result<Read, ReadlineError> {
        if let Some(h) = self.editor.helper_mut() {
            h.block = prompt.block;
            h.question_open = prompt.question_open;
        }
        match self.editor.readline(prompt.text) {
            Ok(text) => Ok(Read::Text(text)),
            Err(ReadlineError::Interrupted) => Ok(Read::Interrupted),
            Err(ReadlineError::Eof) => Ok(Read::Eof),
            Err(e) => Err(e),
        }
    }

    fn remember(&mut self, line: &str) {
        if self.editor.add_history_entry(line).unwrap_or(false) {
            if let Some(path) = &self.history {
                // History is a convenience: failing to write it must not stop the call.
                let _ = self.editor.save_history(path);
            }
        }
    }

    fn interactive(&self) -> bool {
        true
    }
}

/// A script: the same commands, one per line; transcripts end at an empty
/// line (or the end of input), `paste` blocks at a line holding only `.`.
pub struct Script<R: BufRead> {
    reader: R,
}

impl<R: BufRead> Script<R> {
    pub fn new(reader: R) -> Script<R> {
        Script { reader }
    }
}

impl<R: BufRead> Source for Script<R> {
    fn read(&mut self, prompt: &Prompt) -> Result<Read, ReadlineError> {
        let mut buffer: Option<String> = None;
        loop {
            let mut line = String::new();
            if self.reader.read_line(&mut line)? == 0 {
                return Ok(buffer.map_or(Read::Eof, Read::Text));
            }
            let line = line.trim_end_matches(['\n', '\r']);
            let text = match buffer.take() {
                None => line.to_string(),
                Some(mut b) => {
                    b.push('\n');
                    b.push_str(line);
                    b
                }
            };
            if commands::assess(&text, prompt.block) == Assembly::Complete {
                return Ok(Read::Text(text));
            }
            buffer = Some(text);
        }
    }

    fn remember(&mut self, _line: &str) {}

    fn interactive(&self) -> bool {
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_all(script: &str) -> Vec<String> {
        let mut src = Script::new(script.as_bytes());
        let prompt = Prompt {
            text: "",
            block: false,
            question_open: false,
        };
        let mut out = Vec::new();
        while let Read::Text(t) = src.read(&prompt).unwrap() {
            out.push(t);
        }
        out
    }

    #[test]
    fn scripts_split_into_commands_and_transcripts() {
        let got = read_all("why\n220 mx ESMTP\n535 no\n\nyes\n550 tail at end\nmore");
        assert_eq!(
            got,
            [
                "why",
                "220 mx ESMTP\n535 no\n",
                "yes",
                "550 tail at end\nmore"
            ]
        );
    }

    #[test]
    fn paste_blocks_end_at_a_dot() {
        let mut src = Script::new("a\n\nb\n.\nwhy\n".as_bytes());
        let block = Prompt {
            text: "",
            block: true,
            question_open: false,
        };
        assert!(matches!(src.read(&block).unwrap(), Read::Text(t) if t == "a\n\nb\n."));
    }
}
