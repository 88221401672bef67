// Philox4x32-10 with the Random123 constants (PHILOX_*, from the generated prelude). Needs
// `mulhilo` (mulhilo_native.wgsl or mulhilo_emulated.wgsl). Twin of src/contract/philox.rs.

fn philox_round(ctr: vec4<u32>, key: vec2<u32>) -> vec4<u32> {
    let p0 = mulhilo(PHILOX_M0, ctr.x);
    let p1 = mulhilo(PHILOX_M1, ctr.z);
    return vec4<u32>(p1.x ^ ctr.y ^ key.x, p1.y, p0.x ^ ctr.w ^ key.y, p0.y);
}

// Round 1 uses the raw key; the key is bumped before each later round.
fn philox4x32_10(counter: vec4<u32>, key: vec2<u32>) -> vec4<u32> {
    var ctr = philox_round(counter, key);
    var k = key;
    for (var r = 1u; r < PHILOX_ROUNDS; r++) {
        k += vec2<u32>(PHILOX_W0, PHILOX_W1);
        ctr = philox_round(ctr, k);
    }
    return ctr;
}
