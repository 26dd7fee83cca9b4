//! Spreadsheet libraries: `techmesh import --format csv|xlsx` and
//! `techmesh export --format csv|xlsx`.
//!
//! A row is one entry. Its cells are read through a column map ([`columns`]): the
//! built-in one knows the usual Chinese headers (成果名称, 成果简介, 技术领域, 行业分类,
//! 成熟度, 合作方式, 所属单位, 单位类型, 所在地区, 专利号, 有效期, 价格（万元） …) and
//! English ones (the field identifiers: `title_en`, `transfer_modes` …); a TOML file
//! given with `--columns` adds or replaces headers. Chinese enumerations become data
//! model values ([`enums`]). Each row's body then takes the path of a JSON body:
//! `body::prepare`, then one `Backend::publish` for the whole file, so an import is
//! all-or-nothing, and a rejected row is reported as `FILE:ROW: HEADER: reason`, ROW
//! being the spreadsheet's row number (header = row 1).
//!
//! Export writes the node's own entries with the same headers (Chinese by default,
//! `--headers en`), so export → import gives the same bodies.

pub mod columns;
pub mod csv;
pub mod encoding;
pub mod enums;
pub mod rows;
pub mod xlsx;

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use indicatif::ProgressBar;

use techmesh_protocol::body::entry::Entry;
use techmesh_protocol::body::{Body, Kind};
use techmesh_protocol::record::Identity;

use crate::cli::Backend;
use crate::store::ListFilter;

pub use columns::{ColumnMap, Field, Headers};
pub use encoding::Encoding;
pub use rows::{Mapper, Row};

/// Rows of a sheet as read: (spreadsheet row number, cells).
pub type Grid = Vec<(usize, Vec<String>)>;

/// `import --format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ImportFormat {
    /// One JSON body (or signed record) per line.
    Jsonl,
    /// A spreadsheet saved as CSV (UTF-8; GBK detected).
    Csv,
    /// An Excel workbook.
    Xlsx,
}

impl ImportFormat {
    /// The format given, else the file's extension: `.csv`/`.tsv` → csv,
    /// `.xlsx`/`.xlsm` → xlsx, anything else → jsonl.
    pub fn resolve(given: Option<ImportFormat>, file: &Path) -> ImportFormat {
        given.unwrap_or_else(|| match extension(file).as_str() {
            "csv" | "tsv" => ImportFormat::Csv,
            "xlsx" | "xlsm" => ImportFormat::Xlsx,
            _ => ImportFormat::Jsonl,
        })
    }
}

/// `export --format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ExportFormat {
    /// Every current signed record, one per line.
    Jsonl,
    /// This node's entries as a spreadsheet (UTF-8 CSV with a byte-order mark).
    Csv,
    /// This node's entries as an Excel workbook.
    Xlsx,
    /// The node's catalogue as DCAT-AP JSON-LD.
    Dcat,
}

impl ExportFormat {
    /// The format given, else the extension: `.csv`, `.xlsx`, `.jsonld` (dcat),
    /// anything else → jsonl.
    pub fn resolve(given: Option<ExportFormat>, file: &Path) -> ExportFormat {
        given.unwrap_or_else(|| match extension(file).as_str() {
            "csv" => ExportFormat::Csv,
            "xlsx" => ExportFormat::Xlsx,
            "jsonld" => ExportFormat::Dcat,
            _ => ExportFormat::Jsonl,
        })
    }
}

fn extension(file: &Path) -> String {
    file.extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase()
}

/// Write a file through a temporary sibling and a rename.
pub fn write_atomically(file: &Path, bytes: &[u8]) -> Result<()> {
    let mut tmp = file.as_os_str().to_owned();
    tmp.push(".partial");
    let tmp = PathBuf::from(tmp);
    let mut f =
        std::fs::File::create(&tmp).with_context(|| format!("creating {}", tmp.display()))?;
    f.write_all(bytes)?;
    f.sync_all()?;
    std::fs::rename(&tmp, file).with_context(|| format!("writing {}", file.display()))?;
    Ok(())
}

/// A sheet with its header row found.
pub struct Table {
    pub headers: Vec<String>,
    pub header_row: usize,
    pub rows: Vec<Row>,
}

/// Find the header row: the first of the first 20 rows in which at least two cells are
/// known headers (title rows such as "湖北省科技成果库（2026）" above it are skipped);
/// without one, the first non-empty row.
pub fn table(grid: Grid, map: &ColumnMap) -> Option<Table> {
    let known = |cells: &[String]| cells.iter().filter(|c| map.field(c).is_some()).count();
    let nonempty = |cells: &[String]| cells.iter().any(|c| !c.trim().is_empty());
    let at = grid
        .iter()
        .take(20)
        .position(|(_, cells)| known(cells) >= 2)
        .or_else(|| grid.iter().position(|(_, cells)| nonempty(cells)))?;
    let mut it = grid.into_iter().skip(at);
    let (header_row, headers) = it.next()?;
    let rows = it
        .filter(|(_, cells)| nonempty(cells))
        .map(|(number, cells)| Row { number, cells })
        .collect();
    Some(Table {
        headers: headers.into_iter().map(|h| h.trim().to_string()).collect(),
        header_row,
        rows,
    })
}

/// Options of `techmesh import` for a spreadsheet.
pub struct ImportOptions<'a> {
    pub file: &'a Path,
    pub format: ImportFormat,
    pub columns: Option<&'a Path>,
    pub dry_run: bool,
    pub skip_invalid: bool,
    pub encoding: Encoding,
}

/// The checked rows of a sheet.
pub struct Checked {
    /// Valid rows: (row number, body).
    pub bodies: Vec<(usize, Body)>,
    /// `FILE:ROW: HEADER: reason`, in row order.
    pub errors: Vec<(usize, String)>,
    pub rows: usize,
    pub notices: Vec<String>,
}

/// Read and check a sheet: every row mapped, checked and reported; duplicate ids
/// within the file refused. `on_row` is called once per data row.
pub fn check_file(
    file: &Path,
    format: ImportFormat,
    map: &ColumnMap,
    encoding: Encoding,
    on_rows: &dyn Fn(usize) -> ProgressBar,
) -> Result<Checked> {
    let (grid, mut notices) = match format {
        ImportFormat::Csv => csv::read(file, encoding)?,
        ImportFormat::Xlsx => xlsx::read(file)?,
        ImportFormat::Jsonl => bail!("{}: a JSONL file is not a spreadsheet", file.display()),
    };
    let Some(table) = table(grid, map) else {
        bail!("{}: the sheet is empty", file.display());
    };
    let setup = Mapper::bind(map, &table.headers).map_err(|errs| {
        anyhow::anyhow!(
            "{}:{}: {}",
            file.display(),
            table.header_row,
            errs.join(&format!("\n{}:{}: ", file.display(), table.header_row))
        )
    })?;
    notices.extend(
        setup
            .notices
            .iter()
            .map(|n| format!("{}:{}: {n}", file.display(), table.header_row)),
    );
    let mapper = setup.mapper;
    let pb = on_rows(table.rows.len());
    let mut bodies = Vec::new();
    let mut errors = Vec::new();
    let mut seen: HashMap<String, usize> = HashMap::new();
    let id_col = mapper.column_of(&Field::Id);
    for row in &table.rows {
        pb.inc(1);
        let at = format!("{}:{}", file.display(), row.number);
        match mapper.map_row(row) {
            Ok(body) => {
                let (_, local) = body.slot();
                if let Some(first) = seen.insert(local.to_string(), row.number) {
                    let header = id_col.map(|c| mapper.header(c)).unwrap_or("id");
                    errors.push((
                        row.number,
                        format!("{at}: {header}: {local:?} is already used on row {first}"),
                    ));
                    seen.insert(local.to_string(), first);
                    continue;
                }
                bodies.push((row.number, body));
            }
            Err(errs) => {
                errors.extend(
                    errs.iter()
                        .map(|e| (row.number, format!("{at}: {}", mapper.describe(e)))),
                );
            }
        }
    }
    pb.finish_and_clear();
    Ok(Checked {
        bodies,
        errors,
        rows: table.rows.len(),
        notices,
    })
}

/// `techmesh import FILE.csv|FILE.xlsx`: check every row, then publish all valid
/// bodies in one call (or, with `--dry-run`, show them and publish nothing).
pub fn import(
    b: &dyn Backend,
    opts: &ImportOptions,
    progress: &dyn Fn(u64, &str) -> ProgressBar,
) -> Result<i32> {
    let file = opts.file;
    let map = match opts.columns {
        Some(p) => ColumnMap::load(p)?,
        None => ColumnMap::builtin(),
    };
    let checked = check_file(file, opts.format, &map, opts.encoding, &|n| {
        progress(n as u64, "checking")
    })?;
    for n in &checked.notices {
        eprintln!("{n}");
    }
    for (_, e) in &checked.errors {
        eprintln!("{e}");
    }
    let bad_rows: std::collections::BTreeSet<usize> =
        checked.errors.iter().map(|(n, _)| *n).collect();
    if !bad_rows.is_empty() && !opts.skip_invalid {
        eprintln!(
            "nothing imported: {} of {} row(s) invalid (fix them, or use --skip-invalid to import the {} valid row(s))",
            bad_rows.len(),
            checked.rows,
            checked.bodies.len()
        );
        return Ok(1);
    }
    // Rows whose body is already the current version are left alone.
    let own = b.own_key();
    let mut todo: Vec<(usize, Body, bool)> = Vec::new();
    let mut unchanged = 0usize;
    for (n, body) in checked.bodies {
        let (kind, local) = body.slot();
        let current = b.get(&Identity {
            publisher: own,
            kind,
            local_id: local.to_string(),
        })?;
        match current {
            Some(r) if r.body == body => unchanged += 1,
            Some(r) => todo.push((n, body, !r.is_tombstone())),
            None => todo.push((n, body, false)),
        }
    }
    let skipped = if bad_rows.is_empty() {
        String::new()
    } else {
        format!("; skipped {} invalid row(s)", bad_rows.len())
    };
    if opts.dry_run {
        let mut out = std::io::stdout().lock();
        for (n, body, replaces) in &todo {
            let (kind, local) = body.slot();
            eprintln!(
                "{}:{n}: would {} {kind}/{local}: {}",
                file.display(),
                if *replaces { "replace" } else { "publish" },
                title_of(body)
            );
            writeln!(out, "{}", body.to_json())?;
        }
        let replacing = todo.iter().filter(|t| t.2).count();
        eprintln!(
            "dry run: would publish {} record(s) from {} ({} new, {replacing} replacing current versions), {unchanged} unchanged{skipped}; nothing was published",
            todo.len(),
            file.display(),
            todo.len() - replacing,
        );
        return Ok(if bad_rows.is_empty() { 0 } else { 1 });
    }
    let bodies: Vec<Body> = todo.into_iter().map(|(_, body, _)| body).collect();
    let pb = progress(bodies.len() as u64, "signing");
    let results = if bodies.is_empty() {
        vec![]
    } else {
        b.publish(bodies, &|| pb.inc(1))?
    };
    pb.finish_and_clear();
    let mut by_status: std::collections::BTreeMap<&str, usize> = Default::default();
    for r in &results {
        *by_status.entry(r.status.as_str()).or_default() += 1;
    }
    let mut parts: Vec<String> = by_status.iter().map(|(k, v)| format!("{v} {k}")).collect();
    if unchanged > 0 {
        parts.push(format!("{unchanged} unchanged"));
    }
    eprintln!(
        "imported {} record(s) from {} ({}){skipped}",
        results.len(),
        file.display(),
        parts.join(", "),
    );
    let failed = results
        .iter()
        .any(|r| r.status == "invalid" || r.status == "refused");
    Ok(if failed { 1 } else { 0 })
}

fn title_of(body: &Body) -> String {
    match body {
        Body::Entry(e) => e
            .title
            .get("zh")
            .or_else(|| e.title.get("en"))
            .or_else(|| e.title.values().next())
            .cloned()
            .unwrap_or_default(),
        _ => String::new(),
    }
}

/// `techmesh export --format csv|xlsx`: this node's current entries, one per row.
pub fn export(
    b: &dyn Backend,
    file: &Path,
    format: ExportFormat,
    headers: Headers,
    columns: Option<&Path>,
) -> Result<i32> {
    let map = match columns {
        Some(p) => ColumnMap::load(p)?,
        None => ColumnMap::builtin(),
    };
    let own = b.own_key();
    let all = b.list(&ListFilter {
        kind: Some(Kind::Entry),
        ..Default::default()
    })?;
    let mut mine: Vec<&Entry> = all
        .iter()
        .filter(|r| r.publisher == own)
        .filter_map(|r| r.body.as_entry())
        .collect();
    mine.sort_by(|a, b| a.local_id.cmp(&b.local_id));
    let layout = rows::Layout::new(&map, headers, &mine);
    let mut table = Vec::with_capacity(mine.len());
    for e in &mine {
        let (cells, warnings) = layout.cells(e);
        for w in warnings {
            eprintln!("warning: {w}");
        }
        table.push(cells);
    }
    match format {
        ExportFormat::Csv => csv::write(file, &layout.headers(), &table)?,
        ExportFormat::Xlsx => {
            let sheet = if headers == Headers::Zh {
                "成果库"
            } else {
                "library"
            };
            xlsx::write(file, sheet, &layout.headers(), &table)?
        }
        other => bail!("{other:?} is not a spreadsheet format"),
    }
    let others = all.len() - mine.len();
    eprintln!(
        "exported {} entr{} of this node to {}{}",
        mine.len(),
        if mine.len() == 1 { "y" } else { "ies" },
        file.display(),
        if others > 0 {
            format!(" ({others} entries of other publishers not included)")
        } else {
            String::new()
        }
    );
    Ok(0)
}
