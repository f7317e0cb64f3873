//! Batch classification: streams tickets through a pool of worker threads
//! and writes their results in input order, in bounded memory.
//!
//! One reader thread pulls tickets from a lazy [`crate::ticket::Tickets`]
//! stream and cuts it into chunks, workers classify and render them, and the
//! calling thread writes them through a reorder buffer. A [`Window`] caps how
//! many chunks (and how many input bytes) are between the reader and the
//! writer, so memory stays constant however many tickets come and however
//! slow one of them is.
//!
//! Owns: the pipeline and its limits. Must not touch: how a ticket is read
//! (`ticket`), classified (`classify`) or rendered (`classify::Writer`).

use crate::classify::{self, Format, Rendered, Writer};
use crate::engine::Answers;
use crate::kb::KnowledgeBase;
use crate::ticket::{Ticket, TicketError};
use std::collections::BTreeMap;
use std::io::Write;
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::sync::{Condvar, Mutex};

/// Chunks in flight per worker: enough to keep workers busy while the
/// writer waits for a slow ticket, few enough to keep memory flat.
const CHUNKS_PER_JOB: usize = 4;

/// Tickets travel in chunks of at most this many tickets or bytes, so the
/// threads hand work over (and wake each other) once per chunk, not per ticket.
const CHUNK_TICKETS: usize = 32;
const CHUNK_BYTES: usize = 1024 * 1024;

/// Input bytes in flight at most (one larger chunk is still let through
/// alone), so a run of big tickets cannot fill memory.
const BYTES_IN_FLIGHT: usize = 8 * 1024 * 1024;

/// How a batch runs.
#[derive(Debug, Clone)]
pub struct Options {
    /// Worker threads (at least 1).
    pub jobs: usize,
    pub format: Format,
    /// Show a progress bar on stderr.
    pub progress: bool,
    /// Quote AUTH usernames decoded (never passwords).
    pub show_usernames: bool,
}

/// What a batch did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Summary {
    pub tickets: usize,
    /// False when some ticket was unknown or unreadable.
    pub all_classified: bool,
}

/// The number of workers `--jobs 0` (or no `--jobs`) means: every core.
pub fn default_jobs() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
}

/// Consecutive tickets handed to one worker.
struct Chunk<T> {
    seq: usize,
    bytes: usize,
    items: Vec<T>,
}

type TicketChunk = Chunk<Result<Ticket, TicketError>>;

/// Classifies every ticket of `tickets` and writes the results to `out` in
/// the order the tickets came.
pub fn run<I, W>(
    kb: &KnowledgeBase,
    tickets: I,
    global: &Answers,
    options: &Options,
    out: W,
) -> std::io::Result<(Summary, W)>
where
    I: Iterator<Item = Result<Ticket, TicketError>> + Send,
    W: Write,
{
    let jobs = options.jobs.max(1);
    // A run of one chunk or less (the usual interactive case), or with one
    // job, goes faster without threads: no hand-overs to wait for.
    let mut tickets = tickets;
    let first: Vec<_> = tickets.by_ref().take(CHUNK_TICKETS).collect();
    if jobs == 1 || first.len() < CHUNK_TICKETS {
        return run_here(kb, first.into_iter().chain(tickets), global, options, out);
    }
    let tickets = first.into_iter().chain(tickets);
    let window = Window::new(jobs * CHUNKS_PER_JOB, BYTES_IN_FLIGHT);
    // As deep as the window, so the reader only ever waits in `admit`,
    // which `close` ends.
    let (chunk_tx, chunk_rx) = sync_channel::<TicketChunk>(jobs * CHUNKS_PER_JOB);
    let (result_tx, result_rx) = sync_channel::<Chunk<Rendered>>(jobs * CHUNKS_PER_JOB);
    let chunk_rx = Mutex::new(chunk_rx);
    let format = options.format;
    std::thread::scope(|scope| {
        let window = &window;
        scope.spawn(move || read_chunks(tickets, window, chunk_tx));
        for _ in 0..jobs {
            let (chunk_rx, result_tx) = (&chunk_rx, result_tx.clone());
            let show_usernames = options.show_usernames;
            scope.spawn(move || work(kb, global, format, show_usernames, chunk_rx, result_tx));
        }
        drop(result_tx);
        let written = write_in_order(result_rx, window, options, out);
        // Whatever happened, let the reader stop waiting for room.
        window.close();
        written
    })
}

/// Classifies and writes ticket after ticket on the calling thread.
fn run_here<W: Write>(
    kb: &KnowledgeBase,
    tickets: impl Iterator<Item = Result<Ticket, TicketError>>,
    global: &Answers,
    options: &Options,
    out: W,
) -> std::io::Result<(Summary, W)> {
    let mut writer = Writer::new(out, options.format);
    let mut all_classified = true;
    let progress = options.progress.then(progress_bar);
    for ticket in tickets {
        let result = match &ticket {
            Ok(t) => classify_caught(kb, t, global, options.show_usernames),
            Err(err) => classify::TicketResult::from_error(err),
        };
        let rendered = Rendered::new(&result, options.format);
        all_classified &= rendered.classified;
        writer.write_rendered(&rendered)?;
        if let Some(bar) = &progress {
            bar.inc(1);
        }
    }
    close(writer, progress, all_classified)
}

/// Cuts the ticket stream into chunks and hands them on as the window allows.
fn read_chunks(
    tickets: impl Iterator<Item = Result<Ticket, TicketError>>,
    window: &Window,
    chunks: SyncSender<TicketChunk>,
) {
    let mut seq = 0;
    let mut chunk = Chunk {
        seq,
        bytes: 0,
        items: Vec::with_capacity(CHUNK_TICKETS),
    };
    let send =
        |chunk: TicketChunk| window.admit(chunk.seq, chunk.bytes) && chunks.send(chunk).is_ok();
    for ticket in tickets {
        chunk.bytes += ticket.as_ref().map_or(0, |t| t.text.len());
        chunk.items.push(ticket);
        if chunk.items.len() >= CHUNK_TICKETS || chunk.bytes >= CHUNK_BYTES {
            seq += 1;
            let full = std::mem::replace(
                &mut chunk,
                Chunk {
                    seq,
                    bytes: 0,
                    items: Vec::with_capacity(CHUNK_TICKETS),
                },
            );
            if !send(full) {
                return;
            }
        }
    }
    if !chunk.items.is_empty() {
        send(chunk);
    }
}

/// Classifies and renders chunks until the reader is done.
fn work(
    kb: &KnowledgeBase,
    global: &Answers,
    format: Format,
    show_usernames: bool,
    chunks: &Mutex<Receiver<TicketChunk>>,
    results: SyncSender<Chunk<Rendered>>,
) {
    loop {
        let next = chunks.lock().map(|rx| rx.recv());
        let Ok(Ok(chunk)) = next else { return };
        let items = chunk
            .items
            .into_iter()
            .map(|ticket| {
                let result = match &ticket {
                    Ok(t) => classify_caught(kb, t, global, show_usernames),
                    Err(err) => classify::TicketResult::from_error(err),
                };
                Rendered::new(&result, format)
            })
            .collect();
        if results
            .send(Chunk {
                seq: chunk.seq,
                bytes: chunk.bytes,
                items,
            })
            .is_err()
        {
            return;
        }
    }
}

/// Classifies one ticket; a panic becomes an error record for that ticket
/// only, so one bad input cannot stop the batch.
fn classify_caught(
    kb: &KnowledgeBase,
    ticket: &Ticket,
    global: &Answers,
    show_usernames: bool,
) -> classify::TicketResult {
    if let Some(err) = unknown_answer(kb, ticket) {
        return classify::TicketResult::from_error(&err);
    }
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let mut result = classify::classify(kb, ticket, global);
        if show_usernames {
            classify::show_usernames(&mut result, &ticket.text);
        }
        result
    }))
    .unwrap_or_else(|_| {
        let message =
            "internal error while classifying this ticket; please report it with the ticket"
                .to_string();
        classify::TicketResult::from_error(&TicketError {
            id: ticket.id.clone(),
            message,
        })
    })
}

/// A record's answer to a fact no question asks (a misspelt fact) would be
/// dropped without a word, as `--answer` refuses it: the ticket is an error
/// naming the fact and the ones that are understood.
fn unknown_answer(kb: &KnowledgeBase, ticket: &Ticket) -> Option<TicketError> {
    let fact = ticket
        .answers
        .keys()
        .find(|f| kb.question_for(f).is_none())?;
    let known = kb.askable_facts();
    let hint = crate::kb::did_you_mean(fact, known.iter().copied())
        .map(|h| format!(" ({h})"))
        .unwrap_or_default();
    Some(TicketError {
        id: ticket.id.clone(),
        message: format!(
            "answer {fact}={}: unknown fact{hint}; the facts an agent can answer are: {}",
            ticket.answers[fact].as_str(),
            known.join(", ")
        ),
    })
}

/// Writes each chunk of results as soon as every earlier one is written.
fn write_in_order<W: Write>(
    results: Receiver<Chunk<Rendered>>,
    window: &Window,
    options: &Options,
    out: W,
) -> std::io::Result<(Summary, W)> {
    let mut writer = Writer::new(out, options.format);
    let mut pending: BTreeMap<usize, Chunk<Rendered>> = BTreeMap::new();
    let mut next = 0;
    let mut all_classified = true;
    let progress = options.progress.then(progress_bar);
    for chunk in results {
        pending.insert(chunk.seq, chunk);
        while let Some(chunk) = pending.remove(&next) {
            for rendered in &chunk.items {
                all_classified &= rendered.classified;
                writer.write_rendered(rendered)?;
            }
            window.release(chunk.bytes);
            next += 1;
            if let Some(bar) = &progress {
                bar.inc(chunk.items.len() as u64);
            }
        }
    }
    close(writer, progress, all_classified)
}

/// Ends a run: clears the progress bar and finishes the output.
fn close<W: Write>(
    writer: Writer<W>,
    progress: Option<indicatif::ProgressBar>,
    all_classified: bool,
) -> std::io::Result<(Summary, W)> {
    if let Some(bar) = progress {
        bar.finish_and_clear();
    }
    let tickets = writer.count();
    Ok((
        Summary {
            tickets,
            all_classified,
        },
        writer.finish()?,
    ))
}

fn progress_bar() -> indicatif::ProgressBar {
    let bar = indicatif::ProgressBar::new_spinner();
    let style = indicatif::ProgressStyle::with_template(
        "{spinner} {human_pos} tickets  {per_sec}  {elapsed}",
    )
    .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner());
    bar.set_style(style);
    bar.enable_steady_tick(std::time::Duration::from_millis(200));
    bar
}

/// The chunks between the reader and the writer: the reader waits before
/// chunk `seq` until fewer than `chunks` are unwritten and their input bytes
/// leave room for it.
struct Window {
    state: Mutex<WindowState>,
    room: Condvar,
    chunks: usize,
    bytes: usize,
}

struct WindowState {
    written: usize,
    bytes: usize,
    closed: bool,
}

impl Window {
    fn new(chunks: usize, bytes: usize) -> Window {
        Window {
            state: Mutex::new(WindowState {
                written: 0,
                bytes: 0,
                closed: false,
            }),
            room: Condvar::new(),
            chunks,
            bytes,
        }
    }

    /// Waits until chunk `seq` of `size` bytes may go; false once closed.
    fn admit(&self, seq: usize, size: usize) -> bool {
        let Ok(mut state) = self.state.lock() else {
            return false;
        };
        loop {
            if state.closed {
                return false;
            }
            let in_flight = seq - state.written;
            let fits = in_flight == 0 || state.bytes + size <= self.bytes;
            if in_flight < self.chunks && fits {
                state.bytes += size;
                return true;
            }
            state = match self.room.wait(state) {
                Ok(s) => s,
                Err(_) => return false,
            };
        }
    }

    fn release(&self, size: usize) {
        if let Ok(mut state) = self.state.lock() {
            state.written += 1;
            state.bytes -= size;
        }
        self.room.notify_all();
    }

    fn close(&self) {
        if let Ok(mut state) = self.state.lock() {
            state.closed = true;
        }
        self.room.notify_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ticket::{parse_record, Ticket};

    fn tickets(n: usize) -> Vec<Result<Ticket, TicketError>> {
        let texts = [
            "535 5.7.8 Authentication credentials invalid",
            "550 5.1.1 <a@b.example>: Recipient address rejected: User unknown",
            "hello",
        ];
        (0..n)
            .map(|i| {
                if i % 7 == 3 {
                    return Err(TicketError { id: format!("t{i}"), message: "permission denied".into() });
                }
                let line = serde_json::json!({"id": format!("t{i}"), "transcript": texts[i % texts.len()]}).to_string();
                parse_record(&line, "x")
            })
            .collect()
    }

    fn run_with(jobs: usize, input: Vec<Result<Ticket, TicketError>>) -> (Summary, String) {
        let kb = KnowledgeBase::embedded().unwrap();
        let options = Options {
            jobs,
            format: Format::Jsonl,
            progress: false,
            show_usernames: false,
        };
        let (summary, out) = run(
            &kb,
            input.into_iter(),
            &Answers::new(),
            &options,
            Vec::new(),
        )
        .unwrap();
        (summary, String::from_utf8(out).unwrap())
    }

    #[test]
    fn a_record_answering_an_unknown_fact_is_an_error_naming_it() {
        let line = r#"{"id": "t1", "transcript": "535 5.7.8 auth failed", "answers": {"recieve_works": "yes"}}"#;
        let (summary, out) = run_with(1, vec![parse_record(line, "x")]);
        assert!(!summary.all_classified, "{out}");
        assert!(
            out.contains(
                r#"answer recieve_works=yes: unknown fact (did you mean \"receive_works\"?)"#
            ),
            "{out}"
        );
        let line = r#"{"id": "t2", "transcript": "535 5.7.8 auth failed", "answers": {"receive_works": "yes"}}"#;
        let (_, out) = run_with(1, vec![parse_record(line, "x")]);
        assert!(!out.contains("\"error\""), "{out}");
    }

    #[test]
    fn results_come_in_input_order_whatever_the_number_of_jobs() {
        let (one, serial) = run_with(1, tickets(200));
        let (four, parallel) = run_with(4, tickets(200));
        assert_eq!(serial, parallel);
        assert_eq!((one.tickets, four.tickets), (200, 200));
        let ids: Vec<String> = parallel
            .lines()
            .map(|l| {
                serde_json::from_str::<serde_json::Value>(l).unwrap()["ticket"]
                    .as_str()
                    .unwrap()
                    .to_string()
            })
            .collect();
        let expected: Vec<String> = (0..200).map(|i| format!("t{i}")).collect();
        assert_eq!(ids, expected);
    }

    #[test]
    fn an_unreadable_ticket_is_an_error_record_and_the_batch_goes_on() {
        let (summary, out) = run_with(2, tickets(10));
        assert!(!summary.all_classified);
        let errors = out
            .lines()
            .filter(|l| l.contains("\"error\":\"permission denied\""))
            .count();
        assert_eq!(errors, 1);
        assert_eq!(out.lines().count(), 10);
    }

    #[test]
    fn the_window_holds_back_tickets_beyond_its_size() {
        let window = Window::new(2, 100);
        assert!(window.admit(0, 60));
        assert!(window.admit(1, 30));
        std::thread::scope(|s| {
            let waiter = s.spawn(|| window.admit(2, 10));
            std::thread::sleep(std::time::Duration::from_millis(50));
            assert!(!waiter.is_finished(), "a third chunk must wait for room");
            window.release(60);
            assert!(waiter.join().unwrap());
        });
        window.close();
        assert!(!window.admit(3, 1));
    }
}
