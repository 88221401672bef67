// `eye_` and `dirac_`: ones on a generalized diagonal. Twin of src/contract/diagonal.rs.

// Element `rel` after a window's first element, under the diagonal rule: `shape` is
// (in_channels, spatial, centre, out_per_group), `start` is (min_dim, o0, c0, s0) with
// (o0, c0, s0) the coordinates of the window's first element. Returns the f32 bits of 1 or 0.
fn diagonal_value(rel: u32, shape: vec4<u32>, start: vec4<u32>) -> u32 {
    let s_all = start.w + rel;
    let s = s_all % shape.y;
    let c_all = start.z + s_all / shape.y;
    let c = c_all % shape.x;
    let o = start.y + c_all / shape.x;
    let one = s == shape.z && c < start.x && o % shape.w == c;
    return select(0u, 0x3f800000u, one);
}
