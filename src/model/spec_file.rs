//! A spec from a JSON file: an nninit spec, or a Hugging Face `config.json` of the Llama family,
//! told apart by their keys. (Apart from `spec.rs`, which `hf_config.rs` builds on.)

use std::path::Path;

use crate::error::Result;
use crate::io::read_json;

use super::hf_config::HfConfig;
use super::spec::ModelSpec;

impl ModelSpec {
    /// Reads a spec from a JSON file: an nninit spec, or a Hugging Face `config.json` of the
    /// Llama family (see [`super::HfConfig`]).
    pub fn from_file(path: &Path) -> Result<Self> {
        Ok(Self::from_file_with_dtype(path)?.0)
    }

    /// [`ModelSpec::from_file`], with the dtype the file names: a Hugging Face config's
    /// `torch_dtype` (an nninit spec names none).
    pub fn from_file_with_dtype(path: &Path) -> Result<(Self, Option<crate::Dtype>)> {
        let json: serde_json::Value = read_json(path)?;
        let named = |e: crate::Error| match e {
            crate::Error::InvalidParameter(m) => crate::Error::InvalidParameter(format!("{}: {m}", path.display())),
            e => e,
        };
        if HfConfig::is_hf_config(&json) {
            let config = HfConfig::from_json(&json).map_err(named)?;
            return Ok((config.spec()?, config.dtype));
        }
        let spec = serde_json::from_value(json).map_err(|e| named(crate::Error::InvalidParameter(e.to_string())))?;
        Ok((spec, None))
    }
}
