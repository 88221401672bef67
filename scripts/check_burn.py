#!/usr/bin/env python3
"""nninit-burn against PyTorch (needs torch; not in CI).

Runs the burn_mlp example (a burn MLP initialized in place by nninit-burn, seed 42, one forward
pass), exports it, then:
1. loads the export into PyTorch's twin of the model with load_state_dict(strict=True);
2. checks the weights against `nninit init --like` of the export (byte for byte);
3. runs the twin forward on the same input and compares with burn's output.

    /path/to/venv/bin/python scripts/check_burn.py [gl|vulkan]
"""
import json
import pathlib
import subprocess
import sys
import tempfile

import torch
from safetensors.torch import load_file

api = sys.argv[1] if len(sys.argv) > 1 else "gl"
root = pathlib.Path(__file__).resolve().parent.parent
with tempfile.TemporaryDirectory() as tmp:
    tmp = pathlib.Path(tmp)
    subprocess.run(["cargo", "run", "-q", "-p", "nninit-burn", "--example", "burn_mlp", "--", api, str(tmp)],
                   cwd=root, check=True)
    subprocess.run(["cargo", "run", "-q", "--release", "--", "init", "--like", str(tmp / "model.safetensors"),
                    "--seed", "42", "--out", str(tmp / "like.safetensors")], cwd=root, check=True)
    exported = load_file(tmp / "model.safetensors")
    like = load_file(tmp / "like.safetensors")
    burn_out = json.loads((tmp / "output.json").read_text())

twin = torch.nn.Sequential()
twin.add_module("fc1", torch.nn.Linear(784, 256))
twin.add_module("act", torch.nn.ReLU())
twin.add_module("fc2", torch.nn.Linear(256, 10))
twin.load_state_dict(exported, strict=True)
print("load_state_dict(strict=True): ok,", sorted(exported))
for name, tensor in exported.items():
    assert torch.equal(tensor.view(torch.int32), like[name].view(torch.int32)), f"{name} differs from nninit init --like"
print("every tensor equals `nninit init --like` of the export, byte for byte")
with torch.no_grad():
    out = twin(torch.full(burn_out["shape"], burn_out["input"])).flatten()
burn = torch.tensor(burn_out["output"])
diff = (out - burn).abs().max().item()
print(f"forward: max |torch - burn| = {diff:.3g} over {out.numel()} outputs (|output| up to {out.abs().max().item():.3g})")
assert diff <= 1e-5 * (1 + out.abs().max().item()), "the forward passes differ"
print("ok")
