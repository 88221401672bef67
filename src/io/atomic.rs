//! Atomic output: a file appears whole under its name, or not at all.
//!
//! A [`TempFile`] is created beside the target under a name no other writer can take
//! (`.NAME.nninit-PID-RANDOM.tmp`, created with `O_EXCL`, so writers in different PID namespaces
//! sharing a volume never share one), holds an exclusive lock while it is written, and is renamed
//! over the target only when complete and flushed to disk. Dropped unfinished, it is removed.
//! Each writer renames its own file, so racing writers leave one complete file, the last renamed.
//!
//! A process killed with SIGKILL cannot remove its temporary file; the next writer into the same
//! place removes every temporary file of that target whose lock nobody holds. A signal handler
//! that is about to exit calls [`remove_unfinished`] (the CLI does, on SIGINT and SIGTERM).
//!
//! The target is resolved first: through a symbolic link to the file it names (the link stays);
//! a target that exists and is not a regular file (a directory, device, FIFO or socket) is refused.
//!
//! A set of files (Hugging Face shards and their index) is written the same way into a
//! [`TempDir`] beside the target directory, locked through a `.nninit.lock` file inside it, and
//! renamed into place whole. A target directory that exists must be empty, unless the caller
//! asked to replace it: then the old one is moved aside, the new one renamed into place, and the
//! old one removed.

use std::collections::HashSet;
use std::fs::{File, OpenOptions};
use std::hash::{BuildHasher, Hasher};
use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};

use crate::error::{Error, Result};

/// Links followed before a target is refused as a loop.
const MAX_LINKS: usize = 40;

/// The temporary files of this process that are being written.
static UNFINISHED: Mutex<Option<HashSet<PathBuf>>> = Mutex::new(None);

fn unfinished() -> MutexGuard<'static, Option<HashSet<PathBuf>>> {
    UNFINISHED.lock().unwrap_or_else(|e| e.into_inner())
}

/// Removes the temporary files of every write still in progress in this process. For a signal
/// handler that is about to end the process: after it, no write of this process can complete.
pub fn remove_unfinished() {
    for temp in unfinished().take().unwrap_or_default() {
        let _ = remove_path(&temp);
    }
}

/// Removes a file, or a directory with everything in it.
fn remove_path(path: &Path) -> std::io::Result<()> {
    match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.is_dir() => std::fs::remove_dir_all(path),
        _ => std::fs::remove_file(path),
    }
}

/// The file `path` names: symbolic links followed (relative ones from their own folder), checked
/// to be a regular file or not to exist yet.
pub(crate) fn resolve_target(path: &Path) -> Result<PathBuf> {
    let mut target = path.to_path_buf();
    for _ in 0..MAX_LINKS {
        match std::fs::symlink_metadata(&target) {
            Ok(meta) if meta.file_type().is_symlink() => {
                let link = std::fs::read_link(&target).map_err(|source| io_error(&target, source))?;
                target = match target.parent() {
                    Some(parent) if link.is_relative() => parent.join(link),
                    _ => link,
                };
            }
            Ok(meta) if meta.is_file() => return Ok(target),
            Ok(meta) => {
                let what = if meta.is_dir() { "a directory" } else { "not a regular file (a device, FIFO or socket)" };
                return Err(Error::InvalidOutput(format!(
                    "{} exists and is {what}: refusing to replace it",
                    target.display()
                )));
            }
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(target),
            Err(source) => return Err(io_error(&target, source)),
        }
    }
    Err(Error::InvalidOutput(format!("{}: too many levels of symbolic links", path.display())))
}

/// A temporary file beside a target, renamed over it by [`TempFile::commit`].
#[derive(Debug)]
pub(crate) struct TempFile {
    target: PathBuf,
    path: PathBuf,
    file: Option<File>,
}

impl TempFile {
    /// A new, locked temporary file for the file `path` names (see [`resolve_target`]), after
    /// removing the stale temporary files of earlier writers to it.
    pub(crate) fn create(path: &Path) -> Result<Self> {
        let target = resolve_target(path)?;
        remove_stale(&target);
        let prefix = temp_prefix(&target);
        for _ in 0..16 {
            let temp = target.with_file_name(format!("{prefix}{:016x}.tmp", random()));
            match OpenOptions::new().write(true).create_new(true).open(&temp) {
                Ok(file) => {
                    file.try_lock().map_err(|e| Error::Io {
                        path: temp.display().to_string(),
                        source: std::io::Error::other(e.to_string()),
                    })?;
                    unfinished().get_or_insert_with(HashSet::new).insert(temp.clone());
                    return Ok(Self { target, path: temp, file: Some(file) });
                }
                Err(e) if e.kind() == ErrorKind::AlreadyExists => continue,
                Err(source) => return Err(io_error(&temp, source)),
            }
        }
        Err(Error::Io {
            path: target.display().to_string(),
            source: std::io::Error::other("no unused temporary file name beside it"),
        })
    }

    /// The open file.
    pub(crate) fn file(&mut self) -> &mut File {
        self.file.as_mut().expect("open until committed")
    }

    /// Its path (for error messages).
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// Flushes the file to disk and renames it over the target.
    pub(crate) fn commit(mut self) -> Result<()> {
        let file = self.file.take().expect("open until committed");
        file.sync_all().map_err(|source| io_error(&self.path, source))?;
        drop(file);
        std::fs::rename(&self.path, &self.target).map_err(|source| io_error(&self.target, source))?;
        forget(&self.path);
        self.path = PathBuf::new();
        Ok(())
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if !self.path.as_os_str().is_empty() {
            self.file = None;
            let _ = std::fs::remove_file(&self.path);
            forget(&self.path);
        }
    }
}

/// Takes `temp` off the list of unfinished files.
fn forget(temp: &Path) {
    if let Some(set) = unfinished().as_mut() {
        set.remove(temp);
    }
}

/// The start of the names of this process's temporary files for `target`.
fn temp_prefix(target: &Path) -> String {
    let name = target.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    format!(".{name}.nninit-{}-", std::process::id())
}

/// A temporary file younger than this is never taken for stale: its writer may not have locked
/// it yet.
const STALE_AFTER: std::time::Duration = std::time::Duration::from_secs(2);

/// Removes temporary files of `target` left by writers that are gone: a live writer holds its
/// file's lock, so a file whose lock can be taken (and that is not brand new) is stale.
fn remove_stale(target: &Path) {
    let name = target.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let prefix = format!(".{name}.nninit-");
    let folder = match target.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let Ok(entries) = std::fs::read_dir(&folder) else { return };
    for entry in entries.flatten() {
        let file_name = entry.file_name().to_string_lossy().into_owned();
        if !file_name.starts_with(&prefix) || !file_name.ends_with(".tmp") {
            continue;
        }
        let path = entry.path();
        let old = entry.metadata().ok().and_then(|m| m.modified().ok()).and_then(|t| t.elapsed().ok());
        let Ok(kind) = entry.file_type() else { continue };
        if old.is_none_or(|age| age < STALE_AFTER) {
            continue;
        }
        if kind.is_file() {
            if File::open(&path).is_ok_and(|file| file.try_lock().is_ok()) {
                let _ = std::fs::remove_file(&path);
            }
        } else if kind.is_dir() {
            // A directory's writer holds the lock of the file inside it; a directory without
            // one is a writer's that was killed before it made it, or after it removed it.
            let lock = path.join(DIR_LOCK);
            let free = match File::open(&lock) {
                Ok(file) => file.try_lock().is_ok(),
                Err(e) => e.kind() == ErrorKind::NotFound,
            };
            if free {
                let _ = std::fs::remove_dir_all(&path);
            }
        }
    }
}

/// The lock file inside a [`TempDir`].
const DIR_LOCK: &str = ".nninit.lock";

/// A temporary directory beside a target directory, renamed over it by [`TempDir::commit`];
/// dropped uncommitted, it is removed with everything in it.
#[derive(Debug)]
pub(crate) struct TempDir {
    target: PathBuf,
    path: PathBuf,
    replace: bool,
    lock: Option<File>,
}

impl TempDir {
    /// A new, locked temporary directory for the directory `path` names (symbolic links
    /// followed), after checking that `path` does not exist, is an empty directory, or
    /// `replace` is set and it is a directory.
    pub(crate) fn create(path: &Path, replace: bool) -> Result<Self> {
        let target = resolve_dir_target(path, replace)?;
        remove_stale(&target);
        let prefix = temp_prefix(&target);
        for _ in 0..16 {
            let temp = target.with_file_name(format!("{prefix}{:016x}.tmp", random()));
            match std::fs::create_dir(&temp) {
                Ok(()) => {
                    unfinished().get_or_insert_with(HashSet::new).insert(temp.clone());
                    let mut dir = Self { target, path: temp, replace, lock: None };
                    let lock_path = dir.path.join(DIR_LOCK);
                    let lock = File::create(&lock_path).map_err(|source| io_error(&lock_path, source))?;
                    lock.try_lock().map_err(|e| Error::Io {
                        path: lock_path.display().to_string(),
                        source: std::io::Error::other(e.to_string()),
                    })?;
                    dir.lock = Some(lock);
                    return Ok(dir);
                }
                Err(e) if e.kind() == ErrorKind::AlreadyExists => continue,
                Err(source) => return Err(io_error(&temp, source)),
            }
        }
        Err(Error::Io {
            path: target.display().to_string(),
            source: std::io::Error::other("no unused temporary directory name beside it"),
        })
    }

    /// The temporary directory, to write the files into.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// Removes the lock file and renames the directory into place (moving a directory it
    /// replaces aside first, then removing that one).
    pub(crate) fn commit(mut self) -> Result<()> {
        let target = resolve_dir_target(&self.target, self.replace)?;
        let lock_path = self.path.join(DIR_LOCK);
        std::fs::remove_file(&lock_path).map_err(|source| io_error(&lock_path, source))?;
        let aside = match std::fs::symlink_metadata(&target) {
            Ok(_) if !is_empty_dir(&target)? => {
                let aside = target.with_file_name(format!("{}{:016x}.old", temp_prefix(&target), random()));
                std::fs::rename(&target, &aside).map_err(|source| io_error(&target, source))?;
                Some(aside)
            }
            _ => None,
        };
        if let Err(source) = std::fs::rename(&self.path, &target) {
            if let Some(aside) = &aside {
                let _ = std::fs::rename(aside, &target);
            }
            return Err(io_error(&target, source));
        }
        self.lock = None;
        forget(&self.path);
        self.path = PathBuf::new();
        if let Some(aside) = aside {
            std::fs::remove_dir_all(&aside).map_err(|source| io_error(&aside, source))?;
        }
        Ok(())
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        if !self.path.as_os_str().is_empty() {
            let _ = std::fs::remove_dir_all(&self.path);
            self.lock = None;
            forget(&self.path);
        }
    }
}

/// Checks that the directory `path` names may be written as a whole: absent, an empty
/// directory, or (with `replace`) any directory; never a file.
pub fn check_output_dir(path: &Path, replace: bool) -> Result<()> {
    resolve_dir_target(path, replace).map(drop)
}

/// The directory `path` names (symbolic links followed), checked to be absent, an empty
/// directory, or (with `replace`) any directory.
fn resolve_dir_target(path: &Path, replace: bool) -> Result<PathBuf> {
    let target = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    match std::fs::metadata(&target) {
        Ok(meta) if meta.is_dir() => {
            if !replace && !is_empty_dir(&target)? {
                return Err(Error::InvalidOutput(format!(
                    "{} exists and is not empty: refusing to replace it unless forced (--force)",
                    target.display()
                )));
            }
            Ok(target)
        }
        Ok(_) => Err(Error::InvalidOutput(format!(
            "{} exists and is not a directory: refusing to replace it",
            target.display()
        ))),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(target),
        Err(source) => Err(io_error(&target, source)),
    }
}

fn is_empty_dir(path: &Path) -> Result<bool> {
    let mut entries = std::fs::read_dir(path).map_err(|source| io_error(path, source))?;
    Ok(entries.next().is_none())
}

/// 64 random bits: the standard library's per-process random hash keys, mixed with a counter
/// and the time.
fn random() -> u64 {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    hasher.write_u128(now.as_nanos());
    hasher.finish()
}

pub(crate) fn io_error(path: &Path, source: std::io::Error) -> Error {
    Error::Io { path: path.display().to_string(), source }
}
