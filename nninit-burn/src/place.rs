//! Where a parameter's values are written: in place in its wgpu buffer, or on the host and
//! then given to burn on any other device.

use burn::backend::Cube;
use burn::tensor::{DType, Device, Tensor, TensorData};
use cubecl::wgpu::{AutoCompiler, WgpuServer};
use nninit::cpu::CpuBackend;
use nninit::gpu::{GpuFiller, GpuTarget};
use nninit::{Dtype, Fill, Region};

use crate::error::{Error, Result};

/// nninit's dtype for burn's, or an error naming the parameter.
pub fn dtype_of(dtype: DType, path: &str) -> Result<Dtype> {
    match dtype {
        DType::F32 => Ok(Dtype::F32),
        DType::F16 => Ok(Dtype::F16),
        DType::BF16 => Ok(Dtype::Bf16),
        other => Err(Error::Unsupported(format!("{path}: nninit fills f32, f16 and bf16 parameters, not {other:?}"))),
    }
}

/// A float tensor's wgpu buffer and the byte offset of its storage, on burn's wgpu backend.
/// A lazy tensor is executed first and burn's queued work flushed, so what is then recorded and
/// submitted on burn's queue runs after burn's work. What is written there is the tensor's
/// memory, in memory order (a transposed view's strides are not applied).
///
/// ```no_run
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use burn::tensor::{Device, Tensor};
/// let (device, setup) = Device::wgpu_options().init_with_setup()?;
/// let tensor = Tensor::<2>::empty([1024, 1024], &device);
/// let (buffer, offset) = nninit_burn::buffer_of(&tensor)?;
/// // record nninit fills (nninit::gpu::GpuTarget { buffer: &buffer, byte_offset: offset, .. }),
/// // then submit on setup.queue
/// # Ok(()) }
/// ```
pub fn buffer_of<const D: usize>(tensor: &Tensor<D>) -> Result<(wgpu::Buffer, u64)> {
    let primitive = tensor
        .clone()
        .without_autodiff()
        .try_into_primitive::<Cube>()
        .map_err(|e| Error::Burn(format!("the tensor is not a CubeCL tensor: {e:?}")))?;
    #[cfg(feature = "fusion")]
    let cube = {
        let client = primitive.client.clone();
        client.resolve_tensor_float::<burn_cubecl::CubeBackend>(primitive)
    };
    #[cfg(not(feature = "fusion"))]
    let cube = primitive;
    cube.client.flush().map_err(|e| Error::Burn(format!("flushing burn's work: {e:?}")))?;
    let resource = cube
        .client
        .get_resource::<WgpuServer<AutoCompiler>>(cube.handle.clone())
        .map_err(|e| Error::Burn(format!("the tensor's wgpu buffer: {e:?}")))?;
    let resource = resource.resource();
    Ok((resource.buffer.clone(), resource.offset))
}

/// Fills a new tensor of `shape` on `device` (an autodiff one too) with `region` of `fill`.
pub enum Writer<'a> {
    /// Recorded into `encoder` on the GPU of `device`, in the tensor's own buffer.
    Gpu { filler: &'a GpuFiller, encoder: &'a mut wgpu::CommandEncoder },
    /// Computed on the host, then given to burn.
    Host(&'a CpuBackend),
}

impl Writer<'_> {
    /// The new tensor, `dtype`, filled (on the GPU: once the encoder is submitted).
    pub fn tensor<const D: usize>(
        &mut self,
        fill: &Fill,
        region: &Region,
        shape: [usize; D],
        dtype: DType,
        device: &Device,
        path: &str,
    ) -> Result<Tensor<D>> {
        let ours = dtype_of(dtype, path)?;
        match self {
            Writer::Gpu { filler, encoder } => {
                let tensor = Tensor::<D>::empty(shape, (device, dtype));
                let (buffer, byte_offset) = buffer_of(&tensor)?;
                let target = GpuTarget { buffer: &buffer, byte_offset, region: region.clone(), dtype: ours };
                filler.record(encoder, fill, &target)?;
                Ok(tensor)
            }
            Writer::Host(cpu) => {
                let elements: usize = shape.iter().product();
                let mut bytes = vec![0u8; elements * ours.size() as usize];
                cpu.fill(fill, region, ours, &mut bytes)?;
                // burn converts data to the device's default dtype unless told the dtype.
                Ok(Tensor::<D>::from_data(TensorData::from_bytes_vec(bytes, shape, dtype), (device, dtype)))
            }
        }
    }
}
