//! The two charts nninit draws: ratios as horizontal bars (with their targets), and a histogram
//! with the expected density over it.

use nninit::inspect::Histogram;

use super::canvas::{text_width, Canvas, BLACK, BLUE, GRAY, GREEN, LIGHT_BLUE, RED};

/// One bar: a label, a value, and the target it should reach.
pub struct Bar {
    /// Shown left of the bar.
    pub label: String,
    /// The bar's length.
    pub value: f64,
    /// Drawn as a red tick; the bar is green when it reaches it.
    pub target: Option<f64>,
}

/// Horizontal bars on a logarithmic scale (ratios from 0.01x to 100x read alike), with a line
/// at 1x and red ticks at targets.
pub fn bar_chart(title: &str, subtitle: &str, bars: &[Bar]) -> Canvas {
    let label_width = bars.iter().map(|b| text_width(&b.label)).max().unwrap_or(0) + 16;
    let (width, row, top) = (label_width + 560, 22i64, 56i64);
    let height = top + row * bars.len() as i64 + 30;
    let mut canvas = Canvas::new(width as u32, height as u32);
    canvas.text(10, 10, title, BLACK);
    canvas.text(10, 26, subtitle, BLACK);
    let values = bars.iter().flat_map(|b| [b.value, b.target.unwrap_or(b.value)]).filter(|v| *v > 0.0);
    let (lo, hi) = values.fold((1.0f64, 1.0f64), |(lo, hi), v| (lo.min(v), hi.max(v)));
    let (decade_lo, decade_hi) = ((lo * 0.9).log10().floor(), (hi * 1.1).log10().ceil());
    let plot_width = (width - label_width - 90) as f64;
    let x_of = |v: f64| {
        let t = (v.max(10f64.powf(decade_lo)).log10() - decade_lo) / (decade_hi - decade_lo);
        label_width as f64 + t * plot_width
    };
    let bottom = top + row * bars.len() as i64;
    for decade in decade_lo as i32..=decade_hi as i32 {
        let tick = 10f64.powi(decade);
        let x = x_of(tick) as i64;
        canvas.rect(x, top - 4, x + 1, bottom, GRAY);
        let label = format!("{}x", format_tick(tick));
        canvas.text(x - text_width(&label) / 2, bottom + 6, &label, BLACK);
    }
    let one = x_of(1.0) as i64;
    canvas.rect(one, top - 4, one + 2, bottom, BLACK);
    for (i, bar) in bars.iter().enumerate() {
        let y = top + i as i64 * row;
        canvas.text(label_width - 8 - text_width(&bar.label), y + 6, &bar.label, BLACK);
        let met = bar.target.is_none_or(|t| bar.value >= t);
        let start = x_of(10f64.powf(decade_lo)) as i64;
        canvas.rect(start, y + 3, x_of(bar.value) as i64, y + row - 3, if met { GREEN } else { BLUE });
        if let Some(target) = bar.target {
            let x = x_of(target) as i64;
            canvas.rect(x - 1, y, x + 2, y + row, RED);
        }
        canvas.text(x_of(bar.value) as i64 + 6, y + 6, &format!("{:.2}x", bar.value), BLACK);
    }
    canvas
}

/// The histogram as a density (area 1 over the values counted), with `density` drawn over it
/// in red where given; `notes` are printed under the title.
pub fn histogram_chart(
    title: &str,
    notes: &[String],
    histogram: &Histogram,
    density: Option<&dyn Fn(f64) -> f64>,
) -> Canvas {
    let longest = notes.iter().chain(std::iter::once(&title.to_string())).map(|n| text_width(n)).max().unwrap_or(0);
    let (width, height) = ((longest + 20).max(760), 420i64);
    let (left, right, top, bottom) = (70i64, width - 20, 28 + 16 * notes.len() as i64 + 10, height - 40);
    let mut canvas = Canvas::new(width as u32, height as u32);
    canvas.text(10, 10, title, BLACK);
    for (i, note) in notes.iter().enumerate() {
        canvas.text(10, 28 + 16 * i as i64, note, BLACK);
    }
    let total: u64 = histogram.counts.iter().sum();
    let bins = histogram.counts.len().max(1);
    let span = (histogram.hi - histogram.lo).max(f64::MIN_POSITIVE);
    let bin_width = span / bins as f64;
    let heights: Vec<f64> = histogram.counts.iter().map(|&c| c as f64 / (total.max(1) as f64 * bin_width)).collect();
    let samples = 400;
    let curve: Vec<(f64, f64)> = density
        .map(|f| (0..=samples).map(|i| histogram.lo + span * i as f64 / samples as f64).map(|x| (x, f(x))).collect())
        .unwrap_or_default();
    let finite_max = |v: f64| if v.is_finite() { v } else { 0.0 };
    let y_max =
        heights.iter().chain(curve.iter().map(|(_, y)| y)).map(|&v| finite_max(v)).fold(0.0f64, f64::max) * 1.08;
    let y_max = if y_max > 0.0 { y_max } else { 1.0 };
    let x_of = |x: f64| left as f64 + (x - histogram.lo) / span * (right - left) as f64;
    let y_of = |y: f64| bottom as f64 - y / y_max * (bottom - top) as f64;
    for (i, h) in heights.iter().enumerate() {
        let x0 = x_of(histogram.lo + i as f64 * bin_width);
        let x1 = x_of(histogram.lo + (i + 1) as f64 * bin_width);
        canvas.rect(x0 as i64, y_of(*h) as i64, (x1 as i64).max(x0 as i64 + 1), bottom, LIGHT_BLUE);
    }
    for pair in curve.windows(2) {
        let (a, b) = (pair[0], pair[1]);
        if a.1.is_finite() && b.1.is_finite() {
            canvas.line((x_of(a.0), y_of(a.1.min(y_max))), (x_of(b.0), y_of(b.1.min(y_max))), RED);
        }
    }
    canvas.rect(left, bottom, right, bottom + 1, BLACK);
    canvas.rect(left, top, left + 1, bottom, BLACK);
    for tick in nice_ticks(histogram.lo, histogram.hi) {
        let label = format_tick(tick);
        let x = x_of(tick) as i64;
        canvas.rect(x, bottom, x + 1, bottom + 4, BLACK);
        canvas.text(x - text_width(&label) / 2, bottom + 8, &label, BLACK);
    }
    let label = format_tick(y_max / 1.08);
    canvas.text(left - 6 - text_width(&label), y_of(y_max / 1.08) as i64 - 4, &label, BLACK);
    canvas
}

/// Five or so round tick values covering `[lo, hi]`.
fn nice_ticks(lo: f64, hi: f64) -> Vec<f64> {
    let span = hi - lo;
    if span.is_nan() || span <= 0.0 || span.is_infinite() {
        return vec![lo];
    }
    let raw = span / 5.0;
    let magnitude = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 2.5, 5.0, 10.0].iter().map(|m| m * magnitude).find(|&s| s >= raw).unwrap_or(raw);
    let first = (lo / step).ceil() as i64;
    let last = (hi / step).floor() as i64;
    (first..=last).map(|k| k as f64 * step).collect()
}

fn format_tick(v: f64) -> String {
    if v == 0.0 {
        "0".into()
    } else if v.abs() >= 1e4 || v.abs() < 1e-3 {
        format!("{v:.1e}")
    } else {
        let s = format!("{v:.4}");
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    }
}
