//! Compiling a hot function once per x86-64 instruction set and picking the best at run time,
//! so no `-C target-cpu` flag is needed.

/// Defines `fn $name(args) -> ret` that calls `$generic(args)` compiled with AVX-512 (F, BW, VL,
/// DQ), with AVX2, or for the baseline, whichever the CPU has. `$generic` should be
/// `#[inline(always)]`, so it is compiled into each version.
macro_rules! dispatch_by_isa {
    ($(#[$meta:meta])* $vis:vis fn $name:ident($($arg:ident: $ty:ty),* $(,)?) $(-> $ret:ty)? => $generic:path) => {
        $(#[$meta])*
        $vis fn $name($($arg: $ty),*) $(-> $ret)? {
            #[cfg(target_arch = "x86_64")]
            {
                #[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512dq,avx2")]
                unsafe fn avx512($($arg: $ty),*) $(-> $ret)? {
                    $generic($($arg),*)
                }
                #[target_feature(enable = "avx2")]
                unsafe fn avx2($($arg: $ty),*) $(-> $ret)? {
                    $generic($($arg),*)
                }
                let has_avx512 = std::arch::is_x86_feature_detected!("avx512f")
                    && std::arch::is_x86_feature_detected!("avx512bw")
                    && std::arch::is_x86_feature_detected!("avx512vl")
                    && std::arch::is_x86_feature_detected!("avx512dq");
                if has_avx512 {
                    // SAFETY: the CPU has every feature `avx512` is compiled with, checked above.
                    return unsafe { avx512($($arg),*) };
                }
                if std::arch::is_x86_feature_detected!("avx2") {
                    // SAFETY: the CPU has AVX2, checked just above.
                    return unsafe { avx2($($arg),*) };
                }
            }
            $generic($($arg),*)
        }
    };
}

pub(crate) use dispatch_by_isa;
