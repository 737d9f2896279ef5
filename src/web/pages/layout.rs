//! The frame every page shares: the navigation, the unread count, the
//! user and their log-out button, and one small style sheet.

use chrono::{DateTime, Utc};
use maud::{html, Markup, DOCTYPE};

use super::{csrf_field, Viewer};
use crate::state::ToolRight;

impl Viewer {
    /// A time in the zone this person reads times in, labelled with it.
    pub(crate) fn when(&self, t: DateTime<Utc>) -> String {
        crate::schedule::labelled(t, self.zone, true)
    }
}

/// The console's one style sheet, served as `/console.css` (the content
/// security policy allows no inline style).
pub(super) const STYLE: &str = r#"
body { font: 15px/1.45 system-ui, sans-serif; margin: 0; color: #1d2430; background: #f6f7f9; }
header { display: flex; gap: 1.2em; align-items: center; padding: .6em 1.2em; background: #1f3a5f; color: #fff; }
header a { color: #fff; text-decoration: none; } header .brand { font-weight: 700; font-size: 1.1em; }
header .right { margin-left: auto; display: flex; gap: 1em; align-items: center; }
#unread { background: #d9342b; border-radius: 1em; padding: 0 .5em; font-size: .85em; }
main { padding: 1em 1.5em; max-width: 1400px; }
table { border-collapse: collapse; background: #fff; margin: .5em 0 1em; }
th, td { border: 1px solid #d8dce3; padding: .3em .6em; text-align: left; vertical-align: top; }
th { background: #eef1f5; } th a { color: inherit; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
.error { color: #b3261e; } .ok { color: #1e7b34; }
.status { padding: 0 .4em; border-radius: .3em; background: #e6e9ee; }
.status.succeeded { background: #d5f0dc; } .status.failed, .status.interrupted { background: #f8d7d5; }
.status.running, .status.held { background: #fff1c2; }
pre.code { background: #fff; border: 1px solid #d8dce3; padding: .8em; overflow: auto; max-height: 40em; }
form.inline { display: inline; } .actions { margin: .8em 0; display: flex; gap: .5em; flex-wrap: wrap; }
button, a.button { font: inherit; padding: .3em .9em; border: 1px solid #1f3a5f; background: #fff; color: #1f3a5f; border-radius: .3em; cursor: pointer; text-decoration: none; }
button:hover, a.button:hover { background: #1f3a5f; color: #fff; }
header button { border-color: #fff; background: transparent; color: #fff; }
form.search { margin: .5em 0; display: flex; gap: .6em; align-items: center; flex-wrap: wrap; }
form.login { display: grid; gap: .8em; max-width: 20em; } form.login input { display: block; width: 100%; box-sizing: border-box; }
form.editor textarea { width: 100%; font: 13px/1.4 ui-monospace, monospace; tab-size: 4; }
.hint { color: #5a6473; font-size: .9em; } tr.unread { font-weight: 600; }
.choices { display: flex; flex-wrap: wrap; gap: .3em 1.2em; margin: .4em 0 .8em; } label.choice { white-space: nowrap; }
form.grid { display: grid; gap: .6em; max-width: 40em; } fieldset { border: 1px solid #d8dce3; }
details { margin: .8em 0; } summary { cursor: pointer; color: #1f3a5f; }
.chart-box { margin: .5em 0; max-width: 960px; } .chart-box figcaption { color: #5a6473; font-size: .9em; }
svg.chart { display: block; width: 100%; height: auto; background: #fff; border: 1px solid #d8dce3; }
svg.chart text { font: 12px system-ui, sans-serif; fill: #5a6473; } svg.chart .lane-label { fill: #1f3a5f; font-size: 13px; }
svg .grid { stroke: #eef1f5; } svg .axis-line, svg .lane { stroke: #c4cad3; }
svg .series { fill: none; stroke: #1f3a5f; stroke-width: 1.5; }
svg .point { stroke: #fff; stroke-width: 1; } svg .point.done { fill: #1f3a5f; }
svg .point.held { fill: #c98a00; stroke: #6b4a00; } svg .point.failed { fill: #b3261e; }
svg .point.scheduled { fill: #2f6fb0; }
svg .guard.floor { stroke: #b3261e; stroke-dasharray: 6 4; stroke-width: 1.5; }
svg .guard.band { fill: #1e7b34; fill-opacity: .12; stroke: #1e7b34; stroke-opacity: .4; }
svg.chart text.guard-label { fill: #6b4a00; }
svg.spark { width: 120px; height: 24px; vertical-align: middle; } svg.spark .series { stroke-width: 1.2; }
svg.qr { width: 240px; height: 240px; display: block; } svg.qr .light { fill: #fff; } svg.qr .dark { fill: #000; }
svg.key { width: 1.4em; height: .9em; vertical-align: middle; } .legend { color: #5a6473; font-size: .9em; }
code.secret { font-size: 1.1em; letter-spacing: .08em; } #recovery-codes code { font-size: 1.1em; }
"#;

/// A whole page around `body`.
pub(super) fn layout(title: &str, viewer: Option<&Viewer>, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " — ferry" }
                link rel="stylesheet" href="/console.css";
            }
            body {
                header {
                    a .brand href="/" { "ferry" }
                    @if let Some(v) = viewer {
                        a href="/" { "Extracts" }
                        a href="/history" { "History" }
                        a #timeline-link href="/timeline" { "Next 24 hours" }
                        a #notifications-link href="/notifications" {
                            "Notifications"
                            @if v.unread > 0 { " " span #unread { (v.unread) } }
                        }
                        @if v.caller.may(ToolRight::ManageUsers) { a href="/users" { "Users" } }
                        div .right {
                            a #whoami href="/account" title={"Times in " (v.zone.name())} { (v.caller.user) }
                            form .inline method="post" action="/logout" {
                                (csrf_field(v))
                                button #logout type="submit" { "Log out" }
                            }
                        }
                    }
                }
                main { (body) }
            }
        }
    }
}
