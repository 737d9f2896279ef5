//! The `//!` TOML header of a script → a validated [`JobSpec`].
//!
//! The header is the block of `//!` lines at the top of the file (blank lines
//! and ordinary `//` comments may come first). Errors point at the file line.

use std::time::Duration;

use serde::Deserialize;

use crate::location::line_of_offset;
use crate::schedule::Schedule;

/// A declared script parameter's default; its type is the type CLI
/// overrides are parsed as.
#[derive(Clone, Debug, PartialEq)]
pub enum ParamValue {
    /// `true` / `false`.
    Bool(bool),
    /// A whole number.
    Int(i64),
    /// A decimal number.
    Float(f64),
    Text(String),
}

impl ParamValue {
    /// The value as JSON, as history records it.
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            ParamValue::Bool(b) => (*b).into(),
            ParamValue::Int(i) => (*i).into(),
            ParamValue::Float(f) => serde_json::Number::from_f64(*f).map_or(serde_json::Value::Null, Into::into),
            ParamValue::Text(t) => t.as_str().into(),
        }
    }

    /// Parses `text` as the same type as `self`, for `--param name=value`.
    pub fn parse_like(&self, text: &str) -> Result<ParamValue, String> {
        Ok(match self {
            ParamValue::Bool(_) => match text.to_ascii_lowercase().as_str() {
                "true" | "yes" | "1" | "on" => ParamValue::Bool(true),
                "false" | "no" | "0" | "off" => ParamValue::Bool(false),
                _ => return Err(format!("'{text}' is not true or false")),
            },
            ParamValue::Int(_) => ParamValue::Int(text.parse().map_err(|_| format!("'{text}' is not a whole number"))?),
            ParamValue::Float(_) => ParamValue::Float(text.parse().map_err(|_| format!("'{text}' is not a number"))?),
            ParamValue::Text(_) => ParamValue::Text(text.to_string()),
        })
    }
}

/// What to do about occurrences missed while no `ferry serve` was running.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum CatchUp {
    /// Run the latest missed occurrence once, as soon as ferry is back: a
    /// nightly roster missed during a reboot should still reach the vendor,
    /// and older occurrences would only send stale copies.
    #[default]
    Latest,
    /// Record the miss and wait for the next occurrence.
    None,
}

/// What to do about an occurrence whose run was interrupted (ferry was
/// killed or stopped before the run ended).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Recovery {
    /// Run it again once, as soon as ferry is back, unless the interrupted
    /// run already got a file to a vendor or a newer occurrence has run: a
    /// roster killed half-way should still go out, but never twice.
    #[default]
    Rerun,
    /// Record it missed and wait for the next occurrence.
    None,
}

/// What a script's header declares.
#[derive(Clone, Debug, PartialEq)]
pub struct JobSpec {
    /// Display name (defaults to the file name without `.rhai`).
    pub name: String,
    /// When it runs on its own.
    pub schedule: Schedule,
    /// Its time zone; `None` means the configuration's.
    pub timezone: Option<chrono_tz::Tz>,
    /// The user group told when a run fails.
    pub notify: Option<String>,
    /// Loaded and runnable by hand, never scheduled.
    pub stopped: bool,
    /// Queries go to the `warehouse` database instead of `live`.
    pub use_warehouse: bool,
    /// The run's time limit; `None` means the configuration's default.
    pub timeout: Option<Duration>,
    /// Missed-occurrence policy.
    pub catch_up: CatchUp,
    /// Interrupted-occurrence policy.
    pub recovery: Recovery,
    /// Other scripts whose files this one bundles (the original tool's
    /// "Select Extracts to Include"): they are built first, not delivered,
    /// and handed to the script by `included()`.
    pub include: Vec<String>,
    /// Declared parameters with their defaults, in header order.
    pub params: Vec<(String, ParamValue)>,
    /// Roster safety checks every delivered file must pass (`[guards]`).
    pub guards: crate::guard::Guards,
}

/// A header problem at a line of the script file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct HeaderError {
    /// 1-based line in the script file.
    pub line: usize,
    /// What is wrong and what to do.
    pub message: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawHeader {
    name: Option<String>,
    schedule: Option<toml::Spanned<String>>,
    timezone: Option<toml::Spanned<String>>,
    notify: Option<String>,
    #[serde(default)]
    stopped: bool,
    #[serde(default)]
    use_warehouse: bool,
    timeout: Option<toml::Spanned<String>>,
    catch_up: Option<toml::Spanned<String>>,
    recovery: Option<toml::Spanned<String>>,
    #[serde(default)]
    include: Vec<String>,
    #[serde(default)]
    params: toml::Table,
    guards: Option<toml::Spanned<toml::Table>>,
}

/// The header text (prefixes removed, one line per file line so offsets map
/// back) and the file line it starts at; public so the console can show
/// the header apart from the code.
pub(crate) fn extract(source: &str) -> (String, usize) {
    let mut text = String::new();
    let mut first = 0;
    for (i, line) in source.lines().enumerate() {
        let t = line.trim_start();
        if let Some(rest) = t.strip_prefix("//!") {
            if first == 0 {
                first = i + 1;
            }
            text.push_str(rest.strip_prefix(' ').unwrap_or(rest));
            text.push('\n');
        } else if first == 0 && (t.is_empty() || t.starts_with("//")) {
            continue;
        } else {
            break;
        }
    }
    (text, first.max(1))
}

/// A key that takes one of two words, the first being the default;
/// `at` maps a header offset to its file line.
fn choice<T: Copy>(
    field: &Option<toml::Spanned<String>>,
    key: &str,
    options: [(&str, T); 2],
    at: &dyn Fn(usize) -> usize,
) -> Result<T, HeaderError> {
    let Some(c) = field else { return Ok(options[0].1) };
    options
        .iter()
        .find(|(word, _)| *word == c.get_ref())
        .map(|(_, v)| *v)
        .ok_or_else(|| HeaderError {
            line: at(c.span().start),
            message: format!(
                "header: {key} '{}' is not \"{}\" or \"{}\"",
                c.get_ref(),
                options[0].0,
                options[1].0
            ),
        })
}

/// The `notify` group of a header that may not load as a whole (a bad
/// schedule, a typo in another key, broken TOML elsewhere), so the people
/// who own a broken script can still be told about it.
pub(crate) fn notify_group(source: &str) -> Option<String> {
    let (text, _) = extract(source);
    let group = |table: &toml::Table| table.get("notify").and_then(|v| v.as_str()).map(str::to_string);
    if let Ok(table) = toml::from_str::<toml::Table>(&text) {
        return group(&table);
    }
    text.lines()
        .filter(|l| l.trim_start().starts_with("notify"))
        .find_map(|l| toml::from_str::<toml::Table>(l).ok().as_ref().and_then(group))
}

/// The database a literal name in a script means: under the header's
/// `use_warehouse`, `live` is the `warehouse` copy. One rule for the
/// load-time checks and the run, so both look at the same database.
pub(crate) fn database_for(use_warehouse: bool, name: &str) -> &str {
    if use_warehouse && name == "live" {
        "warehouse"
    } else {
        name
    }
}

/// Parses the header of `source`; `stem` is the default name.
pub(crate) fn parse(source: &str, stem: &str) -> Result<JobSpec, HeaderError> {
    let (text, first) = extract(source);
    let at = |offset: usize| first + line_of_offset(&text, offset) - 1;
    let raw: RawHeader = toml::from_str(&text).map_err(|e| HeaderError {
        line: e.span().map_or(first, |s| at(s.start)),
        message: format!("header: {}", e.message().trim_end()),
    })?;
    let schedule = match &raw.schedule {
        None => Schedule::None,
        Some(s) => s.get_ref().parse().map_err(|e| HeaderError {
            line: at(s.span().start),
            message: format!("header: schedule: {e}"),
        })?,
    };
    let timezone = match &raw.timezone {
        None => None,
        Some(tz) => Some(tz.get_ref().parse::<chrono_tz::Tz>().map_err(|_| HeaderError {
            line: at(tz.span().start),
            message: format!(
                "header: timezone '{}' is not an IANA time zone name (e.g. America/Chicago)",
                tz.get_ref()
            ),
        })?),
    };
    let timeout = match &raw.timeout {
        None => None,
        Some(t) => Some(humantime::parse_duration(t.get_ref()).map_err(|e| HeaderError {
            line: at(t.span().start),
            message: format!("header: timeout '{}' is not a duration like \"10m\": {e}", t.get_ref()),
        })?),
    };
    let catch_up = choice(
        &raw.catch_up,
        "catch_up",
        [("latest", CatchUp::Latest), ("none", CatchUp::None)],
        &at,
    )?;
    let recovery = choice(
        &raw.recovery,
        "recovery",
        [("rerun", Recovery::Rerun), ("none", Recovery::None)],
        &at,
    )?;
    let guards = match &raw.guards {
        None => crate::guard::Guards::default(),
        Some(t) => {
            let fail = |message: String| HeaderError {
                line: at(t.span().start),
                message: format!("header: [guards]: {message}"),
            };
            let g = crate::guard::Guards::deserialize(toml::Value::Table(t.get_ref().clone()))
                .map_err(|e| fail(e.message().to_string()))?;
            g.validate().map_err(fail)?;
            g
        }
    };
    let mut params = Vec::new();
    for (key, value) in raw.params {
        let v = match value {
            toml::Value::Boolean(b) => ParamValue::Bool(b),
            toml::Value::Integer(i) => ParamValue::Int(i),
            toml::Value::Float(f) => ParamValue::Float(f),
            toml::Value::String(s) => ParamValue::Text(s),
            other => {
                let offset = text.find(&format!("{key} ")).or_else(|| text.find(&key)).unwrap_or(0);
                return Err(HeaderError {
                    line: at(offset),
                    message: format!(
                        "header: parameter '{key}' is a {}; parameters are true/false, numbers or text",
                        other.type_str()
                    ),
                });
            }
        };
        params.push((key, v));
    }
    Ok(JobSpec {
        name: raw.name.unwrap_or_else(|| stem.to_string()),
        schedule,
        timezone,
        notify: raw.notify,
        stopped: raw.stopped,
        use_warehouse: raw.use_warehouse,
        timeout,
        catch_up,
        recovery,
        include: raw.include,
        params,
        guards,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"// leading comment

//! name        = "Nightly roster"
//! schedule    = "daily at 02:30"      # or weekly on mon at 06:00
//! timezone    = "America/Chicago"
//! notify      = "tech-admins"
//! timeout     = "5m"
//! [params]
//! include_ssn = false
//! limit = 10

let x = 1;
"#;

    #[test]
    fn full_header() {
        let spec = parse(GOOD, "roster").unwrap();
        assert_eq!(spec.name, "Nightly roster");
        assert_eq!(spec.schedule.to_string(), "daily at 02:30");
        assert_eq!(spec.timezone, Some(chrono_tz::America::Chicago));
        assert_eq!(spec.timeout, Some(Duration::from_secs(300)));
        assert_eq!(
            spec.params,
            vec![
                ("include_ssn".to_string(), ParamValue::Bool(false)),
                ("limit".to_string(), ParamValue::Int(10))
            ]
        );
        assert!(!spec.stopped);
    }

    #[test]
    fn no_header_means_defaults() {
        let spec = parse("let x = 1;\n", "plain").unwrap();
        assert_eq!(spec.name, "plain");
        assert_eq!(spec.schedule, Schedule::None);
    }

    #[test]
    fn errors_point_at_the_file_line() {
        let bad = GOOD.replace("daily at 02:30", "daily at 2:77");
        let e = parse(&bad, "r").unwrap_err();
        assert_eq!(e.line, 4);
        assert!(e.message.contains("'2:77' is not a time of day"), "{}", e.message);

        let bad = GOOD.replace("notify ", "notfy ");
        let e = parse(&bad, "r").unwrap_err();
        assert_eq!(e.line, 6);
        assert!(e.message.contains("unknown field `notfy`"), "{}", e.message);

        let bad = GOOD.replace("America/Chicago", "Mars/Olympus");
        assert_eq!(parse(&bad, "r").unwrap_err().line, 5);
        let bad = GOOD.replace("\"5m\"", "\"soon\"");
        assert_eq!(parse(&bad, "r").unwrap_err().line, 7);
    }

    #[test]
    fn two_word_keys_default_to_the_first_and_name_both_words() {
        let spec = parse("let x = 1;\n", "plain").unwrap();
        assert_eq!((spec.catch_up, spec.recovery), (CatchUp::Latest, Recovery::Rerun));
        let spec = parse("//! catch_up = \"none\"\n//! recovery = \"none\"\n", "r").unwrap();
        assert_eq!((spec.catch_up, spec.recovery), (CatchUp::None, Recovery::None));
        let e = parse("//! name = \"r\"\n//! recovery = \"again\"\n", "r").unwrap_err();
        assert_eq!(e.line, 2);
        assert_eq!(e.message, "header: recovery 'again' is not \"rerun\" or \"none\"");
        let e = parse("//! catch_up = \"all\"\n", "r").unwrap_err();
        assert_eq!(e.message, "header: catch_up 'all' is not \"latest\" or \"none\"");
    }

    #[test]
    fn cli_values_follow_the_declared_type() {
        assert_eq!(ParamValue::Bool(false).parse_like("true"), Ok(ParamValue::Bool(true)));
        assert!(ParamValue::Int(1).parse_like("x").is_err());
        assert_eq!(
            ParamValue::Text(String::new()).parse_like("x"),
            Ok(ParamValue::Text("x".into()))
        );
    }

    #[test]
    fn the_notify_group_is_read_from_a_header_that_does_not_load() {
        let bad_schedule = "//! schedule = \"every blue moon\"\n//! notify = \"tech\"\nlet x = 1;\n";
        assert!(parse(bad_schedule, "a").is_err());
        assert_eq!(notify_group(bad_schedule).as_deref(), Some("tech"));
        let broken_toml = "//! schedule = 'cron \"0 2 * * *\"\n//!   notify = \"office\"\n";
        assert!(parse(broken_toml, "a").is_err());
        assert_eq!(notify_group(broken_toml).as_deref(), Some("office"));
        assert_eq!(notify_group("//! schedule = \"none\"\n"), None);
    }
}
