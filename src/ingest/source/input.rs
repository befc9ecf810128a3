//! Inputs as named on the command line: files, folders (each file under them) and
//! standard input; opened one at a time, when their turn comes.

use std::fs::File;
use std::io::{self, BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use super::compressed::{Compression, decompress};
use super::documents::{Reader, Resume};
use super::folder::walk;

/// One input: a file, standard input (`-`), or any reader.
pub struct Input {
    /// As given on the command line (`-` for standard input), or found in a folder.
    pub name: String,
    /// Size in bytes as stored (compressed or not), when known.
    pub size: Option<u64>,
    source: Source,
}

enum Source {
    Stdin,
    File {
        path: PathBuf,
        in_folder: bool,
    },
    Reader(Option<Box<dyn Read + Send>>),
    /// Found in a folder and left out (hidden).
    Skipped(String),
}

/// What identifies a file for its checkpoint: the same path, size and modification
/// time are taken to be the same content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileKey {
    pub path: String,
    pub size: u64,
    pub mtime_ns: i64,
}

/// An input opened for reading.
pub struct Opened {
    pub reader: Reader,
    pub compression: Compression,
    raw: Arc<AtomicU64>,
}

impl Opened {
    /// Bytes read so far as stored (compressed bytes for a compressed input), counting
    /// from where reading started.
    pub fn raw_bytes(&self) -> u64 {
        self.raw.load(Ordering::Relaxed)
    }

    /// The reader, and the count of bytes read as stored that it advances, to be used
    /// on another thread.
    pub fn reader_and_gauge(&mut self) -> (&mut Reader, &AtomicU64) {
        (&mut self.reader, &self.raw)
    }
}

/// Why an input is not read.
#[derive(Debug)]
pub enum Unopened {
    /// It cannot be read (an error, for the exit code).
    Unreadable(String),
    /// A file found in a folder that is not JSON (a note).
    Skipped(String),
}

/// Counts the bytes read through it.
struct Counting<R> {
    inner: R,
    count: Arc<AtomicU64>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

impl Input {
    pub fn stdin() -> Input {
        Input {
            name: "-".to_string(),
            size: None,
            source: Source::Stdin,
        }
    }

    /// A file named on the command line (always read, whatever it holds).
    pub fn open(path: &Path) -> Result<Input, String> {
        let name = path.display().to_string();
        if path.is_dir() {
            return Err(format!("{name}: is a directory, not a file"));
        }
        let file = File::open(path).map_err(|e| format!("{name}: cannot open: {e}"))?;
        Ok(Input {
            name,
            size: file.metadata().ok().map(|m| m.len()),
            source: Source::File {
                path: path.to_path_buf(),
                in_folder: false,
            },
        })
    }

    /// From any reader (tests, front-ends).
    pub fn from_reader(name: &str, reader: impl Read + Send + 'static) -> Input {
        Input {
            name: name.to_string(),
            size: None,
            source: Source::Reader(Some(Box::new(reader))),
        }
    }

    /// The inputs named on the command line, folders walked (`-` or none: standard
    /// input).
    pub fn open_all(paths: &[PathBuf]) -> Result<Vec<Input>, String> {
        if paths.is_empty() {
            return Ok(vec![Input::stdin()]);
        }
        let mut inputs = Vec::new();
        for path in paths {
            if path.as_os_str() == "-" {
                inputs.push(Input::stdin());
            } else if path.is_dir() {
                let mut found = Vec::new();
                walk(path, &mut found)?;
                if found.is_empty() {
                    inputs.push(Input {
                        name: path.display().to_string(),
                        size: Some(0),
                        source: Source::Skipped("an empty folder: nothing to read".to_string()),
                    });
                }
                for (path, skipped) in found {
                    let name = path.display().to_string();
                    inputs.push(match skipped {
                        Some(reason) => Input {
                            name,
                            size: std::fs::metadata(&path)
                                .ok()
                                .map(|m| if m.is_dir() { 0 } else { m.len() }),
                            source: Source::Skipped(reason),
                        },
                        None => Input {
                            name,
                            size: std::fs::metadata(&path).ok().map(|m| m.len()),
                            source: Source::File {
                                path,
                                in_folder: true,
                            },
                        },
                    });
                }
            } else {
                inputs.push(Input::open(path)?);
            }
        }
        Ok(inputs)
    }

    /// Found in a folder and left out: nothing of it is read.
    pub fn is_skipped(&self) -> bool {
        matches!(self.source, Source::Skipped(_))
    }

    /// The key of its checkpoint: files only.
    pub fn key(&self) -> Option<FileKey> {
        let Source::File { path, .. } = &self.source else {
            return None;
        };
        let meta = std::fs::metadata(path).ok()?;
        let mtime = meta.modified().ok()?;
        let mtime_ns = match mtime.duration_since(std::time::UNIX_EPOCH) {
            Ok(d) => d.as_nanos() as i64,
            Err(e) => -(e.duration().as_nanos() as i64),
        };
        let path = std::fs::canonicalize(path).ok()?;
        Some(FileKey {
            path: path.to_string_lossy().into_owned(),
            size: meta.len(),
            mtime_ns,
        })
    }

    /// Opens it for reading, decompressed, at `resume` (a place in a plain file) or at
    /// its start.
    pub fn open_reader(&mut self, resume: Option<Resume>) -> Result<Opened, Unopened> {
        let raw = Arc::new(AtomicU64::new(0));
        let unreadable = |e: io::Error| Unopened::Unreadable(format!("cannot read: {e}"));
        let (inner, in_folder): (Box<dyn Read + Send>, bool) = match &mut self.source {
            Source::Stdin => (Box::new(io::stdin()), false),
            Source::Reader(reader) => match reader.take() {
                Some(reader) => (reader, false),
                None => return Err(Unopened::Unreadable("read already".to_string())),
            },
            Source::Skipped(reason) => return Err(Unopened::Skipped(reason.clone())),
            Source::File { path, in_folder } => {
                let mut file = File::open(&*path)
                    .map_err(|e| Unopened::Unreadable(format!("cannot open: {e}")))?;
                if let Some(resume) = resume {
                    file.seek(SeekFrom::Start(resume.at.offset))
                        .map_err(unreadable)?;
                }
                (Box::new(file), *in_folder)
            }
        };
        let counting = Counting {
            inner,
            count: raw.clone(),
        };
        let buffered = Box::new(BufReader::with_capacity(256 * 1024, counting));
        let (stream, compression) = if resume.is_some() {
            (buffered as Box<dyn io::BufRead + Send>, Compression::None)
        } else {
            decompress(buffered)
                .map_err(unreadable)?
                .map_err(Unopened::Unreadable)?
        };
        let mut reader = Reader::new(stream, resume).map_err(unreadable)?;
        if resume.is_none() {
            check_content(&mut reader, in_folder)?;
        }
        Ok(Opened {
            reader,
            compression,
            raw,
        })
    }
}

/// Refuses what is not JSON text at all: binary data anywhere, and inside a folder,
/// anything whose first byte (after whitespace) opens no JSON object or array.
fn check_content(reader: &mut Reader, in_folder: bool) -> Result<(), Unopened> {
    let first = reader
        .first_byte()
        .map_err(|e| Unopened::Unreadable(format!("cannot read: {e}")))?;
    let sample = reader.peek_sample();
    let binary = sample.contains(&0);
    match first {
        None | Some(b'{') | Some(b'[') if !binary => Ok(()),
        _ if in_folder => Err(Unopened::Skipped(if binary {
            "binary data, not JSON: skipped".to_string()
        } else {
            "not JSON (it does not start with '{' or '['): skipped".to_string()
        })),
        _ if binary => Err(Unopened::Unreadable(
            "binary data (a NUL byte), not JSON text".to_string(),
        )),
        _ => Ok(()),
    }
}
