//! Output dtypes: f32, and f16 / bf16 rounded from the f32 values to nearest-even.
//!
//! The conversions are written with integer operations, identically here and in
//! `shaders/dtype.wgsl`, so the GPU needs no `SHADER_F16` and both backends produce the same bits.
//! They agree with the `half` crate on every f32 (tested).

use crate::error::{Error, Result};

/// The element type written to a buffer or file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Dtype {
    /// IEEE binary32. The discriminants are the kernel's `DTYPE_*` constants.
    #[default]
    F32 = 0,
    /// IEEE binary16, rounded to nearest-even; overflow gives infinity.
    F16 = 1,
    /// bfloat16 (the top half of an f32), rounded to nearest-even; NaNs stay NaN.
    Bf16 = 2,
}

impl Dtype {
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
        let size = self.size() as usize;
        for (w, bytes) in words.iter().zip(out.chunks_exact_mut(size)) {
            let v = self.encode(*w);
            bytes.copy_from_slice(&v.to_le_bytes()[..size]);
        }
    }
}

/// f32 bits to f16 bits, round to nearest-even; NaN stays NaN (quiet), overflow is infinity.
#[inline(always)]
pub fn f32_to_f16_bits(x: u32) -> u32 {
    let sign = (x >> 16) & 0x8000;
    let exp = (x >> 23) & 0xff;
    let man = x & 0x007f_ffff;
    if exp == 0xff {
        let nan = if man != 0 { 0x0200 } else { 0 };
        return sign | 0x7c00 | nan | (man >> 13);
    }
    let half_exp = exp as i32 - 127 + 15;
    if half_exp >= 0x1f {
        return sign | 0x7c00;
    }
    if half_exp <= 0 {
        if 14 - half_exp > 24 {
            return sign;
        }
        let m = man | 0x0080_0000;
        let shift = (14 - half_exp) as u32;
        let round_bit = 1u32 << (shift - 1);
        let up = (m & round_bit) != 0 && (m & (3 * round_bit - 1)) != 0;
        return sign | ((m >> shift) + u32::from(up));
    }
    let round_bit = 0x1000u32;
    let up = (man & round_bit) != 0 && (man & (3 * round_bit - 1)) != 0;
    (sign | ((half_exp as u32) << 10) | (man >> 13)) + u32::from(up)
}

/// f32 bits to bf16 bits, round to nearest-even; NaN stays NaN (quiet).
#[inline(always)]
pub fn f32_to_bf16_bits(x: u32) -> u32 {
    if x & 0x7fff_ffff > 0x7f80_0000 {
        return (x >> 16) | 0x0040;
    }
    let round_bit = 0x8000u32;
    let up = (x & round_bit) != 0 && (x & (3 * round_bit - 1)) != 0;
    (x >> 16) + u32::from(up)
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
}
