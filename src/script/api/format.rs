//! `csv(rows, opts)`, `fixed(rows, opts)`, `ndjson(rows, opts)`,
//! `json(rows, opts)`, `xlsx(rows or sheets, opts)` and `html(rows, opts)`:
//! stream rows into a file in the run's folder and return it as a `File` to
//! deliver.
//!
//! Plain rows go from the database batch straight to the writer; only rows
//! passed through `rows.map(..)` (or a script array) become script values.

use std::io::Write as _;
use std::sync::Arc;

use rhai::{Array, Dynamic, Engine, Map, NativeCallContext, Position};
use serde::Deserialize;

use super::fields;
use super::query::{apply_maps, columns_of_map, push_dynamic, RowMaps, Rows};
use crate::format::{
    parse_delimiter, Charset, CsvOptions, DateStamp, Decimals, DelimitedWriter, FileName, Filled, FixedOptions,
    FixedWriter, FormatError, Framed, HtmlOptions, HtmlWriter, JsonLayout, JsonOptions, JsonWriter, Overflow,
    PartialFile, Place, Records, RowWriter, Unmappable, XlsxWriter,
};
use crate::run::context::{Artifact, Mode, RunContext};
use crate::script::engine::runtime_error;
use crate::script::ScriptsDir;
use crate::source::{Batch, Column};
use crate::state::LogLevel;

type Res<T> = Result<T, Box<rhai::EvalAltResult>>;

/// Rows of each file kept for `test-extract`'s preview.
pub const PREVIEW_ROWS: usize = 20;

/// A file the run built. Cheap to clone.
#[derive(Clone)]
pub struct File(Arc<Artifact>);

impl File {
    /// Wraps a file the run built (and recorded in its `files`), so other
    /// primitives (`zip`, `photos`) return the same type `deliver` takes.
    pub fn new(artifact: Artifact) -> File {
        File(Arc::new(artifact))
    }

    /// The built file's record.
    pub fn artifact(&self) -> &Artifact {
        &self.0
    }
}

const CSV_OPTIONS: &[&str] = &[
    "name",
    "ext",
    "delimiter",
    "header",
    "quotes",
    "charset",
    "unmappable",
    "unquoted",
    "formulas",
    "line_ending",
    "bom",
    "append_date",
    "on_empty",
    "columns",
    "header_record",
    "trailer_record",
];
const FIXED_OPTIONS: &[&str] = &[
    "name",
    "ext",
    "charset",
    "unmappable",
    "line_ending",
    "terminator",
    "append_date",
    "on_empty",
    "columns",
    "overflow",
    "header_record",
    "trailer_record",
];
const JSON_OPTIONS: &[&str] = &["name", "ext", "append_date", "on_empty", "columns", "decimals"];
const XLSX_OPTIONS: &[&str] = &["name", "ext", "append_date", "on_empty", "columns", "header", "sheet"];
const HTML_OPTIONS: &[&str] = &[
    "name",
    "ext",
    "title",
    "header",
    "charset",
    "append_date",
    "on_empty",
    "columns",
];

/// The option names a format accepts, for load-time checks.
pub fn option_names(format: &str) -> &'static [&'static str] {
    match format {
        "html" => HTML_OPTIONS,
        "fixed" => FIXED_OPTIONS,
        "ndjson" | "json" => JSON_OPTIONS,
        "xlsx" => XLSX_OPTIONS,
        _ => CSV_OPTIONS,
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum OnEmpty {
    Write,
    Fail,
    ZeroBytes,
}

enum Kind {
    Csv(CsvOptions),
    Fixed(FixedOptions),
    Json(JsonOptions),
    /// The header row, and the one sheet's name when rows are given.
    Xlsx {
        header: bool,
        sheet: Option<String>,
    },
    Html(HtmlOptions),
}

/// One sheet of a workbook: `sheet("Students", rows)`, its name checked
/// against Excel's rules when the script makes it.
#[derive(Clone)]
pub struct Sheet {
    name: String,
    rows: Dynamic,
}

struct Opts {
    name: FileName,
    on_empty: OnEmpty,
    /// The columns to write, by name (`csv`, `html`); `fixed` names its
    /// columns in its layout.
    columns: Option<Vec<String>>,
    header: bool,
    records: Records,
    kind: Kind,
}

struct Reader<'a> {
    map: &'a Map,
    format: &'static str,
    pos: Position,
}

impl Reader<'_> {
    fn err(&self, key: &str, msg: impl std::fmt::Display) -> Box<rhai::EvalAltResult> {
        runtime_error(format!("{}(): option {key}: {msg}", self.format), self.pos)
    }
    fn text(&self, key: &str) -> Res<Option<String>> {
        match self.map.get(key) {
            None => Ok(None),
            Some(v) if v.is_string() => Ok(Some(v.to_string())),
            Some(v) => Err(self.err(key, format!("expected text, got {}", v.type_name()))),
        }
    }
    fn flag(&self, key: &str, default: bool) -> Res<bool> {
        match self.map.get(key) {
            None => Ok(default),
            Some(v) => v
                .as_bool()
                .map_err(|t| self.err(key, format!("expected true or false, got {t}"))),
        }
    }
    fn parse<T>(&self, key: &str, f: impl FnOnce(&str) -> Result<T, crate::format::FormatError>) -> Res<Option<T>> {
        match self.text(key)? {
            None => Ok(None),
            Some(s) => f(&s)
                .map(Some)
                .map_err(|e| runtime_error(format!("{}(): {e}", self.format), self.pos)),
        }
    }
}

fn parse_opts(format: &'static str, map: &Map, run: &RunContext, pos: Position) -> Res<Opts> {
    let known = option_names(format);
    if let Some(k) = map.keys().find(|k| !known.contains(&k.as_str())) {
        return Err(runtime_error(
            format!("{format}(): unknown option '{k}' (options: {})", known.join(", ")),
            pos,
        ));
    }
    let r = Reader { map, format, pos };
    let stem = r
        .text("name")?
        .unwrap_or_else(|| ScriptsDir::id_of(&run.script_path).unwrap_or_else(|| "extract".into()));
    let fixed = format == "fixed";
    let ext = r
        .text("ext")?
        .unwrap_or_else(|| if fixed { "txt" } else { format }.to_string());
    let stamp = r.parse("append_date", DateStamp::parse)?;
    let name = FileName::new(&stem, &ext, stamp).map_err(|e| runtime_error(format!("{format}(): {e}"), pos))?;
    let on_empty = match r.text("on_empty")?.as_deref() {
        None | Some("write") => OnEmpty::Write,
        Some("fail") => OnEmpty::Fail,
        Some("zero_bytes") => OnEmpty::ZeroBytes,
        Some(other) => {
            return Err(r.err(
                "on_empty",
                format!("'{other}' is not \"write\", \"fail\" or \"zero_bytes\""),
            ))
        }
    };
    let overflow = match r.text("overflow")? {
        None => Overflow::Fail,
        Some(o) => fields::parse_overflow(&o).map_err(|e| r.err("overflow", e))?,
    };
    let records = fields::records(map, fixed, overflow).map_err(|(key, e)| r.err(key, e))?;
    let columns = match map.get("columns") {
        _ if fixed => None,
        None => None,
        Some(v) => Some(
            v.clone()
                .try_cast::<Array>()
                .ok_or_else(|| r.err("columns", "expected an array of column names"))?
                .into_iter()
                .map(|c| c.into_immutable_string().map(|s| s.to_string()))
                .collect::<Result<Vec<_>, _>>()
                .map_err(|_| r.err("columns", "expected an array of column names"))?,
        ),
    };
    // Fixed-width and JSON files have no line of column names.
    let json = matches!(format, "ndjson" | "json");
    let header = !fixed && !json && r.flag("header", true)?;
    let charset = r.parse("charset", Charset::parse)?.unwrap_or(Charset::UTF_8);
    let kind = if format == "xlsx" {
        let sheet = r.text("sheet")?;
        if let Some(name) = &sheet {
            crate::format::check_sheet_name(name).map_err(|e| r.err("sheet", e))?;
        }
        Kind::Xlsx { header, sheet }
    } else if json {
        Kind::Json(JsonOptions {
            layout: if format == "json" {
                JsonLayout::Array
            } else {
                JsonLayout::Lines
            },
            decimals: r.parse("decimals", str::parse::<Decimals>)?.unwrap_or_default(),
        })
    } else if format == "html" {
        Kind::Html(HtmlOptions {
            title: r.text("title")?.unwrap_or_else(|| stem.clone()),
            header,
            charset,
        })
    } else if fixed {
        let columns = map.get("columns").ok_or_else(|| {
            r.err(
                "columns",
                "a fixed-width file needs its columns: [#{ name: \"id\", width: 9 }, ...]",
            )
        })?;
        let options = FixedOptions {
            columns: fields::fixed_columns(columns, overflow).map_err(|e| r.err("columns", e))?,
            charset,
            unmappable: r.parse("unmappable", str::parse::<Unmappable>)?.unwrap_or_default(),
            line_ending: r.parse("line_ending", str::parse)?.unwrap_or_default(),
            terminator: r.text("terminator")?.unwrap_or_default(),
        };
        options
            .validate()
            .map_err(|e| runtime_error(format!("{format}(): {e}"), pos))?;
        Kind::Fixed(options)
    } else {
        let d = CsvOptions::default();
        Kind::Csv(CsvOptions {
            delimiter: r.parse("delimiter", parse_delimiter)?.unwrap_or(d.delimiter),
            quote_all: r.flag("quotes", d.quote_all)?,
            header,
            line_ending: r.parse("line_ending", str::parse)?.unwrap_or(d.line_ending),
            bom: r.flag("bom", d.bom)?,
            charset,
            unmappable: r.parse("unmappable", str::parse::<Unmappable>)?.unwrap_or(d.unmappable),
            unquoted: r.parse("unquoted", str::parse)?.unwrap_or(d.unquoted),
            formulas: r.parse("formulas", str::parse)?.unwrap_or(d.formulas),
        })
    };
    Ok(Opts {
        name,
        on_empty,
        columns,
        header,
        records,
        kind,
    })
}

/// Feeds rows into a writer, counting them and keeping a preview.
struct Pump<'w> {
    writer: &'w mut dyn RowWriter,
    pos: Position,
    format: &'static str,
    rows: u64,
    columns: Option<Vec<Column>>,
    /// Column positions ordered by column name (the order of a map's keys).
    by_name: Vec<usize>,
    preview: Vec<Vec<Option<String>>>,
}

impl Pump<'_> {
    fn begin(&mut self, columns: Vec<Column>) -> Res<()> {
        self.writer
            .begin(&columns)
            .map_err(|e| runtime_error(format!("{}(): {e}", self.format), self.pos))?;
        let mut by_name: Vec<usize> = (0..columns.len()).collect();
        by_name.sort_by(|&a, &b| columns[a].name.cmp(&columns[b].name));
        self.by_name = by_name;
        self.columns = Some(columns);
        Ok(())
    }

    fn write(&mut self, batch: &Batch, run: &RunContext, file: &str) -> Res<()> {
        for row in batch.rows().take(PREVIEW_ROWS.saturating_sub(self.preview.len())) {
            self.preview.push(row.iter().map(|v| v.map(str::to_string)).collect());
        }
        self.writer
            .write_batch(batch)
            .map_err(|e| runtime_error(format!("{}(): {e}", self.format), self.pos))?;
        self.rows += batch.len() as u64;
        if let Some(p) = &run.progress {
            p(file, self.rows);
        }
        Ok(())
    }

    /// The columns' names in name order (a map's key order).
    fn names_by_name(&self) -> impl ExactSizeIterator<Item = &str> {
        let cols = self.columns.as_deref().unwrap_or_default();
        self.by_name.iter().map(move |&i| cols[i].name.as_str())
    }

    /// Writes one script map as a row; the first map fixes the columns.
    /// True when the map's keys were exactly the columns' names.
    fn write_map(&mut self, m: &Map, source: &[Column], wanted: &Option<Vec<String>>, out: &mut Batch) -> Res<bool> {
        if self.columns.is_none() {
            let cols = match wanted {
                Some(names) => names
                    .iter()
                    .map(|n| {
                        source
                            .iter()
                            .find(|c| &c.name == n)
                            .cloned()
                            .unwrap_or_else(|| Column::new(n, crate::source::Kind::Text))
                    })
                    .collect(),
                None => columns_of_map(source, m),
            };
            *out = Batch::new(cols.len());
            self.begin(cols)?;
        }
        let cols = self.columns.as_ref().expect("columns set above");
        // The usual case: the map has exactly the columns, so walking it in
        // key order beside the columns sorted by name places every value with
        // one comparison each.
        if wanted.is_none() && m.len() == self.by_name.len() {
            // On the stack for all but very wide rows: this runs once a row.
            let mut stack = [None; 64];
            let mut heap;
            let slots: &mut [Option<&Dynamic>] = if cols.len() <= stack.len() {
                &mut stack[..cols.len()]
            } else {
                heap = vec![None; cols.len()];
                &mut heap
            };
            if m.iter().zip(&self.by_name).all(|((k, v), &i)| {
                let hit = cols[i].name == k.as_str();
                slots[i] = Some(v);
                hit
            }) {
                for v in slots.iter() {
                    push_dynamic(out, v.unwrap_or(&Dynamic::UNIT));
                }
                return Ok(true);
            }
        }
        let mut found = 0;
        for c in cols {
            match m.get(c.name.as_str()) {
                Some(v) => {
                    found += 1;
                    push_dynamic(out, v);
                }
                None => push_dynamic(out, &Dynamic::UNIT),
            }
        }
        // Every key was a column unless the map has more keys than matched.
        if wanted.is_none() && found < m.len() {
            let extra = m
                .keys()
                .find(|k| !cols.iter().any(|c| c.name == k.as_str()))
                .expect("a key matched no column");
            return Err(runtime_error(
                format!(
                    "{}(): a row has the field '{extra}' that the first row did not have; every row must have the same fields (or give the columns option)",
                    self.format
                ),
                self.pos,
            ));
        }
        Ok(false)
    }
}

/// What [`fill`] streamed: rows, preview, column names.
type Filling = (u64, Vec<Vec<Option<String>>>, Vec<String>);

/// Streams `input` through `writer`.
fn fill(
    ctx: &NativeCallContext,
    run: &RunContext,
    writer: &mut dyn RowWriter,
    input: Dynamic,
    wanted: &Option<Vec<String>>,
    format: &'static str,
    file_name: &str,
) -> Res<Filling> {
    let pos = ctx.call_position();
    let mut pump = Pump {
        writer,
        pos,
        format,
        rows: 0,
        columns: None,
        by_name: Vec::new(),
        preview: Vec::new(),
    };
    if let Some(rows) = input.clone().try_cast::<Rows>() {
        let mut started = rows.start(run)?;
        let source = std::mem::take(&mut started.columns);
        if started.maps.is_empty() && wanted.is_none() {
            pump.begin(source.clone())?;
            while let Some(batch) = started.next(run)? {
                pump.write(&batch, run, file_name)?;
                started.stream.recycle(batch);
            }
        } else {
            let mut out = Batch::new(0);
            let mut maps = RowMaps::new(&source);
            // Whether a map with exactly the file's columns as keys has the
            // query's (then it is refilled for the next row); known once the
            // first row fixed the columns.
            let mut reusable = None;
            while let Some(batch) = started.next(run)? {
                for row in batch.rows() {
                    if let Some(m) = apply_maps(ctx, &started.maps, maps.map(row), pos)? {
                        if pump.write_map(&m, &source, wanted, &mut out)?
                            && *reusable.get_or_insert_with(|| maps.has_keys(pump.names_by_name()))
                        {
                            maps.reuse(m);
                        }
                    }
                }
                started.stream.recycle(batch);
                pump.write(&out, run, file_name)?;
                out.clear();
            }
            if pump.columns.is_none() {
                let cols = match wanted {
                    Some(names) => names
                        .iter()
                        .map(|n| Column::new(n, crate::source::Kind::Text))
                        .collect(),
                    None => source,
                };
                pump.begin(cols)?;
            }
        }
    } else if let Some(array) = input.clone().try_cast::<Array>() {
        let mut out = Batch::new(0);
        for item in &array {
            let m = item.read_lock::<Map>().ok_or_else(|| {
                runtime_error(
                    format!(
                        "{format}(): an array of rows must hold object maps, found {}",
                        item.type_name()
                    ),
                    pos,
                )
            })?;
            pump.write_map(&m, &[], wanted, &mut out)?;
        }
        if pump.columns.is_none() {
            pump.begin(
                wanted
                    .iter()
                    .flatten()
                    .map(|n| Column::new(n, crate::source::Kind::Text))
                    .collect(),
            )?;
        }
        pump.write(&out, run, file_name)?;
    } else {
        return Err(runtime_error(
            format!(
                "{format}(): the first argument must be rows from query() or an array of maps, not {}",
                input.type_name()
            ),
            pos,
        ));
    }
    pump.writer
        .finish()
        .map_err(|e| runtime_error(format!("{format}(): {e}"), pos))?;
    let columns: Vec<String> = pump
        .columns
        .take()
        .unwrap_or_default()
        .into_iter()
        .map(|c| c.name)
        .collect();
    Ok((pump.rows, std::mem::take(&mut pump.preview), columns))
}

/// Fills a workbook: `input` is rows (one sheet, named by the `sheet`
/// option) or an array of `sheet(name, rows)`. The rows counted are every
/// sheet's; the preview and columns are the first sheet's.
fn fill_sheets(
    ctx: &NativeCallContext,
    run: &RunContext,
    book: &mut XlsxWriter,
    input: &Dynamic,
    sheet: &Option<String>,
    wanted: &Option<Vec<String>>,
    file_name: &str,
) -> Res<Filling> {
    let pos = ctx.call_position();
    let fmt_err = |e: FormatError| runtime_error(format!("xlsx(): {e}"), pos);
    let sheets: Option<Vec<Sheet>> = input.clone().try_cast::<Array>().and_then(|a| {
        (!a.is_empty() && a.iter().all(|s| s.is::<Sheet>())).then(|| a.into_iter().map(|s| s.cast::<Sheet>()).collect())
    });
    let Some(sheets) = sheets else {
        if let Some(name) = sheet {
            book.sheet(name).map_err(fmt_err)?;
        }
        return fill(ctx, run, book, input.clone(), wanted, "xlsx", file_name);
    };
    if let Some(option) = [("sheet", sheet.is_some()), ("columns", wanted.is_some())]
        .into_iter()
        .find_map(|(o, given)| given.then_some(o))
    {
        return Err(runtime_error(
            format!("xlsx(): option {option} is for one sheet of rows; with sheet(name, rows) values, name each sheet and choose its columns in its query"),
            pos,
        ));
    }
    let mut all: Option<Filling> = None;
    for s in sheets {
        book.sheet(&s.name).map_err(fmt_err)?;
        let filled = fill(ctx, run, book, s.rows, &None, "xlsx", file_name)?;
        match &mut all {
            None => all = Some(filled),
            Some(all) => all.0 += filled.0,
        }
    }
    Ok(all.expect("at least one sheet"))
}

fn build(ctx: NativeCallContext, run: &RunContext, input: Dynamic, opts: &Map, format: &'static str) -> Res<File> {
    let pos = ctx.call_position();
    let o = parse_opts(format, opts, run, pos)?;
    let file_name = o.name.render(run.started.naive_local());
    super::name_is_free(format, run, &file_name, pos)?;
    let io_err = |e: std::io::Error| {
        runtime_error(
            format!(
                "{format}(): cannot write {file_name} in {}: {e}",
                run.work_dir.display()
            ),
            pos,
        )
    };
    let fmt_err = |e: FormatError| runtime_error(format!("{format}(): {e}"), pos);
    let mut partial = PartialFile::create(&run.work_dir, &file_name).map_err(io_err)?;
    // A header record holding a count or a sum is known only after the last
    // row: the rows go to a body file beside it, and the file is then the
    // header followed by a copy of the body (a second pass over the disk,
    // never the rows in memory).
    let deferred = o.records.header_needs_totals();
    let mut body = match deferred {
        true => Some(PartialFile::create(&run.work_dir, &format!("{file_name}.body")).map_err(io_err)?),
        false => None,
    };
    let (layout, charset) = match &o.kind {
        Kind::Csv(c) => (
            Some(crate::guard::Layout {
                delimiter: c.delimiter,
                header: c.header,
                header_record: !o.records.header.is_empty(),
                trailer_record: !o.records.trailer.is_empty(),
            }),
            Some(c.charset),
        ),
        Kind::Fixed(f) => (None, Some(f.charset)),
        Kind::Json(_) => (None, Some(Charset::UTF_8)),
        Kind::Xlsx { .. } | Kind::Html(_) => (None, None),
    };
    let at = run.started.naive_local();
    let filled = {
        let sink: &mut PartialFile = body.as_mut().unwrap_or(&mut partial);
        let stream = |writer: &mut dyn RowWriter| -> Res<(Filling, Option<Vec<Filled>>)> {
            if o.records.is_empty() {
                return fill(&ctx, run, writer, input.clone(), &o.columns, format, &file_name).map(|f| (f, None));
            }
            let mut framed = Framed::new(writer, &o.records, at);
            let filled = fill(&ctx, run, &mut framed, input.clone(), &o.columns, format, &file_name)?;
            let header = deferred.then(|| framed.header()).transpose().map_err(fmt_err)?;
            Ok((filled, header))
        };
        match &o.kind {
            Kind::Csv(c) => {
                // The byte-order mark starts the file, before a deferred header.
                let c = CsvOptions {
                    bom: c.bom && !deferred,
                    ..c.clone()
                };
                stream(&mut DelimitedWriter::new(sink, c).map_err(fmt_err)?)
            }
            Kind::Fixed(f) => stream(&mut FixedWriter::new(sink, f.clone()).map_err(fmt_err)?),
            Kind::Json(j) => stream(&mut JsonWriter::new(sink, *j)),
            Kind::Xlsx { header, sheet } => {
                let mut book = XlsxWriter::new(&run.work_dir, *header).map_err(fmt_err)?;
                let filled = fill_sheets(&ctx, run, &mut book, &input, sheet, &o.columns, &file_name)?;
                book.save(sink).map_err(fmt_err)?;
                Ok((filled, None))
            }
            Kind::Html(h) => stream(&mut HtmlWriter::new(sink, h.clone())),
        }
    };
    let ((rows, preview, columns), header) = filled?;
    if let (Some(mut body), Some(header)) = (body.take(), header) {
        let head = match &o.kind {
            Kind::Csv(c) => {
                let mut w = DelimitedWriter::new(Vec::new(), c.clone()).map_err(fmt_err)?;
                w.write_record(Place::HeaderRecord, &header).map_err(fmt_err)?;
                w.into_inner().map_err(fmt_err)?
            }
            Kind::Fixed(f) => {
                let mut w = FixedWriter::new(Vec::new(), f.clone()).map_err(fmt_err)?;
                w.write_record(Place::HeaderRecord, &header).map_err(fmt_err)?;
                w.into_inner().map_err(fmt_err)?
            }
            Kind::Json(_) | Kind::Xlsx { .. } | Kind::Html(_) => {
                unreachable!("{format}() has no header_record option")
            }
        };
        body.flush().map_err(io_err)?;
        partial.write_all(&head).map_err(io_err)?;
        let mut copied = std::fs::File::open(body.partial_path()).map_err(io_err)?;
        std::io::copy(&mut copied, &mut partial).map_err(io_err)?;
        // Dropping the uncommitted body removes it.
    }
    // A fixed-width file's columns are its layout's, a choice of the rows'.
    let (columns, preview) = match &o.kind {
        Kind::Fixed(f) => {
            let at: Vec<Option<usize>> = f
                .columns
                .iter()
                .map(|c| columns.iter().position(|n| n == &c.name))
                .collect();
            let preview = preview
                .into_iter()
                .map(|row| {
                    at.iter()
                        .map(|i| i.and_then(|i| row.get(i).cloned().flatten()))
                        .collect()
                })
                .collect();
            (f.columns.iter().map(|c| c.name.clone()).collect(), preview)
        }
        _ => (columns, preview),
    };
    if rows == 0 {
        match o.on_empty {
            OnEmpty::Fail => {
                return Err(runtime_error(
                    format!("{format}(): the result is empty and on_empty is \"fail\"; no file was written"),
                    pos,
                ))
            }
            OnEmpty::Write if !o.header && o.records.is_empty() && !matches!(format, "json" | "xlsx") => {
                let header = match format {
                    "fixed" => "it has no header or trailer record",
                    "ndjson" => "an NDJSON file has no header",
                    _ => "header is off",
                };
                return Err(runtime_error(
                    format!("{format}(): the result is empty and {header}, so the file would be zero bytes; set on_empty: \"zero_bytes\" if the vendor accepts an empty file"),
                    pos,
                ));
            }
            _ => {}
        }
    }
    let written = partial.commit().map_err(io_err)?;
    // A test shows the file as the vendor will read it.
    let lines = match charset {
        Some(charset) if run.mode == Mode::Test => {
            crate::format::first_lines(&written.path, charset, PREVIEW_ROWS + 1).map_err(io_err)?
        }
        _ => Vec::new(),
    };
    let artifact = Artifact {
        columns,
        preview,
        lines,
        key: o.name.stem().to_string(),
        layout,
        ..Artifact::written(written, rows)
    };
    run.log(
        LogLevel::Info,
        format!(
            "wrote {} ({} rows, {} bytes)",
            artifact.name, artifact.rows, artifact.bytes
        ),
    );
    run.lock().files.push(artifact.clone());
    Ok(File(Arc::new(artifact)))
}

/// Registers `csv`, `fixed`, `ndjson`, `json`, `xlsx`, `sheet`, `html`,
/// `included()` and the `File` type's getters.
pub fn register(engine: &mut Engine, run: Arc<RunContext>) {
    let r = run.clone();
    engine.register_fn("included", move || -> rhai::Array {
        let n = r.included.load(std::sync::atomic::Ordering::Relaxed);
        r.lock()
            .files
            .iter()
            .take(n)
            .map(|a| Dynamic::from(File::new(a.clone())))
            .collect()
    });
    engine.register_type_with_name::<File>("File");
    engine.register_get("name", |f: &mut File| f.0.name.clone());
    engine.register_get("rows", |f: &mut File| f.0.rows as rhai::INT);
    engine.register_get("bytes", |f: &mut File| f.0.bytes as rhai::INT);
    engine.register_get("sha256", |f: &mut File| f.0.sha256.clone());
    // `f.guard(#{ min_rows: 100, unique: ["id"] })`: this file's own safety
    // checks, added to the header's [guards] when it is delivered.
    engine.register_fn(
        "guard",
        |ctx: NativeCallContext, f: &mut File, opts: Map| -> Res<File> {
            let pos = ctx.call_position();
            let table = super::options_table(&opts).map_err(|e| runtime_error(format!("guard(): {e}"), pos))?;
            let g = crate::guard::Guards::deserialize(toml::Value::Table(table))
                .map_err(|e| runtime_error(format!("guard(): {}", e.message()), pos))?;
            g.validate().map_err(|e| runtime_error(format!("guard(): {e}"), pos))?;
            let mut a = f.0.as_ref().clone();
            a.guards = a.guards.merged(&g);
            Ok(File::new(a))
        },
    );
    engine.register_type_with_name::<Sheet>("Sheet");
    engine.register_fn(
        "sheet",
        |ctx: NativeCallContext, name: &str, rows: Dynamic| -> Res<Sheet> {
            crate::format::check_sheet_name(name)
                .map_err(|e| runtime_error(format!("sheet(): {e}"), ctx.call_position()))?;
            Ok(Sheet {
                name: name.to_string(),
                rows,
            })
        },
    );
    for format in ["csv", "fixed", "ndjson", "json", "xlsx", "html"] {
        let r = run.clone();
        engine.register_fn(format, move |ctx: NativeCallContext, input: Dynamic, opts: Map| {
            build(ctx, &r, input, &opts, format)
        });
        let r = run.clone();
        engine.register_fn(format, move |ctx: NativeCallContext, input: Dynamic| {
            build(ctx, &r, input, &Map::new(), format)
        });
    }
}
