//! Compiling a hot function once per x86-64 instruction set and picking one at run time, so no
//! `-C target-cpu` flag is needed; every compiled variant can also be forced (tests, `bench`).

use std::sync::OnceLock;

use super::lanes::Lanes;

/// A compiled variant of the CPU backend's hot loops, by instruction set.
///
/// The CPU backend uses [`CpuVariant::best`] unless told otherwise
/// ([`crate::cpu::CpuBackend::with_variant`]). Every variant computes the same bits; they differ
/// only in speed.
///
/// ```
/// use nninit::cpu::CpuVariant;
/// assert!(CpuVariant::supported().contains(&CpuVariant::Baseline));
/// assert_eq!(CpuVariant::supported().last(), Some(&CpuVariant::best()));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum CpuVariant {
    /// The target's baseline (SSE2 on x86-64), vectorized by the compiler alone.
    Baseline,
    /// x86-64 with AVX2: Philox's 32x32→64-bit multiplies as even/odd-lane `vpmuludq`.
    Avx2,
    /// x86-64 with AVX-512 F, BW, VL and DQ.
    Avx512,
}

impl CpuVariant {
    /// Every variant, from the most portable.
    pub const ALL: [CpuVariant; 3] = [CpuVariant::Baseline, CpuVariant::Avx2, CpuVariant::Avx512];

    /// The variant's name: `baseline`, `avx2` or `avx512`.
    pub fn name(self) -> &'static str {
        match self {
            CpuVariant::Baseline => "baseline",
            CpuVariant::Avx2 => "avx2",
            CpuVariant::Avx512 => "avx512",
        }
    }

    /// The variant named `name` (as [`CpuVariant::name`] writes it), if there is one.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.name() == name)
    }

    /// Whether this CPU can run the variant.
    pub fn is_supported(self) -> bool {
        match self {
            CpuVariant::Baseline => true,
            #[cfg(target_arch = "x86_64")]
            CpuVariant::Avx2 => std::arch::is_x86_feature_detected!("avx2"),
            #[cfg(target_arch = "x86_64")]
            CpuVariant::Avx512 => {
                std::arch::is_x86_feature_detected!("avx512f")
                    && std::arch::is_x86_feature_detected!("avx512bw")
                    && std::arch::is_x86_feature_detected!("avx512vl")
                    && std::arch::is_x86_feature_detected!("avx512dq")
                    && std::arch::is_x86_feature_detected!("avx2")
            }
            #[cfg(not(target_arch = "x86_64"))]
            _ => false,
        }
    }

    /// The variants this CPU can run, from the most portable.
    pub fn supported() -> Vec<Self> {
        Self::ALL.into_iter().filter(|v| v.is_supported()).collect()
    }

    /// The fastest variant this CPU can run (detected once).
    pub fn best() -> Self {
        static BEST: OnceLock<CpuVariant> = OnceLock::new();
        *BEST.get_or_init(|| Self::supported().into_iter().max().unwrap_or(CpuVariant::Baseline))
    }
}

/// The CPU's instruction-set extensions that nninit's variants and conversions can use, as
/// `/proc/cpuinfo` names them (for benchmark reports).
pub fn cpu_features() -> Vec<&'static str> {
    #[allow(unused_mut)]
    let mut found = Vec::new();
    #[cfg(target_arch = "x86_64")]
    {
        macro_rules! probe {
            ($($feature:tt),*) => {
                $(if std::arch::is_x86_feature_detected!($feature) {
                    found.push($feature);
                })*
            };
        }
        probe!("sse4.2", "avx", "avx2", "fma", "f16c", "avx512f", "avx512bw", "avx512vl", "avx512dq", "avx512bf16");
    }
    found
}

/// Defines `fn $name(variant: CpuVariant, args) -> ret` that calls `$generic::<V>(args)` compiled
/// for `variant`'s instruction set, where `V` is the variant's [`Lanes`] type; a variant the
/// CPU lacks runs the baseline. `$generic` should be `#[inline(always)]`, so it is compiled into
/// each version.
macro_rules! dispatch_by_isa {
    ($(#[$meta:meta])* $vis:vis fn $name:ident($($arg:ident: $ty:ty),* $(,)?) $(-> $ret:ty)? => $generic:ident) => {
        $(#[$meta])*
        $vis fn $name(variant: $crate::contract::isa::CpuVariant, $($arg: $ty),*) $(-> $ret)? {
            #[cfg(target_arch = "x86_64")]
            {
                use $crate::contract::isa::CpuVariant;
                #[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512dq,avx2")]
                fn avx512($($arg: $ty),*) $(-> $ret)? {
                    $generic::<$crate::contract::isa::Avx512>($($arg),*)
                }
                #[target_feature(enable = "avx2")]
                fn avx2($($arg: $ty),*) $(-> $ret)? {
                    $generic::<$crate::contract::isa::Avx2>($($arg),*)
                }
                if variant == CpuVariant::Avx512 && variant.is_supported() {
                    // SAFETY: the CPU has every feature `avx512` is compiled with, checked just above.
                    return unsafe { avx512($($arg),*) };
                }
                if variant == CpuVariant::Avx2 && variant.is_supported() {
                    // SAFETY: the CPU has AVX2, checked just above.
                    return unsafe { avx2($($arg),*) };
                }
            }
            let _ = variant;
            $generic::<$crate::contract::isa::Baseline>($($arg),*)
        }
    };
}

pub(crate) use dispatch_by_isa;

/// The portable variant: the compiler vectorizes [`super::lanes::philox_lanes_portable`].
pub(crate) struct Baseline;

/// The AVX2 variant: explicit SIMD in `philox_x86.rs`.
#[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
pub(crate) struct Avx2;

/// The AVX-512 variant: the compiler's vectorization of the portable code (faster, measured,
/// than the AVX2 scheme widened to 512 bits).
#[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
pub(crate) struct Avx512;

impl Lanes for Baseline {}

impl Lanes for Avx512 {}
