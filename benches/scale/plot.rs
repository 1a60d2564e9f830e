//! The scale curve as a small hand-written SVG: events/s (with text and
//! without) against accounts on a log scale.

use std::fmt::Write;

use crate::measure::Point;

const W: f64 = 820.0;
const H: f64 = 420.0;
const LEFT: f64 = 90.0;
const RIGHT: f64 = 70.0;
const TOP: f64 = 50.0;
const BOTTOM: f64 = 70.0;

/// One line of the plot: its legend, its colour, its dash pattern and the rate it draws.
type Series = (&'static str, &'static str, &'static str, fn(&Point) -> f64);

/// `n` as `1k`, `10k`, `1M`.
pub fn short(n: usize) -> String {
    match n {
        n if n >= 1_000_000 && n % 1_000_000 == 0 => format!("{}M", n / 1_000_000),
        n if n >= 1_000_000 => format!("{:.1}M", n as f64 / 1e6),
        n if n >= 1_000 && n % 1_000 == 0 => format!("{}k", n / 1_000),
        n => n.to_string(),
    }
}

/// The plot of `points` (in order of size), titled with `subtitle`.
pub fn svg(points: &[Point], subtitle: &str) -> String {
    let (lo, hi) = (
        (points[0].accounts.max(1) as f64).log10(),
        (points[points.len() - 1].accounts.max(1) as f64).log10(),
    );
    let span = (hi - lo).max(1.0);
    let top = points
        .iter()
        .map(|p| {
            p.metadata_cpu_rate()
                .max(p.text_cpu_rate())
                .max(p.metadata_rate())
        })
        .fold(0.0, f64::max);
    let step = nice_step(top / 5.0);
    let ymax = (top / step).ceil() * step;
    let x = |n: usize| LEFT + ((n.max(1) as f64).log10() - lo) / span * (W - LEFT - RIGHT);
    let y = |v: f64| H - BOTTOM - v / ymax * (H - TOP - BOTTOM);

    let mut s = String::new();
    let _ = writeln!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" viewBox="0 0 {W} {H}" font-family="sans-serif" font-size="12">"#
    );
    let _ = writeln!(s, r#"<rect width="{W}" height="{H}" fill="white"/>"#);
    let _ = writeln!(
        s,
        r#"<text x="{LEFT}" y="22" font-size="15" font-weight="bold">satpam hot path on one thread against state size</text>"#
    );
    let _ = writeln!(
        s,
        r##"<text x="{LEFT}" y="40" fill="#555">{subtitle}</text>"##
    );
    let mut v = 0.0;
    while v <= ymax + step / 2.0 {
        let yy = y(v);
        let _ = writeln!(
            s,
            r##"<line x1="{LEFT}" y1="{yy:.1}" x2="{:.1}" y2="{yy:.1}" stroke="#ddd"/><text x="{:.1}" y="{:.1}" text-anchor="end">{}k</text>"##,
            W - RIGHT,
            LEFT - 6.0,
            yy + 4.0,
            (v / 1e3).round()
        );
        v += step;
    }
    for p in points {
        let xx = x(p.accounts);
        let _ = writeln!(
            s,
            r##"<line x1="{xx:.1}" y1="{TOP}" x2="{xx:.1}" y2="{:.1}" stroke="#eee"/><text x="{xx:.1}" y="{:.1}" text-anchor="middle">{} acc.</text><text x="{xx:.1}" y="{:.1}" text-anchor="middle" fill="#555">{} conv.</text>"##,
            H - BOTTOM,
            H - BOTTOM + 18.0,
            short(p.accounts),
            H - BOTTOM + 34.0,
            short(p.conversations)
        );
    }
    let _ = writeln!(
        s,
        r#"<text x="24" y="{:.1}" transform="rotate(-90 24 {:.1})" text-anchor="middle">events/s (medians of the timed rounds)</text>"#,
        (H - BOTTOM + TOP) / 2.0,
        (H - BOTTOM + TOP) / 2.0
    );
    let series: [Series; 4] = [
        (
            "metadata, per CPU-s",
            "#1f77b4",
            "none",
            Point::metadata_cpu_rate,
        ),
        ("text, per CPU-s", "#d62728", "none", Point::text_cpu_rate),
        (
            "metadata, wall clock",
            "#1f77b4",
            "5,4",
            Point::metadata_rate,
        ),
        ("text, wall clock", "#d62728", "5,4", Point::text_rate),
    ];
    for (i, (name, colour, dash, rate)) in series.iter().enumerate() {
        let pts: Vec<String> = points
            .iter()
            .map(|p| format!("{:.1},{:.1}", x(p.accounts), y(rate(p))))
            .collect();
        let _ = writeln!(
            s,
            r#"<polyline points="{}" fill="none" stroke="{colour}" stroke-width="2" stroke-dasharray="{dash}"/>"#,
            pts.join(" ")
        );
        for p in points.iter().filter(|_| *dash == "none") {
            let (xx, yy) = (x(p.accounts), y(rate(p)));
            // Metadata labels above their points, text labels below.
            let label_y = if i == 0 { yy - 9.0 } else { yy + 18.0 };
            let _ = writeln!(
                s,
                r#"<circle cx="{xx:.1}" cy="{yy:.1}" r="4" fill="{colour}"/><text x="{xx:.1}" y="{label_y:.1}" text-anchor="middle" fill="{colour}">{:.0}k</text>"#,
                rate(p) / 1e3
            );
        }
        let ly = H - 14.0;
        let lx = LEFT + i as f64 * 175.0;
        let _ = writeln!(
            s,
            r#"<line x1="{lx}" y1="{:.1}" x2="{:.1}" y2="{:.1}" stroke="{colour}" stroke-width="2" stroke-dasharray="{dash}"/><text x="{:.1}" y="{ly}">{name}</text>"#,
            ly - 4.0,
            lx + 24.0,
            ly - 4.0,
            lx + 30.0
        );
    }
    s.push_str("</svg>\n");
    s
}

/// 1, 2 or 5 times a power of ten, at least `raw`.
fn nice_step(raw: f64) -> f64 {
    let p = 10f64.powf(raw.max(1.0).log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * p)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * p)
}
