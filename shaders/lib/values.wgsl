// From raw words to values. Twin of src/contract/values.rs.

// Always 0, but stored at the start of every invocation from a kernel parameter read at run
// time (`opaque_zero`), so the compiler cannot prove it.
var<private> OPAQUE_ZERO: u32;

// `x` as computed: its bits go through an integer OR with OPAQUE_ZERO, which the compiler cannot
// see through, so no later operation is fused or reassociated with the ones that made it. GPU
// compilers may contract a product and a sum into an FMA (one rounding instead of two) and
// reassociate sums with constants (Mesa's NIR turns (a + b) + 1 into (a + 1) + b); either changes
// the last bit, so the value path puts a barrier wherever one could apply. (A `select` on
// OPAQUE_ZERO is not enough: an addition of a constant is pushed into both of its arms.)
fn rounded(x: f32) -> f32 {
    return bitcast<f32>(bitcast<u32>(x) | OPAQUE_ZERO);
}

// `a * b`, rounded to f32 on its own (never contracted into an FMA). Every inexact product of the
// value path whose result is added to or subtracted from something goes through here; products
// by powers of two and products of short integers are exact, so contraction cannot change them,
// and they are left as they are.
fn mul_rn(a: f32, b: f32) -> f32 {
    return rounded(a * b);
}

const TWO_POW_M24: f32 = 1.0 / 16777216.0;
const TWO_POW_M32: f32 = 1.0 / 4294967296.0;
const TWO_POW_M33: f32 = 1.0 / 8589934592.0;

// (w >> 8) * 2^-24: exact, in [0, 1).
fn unit_uniform(w: u32) -> f32 {
    return f32(w >> 8u) * TWO_POW_M24;
}

// Box-Muller on one word pair: two standard normal values. (The products by 2^-32 and -2 are
// exact; the square root is correctly rounded, as the CPU's.)
fn standard_normal_pair(w_even: u32, w_odd: u32) -> vec2<f32> {
    let u1 = mathf_u32_to_f32_rne(w_even) * TWO_POW_M32 + TWO_POW_M33;
    let r = mathf_sqrt_rn(-2.0 * mathf_ln(u1));
    let sc = mathf_sincos_turn24(w_odd >> 8u);
    return vec2<f32>(r * sc.y, r * sc.x);
}
