//! The run's charts (issue #25): SVG files drawn with `plotters` from a run's record, beside
//! the markdown table (`--charts DIR`, default `bench-charts/` next to `--out`).
//!
//! - `fanout-latency-http1.svg`, `fanout-latency-h2c.svg`: the delivery latency of the
//!   fan-out per server and subscriber count, a box from p50 to p99 and a whisker to the
//!   maximum, on a log scale;
//! - `fanout-server-cpu.svg`: the server's CPU time per delivery;
//! - `rss-per-stream.svg`: server memory per idle stream (HTTP/1.1 and h2c) and per
//!   fan-out subscriber;
//! - `throughput.svg`: events per second on one stream;
//! - `compression.svg`: bytes per event of both payloads, memory per idle stream and time
//!   to first event, per coding.
//!
//! A chart whose rows the run did not measure is not written. The values are medians of
//! the repetitions.

use std::path::{Path, PathBuf};

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::record::Record;
use crate::shared::thousands;

type Error = Box<dyn std::error::Error>;
type Area<'a> = DrawingArea<SVGBackend<'a>, Shift>;

const WIDTH: u32 = 900;
const HEIGHT: u32 = 480;
const FONT: &str = "sans-serif";

/// A server's colour, the same in every chart.
fn colour(name: &str, index: usize) -> RGBColor {
    match name {
        "ours" => RGBColor(31, 119, 180),
        "axum" => RGBColor(255, 127, 14),
        "raw hyper" => RGBColor(44, 160, 44),
        "FastAPI" => RGBColor(214, 39, 40),
        "ours+trace" => RGBColor(148, 103, 189),
        "ours + Redis" => RGBColor(140, 86, 75),
        _ => {
            const OTHERS: [RGBColor; 4] = [
                RGBColor(23, 190, 207),
                RGBColor(188, 189, 34),
                RGBColor(227, 119, 194),
                RGBColor(127, 127, 127),
            ];
            OTHERS[index % OTHERS.len()]
        }
    }
}

/// A value as a bar's label: three significant digits or a whole number.
fn short(v: f64) -> String {
    let a = v.abs();
    if a >= 1e6 {
        format!("{:.2}M", v / 1e6)
    } else if a >= 1e4 {
        format!("{:.0}k", v / 1e3)
    } else if a >= 100.0 {
        format!("{v:.0}")
    } else if a >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

/// Bars in groups: one group per category on the x axis, one bar per series in each.
struct Bars {
    title: String,
    y_desc: String,
    groups: Vec<String>,
    /// A series' name and its value in each group.
    series: Vec<(String, Vec<Option<f64>>)>,
}

impl Bars {
    fn is_empty(&self) -> bool {
        self.series
            .iter()
            .all(|(_, values)| values.iter().all(Option::is_none))
    }
}

/// Draws `bars` on `area`; labels outside the plot go on `root`.
fn draw_bars(root: &Area<'_>, area: &Area<'_>, bars: &Bars) -> Result<(), Error> {
    let top = bars
        .series
        .iter()
        .flat_map(|(_, v)| v.iter().flatten())
        .fold(0.0_f64, |a, b| a.max(*b));
    let top = if top > 0.0 { top * 1.2 } else { 1.0 };
    let groups = bars.groups.len().max(1);
    let mut chart = ChartBuilder::on(area)
        .caption(&bars.title, (FONT, 18))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(70)
        .set_label_area_size(LabelAreaPosition::Top, 26)
        .build_cartesian_2d(0.0..groups as f64, 0.0..top)?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .light_line_style(WHITE)
        .x_labels(0)
        .x_label_formatter(&|_| String::new())
        .y_desc(bars.y_desc.as_str())
        .y_label_formatter(&|v| short(*v))
        .label_style((FONT, 12))
        .draw()?;
    let width = 0.8 / bars.series.len().max(1) as f64;
    for (j, (name, values)) in bars.series.iter().enumerate() {
        let fill = colour(name, j);
        let rects = values.iter().enumerate().filter_map(|(i, v)| {
            let x0 = i as f64 + 0.1 + j as f64 * width;
            v.map(|v| Rectangle::new([(x0, 0.0), (x0 + width * 0.92, v)], fill.filled()))
        });
        chart.draw_series(rects)?;
        for (i, v) in values.iter().enumerate() {
            if let Some(v) = v {
                let x = i as f64 + 0.1 + (j as f64 + 0.46) * width;
                let (px, py) = chart.backend_coord(&(x, *v));
                root.draw(&Text::new(
                    short(*v),
                    (px, py - 3),
                    TextStyle::from((FONT, 11).into_font())
                        .pos(Pos::new(HPos::Center, VPos::Bottom)),
                ))?;
            }
        }
    }
    group_labels(root, &bars.groups, |i| chart.backend_coord(&(i + 0.5, 0.0)))?;
    if bars.series.len() > 1 {
        let names: Vec<&str> = bars.series.iter().map(|(n, _)| n.as_str()).collect();
        legend(root, &names, chart.backend_coord(&(0.0, top)))?;
    }
    Ok(())
}

/// The series' colours and names in a row above the plot, whose top left corner is at
/// `corner` (pixels).
fn legend(root: &Area<'_>, names: &[&str], corner: (i32, i32)) -> Result<(), Error> {
    let (mut x, y) = (corner.0 + 8, corner.1 - 14);
    for (i, name) in names.iter().enumerate() {
        root.draw(&Rectangle::new(
            [(x, y - 5), (x + 10, y + 5)],
            colour(name, i).filled(),
        ))?;
        root.draw(&Text::new(
            (*name).to_owned(),
            (x + 15, y),
            TextStyle::from((FONT, 12).into_font()).pos(Pos::new(HPos::Left, VPos::Center)),
        ))?;
        // The naive font metrics: about 7 px per character at 12 px.
        x += 15 + 7 * i32::try_from(name.chars().count()).unwrap_or(20) + 20;
    }
    Ok(())
}

/// The groups' names under the x axis, centred on `at(i)` (the pixel of group i's middle
/// on the axis).
fn group_labels(
    root: &Area<'_>,
    groups: &[String],
    at: impl Fn(f64) -> (i32, i32),
) -> Result<(), Error> {
    for (i, name) in groups.iter().enumerate() {
        let (px, py) = at(i as f64);
        root.draw(&Text::new(
            name.clone(),
            (px, py + 8),
            TextStyle::from((FONT, 12).into_font()).pos(Pos::new(HPos::Center, VPos::Top)),
        ))?;
    }
    Ok(())
}

/// The fan-out's latency per server and subscriber count: p50..p99 box, whisker to max.
fn fanout_latency(
    record: &Record,
    scenario: &str,
    title: &str,
    path: &Path,
) -> Result<bool, Error> {
    let sizes = record.sizes(scenario);
    let servers: Vec<String> = record
        .servers()
        .into_iter()
        .filter(|s| {
            sizes
                .iter()
                .any(|n| record.find(scenario, Some(*n), None, "p99", s).is_some())
        })
        .collect();
    if sizes.is_empty() || servers.is_empty() {
        return Ok(false);
    }
    let values: Vec<f64> = record
        .rows
        .iter()
        .filter(|r| r.scenario == scenario && matches!(r.metric.as_str(), "p50" | "p99" | "max"))
        .map(|r| r.median)
        .filter(|v| *v > 0.0)
        .collect();
    let low = values.iter().copied().fold(f64::INFINITY, f64::min);
    let high = values.iter().copied().fold(0.0_f64, f64::max);
    let (low, high) = if values.is_empty() {
        (0.1, 10.0)
    } else {
        (low / 2.0, high * 2.0)
    };

    let root = SVGBackend::new(path, (WIDTH, HEIGHT)).into_drawing_area();
    root.fill(&WHITE)?;
    let mut chart = ChartBuilder::on(&root)
        .caption(title, (FONT, 18))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(70)
        .set_label_area_size(LabelAreaPosition::Top, 26)
        .build_cartesian_2d(0.0..sizes.len() as f64, (low..high).log_scale())?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .light_line_style(WHITE)
        .x_labels(0)
        .x_label_formatter(&|_| String::new())
        .y_desc("delivery latency (ms, log scale)")
        .y_label_formatter(&|v| short(*v))
        .label_style((FONT, 12))
        .draw()?;
    let width = 0.8 / servers.len() as f64;
    for (j, server) in servers.iter().enumerate() {
        let fill = colour(server, j);
        let mut boxes = Vec::new();
        let mut whiskers = Vec::new();
        for (i, n) in sizes.iter().enumerate() {
            let stat = |s: &str| record.median(scenario, Some(*n), None, s, server);
            let x0 = i as f64 + 0.1 + j as f64 * width;
            let x1 = x0 + width * 0.85;
            let mid = (x0 + x1) / 2.0;
            if let (Some(p50), Some(p99)) = (stat("p50"), stat("p99")) {
                boxes.push(Rectangle::new(
                    [(x0, p50.max(low)), (x1, p99.max(low))],
                    fill.filled(),
                ));
                if let Some(max) = stat("max") {
                    whiskers.push(PathElement::new(
                        vec![(mid, p99.max(low)), (mid, max.max(low))],
                        fill.stroke_width(2),
                    ));
                    whiskers.push(PathElement::new(
                        vec![
                            (x0 + width * 0.2, max.max(low)),
                            (x1 - width * 0.2, max.max(low)),
                        ],
                        fill.stroke_width(2),
                    ));
                }
                // The p99 figure above the whisker (or the box's top).
                let top = stat("max").unwrap_or(p99).max(p99).max(low);
                let (px, py) = chart.backend_coord(&(mid, top));
                root.draw(&Text::new(
                    format!("p99 {}", short(p99)),
                    (px, py - 3),
                    TextStyle::from((FONT, 10).into_font())
                        .pos(Pos::new(HPos::Center, VPos::Bottom)),
                ))?;
            }
        }
        chart.draw_series(boxes)?;
        chart.draw_series(whiskers)?;
    }
    let labels: Vec<String> = sizes
        .iter()
        .map(|n| format!("{} subscribers", thousands(*n)))
        .collect();
    group_labels(&root, &labels, |i| chart.backend_coord(&(i + 0.5, low)))?;
    let names: Vec<&str> = servers.iter().map(String::as_str).collect();
    legend(&root, &names, chart.backend_coord(&(0.0, high)))?;
    root.draw(&Text::new(
        "box: p50 to p99; whisker: max; figure: p99 (ms)",
        (WIDTH as i32 - 16, HEIGHT as i32 - 8),
        TextStyle::from((FONT, 11).into_font()).pos(Pos::new(HPos::Right, VPos::Bottom)),
    ))?;
    root.present()?;
    Ok(true)
}

/// Bars of one metric over groups of (scenario, size), one series per server.
fn per_server(
    record: &Record,
    groups: &[(String, &str, Option<usize>)],
    metric: &[&str],
) -> Vec<(String, Vec<Option<f64>>)> {
    record
        .servers()
        .into_iter()
        .map(|server| {
            let values = groups
                .iter()
                .map(|(_, scenario, size)| {
                    metric
                        .iter()
                        .find_map(|m| record.median(scenario, *size, None, m, &server))
                })
                .collect();
            (server, values)
        })
        .filter(|(_, values): &(String, Vec<Option<f64>>)| values.iter().any(Option::is_some))
        .collect()
}

fn single(path: &Path, bars: &Bars) -> Result<bool, Error> {
    if bars.is_empty() {
        return Ok(false);
    }
    let root = SVGBackend::new(path, (WIDTH, HEIGHT)).into_drawing_area();
    root.fill(&WHITE)?;
    draw_bars(&root, &root, bars)?;
    root.present()?;
    Ok(true)
}

fn fanout_cpu(record: &Record, path: &Path) -> Result<bool, Error> {
    let mut groups = Vec::new();
    for (scenario, over) in [("fanout", "HTTP/1.1"), ("fanout-h2", "h2c")] {
        for n in record.sizes(scenario) {
            groups.push((format!("{over}, {}", thousands(n)), scenario, Some(n)));
        }
    }
    let bars = Bars {
        title: "Fan-out: server CPU per delivery".to_owned(),
        y_desc: "µs per delivery".to_owned(),
        series: per_server(record, &groups, &["server_cpu_per_delivery"]),
        groups: groups.into_iter().map(|g| g.0).collect(),
    };
    single(path, &bars)
}

fn rss(record: &Record, path: &Path) -> Result<bool, Error> {
    let mut groups = Vec::new();
    for (scenario, what) in [
        ("streams", "idle, HTTP/1.1"),
        ("streams-h2", "idle, h2c"),
        ("fanout", "fan-out, HTTP/1.1"),
        ("fanout-h2", "fan-out, h2c"),
    ] {
        for n in record.sizes(scenario) {
            groups.push((format!("{what}, {}", thousands(n)), scenario, Some(n)));
        }
    }
    let bars = Bars {
        title: "Server memory (RSS growth) per stream".to_owned(),
        y_desc: "KiB per stream".to_owned(),
        series: per_server(record, &groups, &["rss_per_stream", "rss_per_subscriber"]),
        groups: groups.into_iter().map(|g| g.0).collect(),
    };
    single(path, &bars)
}

fn throughput(record: &Record, path: &Path) -> Result<bool, Error> {
    let groups = vec![("one stream".to_owned(), "throughput", None)];
    let bars = Bars {
        title: "Throughput, 1 stream".to_owned(),
        y_desc: "events per second".to_owned(),
        series: per_server(record, &groups, &["events_per_s"]),
        groups: groups.into_iter().map(|g| g.0).collect(),
    };
    single(path, &bars)
}

fn compression(record: &Record, path: &Path) -> Result<bool, Error> {
    let mut codings: Vec<String> = Vec::new();
    for row in record.rows.iter().filter(|r| r.scenario == "compression") {
        if let Some(coding) = &row.variant {
            if !codings.contains(coding) {
                codings.push(coding.clone());
            }
        }
    }
    if codings.is_empty() {
        return Ok(false);
    }
    let of = |metric: &str| -> Vec<Option<f64>> {
        codings
            .iter()
            .map(|c| {
                record
                    .rows
                    .iter()
                    .find(|r| {
                        r.scenario == "compression"
                            && r.variant.as_ref() == Some(c)
                            && r.metric == metric
                    })
                    .map(|r| r.median)
            })
            .collect()
    };
    let panels = [
        Bars {
            title: "Bytes per event".to_owned(),
            y_desc: "bytes per event".to_owned(),
            groups: codings.clone(),
            series: vec![
                ("stocks".to_owned(), of("stocks_bytes_per_event")),
                ("tokens".to_owned(), of("tokens_bytes_per_event")),
            ],
        },
        Bars {
            title: "Memory per idle stream".to_owned(),
            y_desc: "KiB per idle stream".to_owned(),
            groups: codings.clone(),
            series: vec![("ours".to_owned(), of("rss_per_idle_stream"))],
        },
        Bars {
            title: "Time to first event, p50".to_owned(),
            y_desc: "ms".to_owned(),
            groups: codings.clone(),
            series: vec![("ours".to_owned(), of("ttfe_p50"))],
        },
    ];
    let root = SVGBackend::new(path, (WIDTH + 450, HEIGHT)).into_drawing_area();
    root.fill(&WHITE)?;
    // Labels are drawn in the backend's pixels: on `root`, not on the titled area below.
    let body = root.titled("Compressed streams (ours)", (FONT, 20))?;
    for (area, bars) in body.split_evenly((1, panels.len())).iter().zip(&panels) {
        draw_bars(&root, area, bars)?;
    }
    root.present()?;
    Ok(true)
}

/// Draws every chart the record has rows for into `dir`; the files written.
pub fn write_all(record: &Record, dir: &Path) -> Result<Vec<PathBuf>, String> {
    std::fs::create_dir_all(dir).map_err(|err| format!("{}: {err}", dir.display()))?;
    type Draw = fn(&Record, &Path) -> Result<bool, Error>;
    let charts: [(&str, Draw); 6] = [
        ("fanout-latency-http1.svg", |r, p| {
            fanout_latency(r, "fanout", "Fan-out over HTTP/1.1: delivery latency", p)
        }),
        ("fanout-latency-h2c.svg", |r, p| {
            fanout_latency(
                r,
                "fanout-h2",
                "Fan-out over h2c (100 streams per connection): delivery latency",
                p,
            )
        }),
        ("fanout-server-cpu.svg", fanout_cpu),
        ("rss-per-stream.svg", rss),
        ("throughput.svg", throughput),
        ("compression.svg", compression),
    ];
    let mut written = Vec::new();
    for (name, draw) in charts {
        let path = dir.join(name);
        match draw(record, &path) {
            Ok(true) => written.push(path),
            Ok(false) => {}
            Err(err) => return Err(format!("{}: {err}", path.display())),
        }
    }
    Ok(written)
}
