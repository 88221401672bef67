// From raw words to values. Twin of src/contract/values.rs.

// `x`, unless `opaque_zero` (always 0, but read at run time from a kernel's parameters) is not:
// the compiler cannot prove which, so a product passed through here is never fused with a later
// addition into an FMA, and rounds exactly as on the CPU.
fn unfused(x: f32, opaque_zero: u32) -> f32 {
    return select(x, 0.0, opaque_zero != 0u);
}

const TWO_POW_M24: f32 = 1.0 / 16777216.0;
const TWO_POW_M32: f32 = 1.0 / 4294967296.0;
const TWO_POW_M33: f32 = 1.0 / 8589934592.0;

// (w >> 8) * 2^-24: exact, in [0, 1).
fn unit_uniform(w: u32) -> f32 {
    return f32(w >> 8u) * TWO_POW_M24;
}

// Box-Muller on one word pair: two standard normal values.
fn standard_normal_pair(w_even: u32, w_odd: u32) -> vec2<f32> {
    let u1 = mathf_u32_to_f32_rne(w_even) * TWO_POW_M32 + TWO_POW_M33;
    let r = sqrt(-2.0 * mathf_ln(u1));
    let sc = mathf_sincos_turn24(w_odd >> 8u);
    return vec2<f32>(r * sc.y, r * sc.x);
}
