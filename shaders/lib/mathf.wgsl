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
    var e = i32((bits >> 23u) & 0xffu) - 127;
    var m = bitcast<f32>((bits & 0x007fffffu) | 0x3f800000u);
    if m > SQRT_2 {
        m *= 0.5;
        e += 1;
    }
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

// f32(w) rounded to nearest-even, computed exactly with integers (WGSL lets the conversion
// round either way).
fn mathf_u32_to_f32_rne(w: u32) -> f32 {
    if w < 0x01000000u {
        return f32(w);
    }
    let drop = 8u - countLeadingZeros(w);
    var kept = w >> drop;
    let rest = w & ((1u << drop) - 1u);
    let half = 1u << (drop - 1u);
    if rest > half || (rest == half && (kept & 1u) == 1u) {
        kept += 1u;
    }
    return f32(kept) * bitcast<f32>((127u + drop) << 23u);
}

// The high half of x by Veltkamp's split: x = hi + lo with 12 significant bits in hi and the rest
// in lo, so products of halves are exact. Each step behind a barrier (a compiler would simplify
// c - (c - x) to x).
fn mathf_split_hi(x: f32) -> f32 {
    let c = rounded(4097.0 * x);
    return rounded(c - rounded(c - x));
}

// The rounding error of the f32 product p = RN(x * y): x * y - p, exactly (Dekker's product).
fn mathf_product_error(x: f32, y: f32, p: f32) -> f32 {
    let xh = mathf_split_hi(x);
    let xl = rounded(x - xh);
    let yh = mathf_split_hi(y);
    let yl = rounded(y - yh);
    return rounded(rounded(rounded(xh * yh - p) + xh * yl) + xl * yh) + xl * yl;
}

// ulp(y) for a positive normal f32 y (a power of two), and the ulp of the next f32 below it.
fn mathf_ulp(y: f32) -> vec2<f32> {
    let bits = bitcast<u32>(y) & 0x7f800000u;
    let ulp = bitcast<f32>(bits - (23u << 23u));
    let at_power_of_two = (bitcast<u32>(y) & 0x007fffffu) == 0u;
    return vec2<f32>(ulp, select(ulp, 0.5 * ulp, at_power_of_two));
}

fn mathf_is_normal(x: f32) -> bool {
    let e = (bitcast<u32>(x) >> 23u) & 0xffu;
    return e != 0u && e != 0xffu;
}

// a / b correctly rounded (round to nearest; exact quotients of f32 are never ties), from the
// adapter's estimate `q0`: stepped one ulp at a time (at most three, as WGSL's 2.5 ulp allows)
// until a / b lies between the midpoints around it; from a faithful estimate (within an ulp) one
// step decides. The test uses the remainder r = a - q b,
// computed exactly with Dekker's product (it is an f32 when q is within an ulp of a / b):
// a / b > q + u/2 exactly when r - b u/2 > 0, and a / b < q - u'/2 when r + b u'/2 < 0, where u
// and u' are the ulps above and below q (scaling by them is exact, and a rounded sum keeps its
// sign). Operands or results that are not normal f32 are returned as estimated (the value path
// has none below 2^-126).
fn mathf_div_rn_from(a: f32, b: f32, q0: f32) -> f32 {
    let x = abs(a);
    let y = abs(b);
    var q = abs(q0);
    for (var step = 0; step < 3; step++) {
        let p = rounded(q * y);
        let r = rounded(x - p) - mathf_product_error(q, y, p);
        let u = mathf_ulp(q);
        let above = rounded(r - y * (0.5 * u.x)) > 0.0;
        let below = rounded(r + y * (0.5 * u.y)) < 0.0;
        // A faithful estimate (a / b between the neighbours of q: -b u' < r < b u) needs this one
        // step at most, and the test says so exactly; only a worse one takes another.
        let faithful = r < y * u.x && r > -(y * u.y);
        q = select(q, bitcast<f32>(select(bitcast<u32>(q) - 1u, bitcast<u32>(q) + 1u, above)), above || below);
        if faithful || !(above || below) {
            break;
        }
    }
    let usable = mathf_is_normal(a) && mathf_is_normal(b) && mathf_is_normal(q0) && mathf_is_normal(q);
    return select(q0, bitcast<f32>(bitcast<u32>(q) | ((bitcast<u32>(a) ^ bitcast<u32>(b)) & 0x80000000u)), usable);
}

fn mathf_div_rn(a: f32, b: f32) -> f32 {
    return mathf_div_rn_from(a, b, a / b);
}

// sqrt(x) correctly rounded (square roots of f32 are never ties), from the adapter's estimate
// `r0`, as `mathf_div_rn_from`: with the exact remainder d = x - r^2 (Dekker), x > (r + u/2)^2
// exactly when d - r u > 0 (both are whole multiples of u^2, so the u^2/4 term never decides),
// and x < (r - u'/2)^2 when d + r u' <= 0. Values other than positive normal ones are returned
// as estimated.
fn mathf_sqrt_rn_from(x: f32, r0: f32) -> f32 {
    var r = abs(r0);
    for (var step = 0; step < 3; step++) {
        let p = rounded(r * r);
        let d = rounded(x - p) - mathf_product_error(r, r, p);
        let u = mathf_ulp(r);
        let above = rounded(d - r * u.x) > 0.0;
        let below = rounded(d + r * u.y) <= 0.0;
        // Faithful (r - u' < sqrt(x) < r + u): d - 2 r u <= 0 and d + 2 r u' > u'^2, whole
        // multiples of u'^2 compared through monotonic rounding; then this step was the last.
        let faithful = rounded(d - 2.0 * r * u.x) <= 0.0 && rounded(d + 2.0 * r * u.y) > u.y * u.y;
        r = select(r, bitcast<f32>(select(bitcast<u32>(r) - 1u, bitcast<u32>(r) + 1u, above)), above || below);
        if faithful || !(above || below) {
            break;
        }
    }
    let usable = x > 0.0 && mathf_is_normal(x) && mathf_is_normal(r0) && mathf_is_normal(r);
    return select(r0, r, usable);
}

fn mathf_sqrt_rn(x: f32) -> f32 {
    return mathf_sqrt_rn_from(x, sqrt(x));
}
