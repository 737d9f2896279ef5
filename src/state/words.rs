//! The console's and the run log's words: rights, log levels and script
//! changes. Like the ledger's words they are text only at the SQL and JSON
//! boundaries, so a misspelt word is a compile error, not a stored row.

use std::cmp::Ordering;
use std::fmt;

use super::status::words;

words! {
    /// What a console user may do. A closed set: each request checks one,
    /// so a typo in a check cannot silently let everybody through.
    ToolRight {
        /// See extracts, history and notifications.
        Read = "read",
        /// Edit a script, stop and start its schedule.
        Write = "write",
        /// Add a script.
        Add = "add",
        /// Delete a script.
        Delete = "delete",
        /// Run or test an extract.
        Run = "run",
        /// Manage users, groups, rights and tokens.
        ManageUsers = "manage_users",
    }
}

/// A right as stored and granted: one of the tool rights, or a data right
/// (`adhoc`, or one a sensitive field of the data model asks for, such as
/// `ssn`). Data rights are named by the district's `model.toml`, so they
/// cannot be variants; keeping them apart from tool rights means a request
/// check takes a [`ToolRight`] and cannot be handed a data right by mistake.
/// Whether a data right is known is checked against the model when it is
/// granted (`App::check_right`).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Right {
    /// A console right.
    Tool(ToolRight),
    /// A right the filter model names; never one of the tool words.
    Data(String),
}

impl Right {
    /// The right a stored word names: a tool right when it is one, a data
    /// right otherwise.
    pub fn parse(word: &str) -> Right {
        ToolRight::parse(word).map_or_else(|| Right::Data(word.to_string()), Right::Tool)
    }

    /// The stored word.
    pub fn as_str(&self) -> &str {
        match self {
            Right::Tool(t) => t.as_str(),
            Right::Data(d) => d,
        }
    }

    /// The words of a set of rights, for a JSON answer or a listing: the
    /// API documents rights as plain strings.
    pub fn words<'a>(rights: impl IntoIterator<Item = &'a Right>) -> Vec<String> {
        rights.into_iter().map(|r| r.as_str().to_string()).collect()
    }
}

impl From<ToolRight> for Right {
    fn from(t: ToolRight) -> Right {
        Right::Tool(t)
    }
}

/// Ordered by word, so a set of rights lists (and serialises) in the same
/// order as the stored text always did.
impl Ord for Right {
    fn cmp(&self, other: &Self) -> Ordering {
        self.as_str().cmp(other.as_str())
    }
}

impl PartialOrd for Right {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl fmt::Display for Right {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

impl serde::Serialize for Right {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl PartialEq<&str> for Right {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

words! {
    /// How serious a run log line is. Stored in `run_log.level`; the
    /// console and `ferry run` show every line that is not `info`.
    LogLevel {
        /// Progress: a file built, a delivery made.
        Info = "info",
        /// Something a person should read: a held file, an expiring key.
        Warn = "warn",
        /// What stopped the run.
        Error = "error",
    }
}

impl LogLevel {
    /// The level a stored word names. Lines written by versions that knew
    /// other words read as `info`, as they always did.
    pub fn stored(word: &str) -> LogLevel {
        LogLevel::parse(word).unwrap_or(LogLevel::Info)
    }
}

words! {
    /// What a person did to a script through the console, recorded in
    /// `script_changes` so history can say who changed what.
    ScriptAction {
        /// A new script was written.
        Created = "created",
        /// Its source was replaced.
        Edited = "edited",
        /// The file was removed (a copy is kept).
        Deleted = "deleted",
        /// Its scheduled runs were stopped.
        Stopped = "stopped",
        /// Its scheduled runs were started again.
        Started = "started",
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;
    use crate::state::{AdminAction, DeliveryState, Level, OccurrenceOutcome, RunStatus, Trigger};

    /// Every variant → word → the same variant, and no two variants share
    /// a word: the property the database relies on to read rows back.
    fn round_trips<T: Copy + PartialEq + fmt::Debug>(
        all: &[T],
        word: impl Fn(T) -> String,
        parse: impl Fn(&str) -> Option<T>,
    ) {
        let mut seen = BTreeSet::new();
        for v in all {
            let w = word(*v);
            assert!(!w.is_empty(), "{v:?} has no word");
            assert!(seen.insert(w.clone()), "two values of one type are stored as '{w}'");
            assert_eq!(parse(&w), Some(*v), "'{w}' does not read back as {v:?}");
        }
    }

    #[test]
    fn every_stored_word_round_trips() {
        round_trips(RunStatus::ALL, |v| v.to_string(), RunStatus::parse);
        round_trips(DeliveryState::ALL, |v| v.to_string(), DeliveryState::parse);
        round_trips(OccurrenceOutcome::ALL, |v| v.to_string(), OccurrenceOutcome::parse);
        round_trips(ToolRight::ALL, |v| v.to_string(), ToolRight::parse);
        round_trips(LogLevel::ALL, |v| v.to_string(), LogLevel::parse);
        round_trips(ScriptAction::ALL, |v| v.to_string(), ScriptAction::parse);
        round_trips(&AdminAction::ALL, |v| v.word().to_string(), AdminAction::parse);
        round_trips(&Level::ALL, |v| v.as_str().to_string(), |w| Some(Level::parse(w)));
        round_trips(&Trigger::ALL, |v| v.as_str().to_string(), Trigger::parse);
    }

    #[test]
    fn the_type_lists_are_complete() {
        // A variant missing from ALL would never be read back; matching
        // exhaustively here makes adding one without listing it fail.
        for s in RunStatus::ALL {
            match s {
                RunStatus::Running
                | RunStatus::Succeeded
                | RunStatus::Failed
                | RunStatus::Interrupted
                | RunStatus::Held
                | RunStatus::Released
                | RunStatus::Discarded
                | RunStatus::Superseded
                | RunStatus::Skipped
                | RunStatus::Missed => {}
            }
        }
        assert_eq!(RunStatus::ALL.len(), 10);
        assert_eq!(DeliveryState::ALL.len(), 9);
        assert_eq!(OccurrenceOutcome::ALL.len(), 6);
        assert_eq!(ToolRight::ALL.len(), 6);
        assert_eq!(LogLevel::ALL.len(), 3);
        assert_eq!(ScriptAction::ALL.len(), 5);
        assert_eq!(AdminAction::ALL.len(), 16);
        assert_eq!(Level::ALL.len(), 3);
        assert_eq!(Trigger::ALL.len(), 7);
    }

    /// The same property through a real store: what is written is what
    /// is read back, for every run status, log level, script change and
    /// right.
    #[tokio::test]
    async fn every_word_written_to_the_store_reads_back() {
        use crate::state::record::LogLine;
        use crate::state::{temp_store, NewRun, Outcome, StartedBy};

        let (_d, s) = temp_store().await;
        for status in [
            RunStatus::Succeeded,
            RunStatus::Failed,
            RunStatus::Interrupted,
            RunStatus::Held,
        ] {
            let new = NewRun {
                script: "roster",
                path: "scripts/roster.rhai",
                hash: "h",
                trigger: Trigger::Manual,
                occurrence: None,
                instance: None,
                resend_of: None,
                recovers: None,
                started_by: &StartedBy::Schedule,
                params: &[],
            };
            let id = s.start_run(&new).await.unwrap();
            let log: Vec<LogLine> = LogLevel::ALL
                .iter()
                .map(|level| LogLine {
                    at: chrono::Utc::now(),
                    level: *level,
                    message: format!("a {level} line"),
                })
                .collect();
            let outcome = Outcome {
                status,
                error: None,
                files: &[],
                kept: false,
                deliveries: &[],
                log: &log,
            };
            s.finish_run(id, &outcome).await.unwrap();
            let (row, _, read) = s.run(id).await.unwrap();
            assert_eq!(row.status, status);
            let levels: Vec<LogLevel> = read.iter().map(|l| l.level).collect();
            assert_eq!(levels, LogLevel::ALL);
        }

        for action in ScriptAction::ALL {
            s.record_script_change("roster", "ann", *action, None, None)
                .await
                .unwrap();
        }
        let mut read: Vec<ScriptAction> = s
            .script_changes(Some("roster"), 10)
            .await
            .unwrap()
            .iter()
            .map(|c| c.action)
            .collect();
        read.reverse();
        assert_eq!(read, ScriptAction::ALL);

        s.add_user("ann", None, None).await.unwrap();
        let mut granted: BTreeSet<Right> = ToolRight::ALL.iter().map(|t| Right::Tool(*t)).collect();
        granted.insert(Right::Data("ssn".into()));
        for r in &granted {
            s.grant("ann", r.as_str()).await.unwrap();
        }
        assert_eq!(s.tool_rights("ann").await.unwrap(), granted);
    }

    #[test]
    fn rights_are_tool_rights_or_data_rights_and_sort_by_word() {
        for t in ToolRight::ALL {
            assert_eq!(Right::parse(t.as_str()), Right::Tool(*t));
        }
        assert_eq!(Right::parse("ssn"), Right::Data("ssn".into()));
        assert_eq!(Right::parse("adhoc").as_str(), "adhoc");
        let set: BTreeSet<Right> = ["write", "ssn", "manage_users", "adhoc", "read"]
            .map(Right::parse)
            .into();
        let words: Vec<&str> = set.iter().map(Right::as_str).collect();
        assert_eq!(words, ["adhoc", "manage_users", "read", "ssn", "write"]);
        assert_eq!(
            serde_json::to_string(&set).unwrap(),
            r#"["adhoc","manage_users","read","ssn","write"]"#
        );
    }

    #[test]
    fn unknown_words_are_refused_or_read_as_before() {
        let e = "renamed".parse::<ScriptAction>().unwrap_err();
        assert!(e.contains("created, edited, deleted, stopped, started"), "{e}");
        assert_eq!(LogLevel::stored("debug"), LogLevel::Info);
        assert_eq!(format!("{:5}|", LogLevel::Warn), "warn |");
    }
}
