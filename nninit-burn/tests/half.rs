//! f16 and bf16 parameters get nninit's f16 and bf16 values (its own rounding of the f32 value),
//! on every device that holds the dtype.

mod common;

use burn::module::{Module, Param};
use burn::tensor::{DType, Tensor};
use common::initializers;
use nninit::cpu::CpuBackend;
use nninit::model::Rule;
use nninit::{name_stream, Dtype, Fill, Region, Scheme, Stream};
use nninit_burn::Rules;

#[derive(Module, Debug)]
struct Half {
    w: Param<Tensor<2>>,
}

#[test]
fn half_precision_parameters() {
    let scheme = Scheme::normal(0.0, 0.02).unwrap();
    let rules = Rules::from_rules(vec![Rule::for_name("w", scheme.clone())]);
    let fill = Fill::new(&scheme, &[33, 17], Stream::new(3, name_stream("w"))).unwrap();
    let mut checked = 0;
    for (device, init) in &initializers() {
        for (dtype, ours) in [(DType::F16, Dtype::F16), (DType::BF16, Dtype::Bf16)] {
            if !device.supports_dtype(dtype) {
                eprintln!("{device:?} does not hold {dtype:?}");
                continue;
            }
            let mut model = Half { w: Param::from_tensor(Tensor::zeros([33, 17], (device, dtype))) };
            init.init(&mut model, 3, &rules).unwrap();
            let value = model.w.val();
            assert_eq!(value.dtype(), dtype);
            let mut want = vec![0u8; 33 * 17 * 2];
            CpuBackend::new().fill(&fill, &Region::All, ours, &mut want).unwrap();
            assert_eq!(value.into_data().as_bytes(), want.as_slice(), "{dtype:?} on {device:?}");
            checked += 1;
        }
    }
    assert!(checked >= 2, "f16 and bf16 on burn's CPU backend at least");
}
