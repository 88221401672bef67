//! Charts as PNG files: a palette canvas, an 8x8 bitmap font (`font8x8`), and the `png` crate's
//! compressed indexed-color encoder (a histogram takes about 5 KB).

mod canvas;
mod charts;
mod png;

pub use charts::{bar_chart, histogram_chart, Bar};
