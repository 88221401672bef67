//! PNG output through the `png` crate: 8-bit indexed color, deflate at its best compression, so a
//! chart of a few flat colors takes a few kilobytes.

/// Encodes `pixels` (palette indices, row-major, `width * height`) with `palette` (RGB).
pub fn encode(width: u32, height: u32, pixels: &[u8], palette: &[[u8; 3]]) -> nninit::Result<Vec<u8>> {
    let failed = |e: png::EncodingError| nninit::Error::Io { path: "PNG".into(), source: std::io::Error::other(e) };
    let mut out = Vec::new();
    {
        let mut encoder = png::Encoder::new(&mut out, width, height);
        encoder.set_color(png::ColorType::Indexed);
        encoder.set_depth(png::BitDepth::Eight);
        encoder.set_palette(palette.concat());
        encoder.set_compression(png::Compression::High);
        encoder.set_filter(png::Filter::Sub);
        let mut writer = encoder.write_header().map_err(failed)?;
        writer.write_image_data(pixels).map_err(failed)?;
        writer.finish().map_err(failed)?;
    }
    Ok(out)
}
