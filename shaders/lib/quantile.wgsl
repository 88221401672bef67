// The standard normal quantile from ln p (Wichura's AS241, PPND16, in f32). Needs mathf.wgsl.
// Twin of src/contract/quantile.rs; the coefficient tables (QUANTILE_*) and LN_CENTRAL_MIN come
// from the generated prelude.

// Horner's rule, highest coefficient first, each product rounded on its own (mul_rn).
fn quantile_poly(x: f32, c: array<f32, 8>) -> f32 {
    var acc = c[0];
    acc = mul_rn(acc, x) + c[1];
    acc = mul_rn(acc, x) + c[2];
    acc = mul_rn(acc, x) + c[3];
    acc = mul_rn(acc, x) + c[4];
    acc = mul_rn(acc, x) + c[5];
    acc = mul_rn(acc, x) + c[6];
    return mul_rn(acc, x) + c[7];
}

// The region's coefficients: central, near tail or far tail.
fn quantile_coeffs(central: bool, near: bool, c: array<f32, 8>, n: array<f32, 8>, f: array<f32, 8>) -> array<f32, 8> {
    var out: array<f32, 8>;
    for (var k = 0u; k < 8u; k++) {
        out[k] = select(select(f[k], n[k], near), c[k], central);
    }
    return out;
}

// Phi^-1(p) for p = e^ln_p <= 0.925. Divisions and the square root are correctly rounded.
// As the CPU twin: the region picks the argument, the coefficients and the numerator's factor
// (q, or -1 for the tails' -(num / den), which rounds identically), then one rational function
// and one division follow, so invocations in different regions do not diverge.
fn normal_quantile_from_ln(ln_p: f32) -> f32 {
    let central = ln_p >= LN_CENTRAL_MIN;
    let q = mathf_exp(ln_p) - 0.5;
    let r = mathf_sqrt_rn(max(-ln_p, 0.0));
    let near = r <= 5.0;
    let x = select(select(r - 5.0, r - 1.6, near), 0.180625 - mul_rn(q, q), central);
    let factor = select(-1.0, q, central);
    let num = quantile_coeffs(central, near, QUANTILE_CENTRAL_NUM, QUANTILE_NEAR_NUM, QUANTILE_FAR_NUM);
    let den = quantile_coeffs(central, near, QUANTILE_CENTRAL_DEN, QUANTILE_NEAR_DEN, QUANTILE_FAR_DEN);
    return mathf_div_rn(quantile_poly(x, num) * factor, quantile_poly(x, den));
}
