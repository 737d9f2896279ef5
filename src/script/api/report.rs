//! `report(url, opts)`: fetch a rendered document (a PDF from a reporting
//! server) and return it as a `File` to zip or deliver.

use super::Primitive;
use std::sync::Arc;

use rhai::{Engine, Map, NativeCallContext, Position};

use super::format::File;
use crate::config::SecretRef;
use crate::format::{DateStamp, FileName, PartialFile};
use crate::report::{fetch, Auth, HeaderValue, ReportRequest};
use crate::run::context::{Artifact, RunContext};
use crate::script::engine::runtime_error;
use crate::script::ScriptsDir;
use crate::state::LogLevel;

type Res<T> = Result<T, Box<rhai::EvalAltResult>>;

/// The options `report` accepts, for load-time checks.
pub(crate) const OPTIONS: &[&str] = &[
    "method",
    "headers",
    "body",
    "auth",
    "timeout",
    "max_bytes",
    "expect",
    "name",
    "ext",
    "append_date",
];

fn text(map: &Map, key: &str, pos: Position) -> Res<Option<String>> {
    match map.get(key) {
        None => Ok(None),
        Some(v) if v.is_string() => Ok(Some(v.to_string())),
        Some(v) => Err(runtime_error(
            format!("report(): option {key}: expected text, got {}", v.type_name()),
            pos,
        )),
    }
}

fn secret(value: &str, what: &str, run: &RunContext, pos: Position) -> Res<SecretRef> {
    SecretRef::parse(value, &run.settings.root).map_err(|e| runtime_error(format!("report(): {what}: {e}"), pos))
}

fn request(url: &str, o: &Map, run: &RunContext, pos: Position) -> Res<ReportRequest> {
    super::refuse_unknown("report", o, OPTIONS, pos)?;
    let mut headers = Vec::new();
    if let Some(h) = o.get("headers") {
        let h = h
            .clone()
            .try_cast::<Map>()
            .ok_or_else(|| runtime_error("report(): headers must be a map", pos))?;
        for (k, v) in h {
            let v = v.to_string();
            let value = if v.starts_with("env:") || v.starts_with("file:") {
                HeaderValue::Secret(secret(&v, &format!("header {k}"), run, pos)?)
            } else if k.eq_ignore_ascii_case("authorization") {
                return Err(runtime_error(
                    "report(): an Authorization header must be a secret reference (env:/file:) or use the auth option",
                    pos,
                ));
            } else {
                HeaderValue::Plain(v)
            };
            headers.push((k.to_string(), value));
        }
    }
    let auth = match o.get("auth") {
        None => None,
        Some(a) => {
            let a = a.clone().try_cast::<Map>().ok_or_else(|| {
                runtime_error(
                    "report(): auth is #{ bearer: \"env:TOKEN\" } or #{ user: \"name\", password: \"env:PASSWORD\" }",
                    pos,
                )
            })?;
            if let Some(t) = text(&a, "bearer", pos)? {
                Some(Auth::Bearer(secret(&t, "auth bearer", run, pos)?))
            } else {
                let user = text(&a, "user", pos)?
                    .ok_or_else(|| runtime_error("report(): auth needs bearer, or user and password", pos))?;
                let pw = text(&a, "password", pos)?
                    .ok_or_else(|| runtime_error("report(): auth needs a password reference", pos))?;
                Some(Auth::Basic {
                    user,
                    password: secret(&pw, "auth password", run, pos)?,
                })
            }
        }
    };
    let timeout = match text(o, "timeout", pos)? {
        None => std::time::Duration::from_secs(120),
        Some(t) => {
            humantime::parse_duration(&t).map_err(|e| runtime_error(format!("report(): timeout '{t}': {e}"), pos))?
        }
    };
    let max_bytes = match o.get("max_bytes") {
        None => 100 * 1024 * 1024,
        Some(v) => {
            v.as_int()
                .ok()
                .filter(|n| *n > 0)
                .ok_or_else(|| runtime_error("report(): max_bytes must be a positive number", pos))? as u64
        }
    };
    Ok(ReportRequest {
        url: url.to_string(),
        method: text(o, "method", pos)?.unwrap_or_else(|| "GET".into()),
        headers,
        body: text(o, "body", pos)?,
        auth,
        timeout,
        max_bytes,
        expect: text(o, "expect", pos)?,
    })
}

fn build(ctx: NativeCallContext, run: &RunContext, url: &str, o: &Map) -> Res<File> {
    let pos = ctx.call_position();
    let req = request(url, o, run, pos)?;
    let stem =
        text(o, "name", pos)?.unwrap_or_else(|| ScriptsDir::id_of(&run.script_path).unwrap_or_else(|| "report".into()));
    let ext = text(o, "ext", pos)?.unwrap_or_else(|| match req.expect.as_deref() {
        Some("application/pdf") => "pdf".into(),
        Some("text/html") => "html".into(),
        Some("text/csv") => "csv".into(),
        _ => "bin".into(),
    });
    let stamp = text(o, "append_date", pos)?
        .map(|s| DateStamp::parse(&s))
        .transpose()
        .map_err(|e| runtime_error(format!("report(): {e}"), pos))?;
    let name = FileName::new(&stem, &ext, stamp).map_err(|e| runtime_error(format!("report(): {e}"), pos))?;
    let file_name = name.render(run.started.naive_local());
    let mut partial = PartialFile::create(&run.work_dir, &file_name)
        .map_err(|e| runtime_error(format!("report(): cannot write {file_name}: {e}"), pos))?;
    let fetched = run
        .runtime
        .block_on(fetch(&req, &mut partial))
        .map_err(|e| runtime_error(e.to_string(), pos))?;
    let written = partial
        .commit()
        .map_err(|e| runtime_error(format!("report(): cannot write {file_name}: {e}"), pos))?;
    run.log(
        LogLevel::Info,
        format!(
            "fetched {} ({}, {} bytes) from {}",
            written.name,
            fetched.content_type,
            fetched.bytes,
            crate::report::redact(url)
        ),
    );
    let artifact = Artifact::written(written, 0);
    run.lock().files.push(artifact.clone());
    Ok(File::new(artifact))
}

/// ### `report(url, options)` → `File`
///
/// Fetches a rendered document (the original tool's "Prism" reports: a PDF from
/// a report server) and returns it as a file to zip or deliver.
///
/// ```rhai
/// let pdf = report("https://reports.district.example/render?id=attendance", #{
///     auth: #{ bearer: "env:REPORT_TOKEN" }, expect: "application/pdf",
///     name: "attendance_", append_date: "yyyymmdd", timeout: "2m" });
/// deliver(pdf, "out");
/// ```
///
/// | option | default | meaning |
/// |---|---|---|
/// | `method` | `"GET"` | HTTP method. |
/// | `headers` | none | A map; a value written `env:NAME` or `file:PATH` is a secret looked up when sent. An `Authorization` header must be one. |
/// | `body` | none | Request body (POST). |
/// | `auth` | none | `#{ bearer: "env:TOKEN" }` or `#{ user: "name", password: "env:PASSWORD" }`: secret references only. |
/// | `timeout` | `"2m"` | The whole request's limit. |
/// | `max_bytes` | 100 MiB | Larger documents are refused. |
/// | `expect` | none | Content type the document must have (`application/pdf`); an error page or a login page is refused. |
/// | `name`, `ext`, `append_date` | script name, from `expect` (`pdf`, `html`, `csv`) else `bin` | As for `csv`. |
///
/// A status other than 2xx, the wrong content type, a size or time limit keep
/// nothing and say why, naming the address without its query string (which may
/// carry a token).
pub(crate) const REPORT: Primitive = Primitive {
    names: &["report"],
    options: Some((1, || OPTIONS)),
    check: Some(|call| {
        call.uses.methods.insert("Report");
        Ok(())
    }),
    register,
};

/// Registers `report(url)` and `report(url, opts)`.
fn register(engine: &mut Engine, run: Arc<RunContext>) {
    let r = run.clone();
    engine.register_fn("report", move |ctx: NativeCallContext, url: &str, o: Map| {
        build(ctx, &r, url, &o)
    });
    engine.register_fn("report", move |ctx: NativeCallContext, url: &str| {
        build(ctx, &run, url, &Map::new())
    });
}
