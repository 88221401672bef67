//! `nninit._nninit`: the Rust half of the Python package. Plain types in, host memory filled by
//! nninit's CPU backend with the GIL released; the checks on what Python hands over (tensor
//! types, devices, layouts, autograd) live in `nninit/torch.py`, which is the public API.

use std::ops::Range;

use nninit::cpu::CpuBackend;
use nninit::{Dtype, Fill, Region, Scheme, Stream};
use pyo3::exceptions::{PyMemoryError, PyRuntimeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyDict;

/// nninit's error as the Python exception PyTorch raises for the same mistake: `ValueError` for
/// parameters and shapes (`torch.nn.init`'s checks), `RuntimeError` where PyTorch's C++ kernels
/// check (`uniform_`'s range, `normal_`'s std), `MemoryError`, else `RuntimeError`.
fn to_py(error: nninit::Error) -> PyErr {
    let message = error.to_string();
    match error {
        nninit::Error::InvalidParameter(_) | nninit::Error::InvalidShape(_)
            if !(message.starts_with("uniform_ expects") || message.starts_with("normal expects")) =>
        {
            PyValueError::new_err(message)
        }
        nninit::Error::OutOfMemory { .. } => PyMemoryError::new_err(message),
        _ => PyRuntimeError::new_err(message),
    }
}

/// The scheme `name` with the parameters in `params`, checked by nninit's constructors (PyTorch's
/// messages). Every parameter of the scheme must be given: the defaults live in the Python
/// signatures.
fn scheme(name: &str, params: &Bound<'_, PyDict>) -> PyResult<Scheme> {
    let number = |key: &str| -> PyResult<f64> {
        match params.get_item(key)? {
            Some(value) => value.extract::<f64>(),
            None => Err(PyValueError::new_err(format!("{name}: parameter {key} missing"))),
        }
    };
    let text = |key: &str| -> PyResult<String> {
        match params.get_item(key)? {
            Some(value) => value.extract::<String>(),
            None => Err(PyValueError::new_err(format!("{name}: parameter {key} missing"))),
        }
    };
    let made = match name {
        "uniform" => Scheme::uniform(number("a")?, number("b")?),
        "normal" => Scheme::normal(number("mean")?, number("std")?),
        "trunc_normal" => Scheme::trunc_normal(number("mean")?, number("std")?, number("a")?, number("b")?),
        "constant" => Scheme::constant(number("val")?),
        "ones" => Ok(Scheme::ones()),
        "zeros" => Ok(Scheme::zeros()),
        "eye" => Ok(Scheme::eye()),
        "dirac" => {
            let groups: i64 = params
                .get_item("groups")?
                .ok_or_else(|| PyValueError::new_err("dirac: parameter groups missing"))?
                .extract()?;
            let groups = u64::try_from(groups)
                .map_err(|_| PyValueError::new_err(format!("dirac_ groups must be positive, got {groups}")))?;
            Scheme::dirac(groups)
        }
        "xavier_uniform" => Scheme::xavier_uniform(number("gain")?),
        "xavier_normal" => Scheme::xavier_normal(number("gain")?),
        "kaiming_uniform" => Scheme::kaiming_uniform(number("a")?, &text("mode")?, &text("nonlinearity")?),
        "kaiming_normal" => Scheme::kaiming_normal(number("a")?, &text("mode")?, &text("nonlinearity")?),
        "orthogonal" => Scheme::orthogonal(number("gain")?),
        "sparse" => Scheme::sparse(number("sparsity")?, number("std")?),
        other => return Err(PyValueError::new_err(format!("unknown scheme {other}"))),
    };
    made.map_err(to_py)
}

/// `dtype` as nninit writes it: `f32`, `f16` or `bf16`.
fn dtype(name: &str) -> PyResult<Dtype> {
    match name {
        "f32" => Ok(Dtype::F32),
        "f16" => Ok(Dtype::F16),
        "bf16" => Ok(Dtype::Bf16),
        other => Err(PyValueError::new_err(format!("nninit writes f32, f16 or bf16, not {other}"))),
    }
}

/// Fills `nbytes` bytes of host memory at `address` with the `block` (one `(start, end)` per
/// dimension; all of the tensor when `None`) of the tensor of `shape` filled by scheme `name`
/// from stream (`seed`, `stream`), as `dtype`, row `zero_row` written as zeros after the scheme
/// (`padding_idx`), on `threads` threads (every core when `None`). The GIL is released meanwhile.
///
/// Private (`nninit.torch` is the API): the caller guarantees that `address .. address + nbytes`
/// is writable memory that nothing else touches until this returns. `nbytes` is checked
/// against the block.
#[pyfunction]
#[pyo3(signature = (address, nbytes, dtype_name, name, params, shape, seed, stream, block=None, zero_row=None, threads=None))]
#[allow(clippy::too_many_arguments)]
fn fill_raw(
    py: Python<'_>,
    address: usize,
    nbytes: usize,
    dtype_name: &str,
    name: &str,
    params: &Bound<'_, PyDict>,
    shape: Vec<usize>,
    seed: u64,
    stream: u64,
    block: Option<Vec<(u64, u64)>>,
    zero_row: Option<i64>,
    threads: Option<usize>,
) -> PyResult<()> {
    let dtype = dtype(dtype_name)?;
    let scheme = scheme(name, params)?;
    let region = match block {
        Some(block) => Region::Block(block.into_iter().map(|(start, end)| start..end).collect::<Vec<Range<u64>>>()),
        None => Region::All,
    };
    if address == 0 && nbytes > 0 {
        return Err(PyValueError::new_err("a null address"));
    }
    let backend = threads.map_or_else(CpuBackend::new, CpuBackend::with_threads);
    py.detach(move || -> nninit::Result<()> {
        let mut fill = Fill::new(&scheme, &shape, Stream::new(seed, stream))?;
        if let Some(padding_idx) = zero_row {
            let rows = shape.first().copied().unwrap_or(0) as u64;
            let row = Fill::padding_row(padding_idx, rows)
                .ok_or_else(|| nninit::Error::InvalidParameter("Padding_idx must be within num_embeddings".into()))?;
            fill = fill.with_zero_row(row)?;
        }
        if nbytes == 0 {
            // Nothing to write, but the block is still checked.
            return backend.fill(&fill, &region, dtype, &mut []);
        }
        // SAFETY: the caller guarantees `address .. address + nbytes` is writable and unshared
        // for the duration of the call (nninit.torch checks the tensor and keeps it alive);
        // `fill` writes exactly the region's bytes and fails, writing nothing, when `nbytes`
        // does not match.
        let out = unsafe { std::slice::from_raw_parts_mut(address as *mut u8, nbytes) };
        backend.fill(&fill, &region, dtype, out)
    })
    .map_err(to_py)
}

/// PyTorch's `_calculate_fan_in_and_fan_out(shape)`: `(fan_in, fan_out)`, its `ValueError` for
/// fewer than 2 dimensions.
#[pyfunction]
fn fans(shape: Vec<usize>) -> PyResult<(u64, u64)> {
    nninit::fans(&shape).map_err(to_py)
}

/// PyTorch's `calculate_gain(nonlinearity, param)`, `param` a number or `None`.
#[pyfunction]
#[pyo3(signature = (nonlinearity, param=None))]
fn calculate_gain(nonlinearity: &str, param: Option<f64>) -> PyResult<f64> {
    nninit::calculate_gain(nonlinearity, param).map_err(to_py)
}

/// The stream of the tensor named `name`, as `nninit init` derives it (64-bit FNV-1a).
#[pyfunction]
fn name_stream(name: &str) -> u64 {
    nninit::name_stream(name)
}

/// Whether `name` matches the glob `pattern` as nninit's rule files match (`*` is any run of
/// characters, dots included; `?` one character).
#[pyfunction]
fn glob_match(pattern: &str, name: &str) -> bool {
    nninit::model::glob_match(pattern, name)
}

/// The number of threads a fill uses when not told: every core the OS reports.
#[pyfunction]
fn default_threads() -> usize {
    CpuBackend::new().threads()
}

/// The Rust extension of the `nninit` package.
#[pymodule]
fn _nninit(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(fill_raw, m)?)?;
    m.add_function(wrap_pyfunction!(fans, m)?)?;
    m.add_function(wrap_pyfunction!(calculate_gain, m)?)?;
    m.add_function(wrap_pyfunction!(name_stream, m)?)?;
    m.add_function(wrap_pyfunction!(glob_match, m)?)?;
    m.add_function(wrap_pyfunction!(default_threads, m)?)?;
    m.add("STREAM_VERSION", nninit::STREAM_VERSION)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
