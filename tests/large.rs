//! The multi-GB paths on every adapter: one tensor far beyond the storage binding limit in a
//! buffer of the adapter's max_buffer_size, a model of more than 4 GiB over several buffers, spot-checked against the CPU at
//! every window edge and at random positions; and requests beyond the adapter's limits refused
//! with a clear error, leaving the device usable. One test in its own binary, so no other test
//! shares its memory.

mod common;

use nninit::gpu::{create_buffer_checked, read_buffer_blocking, GpuTarget};
use nninit::{Dtype, Error, Region, Scheme, Stream};

const GIB: u64 = 1 << 30;

#[test]
fn multi_gigabyte_fills_are_correct_at_window_edges() {
    for ctx in common::contexts() {
        let name = nninit::gpu::describe(&ctx.info);
        let max = ctx.device.limits().max_buffer_size;
        let usage = wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC;
        // Refused before wgpu sees it, and the device still works afterwards.
        let refused = pollster::block_on(create_buffer_checked(&ctx.device, "too big", max + 4, usage));
        assert!(matches!(refused, Err(Error::LimitExceeded(_))), "{name}: {refused:?}");

        // One buffer of the adapter's max_buffer_size, then two of up to 1.5 GiB (5 GiB together
        // on these adapters).
        let sizes = [max, 3 * GIB / 2, 3 * GIB / 2].map(|size| size.min(max) / 16 * 16);
        let buffers: Vec<_> = sizes
            .iter()
            .enumerate()
            .map(|(i, &size)| {
                pollster::block_on(create_buffer_checked(&ctx.device, &format!("t{i}"), size, usage)).unwrap()
            })
            .collect();
        let total: u64 = buffers.iter().map(|b| b.size()).sum();
        eprintln!("{name}: {} buffers, {:.2} GiB in all", buffers.len(), total as f64 / GIB as f64);
        let rng = Stream::new(77, 0);
        for (i, buffer) in buffers.iter().enumerate() {
            let dtype = if i == 1 { Dtype::Bf16 } else { Dtype::F32 };
            let fill = common::flat(&Scheme::uniform(-1.0, 1.0).unwrap(), Stream::new(5, i as u64));
            let first = 1_000_003 * i as u64;
            let elements = buffer.size() / dtype.size();
            let region = Region::Elements(first..first + elements);
            let target = GpuTarget { buffer, byte_offset: 0, region, dtype };
            common::record_and_wait(ctx, |encoder| ctx.filler.record(encoder, &fill, &target)).unwrap();
            // Every binding window's edge (+-8 elements) and 64 random places. A window holds
            // at most the binding limit less the offset alignment, in whole Philox blocks; the
            // first ends on a block boundary.
            let limits = ctx.device.limits();
            let slack = u64::from(limits.min_storage_buffer_offset_alignment).max(4);
            let window = ((limits.max_storage_buffer_binding_size / 4 * 4 - slack) / dtype.size()).min(1 << 30) / 4 * 4;
            let first_edge = window - first % 4;
            let edges: Vec<u64> = (0..).map(|k| first_edge + k * window).take_while(|&e| e < elements).collect();
            assert!(edges.len() > 4, "{name}: the tensor must span several binding windows");
            let mut spots: Vec<u64> = edges.iter().map(|e| e - 8).collect();
            spots.extend((0..64).map(|k| u64::from(rng.word(k + 100 * i as u64)) % (elements - 16)));
            spots.push(elements - 16);
            for spot in spots {
                let range = spot * dtype.size()..(spot + 16) * dtype.size();
                let bytes = read_buffer_blocking(&ctx.device, &ctx.queue, buffer, range).unwrap();
                let mut expected = vec![0u8; bytes.len()];
                let region = Region::Elements(first + spot..first + spot + 16);
                nninit::cpu::CpuBackend::with_threads(1).fill(&fill, &region, dtype, &mut expected).unwrap();
                assert!(bytes == expected, "{name}: tensor {i} differs near element {spot}");
            }
        }
    }
}
