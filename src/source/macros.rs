//! The parts of streaming a result that are the same for every sqlx driver
//! but cannot be written as one generic function without naming each
//! driver's lifetimes: binding values in order and the decode loop.

/// Binds `values` (a `Vec<Param>`) in order onto a prepared statement's query.
macro_rules! bind_params {
    ($stmt:expr, $values:expr) => {{
        let mut q = $stmt.query();
        for v in $values {
            q = match v {
                Param::Null => q.bind(None::<String>),
                Param::Bool(b) => q.bind(b),
                Param::Int(i) => q.bind(i),
                Param::Float(f) => q.bind(f),
                Param::Text(s) => q.bind(s),
                Param::Date(d) => q.bind(d),
            };
        }
        q
    }};
}

/// Renders every row of `rows` into `out`, each column by its decoder
/// through `render(decoder, raw value, text buffer)`.
macro_rules! stream_rows {
    ($rows:expr, $decoders:expr, $names:expr, $out:expr, $render:expr) => {{
        let mut rows = $rows;
        while let Some(row) = rows.try_next().await.map_err(SourceError::query)? {
            let batch = $out.batch();
            for (i, d) in $decoders.iter().enumerate() {
                let raw = row.try_get_raw(i).map_err(SourceError::query)?;
                if raw.is_null() {
                    batch.push_null();
                    continue;
                }
                $render(*d, raw, batch.text()).map_err(|e| SourceError::unreadable($names, i, e))?;
                batch.end_cell();
            }
            $out.row_done().await?;
        }
    }};
}
