//! The WGSL modules, as `build.rs` put them together and validated them: the generated prelude
//! (`src/contract/constants.rs`), then the files of `shaders/lib/` and the kernel, in the order
//! that `constants.rs` lists.

/// Which 32x32 -> 64-bit multiply Philox uses on the GPU. Both give the same bits.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Multiply {
    /// Native `u64` arithmetic; needs the device feature `SHADER_INT64`.
    Native,
    /// An exact emulation from 16-bit halves; runs everywhere.
    Emulated,
}

impl Multiply {
    /// `Native` where `device` has `SHADER_INT64`, else `Emulated`.
    pub fn best_for(device: &wgpu::Device) -> Self {
        if device.features().contains(wgpu::Features::SHADER_INT64) {
            Multiply::Native
        } else {
            Multiply::Emulated
        }
    }
}

/// The fill module (entry point `fill`) for a multiply variant.
pub(crate) fn fill_module(multiply: Multiply) -> &'static str {
    match multiply {
        Multiply::Native => include_str!(concat!(env!("OUT_DIR"), "/fill_native.wgsl")),
        Multiply::Emulated => include_str!(concat!(env!("OUT_DIR"), "/fill_emulated.wgsl")),
    }
}

/// The known-answer module (entry point `philox_kat`) for a multiply variant.
pub(crate) fn philox_kat_module(multiply: Multiply) -> &'static str {
    match multiply {
        Multiply::Native => include_str!(concat!(env!("OUT_DIR"), "/philox_kat_native.wgsl")),
        Multiply::Emulated => include_str!(concat!(env!("OUT_DIR"), "/philox_kat_emulated.wgsl")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contract::constants::{FILL_MODULE, MULHILO_VARIANTS, PHILOX_KAT_MODULE, ROUNDING_CHECK_MODULE};

    fn validate(source: &str, capabilities: naga::valid::Capabilities) -> Result<(), String> {
        let module = naga::front::wgsl::parse_str(source).map_err(|e| e.emit_to_string(source))?;
        naga::valid::Validator::new(naga::valid::ValidationFlags::all(), capabilities)
            .validate(&module)
            .map(drop)
            .map_err(|e| e.emit_to_string(source))
    }

    #[test]
    fn the_emulated_modules_need_no_64_bit_integers() {
        let none = naga::valid::Capabilities::empty();
        assert!(validate(fill_module(Multiply::Emulated), none).is_ok());
        assert!(validate(philox_kat_module(Multiply::Emulated), none).is_ok());
        // The native module does use them: it fails without the capability.
        assert!(validate(fill_module(Multiply::Native), none).is_err());
        assert!(validate(fill_module(Multiply::Native), naga::valid::Capabilities::SHADER_INT64).is_ok());
    }

    #[test]
    fn every_shader_file_is_in_a_module() {
        let listed: Vec<String> = FILL_MODULE
            .iter()
            .chain(PHILOX_KAT_MODULE)
            .chain(ROUNDING_CHECK_MODULE)
            .flat_map(|f| MULHILO_VARIANTS.map(|m| f.replace("{mulhilo}", m)))
            .collect();
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("shaders");
        for dir in [root.clone(), root.join("lib")] {
            for entry in std::fs::read_dir(&dir).unwrap() {
                let path = entry.unwrap().path();
                if path.extension().is_some_and(|e| e == "wgsl") {
                    let relative = path.strip_prefix(&root).unwrap().to_string_lossy().replace('\\', "/");
                    assert!(listed.contains(&relative), "shaders/{relative} is in no module");
                }
            }
        }
    }

    #[test]
    fn the_prelude_defines_every_kernel_constant_once() {
        let prelude = crate::contract::constants::wgsl_prelude();
        for name in ["PHILOX_M0", "PHILOX_ROUNDS", "OP_SPARSE", "DTYPE_BF16"] {
            assert_eq!(prelude.matches(&format!("const {name}:")).count(), 1, "{name}");
        }
        // And no shader file defines them again.
        let module = fill_module(Multiply::Emulated);
        assert_eq!(module.matches("const OP_UNIFORM").count(), 1);
        assert_eq!(module.matches("const DTYPE_F16").count(), 1);
    }
}
