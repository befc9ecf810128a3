//! JSON arrays of events, item by item: a top-level array, or a batch's `"batch"` array,
//! of any size, on one line or many.

use std::io;

use super::scan::{Record, Scanner, SyntaxError};
use super::{MAX_EVENT, PREVIEW};

/// What came next in an array.
pub enum Step {
    /// One item's bytes.
    Item(Vec<u8>),
    /// An item over [`MAX_EVENT`]: the start of it (the rest was read past).
    TooLarge(Vec<u8>),
    /// The closing `]`.
    End,
    /// The array stops being JSON here; the record holds what was read of the item.
    Broken(SyntaxError, Record),
}

/// Reads the next item. `next` is its index: 0 right after the opening `[`, else the
/// scanner stands right after the previous item.
pub fn next_item(sc: &mut Scanner, next: usize) -> io::Result<Step> {
    sc.start_record(MAX_EVENT, false);
    sc.skip_ws()?;
    match sc.peek()? {
        Some(b']') => {
            sc.bump()?;
            sc.take_record();
            return Ok(Step::End);
        }
        Some(b',') if next > 0 => {
            sc.bump()?;
            sc.skip_ws()?;
        }
        _ if next == 0 => {}
        _ => {
            let error = match sc.peek()? {
                None => "unexpected end of input, expected ',' or ']'".to_string(),
                Some(b) => format!(
                    "unexpected {}, expected ',' or ']'",
                    super::scan::describe_byte(b)
                ),
            };
            let at = sc.position();
            return Ok(Step::Broken(
                SyntaxError { at, what: error },
                sc.take_record(),
            ));
        }
    }
    // The item's bytes only: drop the separator kept so far.
    sc.take_record();
    sc.start_record(MAX_EVENT, false);
    match sc.value(None)? {
        Ok(()) => {
            let mut record = sc.take_record();
            if record.overflow {
                record.bytes.truncate(PREVIEW);
                Ok(Step::TooLarge(record.bytes))
            } else {
                Ok(Step::Item(record.bytes))
            }
        }
        Err(e) => Ok(Step::Broken(e, sc.take_record())),
    }
}
