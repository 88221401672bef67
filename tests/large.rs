//! The multi-GB paths on every adapter: one tensor far beyond the storage binding limit in a
//! buffer of the adapter's max_buffer_size, a model of more than 4 GiB over several buffers, spot-checked against the CPU at
//! every window edge and at random positions; and requests beyond the adapter's limits refused
//! with a clear error, leaving the device usable. One test in its own binary, so no other test
//! shares its memory.

mod common;

use nninit::gpu::windows::plan_windows;
use nninit::gpu::{create_buffer_checked, read_buffer, FillTarget};
use nninit::{Dtype, Error, Fill, Scheme, Stream};

const GIB: u64 = 1 << 30;

#[test]
fn multi_gigabyte_fills_are_correct_at_window_edges() {
    for ctx in common::contexts() {
        let name = nninit::gpu::describe(&ctx.info);
        let max = ctx.device.limits().max_buffer_size;
        let usage = wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC;
        // Refused before wgpu sees it, and the device still works afterwards.
        let refused = create_buffer_checked(&ctx.device, "too big", max + 4, usage);
        assert!(matches!(refused, Err(Error::LimitExceeded(_))), "{name}: {refused:?}");

        // One buffer of the adapter's max_buffer_size, then two of up to 1.5 GiB (5 GiB together
        // on these adapters).
        let sizes = [max, 3 * GIB / 2, 3 * GIB / 2].map(|size| size.min(max) / 16 * 16);
        let buffers: Vec<_> = sizes
            .iter()
            .enumerate()
            .map(|(i, &size)| create_buffer_checked(&ctx.device, &format!("t{i}"), size, usage).unwrap())
            .collect();
        let total: u64 = buffers.iter().map(|b| b.size()).sum();
        eprintln!("{name}: {} buffers, {:.2} GiB in all", buffers.len(), total as f64 / GIB as f64);
        let rng = Stream::new(77, 0);
        for (i, buffer) in buffers.iter().enumerate() {
            let dtype = if i == 1 { Dtype::Bf16 } else { Dtype::F32 };
            let fill = Fill::new(&Scheme::uniform(-1.0, 1.0).unwrap(), Stream::new(5, i as u64));
            let first = 1_000_003 * i as u64;
            let elements = buffer.size() / dtype.size();
            let target = FillTarget { buffer, byte_offset: 0, elements: first..first + elements, dtype };
            ctx.filler.fill(&ctx.device, &ctx.queue, &target, &fill).unwrap();
            // Every window edge (+-8 elements) and 64 random places.
            let windows = plan_windows(0, first, elements, dtype.size(), &ctx.filler.window_limits()).unwrap();
            assert!(windows.len() > 4, "{name}: the tensor must span several binding windows");
            let mut spots: Vec<u64> = windows[1..].iter().map(|w| w.first_element - first - 8).collect();
            spots.extend((0..64).map(|k| u64::from(rng.word(k + 100 * i as u64)) % (elements - 16)));
            spots.push(elements - 16);
            for spot in spots {
                let bytes =
                    read_buffer(&ctx.device, &ctx.queue, buffer, spot * dtype.size()..(spot + 16) * dtype.size())
                        .unwrap();
                let mut words = vec![0u32; 16];
                nninit::cpu::CpuBackend::with_threads(1).fill_words(&mut words, first + spot, &fill);
                let mut expected = vec![0u8; bytes.len()];
                dtype.encode_slice(&words, &mut expected);
                assert!(bytes == expected, "{name}: tensor {i} differs near element {spot}");
            }
        }
    }
}
