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

// Phi^-1(p) for p = e^ln_p <= 0.925. Divisions and the square root are correctly rounded.
fn normal_quantile_from_ln(ln_p: f32) -> f32 {
    if ln_p >= LN_CENTRAL_MIN {
        let q = mathf_exp(ln_p) - 0.5;
        let r = 0.180625 - mul_rn(q, q);
        return mathf_div_rn(quantile_poly(r, QUANTILE_CENTRAL_NUM) * q, quantile_poly(r, QUANTILE_CENTRAL_DEN));
    }
    var r = mathf_sqrt_rn(-ln_p);
    var x: f32;
    if r <= 5.0 {
        r = r - 1.6;
        x = mathf_div_rn(quantile_poly(r, QUANTILE_NEAR_NUM), quantile_poly(r, QUANTILE_NEAR_DEN));
    } else {
        r = r - 5.0;
        x = mathf_div_rn(quantile_poly(r, QUANTILE_FAR_NUM), quantile_poly(r, QUANTILE_FAR_DEN));
    }
    return -x;
}
