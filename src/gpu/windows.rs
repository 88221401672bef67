//! Splitting a fill into binding windows and dispatches that respect the device's limits.
//!
//! A range larger than `max_storage_buffer_binding_size` is written through several bindings
//! ("windows") whose offsets honour `min_storage_buffer_offset_alignment`; a window that needs
//! more workgroups than `max_compute_workgroups_per_dimension` is dispatched in 2-D.
//!
//! Each invocation owns four "slots". For 4-byte elements, slot `q` is element `q - lead` with
//! `lead` the first element's position in its Philox block, so an invocation usually evaluates
//! one block. For 2-byte elements, slot `q` is the half-word `q` of the binding from the window's
//! first word, so an invocation owns two whole 32-bit words and no two invocations share one.

use crate::error::{Error, Result};

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
    /// Byte size of the binding (a multiple of 4).
    pub bind_size: u64,
    /// Logical index of the window's first element.
    pub first_element: u64,
    /// Elements in the window.
    pub count: u32,
    /// Index (in 32-bit words) of the word holding the first element, inside the binding.
    pub dst_word: u32,
    /// Slot of the first element in invocation 0 (see the module docs).
    pub lead: u32,
    /// Invocations with work.
    pub invocations: u32,
    /// Workgroups along x and y.
    pub groups: (u32, u32),
}

/// Largest element count of one window.
fn max_window_elements(limits: &WindowLimits, element_bytes: u64) -> Result<u64> {
    let slack = limits.offset_alignment.max(4);
    if limits.max_binding < slack + 16 {
        return Err(Error::LimitExceeded(format!(
            "max_storage_buffer_binding_size {} is below the offset alignment {}",
            limits.max_binding, limits.offset_alignment
        )));
    }
    let by_binding = (limits.max_binding - slack) / element_bytes;
    let max_groups = u64::from(limits.max_groups_per_dim).pow(2);
    let by_dispatch = 4 * (max_groups * u64::from(limits.workgroup_size) - 1);
    let by_index = 1u64 << 30;
    Ok(by_binding.min(by_dispatch).min(by_index) / 4 * 4)
}

/// Plans the windows that write logical elements `first .. first + count`, of `element_bytes`
/// bytes each, starting at byte `byte_offset` of a buffer.
pub(crate) fn split_windows(
    byte_offset: u64,
    first: u64,
    count: u64,
    element_bytes: u64,
    limits: &WindowLimits,
) -> Result<Vec<Window>> {
    let max_elements = max_window_elements(limits, element_bytes)?;
    let mut windows = Vec::with_capacity(count.div_ceil(max_elements) as usize);
    let mut done = 0u64;
    while done < count {
        let element = first + done;
        let byte = byte_offset + done * element_bytes;
        // The first window stops on a block (or word) boundary so the others start on one.
        let room = if element_bytes == 4 { max_elements - element % 4 } else { max_elements - (byte % 4) / 2 };
        let n = (count - done).min(room);
        let bind_offset = byte / limits.offset_alignment * limits.offset_alignment;
        let lead = if element_bytes == 4 { element % 4 } else { (byte % 4) / 2 };
        let invocations = (lead + n).div_ceil(4);
        let groups = invocations.div_ceil(u64::from(limits.workgroup_size));
        // As few rows as the limit allows, split evenly: fewer than `groups_y` workgroups idle
        // (x = min(groups, max) would leave up to half of a 2-D dispatch's workgroups empty).
        let groups_y = groups.div_ceil(u64::from(limits.max_groups_per_dim));
        let groups_x = groups.div_ceil(groups_y);
        windows.push(Window {
            bind_offset,
            bind_size: (byte + n * element_bytes).next_multiple_of(4) - bind_offset,
            first_element: element,
            count: n as u32,
            dst_word: ((byte - bind_offset) / 4) as u32,
            lead: lead as u32,
            invocations: invocations as u32,
            groups: (groups_x as u32, groups_y as u32),
        });
        done += n;
    }
    Ok(windows)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SMALL: WindowLimits =
        WindowLimits { max_binding: 1024, offset_alignment: 256, max_groups_per_dim: 2, workgroup_size: 4 };

    #[test]
    fn windows_tile_the_range_within_limits() {
        for element_bytes in [4u64, 2] {
            for byte_offset in [0u64, 2, 4, 6, 250, 252, 254, 256, 1000] {
                if byte_offset % element_bytes != 0 {
                    continue;
                }
                for first in [0u64, 1, 3, 4, 7, 1 << 40] {
                    for count in [0u64, 1, 5, 63, 64, 65, 190, 191, 192, 1000, 5001] {
                        let windows = split_windows(byte_offset, first, count, element_bytes, &SMALL).unwrap();
                        let mut next = first;
                        for w in &windows {
                            let start_byte = byte_offset + (next - first) * element_bytes;
                            let end_byte = start_byte + u64::from(w.count) * element_bytes;
                            assert_eq!(w.first_element, next);
                            assert_eq!(w.bind_offset % SMALL.offset_alignment, 0);
                            assert!(w.bind_size <= SMALL.max_binding && w.bind_size % 4 == 0);
                            assert_eq!(w.bind_offset + w.bind_size, end_byte.next_multiple_of(4));
                            assert_eq!(w.bind_offset + u64::from(w.dst_word) * 4, start_byte / 4 * 4);
                            assert!(w.groups.0 <= 2 && w.groups.1 <= 2);
                            let invocations = u64::from(w.groups.0 * w.groups.1 * SMALL.workgroup_size);
                            assert!(invocations >= u64::from(w.invocations));
                            assert_eq!(u64::from(w.invocations), (u64::from(w.lead) + u64::from(w.count)).div_ceil(4));
                            next += u64::from(w.count);
                        }
                        assert_eq!(next, first + count);
                    }
                }
            }
        }
    }

    #[test]
    fn a_2d_dispatch_leaves_fewer_idle_workgroups_than_rows() {
        // wgpu's default limits; 2^24 + 4 invocations need 65537 workgroups of 256, just past
        // one row of 65535: two rows of 32769, one of them idle (x = 65535 would idle 65533).
        let limits = WindowLimits {
            max_binding: 1 << 34,
            offset_alignment: 256,
            max_groups_per_dim: 65535,
            workgroup_size: 256,
        };
        for (count, element_bytes) in [((1u64 << 26) + 16, 4u64), ((1 << 26) + 16, 2), (1 << 30, 2), (5 << 27, 4)] {
            for w in split_windows(0, 0, count, element_bytes, &limits).unwrap() {
                let needed = u64::from(w.invocations).div_ceil(256);
                let (x, y) = (u64::from(w.groups.0), u64::from(w.groups.1));
                assert!(x <= 65535 && x * y >= needed && x * y - needed < y, "{count}: {:?}", w.groups);
            }
        }
        let w = split_windows(0, 0, (1 << 26) + 16, 4, &limits).unwrap();
        assert_eq!(w[0].groups, (32769, 2));
    }

    #[test]
    fn binding_below_alignment_is_an_error() {
        let limits = WindowLimits { max_binding: 128, ..SMALL };
        assert!(matches!(split_windows(0, 0, 10, 4, &limits), Err(Error::LimitExceeded(_))));
    }
}
