//! Every ```rhai block of docs/scripting.md runs, as written, with the
//! `ferry` binary, in a project of its own, and writes what the docs say.
//!
//! The blocks are found by reading the file, so a new example is run as soon
//! as it is written. Each block runs in a fresh project holding everything
//! the examples name: a SQLite `live` database with their tables, a local
//! folder for each destination they deliver to, PGP keys when a block
//! encrypts or signs, a local HTTP server when it fetches a report, an SFTP
//! server when it delivers over SFTP, and the `env:` secrets they read.
//!
//! Three things adapt a block, each in a list below that the test keeps
//! honest (an entry that no longer matches a block fails the test):
//!
//! - a fragment that uses a variable it does not define gets a prelude
//!   defining it (`PRELUDE`), chosen by one rule: a name of `PRELUDE` that
//!   the block uses outside strings and comments, and never binds with
//!   `let`, is defined by its line, prepended in `PRELUDE`'s order;
//! - an address that must point at the test's own server is rewritten
//!   (`REWRITES`), and nothing else in the text changes;
//! - a block that cannot run at all is skipped with its reason (`SKIPPED`,
//!   empty today: keep it that way where a prelude can complete a block).
//!
//! What a block must produce is listed by its heading in `EXPECTED`; a block
//! with no entry there fails the test, so a new example comes with its
//! check. Every block is also held to the generic rule that its run succeeds
//! and every file it delivers arrives at its destination.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use regex::Regex;

use crate::harness::sftp_server::{Options, SftpServer};
use crate::harness::{python_csv, python_xlsx, repo, Output, Project};

/// Definitions for the free variables of fragments, in the order they are
/// prepended. `roster` is the fixture's table of 120 people.
const PRELUDE: &[(&str, &str)] = &[
    (
        "rows",
        r#"let rows = query("live", "SELECT * FROM roster ORDER BY id");"#,
    ),
    (
        "f",
        r#"let f = csv(query("live", "SELECT * FROM roster ORDER BY id"), #{ name: "roster" });"#,
    ),
];

/// Text replaced in one block (by its heading) so that it reaches a server
/// of the test: `{http}` and `{sftp}` are those servers' ports.
const REWRITES: &[(&str, &str, &str)] = &[
    // The report server is this test's plain-HTTP server on 127.0.0.1.
    (
        "### `report(url, options)` → `File`",
        "https://reports.district.example",
        "http://127.0.0.1:{http}",
    ),
    // The inline SFTP destination is this test's SFTP server on 127.0.0.1,
    // which listens on a port of its own.
    (
        "### `deliver(file, destination)`",
        r#"server: "sftp.vendor.com""#,
        r#"server: "127.0.0.1", port: {sftp}"#,
    ),
];

/// Blocks that are not run (heading, reason). Empty: every example runs.
const SKIPPED: &[(&str, &str)] = &[];

/// The SFTP account and password of the inline destination's example.
const SFTP_USER: &str = "d42";
const VENDOR_PW: &str = "doc-examples-vendor-pw";
/// The bearer token the report server wants.
const REPORT_TOKEN: &str = "doc-examples-report-token";
const PDF: &[u8] = b"%PDF-1.4\n% doc example\n%%EOF\n";
const PGP_PASSPHRASE: &str = "doc-examples-pgp-pass";

/// The database every block queries: the columns the examples name, with
/// the values the docs show where a block's output is printed.
const FIXTURE: &str = r#"
CREATE TABLE student (person_id INTEGER, id INTEGER, name TEXT, first_name TEXT, last_name TEXT,
    grade TEXT, birth_date DATE, gpa REAL, active BOOLEAN, born DATE, note TEXT, enrolled_at DATETIME);
INSERT INTO student VALUES
    (1, 1, 'Zoë O''Brien', 'José', 'Núñez', '09', '2011-02-03', 3.50, 1, '2010-01-31', 'line' || char(10) || 'one', '2026-08-15 07:30:00'),
    (2, 2, 'José', 'Ann', 'Zoë-Ærøskøbing-Müller', '10', '2010-05-17', NULL, 0, NULL, NULL, '2026-08-16 08:00:00');
CREATE TABLE fee (person_id INTEGER, last_name TEXT, amount TEXT);
INSERT INTO fee VALUES (1, 'Núñez', '0.10'), (2, 'O''Brien', '12.50'), (3, 'Zoë', '-2.5');
CREATE TABLE people (id INTEGER, name TEXT, note TEXT);
INSERT INTO people VALUES (1, 'Ann', 'first'), (2, 'Bo', NULL), (3, 'Cy', 'a, b');
CREATE TABLE roster (id INTEGER, name TEXT);
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 120)
    INSERT INTO roster SELECT i, 'Person ' || i FROM n;
CREATE TABLE staff (staff_id INTEGER, name TEXT);
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 60)
    INSERT INTO staff SELECT i, 'Staff ' || i FROM n;
"#;

/// Every destination the examples deliver to, as a local folder of the same name.
const DESTINATIONS: &[&str] = &["out", "raw", "staff", "vendor", "acme-sftp"];

/// A file a run must build: its name (a regex, `\d{8}` for a date), its rows
/// as the run reports them, and the destination folder it must arrive in
/// (`None`: built and not delivered).
struct Built {
    name: &'static str,
    rows: u64,
    at: Option<&'static str>,
}

/// What one run of a block must do.
struct Expect {
    /// The heading above the block.
    heading: &'static str,
    /// Which block under that heading, from 0.
    nth: usize,
    /// SQL run on the fixture first, for a variant of the data.
    sql: &'static str,
    /// `--param` overrides.
    params: &'static [&'static str],
    /// The error a refusal must give; `None`: the run succeeds.
    error: Option<&'static str>,
    /// Every file the run builds, in the order it builds them.
    files: &'static [Built],
    /// Further checks of what the files hold.
    check: Option<fn(&Ran)>,
}

/// A run of the block that succeeds, with the defaults and the base fixture.
const fn ok(heading: &'static str, nth: usize, files: &'static [Built], check: Option<fn(&Ran)>) -> Expect {
    Expect {
        heading,
        nth,
        sql: "",
        params: &[],
        error: None,
        files,
        check,
    }
}

/// A file delivered to a local destination folder.
const fn at(name: &'static str, rows: u64, folder: &'static str) -> Built {
    Built {
        name,
        rows,
        at: Some(folder),
    }
}

const EXPECTED: &[Expect] = &[
    ok(
        "# Script reference",
        0,
        &[at(r"roster_\d{8}\.txt", 1, "out")],
        Some(|r| {
            let f = r.one("out", r"roster_\d{8}\.txt");
            assert_eq!(
                python_csv(&f, '|', "utf-8"),
                [vec!["person_id", "last_name"], vec!["1", "Núñez"]]
            );
        }),
    ),
    ok(
        "### Interrupted runs: `recovery`",
        0,
        &[at(r"nightly_\d{8}\.csv", 2, "out")],
        Some(|r| assert_eq!(python_csv(&r.one("out", r"nightly_\d{8}\.csv"), ',', "utf-8").len(), 3)),
    ),
    // Declares parameters and reads them: nothing is written, with the
    // defaults or an override.
    ok(
        "### Parameters",
        0,
        &[],
        Some(|r| assert_eq!(r.history_params(), "params       include_ssn=false, min_grade=9")),
    ),
    Expect {
        params: &["include_ssn=true", "min_grade=10"],
        ..ok(
            "### Parameters",
            0,
            &[],
            Some(|r| {
                // History records the parameters, overrides marked.
                assert_eq!(
                    r.history_params(),
                    "params       include_ssn=true (overridden), min_grade=10 (overridden)"
                );
            }),
        )
    },
    Expect {
        params: &["min_grade=ten"],
        error: Some("--param min_grade: 'ten' is not a whole number"),
        ..ok("### Parameters", 0, &[], None)
    },
    ok(
        "### `report(url, options)` → `File`",
        0,
        &[at(r"attendance_\d{8}\.pdf", 0, "out")],
        Some(|r| assert_eq!(std::fs::read(r.one("out", r"attendance_\d{8}\.pdf")).unwrap(), PDF)),
    ),
    // Builds users.csv without delivering it.
    ok(
        "### `rows.map(|row| ...)`",
        0,
        &[Built {
            name: r"users\.csv",
            rows: 2,
            at: None,
        }],
        Some(|r| {
            // The run keeps its folder: the file is read there.
            let kept = r.kept().join("users.csv");
            assert_eq!(
                python_csv(&kept, ',', "utf-8"),
                [
                    vec!["id", "login"],
                    vec!["1", "jnúñez"],
                    vec!["2", "azoë-ærøskøbing-müller"]
                ]
            );
        }),
    ),
    ok(
        "### `csv(rows, options)` → `File`",
        0,
        &[at(r"fees\.txt", 3, "out")],
        Some(|r| {
            let fees = std::fs::read_to_string(r.one("out", r"fees\.txt")).unwrap();
            let shown = r.text_after().replace("12/03/2026", &r.today("%m/%d/%Y"));
            assert_eq!(fees, shown.replace('\n', "\r\n"));
        }),
    ),
    ok(
        "### `fixed(rows, options)` → `File`",
        0,
        &[at(r"state_roster_\d{8}\.txt", 2, "out")],
        Some(|r| {
            let bytes = std::fs::read(r.one("out", r"state_roster_\d{8}\.txt")).unwrap();
            let (text, _, bad) = encoding_rs::WINDOWS_1252.decode(&bytes);
            assert!(!bad);
            let shown = r.text_after().replace("20261203", &r.today("%Y%m%d"));
            assert_eq!(text, shown.replace('\n', "\r\n"));
        }),
    ),
    ok(
        "### `ndjson(rows, options)` and `json(rows, options)` → `File`",
        0,
        &[at(r"students\.ndjson", 2, "out"), at(r"students\.json", 2, "out")],
        Some(|r| {
            // SQLite has no exact decimals: gpa is the float 3.5 where the
            // docs (written from PostgreSQL's numeric) show 3.50 or "3.50".
            let lines = |text: &str| -> Vec<serde_json::Value> {
                text.lines()
                    .filter(|l| l.starts_with('{'))
                    .map(|l| {
                        let mut v: serde_json::Value = serde_json::from_str(l.trim_end_matches(',')).unwrap();
                        let gpa = &mut v["gpa"];
                        if let Some(s) = gpa.as_str() {
                            *gpa = serde_json::json!(s.parse::<f64>().unwrap());
                        } else if let Some(f) = gpa.as_f64() {
                            *gpa = serde_json::json!(f);
                        }
                        v
                    })
                    .collect()
            };
            let ndjson = std::fs::read_to_string(r.one("out", r"students\.ndjson")).unwrap();
            assert_eq!(lines(&ndjson), lines(&r.text_block(0)));
            let json = std::fs::read_to_string(r.one("out", r"students\.json")).unwrap();
            assert_eq!(lines(&json), lines(&r.text_block(1)));
            let whole: serde_json::Value = serde_json::from_str(&json).unwrap();
            assert_eq!(whole.as_array().unwrap().len(), 2);
        }),
    ),
    ok(
        "### `xlsx(rows, options)` and `xlsx([sheet(name, rows), ...], options)` → `File`",
        0,
        &[at(r"counselors\.xlsx", 4, "staff")],
        Some(|r| {
            let sheets = python_xlsx(&r.one("staff", r"counselors\.xlsx"));
            let shape: Vec<(&str, usize)> = sheets.iter().map(|s| (s.name.as_str(), s.rows.len())).collect();
            assert_eq!(shape, [("Students", 3), ("By grade", 3)]);
        }),
    ),
    ok(
        "### `gzip(file, options)` → `File`",
        0,
        &[at(r"roster\.csv", 3, "raw"), at(r"roster\.csv\.gz", 3, "out")],
        Some(|r| {
            let mut plain = Vec::new();
            flate2::read::GzDecoder::new(std::fs::File::open(r.one("out", r"roster\.csv\.gz")).unwrap())
                .read_to_end(&mut plain)
                .unwrap();
            assert_eq!(plain, std::fs::read(r.one("raw", r"roster\.csv")).unwrap());
        }),
    ),
    ok(
        "### `sign(file, options)` → `File`",
        0,
        &[
            at(r"roster\.csv", 2, "raw"),
            at(r"roster\.csv\.asc", 2, "out"),
            at(r"roster\.csv\.pgp", 2, "out"),
        ],
        Some(|r| {
            let armored = std::fs::read_to_string(r.one("out", r"roster\.csv\.asc")).unwrap();
            assert!(armored.starts_with("-----BEGIN PGP MESSAGE-----"), "{armored}");
            // A signed, unencrypted message carries the file's bytes as they are.
            let signed = std::fs::read(r.one("out", r"roster\.csv\.pgp")).unwrap();
            let plain = std::fs::read(r.one("raw", r"roster\.csv")).unwrap();
            assert!(
                signed.windows(plain.len()).any(|w| w == plain),
                "the signed message holds the file"
            );
        }),
    ),
    ok(
        "### `deliver(file, destination)`",
        0,
        &[Built {
            name: r"roster\.csv",
            rows: 120,
            at: Some("vendor"),
        }],
        Some(|r| {
            let server = r.sftp.as_ref().unwrap();
            assert_eq!(server.successes(), ["password"], "the env: password logged in");
            let remote = server.path("/in/roster.csv");
            assert_eq!(
                std::fs::read(&remote).unwrap(),
                std::fs::read(r.one("vendor", r"roster\.csv")).unwrap()
            );
        }),
    ),
    ok(
        "### `notify(group, message)`",
        0,
        &[at(r"roster\.csv", 120, "acme-sftp")],
        Some(|r| {
            // The group does not exist: the notification is kept once, with
            // a warning carrying its message.
            assert!(
                r.output.stderr.contains("Sent 120 students to Acme"),
                "{}",
                r.output.stderr
            );
        }),
    ),
    ok(
        "### `File` properties",
        0,
        &[at(r"staff\.csv", 60, "vendor")],
        Some(|r| assert_eq!(python_csv(&r.one("vendor", r"staff\.csv"), ',', "utf-8").len(), 61)),
    ),
    // The guard holds a file of fewer than 50 staff.
    Expect {
        sql: "DELETE FROM staff WHERE staff_id > 49",
        error: Some("held, not sent: staff.csv to 'vendor': 49 rows, fewer than min_rows 50"),
        ..ok(
            "### `File` properties",
            0,
            &[Built {
                name: r"staff\.csv",
                rows: 49,
                at: None,
            }],
            None,
        )
    },
    ok("### `File` properties", 1, &[at(r"roster\.csv", 120, "out")], None),
    // Fewer than 100 rows: the script refuses to send.
    Expect {
        sql: "DELETE FROM roster WHERE id > 99",
        error: Some("only 99 rows: not sending"),
        ..ok(
            "### `File` properties",
            1,
            &[Built {
                name: r"roster\.csv",
                rows: 99,
                at: None,
            }],
            None,
        )
    },
];

/// One ```rhai block of the docs.
struct Block {
    heading: String,
    /// Which block under its heading, from 0.
    nth: usize,
    /// Its first line in docs/scripting.md, from 1.
    line: usize,
    text: String,
    /// The ```text blocks between it and the next ```rhai block or heading.
    shown: Vec<String>,
}

/// The ```rhai blocks of a Markdown text, with the heading above each.
fn blocks(doc: &str) -> Vec<Block> {
    let mut out: Vec<Block> = Vec::new();
    let mut heading = String::new();
    let mut fence: Option<(String, usize, String)> = None;
    // Whether a ```text block still belongs to the last ```rhai block.
    let mut open = false;
    for (i, line) in doc.lines().enumerate() {
        match &mut fence {
            Some((kind, start, text)) if line.starts_with("```") => {
                if kind == "rhai" {
                    let nth = out.iter().filter(|b| b.heading == heading).count();
                    out.push(Block {
                        heading: heading.clone(),
                        nth,
                        line: *start,
                        text: std::mem::take(text),
                        shown: Vec::new(),
                    });
                    open = true;
                } else if kind == "text" && open {
                    if let Some(last) = out.last_mut() {
                        last.shown.push(std::mem::take(text));
                    }
                }
                fence = None;
            }
            Some((_, _, text)) => {
                text.push_str(line);
                text.push('\n');
            }
            None if line.starts_with("```") => {
                fence = Some((line.trim_start_matches('`').trim().to_string(), i + 2, String::new()));
            }
            None if line.starts_with('#') => {
                heading = line.trim().to_string();
                open = false;
            }
            None => {}
        }
    }
    out
}

/// The block's code without string literals and comments, for finding the
/// names it uses.
fn code_only(text: &str) -> String {
    let mut out = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' | '`' => {
                let mut escaped = false;
                for d in chars.by_ref() {
                    if d == c && !escaped {
                        break;
                    }
                    escaped = d == '\\' && !escaped;
                }
                out.push(' ');
            }
            '/' if chars.peek() == Some(&'/') => {
                for d in chars.by_ref() {
                    if d == '\n' {
                        out.push('\n');
                        break;
                    }
                }
            }
            _ => out.push(c),
        }
    }
    out
}

/// The prelude a block needs: the `PRELUDE` lines of the names it uses as
/// variables (not as `.name` properties) and never binds with `let`.
fn prelude(text: &str) -> String {
    let code = code_only(text);
    PRELUDE
        .iter()
        .filter(|(name, _)| {
            let used = Regex::new(&format!(r"(^|[^\w.]){name}\b")).unwrap();
            let bound = Regex::new(&format!(r"\blet\s+{name}\b")).unwrap();
            used.is_match(&code) && !bound.is_match(&code)
        })
        .map(|(_, line)| format!("{line}\n"))
        .collect()
}

/// The script a block runs as: the prelude after its `//!` header, then the
/// block, with its heading's rewrites applied.
fn script(block: &Block, ports: (u16, u16)) -> String {
    let mut text = block.text.clone();
    for (heading, from, to) in REWRITES.iter().filter(|r| r.0 == block.heading) {
        assert!(text.contains(from), "{heading}: the rewrite of {from} matches nothing");
        let to = to
            .replace("{http}", &ports.0.to_string())
            .replace("{sftp}", &ports.1.to_string());
        text = text.replace(from, &to);
    }
    let head: String = text
        .lines()
        .take_while(|l| l.starts_with("//!"))
        .map(|l| format!("{l}\n"))
        .collect();
    let body = &text[head.len()..];
    format!("{head}{}{body}", prelude(&block.text))
}

/// A plain HTTP server answering every request for the report with the PDF
/// when it carries the bearer token; counts the documents served.
fn report_server() -> (u16, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let served = Arc::new(AtomicUsize::new(0));
    let count = served.clone();
    std::thread::spawn(move || {
        // One run fetches once; the thread ends after a few requests.
        for stream in listener.incoming().take(5) {
            let Ok(mut s) = stream else { continue };
            let mut buf = vec![0u8; 8192];
            let n = s.read(&mut buf).unwrap_or(0);
            let head = String::from_utf8_lossy(&buf[..n]).to_lowercase();
            let wanted = head.starts_with("get /render?id=attendance ")
                && head.contains(&format!("authorization: bearer {REPORT_TOKEN}"));
            let (status, body): (&str, &[u8]) = if wanted {
                count.fetch_add(1, Ordering::SeqCst);
                ("200 OK", PDF)
            } else {
                ("404 Not Found", b"no")
            };
            let ctype = if wanted { "application/pdf" } else { "text/plain" };
            let _ = write!(
                s,
                "HTTP/1.1 {status}\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            );
            let _ = s.write_all(body);
        }
    });
    (port, served)
}

/// What a run of a block left behind, for the checks.
struct Ran<'a> {
    project: &'a Project,
    block: &'a Block,
    output: Output,
    sftp: Option<SftpServer>,
}

impl Ran<'_> {
    /// The one file of `folder` whose name matches `pattern`.
    fn one(&self, folder: &str, pattern: &str) -> std::path::PathBuf {
        let re = Regex::new(&format!("^{pattern}$")).unwrap();
        let found: Vec<String> = self
            .project
            .files(folder)
            .into_iter()
            .filter(|f| re.is_match(f))
            .collect();
        assert_eq!(
            found.len(),
            1,
            "{pattern} in {folder}/: {:?}",
            self.project.files(folder)
        );
        self.project.path(&format!("{folder}/{}", found[0]))
    }

    /// The folder the run kept its files in, as `ferry run` names it.
    fn kept(&self) -> std::path::PathBuf {
        let line = self
            .output
            .stdout
            .lines()
            .find_map(|l| l.strip_prefix("  files kept in "));
        std::path::PathBuf::from(line.unwrap_or_else(|| panic!("no kept folder in {}", self.output.stdout)))
    }

    /// The `params` line of the run's history.
    fn history_params(&self) -> String {
        let history = self.project.ferry(&["history", "--run", "1"]);
        let line = history.ok().lines().find(|l| l.trim_start().starts_with("params"));
        line.map(|l| l.trim().to_string())
            .unwrap_or_else(|| panic!("no params in the history: {}", history.stdout))
    }

    /// The `n`th ```text block shown after the block.
    fn text_block(&self, n: usize) -> String {
        self.block.shown.get(n).cloned().unwrap_or_default()
    }

    /// The first ```text block shown after the block (what it writes).
    fn text_after(&self) -> String {
        self.text_block(0)
    }

    /// Today in the examples' time zone, in a strftime pattern.
    fn today(&self, pattern: &str) -> String {
        chrono::Utc::now()
            .with_timezone(&chrono_tz::America::Chicago)
            .format(pattern)
            .to_string()
    }
}

/// The PGP keys of the sign example: the district's own key, and a vendor's
/// public key `acme` made in another project and imported, as a vendor's is.
fn pgp_keys(p: &Project) {
    let generate = |p: &Project, name: &str| {
        std::fs::write(p.path("pgp.pass"), PGP_PASSPHRASE).unwrap();
        p.ferry(&[
            "keys",
            "pgp",
            "generate",
            name,
            "--user-id",
            &format!("{name} <{name}@district.example>"),
            "--passphrase",
            "file:pgp.pass",
        ])
        .ok();
    };
    generate(p, "district");
    let vendor = Project::new();
    generate(&vendor, "acme");
    let public = vendor.ferry(&["keys", "pgp", "show", "acme"]).ok().to_string();
    std::fs::write(p.path("acme.asc"), public).unwrap();
    p.ferry(&["keys", "pgp", "import", "acme.asc", "--yes"]).ok();
}

/// Builds the block's project, runs it as `expect` says and checks the result.
fn run_block(n: usize, block: &Block, expect: &Expect) {
    let p = Project::new();
    let mut config = std::fs::read_to_string(p.path("ferry.toml")).unwrap();
    for d in DESTINATIONS.iter().filter(|d| **d != "out") {
        config.push_str(&format!("[destinations.\"{d}\"]\nmode = \"local\"\npath = \"{d}\"\n"));
    }
    p.config(&config);
    p.sqlite(FIXTURE);
    if !expect.sql.is_empty() {
        p.sqlite(expect.sql);
    }
    let uses = |what: &str| block.text.contains(what);
    let report = uses("report(").then(report_server);
    let sftp = uses("mode: \"sftp\"").then(|| {
        let server = SftpServer::start(Options::password(SFTP_USER, VENDOR_PW));
        std::fs::create_dir_all(server.path("/in")).unwrap();
        server.trust(&p.path(".ferry/known_hosts"));
        server
    });
    if uses("encrypt(") || uses("sign(") {
        pgp_keys(&p);
    }
    let name = format!("doc_{n}");
    let ports = (report.as_ref().map_or(0, |r| r.0), sftp.as_ref().map_or(0, |s| s.port));
    let source = script(block, ports);
    p.script(&name, &source);
    let mut args = vec!["run", name.as_str()];
    for param in expect.params {
        args.extend(["--param", param]);
    }
    let output = p.ferry_with_env(&args, &[("REPORT_TOKEN", REPORT_TOKEN), ("VENDOR_PW", VENDOR_PW)]);
    let context = format!(
        "{} (block {} under it, line {} of docs/scripting.md; params {:?}):\n--- script\n{source}--- stdout\n{}--- stderr\n{}",
        block.heading, block.nth, block.line, expect.params, output.stdout, output.stderr
    );
    let ran = Ran {
        project: &p,
        block,
        output,
        sftp,
    };
    let out = &ran.output;
    eprintln!(
        "ran {} (block {}, params {:?}): {}",
        block.heading,
        block.nth,
        expect.params,
        out.stdout.lines().next().unwrap_or("no output")
    );
    match expect.error {
        None => assert_eq!(out.code, 0, "the run failed: {context}"),
        Some(error) => assert!(
            out.code != 0 && (out.stdout.contains(error) || out.stderr.contains(error)),
            "the run should fail with {error:?}: {context}"
        ),
    }

    // The files the run reports, `  NAME  ROWS rows  SIZE  WHERE`, in order.
    let line = Regex::new(r"(?m)^  (\S+)  ([\d,]+) rows  .*  (-> .*|not delivered|in .*)$").unwrap();
    let reported: Vec<(String, u64, String)> = line
        .captures_iter(&out.stdout)
        .map(|c| {
            (
                c[1].to_string(),
                c[2].replace(',', "").parse().unwrap(),
                c[3].to_string(),
            )
        })
        .collect();
    assert_eq!(
        reported.len(),
        expect.files.len(),
        "files built: {reported:?}: {context}"
    );
    for (built, (file, rows, to)) in expect.files.iter().zip(&reported) {
        assert!(
            Regex::new(&format!("^{}$", built.name)).unwrap().is_match(file),
            "{file} is not {}: {context}",
            built.name
        );
        assert_eq!(*rows, built.rows, "rows of {file}: {context}");
        match built.at {
            Some(folder) => {
                assert!(to.starts_with(&format!("-> {folder} (")), "{file} went {to}: {context}");
                assert!(
                    p.path(&format!("{folder}/{file}")).is_file(),
                    "{folder}/{file} is missing: {context}"
                );
            }
            None => assert!(!to.starts_with("->"), "{file} went {to}: {context}"),
        }
    }
    // Nothing else arrived anywhere.
    let arrived: usize = DESTINATIONS.iter().map(|d| p.files(d).len()).sum();
    let delivered = expect.files.iter().filter(|f| f.at.is_some()).count();
    assert_eq!(arrived, delivered, "files at the destinations: {context}");
    if let (Some((_, served)), None) = (&report, expect.error) {
        assert_eq!(
            served.load(Ordering::SeqCst),
            1,
            "the report was fetched once: {context}"
        );
    }
    if let Some(check) = expect.check {
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| check(&ran)));
        if let Err(e) = result {
            let why = panic_text(e.as_ref());
            panic!("{why}\nwhat the block writes is not what the docs say: {context}");
        }
    }
}

/// A panic's message.
fn panic_text(e: &(dyn std::any::Any + Send)) -> String {
    e.downcast_ref::<String>()
        .cloned()
        .or_else(|| e.downcast_ref::<&str>().map(std::string::ToString::to_string))
        .unwrap_or_default()
}

/// Every ```rhai block of docs/scripting.md runs and writes what the docs say.
#[test]
fn every_rhai_block_of_the_script_reference_runs_as_documented() {
    let doc = std::fs::read_to_string(repo().join("docs/scripting.md")).unwrap();
    let all = blocks(&doc);
    assert!(all.len() >= 15, "{} blocks found", all.len());
    for (heading, reason) in SKIPPED {
        assert!(
            all.iter().any(|b| &b.heading == heading),
            "skipped block {heading} ({reason}) is no longer in the docs"
        );
    }
    for (heading, from, _) in REWRITES {
        assert!(
            all.iter().any(|b| &b.heading == heading && b.text.contains(from)),
            "the rewrite of {from} under {heading} matches no block"
        );
    }
    for e in EXPECTED {
        assert!(
            all.iter().any(|b| b.heading == e.heading && b.nth == e.nth),
            "an expectation names block {} of {}, which is not in the docs",
            e.nth,
            e.heading
        );
    }
    let mut ran = 0;
    let mut failures = Vec::new();
    for (n, block) in all.iter().enumerate() {
        if SKIPPED.iter().any(|(h, _)| *h == block.heading) {
            continue;
        }
        let expects: Vec<&Expect> = EXPECTED
            .iter()
            .filter(|e| e.heading == block.heading && e.nth == block.nth)
            .collect();
        if expects.is_empty() {
            failures.push(format!(
                "{} (block {}, line {}) has no entry in EXPECTED: say what it writes\n{}",
                block.heading, block.nth, block.line, block.text
            ));
        }
        for expect in expects {
            // Every block runs even when one fails, so one test run lists
            // every example that is wrong.
            let result = std::panic::catch_unwind(|| run_block(n, block, expect));
            if let Err(e) = result {
                failures.push(panic_text(e.as_ref()));
            }
            ran += 1;
        }
    }
    assert!(
        failures.is_empty(),
        "{} problems in {ran} runs of documented examples:\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
    assert_eq!(ran, EXPECTED.len());
}

/// The prelude rule: a name used and not bound gets its line, a property
/// of the same name or a word in a string does not count, and a bound name
/// gets nothing.
#[test]
fn a_fragment_gets_the_prelude_of_the_names_it_leaves_free() {
    let rows = PRELUDE[0].1;
    let f = PRELUDE[1].1;
    assert_eq!(prelude("deliver(f, \"vendor\");"), format!("{f}\n"));
    assert_eq!(prelude("let f = csv(rows, #{});"), format!("{rows}\n"));
    assert_eq!(prelude("let f = csv(x); log(`${f.rows} rows`); // rows"), "");
    assert_eq!(prelude("let rows = query(\"live\", \"rows\");\ncsv(rows);"), "");
    assert_eq!(
        prelude("deliver(csv(rows), \"out\"); deliver(f, \"out\");"),
        format!("{rows}\n{f}\n")
    );
    let b = &blocks("# A\n```rhai\n//! x = 1\nf\n```\n```text\nshown\n```\n## B\n```text\nnot shown\n```\n")[0];
    assert_eq!((b.heading.as_str(), b.nth, b.line), ("# A", 0, 3));
    assert_eq!(b.shown, ["shown\n"]);
    assert_eq!(script(b, (0, 0)), format!("//! x = 1\n{f}\nf\n"));
}
