// Philox4x32-10 on caller-given (counter, key) pairs, for known-answer checks of an adapter.
// Needs philox.wgsl. Slot 2i holds a counter, slot 2i + 1 a key in .xy; the output replaces the
// counter.

@group(0) @binding(0) var<storage, read_write> io: array<vec4<u32>>;

@compute @workgroup_size(64)
fn philox_kat(@builtin(global_invocation_id) id: vec3<u32>) {
    let i = id.x;
    if 2u * i + 1u >= arrayLength(&io) {
        return;
    }
    io[2u * i] = philox4x32_10(io[2u * i], io[2u * i + 1u].xy);
}
