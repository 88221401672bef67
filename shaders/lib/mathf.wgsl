// Portable f32 ln and sincos (Cephes polynomials, exact integer argument reduction), so every
// adapter evaluates the same f32 operations as the CPU. Twin of src/contract/mathf.rs; the
// coefficients (LN_POLY, EXP_POLY, SIN_POLY, COS_POLY, ...) come from the generated prelude.
//
// Every inexact product that feeds an addition goes through `mul_rn` (values.wgsl), so no
// compiler contracts it into an FMA, and every sum that a constant is then added to goes through
// `rounded`, so none reassociates them; divisions and square roots go through `mathf_div_rn` and
// `mathf_sqrt_rn`, correctly rounded as the CPU's `/` and `sqrt` are (WGSL allows 2.5 ulp for
// `/` and more for `sqrt`).

// ln(x) for positive, finite, normal x.
fn mathf_ln(x: f32) -> f32 {
    let bits = bitcast<u32>(x);
    let m1 = bitcast<f32>((bits & 0x007fffffu) | 0x3f800000u);
    let high = m1 > SQRT_2;
    let e = i32((bits >> 23u) & 0xffu) - 127 + select(0, 1, high);
    let m = select(m1, 0.5 * m1, high);
    let f = rounded(m - 1.0);
    let z = f * f;
    var p = LN_POLY[0];
    p = mul_rn(p, f) + LN_POLY[1];
    p = mul_rn(p, f) + LN_POLY[2];
    p = mul_rn(p, f) + LN_POLY[3];
    p = mul_rn(p, f) + LN_POLY[4];
    p = mul_rn(p, f) + LN_POLY[5];
    p = mul_rn(p, f) + LN_POLY[6];
    p = mul_rn(p, f) + LN_POLY[7];
    p = mul_rn(p, f) + LN_POLY[8];
    let ef = f32(e);
    var y = mul_rn(f * z, p);
    y += mul_rn(LN2_LO, ef);
    // -0.5 z and LN2_HI e (9 bits times at most 8) are exact.
    y += -0.5 * z;
    let r = f + y;
    return r + LN2_HI * ef;
}

// e^x for -87 < x < 88 (Cephes expf).
fn mathf_exp(x: f32) -> f32 {
    let n = floor(mul_rn(x, LOG2_E) + 0.5);
    let r = x - n * LN2_HI - mul_rn(n, LN2_LO);
    let z = r * r;
    var p = EXP_POLY[0];
    p = mul_rn(p, r) + EXP_POLY[1];
    p = mul_rn(p, r) + EXP_POLY[2];
    p = mul_rn(p, r) + EXP_POLY[3];
    p = mul_rn(p, r) + EXP_POLY[4];
    p = mul_rn(p, r) + EXP_POLY[5];
    let y = rounded(mul_rn(p, z) + r) + 1.0;
    return y * bitcast<f32>(u32(i32(n) + 127) << 23u);
}

// ln(1 + x) for -1 < x <= 0, accurate for small |x|.
fn mathf_ln_1p(x: f32) -> f32 {
    let y = rounded(1.0 + x);
    if y == 1.0 {
        return x;
    }
    return mathf_ln(y) * mathf_div_rn(x, y - 1.0);
}

// (sin, cos) of 2 pi k / 2^24 for k < 2^24.
fn mathf_sincos_turn24(k: u32) -> vec2<f32> {
    let quadrant = k >> 22u;
    let f = k & 0x003fffffu;
    let folded = f > 0x00200000u;
    let g = select(f, 0x00400000u - f, folded);
    let x = mul_rn(f32(g), TWO_PI_OVER_2_24);
    let z = x * x;
    var s = SIN_POLY[0];
    s = mul_rn(s, z) + SIN_POLY[1];
    s = mul_rn(s, z) + SIN_POLY[2];
    let sin_x = mul_rn(s * z, x) + x;
    var c = COS_POLY[0];
    c = mul_rn(c, z) + COS_POLY[1];
    c = mul_rn(c, z) + COS_POLY[2];
    let cos_x = rounded(mul_rn(c * z, z) - 0.5 * z) + 1.0;
    let sq = select(sin_x, cos_x, folded);
    let cq = select(cos_x, sin_x, folded);
    // Quadrant q adds q * pi/2: odd quadrants swap sin and cos; sin is negative in quadrants 2
    // and 3, cos in 1 and 2.
    let odd = (quadrant & 1u) == 1u;
    let sin_theta = select(sq, cq, odd);
    let cos_theta = select(cq, sq, odd);
    let sin_sign = (quadrant & 2u) << 30u;
    let cos_sign = ((quadrant + 1u) & 2u) << 30u;
    return vec2<f32>(bitcast<f32>(bitcast<u32>(sin_theta) ^ sin_sign),
                     bitcast<f32>(bitcast<u32>(cos_theta) ^ cos_sign));
}

// f32(w) rounded to nearest-even (WGSL lets the conversion round either way): the top 24 bits
// and the low 8 are each converted exactly, and their sum, an f32 addition, rounds once, as
// IEEE 754 requires (the product by 256 is exact, so contracting it into an FMA changes nothing).
fn mathf_u32_to_f32_rne(w: u32) -> f32 {
    return f32(w >> 8u) * 256.0 + f32(w & 0xffu);
}

fn mathf_is_normal(x: f32) -> bool {
    let e = (bitcast<u32>(x) >> 23u) & 0xffu;
    return e != 0u && e != 0xffu;
}

// Correctly rounded division and square root, from the adapter's estimate (WGSL allows 2.5 ulp
// for `/` and more for `sqrt`; the CPU's are correctly rounded). The result's binade follows
// from the operands' exponents and significands alone, so only its 24-bit significand m is
// unknown; the estimate gives a first m, and the remainder of that m, an integer that fits in
// 32 bits while the estimate is within 60 ulp, is computed exactly with wrapping u32 products
// (only its low 32 bits are needed, as it is small). Its quotient j by the derivative, in f32,
// is the distance to the right m within one; one comparison of the new remainder fixes that one.
// No float operation decides anything, so neither contraction nor the adapter's rounding can
// change the result; there is no loop and no branch. Operands or results that are not normal
// f32 are returned as estimated (the value path has none below 2^-126).

// The 24-bit significand of positive `y` as seen from the binade of biased exponent `e`: its own
// when y lies in that binade, else the nearest end of it.
fn mathf_significand_in(y: f32, e: i32) -> i32 {
    let bits = bitcast<u32>(y);
    let ye = i32((bits >> 23u) & 0xffu);
    let own = i32((bits & 0x007fffffu) | 0x00800000u);
    return select(select(own, 0x00800000, ye < e), 0x00ffffff, ye > e);
}

// a / b, from the estimate `q0`. With a = m_a 2^e_a and b = m_b 2^e_b, the quotient's biased
// exponent is e_a - e_b + 127, less one when m_a < m_b (a quotient never rounds up into the next
// binade). In units of ulp(q) ulp(b), a is m_a << (23 + that one) and q b is m m_b, so the
// remainder is R = (m_a << ...) - m m_b, and m is correctly rounded exactly when -m_b < 2R < m_b
// (a quotient of f32 is never a tie).
fn mathf_div_rn_from(a: f32, b: f32, q0: f32) -> f32 {
    let ab = bitcast<u32>(a);
    let bb = bitcast<u32>(b);
    let ma = (ab & 0x007fffffu) | 0x00800000u;
    let mb = (bb & 0x007fffffu) | 0x00800000u;
    let below = select(0u, 1u, ma < mb);
    let eq = i32((ab >> 23u) & 0xffu) - i32((bb >> 23u) & 0xffu) + 127 - i32(below);
    let m0 = mathf_significand_in(abs(q0), eq);
    let r0 = bitcast<i32>((ma << (23u + below)) - u32(m0) * mb);
    let j = i32(round(f32(r0) / f32(mb)));
    let m = m0 + j;
    let r = bitcast<i32>(u32(r0) - u32(j) * mb);
    let step = select(0, 1, 2 * r > i32(mb)) - select(0, 1, 2 * r < -i32(mb));
    let q = (u32(eq) << 23u) + u32(m + step - 0x00800000);
    let usable = mathf_is_normal(a) && mathf_is_normal(b) && eq >= 1 && eq <= 254;
    return select(q0, bitcast<f32>(q | ((ab ^ bb) & 0x80000000u)), usable);
}

fn mathf_div_rn(a: f32, b: f32) -> f32 {
    return mathf_div_rn_from(a, b, a / b);
}

// sqrt(x), from the estimate `r0`. With x = m_x 2^e (e unbiased), the root's binade is that of
// 2^floor(e/2) (a root never rounds up into the next binade). In units of ulp(r)^2, x is
// m_x << (23 + (e odd)), so D = (m_x << ...) - m^2, and m is correctly rounded exactly when
// (m - 1/2)^2 < x < (m + 1/2)^2, that is -m < D <= m (D is an integer; a root is never a tie).
fn mathf_sqrt_rn_from(x: f32, r0: f32) -> f32 {
    let xb = bitcast<u32>(x);
    let e = i32((xb >> 23u) & 0xffu) - 127;
    let mx = (xb & 0x007fffffu) | 0x00800000u;
    let er = (e >> 1u) + 127;
    let m0 = mathf_significand_in(abs(r0), er);
    let d0 = bitcast<i32>((mx << (23u + u32(e & 1))) - u32(m0) * u32(m0));
    let j = i32(round(f32(d0) / f32(2 * m0)));
    let m = m0 + j;
    let d = bitcast<i32>(u32(d0) - 2u * u32(j) * u32(m0) - u32(j) * u32(j));
    let step = select(0, 1, d > m) - select(0, 1, d <= -m);
    let usable = x > 0.0 && mathf_is_normal(x);
    return select(r0, bitcast<f32>((u32(er) << 23u) + u32(m + step - 0x00800000)), usable);
}

fn mathf_sqrt_rn(x: f32) -> f32 {
    return mathf_sqrt_rn_from(x, sqrt(x));
}
