//! The parameters of one fill dispatch, as the kernel reads them.

/// One dispatch's parameters. Keep in sync with `FillParams` in `shaders/fill.wgsl`; a test
/// compares this layout with the one naga reflects from the shader.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, bytemuck::Pod, bytemuck::Zeroable)]
pub struct FillParams {
    /// Philox key.
    pub key: [u32; 2],
    /// Stream number (lo, hi).
    pub stream: [u32; 2],
    /// Logical index of the window's first element (lo, hi).
    pub first_element: [u32; 2],
    /// Slot of the first element in invocation 0.
    pub lead: u32,
    /// Elements to write.
    pub count: u32,
    /// Index in the bound window (in 32-bit words) of the word holding the first element.
    pub dst_word: u32,
    /// Invocations with work.
    pub invocations: u32,
    /// Workgroups along x.
    pub groups_x: u32,
    /// Always zero; see the shader.
    pub opaque_zero: u32,
    /// Output dtype: 0 f32, 1 f16, 2 bf16.
    pub dtype: u32,
    /// Invocation `t`'s slots start `shift` words into Philox block `first_block + t`.
    pub shift: u32,
    /// The Philox block holding invocation 0's first slot, wrapping below 0 (lo, hi).
    pub first_block: [u32; 2],
    /// The operation's f32 parameters.
    pub f: [[f32; 4]; 3],
    /// The operation's u32 parameters.
    pub u: [[u32; 4]; 2],
}

/// Member names and byte offsets of [`FillParams`], for the layout test.
pub const FILL_PARAMS_OFFSETS: &[(&str, u32)] = &[
    ("key", 0),
    ("stream", 8),
    ("first_element", 16),
    ("lead", 24),
    ("count", 28),
    ("dst_word", 32),
    ("invocations", 36),
    ("groups_x", 40),
    ("opaque_zero", 44),
    ("dtype", 48),
    ("shift", 52),
    ("first_block", 56),
    ("f", 64),
    ("u", 112),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rust_offsets_are_the_listed_ones() {
        assert_eq!(std::mem::size_of::<FillParams>(), 144);
        let p = FillParams::default();
        let base = &p as *const _ as usize;
        let fields = [
            &p.key as *const _ as usize,
            &p.stream as *const _ as usize,
            &p.first_element as *const _ as usize,
            &p.lead as *const _ as usize,
            &p.count as *const _ as usize,
            &p.dst_word as *const _ as usize,
            &p.invocations as *const _ as usize,
            &p.groups_x as *const _ as usize,
            &p.opaque_zero as *const _ as usize,
            &p.dtype as *const _ as usize,
            &p.shift as *const _ as usize,
            &p.first_block as *const _ as usize,
            &p.f as *const _ as usize,
            &p.u as *const _ as usize,
        ];
        for (field, (name, offset)) in fields.iter().zip(FILL_PARAMS_OFFSETS) {
            assert_eq!((field - base) as u32, *offset, "{name}");
        }
    }
}
