//! A user's checkpoint directory, as `save_pretrained` users keep one (`config.json`, tokenizer
//! files, a README beside the weights): nninit writes into it and never loses a file it did not
//! write; a checkpoint already there is refused without `--force` and replaced whole with it;
//! interrupted at any moment, the directory holds the old checkpoint or the new one, whole, and
//! nothing of nninit's beside or inside it; every `--out` problem is found before any work.

mod common;

use common::{fails, ok};
use std::collections::BTreeMap;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use nninit::io::{is_checkpoint_file, Checkpoint, INDEX_FILE, SINGLE_FILE};

fn nninit(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_nninit")).args(args).output().expect("run nninit")
}

fn s(path: &Path) -> &str {
    path.to_str().unwrap()
}

/// `nninit init` of the tiny transformer (21 tensors, 632 KB in f32) with `seed` into `out`.
fn init_tiny(out: &Path, seed: &str, extra: &[&str]) -> Output {
    let args = ["init", "--model", "transformer-tiny", "--seed", seed, "--device", "cpu", "--out", s(out)];
    nninit(&[&args[..], extra].concat())
}

/// The user's files of a Hugging Face checkpoint directory, by name.
fn users_files() -> BTreeMap<&'static str, &'static [u8]> {
    BTreeMap::from([
        ("config.json", &br#"{"model_type": "llama"}"#[..]),
        ("tokenizer.json", b"{\"version\": \"1.0\"}"),
        ("generation_config.json", b"{}"),
        ("README.md", b"# my model\n"),
        ("model-final.safetensors", b"not nninit's: the name is no shard's"),
    ])
}

/// Writes [`users_files`] into `dir`.
fn put_users_files(dir: &Path) {
    for (name, bytes) in users_files() {
        std::fs::write(dir.join(name), bytes).unwrap();
    }
}

/// Asserts that every user's file is in `dir` unchanged and that every other file there is a
/// file of the checkpoint (no temporary or lock file of nninit's).
fn assert_users_files_kept(dir: &Path) {
    for (name, bytes) in users_files() {
        assert_eq!(std::fs::read(dir.join(name)).unwrap(), bytes, "{name}");
    }
    for entry in std::fs::read_dir(dir).unwrap() {
        let entry = entry.unwrap();
        if entry.file_type().unwrap().is_dir() {
            continue;
        }
        let name = entry.file_name().to_string_lossy().into_owned();
        assert!(users_files().contains_key(name.as_str()) || is_checkpoint_file(&name), "{name} left in {dir:?}");
    }
}

/// The checkpoint files in `dir`, sorted.
fn checkpoint_names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| is_checkpoint_file(n))
        .collect();
    names.sort();
    names
}

/// Every tensor of the checkpoint at `path`: name -> bytes.
fn tensors(path: &Path) -> BTreeMap<String, Vec<u8>> {
    let checkpoint = Checkpoint::open(path).unwrap();
    let mut out = BTreeMap::new();
    for file in checkpoint.files() {
        for e in file.entries() {
            out.insert(e.name.clone(), file.read_all(e).unwrap());
        }
    }
    out
}

#[test]
fn a_checkpoint_is_written_into_the_directory_and_the_users_files_stay() {
    let scratch = common::scratch("ckpt-into");
    let dir = scratch.path().join("llama-random");
    std::fs::create_dir(&dir).unwrap();
    // A setgid directory shared by a group, as on a team's volume.
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o2770)).unwrap();
    put_users_files(&dir);
    let before = std::fs::metadata(&dir).unwrap();
    // The user's files alone are no reason to refuse.
    ok(&init_tiny(&dir, "1", &["--max-shard-size", "100KB"]));
    assert_users_files_kept(&dir);
    let first = checkpoint_names(&dir);
    assert_eq!(first.len(), 7, "{first:?}");
    assert!(first.contains(&INDEX_FILE.to_string()));
    let whole = scratch.path().join("whole.safetensors");
    ok(&init_tiny(&whole, "1", &[]));
    assert_eq!(tensors(&dir), tensors(&whole));
    // The directory itself stays: the same inode, mode (setgid), owner.
    let after = std::fs::metadata(&dir).unwrap();
    assert_eq!(
        (after.ino(), after.mode(), after.uid(), after.gid()),
        (before.ino(), before.mode(), before.uid(), before.gid())
    );

    // A checkpoint there is refused without --force, naming what is there; nothing changes.
    let refused = init_tiny(&dir, "2", &["--max-shard-size", "100KB"]);
    fails(&refused, "already holds a checkpoint (model.safetensors.index.json and 6 shards (model-00001-of-00006.safetensors, ...)): refusing to replace it unless forced (--force)");
    assert_eq!(checkpoint_names(&dir), first);
    assert_eq!(tensors(&dir), tensors(&whole));

    // --force replaces the checkpoint as save_pretrained does: fewer shards leave no stale one.
    ok(&init_tiny(&dir, "2", &["--max-shard-size", "300KB", "--force"]));
    assert_users_files_kept(&dir);
    let names = checkpoint_names(&dir);
    assert_eq!(names.len(), 4, "{names:?}");
    assert!(names.iter().all(|n| n == INDEX_FILE || n.ends_with("-of-00003.safetensors")), "{names:?}");
    let seed2 = scratch.path().join("seed2.safetensors");
    ok(&init_tiny(&seed2, "2", &[]));
    assert_eq!(tensors(&dir), tensors(&seed2));
    // One shard is model.safetensors alone: the index and every shard go.
    ok(&init_tiny(&dir, "1", &["--max-shard-size", "5GB", "--force"]));
    assert_users_files_kept(&dir);
    assert_eq!(checkpoint_names(&dir), [SINGLE_FILE]);
    assert_eq!(tensors(&dir), tensors(&whole));
    // And back to shards: model.safetensors goes (loaders would take it before the index).
    ok(&init_tiny(&dir, "2", &["--max-shard-size", "300KB", "--force"]));
    assert_eq!(checkpoint_names(&dir), names);
    assert_eq!(tensors(&dir), tensors(&seed2));
    assert_users_files_kept(&dir);
    let after = std::fs::metadata(&dir).unwrap();
    assert_eq!((after.ino(), after.mode()), (before.ino(), before.mode()));
    // Nothing was left beside the directory either.
    let beside: Vec<_> = std::fs::read_dir(scratch.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(beside.len(), 3, "{beside:?}");
}

#[test]
fn out_dot_and_a_parent_keep_every_file_of_the_current_directory() {
    let scratch = common::scratch("ckpt-dot");
    let dir = scratch.path().join("work");
    std::fs::create_dir_all(dir.join("ckpt")).unwrap();
    put_users_files(&dir);
    std::fs::write(dir.join("ckpt/notes.txt"), b"mine").unwrap();
    let inode = std::fs::metadata(&dir).unwrap().ino();
    for (out, force) in [(".", false), (".", true), ("ckpt/..", true)] {
        let mut args = vec!["init", "--model", "transformer-tiny", "--seed", "3", "--device", "cpu"];
        args.extend(["--max-shard-size", "100KB", "--out", out]);
        if force {
            args.push("--force");
        }
        let run = Command::new(env!("CARGO_BIN_EXE_nninit")).args(&args).current_dir(&dir).output().unwrap();
        ok(&run);
        assert_users_files_kept(&dir);
        assert_eq!(std::fs::read(dir.join("ckpt/notes.txt")).unwrap(), b"mine");
        // The shell's current directory is the same directory, not a deleted one.
        assert_eq!(std::fs::metadata(&dir).unwrap().ino(), inode);
    }
    assert_eq!(checkpoint_names(&dir).len(), 7);
}

#[test]
fn like_refuses_to_replace_the_checkpoint_it_reads() {
    let scratch = common::scratch("ckpt-like");
    let dir = scratch.path().join("ckpt");
    std::fs::create_dir(&dir).unwrap();
    put_users_files(&dir);
    ok(&init_tiny(&dir, "1", &["--max-shard-size", "1MB"]));
    let single = dir.join(SINGLE_FILE);
    let before = std::fs::read(&single).unwrap();
    let same_dir = scratch.path().join("ckpt/../ckpt");
    for like in [dir.clone(), single.clone()] {
        let run = nninit(&[
            "init",
            "--like",
            s(&like),
            "--seed",
            "2",
            "--device",
            "cpu",
            "--max-shard-size",
            "1MB",
            "--force",
            "--out",
            s(&same_dir),
        ]);
        fails(&run, "holds the checkpoint being read");
        let run = nninit(&["init", "--like", s(&like), "--seed", "2", "--device", "cpu", "--out", s(&single)]);
        fails(&run, "holds the checkpoint being read");
    }
    assert_eq!(std::fs::read(&single).unwrap(), before);
    assert_users_files_kept(&dir);
    // Elsewhere it is fine, and the user's files of the source are untouched.
    let copy = scratch.path().join("copy");
    ok(&nninit(&[
        "init",
        "--like",
        s(&dir),
        "--seed",
        "2",
        "--device",
        "cpu",
        "--max-shard-size",
        "100KB",
        "--out",
        s(&copy),
    ]));
    assert_eq!(checkpoint_names(&copy).len(), 7);
}

#[test]
fn every_out_problem_is_found_before_any_work() {
    let scratch = common::scratch("ckpt-early");
    let dir = scratch.path();
    // The 1B transformer (4.9 GB in f32) would take many seconds to write: each of these fails
    // at once, with nothing written anywhere.
    let big = |out: &str, extra: &[&str]| {
        let args = ["init", "--model", "transformer-1b", "--seed", "1", "--device", "cpu", "--out", out];
        nninit(&[&args[..], extra].concat())
    };
    let trailing = format!("{}/", s(&dir.join("llama-random")));
    fails(&big(&trailing, &[]), "ends with /, so it names a directory");
    std::os::unix::fs::symlink("nowhere/x", dir.join("dangling")).unwrap();
    fails(
        &big(s(&dir.join("dangling")), &["--max-shard-size", "1GB"]),
        "is a symbolic link to nowhere/x, which does not exist",
    );
    std::fs::write(dir.join("file"), b"x").unwrap();
    fails(&big(s(&dir.join("file")), &["--max-shard-size", "1GB"]), "exists and is not a directory");
    fails(&big(s(&dir.join("file/sub")), &["--max-shard-size", "1GB"]), "is not a directory, so");
    fails(&big(s(&dir.join("missing/m.safetensors")), &[]), "no such directory");
    fails(&big("-", &["--max-shard-size", "1GB"]), "shards (--max-shard-size) go into a directory");
    fails(&big(s(dir), &["--max-shard-size", "18446744073709551615"]), "is too large");
    fails(&big(s(dir), &["--max-shard-size", "20000000000TB"]), "is too large");
    fails(&big(s(dir), &["--max-shard-size", "5Gb"]), "is ambiguous: transformers reads a lowercase b as bits");
    let mut names: Vec<_> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name()).collect();
    names.sort();
    assert_eq!(names, ["dangling", "file"]);
    // `fill` too checks its file before filling.
    let fill = nninit(&["fill", "ones", "--shape", "3", "--out", &trailing]);
    fails(&fill, "ends with /");
}

#[test]
fn a_new_directory_is_created_with_its_parents() {
    let scratch = common::scratch("ckpt-new");
    let dir = scratch.path().join("a/b/c");
    ok(&init_tiny(&dir, "1", &["--max-shard-size", "100KB"]));
    assert_eq!(checkpoint_names(&dir).len(), 7);
}

#[test]
fn each_shard_carries_only_its_own_tensors_metadata() {
    let scratch = common::scratch("ckpt-meta");
    let dir = scratch.path();
    let count = 300;
    let tensors: Vec<_> = (0..count)
        .map(|i| serde_json::json!({"name": format!("layers.{i}.weight"), "shape": [4], "kind": "norm"}))
        .collect();
    let spec = serde_json::json!({"name": "many", "tensors": tensors, "rules": [{"name": "*", "init": {"scheme": "normal", "std": 0.02}}]});
    let spec_path = dir.join("many.json");
    std::fs::write(&spec_path, serde_json::to_vec(&spec).unwrap()).unwrap();
    let out = dir.join("out");
    ok(&nninit(&[
        "init",
        "--model",
        s(&spec_path),
        "--seed",
        "1",
        "--device",
        "cpu",
        "--max-shard-size",
        "1",
        "--out",
        s(&out),
    ]));
    let checkpoint = Checkpoint::open(&out).unwrap();
    assert_eq!(checkpoint.files().len(), count);
    for file in checkpoint.files() {
        let own: Vec<_> =
            file.metadata().keys().filter(|k| k.starts_with(nninit::io::TENSOR_METADATA_PREFIX)).collect();
        assert_eq!(own.len(), 1, "{}", file.path().display());
        assert_eq!(*own[0], format!("{}{}", nninit::io::TENSOR_METADATA_PREFIX, file.entries()[0].name));
        // A shard's header does not grow with the model: well under a kilobyte here.
        let size = std::fs::metadata(file.path()).unwrap().len();
        assert!(size < 1024, "{}: {size} bytes", file.path().display());
    }
    // inspect checks every shard as one model.
    let report = ok(&nninit(&["inspect", s(&out), "--check"]));
    assert!(
        report.ends_with(&format!(
            "{count} tensors in {count} shards, {count} checked against how they were made, 0 failed\n"
        )),
        "{report}"
    );
}

/// Rewrites the index of the checkpoint in `dir` through `edit` of its weight map.
fn edit_index(dir: &Path, edit: impl FnOnce(&mut serde_json::Map<String, serde_json::Value>)) {
    let path = dir.join(INDEX_FILE);
    let mut index: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    edit(index["weight_map"].as_object_mut().unwrap());
    std::fs::write(&path, serde_json::to_vec_pretty(&index).unwrap()).unwrap();
}

#[test]
fn inspect_takes_a_checkpoint_and_an_index_that_disagrees_with_its_shards_is_an_error() {
    let scratch = common::scratch("ckpt-index");
    let dir = scratch.path().join("ckpt");
    ok(&init_tiny(&dir, "1", &["--max-shard-size", "100KB"]));
    for path in [dir.clone(), dir.join(INDEX_FILE)] {
        let report = ok(&nninit(&["inspect", s(&path), "--check"]));
        assert!(
            report.ends_with("21 tensors in 6 shards, 21 checked against how they were made, 0 failed\n"),
            "{report}"
        );
    }
    let json = ok(&nninit(&["inspect", s(&dir), "--json"]));
    let json: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(json["files"].as_array().unwrap().len(), 6);
    assert_eq!(json["tensors"].as_array().unwrap().len(), 21);
    let pristine = std::fs::read(dir.join(INDEX_FILE)).unwrap();
    let name = "model.layers.0.self_attn.q_proj.weight";
    let shard = "model-00002-of-00006.safetensors";
    // A tensor the map names that its shard lacks; a shard's tensor the map lacks; one mapped to
    // another shard; a shard whose only tensor the map lacks (the embedding's).
    type Edit = Box<dyn Fn(&mut serde_json::Map<String, serde_json::Value>)>;
    let cases: [(Edit, String); 4] = [
        (
            Box::new(|map| drop(map.insert("ghost.weight".into(), shard.into()))),
            format!("tensor ghost.weight is mapped to {shard}, which does not hold it"),
        ),
        (Box::new(|map| drop(map.remove(name))), format!("holds tensor {name}, which is not in the weight_map")),
        (
            Box::new(|map| drop(map.insert(name.into(), "model-00003-of-00006.safetensors".into()))),
            format!(
                "{shard}: holds tensor {name}, which {} maps to model-00003-of-00006.safetensors",
                s(&dir.join(INDEX_FILE))
            ),
        ),
        (
            Box::new(|map| drop(map.remove("model.embed_tokens.weight"))),
            "lists no tensor of model-00001-of-00006.safetensors, one of its 6 shards".into(),
        ),
    ];
    for (edit, says) in cases {
        std::fs::write(dir.join(INDEX_FILE), &pristine).unwrap();
        edit_index(&dir, edit);
        fails(&nninit(&["inspect", s(&dir)]), &says);
        let copy = scratch.path().join("copy");
        fails(&nninit(&["init", "--like", s(&dir), "--device", "cpu", "--out", s(&copy)]), &says);
        assert!(!copy.exists());
    }
    // Shards without their index (a write cut before its commit) are no checkpoint.
    std::fs::remove_file(dir.join(INDEX_FILE)).unwrap();
    fails(
        &nninit(&["inspect", s(&dir)]),
        "6 shards (model-00001-of-00006.safetensors, ...) but no model.safetensors.index.json",
    );
    fails(&nninit(&["inspect", s(scratch.path())]), "no model.safetensors or model.safetensors.index.json");
}

#[test]
fn out_dash_streams_the_file_to_standard_output() {
    let scratch = common::scratch("ckpt-stdout");
    let file = scratch.path().join("w.safetensors");
    let fill =
        ["fill", "normal", "--std", "0.02", "--shape", "33,7", "--seed", "5", "--device", "cpu", "--dtype", "bf16"];
    ok(&nninit(&[&fill[..], &["--out", s(&file)]].concat()));
    let streamed = nninit(&[&fill[..], &["--out", "-"]].concat());
    assert!(streamed.status.success(), "{}", String::from_utf8_lossy(&streamed.stderr));
    assert_eq!(streamed.stdout, std::fs::read(&file).unwrap());
    // The run's own line goes to stderr.
    assert!(String::from_utf8_lossy(&streamed.stderr).contains("-> -"));
    let model = scratch.path().join("m.safetensors");
    ok(&init_tiny(&model, "4", &[]));
    let streamed = init_tiny(Path::new("-"), "4", &["--json"]);
    assert!(streamed.status.success());
    assert_eq!(streamed.stdout, std::fs::read(&model).unwrap());
    let report: serde_json::Value = serde_json::from_slice(&streamed.stderr).unwrap();
    assert_eq!(report["tensors"], 21);
    assert!(!Path::new("-").exists() && !scratch.path().join("-").exists());
    // /dev/stdout that is a pipe is refused up front, pointing at --out -.
    let piped = Command::new(env!("CARGO_BIN_EXE_nninit"))
        .args(["fill", "ones", "--shape", "3", "--out", "/dev/stdout"])
        .stdout(Stdio::piped())
        .output()
        .unwrap();
    fails(&piped, "is a pipe (FIFO): nninit writes files atomically and cannot write into a pipe; use --out -");
}

/// A Llama config of about 670 MB in bf16 (a second or more to write on a 2-core machine), so
/// that most signals within 0.4 s of the start land before the commit.
fn long_config(dir: &Path) -> PathBuf {
    let config = serde_json::json!({
        "model_type": "llama", "hidden_size": 1024, "intermediate_size": 2816, "num_hidden_layers": 24,
        "num_attention_heads": 16, "num_key_value_heads": 4, "vocab_size": 32000, "torch_dtype": "bfloat16",
    });
    let path = dir.join("long.json");
    std::fs::write(&path, serde_json::to_vec(&config).unwrap()).unwrap();
    path
}

/// A sharded `init` of `config` with `seed` into `out` (40 MB shards), replacing its checkpoint
/// with `force`.
fn long_command(config: &Path, seed: &str, out: &Path, force: bool) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_nninit"));
    command.args(["init", "--model", s(config), "--seed", seed, "--device", "cpu", "--quiet"]);
    command.args(["--max-shard-size", "40MB", "--out", s(out)]);
    if force {
        command.arg("--force");
    }
    command
}

/// Runs [`long_command`] to its end.
fn init_long(config: &Path, seed: &str, out: &Path, force: bool) -> Output {
    long_command(config, seed, out, force).output().unwrap()
}

/// Starts [`long_command`] with `--force`, its stderr piped.
fn start_sharded(config: &Path, seed: &str, out: &Path) -> std::process::Child {
    long_command(config, seed, out, true).stdout(Stdio::null()).stderr(Stdio::piped()).spawn().unwrap()
}

/// The checkpoint files of `dir`, each with its inode, length and modification time: nninit never
/// changes a file in place (it renames new ones over old), so an equal snapshot is the same files.
fn snapshot(dir: &Path) -> BTreeMap<String, (u64, u64, i64, i64)> {
    let stat = |n: &String| {
        let m = std::fs::metadata(dir.join(n)).unwrap();
        (m.ino(), m.len(), m.mtime(), m.mtime_nsec())
    };
    checkpoint_names(dir).into_iter().map(|n| (n.clone(), stat(&n))).collect()
}

/// SIGINT and SIGTERM at random moments of a sharded `--force` rewrite, and SIGKILL: exit 130,
/// the old checkpoint whole and loadable, the user's files kept, and nothing of the run's left
/// in or beside the directory (a killed run's files go with the next run into it, at once).
#[test]
fn interrupted_rewrites_leave_the_old_checkpoint_whole_and_nothing_else() {
    let scratch = common::scratch("ckpt-signals");
    let config = long_config(scratch.path());
    let dir = scratch.path().join("ckpt");
    std::fs::create_dir(&dir).unwrap();
    put_users_files(&dir);
    ok(&init_long(&config, "1", &dir, false));
    let mut old = snapshot(&dir);
    assert!(old.len() > 10, "{} files", old.len());
    let reference = scratch.path().join("reference");
    ok(&init_long(&config, "2", &reference, false));
    let new_dir = scratch.path().join("fresh");
    // A fixed seed for the delays, so a failure can be replayed.
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut next_delay = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        Duration::from_millis(50 + state % 350)
    };
    let mut cut = 0;
    for round in 0..12 {
        let signal = if round % 2 == 0 { "INT" } else { "TERM" };
        // Rounds 0 to 9 rewrite the old checkpoint; 10 and 11 write a directory that did not exist.
        let target = if round < 10 { &dir } else { &new_dir };
        let delay = next_delay();
        let child = start_sharded(&config, "2", target);
        std::thread::sleep(delay);
        assert!(Command::new("kill")
            .args([&format!("-{signal}"), &child.id().to_string()])
            .status()
            .unwrap()
            .success());
        let result = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&result.stderr);
        let context = format!("round {round}, SIG{signal} after {delay:?}: {stderr}");
        if result.status.success() || stderr.contains("after the output was complete") {
            // The run committed before the signal (a fast machine): the new checkpoint, whole.
            assert!(result.status.success() || result.status.code() == Some(130), "{context}");
            assert_eq!(tensors(target), tensors(&reference), "{context}");
            if round < 10 {
                assert_users_files_kept(&dir);
                ok(&init_long(&config, "1", &dir, true));
                old = snapshot(&dir);
            } else {
                std::fs::remove_dir_all(&new_dir).unwrap();
            }
            continue;
        }
        cut += 1;
        assert_eq!(result.status.code(), Some(130), "{context}");
        assert_eq!(stderr.trim(), "error: interrupted; no output was written", "{context}");
        assert_eq!(snapshot(&dir), old, "{context}");
        assert_users_files_kept(&dir);
        assert!(!new_dir.exists(), "{context}: the directory created for the run is left");
        let mut beside: Vec<_> = std::fs::read_dir(scratch.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
        beside.sort();
        assert_eq!(beside, ["ckpt", "long.json", "reference"], "{context}");
    }
    // On this kind of machine a run takes a second or more: most signals cut it.
    assert!(cut >= 6, "only {cut} of 12 signals landed before the commit");
    assert_eq!(
        tensors(&dir).len(),
        Checkpoint::open(&dir).unwrap().files().iter().map(|f| f.entries().len()).sum::<usize>()
    );
    // SIGKILL cannot be handled: its temporary files stay until the next run into the same
    // directory, which removes them however young they are (their writer's lock is free).
    let mut child = start_sharded(&config, "2", &dir);
    let started = Instant::now();
    let temporary = |dir: &Path| -> Vec<String> {
        let names = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned());
        names.filter(|n| n.starts_with('.')).collect()
    };
    while temporary(&dir).iter().filter(|n| n.ends_with(".tmp")).count() < 2 {
        assert!(started.elapsed() < Duration::from_secs(60), "the run never started writing");
        std::thread::sleep(Duration::from_millis(10));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(!temporary(&dir).is_empty());
    assert_eq!(snapshot(&dir), old);
    let tiny = scratch.path().join("tiny");
    ok(&init_tiny(&tiny, "1", &[]));
    // The next run (a small one, so it ends fast) is refused without --force, yet a refused run
    // writes nothing and removes nothing; with --force it cleans up and replaces.
    fails(&init_tiny(&dir, "1", &["--max-shard-size", "100KB"]), "already holds a checkpoint");
    ok(&init_tiny(&dir, "1", &["--max-shard-size", "100KB", "--force"]));
    assert_eq!(temporary(&dir), Vec::<String>::new());
    assert_users_files_kept(&dir);
    assert_eq!(tensors(&dir), tensors(&tiny));
}

/// Unmounts a test's mount point when dropped, whether the test passes or panics.
struct Mounted(PathBuf);

impl Drop for Mounted {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

/// Where the directory is a mount point (a container's volume), shards are written into it, not
/// beside it and renamed over it (which fails with EBUSY); a directory the user owns inside a
/// parent they cannot write takes shards as `fill` takes files. Both need root here (to mount,
/// and to run nninit as another user); where that is not allowed the test says so.
#[test]
fn a_mount_point_and_a_directory_in_a_parent_the_user_cannot_write_are_written_into() {
    let scratch = common::scratch("ckpt-mount");
    let volume = scratch.path().join("volume");
    std::fs::create_dir(&volume).unwrap();
    let mounted = Command::new("mount").args(["-t", "tmpfs", "tmpfs"]).arg(&volume).stderr(Stdio::null()).status();
    if mounted.is_ok_and(|s| s.success()) {
        let _guard = Mounted(volume.clone());
        put_users_files(&volume);
        ok(&init_tiny(&volume, "1", &["--max-shard-size", "100KB"]));
        ok(&init_tiny(&volume, "2", &["--max-shard-size", "300KB", "--force"]));
        assert_users_files_kept(&volume);
        assert_eq!(checkpoint_names(&volume).len(), 4);
        assert_eq!(Checkpoint::open(&volume).unwrap().files().len(), 3);
    } else {
        eprintln!("mount is not permitted here: the mount point case did not run");
    }
    // A parent owned by root, mode 755; the directory inside it owned by `nobody`, who runs nninit.
    let is_root = Command::new("id").arg("-u").output().is_ok_and(|o| o.stdout.starts_with(b"0\n"));
    if !is_root {
        eprintln!("not root: the unwritable-parent case did not run");
        return;
    }
    std::fs::set_permissions(scratch.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let parent = scratch.path().join("parent");
    let mine = parent.join("mine");
    std::fs::create_dir_all(&mine).unwrap();
    std::os::unix::fs::chown(&mine, Some(65534), Some(65534)).unwrap();
    let as_nobody = |out: &Path| {
        Command::new("setpriv")
            .args(["--reuid=65534", "--regid=65534", "--clear-groups", env!("CARGO_BIN_EXE_nninit")])
            .args(["init", "--model", "transformer-tiny", "--seed", "1", "--device", "cpu"])
            .args(["--max-shard-size", "100KB", "--out", s(out)])
            .output()
            .unwrap()
    };
    ok(&as_nobody(&mine));
    assert_eq!(checkpoint_names(&mine).len(), 7);
    // A new directory there cannot be made: one line, nothing written.
    fails(&as_nobody(&parent.join("new")), "Permission denied");
    let names: Vec<_> = std::fs::read_dir(&parent).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(names, ["mine"]);
}
