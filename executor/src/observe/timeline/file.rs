//! The timeline's file on disk: which file a runtime writes, and how it stays whole
//! JSON whatever happens to the run or the disk.
//!
//! # Which file
//! The first runtime in a process to ask for `PATH` writes `PATH`, as it is (a
//! previous run's file there is replaced, as a log file is). A later runtime of the
//! same process that asks for the same path writes `PATH` with a number before its
//! extension instead: `trace.json`, then `trace.2.json`, `trace.3.json`, … It says so
//! once on stderr. That holds whether the first runtime is still alive (two runtimes
//! writing one file leave neither readable: `examples/http.rs --workers 2` runs one
//! per thread) or was dropped (truncating its finished timeline would lose it without
//! a word). Each file is a whole timeline of its own, for Perfetto to open alone.
//!
//! A pipe, a terminal or a device (`GLASSBOX_TRACE_JSON=/dev/stdout`, a FIFO) is
//! written as it is and never numbered: it is a stream the user chose, and cannot be
//! "overwritten". Two runtimes on one stream write one document after the other.
//!
//! # Ground rules
//! - The file on disk is always whole JSON, closed: it opens with `{"traceEvents":[`,
//!   then one event per line, each after the first starting with `,`. Events collect
//!   in memory; each flush writes them *and* the closing `]}` in one `write`, then
//!   steps back over the `]}`, so the next flush writes its events over it. The
//!   header goes to disk when the runtime is built; later flushes come before the
//!   loop may sleep (a hung program's timeline is on disk), whenever 64 KiB have
//!   collected, and at `Runtime`'s drop, which leaves the `]}` in place. A process
//!   killed mid-run leaves a file that opens as it is, holding every event up to its
//!   last flush. (A pipe cannot step back: written to one, the events go out at each
//!   flush and the closing once, at the drop.)
//! - A failed write (a full disk, a file-size limit) stops the timeline, never the
//!   run. The write may have stopped mid-event, so the file is cut back to where the
//!   last good flush ended and the closing is written there: a shorter file, still
//!   whole. stderr says once that the timeline stopped, which file, and why. (The
//!   closing goes over bytes the failed write already placed, before the file is
//!   shortened: no new byte is asked of a full disk.) A pipe cannot be cut back; what
//!   reached it stays, and stderr says so.
//! - Why not leave the file open-ended: Perfetto will not open that. Its JSON importer
//!   (google/perfetto, `src/trace_processor/importers/json/json_trace_tokenizer.cc`)
//!   reads the events one `{…}` at a time and keeps every complete one, but at the end
//!   of the file it fails with "JSON trace file is incomplete" unless it reached the
//!   end of the outer object. Only a bare array (`[{…},{…}`) may stop anywhere, in its
//!   recent versions; this file is in the object form, `{"traceEvents":[…]}`.

use std::collections::HashSet;
use std::ffi::OsString;
use std::fs::File;
use std::io::{self, Seek, SeekFrom, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::{LazyLock, Mutex, PoisonError};

/// What opens the file: written once, before the first event.
const OPENING: &[u8] = b"{\"traceEvents\":[\n";

/// What closes the file: written after the events at every flush.
const CLOSING: &[u8] = b"\n]}\n";

/// Events collected before a flush even if the loop never sleeps.
pub(super) const FLUSH_AT_BYTES: usize = 64 * 1024;

/// Which timeline a runtime was asked to write, and who asked: the messages about the
/// file name the setting the user wrote.
#[derive(Debug, Clone)]
pub(crate) struct TimelineRequest {
    pub(crate) path: PathBuf,
    pub(crate) asked_by: AskedBy,
}

/// Where a timeline's path came from.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum AskedBy {
    /// `Builder::trace_json(path)`.
    Builder,
    /// `GLASSBOX_TRACE_JSON=path`.
    Environment,
}

impl std::fmt::Display for TimelineRequest {
    /// The setting as the user wrote it: `GLASSBOX_TRACE_JSON="t.json"`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.asked_by {
            AskedBy::Builder => write!(f, "Builder::trace_json({:?})", self.path),
            AskedBy::Environment => write!(f, "GLASSBOX_TRACE_JSON={:?}", self.path),
        }
    }
}

/// The file and the events not yet written to it.
#[derive(Debug)]
pub(super) struct Writer {
    file: File,
    /// The file's name, for the message if a write fails.
    path: PathBuf,
    /// Events collected since the last flush, each line ending in `\n`.
    unwritten: Vec<u8>,
    /// False for a pipe or a terminal (`GLASSBOX_TRACE_JSON=/dev/stdout`), which cannot
    /// step back over a closing: there the closing is written once, at the drop.
    seekable: bool,
    /// Where the closing begins on disk: the end of the last flush that was written
    /// whole. A failed write is cut back to here. (Seekable files only.)
    closing_at: u64,
}

// === impl Writer ===

impl Writer {
    /// Creates the file the request leads to (see the module doc: which file) and
    /// collects its opening, which the first flush writes (`Timeline::open` makes that
    /// flush at once). An error names the setting and the file.
    pub(super) fn create(request: &TimelineRequest) -> io::Result<Writer> {
        let (file, path) = create_file(request)?;
        let seekable = stream_is_seekable(&file);
        let mut writer = Writer {
            file,
            path,
            unwritten: Vec::with_capacity(FLUSH_AT_BYTES),
            seekable,
            closing_at: 0,
        };
        writer.unwritten.extend_from_slice(OPENING);
        Ok(writer)
    }

    /// Adds one event line; every line but the first starts with the comma. True once
    /// enough has collected for a flush.
    pub(super) fn push_event(&mut self, first: bool, event: &str) -> bool {
        if !first {
            self.unwritten.push(b',');
        }
        self.unwritten.extend_from_slice(event.as_bytes());
        self.unwritten.push(b'\n');
        self.unwritten.len() >= FLUSH_AT_BYTES
    }

    /// Writes the collected events and the closing in one `write` (a file is never
    /// left with events and no closing), then, if more may follow, steps back to where
    /// the closing begins. On failure the file is cut back to its last whole flush
    /// (the module's ground rules); the error keeps its kind, and its message says
    /// which file stopped, why, and how it was left.
    pub(super) fn write_out(&mut self, more_may_follow: bool) -> io::Result<()> {
        let closes = self.seekable || !more_may_follow;
        if self.unwritten.is_empty() && (self.seekable || more_may_follow) {
            return Ok(()); // Nothing new, and the file is closed already (or cannot be yet).
        }
        let events = self.unwritten.len() as u64;
        if closes {
            self.unwritten.extend_from_slice(CLOSING);
        }
        let mut written = self.file.write_all(&self.unwritten);
        if closes && more_may_follow {
            let back = -(CLOSING.len() as i64);
            written = written.and_then(|()| self.file.seek(SeekFrom::Current(back)).map(drop));
        }
        self.unwritten.clear();
        match written {
            Ok(()) => {
                self.closing_at += events;
                Ok(())
            }
            Err(error) => Err(io::Error::new(error.kind(), self.stopped_by(&error))),
        }
    }

    /// A write failed: cut the file back to its last whole flush, closed, and say so.
    /// (`closing_at` is 0 only before the first flush, made by `Timeline::open`.)
    #[cold]
    fn stopped_by(&mut self, error: &io::Error) -> String {
        let path = &self.path;
        if !self.seekable {
            return format!(
                "the timeline {path:?} stopped: {error}; it is a pipe, so what reached it \
                 may end mid-event"
            );
        }
        if self.closing_at == 0 {
            // Not even the opening reached the disk (the first flush, which
            // `Timeline::open` makes): there is no whole timeline to keep, and the
            // runtime is refused.
            let emptied = self.file.set_len(0);
            let left = if emptied.is_ok() {
                "left empty"
            } else {
                "not emptied"
            };
            return format!("the timeline {path:?} could not be started: {error}; {left}");
        }
        let cut_back = self
            .file
            .write_all_at(CLOSING, self.closing_at)
            .and_then(|()| self.file.set_len(self.closing_at + CLOSING.len() as u64));
        match cut_back {
            Ok(()) => format!(
                "the timeline {path:?} stopped: {error}; it ends at its last whole flush \
                 ({} bytes), closed",
                self.closing_at + CLOSING.len() as u64
            ),
            Err(also) => format!(
                "the timeline {path:?} stopped: {error}; closing it failed too ({also}), \
                 so it may end mid-event"
            ),
        }
    }
}

/// Whether the file can step back over its closing: a regular file can, a pipe or a
/// terminal cannot (their `lseek` fails).
fn stream_is_seekable(mut file: &File) -> bool {
    file.stream_position().is_ok()
}

// === which file ===

/// Every timeline file this process has created, by absolute path: no runtime may
/// write over another's (see the module doc).
static CREATED: LazyLock<Mutex<HashSet<PathBuf>>> = LazyLock::new(Mutex::default);

/// Creates the file `request` leads to: its own path the first time this process
/// asks for it, a numbered one after that; a stream as it is.
fn create_file(request: &TimelineRequest) -> io::Result<(File, PathBuf)> {
    let asked = &request.path;
    // (A directory counts too, and `File::create` refuses it with `IsADirectory`.)
    let is_stream = std::fs::metadata(asked).is_ok_and(|meta| !meta.is_file());
    if is_stream {
        let file = File::create(asked).map_err(|error| named(request, asked, error))?;
        return Ok((file, asked.clone()));
    }
    // Held while the file is created, so two runtimes starting at once cannot both
    // pick the same name.
    let mut created = CREATED.lock().unwrap_or_else(PoisonError::into_inner);
    let (path, absolute) = first_free(asked, &created);
    let file = File::create(&path).map_err(|error| named(request, &path, error))?;
    created.insert(absolute);
    drop(created);
    if path != *asked {
        eprintln!(
            "glassbox: {request} holds another runtime's timeline of this process; this \
             runtime's timeline goes to {path:?}"
        );
    }
    Ok((file, path))
}

/// `asked`, or the first of `asked` numbered (2, 3, …) whose absolute path is not
/// `taken`: the path and its absolute form. (The recorded page picks its file so too.)
pub(crate) fn first_free(asked: &Path, taken: &HashSet<PathBuf>) -> (PathBuf, PathBuf) {
    let asked_absolute = std::path::absolute(asked).unwrap_or_else(|_| asked.to_path_buf());
    (1..)
        .map(|n| match n {
            1 => (asked.to_path_buf(), asked_absolute.clone()),
            n => (numbered(asked, n), numbered(&asked_absolute, n)),
        })
        .find(|(_, absolute)| !taken.contains(absolute))
        .expect("a number not yet used")
}

/// `path` with `.n` before its extension: `trace.json` → `trace.2.json`, `trace` →
/// `trace.2`. Perfetto reads the content, not the name, but a file that still ends
/// in `.json` opens with a double-click.
fn numbered(path: &Path, n: u32) -> PathBuf {
    let mut name = OsString::from(path.file_stem().unwrap_or_default());
    name.push(format!(".{n}"));
    if let Some(extension) = path.extension() {
        name.push(".");
        name.push(extension);
    }
    path.with_file_name(name)
}

/// `error` (kind kept) with a message naming the setting and, if it is not the one
/// asked for, the file.
fn named(request: &TimelineRequest, path: &Path, error: io::Error) -> io::Error {
    let file = if path == request.path {
        String::new()
    } else {
        format!(" {path:?}")
    };
    io::Error::new(
        error.kind(),
        format!("{request}: cannot create the timeline file{file}: {error}"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_numbered_timeline_keeps_its_extension_last() {
        assert_eq!(
            numbered(Path::new("/tmp/t.json"), 2),
            Path::new("/tmp/t.2.json")
        );
        assert_eq!(numbered(Path::new("t"), 3), Path::new("t.3"));
        assert_eq!(numbered(Path::new("a.tar.gz"), 2), Path::new("a.tar.2.gz"));
    }

    #[test]
    fn the_setting_is_named_as_the_user_wrote_it() {
        let request = |asked_by| TimelineRequest {
            path: PathBuf::from("/no/t.json"),
            asked_by,
        };
        assert_eq!(
            request(AskedBy::Environment).to_string(),
            r#"GLASSBOX_TRACE_JSON="/no/t.json""#
        );
        assert_eq!(
            request(AskedBy::Builder).to_string(),
            r#"Builder::trace_json("/no/t.json")"#
        );
    }
}
