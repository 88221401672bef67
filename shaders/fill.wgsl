// The fill kernel: one invocation per Philox block, writing the block's elements that fall in
// this dispatch's range. Needs philox.wgsl, mathf.wgsl and values.wgsl.
//
// The dispatch may be 2-D (x * y workgroups); the linear workgroup index is rebuilt from
// `groups_x` in the parameters, never from @builtin(num_workgroups) (0 on some backends).

// The operation, fixed per pipeline. Keep in sync with `GpuOp` in src/gpu/pipelines.rs.
override OP: u32 = 0u;
const OP_BITS: u32 = 0u;
const OP_UNIFORM: u32 = 1u;
const OP_NORMAL: u32 = 2u;
const OP_CONSTANT: u32 = 3u;

override WG_SIZE: u32 = 256u;

// One dispatch's parameters. Keep in sync with `FillParams` in src/gpu/params.rs.
struct FillParams {
    key: vec2<u32>,
    stream: vec2<u32>,
    // Logical block of the first invocation (u64 as lo, hi).
    first_block: vec2<u32>,
    // Position of the first element inside the first block (0..3).
    lead: u32,
    // Elements to write.
    count: u32,
    // Index in `dst` of the first element.
    dst_word: u32,
    // Invocations with work (blocks).
    blocks: u32,
    // Workgroups along x.
    groups_x: u32,
    // OP_CONSTANT: the value's bits.
    constant_bits: u32,
    // OP_UNIFORM: a, span; OP_NORMAL: mean, std.
    p0: f32,
    p1: f32,
    // Always 0. Read at run time, it keeps the compiler from fusing a product into an FMA, so
    // uniform values round exactly as on the CPU.
    opaque_zero: u32,
    _pad: u32,
}

@group(0) @binding(0) var<storage, read_write> dst: array<u32>;
@group(0) @binding(1) var<uniform> params: FillParams;

fn unfused(x: f32) -> f32 {
    return select(x, 0.0, params.opaque_zero != 0u);
}

fn block_values(words: vec4<u32>) -> vec4<u32> {
    switch OP {
        case OP_UNIFORM: {
            let u = vec4<f32>(unit_uniform(words.x), unit_uniform(words.y),
                              unit_uniform(words.z), unit_uniform(words.w));
            let scaled = vec4<f32>(unfused(params.p1 * u.x), unfused(params.p1 * u.y),
                                   unfused(params.p1 * u.z), unfused(params.p1 * u.w));
            return bitcast<vec4<u32>>(params.p0 + scaled);
        }
        case OP_NORMAL: {
            let z01 = standard_normal_pair(words.x, words.y);
            let z23 = standard_normal_pair(words.z, words.w);
            let z = vec4<f32>(z01, z23);
            let scaled = vec4<f32>(unfused(params.p1 * z.x), unfused(params.p1 * z.y),
                                   unfused(params.p1 * z.z), unfused(params.p1 * z.w));
            return bitcast<vec4<u32>>(params.p0 + scaled);
        }
        default: {
            return words;
        }
    }
}

@compute @workgroup_size(WG_SIZE)
fn fill(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let t = (wg.y * params.groups_x + wg.x) * WG_SIZE + lid;
    if t >= params.blocks {
        return;
    }
    var values: vec4<u32>;
    if OP == OP_CONSTANT {
        values = vec4<u32>(params.constant_bits);
    } else {
        let lo = params.first_block.x + t;
        let hi = params.first_block.y + select(0u, 1u, lo < t);
        let ctr = vec4<u32>(lo, hi, params.stream.x, params.stream.y);
        values = block_values(philox4x32_10(ctr, params.key));
    }
    // Element k of this block is element 4t + k - lead of the dispatch.
    for (var k = 0u; k < 4u; k++) {
        let rel = 4u * t + k;
        if rel >= params.lead && rel - params.lead < params.count {
            dst[params.dst_word + rel - params.lead] = values[k];
        }
    }
}
