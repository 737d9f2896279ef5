//! `csv(rows, opts)`, `fixed(rows, opts)`, `ndjson(rows, opts)`,
//! `json(rows, opts)`, `xlsx(rows or sheets, opts)` and `html(rows, opts)`:
//! stream rows into a file in the run's folder and return it as a `File` to
//! deliver.
//!
//! Plain rows go from the database batch straight to the writer; only rows
//! passed through `rows.map(..)` (or a script array) become script values.

use super::{read_options, Options, Primitive};
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
pub(crate) const PREVIEW_ROWS: usize = 20;

/// A file the run built. Cheap to clone.
#[derive(Clone)]
pub(crate) struct File(Arc<Artifact>);

impl File {
    /// Wraps a file the run built (and recorded in its `files`), so other
    /// primitives (`zip`, `photos`) return the same type `deliver` takes.
    pub(crate) fn new(artifact: Artifact) -> File {
        File(Arc::new(artifact))
    }

    /// The built file's record.
    pub(crate) fn artifact(&self) -> &Artifact {
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

/// What an empty result writes.
#[derive(Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
enum OnEmpty {
    #[default]
    Write,
    Fail,
    ZeroBytes,
}

/// The options of every format, read by serde with unknown fields denied.
/// Which of them a format takes is its descriptor's list (`CSV_OPTIONS`,
/// ...), checked first; a test keeps every list within these fields.
/// `columns` and the header and trailer records hold lists of maps, read
/// from the script's map by [`fields`], which words their errors per item.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FormatOptions {
    name: Option<String>,
    ext: Option<String>,
    append_date: Option<String>,
    #[serde(default)]
    on_empty: OnEmpty,
    // Checked to be present and convertible here, read by `fields`.
    #[allow(dead_code)]
    columns: Option<serde::de::IgnoredAny>,
    #[allow(dead_code)]
    header_record: Option<serde::de::IgnoredAny>,
    #[allow(dead_code)]
    trailer_record: Option<serde::de::IgnoredAny>,
    header: Option<bool>,
    quotes: Option<bool>,
    bom: Option<bool>,
    delimiter: Option<String>,
    charset: Option<String>,
    unmappable: Option<String>,
    unquoted: Option<String>,
    formulas: Option<String>,
    line_ending: Option<String>,
    terminator: Option<String>,
    overflow: Option<String>,
    decimals: Option<String>,
    sheet: Option<String>,
    title: Option<String>,
}

impl Options for FormatOptions {
    fn expected(field: &str) -> &'static str {
        match field {
            "header" | "quotes" | "bom" => "true or false",
            "on_empty" => "\"write\", \"fail\" or \"zero_bytes\"",
            _ => "text",
        }
    }
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
pub(crate) struct Sheet {
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

fn parse_opts(format: &'static str, map: &Map, run: &RunContext, pos: Position) -> Res<Opts> {
    let known = super::primitive(format)
        .and_then(|p| p.options)
        .map_or(&[][..], |(_, names)| names());
    super::refuse_unknown(format, map, known, pos)?;
    let o: FormatOptions = read_options(format, map, pos)?;
    let err = |key: &str, msg: &dyn std::fmt::Display| runtime_error(format!("{format}(): option {key}: {msg}"), pos);
    let invalid = |e: FormatError| runtime_error(format!("{format}(): {e}"), pos);
    let stem = o
        .name
        .clone()
        .unwrap_or_else(|| ScriptsDir::id_of(&run.script_path).unwrap_or_else(|| "extract".into()));
    let fixed = format == "fixed";
    let ext = o
        .ext
        .clone()
        .unwrap_or_else(|| if fixed { "txt" } else { format }.to_string());
    let stamp = o
        .append_date
        .as_deref()
        .map(DateStamp::parse)
        .transpose()
        .map_err(invalid)?;
    let name = FileName::new(&stem, &ext, stamp).map_err(invalid)?;
    let overflow = match o.overflow.as_deref() {
        None => Overflow::Fail,
        Some(o) => fields::parse_overflow(o).map_err(|e| err("overflow", &e))?,
    };
    let records = fields::records(map, fixed, overflow).map_err(|(key, e)| err(key, &e))?;
    let columns = match map.get("columns") {
        _ if fixed => None,
        None => None,
        Some(v) => Some(
            v.clone()
                .try_cast::<Array>()
                .ok_or_else(|| err("columns", &"expected an array of column names"))?
                .into_iter()
                .map(|c| c.into_immutable_string().map(|s| s.to_string()))
                .collect::<Result<Vec<_>, _>>()
                .map_err(|_| err("columns", &"expected an array of column names"))?,
        ),
    };
    // Fixed-width and JSON files have no line of column names.
    let json = matches!(format, "ndjson" | "json");
    let header = !fixed && !json && o.header.unwrap_or(true);
    let charset = o.charset.as_deref().map(Charset::parse).transpose().map_err(invalid)?;
    let charset = charset.unwrap_or(Charset::UTF_8);
    let unmappable = o
        .unmappable
        .as_deref()
        .map(str::parse::<Unmappable>)
        .transpose()
        .map_err(invalid)?;
    let line_ending = o.line_ending.as_deref().map(str::parse).transpose().map_err(invalid)?;
    let kind = if format == "xlsx" {
        if let Some(name) = &o.sheet {
            crate::format::check_sheet_name(name).map_err(|e| err("sheet", &e))?;
        }
        Kind::Xlsx { header, sheet: o.sheet }
    } else if json {
        Kind::Json(JsonOptions {
            layout: if format == "json" {
                JsonLayout::Array
            } else {
                JsonLayout::Lines
            },
            decimals: o
                .decimals
                .as_deref()
                .map(str::parse::<Decimals>)
                .transpose()
                .map_err(invalid)?
                .unwrap_or_default(),
        })
    } else if format == "html" {
        Kind::Html(HtmlOptions {
            title: o.title.unwrap_or_else(|| stem.clone()),
            header,
            charset,
        })
    } else if fixed {
        let columns = map.get("columns").ok_or_else(|| {
            err(
                "columns",
                &"a fixed-width file needs its columns: [#{ name: \"id\", width: 9 }, ...]",
            )
        })?;
        let options = FixedOptions {
            columns: fields::fixed_columns(columns, overflow).map_err(|e| err("columns", &e))?,
            charset,
            unmappable: unmappable.unwrap_or_default(),
            line_ending: line_ending.unwrap_or_default(),
            terminator: o.terminator.unwrap_or_default(),
        };
        options.validate().map_err(invalid)?;
        Kind::Fixed(options)
    } else {
        let d = CsvOptions::default();
        Kind::Csv(CsvOptions {
            delimiter: o
                .delimiter
                .as_deref()
                .map(parse_delimiter)
                .transpose()
                .map_err(invalid)?
                .unwrap_or(d.delimiter),
            quote_all: o.quotes.unwrap_or(d.quote_all),
            header,
            line_ending: line_ending.unwrap_or(d.line_ending),
            bom: o.bom.unwrap_or(d.bom),
            charset,
            unmappable: unmappable.unwrap_or(d.unmappable),
            unquoted: o
                .unquoted
                .as_deref()
                .map(str::parse)
                .transpose()
                .map_err(invalid)?
                .unwrap_or(d.unquoted),
            formulas: o
                .formulas
                .as_deref()
                .map(str::parse)
                .transpose()
                .map_err(invalid)?
                .unwrap_or(d.formulas),
        })
    };
    Ok(Opts {
        name,
        on_empty: o.on_empty,
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
        (!a.is_empty() && a.iter().all(rhai::Dynamic::is::<Sheet>))
            .then(|| a.into_iter().map(rhai::Dynamic::cast::<Sheet>).collect())
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
    let mut body = if deferred {
        Some(PartialFile::create(&run.work_dir, &format!("{file_name}.body")).map_err(io_err)?)
    } else {
        None
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

/// ### `csv(rows, options)` → `File`
///
/// Writes rows (from `query`, `rows.map`, or an array of maps) as a delimited
/// file in the run's folder and returns the file, ready to `deliver`.
///
/// | option | values | default | meaning |
/// |---|---|---|---|
/// | `name` | text | the script's file name | File name before the date and extension. |
/// | `ext` | `"csv"`, `"txt"`, `"tab"`, `"dat"`, any text | `"csv"` | Extension (a leading dot is dropped). |
/// | `delimiter` | `","`/`"comma"`, `"tab"`/`"\t"`, `"\|"`/`"pipe"`, `"~"`/`"tilde"`, `";"`/`"semicolon"`, or one printable ASCII character | `","` | Field separator. |
/// | `header` | bool | `true` | First line holds the column names. |
/// | `quotes` | bool | `false` | Put double quotes around every value (header and empty values too). |
/// | `unquoted` | `"quote"`, `"replace"`, `"fail"` | `"quote"` | With `quotes: false`, what happens to a value containing the delimiter, a `"` or a line break (see below). |
/// | `formulas` | `"keep"`, `"escape"`, `"fail"` | `"keep"` | Values a spreadsheet would run as formulas (starting with `=`, `+`, `-`, `@`, a tab or CR; plain numbers such as `-3.00` are not): `"keep"` writes them as they are, for files a program reads; `"escape"` prefixes them with `'` (the OWASP advice for CSV injection) for files people open in a spreadsheet; `"fail"` stops the run naming the row and column. |
/// | `charset` | `"utf-8"`, `"us-ascii"`, or an ASCII-compatible label (`"windows-1252"`, `"iso-8859-1"`, `"shift_jis"`, ...) | `"utf-8"` | Character set of the file. UTF-16 is refused (delimiters would be two bytes). |
/// | `unmappable` | `"transliterate"`, `"replace"`, `"fail"` | `"transliterate"` | What happens to a character the charset cannot hold. |
/// | `line_ending` | `"crlf"`, `"lf"` | `"crlf"` | Record terminator (RFC 4180 says CRLF). |
/// | `bom` | bool | `false` | Start with a UTF-8 byte-order mark (Excel wants one); only with UTF-8. |
/// | `append_date` | `"yyyymmdd"`, `"yyyymmddhhmmssSS"`, or a strftime pattern with `%` | none | Date of the run's start (script time zone) appended to the name. `SS` is hundredths of a second. |
/// | `on_empty` | `"write"`, `"fail"`, `"zero_bytes"` | `"write"` | What an empty result does (see below). |
/// | `columns` | array of names | all | Order and choice of columns, for mapped rows and arrays. |
/// | `header_record` | list of fields | none | A record written before the rows (and before the line of column names); see below. |
/// | `trailer_record` | list of fields | none | A record written after the last row; see below. |
///
/// The file name is `name` + date + `.` + `ext`, with nothing in between: write
/// `name: "roster_"` for `roster_20261128.txt`. Names a server or Windows share
/// would refuse (path separators, `..`, `<>:"\|?*`, control characters, device
/// names such as `CON`) are refused. Two files of one run cannot share a name.
///
/// **Quotes off, and a value that would break the file.** A file must never be
/// silently unparseable. With `quotes: false`:
///
/// - `unquoted: "quote"` (default) quotes just that value, as RFC 4180 does
///   (`"Smith, Jr."`), so any CSV reader gets the value back intact;
/// - `unquoted: "replace"` turns the delimiter and line breaks into spaces and
///   `"` into `'`, for importers that cannot read quotes at all;
/// - `unquoted: "fail"` stops the run with the row number and column.
///
/// **Characters the charset cannot hold.** `unmappable: "transliterate"` (the
/// default) writes the closest ASCII (`José` → `Jose`, `Müller` → `Muller`,
/// `ß` → `ss`, `“` → `"`), then quotes if the result needs it; `"replace"` writes
/// `?`; `"fail"` stops the run naming the row, column and character (U+ code).
///
/// **Empty results.** An empty result writes a header-only file, never a
/// zero-byte one. With `header: false`, an empty result is an error unless
/// `on_empty: "zero_bytes"` says the vendor accepts an empty file;
/// `on_empty: "fail"` makes any empty result an error.
///
/// **Header and trailer records.** State agencies and the National Student
/// Clearinghouse want a record before the rows (a code, the district, the run
/// date) and one after them (a record count, a control total). Each of
/// `header_record` and `trailer_record` is a list of fields; a field is literal
/// text (or a number), or a map ferry computes:
///
/// | field | written as |
/// |---|---|
/// | `"PH3"`, `42`, `#{ text: "PH3" }` | the text as given |
/// | `#{ count: "records" }` | the number of rows |
/// | `#{ count: "all" }` | the number of lines in the file: the rows, the line of column names if `header` is on, and the header and trailer records themselves |
/// | `#{ sum: "column" }` | the exact decimal sum of a column of the rows, added in base ten from the values as written (`0.10` three times is `0.30`, never `0.30000000000000004`), with as many fraction digits as the longest value's; NULL and empty values add nothing, any other value that is not `[+-]digits[.digits]` stops the run naming the row and column |
/// | `#{ date: "yyyymmdd" }` | the run's start in the script's time zone, in the patterns of `append_date` (`"yyyymmdd"`, `"yyyymmddhhmmssSS"` or a strftime pattern: `"%m/%d/%Y"`) |
///
/// Any field may add `width`, `align`, `pad` and `overflow` to be padded to a
/// fixed number of bytes like a column of [`fixed`](#fixedrows-options--file).
/// In `csv` the fields are converted to the file's charset, joined with its
/// delimiter and quoted by its rules, like a row. Counts and sums add up while
/// the rows stream, so a trailer costs no memory. A header record holding a
/// count or a sum is known only after the last row: the rows are then written
/// to a second file in the run's folder, and the file is the header followed by
/// a copy of them (one more pass over the disk, never the rows in memory).
/// The guards `required` and `unique` read the rows, not the records.
///
/// ```rhai
/// let rows = query("live", "SELECT person_id, last_name, amount FROM fee ORDER BY person_id");
/// deliver(csv(rows, #{
///     name: "fees", ext: "txt", delimiter: "tab", header: false,
///     header_record:  ["H1", "District 42", #{ date: "%m/%d/%Y" }],
///     trailer_record: ["T1", #{ count: "records" }, #{ sum: "amount" }],
/// }), "out");
/// ```
///
/// writes, for three fees of `0.10`, `12.50` and `-2.5`:
///
/// ```text
/// H1	District 42	12/03/2026
/// 1	Núñez	0.10
/// 2	O'Brien	12.50
/// 3	Zoë	-2.5
/// T1	3	10.10
/// ```
///
/// A file is written as `NAME.partial` and renamed when complete; when anything
/// fails, the partial file is removed.
// The example shows a tab-delimited file byte for byte.
#[allow(clippy::tabs_in_doc_comments)]
pub(crate) const CSV: Primitive = Primitive {
    names: &["csv"],
    options: Some((1, || CSV_OPTIONS)),
    check: None,
    register: |engine, run| register_format(engine, run, "csv"),
};

/// ### `fixed(rows, options)` → `File`
///
/// Writes rows as a fixed-width file: every record the same number of bytes,
/// each value padded to its column's width, no delimiters and no line of column
/// names. Widths are **bytes of the file's charset** after conversion, as the
/// receiving program counts them: `José` takes four bytes in `windows-1252`, five
/// in UTF-8.
///
/// ```rhai
/// let rows = query("live", `
///     SELECT person_id, last_name, first_name, strftime('%Y%m%d', birth_date) AS born
///     FROM student ORDER BY person_id`);
/// let file = fixed(rows, #{
///     name: "state_roster_", append_date: "yyyymmdd", charset: "windows-1252",
///     columns: [
///         #{ name: "person_id",  width: 9, align: "right", pad: "0" },
///         #{ name: "last_name",  width: 20, overflow: "truncate" },
///         #{ name: "first_name", width: 15, overflow: "truncate" },
///         #{ name: "born",       width: 8 },
///     ],
///     header_record:  [#{ text: "HDR", width: 3 }, #{ date: "yyyymmdd", width: 8 }, #{ text: "", width: 41 }],
///     trailer_record: [#{ text: "TRL", width: 3 }, #{ count: "records", width: 9, align: "right", pad: "0" },
///                      #{ text: "", width: 40 }],
/// });
/// deliver(file, "out");
/// ```
///
/// writes 52-byte records (shown decoded: in windows-1252 each accented letter is one byte, and `Zoë-Ærøskøbing-Müller` is cut to its first 20):
///
/// ```text
/// HDR20261203                                         
/// 000000001Núñez               José           20110203
/// 000000002Zoë-Ærøskøbing-MülleAnn            20100517
/// TRL000000002                                        
/// ```
///
/// | option | values | default | meaning |
/// |---|---|---|---|
/// | `columns` | list of maps, one per field in order | required | `name`: the column of the rows it writes (an error names a column the rows lack); `width`: bytes, required; `align`: `"left"` or `"right"` (default `"left"`); `pad`: one printable ASCII character, `" "` (default) or `"0"`; `overflow`: as below. |
/// | `overflow` | `"fail"`, `"truncate"` | `"fail"` | A value wider than its column: `"fail"` stops the run naming the row and column and leaves no file; `"truncate"` keeps the first bytes that fit, never splitting a multi-byte character (the field is padded to its width). A column's own `overflow` wins. |
/// | `terminator` | printable ASCII text | none | Written at the end of every record, before the line ending (some layouts end records with `*`). |
/// | `line_ending` | `"crlf"`, `"lf"` | `"crlf"` | Written after every record. |
/// | `header_record`, `trailer_record` | list of fields | none | As for `csv`; here every field needs a `width` (literal text is written `#{ text: "PH3", width: 3 }`). |
/// | `name`, `ext`, `append_date`, `charset`, `unmappable`, `on_empty` | | as for `csv` (`ext` `"txt"`) | An empty result with no header or trailer record would be a zero-byte file: an error unless `on_empty: "zero_bytes"`. |
///
/// NULL and the empty value are all padding (`000000000` in a zero-padded
/// column). With `pad: "0"` and `align: "right"`, a sign goes first: `-42` in six
/// bytes is `-00042`. Truncation keeps the start of the value whatever the
/// alignment. Characters the charset cannot hold are handled by `unmappable`
/// before the bytes are counted.
pub(crate) const FIXED: Primitive = Primitive {
    names: &["fixed"],
    options: Some((1, || FIXED_OPTIONS)),
    check: None,
    register: |engine, run| register_format(engine, run, "fixed"),
};

/// ### `ndjson(rows, options)` and `json(rows, options)` → `File`
///
/// Write rows as JSON objects keyed by column name, in column order, for Ed-Fi
/// loaders and vendors' APIs: `ndjson` one object per line (NDJSON / JSON Lines,
/// each line ending in `\n`), `json` one array with one object per line. Both
/// stream: no row is held past its batch. JSON is always UTF-8 without a BOM
/// (RFC 8259), so there is no `charset` option.
///
/// ```rhai
/// let rows = query("live", "SELECT id, name, gpa, active, born, note FROM student ORDER BY id");
/// deliver(ndjson(rows, #{ name: "students" }), "out");
/// deliver(json(rows, #{ name: "students", decimals: "string" }), "out");
/// ```
///
/// writes `students.ndjson`:
///
/// ```text
/// {"id":1,"name":"Zoë O'Brien","gpa":3.50,"active":true,"born":"2010-01-31","note":"line\none"}
/// {"id":2,"name":"José","gpa":null,"active":false,"born":null,"note":null}
/// ```
///
/// and `students.json`:
///
/// ```text
/// [
/// {"id":1,"name":"Zoë O'Brien","gpa":"3.50","active":true,"born":"2010-01-31","note":"line\none"},
/// {"id":2,"name":"José","gpa":null,"active":false,"born":null,"note":null}
/// ]
/// ```
///
/// Values keep the type the database gave them:
///
/// | column | JSON |
/// |---|---|
/// | integers, floats | numbers; NaN and ±Infinity (not JSON numbers) are strings `"NaN"`, `"Infinity"`; a value of a loosely typed SQLite column that is not a number is a string |
/// | exact decimals (NUMERIC, DECIMAL) | numbers with every digit of the database (`3.50`), or strings with `decimals: "string"` for readers that would round them through a binary float |
/// | booleans | `true` / `false` |
/// | JSON and JSONB | the document itself, on the one line |
/// | NULL | `null` |
/// | everything else (text, dates, times, timestamps, binary) | strings, as the [table below](#how-values-are-written) writes them |
///
/// A column a script computes in `rows.map(..)` takes its type from the first
/// row's value: an integer is a number.
///
/// | option | default | meaning |
/// |---|---|---|
/// | `decimals` | `"number"` | `"number"` or `"string"`, as above. |
/// | `name`, `ext`, `append_date`, `on_empty`, `columns` | as for `csv` (`ext` `"ndjson"` or `"json"`) | An empty result is `[]` from `json`; from `ndjson` it would be a zero-byte file, an error unless `on_empty: "zero_bytes"`. |
///
/// The server suite (`tests/servers/json.rs`) runs this example on
/// PostgreSQL and compares the files with what is shown, and reads both files
/// back with Python's `json` module on SQLite, PostgreSQL and MariaDB, checking
/// every field's value and type against the database's own client;
/// `tests/json_files.rs` covers the options, infinities and empty results.
pub(crate) const JSON: Primitive = Primitive {
    names: &["ndjson", "json"],
    options: Some((1, || JSON_OPTIONS)),
    check: None,
    register: |engine, run| {
        register_format(engine, run.clone(), "ndjson");
        register_format(engine, run, "json");
    },
};

/// ### `xlsx(rows, options)` and `xlsx([sheet(name, rows), ...], options)` → `File`
///
/// Writes an Excel workbook for staff: one sheet of `rows`, or one sheet per
/// `sheet(name, rows)` in the order given. The first row holds the column
/// names in bold and stays in view when the sheet scrolls; each column is as
/// wide as its longest value (up to 60 characters). Sheets are written in
/// constant memory: each row goes to a temporary file in the run's folder, so
/// a million-row sheet costs the memory of one row.
///
/// ```rhai
/// let students = query("live", "SELECT id, name, gpa, active, born, enrolled_at FROM student ORDER BY id");
/// let grades = query("live", "SELECT grade, count(*) AS students FROM student GROUP BY grade ORDER BY grade");
/// deliver(xlsx([sheet("Students", students), sheet("By grade", grades)], #{ name: "counselors" }), "staff");
/// ```
///
/// writes `counselors.xlsx` with the sheets `Students` and `By grade`. Cells
/// keep the database's types, so a counselor can sort and sum them:
///
/// | column | cell |
/// |---|---|
/// | integers, floats | numbers |
/// | exact decimals (NUMERIC, DECIMAL) | numbers shown with the database's places (`3.50` in format `0.00`) |
/// | booleans | TRUE / FALSE |
/// | dates | dates in format `yyyy-mm-dd` |
/// | timestamps | dates in format `yyyy-mm-dd hh:mm:ss` (a timestamp with a zone in UTC) |
/// | times | times in format `hh:mm:ss` |
/// | NULL | an empty cell |
/// | everything else (text, JSON, binary) | text, as the [table below](#how-values-are-written) writes it |
///
/// Where Excel would lose something, the value is text instead, with every
/// character the database gave: integers and decimals of more than 15
/// significant digits (Excel keeps 15), dates before 1900, NaN and the
/// infinities. Text is never a formula: `=cmd|' /C calc'!A0` is a string cell
/// that cannot run when the sheet is opened, so `xlsx()` needs no `formulas`
/// option.
///
/// | option | default | meaning |
/// |---|---|---|
/// | `sheet` | `"Sheet1"` | The name of the one sheet when the first argument is rows. |
/// | `header` | `true` | The bold, frozen row of column names. |
/// | `name`, `ext`, `append_date`, `on_empty`, `columns` | as for `csv` (`ext` `"xlsx"`) | `sheet` and `columns` are for one sheet of rows: with `sheet()` values, choose each sheet's columns in its query. An empty result is a sheet with only its header row. |
///
/// A sheet name must be 1 to 31 characters, without any of `[ ] : * ? / \`,
/// not start or end with `'`, not be `History` (Excel keeps it), and differ
/// from the other sheets' names ignoring case; `sheet()` and the `sheet`
/// option refuse other names with the rule broken. A value of more than 32,767
/// characters (an Excel cell's limit) or a sheet of more than 1,048,575 rows
/// stops the run, naming the row and column or the limit.
///
/// The server suite (`tests/servers/xlsx.rs`) runs this example on PostgreSQL
/// and reads the workbook with Python's openpyxl, checking each cell's value,
/// type and number format against `psql`; `tests/servers/xlsx_sqlite.rs`
/// covers the options, limits and errors on SQLite.
pub(crate) const XLSX: Primitive = Primitive {
    names: &["xlsx", "sheet"],
    options: Some((1, || XLSX_OPTIONS)),
    check: None,
    register: |engine, run| {
        register_format(engine, run, "xlsx");
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
    },
};

/// ### `html(rows, options)` → `File`
///
/// Writes a complete HTML5 document with one table: escaped values, NULL as an
/// empty cell, line breaks as `<br>`, numeric columns right-aligned. Characters
/// the charset cannot hold become numeric references (`&#233;`), which lose
/// nothing.
///
/// | option | default | meaning |
/// |---|---|---|
/// | `name`, `ext`, `append_date`, `on_empty`, `columns` | as for `csv` (`ext` `"html"`) | |
/// | `title` | the file name | The page title. |
/// | `header` | `true` | A header row of column names. |
/// | `charset` | `"utf-8"` | As for `csv`. |
pub(crate) const HTML: Primitive = Primitive {
    names: &["html"],
    options: Some((1, || HTML_OPTIONS)),
    check: None,
    register: |engine, run| register_format(engine, run, "html"),
};

/// ### `File` properties
///
/// `file.name`, `file.rows` (data rows), `file.bytes`, `file.sha256`.
///
/// `file.guard(#{ ... })` returns the file with its own safety checks, added to
/// the header's `[guards]` (same keys, `schema: "oneroster-1.1"` included; see
/// [safety](safety.md) and its [schema guards](safety.md#schema-guards)):
///
/// ```rhai
/// let staff = csv(query("live", "SELECT * FROM staff"), #{ name: "staff" });
/// deliver(staff.guard(#{ min_rows: 50, unique: ["staff_id"] }), "vendor");
/// ```
///
/// ```rhai
/// let f = csv(rows, #{ name: "roster" });
/// if f.rows < 100 { throw `only ${f.rows} rows: not sending`; }
/// deliver(f, "out");
/// ```
pub(crate) const FILE: Primitive = Primitive {
    names: &["guard", "included"],
    options: None,
    check: None,
    register: register_file,
};

/// Registers one format's function, with and without options.
fn register_format(engine: &mut Engine, run: Arc<RunContext>, format: &'static str) {
    let r = run.clone();
    engine.register_fn(format, move |ctx: NativeCallContext, input: Dynamic, opts: Map| {
        build(ctx, &r, input, &opts, format)
    });
    engine.register_fn(format, move |ctx: NativeCallContext, input: Dynamic| {
        build(ctx, &run, input, &Map::new(), format)
    });
}

/// Registers the `File` type with its getters, `file.guard()` and
/// `included()`.
fn register_file(engine: &mut Engine, run: Arc<RunContext>) {
    let r = run;
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
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_format_takes_only_options_its_serde_type_reads() {
        let fields = super::super::option_names::<FormatOptions>();
        for list in [CSV_OPTIONS, FIXED_OPTIONS, JSON_OPTIONS, XLSX_OPTIONS, HTML_OPTIONS] {
            for name in list {
                assert!(fields.contains(name), "{name} is not a field of FormatOptions");
            }
        }
        for field in fields {
            assert!(
                [CSV_OPTIONS, FIXED_OPTIONS, JSON_OPTIONS, XLSX_OPTIONS, HTML_OPTIONS]
                    .iter()
                    .any(|l| l.contains(field)),
                "no format takes {field}"
            );
        }
    }
}
