//! A palette canvas: rectangles, lines and 8x8 bitmap text, saved as PNG atomically.

use std::path::Path;

/// The palette: index constants name the colors.
pub const PALETTE: [[u8; 3]; 7] =
    [[255, 255, 255], [20, 20, 20], [200, 200, 200], [66, 114, 196], [214, 39, 40], [150, 185, 230], [44, 160, 44]];
/// Background.
pub const WHITE: u8 = 0;
/// Text and axes.
pub const BLACK: u8 = 1;
/// Grid lines.
pub const GRAY: u8 = 2;
/// Bars.
pub const BLUE: u8 = 3;
/// Targets and expected densities.
pub const RED: u8 = 4;
/// Histogram bars.
pub const LIGHT_BLUE: u8 = 5;
/// Met targets.
pub const GREEN: u8 = 6;

/// Pixels as palette indices.
pub struct Canvas {
    width: u32,
    height: u32,
    pixels: Vec<u8>,
}

impl Canvas {
    /// A white canvas.
    pub fn new(width: u32, height: u32) -> Self {
        Self { width, height, pixels: vec![WHITE; (width * height) as usize] }
    }

    /// Sets one pixel (outside the canvas: nothing).
    pub fn dot(&mut self, x: i64, y: i64, color: u8) {
        if (0..self.width as i64).contains(&x) && (0..self.height as i64).contains(&y) {
            self.pixels[(y as u32 * self.width + x as u32) as usize] = color;
        }
    }

    /// Fills the rectangle `[x0, x1) x [y0, y1)`.
    pub fn rect(&mut self, x0: i64, y0: i64, x1: i64, y1: i64, color: u8) {
        for y in y0.min(y1)..y0.max(y1) {
            for x in x0.min(x1)..x0.max(x1) {
                self.dot(x, y, color);
            }
        }
    }

    /// A line two pixels thick.
    pub fn line(&mut self, (x0, y0): (f64, f64), (x1, y1): (f64, f64), color: u8) {
        let steps = (x1 - x0).abs().max((y1 - y0).abs()).ceil().max(1.0) as i64;
        for i in 0..=steps {
            let t = i as f64 / steps as f64;
            let (x, y) = ((x0 + (x1 - x0) * t).round() as i64, (y0 + (y1 - y0) * t).round() as i64);
            self.rect(x, y, x + 2, y + 2, color);
        }
    }

    /// Text in the 8x8 font with its top-left corner at `(x, y)`; returns its width.
    pub fn text(&mut self, x: i64, y: i64, text: &str, color: u8) -> i64 {
        for (i, c) in text.chars().enumerate() {
            let glyph = font8x8::legacy::BASIC_LEGACY.get(c as usize).copied().unwrap_or([0; 8]);
            for (row, bits) in glyph.iter().enumerate() {
                for col in 0..8 {
                    if bits >> col & 1 == 1 {
                        self.dot(x + i as i64 * 8 + col, y + row as i64, color);
                    }
                }
            }
        }
        text_width(text)
    }

    /// Writes the canvas as a PNG file, atomically.
    pub fn save(&self, path: &Path) -> nninit::Result<()> {
        let png = super::png::encode(self.width, self.height, &self.pixels, &PALETTE)?;
        nninit::io::write_bytes_atomic(path, &png)
    }
}

/// Width in pixels of `text` in the 8x8 font.
pub fn text_width(text: &str) -> i64 {
    text.chars().count() as i64 * 8
}
