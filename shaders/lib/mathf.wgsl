// Portable f32 ln and sincos (Cephes polynomials, exact integer argument reduction), so every
// adapter evaluates the same f32 operations as the CPU. Twin of src/contract/mathf.rs; the
// coefficients (LN_POLY, EXP_POLY, SIN_POLY, COS_POLY, ...) come from the generated prelude.

// ln(x) for positive, finite, normal x.
fn mathf_ln(x: f32) -> f32 {
    let bits = bitcast<u32>(x);
    var e = i32((bits >> 23u) & 0xffu) - 127;
    var m = bitcast<f32>((bits & 0x007fffffu) | 0x3f800000u);
    if m > SQRT_2 {
        m *= 0.5;
        e += 1;
    }
    let f = m - 1.0;
    let z = f * f;
    var p = LN_POLY[0];
    p = p * f + LN_POLY[1];
    p = p * f + LN_POLY[2];
    p = p * f + LN_POLY[3];
    p = p * f + LN_POLY[4];
    p = p * f + LN_POLY[5];
    p = p * f + LN_POLY[6];
    p = p * f + LN_POLY[7];
    p = p * f + LN_POLY[8];
    let ef = f32(e);
    var y = f * z * p;
    y += LN2_LO * ef;
    y += -0.5 * z;
    let r = f + y;
    return r + LN2_HI * ef;
}

// e^x for -87 < x < 88 (Cephes expf).
fn mathf_exp(x: f32) -> f32 {
    let n = floor(x * LOG2_E + 0.5);
    let r = x - n * LN2_HI - n * LN2_LO;
    let z = r * r;
    var p = EXP_POLY[0];
    p = p * r + EXP_POLY[1];
    p = p * r + EXP_POLY[2];
    p = p * r + EXP_POLY[3];
    p = p * r + EXP_POLY[4];
    p = p * r + EXP_POLY[5];
    let y = p * z + r + 1.0;
    return y * bitcast<f32>(u32(i32(n) + 127) << 23u);
}

// ln(1 + x) for -1 < x <= 0, accurate for small |x|.
fn mathf_ln_1p(x: f32) -> f32 {
    let y = 1.0 + x;
    if y == 1.0 {
        return x;
    }
    return mathf_ln(y) * (x / (y - 1.0));
}

// (sin, cos) of 2 pi k / 2^24 for k < 2^24.
fn mathf_sincos_turn24(k: u32) -> vec2<f32> {
    let quadrant = k >> 22u;
    let f = k & 0x003fffffu;
    let folded = f > 0x00200000u;
    let g = select(f, 0x00400000u - f, folded);
    let x = f32(g) * TWO_PI_OVER_2_24;
    let z = x * x;
    var s = SIN_POLY[0];
    s = s * z + SIN_POLY[1];
    s = s * z + SIN_POLY[2];
    let sin_x = s * z * x + x;
    var c = COS_POLY[0];
    c = c * z + COS_POLY[1];
    c = c * z + COS_POLY[2];
    let cos_x = c * z * z - 0.5 * z + 1.0;
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
