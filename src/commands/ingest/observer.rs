//! What `usercom ingest` says of the events it does not apply: rejections and ignored
//! values on stderr (the first few), rejections in the rejects file, and rejected and
//! skipped events kept in the database.

use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Write};
use std::path::PathBuf;

use anyhow::{Context, Result};
use base64::Engine;
use indicatif::ProgressBar;
use serde_json::json;

use crate::ingest::{IgnoredValue, Observer, Rejection};
use crate::output::terminal_safe;
use crate::store::{NewRejection, RejectionOutcome, Store, now_text};

/// Prints rejections and ignored values to stderr (the first few), appends rejections
/// to the rejects file, and keeps rejected and skipped events in the database.
pub struct CliObserver<'s> {
    pub(super) quiet: bool,
    printed: usize,
    rejects: Option<(PathBuf, BufWriter<File>)>,
    pub(super) progress: Option<ProgressBar>,
    keep: Option<&'s Store>,
}

/// Per-line messages printed before the rest are only counted.
const PRINTED_MESSAGES: usize = 20;

impl<'s> CliObserver<'s> {
    pub fn new(quiet: bool, rejects: Option<PathBuf>) -> Result<CliObserver<'s>> {
        let rejects = match rejects {
            Some(path) => {
                let file = OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(&path)
                    .with_context(|| format!("opening the rejects file {}", path.display()))?;
                Some((path, BufWriter::new(file)))
            }
            None => None,
        };
        Ok(CliObserver {
            quiet,
            printed: 0,
            rejects,
            progress: None,
            keep: None,
        })
    }

    /// Keeps every rejected and skipped event in `store` (`usercom rejections list`).
    pub fn keep_in(mut self, store: &'s Store) -> CliObserver<'s> {
        self.keep = Some(store);
        self
    }

    fn keep(&self, r: &Rejection, raw: &[u8], outcome: RejectionOutcome) -> Result<()> {
        let Some(store) = self.keep else {
            return Ok(());
        };
        store.insert_rejection(&NewRejection {
            received_at: &now_text(),
            outcome,
            source: &r.source,
            line: Some(r.line),
            item: r.item,
            remote: None,
            reason: &r.reason,
            raw,
            truncated: r.truncated,
        })
    }

    fn say(&mut self, message: String) {
        if self.quiet {
            return;
        }
        self.printed += 1;
        if self.printed <= PRINTED_MESSAGES {
            let message = terminal_safe(&message);
            match &self.progress {
                Some(bar) => bar.suspend(|| eprintln!("{message}")),
                None => eprintln!("{message}"),
            }
        }
    }

    pub fn finish(&mut self) -> Result<()> {
        if let Some((path, file)) = &mut self.rejects {
            file.flush()
                .with_context(|| format!("writing the rejects file {}", path.display()))?;
        }
        if self.printed > PRINTED_MESSAGES {
            eprintln!(
                "... and {} more messages (see the summary with --json, or --rejects FILE)",
                self.printed - PRINTED_MESSAGES
            );
        }
        Ok(())
    }
}

impl Observer for CliObserver<'_> {
    fn skipped(&mut self, r: &Rejection, raw: &[u8]) -> Result<()> {
        self.keep(r, raw, RejectionOutcome::Skipped)
    }

    fn rejected(&mut self, r: &Rejection, raw: &[u8]) -> Result<()> {
        self.keep(r, raw, RejectionOutcome::Rejected)?;
        let item = r.item.map(|i| format!(" item {i}")).unwrap_or_default();
        let source = crate::output::cell(Some(&r.source));
        self.say(format!("{source}:{}{item}: rejected: {}", r.line, r.reason));
        if let Some((path, file)) = &mut self.rejects {
            let mut record = json!({
                "source": r.source,
                "line": r.line,
                "item": r.item,
                "offset": r.offset,
                "reason": r.reason,
                "raw": String::from_utf8_lossy(raw),
            });
            if std::str::from_utf8(raw).is_err() {
                // Not text: the exact bytes too, so nothing is lost.
                record["raw_base64"] = base64::engine::general_purpose::STANDARD.encode(raw).into();
            }
            if r.truncated {
                record["raw_truncated"] = true.into();
            }
            let mut line = serde_json::to_vec(&record)?;
            line.push(b'\n');
            file.write_all(&line)
                .with_context(|| format!("writing the rejects file {}", path.display()))?;
        }
        Ok(())
    }

    fn ignored(&mut self, i: &IgnoredValue) {
        self.say(format!(
            "{}:{}: warning: ignored value {} for {}: {}",
            i.source, i.line, i.value, i.attribute, i.reason
        ));
    }
}
