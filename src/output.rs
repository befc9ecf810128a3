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

/// A table with the house style.
pub fn table(headers: &[&str]) -> Table {
    let mut table = Table::new();
    table
        .load_style(UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Dynamic)
        .set_header(headers.to_vec());
    table
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

/// A list printed as its rows come: `--json` (a streamed array), `--ndjson` and `--csv`
/// write each row at once, so millions of rows never sit in memory; a table needs every
/// row for its column widths and is printed by [`ListSink::finish`].
pub struct ListSink {
    headers: Vec<String>,
    /// The table's header row, when it differs from `headers`.
    labels: Option<Vec<String>>,
    count: usize,
    out: SinkOut,
}

enum SinkOut {
    Json(io::BufWriter<io::Stdout>),
    Ndjson(io::BufWriter<io::Stdout>),
    Csv(Box<csv::Writer<io::BufWriter<io::Stdout>>>),
    Table(Vec<Vec<String>>),
}

impl ListSink {
    /// `headers` are the CSV header row or the table's columns (unused for JSON).
    pub fn new(format: Format, headers: Vec<String>) -> Result<ListSink> {
        let out = io::BufWriter::with_capacity(64 * 1024, io::stdout());
        let out = match format {
            Format::Json => SinkOut::Json(out),
            Format::Ndjson => SinkOut::Ndjson(out),
            Format::Csv => {
                let mut csv = csv::Writer::from_writer(out);
                csv.write_record(&headers)?;
                SinkOut::Csv(Box::new(csv))
            }
            Format::Table => SinkOut::Table(Vec::new()),
        };
        Ok(ListSink {
            headers,
            labels: None,
            count: 0,
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
                serde_json::to_writer(&mut *out, row)?;
                out.write_all(b"\n")?;
            }
            SinkOut::Csv(csv) => csv.write_record(cells(&self.headers))?,
            SinkOut::Table(rows) => rows.push(cells(&self.headers)),
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

    /// Ends the list (prints the table); returns how many rows there were.
    pub fn finish(self) -> Result<usize> {
        match self.out {
            SinkOut::Json(mut out) => {
                out.write_all(if self.count == 0 { b"[]\n" } else { b"\n]\n" })?;
                out.flush()?;
            }
            SinkOut::Ndjson(mut out) => out.flush()?,
            SinkOut::Csv(mut csv) => csv.flush()?,
            SinkOut::Table(rows) => {
                let labels = self.labels.as_ref().unwrap_or(&self.headers);
                let refs: Vec<&str> = labels.iter().map(String::as_str).collect();
                let mut t = table(&refs);
                for row in rows {
                    t.add_row(row);
                }
                print_text(t)?;
            }
        }
        Ok(self.count)
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

/// A cell for an optional value.
pub fn cell(value: Option<&str>) -> String {
    value.unwrap_or("").to_string()
}

/// Text from event data for a terminal line: quoted as JSON when it holds control
/// characters, so that it cannot act on the terminal.
pub fn quoted_if_control(text: &str) -> String {
    if text.chars().any(char::is_control) {
        serde_json::Value::String(text.to_string()).to_string()
    } else {
        text.to_string()
    }
}
