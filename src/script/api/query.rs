//! `query(db, sql, params)`: a lazy handle on a query's rows, and what a
//! script can do with it (`map`, `to_array`). Nothing runs until a format
//! primitive or `to_array` pulls the rows.

use super::Primitive;
use std::sync::Arc;

use rhai::{Array, Dynamic, Engine, FnPtr, Map, NativeCallContext, Position, INT};

use crate::run::context::RunContext;
use crate::script::engine::{runtime_error, MAX_ARRAY_SIZE};
use crate::source::{render, Batch, Column, Kind, Param, Query, Row, RowStream, StreamError};

type Res<T> = Result<T, Box<rhai::EvalAltResult>>;

/// The rows of a query, not yet fetched. Cheap to clone.
#[derive(Clone)]
pub(crate) struct Rows {
    spec: Arc<RowsSpec>,
}

struct RowsSpec {
    db: String,
    query: Query,
    pos: Position,
    maps: Vec<FnPtr>,
    limit: Option<Limit>,
}

/// A time limit of its own for one query (an ad hoc filter's five minutes),
/// inside the run's.
#[derive(Clone)]
pub(crate) struct Limit {
    /// How long the query may take.
    pub after: std::time::Duration,
    /// What to say when it does not finish in time.
    pub message: String,
}

pub(crate) fn to_param(name: &str, v: &Dynamic, pos: Position) -> Res<Param> {
    if v.is_unit() {
        Ok(Param::Null)
    } else if let Some(b) = v.clone().try_cast::<bool>() {
        Ok(Param::Bool(b))
    } else if let Some(i) = v.clone().try_cast::<INT>() {
        Ok(Param::Int(i))
    } else if let Some(f) = v.clone().try_cast::<rhai::FLOAT>() {
        Ok(Param::Float(f))
    } else if v.is_string() {
        Ok(Param::Text(v.to_string()))
    } else {
        Err(runtime_error(
            format!(
                "query parameter '{name}' is a {}; parameters must be text, numbers, true/false or ()",
                v.type_name()
            ),
            pos,
        ))
    }
}

/// The run must stop (time limit or cancel): the same message wherever it
/// is noticed.
fn stopped(run: &RunContext, pos: Position) -> Box<rhai::EvalAltResult> {
    let reason = run
        .stop_reason()
        .unwrap_or_else(|| format!("the run's time limit of {} passed", run.timeout_text));
    rhai::EvalAltResult::ErrorTerminated(reason.into(), pos).into()
}

/// The columns and stream of a started query.
pub(crate) struct Started {
    pub stream: RowStream,
    pub columns: Vec<Column>,
    pub maps: Vec<FnPtr>,
    pub pos: Position,
    deadline: std::time::Instant,
    limit: Option<String>,
}

impl Rows {
    /// Runs the query and waits for its columns.
    pub(crate) fn start(&self, run: &RunContext) -> Res<Started> {
        let spec = &self.spec;
        let db = run.database_name(&spec.db).to_string();
        let fail = |e: String| runtime_error(format!("query on database '{db}' failed: {e}"), spec.pos);
        if run.use_warehouse && db == "warehouse" && !run.databases.contains("warehouse") {
            return Err(runtime_error(
                "the header says use_warehouse = true but ferry.toml has no [databases.warehouse]",
                spec.pos,
            ));
        }
        let source = run
            .runtime
            .block_on(run.databases.get(&db))
            .map_err(|e| runtime_error(e.to_string(), spec.pos))?;
        let query = spec.query.clone();
        let stream = RowStream::spawn(move |mut tx| {
            Box::pin(async move {
                source.stream(&query, &mut tx).await?;
                tx.finish().await
            })
        })
        .cancelled_by(run.cancel.clone());
        let own = spec
            .limit
            .as_ref()
            .map(|l| (std::time::Instant::now() + l.after, l.message.clone()));
        let deadline = match &own {
            Some((at, _)) if *at < run.deadline => *at,
            _ => run.deadline,
        };
        let mut started = Started {
            stream,
            columns: Vec::new(),
            maps: spec.maps.clone(),
            pos: spec.pos,
            deadline,
            limit: own.filter(|(at, _)| *at < run.deadline).map(|(_, m)| m),
        };
        started.columns = match run.runtime.block_on(started.stream.start(Some(deadline))) {
            Ok(c) => c.to_vec(),
            Err(StreamError::Deadline | StreamError::Cancelled) => return Err(started.stopped(run)),
            Err(e) => return Err(fail(e.to_string())),
        };
        Ok(started)
    }

    /// Rows from a compiled query with a time limit of their own.
    pub(crate) fn limited(db: &str, query: Query, pos: Position, limit: Limit) -> Rows {
        Rows {
            spec: Arc::new(RowsSpec {
                db: db.to_string(),
                query,
                pos,
                maps: Vec::new(),
                limit: Some(limit),
            }),
        }
    }
}

impl Started {
    /// The query's own limit passed, or the run must stop.
    fn stopped(&self, run: &RunContext) -> Box<rhai::EvalAltResult> {
        match &self.limit {
            Some(m) if run.stop_reason().is_none() => runtime_error(m.clone(), self.pos),
            _ => stopped(run, self.pos),
        }
    }

    /// The next batch of source rows, failing at the query's position.
    pub(crate) fn next(&mut self, run: &RunContext) -> Res<Option<Batch>> {
        if run.stop_reason().is_some() || std::time::Instant::now() >= self.deadline {
            return Err(self.stopped(run));
        }
        run.runtime
            .block_on(self.stream.next_batch(Some(self.deadline)))
            .map_err(|e| match e {
                StreamError::Deadline | StreamError::Cancelled => self.stopped(run),
                e => runtime_error(format!("query failed while reading rows: {e}"), self.pos),
            })
    }
}

/// Builds the object maps a script sees for a query's rows: numbers and
/// booleans typed, NULL as (). The map's keys are fixed per query, so each row
/// clones a ready-made map and fills its values in key order instead of
/// inserting (and comparing) every column name again. A map the closure hands
/// back with the same keys (the usual `|r| { r.x = ..; r }`) is recycled for
/// the next row: no tree to build, and a text value whose string nobody else
/// holds is overwritten in place instead of allocating a new one.
pub(crate) struct RowMaps {
    template: Map,
    /// For each map entry, in key order: the column whose value it holds (the
    /// last one of that name, as inserting would give) and its kind.
    order: Vec<(usize, Kind)>,
    /// A written row's map with exactly the template's keys, to refill.
    spare: Option<Map>,
}

impl RowMaps {
    /// The template for `columns`.
    pub(crate) fn new(columns: &[Column]) -> Self {
        let mut template = Map::new();
        for c in columns {
            template.insert(c.name.as_str().into(), Dynamic::UNIT);
        }
        let order = template
            .keys()
            .map(|k| {
                let i = columns
                    .iter()
                    .rposition(|c| c.name == k.as_str())
                    .expect("every key comes from a column");
                (i, columns[i].kind)
            })
            .collect();
        RowMaps {
            template,
            order,
            spare: None,
        }
    }

    /// The map for one row.
    pub(crate) fn map(&mut self, row: Row<'_>) -> Map {
        let mut map = self.spare.take().unwrap_or_else(|| self.template.clone());
        for (slot, &(i, kind)) in map.values_mut().zip(&self.order) {
            let Some(s) = row.get(i) else {
                *slot = Dynamic::UNIT;
                continue;
            };
            match kind {
                Kind::Integer => match s.parse::<INT>() {
                    Ok(n) => *slot = Dynamic::from(n),
                    Err(_) => set_text(slot, s),
                },
                Kind::Float => match s.parse::<rhai::FLOAT>() {
                    Ok(f) => *slot = Dynamic::from(f),
                    Err(_) => set_text(slot, s),
                },
                Kind::Boolean => *slot = Dynamic::from(s == "true"),
                _ => set_text(slot, s),
            }
        }
        map
    }

    /// True when the template's keys are `names` (in key order): then a map
    /// whose keys are exactly those names can be refilled by [`reuse`].
    ///
    /// [`reuse`]: RowMaps::reuse
    pub(crate) fn has_keys<'a>(&self, names: impl ExactSizeIterator<Item = &'a str>) -> bool {
        names.len() == self.template.len() && self.template.keys().zip(names).all(|(k, n)| k.as_str() == n)
    }

    /// Takes back a written row's map to refill for the next row. The caller
    /// has checked that its keys are exactly the template's (a closure may
    /// have added, removed or renamed keys; such a map is simply dropped).
    pub(crate) fn reuse(&mut self, map: Map) {
        debug_assert!(map.keys().eq(self.template.keys()));
        self.spare = Some(map);
    }
}

/// Puts text into a map slot, reusing the slot's string when it is a plain
/// text value that nothing else refers to (a script may have kept the row or
/// the value, tagged it or shared it with a closure: then a new string).
fn set_text(slot: &mut Dynamic, s: &str) {
    if slot.is_string() && !slot.is_shared() && slot.tag() == 0 && !slot.is_read_only() {
        if let Some(mut text) = slot.write_lock::<rhai::ImmutableString>() {
            if let Some(t) = text.get_mut() {
                t.clear();
                t.push_str(s);
                return;
            }
        }
    }
    *slot = s.into();
}

/// Appends a script value as one cell: () is NULL.
pub(crate) fn push_dynamic(batch: &mut Batch, v: &Dynamic) {
    if v.is_unit() {
        batch.push_null();
        return;
    }
    if let Some(s) = v.read_lock::<rhai::ImmutableString>() {
        batch.push_str(&s);
    } else if let Ok(i) = v.as_int() {
        render::int(batch.text(), i);
    } else if let Ok(f) = v.as_float() {
        render::float(batch.text(), f);
    } else if let Ok(b) = v.as_bool() {
        render::boolean(batch.text(), b);
    } else {
        batch.push_str(&v.to_string());
    }
    batch.end_cell();
}

/// Output columns of mapped rows: the source's order for names still present,
/// then new names alphabetically (script maps do not keep insertion order),
/// typed by their first value.
pub(crate) fn columns_of_map(source: &[Column], map: &Map) -> Vec<Column> {
    let mut cols: Vec<Column> = source
        .iter()
        .filter(|c| map.contains_key(c.name.as_str()))
        .cloned()
        .collect();
    for (k, v) in map {
        if !source.iter().any(|c| c.name == k.as_str()) {
            cols.push(Column::new(k.as_str(), kind_of(v)));
        }
    }
    cols
}

/// The kind of a column a script computed, from its first row's value, so
/// a number the script made stays a number in JSON and right-aligned in
/// HTML.
fn kind_of(v: &Dynamic) -> Kind {
    if v.is_int() {
        Kind::Integer
    } else if v.is_float() {
        Kind::Float
    } else if v.is_bool() {
        Kind::Boolean
    } else {
        Kind::Text
    }
}

/// Applies the script's `map` closures to a row; `None` drops the row.
pub(crate) fn apply_maps(ctx: &NativeCallContext, maps: &[FnPtr], mut row: Map, pos: Position) -> Res<Option<Map>> {
    for f in maps {
        // Passed as a Dynamic: a bare Map would be rebuilt entry by entry on the way in.
        let out: Dynamic = f.call_within_context(ctx, (Dynamic::from_map(row),))?;
        if out.is_unit() {
            return Ok(None);
        }
        row = out.try_cast::<Map>().ok_or_else(|| {
            runtime_error(
                "the rows.map closure must return an object map, or () to drop the row",
                pos,
            )
        })?;
    }
    Ok(Some(row))
}

fn to_array(ctx: NativeCallContext, rows: &mut Rows, run: &RunContext) -> Res<Array> {
    let mut started = rows.start(run)?;
    let mut out = Array::new();
    let mut maps = RowMaps::new(&started.columns);
    while let Some(batch) = started.next(run)? {
        for row in batch.rows() {
            let map = maps.map(row);
            if let Some(m) = apply_maps(&ctx, &started.maps, map, ctx.call_position())? {
                if out.len() >= MAX_ARRAY_SIZE {
                    return Err(runtime_error(
                        format!("to_array() is for small results: more than {MAX_ARRAY_SIZE} rows; write them with csv() instead"),
                        ctx.call_position(),
                    ));
                }
                out.push(m.into());
            }
        }
        started.stream.recycle(batch);
    }
    Ok(out)
}

/// ### `query(db, sql)` / `query(db, sql, params)`
///
/// Returns the rows of a query as a lazy handle: nothing runs until a format
/// (`csv`, `html`) or `to_array` pulls the rows.
///
/// - `db` is a database name from ferry.toml (`"live"`). A literal name that is
///   not configured is reported when the script is loaded.
/// - `sql` uses `:name` placeholders; `params` is a map of their values (text,
///   numbers, `true`/`false`, or `()` for NULL). Values are always bound, never
///   pasted into the SQL, so `#{ name: "O'Brien" }` is safe. A placeholder with
///   no value is an error naming it. `::` casts, quoted text and comments are
///   left alone.
/// - PostgreSQL types parameters by their value (bigint, double precision,
///   boolean, text): compare text with a date by casting in SQL,
///   `WHERE start_date >= :since::date`.
/// - **A query only reads**, in two layers. First, before anything is sent,
///   the SQL is parsed in the database's dialect and refused unless it is one
///   read statement: `SELECT`, `WITH ... SELECT`, `VALUES`, a `SHOW`, or
///   `EXPLAIN` without `ANALYZE`. `DROP`, `TRUNCATE`, `ALTER`, `RENAME`,
///   `CREATE`, `INSERT`, `UPDATE`, `DELETE`, `CALL`, two statements in one
///   string, a write inside a `WITH`, `SELECT ... INTO` and `FOR UPDATE` are
///   refused with the statement's kind (`w.rhai:2: ... the SQL is a DROP TABLE:
///   a query only reads, so ferry did not send it to the database`); SQL the
///   parser cannot read is refused with its message. This matters most on
///   MariaDB, which commits DDL on its own whatever the transaction. Second,
///   the query runs in a **read-only transaction** (SQLite: a read-only
///   connection), which refuses what a function call might still write
///   (`SELECT nextval('seq')`). A statement that returns no result set is an
///   error, never an empty file.
/// - Errors (unknown table, bad column, connection refused) are reported with the
///   line of the `query` call.
///
/// Rows are streamed: the database cursor feeds the file writer in batches, so
/// memory stays flat however many rows the query returns.
pub(crate) const QUERY: Primitive = Primitive {
    names: &["query"],
    options: None,
    check: Some(|call| {
        call.uses.methods.insert("SQL");
        match call.literal(0).map(str::to_string) {
            Some(db) => call.database(&db),
            None => Ok(()),
        }
    }),
    register,
};

/// ### `rows.map(|row| ...)`
///
/// Per-row logic. The closure receives each row as an object map (integers,
/// decimals-as-text, floats, booleans typed; NULL as `()`) and returns:
///
/// - a map: the row to write. Columns keep the query's order for fields still
///   present, then new fields in alphabetical order (Rhai maps do not keep
///   insertion order); use the `columns` option of `csv`/`html` to choose the
///   order;
/// - `()`: the row is dropped.
///
/// ```rhai
/// let users = query("live", "SELECT person_id, first_name, last_name FROM student")
///     .map(|r| #{ id: r.person_id, login: (r.first_name.sub_string(0, 1) + r.last_name).to_lower() });
/// csv(users, #{ name: "users", columns: ["id", "login"] });
/// ```
///
/// Every row must produce the same fields as the first (a missing field is
/// written as empty; an extra one is an error) unless `columns` is given. The
/// closure runs once per row, so it costs script time; plain `query` → `csv`
/// does not run any script code per row.
pub(crate) const MAP: Primitive = Primitive {
    names: &["map"],
    options: None,
    check: None,
    register: register_map,
};

/// ### `rows.to_array()`
///
/// Runs the query and returns all rows as an array of maps, for small results
/// (lookups, counts, checks). Limited to 1,000,000 rows; use `csv` for more.
/// An array of maps can itself be written with `csv`/`html`.
pub(crate) const TO_ARRAY: Primitive = Primitive {
    names: &["to_array"],
    options: None,
    check: None,
    register: register_to_array,
};

/// Registers `query` and the `Rows` type it returns.
fn register(engine: &mut Engine, _run: Arc<RunContext>) {
    engine.register_type_with_name::<Rows>("Rows");
    let make = |ctx: &NativeCallContext, db: &str, sql: &str, params: Map| -> Res<Rows> {
        let pos = ctx.call_position();
        let params = params
            .iter()
            .map(|(k, v)| Ok((k.to_string(), to_param(k, v, pos)?)))
            .collect::<Res<_>>()?;
        Ok(Rows {
            spec: Arc::new(RowsSpec {
                db: db.to_string(),
                query: Query {
                    sql: sql.to_string(),
                    params,
                },
                pos,
                maps: Vec::new(),
                limit: None,
            }),
        })
    };
    engine.register_fn(
        "query",
        move |ctx: NativeCallContext, db: &str, sql: &str, params: Map| make(&ctx, db, sql, params),
    );
    engine.register_fn("query", move |ctx: NativeCallContext, db: &str, sql: &str| {
        make(&ctx, db, sql, Map::new())
    });
}

fn register_map(engine: &mut Engine, _run: Arc<RunContext>) {
    engine.register_fn("map", |rows: &mut Rows, f: FnPtr| {
        let mut maps = rows.spec.maps.clone();
        maps.push(f);
        Rows {
            spec: Arc::new(RowsSpec {
                db: rows.spec.db.clone(),
                query: rows.spec.query.clone(),
                pos: rows.spec.pos,
                maps,
                limit: rows.spec.limit.clone(),
            }),
        }
    });
}

fn register_to_array(engine: &mut Engine, run: Arc<RunContext>) {
    engine.register_fn("to_array", move |ctx: NativeCallContext, rows: &mut Rows| {
        to_array(ctx, rows, &run)
    });
}
