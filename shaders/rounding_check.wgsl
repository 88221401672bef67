// The correctly rounded division and square root (lib/mathf.wgsl) from caller-given estimates,
// for the tests: the adapters at hand compute `/` and `sqrt` correctly rounded already, so only
// deliberately wrong estimates exercise the correction. Slot i holds the bits of (a, b, estimate
// of a / b, estimate of sqrt(a)); the output replaces its first two with a / b and sqrt(a).

@group(0) @binding(0) var<storage, read_write> io: array<vec4<u32>>;

@compute @workgroup_size(64)
fn rounding_check(@builtin(global_invocation_id) id: vec3<u32>) {
    let i = id.x;
    if i >= arrayLength(&io) {
        return;
    }
    let c = io[i];
    let a = bitcast<f32>(c.x);
    let q = mathf_div_rn_from(a, bitcast<f32>(c.y), bitcast<f32>(c.z));
    let r = mathf_sqrt_rn_from(a, bitcast<f32>(c.w));
    io[i] = vec4<u32>(bitcast<u32>(q), bitcast<u32>(r), c.z, c.w);
}
