//! Pretrained merge: tensors of safetensors files replace the freshly initialized ones they name.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::error::{Error, Result};
use crate::io::{is_float, TensorFile};

use super::resolved::{Model, Source};
use super::tensor::ElementType;

/// A pretrained file, and the prefix its keys get in the model (e.g. `resnet.` for CPN's trunk).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pretrained {
    /// Prepended to every key of the file before matching model names.
    pub prefix: String,
    /// The safetensors file.
    pub path: PathBuf,
}

impl Pretrained {
    /// Parses `[PREFIX=]FILE`: `resnet.=imagenet.safetensors` or `imagenet.safetensors`. Text
    /// before the first `=` is a prefix when it holds no path separator.
    ///
    /// ```
    /// use nninit::model::Pretrained;
    /// let p = Pretrained::parse("resnet.=weights/r50.safetensors");
    /// assert_eq!((p.prefix.as_str(), p.path.to_str().unwrap()), ("resnet.", "weights/r50.safetensors"));
    /// assert_eq!(Pretrained::parse("weights/a=b.safetensors").prefix, "");
    /// ```
    pub fn parse(text: &str) -> Self {
        match text.split_once('=') {
            Some((prefix, path)) if !prefix.contains(std::path::MAIN_SEPARATOR) && !prefix.contains('/') => {
                Self { prefix: prefix.into(), path: path.into() }
            }
            _ => Self { prefix: String::new(), path: text.into() },
        }
    }
}

/// What a merge did, per file and in all.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MergeReport {
    /// Model tensors now taken from a file (each counted once, whichever file won).
    pub loaded: usize,
    /// Model tensors left to their schemes.
    pub initialized: usize,
    /// Per file: its path, its tensor count, how many it supplied, and its keys the model lacks.
    pub files: Vec<FileReport>,
}

/// One file's part of a [`MergeReport`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileReport {
    /// The file.
    pub path: PathBuf,
    /// Tensors in the file.
    pub keys: usize,
    /// Tensors it supplied to the model.
    pub loaded: usize,
    /// Its keys (as they read in the file) that the model lacks; they are ignored.
    pub ignored: Vec<String>,
}

impl Model {
    /// Merges pretrained files, in order (a later file wins where two supply a tensor): every key
    /// that, with its file's prefix, names a model tensor replaces that tensor's scheme. Shapes
    /// must be equal (else an error naming the tensor); floating-point values are converted to
    /// the tensor's dtype; integer tensors take integer values. Keys the model lacks are ignored
    /// and reported.
    pub fn merge_pretrained(&mut self, files: &[Pretrained]) -> Result<MergeReport> {
        let mut reports = Vec::with_capacity(files.len());
        let index: std::collections::HashMap<String, usize> =
            self.tensors.iter().enumerate().map(|(i, t)| (t.name.clone(), i)).collect();
        for pretrained in files {
            let file = Arc::new(TensorFile::open(&pretrained.path)?);
            let mut report =
                FileReport { path: pretrained.path.clone(), keys: file.entries().len(), loaded: 0, ignored: vec![] };
            for entry in file.entries() {
                let name = format!("{}{}", pretrained.prefix, entry.name);
                let Some(&at) = index.get(&name) else {
                    report.ignored.push(entry.name.clone());
                    continue;
                };
                let tensor = &mut self.tensors[at];
                check_compatible(&pretrained.path, &entry.name, &tensor.name, tensor.shape(), tensor.element, entry)?;
                tensor.source = Source::Pretrained { file: Arc::clone(&file), entry: entry.clone() };
                report.loaded += 1;
            }
            reports.push(report);
        }
        let loaded = self.tensors.iter().filter(|t| matches!(t.source, Source::Pretrained { .. })).count();
        Ok(MergeReport { loaded, initialized: self.tensors.len() - loaded, files: reports })
    }
}

fn check_compatible(
    path: &Path,
    key: &str,
    name: &str,
    shape: &[usize],
    element: ElementType,
    entry: &crate::io::TensorEntry,
) -> Result<()> {
    if entry.shape != shape {
        return Err(Error::InvalidShape(format!(
            "{name}: the model's shape is {shape:?}, but {} has {key} with shape {:?}",
            path.display(),
            entry.shape
        )));
    }
    let compatible = match element {
        ElementType::Float(_) => is_float(entry.dtype),
        ElementType::I64 => crate::io::decode_i64(entry.dtype, &[]).is_ok(),
    };
    if !compatible {
        return Err(Error::InvalidParameter(format!(
            "{name}: the model stores {element:?}, but {} has {key} as {:?}",
            path.display(),
            entry.dtype
        )));
    }
    Ok(())
}
