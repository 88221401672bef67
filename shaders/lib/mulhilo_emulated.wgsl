// mulhilo: the 64-bit product of two u32 as (hi, lo), exactly, from 16-bit halves, for adapters
// without 64-bit integers. Twin: `mulhilo_native.wgsl`; both must pass the same tests.

fn mulhilo(a: u32, b: u32) -> vec2<u32> {
    let a0 = a & 0xffffu;
    let a1 = a >> 16u;
    let b0 = b & 0xffffu;
    let b1 = b >> 16u;
    let p00 = a0 * b0;
    let p01 = a0 * b1;
    let p10 = a1 * b0;
    let p11 = a1 * b1;
    // Bits 16..47 of the product, gathered without overflow (each term < 2^16 + carries).
    let mid = (p00 >> 16u) + (p01 & 0xffffu) + (p10 & 0xffffu);
    let hi = p11 + (p01 >> 16u) + (p10 >> 16u) + (mid >> 16u);
    return vec2<u32>(hi, a * b);
}
