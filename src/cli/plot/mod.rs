//! Charts as PNG files, drawn without a plotting library: a palette canvas, an 8x8 bitmap font
//! (`font8x8`) and a minimal PNG writer.

mod canvas;
mod charts;
mod png;

pub use charts::{bar_chart, histogram_chart, Bar};
