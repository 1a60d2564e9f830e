//! The score-over-time chart of the account page, as inline SVG drawn on
//! the server: one point per signal (and the score now), the FLAG,
//! THROTTLE and SUSPEND thresholds as dashed lines.

use std::fmt::Write;

const W: f64 = 640.0;
const H: f64 = 180.0;
const PAD: f64 = 30.0;

/// The chart of `points` (event time ms, score in [0, 1]) with the ladder's
/// `thresholds` (name, score).
pub fn score_chart(points: &[(i64, f64)], thresholds: &[(&str, f64)]) -> String {
    let mut s = String::new();
    let _ = write!(
        s,
        "<svg class=\"chart\" id=\"score-chart\" xmlns=\"http://www.w3.org/2000/svg\" width=\"{W}\" height=\"{H}\" viewBox=\"0 0 {W} {H}\" role=\"img\" aria-label=\"score over time\">"
    );
    let y = |v: f64| PAD + (1.0 - v.clamp(0.0, 1.0)) * (H - 2.0 * PAD);
    let _ = write!(
        s,
        "<line x1=\"{PAD}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"#999\"/>",
        y(0.0),
        W - PAD,
        y(0.0)
    );
    for (name, v) in thresholds {
        let _ = write!(
            s,
            "<line x1=\"{PAD}\" y1=\"{yy:.1}\" x2=\"{x2}\" y2=\"{yy:.1}\" stroke=\"#c77\" stroke-dasharray=\"4 3\"/><text x=\"{tx}\" y=\"{ty:.1}\" font-size=\"10\" fill=\"#a44\">{name} {v:.2}</text>",
            yy = y(*v),
            x2 = W - PAD,
            tx = W - PAD - 80.0,
            ty = y(*v) - 2.0,
        );
    }
    if points.is_empty() {
        s.push_str("<text x=\"40\" y=\"90\" font-size=\"12\">no signals recorded since the console started</text></svg>");
        return s;
    }
    let (t0, t1) = points.iter().fold((i64::MAX, i64::MIN), |(a, b), (t, _)| {
        (a.min(*t), b.max(*t))
    });
    let span = (t1.saturating_sub(t0)).max(1) as f64;
    let x = |t: i64| PAD + (t.saturating_sub(t0)) as f64 / span * (W - 2.0 * PAD);
    let path: Vec<String> = points
        .iter()
        .map(|(t, v)| format!("{:.1},{:.1}", x(*t), y(*v)))
        .collect();
    let _ = write!(
        s,
        "<polyline fill=\"none\" stroke=\"#1d3557\" stroke-width=\"2\" points=\"{}\"/>",
        path.join(" ")
    );
    for (t, v) in points {
        let _ = write!(
            s,
            "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"3\" fill=\"#1d3557\"><title>{v:.3}</title></circle>",
            x(*t),
            y(*v)
        );
    }
    let _ = write!(
        s,
        "<text x=\"{PAD}\" y=\"{}\" font-size=\"10\">{}</text><text x=\"{}\" y=\"{}\" font-size=\"10\" text-anchor=\"end\">{}</text></svg>",
        H - 8.0,
        super::pages::time(t0),
        W - PAD,
        H - 8.0,
        super::pages::time(t1)
    );
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_point_per_score_and_a_line_per_threshold() {
        let svg = score_chart(&[(0, 0.2), (60_000, 0.7)], &[("FLAG", 0.5)]);
        assert_eq!(svg.matches("<circle").count(), 2);
        assert!(svg.contains("FLAG 0.50"));
        assert!(score_chart(&[], &[]).contains("no signals"));
    }
}
