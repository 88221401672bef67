// mulhilo: the 64-bit product of two u32 as (hi, lo), with the adapter's native u64
// (wgpu feature SHADER_INT64). Twin: `mulhilo_emulated.wgsl`; both must pass the same tests.

fn mulhilo(a: u32, b: u32) -> vec2<u32> {
    let p = u64(a) * u64(b);
    return vec2<u32>(u32(p >> 32u), u32(p & 0xfffffffflu));
}
