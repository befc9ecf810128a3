//! Compressed inputs, recognised by their first bytes whatever they are called.

use std::io::{self, BufRead, BufReader, Cursor, Read};

use flate2::read::MultiGzDecoder;

const GZIP: [u8; 2] = [0x1f, 0x8b];
const ZSTD: [u8; 4] = [0x28, 0xb5, 0x2f, 0xfd];
const HEAD: usize = 4096;

/// How the bytes of an input are stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    None,
    Gzip,
}

/// A stream of an input's bytes.
pub type Stream = Box<dyn BufRead + Send>;

/// The decompressed stream of `reader`, and how it was compressed. Gzip members written
/// one after another (as `cat a.gz b.gz` or `gzip` on a stream makes them) are read as
/// one stream.
pub fn decompress(mut reader: Stream) -> io::Result<Result<(Stream, Compression), String>> {
    // Read the magic bytes whole, however the input delivers them (and a little more,
    // so that the first look at the content sees more than them).
    let mut head = Vec::with_capacity(HEAD);
    while head.len() < HEAD {
        let buf = match reader.fill_buf() {
            Ok(buf) => buf,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if buf.is_empty() {
            break;
        }
        let n = buf.len().min(HEAD - head.len());
        head.extend_from_slice(&buf[..n]);
        reader.consume(n);
    }
    let compression = if head.starts_with(&GZIP) {
        Compression::Gzip
    } else if head.starts_with(&ZSTD) {
        return Ok(Err(
            "zstd-compressed: not read; decompress it first (zstd -d FILE)".to_string(),
        ));
    } else {
        Compression::None
    };
    let whole: Box<dyn Read + Send> = Box::new(Cursor::new(head).chain(reader));
    Ok(Ok(match compression {
        Compression::None => (
            Box::new(BufReader::with_capacity(256 * 1024, whole)),
            compression,
        ),
        Compression::Gzip => (
            Box::new(BufReader::with_capacity(
                256 * 1024,
                MultiGzDecoder::new(BufReader::with_capacity(64 * 1024, whole)),
            )),
            compression,
        ),
    }))
}
