//! Turning a safetensors tensor's little-endian bytes into numbers.

use safetensors::Dtype as St;

use crate::error::{Error, Result};

/// Whether `dtype` is a floating-point type this module decodes (F64, F32, F16, BF16).
pub fn is_float(dtype: St) -> bool {
    matches!(dtype, St::F64 | St::F32 | St::F16 | St::BF16)
}

/// Decodes floating-point bytes to f32 bit patterns (F64 is rounded to nearest-even).
pub fn decode_f32_bits(dtype: St, bytes: &[u8]) -> Result<Vec<u32>> {
    Ok(match dtype {
        St::F32 => bytes.chunks_exact(4).map(|c| u32::from_le_bytes(c.try_into().unwrap())).collect(),
        St::F16 => halves(bytes).map(|h| half::f16::from_bits(h).to_f32().to_bits()).collect(),
        St::BF16 => halves(bytes).map(|h| (h as u32) << 16).collect(),
        St::F64 => decode_f64(dtype, bytes)?.into_iter().map(|x| (x as f32).to_bits()).collect(),
        other => return Err(Error::SafeTensors(format!("{other:?} is not a floating-point dtype"))),
    })
}

/// Decodes bytes of any numeric dtype (floats, signed and unsigned integers, bool) to f64.
pub fn decode_f64(dtype: St, bytes: &[u8]) -> Result<Vec<f64>> {
    fn each<const N: usize>(bytes: &[u8], f: impl Fn([u8; N]) -> f64) -> Vec<f64> {
        bytes.chunks_exact(N).map(|c| f(c.try_into().unwrap())).collect()
    }
    Ok(match dtype {
        St::F64 => each(bytes, f64::from_le_bytes),
        St::F32 => each(bytes, |b| f32::from_le_bytes(b) as f64),
        St::F16 => each(bytes, |b| half::f16::from_le_bytes(b).to_f64()),
        St::BF16 => each(bytes, |b| half::bf16::from_le_bytes(b).to_f64()),
        St::I64 => each(bytes, |b| i64::from_le_bytes(b) as f64),
        St::I32 => each(bytes, |b| i32::from_le_bytes(b) as f64),
        St::I16 => each(bytes, |b| i16::from_le_bytes(b) as f64),
        St::I8 => each(bytes, |b: [u8; 1]| b[0] as i8 as f64),
        St::U64 => each(bytes, |b| u64::from_le_bytes(b) as f64),
        St::U32 => each(bytes, |b| u32::from_le_bytes(b) as f64),
        St::U16 => each(bytes, |b| u16::from_le_bytes(b) as f64),
        St::U8 | St::BOOL => each(bytes, |b: [u8; 1]| b[0] as f64),
        other => return Err(Error::SafeTensors(format!("{other:?} tensors are not supported"))),
    })
}

/// Decodes signed or unsigned integer bytes (up to 32 bits, and I64) to i64.
pub fn decode_i64(dtype: St, bytes: &[u8]) -> Result<Vec<i64>> {
    fn each<const N: usize>(bytes: &[u8], f: impl Fn([u8; N]) -> i64) -> Vec<i64> {
        bytes.chunks_exact(N).map(|c| f(c.try_into().unwrap())).collect()
    }
    Ok(match dtype {
        St::I64 => each(bytes, i64::from_le_bytes),
        St::I32 => each(bytes, |b| i32::from_le_bytes(b) as i64),
        St::I16 => each(bytes, |b| i16::from_le_bytes(b) as i64),
        St::I8 => each(bytes, |b: [u8; 1]| b[0] as i8 as i64),
        St::U32 => each(bytes, |b| u32::from_le_bytes(b) as i64),
        St::U16 => each(bytes, |b| u16::from_le_bytes(b) as i64),
        St::U8 | St::BOOL => each(bytes, |b: [u8; 1]| b[0] as i64),
        other => return Err(Error::SafeTensors(format!("{other:?} is not an integer dtype up to 64 bits"))),
    })
}

fn halves(bytes: &[u8]) -> impl Iterator<Item = u16> + '_ {
    bytes.chunks_exact(2).map(|c| u16::from_le_bytes([c[0], c[1]]))
}
