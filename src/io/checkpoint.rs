//! Hugging Face checkpoint directories, as `save_pretrained` writes them and `from_pretrained`
//! reads them: `model.safetensors` alone, or shards `model-00001-of-0000N.safetensors` with
//! `model.safetensors.index.json`, among the other files of the directory (`config.json`,
//! tokenizer files, a README), which are the user's.
//!
//! # Writing: what is nninit's, and the commit point
//!
//! nninit writes **into** the directory: the directory itself (inode, owner, permissions,
//! setgid, ACLs, mount) stays, and of its files only the checkpoint's ([`is_checkpoint_file`])
//! and nninit's own temporary files are ever replaced or removed. A directory that does not
//! exist is created (with its missing parents), and removed again if the run fails before its
//! commit and the directory is still empty.
//!
//! The new files are written as temporary files inside the directory, flushed to disk, then put
//! in place under the directory's lock (so two nninit runs never commit into it at once):
//!
//! - **Shards:** the old commit points go first (the old index and an old `model.safetensors`,
//!   which loaders take before any index), then the new shards are renamed into place, then the
//!   new index, **the commit point**, then old shards the new index does not name are removed.
//! - **One file:** `model.safetensors` is renamed into place (the commit point: loaders take it
//!   before any index), then the old index and every old shard are removed.
//!
//! The directory is flushed to disk between the steps. Interrupted at any moment (a signal, a
//! kill, a power loss), a loader finds the old checkpoint whole, the new one whole, or shards
//! without an index, which no loader takes for a checkpoint: never old and new shards under one
//! index. The next run removes the interrupted run's temporary files; with `replace`, it also
//! replaces what is left of either checkpoint.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::ffi::OsStr;
use std::fs::File;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};

use super::atomic::{io_error, registry, remove_abandoned, sync_dir, Pending, Registry, RunLock, Token};
use super::reader::TensorFile;
use crate::error::{Error, Result};

/// The index file's name.
pub const INDEX_FILE: &str = "model.safetensors.index.json";

/// The single file's name when everything fits in one shard (as `save_pretrained` does).
pub const SINGLE_FILE: &str = "model.safetensors";

/// The file name of shard `index` (from 0) of `count`: `model-00001-of-00003.safetensors`, or
/// `model.safetensors` alone.
pub fn shard_file_name(index: usize, count: usize) -> String {
    if count == 1 {
        SINGLE_FILE.to_string()
    } else {
        format!("model-{:05}-of-{:05}.safetensors", index + 1, count)
    }
}

/// Whether a file named `name` belongs to a checkpoint of this layout (and so is nninit's to
/// replace with `--force`): `model.safetensors`, `model.safetensors.index.json`, or a shard
/// `model-NNNNN-of-NNNNN.safetensors`.
///
/// ```
/// use nninit::io::is_checkpoint_file;
/// assert!(is_checkpoint_file("model-00002-of-00034.safetensors"));
/// assert!(is_checkpoint_file("model.safetensors.index.json"));
/// assert!(!is_checkpoint_file("config.json") && !is_checkpoint_file("model-final.safetensors"));
/// ```
pub fn is_checkpoint_file(name: &str) -> bool {
    name == SINGLE_FILE || name == INDEX_FILE || is_shard_name(name)
}

fn is_shard_name(name: &str) -> bool {
    let digits = |s: &str| s.len() >= 5 && s.bytes().all(|b| b.is_ascii_digit());
    name.strip_prefix("model-")
        .and_then(|rest| rest.strip_suffix(".safetensors"))
        .and_then(|rest| rest.split_once("-of-"))
        .is_some_and(|(i, n)| digits(i) && digits(n))
}

/// N of a shard named `model-IIIII-of-NNNNN.safetensors` as nninit and `save_pretrained` name
/// them (`shard_file_name`), if it is one.
fn shard_count(name: &str) -> Option<usize> {
    let count: usize = name.strip_suffix(".safetensors")?.rsplit_once("-of-")?.1.parse().ok()?;
    (count > 1 && is_shard_name(name) && (0..count).any(|i| shard_file_name(i, count) == name)).then_some(count)
}

/// The files of a checkpoint a directory holds.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct Present {
    single: bool,
    index: bool,
    /// Shard file names, sorted.
    shards: Vec<String>,
}

impl Present {
    /// Lists `dir`'s checkpoint files; one that is neither a regular file nor a link to one (a
    /// directory named `model.safetensors`, say) is refused, since it cannot be replaced.
    fn of(dir: &Path) -> Result<Self> {
        let mut present = Self::default();
        let entries = std::fs::read_dir(dir).map_err(|source| io_error(dir, source))?;
        for entry in entries {
            let entry = entry.map_err(|source| io_error(dir, source))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if !is_checkpoint_file(&name) {
                continue;
            }
            let path = entry.path();
            let kind = std::fs::symlink_metadata(&path).map_err(|source| io_error(&path, source))?.file_type();
            if !(kind.is_file() || kind.is_symlink()) {
                return Err(Error::InvalidOutput(format!(
                    "{} is not a regular file: refusing to replace it",
                    path.display()
                )));
            }
            match name.as_str() {
                SINGLE_FILE => present.single = true,
                INDEX_FILE => present.index = true,
                _ => present.shards.push(name),
            }
        }
        present.shards.sort();
        Ok(present)
    }

    fn is_empty(&self) -> bool {
        !self.single && !self.index && self.shards.is_empty()
    }

    /// What is there, in a few words: `model.safetensors.index.json and 34 shards
    /// (model-00001-of-00034.safetensors, ...)`.
    fn describe(&self) -> String {
        let mut parts = Vec::new();
        if self.single {
            parts.push(SINGLE_FILE.to_string());
        }
        if self.index {
            parts.push(INDEX_FILE.to_string());
        }
        match self.shards.as_slice() {
            [] => {}
            [one] => parts.push(format!("1 shard ({one})")),
            [first, ..] => parts.push(format!("{} shards ({first}, ...)", self.shards.len())),
        }
        parts.join(" and ")
    }

    /// The refusal to write over this checkpoint without `replace`.
    fn refusal(&self, dir: &Path) -> Error {
        Error::InvalidOutput(format!(
            "{} already holds a checkpoint ({}): refusing to replace it unless forced (--force)",
            dir.display(),
            self.describe()
        ))
    }
}

/// Checks, before any work, that the checkpoint directory `path` may be written: it is a
/// directory (through links) or can be created (its nearest existing ancestor is a directory),
/// it is not a dangling link, and without `replace` it holds no checkpoint (other files are no
/// reason to refuse: they stay).
pub fn check_output_dir(path: &Path, replace: bool) -> Result<()> {
    resolve_output_dir(path, replace).map(drop)
}

/// The directory `path` names, checked as [`check_output_dir`] says, canonical when it exists.
fn resolve_output_dir(path: &Path, replace: bool) -> Result<PathBuf> {
    match std::fs::metadata(path) {
        Ok(meta) if meta.is_dir() => {
            let dir = std::fs::canonicalize(path).map_err(|source| io_error(path, source))?;
            let present = Present::of(&dir)?;
            if !replace && !present.is_empty() {
                return Err(present.refusal(path));
            }
            Ok(dir)
        }
        Ok(_) => Err(Error::InvalidOutput(format!(
            "{} exists and is not a directory: shards go into a directory",
            path.display()
        ))),
        Err(e) if matches!(e.kind(), ErrorKind::NotFound | ErrorKind::NotADirectory) => {
            if let Ok(link) = std::fs::read_link(path) {
                return Err(Error::InvalidOutput(format!(
                    "{} is a symbolic link to {}, which does not exist",
                    path.display(),
                    link.display()
                )));
            }
            let mut ancestor = path;
            while let Some(parent) = ancestor.parent() {
                let parent = if parent.as_os_str().is_empty() { Path::new(".") } else { parent };
                match std::fs::metadata(parent) {
                    Ok(meta) if meta.is_dir() => return Ok(path.to_path_buf()),
                    Ok(_) => {
                        return Err(Error::InvalidOutput(format!(
                            "{} is not a directory, so {} cannot be created",
                            parent.display(),
                            path.display()
                        )))
                    }
                    Err(e) if e.kind() == ErrorKind::NotFound => ancestor = parent,
                    Err(e) if e.kind() == ErrorKind::NotADirectory => {
                        return Err(Error::InvalidOutput(format!(
                            "{} is not a directory, so {} cannot be created",
                            parent.display(),
                            path.display()
                        )))
                    }
                    Err(source) => return Err(io_error(parent, source)),
                }
            }
            Ok(path.to_path_buf())
        }
        Err(source) => Err(io_error(path, source)),
    }
}

/// A checkpoint directory being written (see the module docs): created if need be, locked for
/// the run, its files put in place by [`OutputDir::commit`]. Dropped uncommitted, it removes its
/// lock and the directories it created if they are empty; the run's temporary files are removed
/// by their own [`Pending`] and writers.
#[derive(Debug)]
pub(crate) struct OutputDir {
    dir: PathBuf,
    replace: bool,
    /// Directories this run created, outermost first.
    created: Vec<PathBuf>,
    lock: Option<RunLock>,
}

impl OutputDir {
    /// Checks the directory (see [`check_output_dir`]), creates it and its missing parents,
    /// removes the temporary files of runs that are gone, and takes the run's lock.
    pub(crate) fn create(path: &Path, replace: bool) -> Result<Self> {
        let dir = resolve_output_dir(path, replace)?;
        let mut out = Self { dir: dir.clone(), replace, created: Vec::new(), lock: None };
        let missing: Vec<&Path> = dir.ancestors().take_while(|p| !p.as_os_str().is_empty() && !p.exists()).collect();
        for level in missing.into_iter().rev() {
            let mut registry = registry();
            registry.check_open()?;
            match std::fs::create_dir(level) {
                Ok(()) => {
                    registry.track_dirs(&[level.to_path_buf()]);
                    out.created.push(level.to_path_buf());
                }
                Err(e) if e.kind() == ErrorKind::AlreadyExists && level.is_dir() => {}
                Err(source) => return Err(io_error(level, source)),
            }
        }
        out.dir = std::fs::canonicalize(&dir).map_err(|source| io_error(&dir, source))?;
        remove_abandoned(&out.dir, is_checkpoint_file);
        out.lock = Some(RunLock::create(&out.dir)?);
        Ok(out)
    }

    /// The path of the file `name` in the directory.
    pub(crate) fn join(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// The token the run's temporary files carry.
    pub(crate) fn token(&self) -> &Token {
        self.lock.as_ref().expect("locked until committed").token()
    }

    /// Puts `files` in place: shards with their `index`, or `model.safetensors` alone (no
    /// index), in the order of the module docs, under the directory's lock. Checks again that
    /// a checkpoint that appeared meanwhile may be replaced.
    pub(crate) fn commit(mut self, files: Vec<Pending>, index: Option<Pending>) -> Result<()> {
        // Taken out of their guards: what is left of them after a failure is removed below,
        // once the registry is free again.
        let mut left: Vec<(PathBuf, PathBuf)> = files.into_iter().map(Pending::into_parts).collect();
        let mut index = index.map(Pending::into_parts);
        let committed = self.commit_files(&mut left, &mut index);
        let mut registry = registry();
        for (path, _) in left.iter().chain(&index) {
            let _ = std::fs::remove_file(path);
            registry.forget(path);
        }
        if committed.is_ok() {
            registry.forget_dirs(&self.created);
            self.created.clear();
        }
        drop(registry);
        committed
    }

    fn commit_files(&self, files: &mut Vec<(PathBuf, PathBuf)>, index: &mut Option<(PathBuf, PathBuf)>) -> Result<()> {
        // Another nninit committing into the same directory waits for this one, and the reverse.
        let dir_lock = File::open(&self.dir).map_err(|source| io_error(&self.dir, source))?;
        dir_lock.lock().map_err(|source| io_error(&self.dir, source))?;
        let mut registry = registry();
        registry.check_open()?;
        let old = Present::of(&self.dir)?;
        if !self.replace && !old.is_empty() {
            return Err(old.refusal(&self.dir));
        }
        let new: HashSet<&OsStr> = files.iter().filter_map(|(_, target)| target.file_name()).collect();
        let stale: Vec<PathBuf> =
            old.shards.iter().filter(|s| !new.contains(OsStr::new(s.as_str()))).map(|s| self.join(s)).collect();
        let remove = |path: PathBuf| match std::fs::remove_file(&path) {
            Err(e) if e.kind() != ErrorKind::NotFound => Err(io_error(&path, e)),
            _ => Ok(()),
        };
        match index.take() {
            Some(new_index) => {
                if old.index {
                    remove(self.join(INDEX_FILE))?;
                }
                if old.single {
                    remove(self.join(SINGLE_FILE))?;
                }
                sync_dir(&self.dir);
                rename_all(files, &mut registry)?;
                sync_dir(&self.dir);
                let mut last = vec![new_index];
                rename_all(&mut last, &mut registry)?;
                sync_dir(&self.dir);
                stale.into_iter().try_for_each(remove)?;
            }
            None => {
                rename_all(files, &mut registry)?;
                sync_dir(&self.dir);
                if old.index {
                    remove(self.join(INDEX_FILE))?;
                }
                stale.into_iter().try_for_each(remove)?;
            }
        }
        sync_dir(&self.dir);
        registry.committed();
        Ok(())
    }
}

/// Renames each `(temporary, target)` pair in turn, taking it off the list once done.
fn rename_all(files: &mut Vec<(PathBuf, PathBuf)>, registry: &mut Registry) -> Result<()> {
    let mut done = 0;
    let renamed = files.iter().try_for_each(|(path, target)| {
        std::fs::rename(path, target).map_err(|source| io_error(target, source))?;
        registry.forget(path);
        done += 1;
        Ok(())
    });
    files.drain(..done);
    renamed
}

impl Drop for OutputDir {
    fn drop(&mut self) {
        drop(self.lock.take());
        for dir in self.created.iter().rev() {
            let _ = std::fs::remove_dir(dir);
        }
        registry().forget_dirs(&self.created);
    }
}

/// A checkpoint as loaders find it: one safetensors file, or shards listed by an index.
///
/// ```no_run
/// use nninit::io::Checkpoint;
/// let checkpoint = Checkpoint::open(std::path::Path::new("llama-random"))?;
/// for file in checkpoint.files() {
///     println!("{}: {} tensors", file.path().display(), file.entries().len());
/// }
/// # Ok::<(), nninit::Error>(())
/// ```
#[derive(Debug)]
pub struct Checkpoint {
    index: Option<PathBuf>,
    files: Vec<TensorFile>,
}

impl Checkpoint {
    /// Opens a `.safetensors` file, a `model.safetensors.index.json`, or a directory holding
    /// either (`model.safetensors` first, as `from_pretrained` does). An index is checked against
    /// its shards: every tensor it maps is in its file, and every tensor of a shard is mapped to
    /// that shard; an error names the tensor and the file.
    pub fn open(path: &Path) -> Result<Self> {
        let meta = std::fs::metadata(path).map_err(|source| io_error(path, source))?;
        if meta.is_dir() {
            if path.join(SINGLE_FILE).is_file() {
                return Self::open(&path.join(SINGLE_FILE));
            }
            if path.join(INDEX_FILE).is_file() {
                return Self::open(&path.join(INDEX_FILE));
            }
            let present = Present::of(path)?;
            let why = if present.shards.is_empty() {
                format!("no {SINGLE_FILE} or {INDEX_FILE}: not a safetensors checkpoint")
            } else {
                format!(
                    "{} but no {INDEX_FILE}: an unfinished checkpoint (a write was interrupted before its commit)",
                    present.describe()
                )
            };
            return Err(Error::InvalidParameter(format!("{}: {why}", path.display())));
        }
        if path.extension().is_some_and(|e| e == "json") {
            return Self::open_index(path);
        }
        Ok(Self { index: None, files: vec![TensorFile::open(path)?] })
    }

    fn open_index(index: &Path) -> Result<Self> {
        let map = read_weight_map(index)?;
        let folder = super::atomic::folder_of(index);
        let mut by_file: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        for (tensor, file) in &map {
            by_file.entry(file.as_str()).or_default().push(tensor.as_str());
        }
        if by_file.is_empty() {
            return Err(Error::InvalidParameter(format!("{}: the index maps no tensor to a file", index.display())));
        }
        // Shards named `-of-N` are N: one the index lists no tensor of would be dropped.
        for name in by_file.keys() {
            let Some(count) = shard_count(name) else { continue };
            if let Some(missing) =
                (0..count).map(|i| shard_file_name(i, count)).find(|s| !by_file.contains_key(s.as_str()))
            {
                return Err(Error::SafeTensors(format!(
                    "{}: lists no tensor of {missing}, one of its {count} shards",
                    index.display()
                )));
            }
        }
        let mut files = Vec::with_capacity(by_file.len());
        for (name, mapped) in by_file {
            let file = TensorFile::open(&folder.join(name))?;
            for tensor in mapped {
                if file.entry(tensor).is_none() {
                    return Err(Error::SafeTensors(format!(
                        "{}: tensor {tensor} is mapped to {name}, which does not hold it",
                        index.display()
                    )));
                }
            }
            for entry in file.entries() {
                match map.get(&entry.name) {
                    Some(mapped) if mapped == name => {}
                    Some(other) => {
                        return Err(Error::SafeTensors(format!(
                            "{}: holds tensor {}, which {} maps to {other}",
                            file.path().display(),
                            entry.name,
                            index.display()
                        )))
                    }
                    None => {
                        return Err(Error::SafeTensors(format!(
                            "{}: holds tensor {}, which is not in the weight_map of {}",
                            file.path().display(),
                            entry.name,
                            index.display()
                        )))
                    }
                }
            }
            files.push(file);
        }
        Ok(Self { index: Some(index.to_path_buf()), files })
    }

    /// The index, for shards.
    pub fn index(&self) -> Option<&Path> {
        self.index.as_deref()
    }

    /// Its safetensors files: the single file, or the shards in name order.
    pub fn files(&self) -> &[TensorFile] {
        &self.files
    }
}

/// An index's `weight_map`, its file names checked to be plain names inside its folder.
fn read_weight_map(index: &Path) -> Result<HashMap<String, String>> {
    #[derive(serde::Deserialize)]
    struct Index {
        weight_map: HashMap<String, String>,
    }
    let parsed: Index = super::read_json(index)?;
    for file in parsed.weight_map.values() {
        let plain = Path::new(file).components().all(|c| matches!(c, std::path::Component::Normal(_)));
        if !plain || file.is_empty() {
            return Err(Error::InvalidParameter(format!(
                "{}: shard file {file:?} is not a plain name inside the checkpoint's directory",
                index.display()
            )));
        }
    }
    Ok(parsed.weight_map)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checkpoint_files_are_named_as_save_pretrained_names_them() {
        for ours in ["model.safetensors", "model.safetensors.index.json", "model-00001-of-00002.safetensors"] {
            assert!(is_checkpoint_file(ours), "{ours}");
        }
        assert!(is_checkpoint_file("model-123456-of-123456.safetensors"));
        for theirs in [
            "config.json",
            "tokenizer.json",
            "model-1-of-2.safetensors",
            "model-00001-of-00002.safetensors.bak",
            "pytorch_model.bin",
            "model.safetensors.index.json~",
            "model-0000a-of-00002.safetensors",
        ] {
            assert!(!is_checkpoint_file(theirs), "{theirs}");
        }
        assert_eq!(shard_file_name(0, 3), "model-00001-of-00003.safetensors");
        assert!(is_checkpoint_file(&shard_file_name(99_999, 100_000)));
    }

    #[test]
    fn what_a_directory_holds_is_described_in_a_few_words() {
        let present =
            Present { single: false, index: true, shards: vec!["model-00001-of-00034.safetensors".into(); 34] };
        assert_eq!(
            present.describe(),
            "model.safetensors.index.json and 34 shards (model-00001-of-00034.safetensors, ...)"
        );
        assert!(Present::default().is_empty());
    }
}
