//! Every shader module parses and validates with naga, for both multiplies, and the parameter
//! struct the kernel reads has the layout the Rust side writes.

use nninit::gpu::shaders::{fill_module, philox_kat_module, Multiply, FILES};
use nninit::gpu::FILL_PARAMS_OFFSETS;

fn validate(source: &str, multiply: Multiply) -> naga::Module {
    let module = naga::front::wgsl::parse_str(source).unwrap_or_else(|e| panic!("{}", e.emit_to_string(source)));
    let capabilities = match multiply {
        Multiply::Native => naga::valid::Capabilities::SHADER_INT64,
        Multiply::Emulated => naga::valid::Capabilities::empty(),
    };
    naga::valid::Validator::new(naga::valid::ValidationFlags::all(), capabilities)
        .validate(&module)
        .unwrap_or_else(|e| panic!("{}", e.emit_to_string(source)));
    module
}

#[test]
fn every_module_validates_for_both_multiplies() {
    for multiply in [Multiply::Native, Multiply::Emulated] {
        validate(&fill_module(multiply), multiply);
        validate(&philox_kat_module(multiply), multiply);
    }
}

#[test]
fn every_shader_file_is_used_by_a_module() {
    let modules = [Multiply::Native, Multiply::Emulated].map(|m| fill_module(m) + &philox_kat_module(m)).concat();
    for (name, source) in FILES {
        assert!(modules.contains(source), "{name} is embedded but in no module");
    }
    let on_disk = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/shaders")).unwrap().count();
    assert_eq!(on_disk, FILES.len(), "every file under shaders/ is listed in FILES");
}

#[test]
fn the_emulated_module_needs_no_64_bit_integers() {
    // Validating without SHADER_INT64 must fail for the native module and pass for the emulated one.
    let native = naga::front::wgsl::parse_str(&fill_module(Multiply::Native)).unwrap();
    let strict = naga::valid::Validator::new(naga::valid::ValidationFlags::all(), naga::valid::Capabilities::empty())
        .validate(&native);
    assert!(strict.is_err());
    validate(&fill_module(Multiply::Emulated), Multiply::Emulated);
}

#[test]
fn fill_params_layout_matches_the_shader() {
    let module = validate(&fill_module(Multiply::Emulated), Multiply::Emulated);
    let (members, span) = module
        .types
        .iter()
        .find_map(|(_, ty)| match (&ty.name, &ty.inner) {
            (Some(name), naga::TypeInner::Struct { members, span }) if name == "FillParams" => {
                Some((members.clone(), *span))
            }
            _ => None,
        })
        .expect("FillParams in fill.wgsl");
    assert_eq!(span as usize, std::mem::size_of::<nninit::gpu::FillParams>());
    let shader: Vec<(String, u32)> = members.iter().map(|m| (m.name.clone().unwrap(), m.offset)).collect();
    let rust: Vec<(String, u32)> = FILL_PARAMS_OFFSETS.iter().map(|(n, o)| (n.to_string(), *o)).collect();
    assert_eq!(shader, rust);
}
