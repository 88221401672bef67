//! Turning a safetensors tensor's little-endian bytes into numbers.

use safetensors::Dtype as St;

use crate::error::{Error, Result};

/// Whether `dtype` is a floating-point type this module decodes (F64, F32, F16, BF16).
pub fn is_float(dtype: St) -> bool {
    matches!(dtype, St::F64 | St::F32 | St::F16 | St::BF16)
}

/// Decodes floating-point bytes to f32 bit patterns (F64 is rounded to nearest-even; a finite
/// F64 value beyond f32's range is an error, not a silent infinity).
pub fn decode_f32_bits(dtype: St, bytes: &[u8]) -> Result<Vec<u32>> {
    if dtype == St::F64 {
        let values = decode_f64(dtype, bytes)?;
        if let Some(x) = values.iter().find(|x| x.is_finite() && (**x as f32).is_infinite()) {
            return Err(Error::InvalidParameter(format!("the f64 value {x:e} is beyond f32's range")));
        }
        return Ok(values.into_iter().map(|x| (x as f32).to_bits()).collect());
    }
    Ok(match dtype {
        St::F32 => bytes.chunks_exact(4).map(|c| u32::from_le_bytes(c.try_into().unwrap())).collect(),
        St::F16 => halves(bytes).map(|h| half::f16::from_bits(h).to_f32().to_bits()).collect(),
        St::BF16 => halves(bytes).map(|h| (h as u32) << 16).collect(),
        other => return Err(Error::SafeTensors(format!("{other:?} is not a floating-point dtype"))),
    })
}

/// Decodes bytes of any numeric dtype (floats, signed and unsigned integers, bool) to f64.
pub fn decode_f64(dtype: St, bytes: &[u8]) -> Result<Vec<f64>> {
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
        St::F8_E5M2 | St::F8_E4M3 | St::F8_E4M3FNUZ | St::F8_E5M2FNUZ | St::F8_E8M0 => {
            bytes.iter().map(|&b| decode_f8(dtype, b)).collect()
        }
        other => return Err(Error::SafeTensors(format!("{other:?} tensors are not supported"))),
    })
}

/// One 8-bit float (OCP FP8 E5M2 and E4M3FN, the FNUZ variants, and the E8M0 scale) as f64.
fn decode_f8(dtype: St, byte: u8) -> f64 {
    // (exponent bits, mantissa bits, bias)
    let (exponent_bits, mantissa_bits, bias) = match dtype {
        St::F8_E5M2 => (5, 2, 15),
        St::F8_E4M3 => (4, 3, 7),
        St::F8_E4M3FNUZ => (4, 3, 8),
        St::F8_E5M2FNUZ => (5, 2, 16),
        _ => {
            // E8M0: an unsigned power of two; 0xff is NaN.
            return if byte == 0xff { f64::NAN } else { 2f64.powi(byte as i32 - 127) };
        }
    };
    let fnuz = matches!(dtype, St::F8_E4M3FNUZ | St::F8_E5M2FNUZ);
    if fnuz && byte == 0x80 {
        return f64::NAN;
    }
    let sign = if byte & 0x80 != 0 { -1.0 } else { 1.0 };
    let exponent = ((byte >> mantissa_bits) & ((1 << exponent_bits) - 1)) as i32;
    let mantissa = (byte & ((1 << mantissa_bits) - 1)) as f64;
    let all_ones = exponent == (1 << exponent_bits) - 1;
    match dtype {
        St::F8_E5M2 if all_ones => return if mantissa == 0.0 { sign * f64::INFINITY } else { f64::NAN },
        St::F8_E4M3 if all_ones && mantissa == 7.0 => return f64::NAN,
        _ => {}
    }
    let scale = 2f64.powi(mantissa_bits);
    sign * if exponent == 0 {
        mantissa / scale * 2f64.powi(1 - bias)
    } else {
        (1.0 + mantissa / scale) * 2f64.powi(exponent - bias)
    }
}

/// Decodes signed or unsigned integer bytes (up to 32 bits, and I64) to i64.
pub fn decode_i64(dtype: St, bytes: &[u8]) -> Result<Vec<i64>> {
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

/// `f` on each `N`-byte element of `bytes`.
fn each<const N: usize, T>(bytes: &[u8], f: impl Fn([u8; N]) -> T) -> Vec<T> {
    bytes.chunks_exact(N).map(|c| f(c.try_into().expect("chunks of N bytes"))).collect()
}

fn halves(bytes: &[u8]) -> impl Iterator<Item = u16> + '_ {
    bytes.chunks_exact(2).map(|c| u16::from_le_bytes([c[0], c[1]]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fp8_known_values() {
        // From the OCP 8-bit floating point specification and the FNUZ formats' definitions.
        let f8 = |dtype, byte| decode_f8(dtype, byte);
        assert_eq!(f8(St::F8_E4M3, 0x7e), 448.0);
        assert_eq!(f8(St::F8_E4M3, 0x01), 2f64.powi(-9));
        assert_eq!(f8(St::F8_E4M3, 0x38), 1.0);
        assert_eq!(f8(St::F8_E4M3, 0xb8), -1.0);
        assert!(f8(St::F8_E4M3, 0x7f).is_nan());
        assert_eq!(f8(St::F8_E5M2, 0x7b), 57344.0);
        assert_eq!(f8(St::F8_E5M2, 0x3c), 1.0);
        assert_eq!(f8(St::F8_E5M2, 0x01), 2f64.powi(-16));
        assert_eq!(f8(St::F8_E5M2, 0xfc), f64::NEG_INFINITY);
        assert_eq!(f8(St::F8_E4M3FNUZ, 0x7f), 240.0);
        assert_eq!(f8(St::F8_E5M2FNUZ, 0x7f), 57344.0);
        assert!(f8(St::F8_E5M2FNUZ, 0x80).is_nan());
        assert_eq!(f8(St::F8_E8M0, 127), 1.0);
        // E5M2 is the top byte of an f16.
        for byte in 0..=255u8 {
            let wide = half::f16::from_bits((byte as u16) << 8).to_f64();
            let narrow = f8(St::F8_E5M2, byte);
            assert!(wide == narrow || wide.is_nan() && narrow.is_nan(), "{byte:#04x}");
        }
    }
}
