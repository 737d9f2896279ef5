//! Pictures drawn by the server as inline SVG from plain numbers: a run
//! series (one point per run, held and failed runs in their own shapes, the
//! guards' thresholds as lines and bands), a sparkline for the list, and a
//! timeline of the next day's runs.
//!
//! No script and no `style` attributes (the content security policy allows
//! neither): colours come from classes in `console.css`. Every picture has
//! a `<title>` and `<desc>` for screen readers, every point its own
//! `<title>` for a pointer; the pages put a table of the same numbers next
//! to each picture. Shapes differ as well as colours, so a held run is told
//! from a failed one without colour vision.

use maud::{html, Markup};

/// The drawing's size in SVG units; it scales to its box in the page.
const WIDTH: f64 = 900.0;
const HEIGHT: f64 = 220.0;
/// Room for the value labels on the left and the run labels below.
const LEFT: f64 = 72.0;
const RIGHT: f64 = 16.0;
const TOP: f64 = 14.0;
const BOTTOM: f64 = 30.0;

/// What kind of run a point stands for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Mark {
    /// It ran and delivered (or was released): a circle.
    Done,
    /// A guard held its files: a square.
    Held,
    /// It failed or was interrupted: a triangle.
    Failed,
}

impl Mark {
    /// The class the style sheet colours it by.
    fn class(self) -> &'static str {
        match self {
            Mark::Done => "done",
            Mark::Held => "held",
            Mark::Failed => "failed",
        }
    }
}

/// One run of a series.
#[derive(Clone, Debug, PartialEq)]
pub(super) struct Point {
    /// Its value (rows, seconds).
    pub value: f64,
    /// Its kind.
    pub mark: Mark,
    /// What a pointer resting on it reads: the run, its time and value.
    pub note: String,
    /// The run's id, for tests and links.
    pub run: i64,
}

/// A guard drawn across the series.
#[derive(Clone, Debug, PartialEq)]
pub(super) enum Threshold {
    /// A floor (`min_rows`): a dashed line.
    Floor {
        value: f64,
        /// Its words.
        label: String,
    },
    /// A band the next run must stay in (`max_change` around the last
    /// delivered run): a shaded band.
    Band {
        /// Lower edge.
        low: f64,
        /// Upper edge.
        high: f64,
        /// Its words.
        label: String,
    },
}

/// A run series to draw.
pub(super) struct Series<'a> {
    /// The `id` of the `<svg>`.
    pub id: &'a str,
    /// The picture's title (read first by screen readers).
    pub title: String,
    /// What it shows, in a sentence or two.
    pub desc: String,
    /// How a value is written on the axis.
    pub unit: fn(f64) -> String,
    /// The axis runs at least this high (5 rows: an axis of whole numbers).
    pub least_top: f64,
    /// Oldest first.
    pub points: Vec<Point>,
    /// Guards to draw.
    pub thresholds: Vec<Threshold>,
}

/// The smallest of 1, 2 and 5 times a power of ten at or above `v`, so the
/// axis reads in round numbers.
pub(super) fn nice_ceiling(v: f64) -> f64 {
    if !(v.is_finite() && v > 0.0) {
        return 1.0;
    }
    let power = 10f64.powf(v.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * power)
        .find(|c| *c >= v * (1.0 - 1e-12))
        .unwrap_or(10.0 * power)
}

/// The axis labels from 0 to `top` in round steps (at most six), so an axis
/// of rows never reads 2.5.
pub(super) fn ticks(top: f64) -> Vec<f64> {
    let step = nice_ceiling(top / 5.0);
    let count = (top / step + 1e-9).floor() as usize;
    (0..=count).map(|i| step * i as f64).collect()
}

/// A value's height in the drawing for an axis from 0 to `top`.
fn y_of(value: f64, top: f64) -> f64 {
    let plot = HEIGHT - TOP - BOTTOM;
    TOP + plot * (1.0 - (value / top).clamp(0.0, 1.0))
}

/// The horizontal centre of point `i` of `n`, spread evenly.
fn x_of(i: usize, n: usize) -> f64 {
    let plot = WIDTH - LEFT - RIGHT;
    LEFT + plot * (i as f64 + 0.5) / n.max(1) as f64
}

/// Two decimals at most: SVG numbers that stay short.
fn n(v: f64) -> String {
    let s = format!("{v:.2}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// The shape of a point: circle, square or triangle, by kind.
fn shape(p: &Point, x: f64, y: f64) -> Markup {
    let class = format!("point {}", p.mark.class());
    html! {
        @match p.mark {
            Mark::Done => { circle class=(class) data-run=(p.run) cx=(n(x)) cy=(n(y)) r="4" { title { (p.note) } } }
            Mark::Held => { rect class=(class) data-run=(p.run) x=(n(x - 5.0)) y=(n(y - 5.0)) width="10" height="10" { title { (p.note) } } }
            Mark::Failed => {
                path class=(class) data-run=(p.run)
                    d={"M" (n(x)) " " (n(y - 6.0)) "L" (n(x + 6.0)) " " (n(y + 5.0)) "L" (n(x - 6.0)) " " (n(y + 5.0)) "Z"} { title { (p.note) } }
            }
        }
    }
}

/// A run series with its axis, guards and one shape per run.
pub(super) fn series(s: &Series<'_>) -> Markup {
    let highest = s
        .points
        .iter()
        .map(|p| p.value)
        .chain(s.thresholds.iter().map(|t| match t {
            Threshold::Floor { value, .. } => *value,
            Threshold::Band { high, .. } => *high,
        }))
        .fold(0.0, f64::max);
    let top = nice_ceiling((highest * 1.05).max(s.least_top));
    let count = s.points.len();
    let line: Vec<String> = s
        .points
        .iter()
        .enumerate()
        .map(|(i, p)| format!("{},{}", n(x_of(i, count)), n(y_of(p.value, top))))
        .collect();
    let title_id = format!("{}-title", s.id);
    let desc_id = format!("{}-desc", s.id);
    // Every fifth run is labelled below the axis, and always the newest.
    let label_every = count.div_ceil(12).max(1);
    html! {
        svg id=(s.id) .chart xmlns="http://www.w3.org/2000/svg" viewBox={"0 0 " (WIDTH) " " (HEIGHT)}
            role="img" aria-labelledby={(title_id) " " (desc_id)} {
            title id=(title_id) { (s.title) }
            desc id=(desc_id) { (s.desc) }
            @for v in ticks(top) {
                @let y = y_of(v, top);
                line .grid x1=(n(LEFT)) x2=(n(WIDTH - RIGHT)) y1=(n(y)) y2=(n(y)) {}
                text .axis x=(n(LEFT - 6.0)) y=(n(y + 4.0)) text-anchor="end" { ((s.unit)(v)) }
            }
            @for t in &s.thresholds {
                @match t {
                    Threshold::Band { low, high, label } => {
                        @let (y1, y2) = (y_of(*high, top), y_of(*low, top));
                        rect .guard.band x=(n(LEFT)) y=(n(y1)) width=(n(WIDTH - LEFT - RIGHT)) height=(n((y2 - y1).max(1.0))) { title { (label) } }
                        text .guard-label x=(n(WIDTH - RIGHT - 4.0)) y=(n(y1 - 3.0)) text-anchor="end" { (label) }
                    }
                    Threshold::Floor { value, label } => {
                        @let y = y_of(*value, top);
                        line .guard.floor x1=(n(LEFT)) x2=(n(WIDTH - RIGHT)) y1=(n(y)) y2=(n(y)) { title { (label) } }
                        text .guard-label x=(n(LEFT + 4.0)) y=(n(y - 3.0)) text-anchor="start" { (label) }
                    }
                }
            }
            @if count > 1 { polyline .series points=(line.join(" ")) {} }
            @for (i, p) in s.points.iter().enumerate() {
                (shape(p, x_of(i, count), y_of(p.value, top)))
                @if i % label_every == 0 || i + 1 == count {
                    text .axis x=(n(x_of(i, count))) y=(n(HEIGHT - 10.0)) text-anchor="middle" { (p.run) }
                }
            }
            line .axis-line x1=(n(LEFT)) x2=(n(WIDTH - RIGHT)) y1=(n(HEIGHT - BOTTOM)) y2=(n(HEIGHT - BOTTOM)) {}
        }
    }
}

/// The key to the shapes, in words and the same shapes.
pub(super) fn legend() -> Markup {
    html! {
        p .legend aria-hidden="true" {
            svg .key viewBox="0 0 12 12" { circle .point.done cx="6" cy="6" r="4" {} } " delivered  "
            svg .key viewBox="0 0 12 12" { rect .point.held x="1" y="1" width="10" height="10" {} } " held by a guard  "
            svg .key viewBox="0 0 12 12" { path .point.failed d="M6 0L12 11L0 11Z" {} } " failed  "
            svg .key viewBox="0 0 24 12" { line .guard.floor x1="0" x2="24" y1="6" y2="6" {} } " min_rows  "
            svg .key viewBox="0 0 24 12" { rect .guard.band x="0" y="2" width="24" height="8" {} } " where max_change lets the next run land"
        }
    }
}

/// A small line of values, oldest first, for a list row; held and failed
/// runs get their shape. The title says it in words.
pub(super) fn sparkline(title: &str, points: &[(f64, Mark)]) -> Markup {
    const W: f64 = 120.0;
    const H: f64 = 24.0;
    let top = nice_ceiling(points.iter().map(|p| p.0).fold(0.0, f64::max));
    let x = |i: usize| 3.0 + (W - 6.0) * (i as f64 + 0.5) / points.len().max(1) as f64;
    let y = |v: f64| 3.0 + (H - 6.0) * (1.0 - (v / top).clamp(0.0, 1.0));
    let line: Vec<String> = points
        .iter()
        .enumerate()
        .map(|(i, p)| format!("{},{}", n(x(i)), n(y(p.0))))
        .collect();
    html! {
        svg .spark xmlns="http://www.w3.org/2000/svg" viewBox={"0 0 " (W) " " (H)} role="img" aria-label=(title) {
            title { (title) }
            @if points.len() > 1 { polyline .series points=(line.join(" ")) {} }
            @for (i, (v, mark)) in points.iter().enumerate() {
                @match mark {
                    Mark::Done => { @if points.len() == 1 || i + 1 == points.len() { circle .point.done cx=(n(x(i))) cy=(n(y(*v))) r="2" {} } }
                    Mark::Held => { rect .point.held x=(n(x(i) - 2.5)) y=(n(y(*v) - 2.5)) width="5" height="5" {} }
                    Mark::Failed => { path .point.failed d={"M" (n(x(i))) " " (n(y(*v) - 3.0)) "L" (n(x(i) + 3.0)) " " (n(y(*v) + 2.5)) "L" (n(x(i) - 3.0)) " " (n(y(*v) + 2.5)) "Z"} {} }
                }
            }
        }
    }
}

/// One script's row of the timeline.
pub(super) struct Lane {
    /// The script's name, as the row's label.
    pub label: String,
    /// Where its page is.
    pub href: String,
    /// Its runs: where in the window (0 = now, 1 = a day on) and the time in words.
    pub runs: Vec<(f64, String)>,
}

/// The next day's runs: one row per script, a tick per run, the hours
/// along the top labelled in the reader's zone.
pub(super) fn timeline(id: &str, title: &str, desc: &str, hours: &[(f64, String)], lanes: &[Lane]) -> Markup {
    const LABELS: f64 = 190.0;
    const ROW: f64 = 26.0;
    const HEAD: f64 = 26.0;
    let height = HEAD + ROW * lanes.len().max(1) as f64 + 6.0;
    let x = |f: f64| LABELS + (WIDTH - LABELS - RIGHT) * f.clamp(0.0, 1.0);
    let title_id = format!("{id}-title");
    let desc_id = format!("{id}-desc");
    html! {
        svg id=(id) .chart.timeline xmlns="http://www.w3.org/2000/svg" viewBox={"0 0 " (WIDTH) " " (n(height))}
            role="img" aria-labelledby={(title_id) " " (desc_id)} {
            title id=(title_id) { (title) }
            desc id=(desc_id) { (desc) }
            @for (f, label) in hours {
                line .grid x1=(n(x(*f))) x2=(n(x(*f))) y1=(n(HEAD - 6.0)) y2=(n(height - 4.0)) {}
                text .axis x=(n(x(*f))) y="14" text-anchor="middle" { (label) }
            }
            @for (i, lane) in lanes.iter().enumerate() {
                @let y = HEAD + ROW * i as f64 + ROW / 2.0;
                a href=(lane.href) { text .lane-label x=(n(LABELS - 8.0)) y=(n(y + 4.0)) text-anchor="end" { (lane.label) } }
                line .lane x1=(n(LABELS)) x2=(n(WIDTH - RIGHT)) y1=(n(y)) y2=(n(y)) {}
                @for (f, when) in &lane.runs {
                    circle .point.scheduled cx=(n(x(*f))) cy=(n(y)) r="5" { title { (lane.label) " at " (when) } }
                }
            }
        }
    }
}

/// Seconds as a person reads a run's length: `0.4 s`, `42 s`, `3 m 05 s`,
/// `1 h 02 m`.
pub(super) fn duration(secs: f64) -> String {
    let secs = secs.max(0.0);
    if secs < 10.0 {
        return format!("{} s", n((secs * 10.0).round() / 10.0));
    }
    let s = secs.round() as u64;
    match s {
        0..=59 => format!("{s} s"),
        60..=3599 => format!("{} m {:02} s", s / 60, s % 60),
        _ => format!("{} h {:02} m", s / 3600, s % 3600 / 60),
    }
}

/// Rows as the rest of the console writes them: `12,345`.
pub(super) fn rows(v: f64) -> String {
    crate::format::thousands(v.max(0.0).round() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn point(run: i64, value: f64, mark: Mark) -> Point {
        Point {
            value,
            mark,
            note: format!("run {run}: {value}"),
            run,
        }
    }

    #[test]
    fn axes_end_at_round_numbers() {
        assert_eq!(nice_ceiling(0.0), 1.0);
        assert_eq!(nice_ceiling(f64::NAN), 1.0);
        assert_eq!(nice_ceiling(3.0), 5.0);
        assert_eq!(nice_ceiling(10.0), 10.0);
        assert_eq!(nice_ceiling(1_234.0), 2_000.0);
        assert_eq!(nice_ceiling(0.3), 0.5);
        assert_eq!(nice_ceiling(5_000.1), 10_000.0);
        assert_eq!(ticks(10.0), [0.0, 2.0, 4.0, 6.0, 8.0, 10.0]);
        assert_eq!(ticks(5.0), [0.0, 1.0, 2.0, 3.0, 4.0, 5.0]);
        assert_eq!(ticks(2000.0), [0.0, 500.0, 1000.0, 1500.0, 2000.0]);
        let fifths: Vec<String> = ticks(1.0).into_iter().map(n).collect();
        assert_eq!(fifths, ["0", "0.2", "0.4", "0.6", "0.8", "1"]);
    }

    #[test]
    fn a_series_has_one_shape_per_run_and_its_guards() {
        let s = Series {
            id: "rows-chart",
            title: "Rows per run".into(),
            desc: "Three runs <of> roster".into(),
            unit: rows,
            least_top: 5.0,
            points: vec![
                point(1, 1000.0, Mark::Done),
                point(2, 400.0, Mark::Held),
                point(3, 0.0, Mark::Failed),
            ],
            thresholds: vec![
                Threshold::Floor {
                    value: 900.0,
                    label: "min_rows 900".into(),
                },
                Threshold::Band {
                    low: 900.0,
                    high: 1100.0,
                    label: "max_change 10 %".into(),
                },
            ],
        };
        let svg = series(&s).into_string();
        assert_eq!(svg.matches("class=\"point ").count(), 3, "{svg}");
        assert_eq!(svg.matches("class=\"point held\"").count(), 1);
        assert_eq!(svg.matches("class=\"point failed\"").count(), 1);
        assert!(svg.contains("<circle class=\"point done\" data-run=\"1\""), "{svg}");
        assert!(svg.contains("<title id=\"rows-chart-title\">Rows per run</title>"));
        assert!(svg.contains("Three runs &lt;of&gt; roster"), "escaped: {svg}");
        assert!(svg.contains("aria-labelledby=\"rows-chart-title rows-chart-desc\""));
        assert!(svg.contains("class=\"guard floor\"") && svg.contains("class=\"guard band\""));
        assert!(!svg.contains("style="), "no inline style under the CSP");
        // The axis runs to 2,000 (1,100 × 1.05 rounded up): 1,000 rows sits halfway.
        assert!(svg.contains(">2,000</text>"), "{svg}");
        let mid = y_of(1000.0, 2000.0);
        assert!(svg.contains(&format!("cy=\"{}\"", n(mid))), "{svg}");
        // Oldest on the left, newest on the right.
        assert!(x_of(0, 3) < x_of(2, 3));
    }

    #[test]
    fn a_sparkline_marks_held_and_failed_runs() {
        let svg = sparkline(
            "roster: rows of the last 3 runs",
            &[
                (10.0, Mark::Done),
                (4.0, Mark::Held),
                (0.0, Mark::Failed),
                (10.0, Mark::Done),
            ],
        )
        .into_string();
        assert!(svg.contains("<title>roster: rows of the last 3 runs</title>"));
        assert_eq!(svg.matches("point held").count(), 1);
        assert_eq!(svg.matches("point failed").count(), 1);
        assert_eq!(
            svg.matches("point done").count(),
            1,
            "only the newest plain run is dotted"
        );
        assert!(svg.contains("<polyline"));
        assert!(sparkline("empty", &[]).into_string().contains("<title>empty</title>"));
    }

    #[test]
    fn a_timeline_has_a_row_per_script_and_a_tick_per_run() {
        let lanes = vec![
            Lane {
                label: "Roster".into(),
                href: "/extracts/roster".into(),
                runs: vec![(0.25, "06:00 CST".into()), (0.75, "18:00 CST".into())],
            },
            Lane {
                label: "Photos".into(),
                href: "/extracts/photos".into(),
                runs: vec![(0.5, "12:00 CST".into())],
            },
        ];
        let svg = timeline("next-day", "Next 24 hours", "3 runs", &[(0.0, "now".into())], &lanes).into_string();
        assert_eq!(svg.matches("class=\"point scheduled\"").count(), 3);
        assert!(svg.contains("<title>Roster at 18:00 CST</title>"), "{svg}");
        assert!(svg.contains("href=\"/extracts/photos\""));
        assert!(svg.contains(">now</text>"));
    }

    #[test]
    fn durations_read_like_a_clock() {
        assert_eq!(duration(0.0), "0 s");
        assert_eq!(duration(0.44), "0.4 s");
        assert_eq!(duration(9.0), "9 s");
        assert_eq!(duration(59.0), "59 s");
        assert_eq!(duration(185.0), "3 m 05 s");
        assert_eq!(duration(3720.0), "1 h 02 m");
        assert_eq!(rows(12345.4), "12,345");
    }
}
