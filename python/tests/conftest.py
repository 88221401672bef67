"""Shared helpers: the `nninit` binary (the reference the package must equal byte for byte) and a
minimal safetensors reader and writer (the format's spec: an 8-byte little-endian header length,
a JSON header, the data), so the tests need neither torch nor the safetensors package."""

import json
import os
import pathlib
import struct
import subprocess

import pytest

REPO = pathlib.Path(__file__).resolve().parents[2]

try:
    import torch  # noqa: F401

    HAVE_TORCH = True
except ImportError:
    HAVE_TORCH = False

needs_torch = pytest.mark.skipif(not HAVE_TORCH, reason="torch is not importable")


def nninit_bin():
    """The CLI: $NNINIT_BIN, else the repository's release build. Missing is a failure, not a skip."""
    path = os.environ.get("NNINIT_BIN") or str(REPO / "target" / "release" / "nninit")
    if not os.path.exists(path):
        pytest.fail(f"the nninit binary is not at {path}: run `cargo build --release` or set NNINIT_BIN")
    return path


def run_cli(*args):
    out = subprocess.run([nninit_bin(), *map(str, args)], capture_output=True, text=True)
    if out.returncode != 0:
        raise AssertionError(f"nninit {' '.join(map(str, args))} failed ({out.returncode}): {out.stderr}")
    return out


def read_safetensors(path):
    """name -> (dtype, shape, raw bytes), in the file's order."""
    data = pathlib.Path(path).read_bytes()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + n])
    body = data[8 + n :]
    out = {}
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        start, end = entry["data_offsets"]
        out[name] = (entry["dtype"], list(entry["shape"]), body[start:end])
    return out


def write_safetensors(path, tensors):
    """Writes name -> (dtype, shape, raw bytes)."""
    header, offset, chunks = {}, 0, []
    for name, (dtype, shape, raw) in tensors.items():
        header[name] = {"dtype": dtype, "shape": list(shape), "data_offsets": [offset, offset + len(raw)]}
        offset += len(raw)
        chunks.append(raw)
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    pathlib.Path(path).write_bytes(struct.pack("<Q", len(text)) + text + b"".join(chunks))


def cli_fill(tmp_path, scheme, shape, seed, stream=0, dtype="f32", padding_idx=None, **params):
    """The bytes `nninit fill` writes on the CPU backend for this scheme and stream."""
    out = tmp_path / f"fill-{scheme}-{seed}-{stream}-{dtype}.safetensors"
    args = ["fill", scheme, "--shape", ",".join(map(str, shape)), "--seed", seed, "--stream", stream]
    args += ["--dtype", dtype, "--device", "cpu", "--name", "t", "--out", out]
    if padding_idx is not None:
        args += ["--padding-idx", padding_idx]
    for key, value in params.items():
        args.append(f"--{key}={value}")
    run_cli(*args)
    return read_safetensors(out)["t"][2]
