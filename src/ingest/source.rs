//! Reading inputs: files or standard input, line by line, in bounded memory.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use anyhow::Result;

/// One input: a file, or standard input (`-`).
pub struct Input {
    /// As given on the command line (`-` for standard input).
    pub name: String,
    reader: Box<dyn BufRead + Send>,
    /// Size in bytes, when known (for progress).
    pub size: Option<u64>,
}

/// The longest line read as one event (or one array / batch); longer lines are
/// rejected without being held in memory.
pub const MAX_LINE: usize = 8 * 1024 * 1024;

/// How much of an over-long line is kept to show in its rejection.
const PREVIEW: usize = 1024;

impl Input {
    pub fn stdin() -> Input {
        Input {
            name: "-".to_string(),
            reader: Box::new(BufReader::with_capacity(256 * 1024, io::stdin())),
            size: None,
        }
    }

    /// Opens a file, with a message that names it when it cannot be read.
    pub fn open(path: &Path) -> Result<Input, String> {
        let name = path.display().to_string();
        if path.is_dir() {
            return Err(format!("{name}: is a directory, not an ndjson file"));
        }
        let file = File::open(path).map_err(|e| format!("{name}: cannot open: {e}"))?;
        let size = file.metadata().ok().map(|m| m.len());
        Ok(Input {
            name,
            reader: Box::new(BufReader::with_capacity(256 * 1024, file)),
            size,
        })
    }

    /// From any reader (tests, front-ends).
    pub fn from_reader(name: &str, reader: impl Read + Send + 'static) -> Input {
        Input {
            name: name.to_string(),
            reader: Box::new(BufReader::new(reader)),
            size: None,
        }
    }

    /// The inputs named on the command line (`-` or none: standard input).
    pub fn open_all(paths: &[PathBuf]) -> Result<Vec<Input>, String> {
        if paths.is_empty() {
            return Ok(vec![Input::stdin()]);
        }
        paths
            .iter()
            .map(|p| {
                if p.as_os_str() == "-" {
                    Ok(Input::stdin())
                } else {
                    Input::open(p)
                }
            })
            .collect()
    }

    /// Reads the next line into `buf` (without the newline). Returns the bytes consumed
    /// (0 at the end), and whether the line was longer than [`MAX_LINE`] (then `buf`
    /// holds only its start).
    pub fn read_line(&mut self, buf: &mut Vec<u8>) -> io::Result<(usize, bool)> {
        buf.clear();
        let mut consumed = 0;
        let mut too_long = false;
        loop {
            let available = match self.reader.fill_buf() {
                Ok(b) => b,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if available.is_empty() {
                break;
            }
            let (chunk, done) = match memchr(available) {
                Some(i) => (&available[..i], Some(i + 1)),
                None => (available, None),
            };
            if !too_long {
                if buf.len() + chunk.len() > MAX_LINE {
                    // Keep only the start, to show in the rejection.
                    too_long = true;
                    buf.truncate(PREVIEW);
                } else {
                    buf.extend_from_slice(chunk);
                }
            }
            let used = done.unwrap_or(available.len());
            self.reader.consume(used);
            consumed += used;
            if done.is_some() {
                break;
            }
        }
        if buf.last() == Some(&b'\r') {
            buf.pop();
        }
        Ok((consumed, too_long))
    }
}

fn memchr(bytes: &[u8]) -> Option<usize> {
    bytes.iter().position(|&b| b == b'\n')
}
