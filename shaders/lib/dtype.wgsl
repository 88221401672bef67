// f32 bits to f16 / bf16 bits, round to nearest-even, with integers only (no SHADER_F16).
// Twin of src/contract/dtype.rs. DTYPE_* come from the generated prelude.

fn f32_to_f16_bits(x: u32) -> u32 {
    let sign = (x >> 16u) & 0x8000u;
    let e = (x >> 23u) & 0xffu;
    let man = x & 0x007fffffu;
    if e == 0xffu {
        return sign | 0x7c00u | select(0u, 0x0200u, man != 0u) | (man >> 13u);
    }
    let half_exp = i32(e) - 127 + 15;
    if half_exp >= 0x1f {
        return sign | 0x7c00u;
    }
    if half_exp <= 0 {
        if 14 - half_exp > 24 {
            return sign;
        }
        let m = man | 0x00800000u;
        let shift = u32(14 - half_exp);
        let round_bit = 1u << (shift - 1u);
        let up = (m & round_bit) != 0u && (m & (3u * round_bit - 1u)) != 0u;
        return sign | ((m >> shift) + select(0u, 1u, up));
    }
    let round_bit = 0x1000u;
    let up = (man & round_bit) != 0u && (man & (3u * round_bit - 1u)) != 0u;
    return (sign | (u32(half_exp) << 10u) | (man >> 13u)) + select(0u, 1u, up);
}

fn f32_to_bf16_bits(x: u32) -> u32 {
    if (x & 0x7fffffffu) > 0x7f800000u {
        return (x >> 16u) | 0x0040u;
    }
    let round_bit = 0x8000u;
    let up = (x & round_bit) != 0u && (x & (3u * round_bit - 1u)) != 0u;
    return (x >> 16u) + select(0u, 1u, up);
}

fn encode_half(x: u32, dtype: u32) -> u32 {
    if dtype == DTYPE_F16 {
        return f32_to_f16_bits(x);
    }
    return f32_to_bf16_bits(x);
}
