#!/usr/bin/env python3
"""Loads what nninit writes exactly as PyTorch and Hugging Face users do (not run in CI).

    python3 -m venv /tmp/venv && /tmp/venv/bin/pip install torch transformers safetensors torchvision
    cargo build --release && /tmp/venv/bin/python scripts/check_transformers.py target/release/nninit

For llama, mistral and qwen2: a config from transformers' own config class (save_pretrained),
`nninit init --model config.json` sharded and unsharded (sharded: into a directory already holding
config.json and a tokenizer, then rewritten there with --force into fewer shards, as a user reruns
it; the user's files must stay byte for byte and no stale shard may remain), then `from_pretrained` with
output_loading_info: no missing, unexpected or mismatched keys, every tensor equal to the
file's, and the embedding row of pad_token_id zeros, as in transformers' own init. For torchvision's ResNet-50: `nninit init --model resnet50`, then
`load_state_dict(strict=True)`; and `--like` a checkpoint torch saved. Exits non-zero on any failure.
"""
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

NNINIT = sys.argv[1] if len(sys.argv) > 1 else "target/release/nninit"


def run(*args):
    out = subprocess.run([NNINIT, *map(str, args)], capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(f"nninit {' '.join(map(str, args))}: {out.stderr}")
    return out.stdout


def check_causal_lm(kind, tmp):
    import transformers

    config_class, model_class = {
        "llama": (transformers.LlamaConfig, transformers.LlamaForCausalLM),
        "mistral": (transformers.MistralConfig, transformers.MistralForCausalLM),
        "qwen2": (transformers.Qwen2Config, transformers.Qwen2ForCausalLM),
    }[kind]
    for tied in (False, True):
        extra = {"attention_bias": True, "mlp_bias": True} if kind == "llama" else {}
        config = config_class(
            vocab_size=1000, hidden_size=64, intermediate_size=176, num_hidden_layers=2,
            num_attention_heads=4, num_key_value_heads=2, tie_word_embeddings=tied,
            pad_token_id=None if tied else 5, **extra,
        )
        src = tmp / f"{kind}-{tied}-config"
        config.save_pretrained(src)
        for sharded in (False, True):
            out = tmp / f"{kind}-{tied}-{sharded}"
            out.mkdir()
            config_text = (src / "config.json").read_text()
            (out / "config.json").write_text(config_text)
            tokenizer_text = '{"version": "1.0", "added_tokens": [], "model": {"type": "BPE", "vocab": {}, "merges": []}}'
            (out / "tokenizer.json").write_text(tokenizer_text)
            args = ["init", "--model", out / "config.json", "--seed", "3", "--out", out]
            if sharded:
                run(*args, "--max-shard-size", "100KB")
                before = sorted(p.name for p in out.glob("model-*.safetensors"))
                # A rerun with another seed and fewer shards, replacing the checkpoint in place.
                run("init", "--model", out / "config.json", "--seed", "4", "--out", out, "--max-shard-size", "300KB", "--force")
                after = sorted(p.name for p in out.glob("model-*.safetensors"))
                if not 1 < len(after) < len(before):
                    sys.exit(f"{kind}: expected fewer shards after --force: {before} -> {after}")
                if any(not name.endswith(f"-of-{len(after):05d}.safetensors") for name in after):
                    sys.exit(f"{kind}: a stale shard stayed beside the new ones: {after}")
                if (out / "config.json").read_text() != config_text or (out / "tokenizer.json").read_text() != tokenizer_text:
                    sys.exit(f"{kind}: --force changed the user's config.json or tokenizer.json")
            else:
                args[-1] = out / "model.safetensors"
                run(*args)
            model, info = model_class.from_pretrained(out, output_loading_info=True)
            bad = {k: v for k, v in info.items() if v}
            if bad:
                sys.exit(f"{kind} tied={tied} sharded={sharded}: {bad}")
            files = sorted(out.glob("*.safetensors"))
            written = {}
            for f in files:
                written.update(load_file(f))
            state = model.state_dict()
            for name, tensor in written.items():
                if not torch.equal(state[name].to(tensor.dtype), tensor):
                    sys.exit(f"{kind}: {name} differs after loading")
            pad = config.pad_token_id
            if pad is not None:
                # transformers' own init zeroes the padding row; so must the file.
                theirs = model_class(config).model.embed_tokens.weight[pad]
                ours = state["model.embed_tokens.weight"][pad]
                if theirs.count_nonzero() != 0 or ours.count_nonzero() != 0:
                    sys.exit(f"{kind}: embedding row {pad} (pad_token_id) is not zeros")
                if state["model.embed_tokens.weight"][pad - 1].count_nonzero() == 0:
                    sys.exit(f"{kind}: the row before the padding row is zeros too")
            print(f"ok: {kind} tied={tied} sharded={sharded} pad_token_id={pad} ({len(files)} files, {len(written)} tensors)")


def check_resnet(tmp):
    import torchvision

    path = tmp / "resnet50.safetensors"
    run("init", "--model", "resnet50", "--seed", "1", "--out", path)
    model = torchvision.models.resnet50()
    model.load_state_dict(load_file(path), strict=True)
    print("ok: torchvision resnet50 load_state_dict(strict=True)")
    # --like a checkpoint torch wrote: same names, shapes and dtypes.
    theirs = tmp / "torch.safetensors"
    save_file({k: v.contiguous() for k, v in torchvision.models.resnet18().state_dict().items()}, theirs)
    like = tmp / "like.safetensors"
    run("init", "--like", theirs, "--seed", "2", "--out", like)
    a, b = load_file(theirs), load_file(like)
    if {k: (v.shape, v.dtype) for k, v in a.items()} != {k: (v.shape, v.dtype) for k, v in b.items()}:
        sys.exit("--like changed a name, shape or dtype")
    torchvision.models.resnet18().load_state_dict(b, strict=True)
    print("ok: --like torch's resnet18 checkpoint, load_state_dict(strict=True)")


def main():
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        for kind in ("llama", "mistral", "qwen2"):
            check_causal_lm(kind, tmp)
        try:
            check_resnet(tmp)
        except ImportError:
            print("skipped: torchvision is not installed")


if __name__ == "__main__":
    main()
