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

// A positive, normal f32 as an integer mantissa in [2^23, 2^24) and an exponent: x = m 2^e.
fn mathf_split(x: f32) -> vec2<i32> {
    let bits = bitcast<u32>(x);
    return vec2<i32>(i32((bits & 0x007fffffu) | 0x00800000u), i32((bits >> 23u) & 0xffu) - 150);
}

// The sign of X 2^ex - K B 2^e for integers X < 2^24, K < 2^26, B < 2^26, computed exactly
// (the product through the 64-bit `mulhilo`).
fn mathf_compare_scaled(x: u32, ex: i32, k: u32, b: u32, e: i32) -> i32 {
    let p = mulhilo(k, b);
    let s = ex - e;
    var xs = vec2<u32>(0u, x);
    if s >= 40 {
        return 1;
    } else if s >= 32 {
        xs = vec2<u32>(x << u32(s - 32), 0u);
    } else if s > 0 {
        xs = vec2<u32>(x >> u32(32 - s), x << u32(s));
    } else if s < 0 {
        // X 2^s < X < 2^24: compare X with P 2^t, t = -s, instead; P >= 1, so P 2^t >= 2^24 > X
        // when t >= 24 or P >= 2^(24 - t).
        let t = u32(-s);
        if t >= 24u || p.x != 0u || p.y >= (0x01000000u >> t) {
            return -1;
        }
        let shifted = p.y << t;
        return select(select(0, 1, x > shifted), -1, x < shifted);
    }
    if xs.x != p.x {
        return select(-1, 1, xs.x > p.x);
    }
    return select(select(0, 1, xs.y > p.y), -1, xs.y < p.y);
}

// The midpoints around a positive normal f32 y = m 2^e, as (K, exponent) with midpoint K 2^exponent:
// (2m + 1) 2^(e - 1) above; (2m - 1) 2^(e - 1) below, or (4m - 1) 2^(e - 2) when m = 2^23 (the
// next value down has the smaller exponent).
fn mathf_upper_mid(y: vec2<i32>) -> vec2<i32> {
    return vec2<i32>(2 * y.x + 1, y.y - 1);
}

fn mathf_lower_mid(y: vec2<i32>) -> vec2<i32> {
    if y.x == 0x00800000 {
        return vec2<i32>(4 * y.x - 1, y.y - 2);
    }
    return vec2<i32>(2 * y.x - 1, y.y - 1);
}

fn mathf_is_normal(x: f32) -> bool {
    let e = (bitcast<u32>(x) >> 23u) & 0xffu;
    return e != 0u && e != 0xffu;
}

// a / b correctly rounded (round to nearest; exact quotients of f32 are never ties), from the
// adapter's estimate `q0`: stepped one ulp at a time (at most four) until a / b lies between the
// midpoints around it, each comparison exact in integers. Zero, subnormal, infinite and NaN
// operands or results are returned as estimated (the value path has none).
fn mathf_div_rn_from(a: f32, b: f32, q0: f32) -> f32 {
    if !(mathf_is_normal(a) && mathf_is_normal(b) && mathf_is_normal(q0)) {
        return q0;
    }
    let sign = (bitcast<u32>(a) ^ bitcast<u32>(b)) & 0x80000000u;
    let am = mathf_split(abs(a));
    let bm = mathf_split(abs(b));
    var q = bitcast<u32>(abs(q0));
    for (var step = 0; step < 4; step++) {
        let y = mathf_split(bitcast<f32>(q));
        // a / b vs K 2^e  <=>  A 2^ea vs K B 2^(e + eb).
        let up = mathf_upper_mid(y);
        if mathf_compare_scaled(u32(am.x), am.y, u32(up.x), u32(bm.x), up.y + bm.y) > 0 {
            q += 1u;
            continue;
        }
        let down = mathf_lower_mid(y);
        if mathf_compare_scaled(u32(am.x), am.y, u32(down.x), u32(bm.x), down.y + bm.y) < 0 {
            q -= 1u;
            continue;
        }
        break;
    }
    return bitcast<f32>(q | sign);
}

fn mathf_div_rn(a: f32, b: f32) -> f32 {
    return mathf_div_rn_from(a, b, a / b);
}

// sqrt(x) correctly rounded (square roots of f32 are never ties), from the adapter's estimate
// `r0`, as `mathf_div_rn_from`: x vs K^2 2^(2e) for each midpoint K 2^e. Values other than
// positive normal ones are returned as estimated.
fn mathf_sqrt_rn_from(x: f32, r0: f32) -> f32 {
    if !(x > 0.0 && mathf_is_normal(x) && mathf_is_normal(r0)) {
        return r0;
    }
    let xm = mathf_split(x);
    var r = bitcast<u32>(abs(r0));
    for (var step = 0; step < 4; step++) {
        let y = mathf_split(bitcast<f32>(r));
        let up = mathf_upper_mid(y);
        if mathf_compare_scaled(u32(xm.x), xm.y, u32(up.x), u32(up.x), 2 * up.y) > 0 {
            r += 1u;
            continue;
        }
        let down = mathf_lower_mid(y);
        if mathf_compare_scaled(u32(xm.x), xm.y, u32(down.x), u32(down.x), 2 * down.y) < 0 {
            r -= 1u;
            continue;
        }
        break;
    }
    return bitcast<f32>(r);
}

fn mathf_sqrt_rn(x: f32) -> f32 {
    return mathf_sqrt_rn_from(x, sqrt(x));
}
