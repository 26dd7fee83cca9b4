//! Regenerates the binary sample spreadsheets of `scripts/demo-data/spreadsheets/`
//! from `hubei-library.csv` (the source, UTF-8):
//!
//! - `hubei-library.xlsx`: the same rows as a workbook laid out as exchanges make them:
//!   a title row above the header, 序号 and 价格（万元） as numbers, the validity split
//!   into 有效期起 / 有效期止 date cells;
//! - `hubei-library-gbk.csv`: the same file encoded in GBK (Excel "CSV" on Chinese
//!   Windows).
//!
//! Importing any of the three gives the same entries.
//!
//!     cargo run -p techmesh-node --example sample_spreadsheets

use std::path::Path;

use anyhow::{bail, Result};
use rust_xlsxwriter::{DocProperties, ExcelDateTime, Format, Workbook};

use techmesh_node::tabular::{self, Encoding};

fn main() -> Result<()> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/demo-data/spreadsheets");
    let source = dir.join("hubei-library.csv");
    let text = std::fs::read_to_string(&source)?;
    let text = text.trim_start_matches('\u{feff}');
    let (gbk, _, unmappable) = encoding_rs::GBK.encode(text);
    if unmappable {
        bail!("{} has characters GBK cannot encode", source.display());
    }
    tabular::write_atomically(&dir.join("hubei-library-gbk.csv"), &gbk)?;

    let (grid, _) = tabular::csv::read(&source, Encoding::Utf8)?;
    let Some(((_, header), rows)) = grid.split_first() else {
        bail!("{} is empty", source.display());
    };
    let validity = header.iter().position(|h| h == "有效期");
    let mut wb = Workbook::new();
    // A fixed creation date keeps the file identical from one run to the next.
    let created = ExcelDateTime::from_ymd(2026, 11, 28)?;
    wb.set_properties(&DocProperties::new().set_creation_datetime(&created));
    let ws = wb.add_worksheet();
    ws.set_name("成果库")?;
    let bold = Format::new().set_bold();
    let title = Format::new().set_bold().set_font_size(14);
    let day = Format::new().set_num_format("yyyy-mm-dd");
    let mut headers: Vec<String> = Vec::new();
    for (i, h) in header.iter().enumerate() {
        if Some(i) == validity {
            headers.push("有效期起".into());
            headers.push("有效期止".into());
        } else {
            headers.push(h.clone());
        }
    }
    ws.merge_range(
        0,
        0,
        0,
        u16::try_from(headers.len() - 1)?,
        "湖北技术交易所 科技成果与技术需求库（2026年第四季度）",
        &title,
    )?;
    for (c, h) in headers.iter().enumerate() {
        ws.write_string_with_format(1, u16::try_from(c)?, h, &bold)?;
    }
    for (r, (_, cells)) in rows.iter().enumerate() {
        let row = u32::try_from(r + 2)?;
        let mut col: u16 = 0;
        for (i, v) in cells.iter().enumerate() {
            let name = header[i].as_str();
            if Some(i) == validity {
                for d in tabular::rows::scan_dates(v) {
                    let d = d.map_err(|e| anyhow::anyhow!("bad date {e}"))?;
                    let p: Vec<u16> = d.split('-').map(|x| x.parse().unwrap_or(1)).collect();
                    let dt =
                        ExcelDateTime::from_ymd(p[0], u8::try_from(p[1])?, u8::try_from(p[2])?)?;
                    ws.write_datetime_with_format(row, col, dt, &day)?;
                    col += 1;
                }
                continue;
            }
            match v.parse::<f64>() {
                Ok(n) if name == "序号" || name == "价格（万元）" => {
                    ws.write_number(row, col, n)?;
                }
                _ if !v.is_empty() => {
                    ws.write_string(row, col, v)?;
                }
                _ => {}
            }
            col += 1;
        }
    }
    ws.set_freeze_panes(2, 0)?;
    let bytes = wb.save_to_buffer()?;
    tabular::write_atomically(&dir.join("hubei-library.xlsx"), &bytes)?;
    println!(
        "wrote hubei-library.xlsx and hubei-library-gbk.csv in {}",
        dir.display()
    );
    Ok(())
}
