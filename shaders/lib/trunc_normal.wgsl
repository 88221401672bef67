// The truncated normal by exact inverse CDF. Needs values.wgsl, mathf.wgsl and quantile.wgsl.
// Twin of src/contract/trunc_normal.rs (the constants' meaning is documented there).

struct TruncNormalParams {
    alpha: f32,
    beta: f32,
    ln_cdf_beta: f32,
    kappa_lo: f32,
    ln_sf_alpha: f32,
    kappa_hi: f32,
    u_split: f32,
    mean: f32,
    sd: f32,
    a: f32,
    b: f32,
}

// ((w >> 9) + 0.5) * 2^-23: exact, in (0, 1).
fn open_unit(w: u32) -> f32 {
    return (f32(w >> 9u) + 0.5) * (1.0 / 8388608.0);
}

// `mul_rn` (values.wgsl) keeps (1 - u) kappa from fusing with the 1 + x of ln_1p, and mean +
// std * z from becoming an FMA, as on the CPU. The side (below or above the median) selects the
// inputs of one evaluation, so invocations on different sides do not diverge.
fn trunc_normal(w: u32, p: TruncNormalParams) -> f32 {
    let u = open_unit(w);
    let lower = u < p.u_split;
    let ln_start = select(p.ln_sf_alpha, p.ln_cdf_beta, lower);
    let v = select(u, 1.0 - u, lower);
    let kappa = select(p.kappa_hi, p.kappa_lo, lower);
    let q = normal_quantile_from_ln(ln_start + mathf_ln_1p(-mul_rn(v, kappa)));
    let z = clamp(select(-q, q, lower), p.alpha, p.beta);
    return clamp(p.mean + mul_rn(p.sd, z), p.a, p.b);
}
