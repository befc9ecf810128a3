//! A byte scanner that finds where each JSON value ends, in constant memory: it checks
//! the structure (brackets, strings and their escapes, literals) as it goes, so a
//! broken value is found at the byte where it breaks, and it keeps the bytes of the value
//! being read (up to a limit, and past it in a spool file when asked). The values
//! themselves are parsed by serde_json afterwards.

use std::io::{self, BufRead};

pub use super::record::Record;

/// A place in the (decompressed) input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Position {
    /// Bytes before it.
    pub offset: u64,
    /// 1-based line it is on.
    pub line: u64,
}

/// Where and why the input stops being JSON.
#[derive(Debug, Clone)]
pub struct SyntaxError {
    pub at: Position,
    pub what: String,
}

/// A key of the object being read (one level down) and where its value lies, relative
/// to the object's first byte.
#[derive(Debug, Clone)]
pub struct KeySpan {
    pub key: String,
    pub start: u64,
    pub end: u64,
}

/// Reads JSON structure from a byte stream.
pub struct Scanner {
    reader: Box<dyn BufRead + Send>,
    pos: Position,
    record: Option<Record>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Expect {
    Value,
    ValueOrClose,
    KeyOrClose,
    Key,
    Colon,
    CommaOrClose,
}

impl Scanner {
    pub fn new(reader: Box<dyn BufRead + Send>, pos: Position) -> Scanner {
        Scanner {
            reader,
            pos,
            record: None,
        }
    }

    pub fn position(&self) -> Position {
        self.pos
    }

    /// Starts keeping the bytes read, up to `cap` (then in a spool file if `spool`).
    pub fn start_record(&mut self, cap: usize, spool: bool) {
        self.record = Some(Record {
            cap,
            spool_enabled: spool,
            ..Record::default()
        });
    }

    pub fn take_record(&mut self) -> Record {
        self.record.take().unwrap_or_default()
    }

    /// Goes on keeping bytes in `record` (no longer spooled).
    pub fn put_record(&mut self, mut record: Record) {
        record.spool = None;
        record.spool_enabled = false;
        self.record = Some(record);
    }

    /// The next byte, not consumed.
    pub fn peek(&mut self) -> io::Result<Option<u8>> {
        loop {
            match self.reader.fill_buf() {
                Ok(buf) => return Ok(buf.first().copied()),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
        }
    }

    /// Consumes `n` bytes of what `fill_buf` holds.
    fn consume(&mut self, n: usize) -> io::Result<()> {
        let buf = self.reader.fill_buf()?;
        let chunk = &buf[..n];
        self.pos.line += chunk.iter().filter(|&&b| b == b'\n').count() as u64;
        self.pos.offset += n as u64;
        if let Some(record) = &mut self.record {
            record.push(chunk)?;
        }
        self.reader.consume(n);
        Ok(())
    }

    pub fn bump(&mut self) -> io::Result<()> {
        self.consume(1)
    }

    /// Up to `n` bytes of what is buffered, not consumed.
    pub fn sample(&mut self, n: usize) -> Vec<u8> {
        match self.reader.fill_buf() {
            Ok(buf) => buf[..buf.len().min(n)].to_vec(),
            Err(_) => Vec::new(),
        }
    }

    /// Consumes a leading UTF-8 byte order mark, if any.
    pub fn skip_bom(&mut self) -> io::Result<()> {
        let buf = self.reader.fill_buf()?;
        if buf.starts_with(&[0xEF, 0xBB, 0xBF]) {
            self.reader.consume(3);
            self.pos.offset += 3;
        }
        Ok(())
    }

    /// Skips JSON whitespace (and CR of CRLF line ends).
    pub fn skip_ws(&mut self) -> io::Result<()> {
        loop {
            let buf = self.reader.fill_buf()?;
            if buf.is_empty() {
                return Ok(());
            }
            let n = buf
                .iter()
                .position(|b| !matches!(b, b' ' | b'\t' | b'\n' | b'\r'))
                .unwrap_or(buf.len());
            let all = n == buf.len();
            self.consume(n)?;
            if !all {
                return Ok(());
            }
        }
    }

    /// Consumes the rest of the line, its newline included.
    pub fn skip_line(&mut self) -> io::Result<()> {
        loop {
            let buf = self.reader.fill_buf()?;
            if buf.is_empty() {
                return Ok(());
            }
            match buf.iter().position(|&b| b == b'\n') {
                Some(i) => return self.consume(i + 1),
                None => {
                    let n = buf.len();
                    self.consume(n)?;
                }
            }
        }
    }

    /// Consumes lines up to one that starts with `{` or `[` (where a new document
    /// begins), or the end.
    pub fn skip_to_document_line(&mut self) -> io::Result<()> {
        loop {
            self.skip_line()?;
            match self.peek()? {
                None | Some(b'{') | Some(b'[') => return Ok(()),
                _ => {}
            }
        }
    }

    fn error(&self, what: impl Into<String>) -> SyntaxError {
        SyntaxError {
            at: self.pos,
            what: what.into(),
        }
    }

    fn unexpected(&mut self, expected: &str) -> io::Result<SyntaxError> {
        Ok(match self.peek()? {
            None => self.error(format!("unexpected end of input, expected {expected}")),
            Some(b) => self.error(format!(
                "unexpected {}, expected {expected}",
                describe_byte(b)
            )),
        })
    }

    /// Reads one whole value. With `keys`, the keys of a top-level object and where
    /// their values lie are collected.
    pub fn value(
        &mut self,
        mut keys: Option<&mut Vec<KeySpan>>,
    ) -> io::Result<Result<(), SyntaxError>> {
        let start = self.pos.offset;
        // Open containers: true for an object.
        let mut stack: Vec<bool> = Vec::new();
        let mut expect = Expect::Value;
        let mut key_start = 0u64;
        loop {
            if expect != Expect::Value || !stack.is_empty() {
                self.skip_ws()?;
            }
            let Some(b) = self.peek()? else {
                return Ok(Err(self.unexpected(match expect {
                    Expect::Colon => "':'",
                    Expect::CommaOrClose => "',' or a closing bracket",
                    Expect::Key | Expect::KeyOrClose => "a key",
                    _ => "a value",
                })?));
            };
            match expect {
                Expect::Value | Expect::ValueOrClose => {
                    if expect == Expect::ValueOrClose && b == b']' {
                        self.bump()?;
                        stack.pop();
                    } else {
                        if stack.len() == 1 && stack[0] {
                            key_start = self.pos.offset - start;
                        }
                        match b {
                            b'{' => {
                                self.bump()?;
                                stack.push(true);
                                expect = Expect::KeyOrClose;
                                continue;
                            }
                            b'[' => {
                                self.bump()?;
                                stack.push(false);
                                expect = Expect::ValueOrClose;
                                continue;
                            }
                            b'"' => {
                                if let Err(e) = self.string(None)? {
                                    return Ok(Err(e));
                                }
                            }
                            b'-' | b'0'..=b'9' => self.number()?,
                            b't' | b'f' | b'n' => {
                                if let Err(e) = self.literal()? {
                                    return Ok(Err(e));
                                }
                            }
                            _ => return Ok(Err(self.unexpected("a value")?)),
                        }
                    }
                }
                Expect::KeyOrClose | Expect::Key => {
                    if expect == Expect::KeyOrClose && b == b'}' {
                        self.bump()?;
                        stack.pop();
                    } else if b == b'"' {
                        let mut key = Vec::new();
                        let capture = (stack.len() == 1 && keys.is_some()).then_some(&mut key);
                        if let Err(e) = self.string(capture)? {
                            return Ok(Err(e));
                        }
                        if let (Some(keys), 1) = (keys.as_deref_mut(), stack.len()) {
                            keys.push(KeySpan {
                                key: String::from_utf8_lossy(&key).into_owned(),
                                start: 0,
                                end: 0,
                            });
                        }
                        expect = Expect::Colon;
                        continue;
                    } else {
                        return Ok(Err(self.unexpected("a key (a string)")?));
                    }
                }
                Expect::Colon => {
                    if b != b':' {
                        return Ok(Err(self.unexpected("':'")?));
                    }
                    self.bump()?;
                    expect = Expect::Value;
                    // Whitespace after ':' belongs to no value.
                    self.skip_ws()?;
                    continue;
                }
                Expect::CommaOrClose => {
                    let top = *stack.last().expect("inside a container");
                    match (b, top) {
                        (b',', true) => expect = Expect::Key,
                        (b',', false) => expect = Expect::Value,
                        (b'}', true) | (b']', false) => {
                            stack.pop();
                        }
                        _ => {
                            return Ok(Err(self.unexpected(if top {
                                "',' or '}'"
                            } else {
                                "',' or ']'"
                            })?));
                        }
                    }
                    self.bump()?;
                    if b == b',' {
                        continue;
                    }
                }
            }
            // A value (or container) just ended.
            if stack.len() == 1 && stack[0] {
                if let Some(span) = keys.as_deref_mut().and_then(|k| k.last_mut()) {
                    if span.end == 0 {
                        span.start = key_start;
                        span.end = self.pos.offset - start;
                    }
                }
            }
            if stack.is_empty() {
                return Ok(Ok(()));
            }
            expect = Expect::CommaOrClose;
        }
    }

    /// A string, from its opening quote. Control characters (a raw newline) end it
    /// with an error, so a broken line never swallows the next one.
    fn string(&mut self, mut capture: Option<&mut Vec<u8>>) -> io::Result<Result<(), SyntaxError>> {
        self.bump()?;
        let mut escaped = false;
        loop {
            let buf = self.reader.fill_buf()?;
            if buf.is_empty() {
                return Ok(Err(self.error("unexpected end of input inside a string")));
            }
            let mut end = None;
            let mut i = 0;
            while i < buf.len() {
                let b = buf[i];
                if escaped {
                    escaped = false;
                } else if b == b'\\' {
                    escaped = true;
                } else if b == b'"' {
                    end = Some(i);
                    break;
                } else if b < 0x20 {
                    let n = i;
                    if let Some(c) = capture.as_deref_mut() {
                        c.extend_from_slice(&buf[..n]);
                    }
                    self.consume(n)?;
                    return Ok(Err(
                        self.error(format!("{} inside a string", describe_byte(b)))
                    ));
                }
                i += 1;
            }
            match end {
                Some(i) => {
                    if let Some(c) = capture.as_deref_mut() {
                        c.extend_from_slice(&buf[..i]);
                    }
                    return self.consume(i + 1).map(Ok);
                }
                None => {
                    let n = buf.len();
                    if let Some(c) = capture.as_deref_mut() {
                        if c.len() < 1024 {
                            c.extend_from_slice(&buf[..n]);
                        }
                    }
                    self.consume(n)?;
                }
            }
        }
    }

    /// A number's characters (serde_json checks their form when the value is parsed).
    fn number(&mut self) -> io::Result<()> {
        loop {
            let buf = self.reader.fill_buf()?;
            let n = buf
                .iter()
                .position(|b| !matches!(b, b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E'))
                .unwrap_or(buf.len());
            let all = n == buf.len() && n > 0;
            self.consume(n)?;
            if !all {
                return Ok(());
            }
        }
    }

    fn literal(&mut self) -> io::Result<Result<(), SyntaxError>> {
        let word: &[u8] = match self.peek()? {
            Some(b't') => b"true",
            Some(b'f') => b"false",
            _ => b"null",
        };
        for &expected in word {
            if self.peek()? != Some(expected) {
                return Ok(Err(self.unexpected("true, false or null")?));
            }
            self.bump()?;
        }
        Ok(Ok(()))
    }
}

/// A byte as a message shows it.
pub fn describe_byte(b: u8) -> String {
    match b {
        b'\n' => "a line end".to_string(),
        b'\r' => "a carriage return".to_string(),
        0x21..=0x7e => format!("'{}'", b as char),
        _ => format!("byte 0x{b:02x}"),
    }
}
