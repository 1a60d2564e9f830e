//! A [`Point`] as one line of `key=value` fields, from the child process
//! that measured it to the parent that tabulates.

use crate::measure::Point;

/// The line's first word.
pub const TAG: &str = "scale-point";

fn list(v: &[f64]) -> String {
    v.iter()
        .map(|x| format!("{x:.0}"))
        .collect::<Vec<_>>()
        .join(",")
}

/// `p` as one line.
pub fn to_line(p: &Point) -> String {
    format!(
        "{TAG} accounts={} conversations={} wabas={} fill_events={} fill_s={:.3} rss={} store_bytes={} sweep_ms={:.3} text={} metadata={} text_cpu={} metadata_cpu={} signals={} anomalies={}",
        p.accounts,
        p.conversations,
        p.wabas,
        p.fill.0,
        p.fill.1,
        p.rss,
        p.store_bytes,
        p.sweep_ms,
        list(&p.text),
        list(&p.metadata),
        list(&p.text_cpu),
        list(&p.metadata_cpu),
        p.signals,
        p.anomalies
    )
}

/// The point of a line written by [`to_line`], if it is one.
pub fn from_line(line: &str) -> Option<Point> {
    let mut words = line.split_whitespace();
    if words.next()? != TAG {
        return None;
    }
    let fields: std::collections::HashMap<&str, &str> =
        words.filter_map(|w| w.split_once('=')).collect();
    let num = |k: &str| fields.get(k)?.parse::<f64>().ok();
    let int = |k: &str| fields.get(k)?.parse::<u64>().ok();
    let rates = |k: &str| -> Option<Vec<f64>> {
        fields.get(k)?.split(',').map(|x| x.parse().ok()).collect()
    };
    Some(Point {
        accounts: int("accounts")? as usize,
        conversations: int("conversations")? as usize,
        wabas: int("wabas")? as usize,
        fill: (int("fill_events")?, num("fill_s")?),
        rss: int("rss")?,
        store_bytes: int("store_bytes")? as usize,
        sweep_ms: num("sweep_ms")?,
        text: rates("text")?,
        metadata: rates("metadata")?,
        text_cpu: rates("text_cpu")?,
        metadata_cpu: rates("metadata_cpu")?,
        signals: int("signals")?,
        anomalies: int("anomalies")?,
    })
}
