//! The readers on every shape, without a database.

use std::io::Cursor;

use super::documents::{Reader, Resume};
use super::{Input, Unit};

/// What a reader hands out, in short: `D line text`, `I line item text`, `R line item reason`.
fn units(bytes: &[u8]) -> Vec<String> {
    let mut reader = Reader::new(Box::new(Cursor::new(bytes.to_vec())), None).unwrap();
    collect(&mut reader)
}

fn collect(reader: &mut Reader) -> Vec<String> {
    let mut out = Vec::new();
    while let Some(unit) = reader.next_unit().unwrap() {
        out.push(match unit {
            Unit::Document { line, bytes } => {
                format!("D{line} {}", String::from_utf8_lossy(&bytes))
            }
            Unit::Item {
                line,
                item,
                bytes,
                envelope,
            } => format!(
                "I{line}.{item}{} {}",
                if envelope.is_some() { "+" } else { "" },
                String::from_utf8_lossy(&bytes)
            ),
            Unit::Rejected(bad) => format!("R{}.{:?} {}", bad.line, bad.item, bad.reason),
        });
    }
    out
}

#[test]
fn ndjson_crlf_and_bom() {
    let got = units(b"\xEF\xBB\xBF{\"a\":1}\r\n\r\n{\"b\":\"x\\\"}\"}\r\n");
    assert_eq!(got, ["D1 {\"a\":1}", "D3 {\"b\":\"x\\\"}\"}"]);
}

#[test]
fn pretty_objects_one_after_another_and_concatenated() {
    let got = units(b"{\n  \"a\": [1, {\"b\": null}]\n}\n{\n \"c\": true\n}{\"d\":-1.5e3}");
    assert_eq!(
        got,
        [
            "D1 {\n  \"a\": [1, {\"b\": null}]\n}",
            "D4 {\n \"c\": true\n}",
            "D6 {\"d\":-1.5e3}"
        ]
    );
}

#[test]
fn arrays_item_by_item_on_one_line_or_many() {
    let got = units(b"[{\"a\":1}, {\"b\":[2,3]} ,\n 4]\n[]\n[\n]");
    assert_eq!(got, ["I1.0 {\"a\":1}", "I1.1 {\"b\":[2,3]}", "I1.2 4"]);
}

#[test]
fn a_broken_line_is_one_rejection_and_the_next_line_is_read() {
    let got = units(b"{broken\n{\"a\":\"open\n{\"b\":1}\nnot json\n\"str\"\n");
    assert_eq!(got.len(), 5, "{got:?}");
    assert!(
        got[0].starts_with("R1.None invalid JSON at byte 1 (line 1)"),
        "{got:?}"
    );
    assert!(got[1].starts_with("R2.None invalid JSON") && got[1].contains("a line end"));
    assert_eq!(got[2], "D3 {\"b\":1}");
    assert!(got[3].starts_with("R4.None invalid JSON"));
    assert_eq!(got[4], "D5 \"str\"");
}

#[test]
fn a_syntax_error_inside_an_array_rejects_the_rest_of_it() {
    // One line: reading goes on at the next line.
    let got = units(b"[{\"a\":1},{\"b\" 2},{\"c\":3}]\n{\"d\":4}\n");
    assert_eq!(got.len(), 3, "{got:?}");
    assert_eq!(got[0], "I1.0 {\"a\":1}");
    assert!(
        got[1].starts_with("R1.Some(1) invalid JSON at byte 14"),
        "{got:?}"
    );
    assert!(got[1].ends_with("items from 1 on are not read"));
    assert_eq!(got[2], "D2 {\"d\":4}");
    // Pretty-printed: at the next line that starts a document.
    let got = units(b"[\n  {\"a\":1},\n  {\"b\" 2},\n  {\"c\":3}\n]\n{\"d\":4}\n");
    assert_eq!(got.len(), 3, "{got:?}");
    assert_eq!(got[2], "D6 {\"d\":4}");
}

#[test]
fn truncated_input_is_rejected() {
    let got = units(b"{\"a\":1}\n{\"b\":");
    assert_eq!(got.len(), 2);
    assert!(got[1].contains("unexpected end of input"), "{got:?}");
    let got = units(b"[{\"a\":1},");
    assert_eq!(got.len(), 2);
    assert!(got[1].starts_with("R1.Some(1)"), "{got:?}");
}

#[test]
fn a_large_batch_is_read_from_its_spool_with_its_envelope() {
    let item = format!("{{\"type\":\"track\",\"pad\":\"{}\"}}", "x".repeat(1000));
    let items = vec![item.as_str(); 9000].join(",");
    let doc = format!("{{\"batch\":[{items}],\"context\":{{\"ip\":\"1.2.3.4\"}}}}\n{{\"z\":1}}\n");
    assert!(doc.len() > super::MAX_EVENT);
    let got = units(doc.as_bytes());
    assert_eq!(got.len(), 9001);
    assert!(got[0].starts_with("I1.0+ {\"type\":\"track\""));
    assert!(got[8999].starts_with("I1.8999+ "));
    assert_eq!(got[9000], "D2 {\"z\":1}");
    // Over the limit and not a batch: one rejection, and reading goes on.
    let big = format!(
        "{{\"type\":\"track\",\"pad\":\"{}\"}}\n{{\"z\":1}}\n",
        "y".repeat(9 << 20)
    );
    let got = units(big.as_bytes());
    assert_eq!(got.len(), 2);
    assert!(
        got[0].starts_with("R1.None longer than 8 MiB"),
        "{}",
        &got[0][..60]
    );
}

#[test]
fn a_reader_starts_again_where_it_left_off() {
    let text = b"{\"a\":1}\n[{\"b\":2},{\"c\":3},{\"d\":4}]\n{\"e\":5}\n";
    let mut reader = Reader::new(Box::new(Cursor::new(text.to_vec())), None).unwrap();
    let mut seen = Vec::new();
    let mut points: Vec<Resume> = Vec::new();
    while let Some(unit) = reader.next_unit().unwrap() {
        seen.push(unit);
        points.push(reader.resume_point().unwrap());
    }
    assert_eq!(seen.len(), 5);
    // After item 0 of the array: items 1 and 2, then the last line.
    let at = points[1];
    let rest = text[at.at.offset as usize..].to_vec();
    let mut resumed = Reader::new(Box::new(Cursor::new(rest)), Some(at)).unwrap();
    // The resumed reader counts from where it starts.
    let got = collect(&mut resumed);
    assert_eq!(got, ["I2.1 {\"c\":3}", "I2.2 {\"d\":4}", "D3 {\"e\":5}"]);
}

#[test]
fn gzip_is_found_by_its_first_bytes() {
    use std::io::Write;
    let mut both = Vec::new();
    for part in ["{\"a\":1}\n", "{\"b\":2}\n"] {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(part.as_bytes()).unwrap();
        both.extend(e.finish().unwrap());
    }
    let mut input = Input::from_reader("x.bin", Cursor::new(both.clone()));
    let mut opened = input.open_reader(None).unwrap();
    assert_eq!(opened.compression, super::Compression::Gzip);
    assert_eq!(
        collect(&mut opened.reader),
        ["D1 {\"a\":1}", "D2 {\"b\":2}"]
    );
    assert_eq!(opened.raw_bytes(), both.len() as u64);
}

#[test]
fn the_same_units_whatever_the_buffer_size() {
    let inputs: [&[u8]; 6] = [
        b"\xEF\xBB\xBF{\"a\":1}\r\n\r\n{\"b\":\"x\\\"}\\\\\"}\r\n",
        b"{\n  \"a\": [1, {\"b\": null}]\n}\n{\n \"c\": true\n}{\"d\":-1.5e3}",
        b"[{\"a\":1}, {\"b\":[2,3]} ,\n 4]\n[]\n[\n]",
        b"{broken\n{\"a\":\"open\n{\"b\":1}\nnot json\n\"str\"\n12\n",
        b"[{\"a\":1},{\"b\" 2},{\"c\":3}]\n{\"d\":4}\n{\"e\":tru}\n{\"f\":",
        b"{\"batch\":[{\"x\":\"\\u00e9\"}],\"context\":{}}",
    ];
    for input in inputs {
        let whole = units(input);
        for cap in 1..8 {
            let reader = std::io::BufReader::with_capacity(cap, Cursor::new(input.to_vec()));
            let mut reader = Reader::new(Box::new(reader), None).unwrap();
            assert_eq!(collect(&mut reader), whole, "buffer of {cap} bytes");
        }
    }
}
