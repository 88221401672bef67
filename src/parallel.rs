//! Below every layer: splitting a slice into contiguous parts that threads take in turn, shared
//! by the CPU backend's fills and the orthogonal scheme's draw and transposes.

use std::sync::{Mutex, PoisonError};

/// Items (elements, or matrix entries) below which work runs on the calling thread alone: a
/// thread's start costs about as much as making this many values.
const MIN_ITEMS_PER_THREAD: usize = 1 << 16;

/// The threads worth using on `items` items, at most `threads` and at least one.
pub(crate) fn threads_for(items: usize, threads: usize) -> usize {
    threads.min(items / MIN_ITEMS_PER_THREAD).max(1)
}

/// Parts per thread in [`in_parts`]: the threads take parts from a shared queue, so a thread
/// that is held up (by another process on a shared machine, or by the writer thread of a file
/// output on the same cores) leaves its later parts to the others instead of making them wait at
/// the end.
const PARTS_PER_THREAD: usize = 4;

/// Runs `work(part, first unit of part)` on `data` split into contiguous parts, each a whole
/// number of `unit`-item units, on at most `threads` scoped threads (the calling thread is one of
/// them) that take the parts in turn. `first` is the index of `data`'s first unit; every part but
/// the first starts on an index that is a multiple of `align` (whole Philox blocks, whole mask
/// words).
pub(crate) fn in_parts<T: Send>(
    data: &mut [T],
    unit: usize,
    first: u64,
    align: u64,
    threads: usize,
    work: impl Fn(&mut [T], u64) + Sync,
) {
    let units = data.len() / unit.max(1);
    if threads <= 1 || units == 0 {
        return work(data, first);
    }
    let head = ((align - first % align) % align) as usize;
    let chunk = (units.div_ceil(threads * PARTS_PER_THREAD) as u64).next_multiple_of(align) as usize;
    let (lead, rest) = data.split_at_mut((head + chunk).min(units) * unit);
    let mut parts = vec![(lead, first)];
    for (i, part) in rest.chunks_mut(chunk * unit).enumerate() {
        parts.push((part, first + (head + (i + 1) * chunk) as u64));
    }
    let threads = threads.min(parts.len());
    let queue = Mutex::new(parts.into_iter());
    let next = || queue.lock().unwrap_or_else(PoisonError::into_inner).next();
    let run = || {
        while let Some((part, part_first)) = next() {
            work(part, part_first);
        }
    };
    std::thread::scope(|scope| {
        for _ in 1..threads {
            scope.spawn(run);
        }
        run();
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_tile_the_data_on_aligned_starts() {
        for (len, unit, first, align, threads) in
            [(1000, 1, 0, 32, 2), (1000, 4, 5, 32, 3), (96, 2, 31, 32, 8), (7, 1, 3, 1, 4), (10, 5, 0, 1, 4)]
        {
            let mut data: Vec<u64> = vec![u64::MAX; len];
            let starts = std::sync::Mutex::new(Vec::new());
            in_parts(&mut data, unit, first, align, threads, |part, part_first| {
                starts.lock().unwrap().push(part_first);
                for (i, x) in part.iter_mut().enumerate() {
                    *x = part_first + (i / unit) as u64;
                }
            });
            let expected: Vec<u64> = (0..len).map(|i| first + (i / unit) as u64).collect();
            assert_eq!(data, expected, "{len} {unit} {first} {align} {threads}");
            let starts = starts.into_inner().unwrap();
            assert!(starts.len() <= threads.max(1) * PARTS_PER_THREAD);
            assert!(starts.iter().all(|&s| s == first || s % align == 0), "{starts:?}");
        }
    }

    #[test]
    fn few_items_stay_on_one_thread() {
        assert_eq!(threads_for(MIN_ITEMS_PER_THREAD - 1, 8), 1);
        assert_eq!(threads_for(3 * MIN_ITEMS_PER_THREAD, 8), 3);
        assert_eq!(threads_for(100 * MIN_ITEMS_PER_THREAD, 8), 8);
        assert_eq!(threads_for(0, 0), 1);
    }
}
