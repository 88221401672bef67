//! Splitting a fill into binding windows and dispatches that respect the device's limits.
//!
//! A range larger than `max_storage_buffer_binding_size` is written through several bindings
//! ("windows") whose offsets honour `min_storage_buffer_offset_alignment`; a window that needs
//! more workgroups than `max_compute_workgroups_per_dimension` is dispatched in 2-D.

use crate::error::{Error, Result};

/// Bytes per element written (f32 and raw words).
pub const ELEMENT_BYTES: u64 = 4;

/// The device limits that shape a fill.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WindowLimits {
    /// `max_storage_buffer_binding_size`.
    pub max_binding: u64,
    /// `min_storage_buffer_offset_alignment`.
    pub offset_alignment: u64,
    /// `max_compute_workgroups_per_dimension`.
    pub max_groups_per_dim: u32,
    /// Invocations per workgroup.
    pub workgroup_size: u32,
}

/// One binding window and its dispatch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Window {
    /// Byte offset of the binding in the buffer.
    pub bind_offset: u64,
    /// Byte size of the binding.
    pub bind_size: u64,
    /// Logical index of the window's first element.
    pub first_element: u64,
    /// Elements in the window.
    pub count: u32,
    /// Index (in 32-bit words) of the first element inside the binding.
    pub dst_word: u32,
    /// Invocations with work: one per Philox block touched.
    pub blocks: u32,
    /// Workgroups along x and y.
    pub groups: (u32, u32),
}

impl Window {
    /// Position of the first element inside its Philox block.
    pub fn lead(&self) -> u32 {
        (self.first_element % 4) as u32
    }
}

/// Largest element count of one window.
fn max_window_elements(limits: &WindowLimits) -> Result<u64> {
    let slack = limits.offset_alignment.max(ELEMENT_BYTES) - ELEMENT_BYTES;
    if limits.max_binding < slack + 4 * ELEMENT_BYTES {
        return Err(Error::LimitExceeded(format!(
            "max_storage_buffer_binding_size {} is below the offset alignment {}",
            limits.max_binding, limits.offset_alignment
        )));
    }
    let by_binding = (limits.max_binding - slack) / ELEMENT_BYTES;
    let max_groups = u64::from(limits.max_groups_per_dim).pow(2);
    let by_dispatch = 4 * (max_groups * u64::from(limits.workgroup_size) - 1);
    let by_index = 1u64 << 30;
    // Whole blocks, so windows after the first start on a block boundary.
    Ok(by_binding.min(by_dispatch).min(by_index) / 4 * 4)
}

/// Plans the windows that write logical elements `first .. first + count` starting at byte
/// `byte_offset` of a buffer.
pub fn plan_windows(
    byte_offset: u64,
    first: u64,
    count: u64,
    limits: &WindowLimits,
) -> Result<Vec<Window>> {
    let max_elements = max_window_elements(limits)?;
    let mut windows = Vec::with_capacity(count.div_ceil(max_elements) as usize);
    let mut done = 0u64;
    while done < count {
        let element = first + done;
        // The first window stops at a block boundary so the others start on one.
        let room = max_elements - element % 4;
        let n = (count - done).min(room);
        let byte = byte_offset + done * ELEMENT_BYTES;
        let bind_offset = byte / limits.offset_alignment * limits.offset_alignment;
        let blocks = (element % 4 + n).div_ceil(4);
        let groups = blocks.div_ceil(u64::from(limits.workgroup_size));
        let groups_x = groups.min(u64::from(limits.max_groups_per_dim));
        windows.push(Window {
            bind_offset,
            bind_size: byte - bind_offset + n * ELEMENT_BYTES,
            first_element: element,
            count: n as u32,
            dst_word: ((byte - bind_offset) / ELEMENT_BYTES) as u32,
            blocks: blocks as u32,
            groups: (groups_x as u32, groups.div_ceil(groups_x) as u32),
        });
        done += n;
    }
    Ok(windows)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SMALL: WindowLimits = WindowLimits {
        max_binding: 1024,
        offset_alignment: 256,
        max_groups_per_dim: 2,
        workgroup_size: 4,
    };

    #[test]
    fn windows_tile_the_range_within_limits() {
        for byte_offset in [0u64, 4, 252, 256, 1000] {
            for first in [0u64, 1, 3, 4, 7, 1 << 40] {
                for count in [0u64, 1, 5, 63, 64, 65, 190, 191, 192, 1000, 5001] {
                    let windows = plan_windows(byte_offset, first, count, &SMALL).unwrap();
                    let mut next = first;
                    for w in &windows {
                        assert_eq!(w.first_element, next);
                        assert_eq!(w.bind_offset % SMALL.offset_alignment, 0);
                        assert!(w.bind_size <= SMALL.max_binding);
                        assert_eq!(
                            w.bind_offset + w.bind_size,
                            byte_offset + (next - first + u64::from(w.count)) * 4
                        );
                        assert_eq!(
                            w.bind_offset + u64::from(w.dst_word) * 4,
                            byte_offset + (next - first) * 4
                        );
                        assert!(w.groups.0 <= 2 && w.groups.1 <= 2);
                        let invocations = u64::from(w.groups.0 * w.groups.1 * SMALL.workgroup_size);
                        assert!(invocations >= u64::from(w.blocks));
                        assert_eq!(
                            u64::from(w.blocks),
                            (u64::from(w.lead()) + u64::from(w.count)).div_ceil(4)
                        );
                        next += u64::from(w.count);
                    }
                    assert_eq!(next, first + count);
                }
            }
        }
    }

    #[test]
    fn binding_below_alignment_is_an_error() {
        let limits = WindowLimits {
            max_binding: 128,
            ..SMALL
        };
        assert!(matches!(
            plan_windows(0, 0, 10, &limits),
            Err(Error::LimitExceeded(_))
        ));
    }
}
