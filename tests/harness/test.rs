//! A fluent builder for tests of the `ferry` program, in the style of the
//! `just` project's tests: a test states the project, the command and what
//! must hold, and one failed expectation prints everything needed to see why
//! (the command, its exit code, stdout and stderr), not only the line that
//! failed.
//!
//! ```ignore
//! Test::new()
//!     .sqlite("CREATE TABLE people (id INTEGER, name TEXT); INSERT INTO people VALUES (1, 'Ann');")
//!     .script("roster", "deliver(csv(query(\"live\", \"SELECT id, name FROM people\")), \"out\");\n")
//!     .args(&["run", "roster"])
//!     .stdout_has("run 1 roster: succeeded")
//!     .file("out/roster.csv", "id,name\r\n1,Ann\r\n")
//!     .run();
//! ```
//!
//! `run` gives back the project and what the program printed, for the
//! checks a builder cannot state; `then` goes on in the same project.

use super::{Output, Project};

/// One `ferry` command in a project, and what must hold after it.
#[must_use = "a Test does nothing until .run()"]
pub struct Test {
    project: Project,
    args: Vec<String>,
    code: i32,
    stdout: Option<String>,
    stdout_has: Vec<String>,
    stdout_lacks: Vec<String>,
    stderr_has: Vec<String>,
    stderr_lacks: Vec<String>,
    files: Vec<(String, String)>,
    dirs: Vec<(String, Vec<String>)>,
    trees: Vec<(String, Vec<String>)>,
}

/// What a `Test` ran: its project (for further commands or checks) and the
/// program's output.
pub struct Ran {
    pub project: Project,
    pub output: Output,
}

impl Test {
    /// A command in a fresh [`Project::new`]: a `live` SQLite database and
    /// an `out` folder destination. Expects exit code 0 unless told.
    pub fn new() -> Self {
        Self::in_project(Project::new())
    }

    /// A command in an existing project.
    pub fn in_project(project: Project) -> Self {
        Test {
            project,
            args: Vec::new(),
            code: 0,
            stdout: None,
            stdout_has: Vec::new(),
            stdout_lacks: Vec::new(),
            stderr_has: Vec::new(),
            stderr_lacks: Vec::new(),
            files: Vec::new(),
            dirs: Vec::new(),
            trees: Vec::new(),
        }
    }

    /// Runs SQL statements against the project's fixture.db.
    pub fn sqlite(self, sql: &str) -> Self {
        self.project.sqlite(sql);
        self
    }

    /// Writes scripts/NAME.rhai.
    pub fn script(self, name: &str, source: &str) -> Self {
        self.project.script(name, source);
        self
    }

    /// Replaces ferry.toml.
    pub fn config(self, toml: &str) -> Self {
        self.project.config(toml);
        self
    }

    /// Puts top-level settings (`key = value` lines) at the head of ferry.toml.
    pub fn settings_head(self, lines: &str) -> Self {
        self.project.settings_head(lines);
        self
    }

    /// The command line after `ferry`.
    pub fn args(mut self, args: &[&str]) -> Self {
        self.args = args.iter().map(std::string::ToString::to_string).collect();
        self
    }

    /// The exit code expected (0 unless told).
    pub fn code(mut self, code: i32) -> Self {
        self.code = code;
        self
    }

    /// stdout must be exactly this.
    pub fn stdout(mut self, text: &str) -> Self {
        self.stdout = Some(text.to_string());
        self
    }

    /// stdout must contain this.
    pub fn stdout_has(mut self, text: &str) -> Self {
        self.stdout_has.push(text.to_string());
        self
    }

    /// stdout must not contain this.
    pub fn stdout_lacks(mut self, text: &str) -> Self {
        self.stdout_lacks.push(text.to_string());
        self
    }

    /// stderr must contain this.
    pub fn stderr_has(mut self, text: &str) -> Self {
        self.stderr_has.push(text.to_string());
        self
    }

    /// stderr must not contain this.
    pub fn stderr_lacks(mut self, text: &str) -> Self {
        self.stderr_lacks.push(text.to_string());
        self
    }

    /// The project file `rel` must hold exactly `content` afterwards.
    pub fn file(mut self, rel: &str, content: &str) -> Self {
        self.files.push((rel.to_string(), content.to_string()));
        self
    }

    /// The entries directly in folder `rel` (files and folders, sorted) must
    /// be exactly `names`; a missing folder has none.
    pub fn dir(mut self, rel: &str, names: &[&str]) -> Self {
        self.dirs.push((
            rel.to_string(),
            names.iter().map(std::string::ToString::to_string).collect(),
        ));
        self
    }

    /// Every file below folder `rel`, as sorted paths relative to it, must
    /// be exactly `paths`.
    pub fn tree(mut self, rel: &str, paths: &[&str]) -> Self {
        self.trees.push((
            rel.to_string(),
            paths.iter().map(std::string::ToString::to_string).collect(),
        ));
        self
    }

    /// Runs the command and checks every expectation, reporting all that
    /// failed at once.
    #[track_caller]
    pub fn run(self) -> Ran {
        let args: Vec<&str> = self.args.iter().map(String::as_str).collect();
        let output = self.project.ferry(&args);
        let mut failed = Vec::new();
        if output.code != self.code {
            failed.push(format!("exit code {} (expected {})", output.code, self.code));
        }
        if let Some(want) = &self.stdout {
            if &output.stdout != want {
                failed.push(format!("stdout is not exactly:\n{want}"));
            }
        }
        let streams = [
            ("stdout", &output.stdout, &self.stdout_has, true),
            ("stdout", &output.stdout, &self.stdout_lacks, false),
            ("stderr", &output.stderr, &self.stderr_has, true),
            ("stderr", &output.stderr, &self.stderr_lacks, false),
        ];
        for (name, text, wants, present) in streams {
            for want in wants {
                if text.contains(want.as_str()) != present {
                    let verb = if present { "lacks" } else { "has" };
                    failed.push(format!("{name} {verb} {want:?}"));
                }
            }
        }
        for (rel, want) in &self.files {
            match std::fs::read_to_string(self.project.path(rel)) {
                Ok(got) if &got == want => {}
                Ok(got) => failed.push(format!("{rel} holds {got:?}, expected {want:?}")),
                Err(e) => failed.push(format!("{rel} cannot be read ({e}), expected {want:?}")),
            }
        }
        for (rel, want) in &self.dirs {
            let got = self.project.files(rel);
            if &got != want {
                failed.push(format!("folder {rel} holds {got:?}, expected {want:?}"));
            }
        }
        for (rel, want) in &self.trees {
            let got = self.project.all_files(rel);
            if &got != want {
                failed.push(format!("below {rel}: {got:?}, expected {want:?}"));
            }
        }
        assert!(
            failed.is_empty(),
            "`ferry {}` in {}:\n- {}\nexit code: {}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.args.join(" "),
            self.project.dir.path().display(),
            failed.join("\n- "),
            output.code,
            output.stdout,
            output.stderr,
        );
        Ran {
            project: self.project,
            output,
        }
    }
}

impl Ran {
    /// Another command in the same project.
    pub fn then(self) -> Test {
        Test::in_project(self.project)
    }

    /// What the command printed on stdout.
    pub fn stdout(&self) -> &str {
        &self.output.stdout
    }
}
