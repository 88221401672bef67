//! The WGSL sources, embedded at compile time and composed by concatenation.
//!
//! One concept per file under `shaders/`; a module is its files in dependency order.

/// Which 32x32 -> 64-bit multiply Philox uses on the GPU.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Multiply {
    /// Native `u64` arithmetic; needs the device feature `SHADER_INT64`.
    Native,
    /// An exact emulation from 16-bit halves; runs everywhere.
    Emulated,
}

/// Every shader file, by name, as embedded in the binary.
pub const FILES: &[(&str, &str)] = &[
    ("mulhilo_native.wgsl", MULHILO_NATIVE),
    ("mulhilo_emulated.wgsl", MULHILO_EMULATED),
    ("philox.wgsl", PHILOX),
    ("mathf.wgsl", MATHF),
    ("values.wgsl", VALUES),
    ("quantile.wgsl", QUANTILE),
    ("trunc_normal.wgsl", TRUNC_NORMAL),
    ("dtype.wgsl", DTYPE),
    ("fill.wgsl", FILL),
    ("philox_kat.wgsl", PHILOX_KAT),
];

const MULHILO_NATIVE: &str = include_str!("../../shaders/mulhilo_native.wgsl");
const MULHILO_EMULATED: &str = include_str!("../../shaders/mulhilo_emulated.wgsl");
const PHILOX: &str = include_str!("../../shaders/philox.wgsl");
const MATHF: &str = include_str!("../../shaders/mathf.wgsl");
const VALUES: &str = include_str!("../../shaders/values.wgsl");
const QUANTILE: &str = include_str!("../../shaders/quantile.wgsl");
const TRUNC_NORMAL: &str = include_str!("../../shaders/trunc_normal.wgsl");
const DTYPE: &str = include_str!("../../shaders/dtype.wgsl");
const FILL: &str = include_str!("../../shaders/fill.wgsl");
const PHILOX_KAT: &str = include_str!("../../shaders/philox_kat.wgsl");

fn mulhilo(multiply: Multiply) -> &'static str {
    match multiply {
        Multiply::Native => MULHILO_NATIVE,
        Multiply::Emulated => MULHILO_EMULATED,
    }
}

/// The fill module (entry point `fill`) for a multiply variant.
pub fn fill_module(multiply: Multiply) -> String {
    [mulhilo(multiply), PHILOX, MATHF, VALUES, QUANTILE, TRUNC_NORMAL, DTYPE, FILL].join("\n")
}

/// The known-answer module (entry point `philox_kat`) for a multiply variant.
pub fn philox_kat_module(multiply: Multiply) -> String {
    [mulhilo(multiply), PHILOX, PHILOX_KAT].join("\n")
}
