//! Named parameters (`:name`) in SQL, rewritten to each database's
//! positional placeholders so values are always bound, never spliced.
//!
//! The scanner only needs to know where SQL text is *not* code: quoted
//! strings and identifiers, comments, PostgreSQL dollar quotes and `::` casts.

use std::collections::HashMap;

/// A value bound to a placeholder.
#[derive(Clone, Debug, PartialEq)]
pub enum Param {
    /// SQL NULL.
    Null,
    /// A boolean.
    Bool(bool),
    /// A whole number.
    Int(i64),
    /// A floating-point number.
    Float(f64),
    Text(String),
    /// A date: bound as a DATE where the database has one (PostgreSQL,
    /// MySQL) and as `YYYY-MM-DD` text in SQLite, so comparisons with date
    /// columns work everywhere.
    Date(chrono::NaiveDate),
}

/// Placeholder style of a database.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dialect {
    /// `?`, `'` strings with `''` escapes, `"` identifiers.
    Sqlite,
    /// `$1`, dollar-quoted strings and `::` casts.
    Postgres,
    /// `?`, backslash escapes in strings, backtick identifiers, `#` comments.
    MySql,
}

impl Dialect {
    /// The database's name, for messages.
    pub fn name(self) -> &'static str {
        match self {
            Dialect::Sqlite => "SQLite",
            Dialect::Postgres => "PostgreSQL",
            Dialect::MySql => "MySQL/MariaDB",
        }
    }
}

/// SQL with positional placeholders and the parameter names in bind order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rewritten {
    /// The SQL with `:name` replaced by the dialect's positional placeholders.
    pub sql: String,
    /// Names to bind, in order (PostgreSQL lists each name once).
    pub order: Vec<String>,
}

/// Rewrites `:name` placeholders for `dialect`.
pub fn rewrite(sql: &str, dialect: Dialect) -> Rewritten {
    let mut order: Vec<String> = Vec::new();
    let mut pg_index: HashMap<String, usize> = HashMap::new();
    let sql = replace_placeholders(sql, dialect, |name, out| {
        if dialect == Dialect::Postgres {
            let next = pg_index.len() + 1;
            let n = *pg_index.entry(name.to_string()).or_insert_with(|| {
                order.push(name.to_string());
                next
            });
            out.push('$');
            out.push_str(itoa::Buffer::new().format(n));
        } else {
            order.push(name.to_string());
            out.push('?');
        }
    });
    Rewritten { sql, order }
}

/// Copies `sql`, letting `place` write what stands for each `:name`
/// placeholder found outside strings, identifiers and comments.
pub(crate) fn replace_placeholders(sql: &str, dialect: Dialect, mut place: impl FnMut(&str, &mut String)) -> String {
    let b = sql.as_bytes();
    let mut out = String::with_capacity(sql.len() + 8);
    let mut i = 0;
    let mut copied = 0;
    while i < b.len() {
        let c = b[i];
        match c {
            b'\'' | b'"' | b'`' => i = skip_quoted(b, i, dialect),
            b'-' if b.get(i + 1) == Some(&b'-') => i = skip_line(b, i),
            b'#' if dialect == Dialect::MySql => i = skip_line(b, i),
            b'/' if b.get(i + 1) == Some(&b'*') => i = sql[i + 2..].find("*/").map_or(b.len(), |p| i + 2 + p + 2),
            b'$' if dialect == Dialect::Postgres => i = skip_dollar(sql, i),
            b':' if b.get(i + 1) == Some(&b':') => i += 2,
            b':' if b.get(i + 1).is_some_and(|&n| n == b'_' || n.is_ascii_alphabetic()) => {
                let start = i + 1;
                let mut end = start;
                while end < b.len() && (b[end] == b'_' || b[end].is_ascii_alphanumeric()) {
                    end += 1;
                }
                out.push_str(&sql[copied..i]);
                place(&sql[start..end], &mut out);
                copied = end;
                i = end;
            }
            _ => i += 1,
        }
    }
    out.push_str(&sql[copied..]);
    out
}

fn skip_line(b: &[u8], i: usize) -> usize {
    b[i..].iter().position(|&c| c == b'\n').map_or(b.len(), |p| i + p + 1)
}

fn skip_quoted(b: &[u8], start: usize, dialect: Dialect) -> usize {
    let q = b[start];
    let mut i = start + 1;
    while i < b.len() {
        if b[i] == b'\\' && q == b'\'' && dialect == Dialect::MySql {
            i += 2;
        } else if b[i] == q {
            if b.get(i + 1) == Some(&q) {
                i += 2;
            } else {
                return i + 1;
            }
        } else {
            i += 1;
        }
    }
    b.len()
}

fn skip_dollar(sql: &str, start: usize) -> usize {
    let rest = &sql[start + 1..];
    let tag_len = rest
        .bytes()
        .position(|c| !(c == b'_' || c.is_ascii_alphanumeric()))
        .unwrap_or(rest.len());
    if rest.as_bytes().get(tag_len) != Some(&b'$') || rest.as_bytes().first().is_some_and(u8::is_ascii_digit) {
        return start + 1;
    }
    let tag = &sql[start..start + tag_len + 2];
    let body = start + tag.len();
    sql[body..].find(tag).map_or(sql.len(), |p| body + p + tag.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn named_parameters_become_positional() {
        let r = rewrite("SELECT * FROM t WHERE a = :a AND b = :b OR a2 = :a", Dialect::Postgres);
        assert_eq!(r.sql, "SELECT * FROM t WHERE a = $1 AND b = $2 OR a2 = $1");
        assert_eq!(r.order, ["a", "b"]);
        let r = rewrite("SELECT * FROM t WHERE a = :a AND b = :b OR a2 = :a", Dialect::Sqlite);
        assert_eq!(r.sql, "SELECT * FROM t WHERE a = ? AND b = ? OR a2 = ?");
        assert_eq!(r.order, ["a", "b", "a"]);
    }

    #[test]
    fn strings_comments_casts_are_left_alone() {
        let sql = "SELECT ':no', \"x:no\", 'it''s :no', d::date, $$ :no $$, $t$ :no $t$ -- :no\n\
                   /* :no */ FROM t WHERE y = :yes";
        let r = rewrite(sql, Dialect::Postgres);
        assert_eq!(r.order, ["yes"]);
        assert!(r.sql.ends_with("y = $1") && r.sql.contains("d::date"), "{}", r.sql);
        let r = rewrite("SELECT 'a\\':no', `c:no` # :no\n, :yes", Dialect::MySql);
        assert_eq!(r.order, ["yes"]);
        assert_eq!(rewrite("SELECT $1, :a", Dialect::Postgres).order, ["a"]);
    }
}
