//! CSV files: reading (encoding detection, delimiter sniffing) and writing (UTF-8
//! with a byte-order mark, so that Excel opens Chinese text correctly).

use std::path::Path;

use anyhow::{Context, Result};

use super::encoding::{decode, Encoding};
use super::Grid;

/// The delimiter of the first non-empty line: `,`, `;` or tab, whichever occurs most
/// outside quotes (comma on a tie).
fn sniff_delimiter(text: &str) -> u8 {
    let line = text.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
    let mut counts = [(b',', 0usize), (b'\t', 0), (b';', 0)];
    let mut quoted = false;
    for b in line.bytes() {
        if b == b'"' {
            quoted = !quoted;
        } else if !quoted {
            for (d, n) in counts.iter_mut() {
                if *d == b {
                    *n += 1;
                }
            }
        }
    }
    counts
        .iter()
        .fold(
            (b',', 0),
            |best, &(d, n)| if n > best.1 { (d, n) } else { best },
        )
        .0
}

/// Read every record of a CSV file, numbered from 1 like spreadsheet rows.
pub fn read(file: &Path, enc: Encoding) -> Result<(Grid, Vec<String>)> {
    let bytes = std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
    let (text, notice) = decode(file, &bytes, enc)?;
    let mut rdr = ::csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(sniff_delimiter(&text))
        .from_reader(text.as_bytes());
    let mut grid = Vec::new();
    for (i, rec) in rdr.records().enumerate() {
        let rec = rec.map_err(|e| {
            let at = e
                .position()
                .map(|p| format!(":{}", p.line()))
                .unwrap_or_default();
            anyhow::anyhow!("{}{at}: not readable as CSV: {e}", file.display())
        })?;
        grid.push((i + 1, rec.iter().map(|c| c.trim().to_string()).collect()));
    }
    Ok((grid, notice.into_iter().collect()))
}

/// Write a header and rows as UTF-8 CSV with a byte-order mark.
pub fn write(file: &Path, headers: &[String], rows: &[Vec<String>]) -> Result<()> {
    let mut out: Vec<u8> = b"\xEF\xBB\xBF".to_vec();
    {
        let mut w = ::csv::WriterBuilder::new()
            .terminator(::csv::Terminator::CRLF)
            .from_writer(&mut out);
        w.write_record(headers)?;
        for r in rows {
            w.write_record(r)?;
        }
        w.flush()?;
    }
    super::write_atomically(file, &out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delimiters() {
        assert_eq!(sniff_delimiter("a,b,c\n1,2,3"), b',');
        assert_eq!(sniff_delimiter("a;b;c\n"), b';');
        assert_eq!(sniff_delimiter("a\tb\t\"x,y,z\"\n"), b'\t');
        assert_eq!(sniff_delimiter("\n\nid\n"), b',');
    }
}
