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

/// A key of the object being read (one level down) and where its value lies: byte
/// ranges relative to the object's first byte (the key's without its quotes).
#[derive(Debug, Clone)]
pub struct KeySpan {
    pub key_start: u64,
    pub key_end: u64,
    pub start: u64,
    pub end: u64,
}

/// Bytes that end a run of plain string content.
static STRING_STOP: [bool; 256] = {
    let mut t = [false; 256];
    let mut b = 0;
    while b < 0x20 {
        t[b] = true;
        b += 1;
    }
    t[b'"' as usize] = true;
    t[b'\\' as usize] = true;
    t
};

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
        // Byte by byte: the buffer may hold less than the whole mark.
        for b in [0xEF, 0xBB, 0xBF] {
            if self.peek()? != Some(b) {
                break;
            }
            self.bump()?;
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

    /// Reads one whole value. With `keys`, the keys of a top-level object and where
    /// their values lie are collected.
    ///
    /// The bytes are looked at where they lie in the reader's buffer, a buffer at a
    /// time; strings (most of the bytes) are skipped with a vectorised search.
    pub fn value(
        &mut self,
        mut keys: Option<&mut Vec<KeySpan>>,
    ) -> io::Result<Result<(), SyntaxError>> {
        let start = self.pos.offset;
        // Open containers: true for an object.
        let mut stack: Vec<bool> = Vec::new();
        let mut expect = Expect::Value;
        let mut lex = Lex::None;
        let mut key_start = 0u64;
        let mut key_quote = 0u64;
        loop {
            let buf = match self.reader.fill_buf() {
                Ok(buf) => buf,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if buf.is_empty() {
                if matches!(lex, Lex::Num) && stack.is_empty() {
                    return Ok(Ok(()));
                }
                let what = match (lex, expect) {
                    (Lex::Str { .. }, _) => "unexpected end of input inside a string",
                    (Lex::Lit { .. }, _) => "unexpected end of input inside true, false or null",
                    (_, Expect::Colon) => "unexpected end of input, expected ':'",
                    (_, Expect::CommaOrClose) => {
                        "unexpected end of input, expected ',' or a closing bracket"
                    }
                    (_, Expect::Key | Expect::KeyOrClose) => {
                        "unexpected end of input, expected a key"
                    }
                    _ => "unexpected end of input, expected a value",
                };
                return Ok(Err(self.error(what)));
            }
            let n = buf.len();
            let mut i = 0;
            // Set when the value is whole (Ok) or broken (Err, at byte i).
            let mut outcome: Option<Result<(), String>> = None;
            while i < n && outcome.is_none() {
                // Whether a value ended at byte i.
                let mut ended = false;
                match &mut lex {
                    Lex::Str { escaped, is_key } => {
                        if *escaped {
                            *escaped = false;
                            i += 1;
                            continue;
                        }
                        let rest = &buf[i..];
                        let stop = rest
                            .iter()
                            .position(|&b| STRING_STOP[b as usize])
                            .unwrap_or(rest.len());
                        i += stop;
                        if stop == rest.len() {
                            break;
                        }
                        let b = rest[stop];
                        if b < 0x20 {
                            outcome = Some(Err(format!("{} inside a string", describe_byte(b))));
                            break;
                        }
                        i += 1;
                        if b == b'\\' {
                            *escaped = true;
                            continue;
                        }
                        let was_key = *is_key;
                        lex = Lex::None;
                        if was_key {
                            if let (Some(keys), 1) = (keys.as_deref_mut(), stack.len()) {
                                keys.push(KeySpan {
                                    key_start: key_quote + 1,
                                    key_end: self.pos.offset + i as u64 - 1 - start,
                                    start: 0,
                                    end: 0,
                                });
                            }
                            expect = Expect::Colon;
                        } else {
                            ended = true;
                        }
                    }
                    Lex::Num => {
                        if matches!(buf[i], b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E') {
                            i += 1;
                            continue;
                        }
                        lex = Lex::None;
                        ended = true;
                    }
                    Lex::Lit { word, at } => {
                        if buf[i] != word[*at] {
                            outcome = Some(Err(format!(
                                "unexpected {}, expected true, false or null",
                                describe_byte(buf[i])
                            )));
                            break;
                        }
                        i += 1;
                        *at += 1;
                        if *at == word.len() {
                            lex = Lex::None;
                            ended = true;
                        } else {
                            continue;
                        }
                    }
                    Lex::None => {
                        let b = buf[i];
                        if matches!(b, b' ' | b'\t' | b'\n' | b'\r')
                            && (expect != Expect::Value || !stack.is_empty())
                        {
                            i += 1;
                            continue;
                        }
                        match expect {
                            Expect::Value | Expect::ValueOrClose => {
                                if expect == Expect::ValueOrClose && b == b']' {
                                    i += 1;
                                    stack.pop();
                                    ended = true;
                                } else {
                                    if stack.len() == 1 && stack[0] {
                                        key_start = self.pos.offset + i as u64 - start;
                                    }
                                    match b {
                                        b'{' => {
                                            stack.push(true);
                                            expect = Expect::KeyOrClose;
                                        }
                                        b'[' => {
                                            stack.push(false);
                                            expect = Expect::ValueOrClose;
                                        }
                                        b'"' => {
                                            lex = Lex::Str {
                                                escaped: false,
                                                is_key: false,
                                            }
                                        }
                                        b'-' | b'0'..=b'9' => lex = Lex::Num,
                                        b't' => {
                                            lex = Lex::Lit {
                                                word: b"true",
                                                at: 1,
                                            }
                                        }
                                        b'f' => {
                                            lex = Lex::Lit {
                                                word: b"false",
                                                at: 1,
                                            }
                                        }
                                        b'n' => {
                                            lex = Lex::Lit {
                                                word: b"null",
                                                at: 1,
                                            }
                                        }
                                        _ => {
                                            outcome = Some(Err(format!(
                                                "unexpected {}, expected a value",
                                                describe_byte(b)
                                            )));
                                            break;
                                        }
                                    }
                                    i += 1;
                                }
                            }
                            Expect::KeyOrClose | Expect::Key => {
                                if expect == Expect::KeyOrClose && b == b'}' {
                                    i += 1;
                                    stack.pop();
                                    ended = true;
                                } else if b == b'"' {
                                    key_quote = self.pos.offset + i as u64 - start;
                                    i += 1;
                                    lex = Lex::Str {
                                        escaped: false,
                                        is_key: true,
                                    };
                                } else {
                                    outcome = Some(Err(format!(
                                        "unexpected {}, expected a key (a string)",
                                        describe_byte(b)
                                    )));
                                    break;
                                }
                            }
                            Expect::Colon => {
                                if b != b':' {
                                    outcome = Some(Err(format!(
                                        "unexpected {}, expected ':'",
                                        describe_byte(b)
                                    )));
                                    break;
                                }
                                i += 1;
                                expect = Expect::Value;
                            }
                            Expect::CommaOrClose => {
                                let top = *stack.last().expect("inside a container");
                                match (b, top) {
                                    (b',', true) => expect = Expect::Key,
                                    (b',', false) => expect = Expect::Value,
                                    (b'}', true) | (b']', false) => {
                                        stack.pop();
                                        ended = true;
                                    }
                                    _ => {
                                        let expected =
                                            if top { "',' or '}'" } else { "',' or ']'" };
                                        outcome = Some(Err(format!(
                                            "unexpected {}, expected {expected}",
                                            describe_byte(b)
                                        )));
                                        break;
                                    }
                                }
                                i += 1;
                            }
                        }
                    }
                }
                if ended {
                    if stack.len() == 1
                        && stack[0]
                        && let Some(span) = keys.as_deref_mut().and_then(|k| k.last_mut())
                        && span.end == 0
                    {
                        span.start = key_start;
                        span.end = self.pos.offset + i as u64 - start;
                    }
                    if stack.is_empty() {
                        outcome = Some(Ok(()));
                    } else {
                        expect = Expect::CommaOrClose;
                    }
                }
            }
            self.consume(i)?;
            match outcome {
                None => {}
                Some(Ok(())) => return Ok(Ok(())),
                Some(Err(what)) => return Ok(Err(self.error(what))),
            }
        }
    }
}

/// Inside a token that spans bytes.
#[derive(Clone, Copy)]
enum Lex {
    None,
    Str { escaped: bool, is_key: bool },
    Num,
    Lit { word: &'static [u8], at: usize },
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
