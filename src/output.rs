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
