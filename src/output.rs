//! Output formats shared by every command: a human table (default), `--json`,
//! `--ndjson` and `--csv`. Data goes to stdout; messages go to stderr.

use std::io::{self, Write};

use anyhow::Result;
use clap::Args;
use comfy_table::{ContentArrangement, Table, presets::UTF8_FULL_CONDENSED};
use serde::Serialize;

/// Output flags for commands that print lists (`--json` is global).
#[derive(Debug, Clone, Default, Args)]
pub struct ListFormat {
    /// One JSON object per line, streamed.
    #[arg(long, conflicts_with = "csv")]
    pub ndjson: bool,
    /// CSV with a header row.
    #[arg(long)]
    pub csv: bool,
}

/// The chosen format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Table,
    Json,
    Ndjson,
    Csv,
}

impl Format {
    pub fn for_list(json: bool, list: &ListFormat) -> Format {
        if list.ndjson {
            Format::Ndjson
        } else if list.csv {
            Format::Csv
        } else if json {
            Format::Json
        } else {
            Format::Table
        }
    }

    pub fn for_item(json: bool) -> Format {
        if json { Format::Json } else { Format::Table }
    }
}

/// A row type that can be printed as a table or CSV.
pub trait Tabular: Serialize {
    /// Column names for these rows (may depend on the rows, e.g. custom attributes).
    fn headers(rows: &[Self]) -> Vec<String>
    where
        Self: Sized;
    /// The row's cells, in `headers` order.
    fn cells(&self, headers: &[String]) -> Vec<String>;
}

/// A table with the house style. Every header and cell is made
/// [`terminal_safe`]: event data fills tables, and must not drive the terminal.
pub fn table(headers: &[&str]) -> TextTable {
    let mut table = Table::new();
    table
        .load_style(UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Dynamic)
        .set_header(headers.iter().map(|h| terminal_safe(h)).collect::<Vec<_>>());
    TextTable(table)
}

/// A table whose cells are escaped as they are added.
pub struct TextTable(Table);

impl TextTable {
    pub fn add_row<S: AsRef<str>>(&mut self, cells: impl IntoIterator<Item = S>) -> &mut Self {
        self.0.add_row(
            cells
                .into_iter()
                .map(|c| terminal_safe(c.as_ref()))
                .collect::<Vec<_>>(),
        );
        self
    }
}

impl std::fmt::Display for TextTable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// Text from events made inert for a terminal: control characters (C0 such as ESC, BEL,
/// CR and newline, DEL, C1 such as the one-byte CSI) and bidirectional overrides are
/// written as `\u{..}` escapes (a backslash doubled), so nothing sent can retitle,
/// clear or spoof the terminal. JSON, NDJSON and CSV output keep values exact.
pub fn terminal_safe(text: &str) -> String {
    let unsafe_char =
        |c: char| c.is_control() || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}');
    if !text.chars().any(unsafe_char) {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if unsafe_char(c) {
            out.push_str(&format!("\\u{{{:x}}}", c as u32));
        } else {
            out.push(c);
        }
    }
    out
}

/// Prints a list in the chosen format.
pub fn print_list<T: Tabular>(rows: &[T], format: Format) -> Result<()> {
    let stdout = io::stdout();
    let mut out = io::BufWriter::new(stdout.lock());
    match format {
        Format::Json => {
            serde_json::to_writer_pretty(&mut out, rows)?;
            writeln!(out)?;
        }
        Format::Ndjson => {
            for row in rows {
                serde_json::to_writer(&mut out, row)?;
                writeln!(out)?;
            }
        }
        Format::Csv => {
            let headers = T::headers(rows);
            let mut csv = csv::Writer::from_writer(&mut out);
            csv.write_record(&headers)?;
            for row in rows {
                csv.write_record(row.cells(&headers))?;
            }
            csv.flush()?;
        }
        Format::Table => {
            let headers = T::headers(rows);
            let refs: Vec<&str> = headers.iter().map(String::as_str).collect();
            let mut t = table(&refs);
            for row in rows {
                t.add_row(row.cells(&headers));
            }
            writeln!(out, "{t}")?;
            let noun = if rows.len() == 1 { "row" } else { "rows" };
            eprintln!("{} {noun}", rows.len());
        }
    }
    out.flush()?;
    Ok(())
}

/// A list written as its rows come: `--json` (a streamed array), `--ndjson` and `--csv`
/// write each row at once, so millions of rows never sit in memory; a table needs every
/// row for its column widths and is written by [`ListSink::finish`]. It writes to
/// stdout or to any writer (an HTTP answer's buffer).
pub struct ListSink<'a> {
    headers: Vec<String>,
    /// The table's header row, when it differs from `headers`.
    labels: Option<Vec<String>>,
    count: usize,
    out: SinkOut<'a>,
    /// A row's JSON, written to `out` at once (serde's many small writes through a
    /// `dyn Write` cost more than the copy).
    line: Vec<u8>,
}

type Out<'a> = Box<dyn Write + 'a>;

enum SinkOut<'a> {
    Json(Out<'a>),
    Ndjson(Out<'a>),
    Csv(Box<csv::Writer<Out<'a>>>),
    Table(Out<'a>, Vec<Vec<String>>),
}

impl<'a> ListSink<'a> {
    /// `headers` are the CSV header row or the table's columns (unused for JSON).
    pub fn new(format: Format, headers: Vec<String>) -> Result<ListSink<'static>> {
        ListSink::to_writer(format, headers, ListSink::stdout())
    }

    /// Buffered standard output.
    pub fn stdout() -> Box<dyn Write> {
        Box::new(io::BufWriter::with_capacity(64 * 1024, io::stdout()))
    }

    /// A list written to `out`.
    pub fn to_writer(format: Format, headers: Vec<String>, out: Out<'a>) -> Result<ListSink<'a>> {
        let out = match format {
            Format::Json => SinkOut::Json(out),
            Format::Ndjson => SinkOut::Ndjson(out),
            Format::Csv => {
                let mut csv = csv::Writer::from_writer(out);
                csv.write_record(&headers)?;
                SinkOut::Csv(Box::new(csv))
            }
            Format::Table => SinkOut::Table(out, Vec::new()),
        };
        Ok(ListSink {
            headers,
            labels: None,
            count: 0,
            line: Vec::new(),
            out,
        })
    }

    /// Adds a row: `row` is what JSON shows; `cells` gives the CSV or table cells for
    /// the headers (called only for those formats).
    pub fn push<T: Serialize + ?Sized>(
        &mut self,
        row: &T,
        cells: impl FnOnce(&[String]) -> Vec<String>,
    ) -> Result<()> {
        match &mut self.out {
            SinkOut::Json(out) => {
                // The same text as pretty-printing the whole array at once.
                out.write_all(if self.count == 0 { b"[\n  " } else { b",\n  " })?;
                let text = serde_json::to_string_pretty(row)?;
                out.write_all(text.replace('\n', "\n  ").as_bytes())?;
            }
            SinkOut::Ndjson(out) => {
                self.line.clear();
                serde_json::to_writer(&mut self.line, row)?;
                self.line.push(b'\n');
                out.write_all(&self.line)?;
            }
            SinkOut::Csv(csv) => csv.write_record(cells(&self.headers))?,
            SinkOut::Table(_, rows) => rows.push(cells(&self.headers)),
        }
        self.count += 1;
        Ok(())
    }

    /// Names the table's columns differently from `headers` (CSV keeps `headers`).
    pub fn table_labels(&mut self, labels: Vec<String>) {
        self.labels = Some(labels);
    }

    /// Rows pushed so far.
    pub fn count(&self) -> usize {
        self.count
    }

    /// Ends the list (writes the table); returns how many rows there were.
    pub fn finish(self) -> Result<usize> {
        match self.out {
            SinkOut::Json(mut out) => {
                out.write_all(if self.count == 0 { b"[]\n" } else { b"\n]\n" })?;
                out.flush()?;
            }
            SinkOut::Ndjson(mut out) => out.flush()?,
            SinkOut::Csv(mut csv) => csv.flush()?,
            SinkOut::Table(mut out, mut rows) => {
                let labels = self.labels.as_ref().unwrap_or(&self.headers);
                let refs: Vec<&str> = labels.iter().map(String::as_str).collect();
                let mut t = table(&refs);
                // One line a row: long values are cut to fit the terminal.
                fit_cells(&refs, &mut rows, terminal_width());
                t.0.set_content_arrangement(ContentArrangement::Disabled);
                for row in rows {
                    t.add_row(row);
                }
                writeln!(out, "{t}")?;
                out.flush()?;
            }
        }
        Ok(self.count)
    }
}

/// The width tables are fitted to: `COLUMNS` when set, else the terminal's, else 100.
fn terminal_width() -> usize {
    std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.trim().parse::<usize>().ok())
        .filter(|w| *w >= 20)
        .or_else(|| Table::new().width().map(usize::from).filter(|w| *w >= 20))
        .unwrap_or(100)
}

/// The narrowest a column is cut to.
const MIN_COLUMN: usize = 8;

/// Cuts the widest cells (ending them with `…`) until a table of `headers` and `rows`
/// fits `width` characters, borders included; a column is never cut below its header
/// or [`MIN_COLUMN`]. Newlines count as escaped (tables print them so).
fn fit_cells(headers: &[&str], rows: &mut [Vec<String>], width: usize) {
    let n = headers.len();
    let len = |s: &str| terminal_safe(s).chars().count();
    let mut widths: Vec<usize> = headers.iter().map(|h| len(h)).collect();
    for row in rows.iter() {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(len(cell));
        }
    }
    let floor: Vec<usize> = headers.iter().map(|h| len(h).max(MIN_COLUMN)).collect();
    // Each column has a space either side and a border after it, plus the first border.
    let budget = width.saturating_sub(3 * n + 1);
    while widths.iter().sum::<usize>() > budget {
        let Some((widest, _)) = widths
            .iter()
            .enumerate()
            .filter(|(i, w)| **w > floor[*i])
            .max_by_key(|(_, w)| **w)
        else {
            break;
        };
        widths[widest] -= 1;
    }
    for row in rows.iter_mut() {
        for (cell, w) in row.iter_mut().zip(&widths) {
            let safe = terminal_safe(cell);
            if safe.chars().count() > *w {
                let mut cut: String = safe.chars().take(w.saturating_sub(1)).collect();
                cut.push('…');
                *cell = cut;
            } else {
                *cell = safe;
            }
        }
    }
}

/// Prints one value as pretty JSON.
pub fn print_json<T: Serialize + ?Sized>(value: &T) -> Result<()> {
    let stdout = io::stdout();
    let mut out = stdout.lock();
    serde_json::to_writer_pretty(&mut out, value)?;
    writeln!(out)?;
    out.flush()?;
    Ok(())
}

/// Prints text (a table, a key) to stdout.
pub fn print_text(text: impl std::fmt::Display) -> Result<()> {
    let stdout = io::stdout();
    let mut out = stdout.lock();
    writeln!(out, "{text}")?;
    out.flush()?;
    Ok(())
}

/// `n` and its noun, which agree: "1 value", "2 values".
pub fn counted(n: impl Into<u64>, one: &str, many: &str) -> String {
    let n = n.into();
    format!("{n} {}", if n == 1 { one } else { many })
}

/// "was" or "were", as `n` asks.
pub fn was(n: impl Into<u64>) -> &'static str {
    if n.into() == 1 { "was" } else { "were" }
}

/// What became of the events a batch did not reject: "the other event was applied".
pub fn the_others_applied(n: u64) -> String {
    match n {
        0 => "none applied".to_string(),
        1 => "the other event was applied".to_string(),
        n => format!("the other {n} were applied"),
    }
}

/// A cell for an optional value.
pub fn cell(value: Option<&str>) -> String {
    value.unwrap_or("").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_are_cut_to_fit() {
        let mut rows = vec![vec!["a".repeat(60), "short".to_string(), "b".repeat(60)]];
        fit_cells(&["one", "two", "three"], &mut rows, 80);
        let total: usize = rows[0].iter().map(|c| c.chars().count()).sum();
        assert!(total <= 80 - 10, "{rows:?}");
        assert!(rows[0][0].ends_with('…'));
        assert_eq!(rows[0][1], "short");
        let mut rows = vec![vec!["fits".to_string()]];
        fit_cells(&["one"], &mut rows, 80);
        assert_eq!(rows[0][0], "fits");
    }

    #[test]
    fn control_characters_are_escaped() {
        assert_eq!(terminal_safe("plain é ✓"), "plain é ✓");
        assert_eq!(
            terminal_safe("\u{1b}]0;x\u{7}\r\n\u{9b}\u{202e}"),
            "\\u{1b}]0;x\\u{7}\\u{d}\\u{a}\\u{9b}\\u{202e}"
        );
    }
}
