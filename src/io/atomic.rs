//! Atomic output: a file appears whole under its name, or not at all, and nothing of nninit's is
//! left beside it.
//!
//! A [`TempFile`] is created beside its target under a name no other writer can take
//! (`.NAME.nninit-PID-RANDOM.tmp`, created with `O_EXCL`, so writers in different PID namespaces
//! sharing a volume never share one), holds an exclusive lock from the moment it exists until it
//! is renamed over the target (complete and flushed to disk), and is removed if dropped
//! unfinished. Each writer renames its own file, so racing writers leave one complete file, the
//! last renamed.
//!
//! The files of a set (a checkpoint's shards) are written the same way, then left in place,
//! closed, under the set's [`RunLock`] (`.nninit-PID-RANDOM.lock`, locked while the run lives)
//! until the set is committed; their names carry the run's token.
//!
//! A process killed with SIGKILL cannot remove its temporary files: the next writer into the
//! same place removes every temporary file of nninit's whose writer is gone (see
//! [`remove_abandoned`]). A signal handler that is about to end the process calls
//! [`interrupt_writes`] (the CLI does, on SIGINT and SIGTERM): it waits for a commit under way to
//! end, removes every temporary file of the process, and no write of the process can start or
//! commit after it.
//!
//! A target is resolved first: through symbolic links to the file they name (the links stay); a
//! target that exists and is not a regular file (a directory, device, FIFO or socket) is refused.

use std::collections::BTreeSet;
use std::fs::{File, OpenOptions};
use std::hash::{BuildHasher, Hasher};
use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use crate::error::{Error, Result};

/// Links followed before a target is refused as a loop.
const MAX_LINKS: usize = 40;

/// An empty temporary or lock file younger than this is never taken for abandoned: its writer
/// may be in the instant between creating and locking it. Any file that holds data was locked
/// before its first byte, so its free lock alone says its writer is gone, whatever its age.
const GRACE: Duration = Duration::from_secs(2);

/// The writes in progress in this process, and whether an interrupt ended them.
pub(crate) struct Registry {
    /// Temporary and lock files, removed on an interrupt.
    files: BTreeSet<PathBuf>,
    /// Directories created for outputs not yet committed, removed on an interrupt if empty.
    dirs: Vec<PathBuf>,
    /// Set by [`interrupt_writes`]: nothing starts or commits after it.
    interrupted: bool,
    /// Outputs put in place so far.
    committed: usize,
}

static REGISTRY: Mutex<Registry> =
    Mutex::new(Registry { files: BTreeSet::new(), dirs: Vec::new(), interrupted: false, committed: 0 });

/// The registry, locked. A commit holds it while it renames, so an interrupt waits for it.
pub(crate) fn registry() -> MutexGuard<'static, Registry> {
    REGISTRY.lock().unwrap_or_else(|e| e.into_inner())
}

impl Registry {
    /// [`Error::Interrupted`] once an interrupt has ended this process's writes.
    pub(crate) fn check_open(&self) -> Result<()> {
        if self.interrupted {
            return Err(Error::Interrupted);
        }
        Ok(())
    }

    /// Records a file to remove on an interrupt.
    fn track(&mut self, path: &Path) {
        self.files.insert(path.to_path_buf());
    }

    /// Takes a file off the list (renamed into place, or removed).
    pub(crate) fn forget(&mut self, path: &Path) {
        self.files.remove(path);
    }

    /// Records directories created for an output (outermost first).
    pub(crate) fn track_dirs(&mut self, dirs: &[PathBuf]) {
        self.dirs.extend_from_slice(dirs);
    }

    /// Takes directories off the list: their output was committed, or they were removed.
    pub(crate) fn forget_dirs(&mut self, dirs: &[PathBuf]) {
        self.dirs.retain(|d| !dirs.contains(d));
    }

    /// Counts an output put in place.
    pub(crate) fn committed(&mut self) {
        self.committed += 1;
    }
}

/// Ends every write of this process for good, for a signal handler that is about to end the
/// process: waits for a commit under way to finish, then removes the temporary and lock files of
/// every other write, and the directories created for them that are still empty. No write of
/// this process can start or commit afterwards. Returns how many outputs were put in place
/// before (whole).
pub fn interrupt_writes() -> usize {
    let mut registry = registry();
    registry.interrupted = true;
    for path in std::mem::take(&mut registry.files) {
        let _ = std::fs::remove_file(&path);
    }
    for dir in std::mem::take(&mut registry.dirs).iter().rev() {
        let _ = std::fs::remove_dir(dir);
    }
    registry.committed
}

/// Whether [`interrupt_writes`] has been called: an error after it is the interrupt's doing (a
/// file it removed), and the process is about to end.
pub fn writes_interrupted() -> bool {
    registry().interrupted
}

/// Checks, before any work, that `path` may be written as a file: a regular file (through
/// links), or a new name in an existing directory; not a directory, a device, a pipe or a
/// socket, and not a name ending with `/`.
pub fn check_output_file(path: &Path) -> Result<()> {
    resolve_target(path).map(drop)
}

/// The file `path` names, checked to be a regular file or not to exist yet: symbolic links are
/// followed (relative ones from their own folder) to a file that exists, or to the name a
/// dangling link points at, which is created there.
pub(crate) fn resolve_target(path: &Path) -> Result<PathBuf> {
    if path.as_os_str().to_string_lossy().ends_with('/') {
        return Err(Error::InvalidOutput(format!(
            "{} ends with /, so it names a directory: give a file name (or, for `init`, --max-shard-size to write shards into a directory)",
            path.display()
        )));
    }
    match std::fs::metadata(path) {
        Ok(meta) if meta.is_file() => return std::fs::canonicalize(path).map_err(|source| io_error(path, source)),
        Ok(meta) => return Err(not_a_file(path, &meta)),
        Err(e) if e.kind() == ErrorKind::NotFound => {}
        Err(source) => return Err(io_error(path, source)),
    }
    // Nothing there: a new name, or a dangling link whose target is created.
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
            Ok(meta) => return Err(not_a_file(&target, &meta)),
            Err(e) if e.kind() == ErrorKind::NotFound => {
                check_parent(&target)?;
                return Ok(target);
            }
            Err(source) => return Err(io_error(&target, source)),
        }
    }
    Err(Error::InvalidOutput(format!("{}: too many levels of symbolic links", path.display())))
}

/// The refusal of an output path that exists and is not a regular file, saying what it is.
fn not_a_file(path: &Path, meta: &std::fs::Metadata) -> Error {
    #[cfg(unix)]
    let special = {
        use std::os::unix::fs::FileTypeExt;
        let kind = meta.file_type();
        if kind.is_fifo() {
            Some("a pipe (FIFO): nninit writes files atomically and cannot write into a pipe; use --out - to stream a file to standard output")
        } else if kind.is_char_device() || kind.is_block_device() {
            Some("a device: refusing to write into it")
        } else if kind.is_socket() {
            Some("a socket: refusing to write into it")
        } else {
            None
        }
    };
    #[cfg(not(unix))]
    let special: Option<&str> = None;
    let what = match special {
        _ if meta.is_dir() => {
            "a directory: give a file name inside it (or, for `init`, --max-shard-size to write shards into it)"
        }
        Some(what) => what,
        None => "not a regular file: refusing to replace it",
    };
    Error::InvalidOutput(format!("{} exists and is {what}", path.display()))
}

/// Checks that the folder a new file goes into exists and is a directory.
fn check_parent(target: &Path) -> Result<()> {
    let parent = match target.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => return Ok(()),
    };
    match std::fs::metadata(parent) {
        Ok(meta) if meta.is_dir() => Ok(()),
        Ok(_) => Err(Error::InvalidOutput(format!("{} is not a directory", parent.display()))),
        Err(e) if e.kind() == ErrorKind::NotFound => Err(Error::InvalidOutput(format!(
            "{}: no such directory to write {} into",
            parent.display(),
            target.display()
        ))),
        Err(source) => Err(io_error(parent, source)),
    }
}

/// A temporary file beside a target, renamed over it by [`TempFile::commit`] (or left, closed,
/// under its set's [`RunLock`] by [`TempFile::finish_pending`]).
#[derive(Debug)]
pub(crate) struct TempFile {
    target: PathBuf,
    path: PathBuf,
    file: Option<File>,
}

impl TempFile {
    /// A new, locked temporary file for the file `path` names (see [`resolve_target`]), after
    /// removing the abandoned temporary files of earlier writers to it.
    pub(crate) fn create(path: &Path) -> Result<Self> {
        let target = resolve_target(path)?;
        let name = file_name(&target);
        remove_abandoned(folder_of(&target), |target| target == name);
        Self::create_as(target, &Token::new())
    }

    /// A new, locked temporary file for `target` whose name carries `token` (a set's, whose
    /// [`RunLock`] keeps it while it waits for its commit).
    pub(crate) fn create_as(target: PathBuf, token: &Token) -> Result<Self> {
        let path = target.with_file_name(format!(".{}.{}.tmp", file_name(&target), token.0));
        let file = create_locked(&path)?;
        Ok(Self { target, path, file: Some(file) })
    }

    /// The open file.
    pub(crate) fn file(&mut self) -> &mut File {
        self.file.as_mut().expect("open until committed")
    }

    /// Its path (for error messages).
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// Flushes the file to disk and renames it over the target, holding its lock until the
    /// rename, so no other writer takes it for abandoned.
    pub(crate) fn commit(mut self) -> Result<()> {
        let file = self.file.take().expect("open until committed");
        file.sync_all().map_err(|source| io_error(&self.path, source))?;
        let mut registry = registry();
        registry.check_open()?;
        std::fs::rename(&self.path, &self.target).map_err(|source| io_error(&self.target, source))?;
        registry.forget(&self.path);
        registry.committed();
        drop(registry);
        drop(file);
        sync_dir(folder_of(&self.target));
        self.path = PathBuf::new();
        Ok(())
    }

    /// Flushes the file to disk and closes it, leaving it in place for its set's commit.
    pub(crate) fn finish_pending(mut self) -> Result<Pending> {
        let file = self.file.take().expect("open until committed");
        file.sync_all().map_err(|source| io_error(&self.path, source))?;
        let path = std::mem::take(&mut self.path);
        Ok(Pending { target: std::mem::take(&mut self.target), path })
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if !self.path.as_os_str().is_empty() {
            self.file = None;
            let _ = std::fs::remove_file(&self.path);
            registry().forget(&self.path);
        }
    }
}

/// Creates the file `path` exclusively (it must not exist yet), puts it on the registry's list
/// (unless an interrupt has ended this process's writes) and takes its lock; on a failure after
/// creating it, removes it again.
fn create_locked(path: &Path) -> Result<File> {
    let mut listed = registry();
    listed.check_open()?;
    let file = OpenOptions::new().write(true).create_new(true).open(path).map_err(|source| io_error(path, source))?;
    listed.track(path);
    drop(listed);
    if let Err(e) = file.try_lock() {
        drop(file);
        let _ = std::fs::remove_file(path);
        registry().forget(path);
        return Err(Error::Io { path: path.display().to_string(), source: std::io::Error::other(e.to_string()) });
    }
    Ok(file)
}

/// A complete temporary file waiting for its set's commit (see [`Pending::rename`]); dropped
/// before, it is removed.
#[derive(Debug)]
pub(crate) struct Pending {
    target: PathBuf,
    path: PathBuf,
}

impl Pending {
    /// Its path and its target's, for a commit, which from then on renames or removes it (it
    /// stays on the registry's list until then).
    pub(crate) fn into_parts(mut self) -> (PathBuf, PathBuf) {
        (std::mem::take(&mut self.path), std::mem::take(&mut self.target))
    }
}

impl Drop for Pending {
    fn drop(&mut self) {
        if !self.path.as_os_str().is_empty() {
            let _ = std::fs::remove_file(&self.path);
            registry().forget(&self.path);
        }
    }
}

/// The mark of one run's files, `nninit-PID-RANDOM`: in its temporary files' names and its
/// lock file's.
#[derive(Clone, Debug)]
pub(crate) struct Token(String);

impl Token {
    fn new() -> Self {
        Self(format!("nninit-{}-{:016x}", std::process::id(), random()))
    }
}

/// The lock of a run that writes a set of files into a folder: `.nninit-PID-RANDOM.lock`, locked
/// while the run lives, so that its finished temporary files (which hold no lock of their own)
/// are not taken for abandoned. Dropped, it is removed.
#[derive(Debug)]
pub(crate) struct RunLock {
    path: PathBuf,
    token: Token,
    file: File,
}

impl RunLock {
    /// Creates and locks a run's lock file in `folder`.
    pub(crate) fn create(folder: &Path) -> Result<Self> {
        let token = Token::new();
        let path = folder.join(format!(".{}.lock", token.0));
        let file = create_locked(&path)?;
        let mut lock = Self { path, token, file };
        // A lock file that holds data was locked before: once its lock is free, it is
        // abandoned whatever its age (see `remove_abandoned`).
        std::io::Write::write_all(&mut lock.file, b"nninit\n").map_err(|source| io_error(&lock.path, source))?;
        Ok(lock)
    }

    /// The token the run's temporary files carry.
    pub(crate) fn token(&self) -> &Token {
        &self.token
    }
}

impl Drop for RunLock {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
        registry().forget(&self.path);
    }
}

/// A temporary file's name taken apart: `.TARGET.nninit-PID-RANDOM.tmp` gives the target's name
/// and the token `nninit-PID-RANDOM`.
fn parse_temp_name(name: &str) -> Option<(&str, &str)> {
    let inner = name.strip_prefix('.')?.strip_suffix(".tmp")?;
    let at = inner.rfind(".nninit-")?;
    let (target, token) = (&inner[..at], &inner[at + 1..]);
    is_token(token).then_some((target, token))
}

/// Whether `text` is a token: `nninit-`, a process id, `-`, 16 hex digits.
fn is_token(text: &str) -> bool {
    let Some((pid, random)) = text.strip_prefix("nninit-").and_then(|rest| rest.split_once('-')) else {
        return false;
    };
    !pid.is_empty()
        && pid.bytes().all(|b| b.is_ascii_digit())
        && random.len() == 16
        && random.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Removes from `folder` the temporary files of nninit's for the targets `ours` accepts (and the
/// lock files of runs) whose writers are gone. A set's file is abandoned when its run's lock is
/// free; any other temporary file when its own lock is free, since its writer holds that from its
/// first byte to its rename. An empty file younger than [`GRACE`] may be in the instant before its
/// lock, and is left.
pub(crate) fn remove_abandoned(folder: &Path, ours: impl Fn(&str) -> bool) {
    let Ok(entries) = std::fs::read_dir(folder) else { return };
    let mut locks = Vec::new();
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if let Some(token) = name.strip_prefix('.').and_then(|n| n.strip_suffix(".lock")).filter(|t| is_token(t)) {
            locks.push((entry.path(), token.to_string()));
            continue;
        }
        let Some((target, token)) = parse_temp_name(&name) else { continue };
        if !ours(target) || !entry.file_type().is_ok_and(|t| t.is_file()) {
            continue;
        }
        let path = entry.path();
        // A set's files are made only while its run holds its lock: a run lock that is free
        // (and was taken: it holds data) says the run is gone, even for a file still empty.
        let run_lock = folder.join(format!(".{token}.lock"));
        let abandoned = match std::fs::metadata(&run_lock) {
            Ok(_) => lock_is_free(&run_lock) && !is_young_and_empty(&run_lock),
            Err(_) => !is_young_and_empty(&path) && lock_is_free(&path),
        };
        if abandoned {
            let _ = std::fs::remove_file(&path);
        }
    }
    for (path, _) in locks {
        if !is_young_and_empty(&path) && lock_is_free(&path) {
            let _ = std::fs::remove_file(&path);
        }
    }
}

/// Whether `path` holds no data and was changed within [`GRACE`].
fn is_young_and_empty(path: &Path) -> bool {
    let Ok(meta) = std::fs::metadata(path) else { return false };
    let age = meta.modified().ok().and_then(|t| t.elapsed().ok());
    meta.len() == 0 && age.is_none_or(|age| age < GRACE)
}

/// Whether nobody holds the lock of the file at `path` (a file that is not there holds none).
fn lock_is_free(path: &Path) -> bool {
    match File::open(path) {
        Ok(file) => file.try_lock().is_ok(),
        Err(e) => e.kind() == ErrorKind::NotFound,
    }
}

/// The name of the last component of `path`.
pub(crate) fn file_name(path: &Path) -> String {
    path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()
}

/// The folder `path` is in (`.` for a bare name).
pub(crate) fn folder_of(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// Flushes a directory's entries to disk (renames and removals in it), where the platform can;
/// a failure leaves them as durable as the file system makes them anyway.
pub(crate) fn sync_dir(dir: &Path) {
    if let Ok(dir) = File::open(dir) {
        let _ = dir.sync_all();
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn temporary_names_parse_back_to_their_target_and_token() {
        let token = Token::new();
        let name = format!(".model-00001-of-00002.safetensors.{}.tmp", token.0);
        assert_eq!(parse_temp_name(&name), Some(("model-00001-of-00002.safetensors", token.0.as_str())));
        // A target whose own name holds ".nninit-" still parses at the last one.
        let name = format!(".a.nninit-1-b.{}.tmp", token.0);
        assert_eq!(parse_temp_name(&name).map(|p| p.0), Some("a.nninit-1-b"));
        for foreign in
            [".model.safetensors.tmp", "model.safetensors", ".x.nninit-12-abc.tmp", ".x.nninit--0123456789abcdef.tmp"]
        {
            assert_eq!(parse_temp_name(foreign), None, "{foreign}");
        }
    }
}
