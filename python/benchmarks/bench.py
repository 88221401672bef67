"""nninit.torch against torch.nn.init, from Python, side by side in one run.

1. Each scheme on the same tensor and the same threads (torch.get_num_threads()), at sizes from
   call overhead (64 x 64) to bandwidth (4096 x 4096): the best of several repeats.
2. A whole model: LlamaForCausalLM at about 1B parameters (Llama 3.2 1B's shape, f32), built the
   usual way (LlamaForCausalLM(config): torch's reset_parameters, then transformers'
   _init_weights), against the meta device + to_empty + nninit's init_module_(rules=
   "transformers"). Each in a fresh process: wall time of building and initializing, and the
   process's peak resident memory.

Usage: python bench.py [--schemes-only | --model-only] [--repeats N] [--layers N]
Needs torch (and transformers for the model); prints a Markdown table per part.
"""

import argparse
import json
import os
import platform
import subprocess
import sys
import time

import torch

import nninit
import nninit.torch as ours

SCHEMES = [
    ("uniform_", {"a": -0.1, "b": 0.1}),
    ("normal_", {"std": 0.02}),
    ("trunc_normal_", {"std": 0.02, "a": -0.04, "b": 0.04}),
    ("xavier_uniform_", {}),
    ("xavier_normal_", {}),
    ("kaiming_uniform_", {"a": 5**0.5}),
    ("kaiming_normal_", {"mode": "fan_out", "nonlinearity": "relu"}),
    ("constant_", {"val": 0.5}),
    ("orthogonal_", {}),
    ("sparse_", {"sparsity": 0.1}),
]
SHAPES = [(64, 64), (1024, 1024), (4096, 4096)]
RANDOM = {"uniform_", "normal_", "trunc_normal_", "xavier_uniform_", "xavier_normal_", "kaiming_uniform_", "kaiming_normal_", "orthogonal_", "sparse_"}


def best(f, repeats):
    f()  # warm-up: first touch of the pages, lazy initialization
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        f()
        times.append(time.perf_counter() - start)
    return min(times)


def fmt(seconds):
    return f"{seconds * 1e6:.1f} us" if seconds < 1e-3 else f"{seconds * 1e3:.2f} ms" if seconds < 1 else f"{seconds:.2f} s"


def schemes(repeats):
    threads = torch.get_num_threads()
    nninit.set_num_threads(threads)
    print(f"\n## Each scheme, f32, {threads} threads for both (best of {repeats})\n")
    print("| scheme | shape | torch.nn.init | nninit.torch | torch / nninit |")
    print("|---|---|---:|---:|---:|")
    for name, params in SCHEMES:
        for shape in SHAPES:
            if name in ("orthogonal_", "sparse_") and shape[0] > 1024:
                continue  # host QR and masks: cubic, and torch's sparse_ is a Python loop per column
            t = torch.empty(shape)
            extra = {"seed": 1, "stream": 0} if name in RANDOM else {}
            theirs = best(lambda: getattr(torch.nn.init, name)(t, **params), repeats)
            mine = best(lambda: getattr(ours, name)(t, **params, **extra), repeats)
            print(f"| {name} | {shape[0]}x{shape[1]} | {fmt(theirs)} | {fmt(mine)} | {theirs / mine:.1f}x |")


CHILD = r"""
import json, resource, sys, time
start = time.perf_counter()
import torch, transformers
import nninit.torch
Llama = transformers.LlamaForCausalLM  # transformers imports its modeling code lazily: here
imported = time.perf_counter()
config = transformers.LlamaConfig(**json.loads(sys.argv[2]))
if sys.argv[1] == "usual":
    model = Llama(config)
else:
    with torch.device("meta"):
        model = Llama(config)
    model.to_empty(device="cpu")
    nninit.torch.init_module_(model, seed=0, rules="transformers")
done = time.perf_counter()
params = sum(p.numel() for p in model.parameters())
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print(json.dumps({"import": imported - start, "build": done - imported, "params": params, "peak": peak}))
"""


def model(layers):
    # Llama 3.2 1B's shape (1.24B parameters with its 16 layers), f32.
    config = dict(
        vocab_size=128256,
        hidden_size=2048,
        intermediate_size=8192,
        num_hidden_layers=layers,
        num_attention_heads=32,
        num_key_value_heads=8,
        tie_word_embeddings=True,
        initializer_range=0.02,
    )
    rows = {}
    for how in ["usual", "nninit"]:
        out = subprocess.run([sys.executable, "-c", CHILD, how, json.dumps(config)], capture_output=True, text=True)
        if out.returncode != 0:
            sys.exit(f"{how} failed:\n{out.stderr}")
        rows[how] = json.loads(out.stdout.strip().splitlines()[-1])
    params = rows["usual"]["params"]
    print(f"\n## LlamaForCausalLM, {params / 1e9:.2f}B parameters, f32, {torch.get_num_threads()} threads\n")
    print("| how | parameters | build + init | peak memory | import torch + transformers |")
    print("|---|---:|---:|---:|---:|")
    names = {"usual": "`LlamaForCausalLM(config)`", "nninit": "meta + `to_empty` + `init_module_`"}
    for how, row in rows.items():
        print(f"| {names[how]} | {row['params'] / 1e9:.3f}B | {row['build']:.2f} s | {row['peak'] / 2**30:.2f} GiB | {row['import']:.2f} s |")
    ratio = rows["usual"]["build"] / rows["nninit"]["build"]
    print(f"\nnninit is {ratio:.1f}x faster end to end (build + init), peak memory "
          f"{rows['nninit']['peak'] / rows['usual']['peak']:.2f}x the usual way's.")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--schemes-only", action="store_true")
    parser.add_argument("--model-only", action="store_true")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--layers", type=int, default=16, help="decoder layers of the Llama (16: 1.24B parameters)")
    args = parser.parse_args()
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    print(f"# nninit.torch vs torch.nn.init\n\n{cpu}, {os.cpu_count()} cores; torch {torch.__version__}, "
          f"nninit {nninit.__version__}, Python {platform.python_version()}")
    if not args.model_only:
        schemes(args.repeats)
    if not args.schemes_only:
        model(args.layers)


if __name__ == "__main__":
    main()
