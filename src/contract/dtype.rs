//! Output dtypes: f32, and f16 / bf16 rounded from the f32 values to nearest-even.
//!
//! The conversions are written with integer operations, identically here and in
//! `shaders/lib/dtype.wgsl`, so the GPU needs no `SHADER_F16` and both backends produce the same bits.
//! They agree with the `half` crate on every f32 (tested).

use crate::error::{Error, Result};

/// The element type written to a buffer or file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Dtype {
    /// IEEE binary32.
    #[default]
    F32,
    /// IEEE binary16, rounded to nearest-even; overflow gives infinity.
    F16,
    /// bfloat16 (the top half of an f32), rounded to nearest-even; NaNs stay NaN.
    Bf16,
}

impl Dtype {
    /// Every dtype, in declaration order.
    pub const ALL: [Dtype; 3] = [Dtype::F32, Dtype::F16, Dtype::Bf16];

    /// Bytes per element.
    pub const fn size(self) -> u64 {
        match self {
            Dtype::F32 => 4,
            Dtype::F16 | Dtype::Bf16 => 2,
        }
    }

    /// The safetensors dtype.
    pub fn safetensors(self) -> safetensors::Dtype {
        match self {
            Dtype::F32 => safetensors::Dtype::F32,
            Dtype::F16 => safetensors::Dtype::F16,
            Dtype::Bf16 => safetensors::Dtype::BF16,
        }
    }

    /// Its name as the CLI, file metadata and JSON spell it: `f32`, `f16` or `bf16`.
    pub const fn name(self) -> &'static str {
        match self {
            Dtype::F32 => "f32",
            Dtype::F16 => "f16",
            Dtype::Bf16 => "bf16",
        }
    }

    /// The kernel's code for this dtype (`DTYPE_*` in `constants.rs`).
    pub(crate) fn kernel_code(self) -> u32 {
        let name = match self {
            Dtype::F32 => "DTYPE_F32",
            Dtype::F16 => "DTYPE_F16",
            Dtype::Bf16 => "DTYPE_BF16",
        };
        let code = super::constants::DTYPE_CODES.iter().find(|(n, _)| *n == name).map(|(_, c)| *c);
        code.expect("every dtype has a kernel code")
    }

    /// Parses `f32`, `f16` or `bf16`.
    pub fn parse(name: &str) -> Result<Self> {
        match name {
            "f32" => Ok(Dtype::F32),
            "f16" => Ok(Dtype::F16),
            "bf16" => Ok(Dtype::Bf16),
            other => Err(Error::InvalidParameter(format!("unknown dtype {other}: use f32, f16 or bf16"))),
        }
    }

    /// The bits of f32 `x` in this dtype (in the low 16 bits for f16 and bf16).
    #[inline(always)]
    pub fn encode(self, x: u32) -> u32 {
        match self {
            Dtype::F32 => x,
            Dtype::F16 => f32_to_f16_bits(x),
            Dtype::Bf16 => f32_to_bf16_bits(x),
        }
    }

    /// Encodes f32 bit patterns into little-endian bytes of this dtype.
    pub fn encode_slice(self, words: &[u32], out: &mut [u8]) {
        self.encode_slice_with(super::isa::CpuVariant::best(), words, out)
    }

    /// [`Dtype::encode_slice`] with `variant`'s compiled code (the CPU backend's own variant).
    pub(crate) fn encode_slice_with(self, variant: super::isa::CpuVariant, words: &[u32], out: &mut [u8]) {
        encode(variant, self, words, out)
    }
}

super::isa::dispatch_by_isa! {
    /// [`Dtype::encode_slice`] with `variant`'s instruction set.
    fn encode(dtype: Dtype, words: &[u32], out: &mut [u8]) => encode_generic
}

/// [`Dtype::encode_slice`], compiled once per instruction set so the conversion vectorizes (the
/// variant's type `V` is not needed: the compiler's flags are the difference).
#[allow(clippy::extra_unused_type_parameters)]
#[inline(always)]
fn encode_generic<V>(dtype: Dtype, words: &[u32], out: &mut [u8]) {
    match dtype {
        Dtype::F32 => {
            for (w, bytes) in words.iter().zip(out.chunks_exact_mut(4)) {
                bytes.copy_from_slice(&w.to_le_bytes());
            }
        }
        Dtype::F16 | Dtype::Bf16 => {
            // Straight into `out` where its bytes are whole u16s and the CPU is little-endian, as
            // the output is: the copy from a buffer of halves was 7% of a bf16 normal fill (AVX2).
            if cfg!(target_endian = "little") {
                if let Ok(halves) = bytemuck::try_cast_slice_mut::<u8, u16>(out) {
                    let n = words.len().min(halves.len());
                    return encode_halves(dtype, &words[..n], &mut halves[..n]);
                }
            }
            let mut halves = [0u16; 1024];
            for (words, bytes) in words.chunks(1024).zip(out.chunks_mut(2048)) {
                let halves = &mut halves[..words.len()];
                encode_halves(dtype, words, halves);
                for (h, b) in halves.iter().zip(bytes.chunks_exact_mut(2)) {
                    b.copy_from_slice(&h.to_le_bytes());
                }
            }
        }
    }
}

/// The f16 or bf16 bits of `words` into `halves` (as many).
#[inline(always)]
fn encode_halves(dtype: Dtype, words: &[u32], halves: &mut [u16]) {
    if dtype == Dtype::F16 {
        // The `half` crate uses the CPU's F16C conversion (round to nearest-even, NaN quieted like
        // `f32_to_f16_bits`; the sweep test checks they agree).
        let floats: &[f32] = bytemuck::cast_slice(words);
        half::slice::HalfFloatSliceExt::convert_from_f32_slice(
            bytemuck::cast_slice_mut::<u16, half::f16>(halves),
            floats,
        );
    } else {
        halves.iter_mut().zip(words).for_each(|(h, &w)| *h = f32_to_bf16_bits(w) as u16);
    }
}

/// f32 bits to f16 bits, round to nearest-even; NaN stays NaN (quiet), overflow is infinity.
///
/// Branch-free (every case is computed, then selected), so the CPU loop vectorizes;
/// `shaders/lib/dtype.wgsl` computes the same function with branches.
#[inline(always)]
pub fn f32_to_f16_bits(x: u32) -> u32 {
    let sign = (x >> 16) & 0x8000;
    let abs = x & 0x7fff_ffff;
    let exp = abs >> 23;
    let man = abs & 0x007f_ffff;
    // Normal halves: rebias the exponent, keep 10 mantissa bits, round to nearest-even (a carry
    // into the exponent is correct, up to infinity).
    let up = u32::from(man & 0x1000 != 0 && man & 0x2fff != 0);
    let normal = (abs >> 13).wrapping_sub((127 - 15) << 10).wrapping_add(up);
    // Subnormal halves: shift the full significand right by 126 - exp (14..=24).
    let shift = 126u32.wrapping_sub(exp).min(31);
    let m = man | 0x0080_0000;
    let round_bit = 1u32 << shift.saturating_sub(1);
    let up = u32::from(m & round_bit != 0 && m & (3 * round_bit - 1) != 0);
    let subnormal = if shift > 24 { 0 } else { (m >> shift) + up };
    let nan = 0x7c00 | 0x0200 | (man >> 13);
    let magnitude = if abs > 0x7f80_0000 {
        nan
    } else if exp >= 127 + 16 {
        0x7c00
    } else if exp >= 127 - 14 {
        normal
    } else {
        subnormal
    };
    sign | magnitude
}

/// f32 bits to bf16 bits, round to nearest-even; NaN stays NaN (quiet).
#[inline(always)]
pub fn f32_to_bf16_bits(x: u32) -> u32 {
    let up = u32::from(x & 0x8000 != 0 && x & 0x17fff != 0);
    let rounded = (x >> 16) + up;
    if x & 0x7fff_ffff > 0x7f80_0000 {
        (x >> 16) | 0x0040
    } else {
        rounded
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conversions_match_the_half_crate_on_a_sweep_of_all_f32() {
        // Every 97th bit pattern (44 million), plus every exponent's edge mantissas.
        let edges = (0..=0x1ffu32).flat_map(|e| {
            [0u32, 1, 0xfff, 0x1000, 0x1001, 0x2fff, 0x7fff, 0x8000, 0x8001, 0x7f_ffff].map(move |m| (e << 23) | m)
        });
        for x in (0..=u32::MAX).step_by(97).chain(edges) {
            let f = f32::from_bits(x);
            assert_eq!(f32_to_f16_bits(x), u32::from(half::f16::from_f32(f).to_bits()), "f16 of {x:08x}");
            assert_eq!(f32_to_bf16_bits(x), u32::from(half::bf16::from_f32(f).to_bits()), "bf16 of {x:08x}");
        }
    }

    #[test]
    fn slices_encode_alike_at_every_alignment_and_variant() {
        // Whole u16s written in place (an even address) and through a buffer (an odd one), with
        // more words than bytes hold and fewer: the per-element conversion, little-endian.
        let words: Vec<u32> = (0..3000u32).map(|i| i.wrapping_mul(0x9e37_79b9) ^ (i << 7)).collect();
        for dtype in [Dtype::F16, Dtype::Bf16] {
            let want: Vec<u8> = words.iter().flat_map(|&w| (dtype.encode(w) as u16).to_le_bytes()).collect();
            for variant in crate::contract::isa::CpuVariant::supported() {
                for (offset, len) in [(0usize, 6000usize), (1, 6000), (0, 5000), (1, 4001)] {
                    // u16s underneath, so offset 0 is an even address.
                    let mut buffer = vec![0xa5a5u16; len / 2 + 1];
                    let out = &mut bytemuck::cast_slice_mut::<u16, u8>(&mut buffer)[offset..offset + len];
                    dtype.encode_slice_with(variant, &words, out);
                    let written = len / 2 * 2;
                    assert_eq!(&out[..written], &want[..written], "{dtype:?} {variant:?} at {offset}, {len} bytes");
                }
            }
        }
    }
}
