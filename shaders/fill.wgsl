// The fill kernel: each invocation writes four slots of its window (see src/gpu/windows.rs),
// from one Philox block (two when 16-bit slots straddle blocks). Needs every file of lib/ (the
// module is put together in the order of FILL_MODULE in src/contract/constants.rs).
//
// The dispatch may be 2-D (x * y workgroups); the linear workgroup index is rebuilt from
// `groups_x` in the parameters, never from @builtin(num_workgroups) (0 on some backends).

// The operation, fixed per pipeline: one of the OP_* constants of the generated prelude.
override OP: u32 = 0u;

override WG_SIZE: u32 = 256u;
// The stored element type, fixed per pipeline: DTYPE_F32 (the lean kernel: the compiler drops the
// 16-bit path), DTYPE_F16 or DTYPE_BF16 (the compiler drops the other 16-bit encoder).
override DTYPE: u32 = 0u;
// Whether this pipeline's windows straddle Philox blocks (16-bit windows with `shift` != 0): only
// then are a second block's values evaluated. Fixed per pipeline, not read from the parameters:
// a software adapter runs both sides of a branch for every invocation, taken or not, and paid
// for the second block in every 16-bit fill.
override STRADDLE: bool = false;

// One dispatch's parameters: `FillParams` in src/gpu/params.rs. build.rs checks at compile time
// that both have the same members at the same offsets.
struct FillParams {
    key: vec2<u32>,
    stream: vec2<u32>,
    // Logical index of the window's first element (u64 as lo, hi).
    first_element: vec2<u32>,
    // Invocation t's slots start `shift` words into Philox block first_block + t (u64,
    // wrapping: the block before 0 only feeds slots that are never written).
    first_block: vec2<u32>,
    // Slot of the first element in invocation 0 (see src/gpu/windows.rs).
    lead: u32,
    // Elements to write.
    count: u32,
    // Index in `dst` of the word holding the first element.
    dst_word: u32,
    // Invocations with work.
    invocations: u32,
    // Workgroups along x.
    groups_x: u32,
    // Always 0. Read at run time into OPAQUE_ZERO (values.wgsl), it keeps the compiler from
    // fusing a product into an FMA, so values round exactly as on the CPU.
    opaque_zero: u32,
    shift: u32,
    // The operation's f32 parameters: uniform (a, span), normal (mean, std), trunc_normal (a
    // TruncNormalParams, members in order).
    f: array<vec4<f32>, 3>,
    // The operation's u32 parameters: constant (bits); diagonal (in, spatial, centre,
    // out_per_group), (min_dim, o0, c0, s0) with (o0, c0, s0) the window's first element;
    // copy (first source word); sparse (first mask bit, zeros_marked).
    u: array<vec4<u32>, 2>,
}

@group(0) @binding(0) var<storage, read_write> dst: array<u32>;
@group(0) @binding(1) var<uniform> params: FillParams;
// OP_COPY: the words to copy; OP_SPARSE: the zero mask, one bit per element.
@group(0) @binding(2) var<storage, read> aux: array<u32>;

fn trunc_normal_params() -> TruncNormalParams {
    let f0 = params.f[0];
    let f1 = params.f[1];
    let f2 = params.f[2];
    return TruncNormalParams(f0.x, f0.y, f0.z, f0.w, f1.x, f1.y, f1.z, f1.w, f2.x, f2.y, f2.z);
}

// `factor * x`, each product kept out of FMA contraction (see `mul_rn`).
fn scaled(factor: f32, x: vec4<f32>) -> vec4<f32> {
    return vec4<f32>(mul_rn(factor, x.x), mul_rn(factor, x.y), mul_rn(factor, x.z), mul_rn(factor, x.w));
}

// The values of one block's words.
fn block_values(words: vec4<u32>) -> vec4<u32> {
    let p = params.f[0];
    switch OP {
        case OP_UNIFORM: {
            let u = vec4<f32>(unit_uniform(words.x), unit_uniform(words.y),
                              unit_uniform(words.z), unit_uniform(words.w));
            return bitcast<vec4<u32>>(p.x + scaled(p.y, u));
        }
        case OP_NORMAL, OP_SPARSE: {
            let z = vec4<f32>(standard_normal_pair(words.x, words.y), standard_normal_pair(words.z, words.w));
            return bitcast<vec4<u32>>(p.x + scaled(p.y, z));
        }
        case OP_TRUNC_NORMAL: {
            let tn = trunc_normal_params();
            return bitcast<vec4<u32>>(vec4<f32>(trunc_normal(words.x, tn), trunc_normal(words.y, tn),
                                                trunc_normal(words.z, tn), trunc_normal(words.w, tn)));
        }
        default: {
            return words;
        }
    }
}

// Whether element `rel` of the window is zeroed by the sparse mask.
fn masked_zero(rel: u32) -> bool {
    let bit = params.u[0].x + rel;
    let marked = ((aux[bit / 32u] >> (bit % 32u)) & 1u) == 1u;
    return marked == (params.u[0].y == 1u);
}

// The Philox block `first_block + t + extra` (u64 wrap-around), evaluated.
fn block_at(t: u32, extra: u32) -> vec4<u32> {
    let step = t + extra;
    let lo = params.first_block.x + step;
    let hi = params.first_block.y + select(0u, 1u, lo < step);
    return block_values(philox4x32_10(vec4<u32>(lo, hi, params.stream.x, params.stream.y), params.key));
}

// The f32 bits of slots 4t .. 4t + 3 (slot q is element q - lead of the window). Slots outside
// the window get values that are never written.
fn slot_values(t: u32) -> vec4<u32> {
    let first = 4u * t - params.lead;
    var v: vec4<u32>;
    switch OP {
        case OP_CONSTANT: {
            return vec4<u32>(params.u[0].x);
        }
        case OP_DIAGONAL: {
            let shape = params.u[0];
            let start = params.u[1];
            return vec4<u32>(diagonal_value(first, shape, start), diagonal_value(first + 1u, shape, start),
                             diagonal_value(first + 2u, shape, start), diagonal_value(first + 3u, shape, start));
        }
        case OP_COPY: {
            let at = params.u[0].x + first;
            return vec4<u32>(aux[at], aux[at + 1u], aux[at + 2u], aux[at + 3u]);
        }
        default: {
            // The slots start `shift` words into block first_block + t and may run into the next.
            let b0 = block_at(t, 0u);
            // Only STRADDLE pipelines (never f32: its windows start on a block) need a second block.
            if !STRADDLE {
                v = b0;
            } else {
                let b1 = block_at(t, 1u);
                for (var k = 0u; k < 4u; k++) {
                    let at = params.shift + k;
                    v[k] = select(b1[at & 3u], b0[at & 3u], at < 4u);
                }
            }
        }
    }
    if OP == OP_SPARSE {
        for (var k = 0u; k < 4u; k++) {
            if masked_zero(first + k) {
                v[k] = 0u;
            }
        }
    }
    return v;
}

@compute @workgroup_size(WG_SIZE)
fn fill(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let t = (wg.y * params.groups_x + wg.x) * WG_SIZE + lid;
    if t >= params.invocations {
        return;
    }
    OPAQUE_ZERO = params.opaque_zero;
    let v = slot_values(t);
    if DTYPE == DTYPE_F32 {
        // f32: slot q is element q - lead, in word dst_word + q - lead.
        for (var k = 0u; k < 4u; k++) {
            let q = 4u * t + k;
            if q >= params.lead && q - params.lead < params.count {
                dst[params.dst_word + q - params.lead] = v[k];
            }
        }
        return;
    }
    // 16-bit: slot q is half-word q from word dst_word, so this invocation owns two whole words;
    // halves outside the range keep their old value.
    for (var w = 0u; w < 2u; w++) {
        var word = 0u;
        var keep = 0xffffffffu;
        for (var h = 0u; h < 2u; h++) {
            let q = 4u * t + 2u * w + h;
            if q >= params.lead && q - params.lead < params.count {
                word |= encode_half(v[2u * w + h], DTYPE) << (16u * h);
                keep &= ~(0xffffu << (16u * h));
            }
        }
        if keep != 0xffffffffu {
            let index = params.dst_word + 2u * t + w;
            if keep != 0u {
                word |= dst[index] & keep;
            }
            dst[index] = word;
        }
    }
}
