//! XLSX workbooks: read with calamine (first worksheet with data), written with
//! rust_xlsxwriter (one sheet, every cell text, so ids, codes and amounts keep the
//! exact characters they had).

use std::path::Path;

use anyhow::{anyhow, Context, Result};
use calamine::{Data, Reader};

use super::Grid;
use techmesh_protocol::time::Date;

/// Text of one cell. Whole numbers lose their `.0`; date cells become `YYYY-MM-DD`.
fn cell_text(d: &Data) -> String {
    match d {
        Data::Empty => String::new(),
        Data::String(s) => s.trim().to_string(),
        Data::Int(i) => i.to_string(),
        Data::Float(f) => {
            if f.fract() == 0.0 && f.abs() < 1e15 {
                format!("{}", *f as i64)
            } else {
                format!("{f}")
            }
        }
        Data::Bool(b) => if *b { "是" } else { "否" }.to_string(),
        Data::DateTime(dt) => {
            let (y, m, d, ..) = dt.to_ymd_hms_milli();
            let iso = format!("{y:04}-{m:02}-{d:02}");
            if Date::parse(&iso).is_some() {
                iso
            } else {
                format!("{}", dt.as_f64())
            }
        }
        Data::DateTimeIso(s) => s.get(..10).unwrap_or(s).to_string(),
        Data::DurationIso(s) => s.clone(),
        Data::Error(e) => format!("#{e:?}"),
    }
}

/// Read the first worksheet that has data, numbered like the sheet's rows.
pub fn read(file: &Path) -> Result<(Grid, Vec<String>)> {
    let mut wb = calamine::open_workbook_auto(file).map_err(|e| {
        anyhow!(
            "{}: not readable as an Excel workbook ({e}); save it as .xlsx",
            file.display()
        )
    })?;
    let names = wb.sheet_names();
    let mut notices = Vec::new();
    for name in &names {
        let range = wb
            .worksheet_range(name)
            .with_context(|| format!("{}: reading sheet {name:?}", file.display()))?;
        let Some((row0, col0)) = range.start() else {
            continue;
        };
        if names.len() > 1 {
            notices.push(format!(
                "{}: reading sheet {name:?} (the first with data of {})",
                file.display(),
                names.len()
            ));
        }
        let pad = col0 as usize;
        let grid = range
            .rows()
            .enumerate()
            .map(|(i, r)| {
                let mut cells = vec![String::new(); pad];
                cells.extend(r.iter().map(cell_text));
                (row0 as usize + i + 1, cells)
            })
            .collect();
        return Ok((grid, notices));
    }
    Ok((Vec::new(), notices))
}

/// Write a header and rows as a one-sheet workbook.
pub fn write(file: &Path, sheet: &str, headers: &[String], rows: &[Vec<String>]) -> Result<()> {
    use rust_xlsxwriter::{Format, Workbook};
    let mut wb = Workbook::new();
    let ws = wb.add_worksheet();
    ws.set_name(sheet)?;
    let bold = Format::new().set_bold();
    for (c, h) in headers.iter().enumerate() {
        let col = u16::try_from(c)?;
        ws.write_string_with_format(0, col, h, &bold)?;
        let widest = rows
            .iter()
            .filter_map(|r| r.get(c))
            .map(|s| s.chars().count())
            .chain(std::iter::once(h.chars().count() * 2))
            .max()
            .unwrap_or(8);
        ws.set_column_width(col, (widest.clamp(8, 60)) as f64)?;
    }
    for (r, cells) in rows.iter().enumerate() {
        let row = u32::try_from(r + 1)?;
        for (c, v) in cells.iter().enumerate() {
            if !v.is_empty() {
                ws.write_string(row, u16::try_from(c)?, v)?;
            }
        }
    }
    ws.set_freeze_panes(1, 0)?;
    if !headers.is_empty() {
        ws.autofilter(
            0,
            0,
            u32::try_from(rows.len())?,
            u16::try_from(headers.len() - 1)?,
        )?;
    }
    let bytes = wb.save_to_buffer()?;
    super::write_atomically(file, &bytes)
}
