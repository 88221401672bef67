# torch.nn.init measured as `nninit bench --torch` asks: one JSON object on argv, one JSON list of
# rows on stdout. Each row is the median wall-clock seconds of `reps` runs after one warm-up, on a
# tensor allocated (and touched) beforehand, with `torch.set_num_threads(threads)`.
import json
import sys
import time

config = json.loads(sys.argv[1])
try:
    import torch
except ImportError as e:
    print(json.dumps({"error": f"no torch module ({e}); pip install torch"}))
    sys.exit(0)

torch.set_num_threads(config["threads"])
reps = max(1, config["reps"])
n = config["elements"]
init = torch.nn.init


def median_seconds(f, t):
    f(t)
    times = []
    for _ in range(reps):
        start = time.perf_counter()
        f(t)
        times.append(time.perf_counter() - start)
    return sorted(times)[len(times) // 2]


cases = [
    ("uniform", "f32", [n], lambda t: init.uniform_(t, -0.1, 0.1)),
    ("normal", "f32", [n], lambda t: init.normal_(t, 0.0, 0.02)),
    # As timm and most ViT code call it: PyTorch's default bounds (-2, 2), 100 std.
    ("trunc_normal", "f32", [n], lambda t: init.trunc_normal_(t, 0.0, 0.02)),
    # Bounds at 2 std, where torch's own method is slow.
    ("trunc_normal_2std", "f32", [n], lambda t: init.trunc_normal_(t, 0.0, 0.02, -0.04, 0.04)),
    ("kaiming_normal", "f32", [n // 1024, 1024], lambda t: init.kaiming_normal_(t)),
    ("normal", "bf16", [2 * n], lambda t: init.normal_(t, 0.0, 0.02)),
    ("orthogonal", "f32", [2048, 2048], lambda t: init.orthogonal_(t)),
    ("orthogonal", "f32", [4096, 4096], lambda t: init.orthogonal_(t)),
    ("sparse", "f32", [4096, 4096], lambda t: init.sparse_(t, 0.9)),
]
rows = []
for scheme, dtype, shape, f in cases:
    if scheme == "orthogonal" and shape[0] == 4096 and config.get("quick"):
        continue
    t = torch.empty(shape, dtype=torch.bfloat16 if dtype == "bf16" else torch.float32)
    t.fill_(1.0)
    seconds = median_seconds(f, t)
    rows.append({"scheme": scheme, "dtype": dtype, "shape": shape, "bytes": t.numel() * t.element_size(),
                 "elements": t.numel(), "seconds": seconds})
# A whole model into memory, where torchvision is installed: resnet50() builds the modules and
# runs their reset_parameters (torch.nn.init) in f32; bytes are the state dict's.
try:
    import torchvision
except ImportError:
    torchvision = None
if torchvision is not None:
    model = torchvision.models.resnet50()
    size = sum(t.numel() * t.element_size() for t in model.state_dict().values())
    seconds = median_seconds(lambda _: torchvision.models.resnet50(), None)
    rows.append({"scheme": "resnet50", "dtype": "f32", "shape": [], "bytes": size,
                 "elements": size // 4, "seconds": seconds})
print(json.dumps({"torch": torch.__version__, "rows": rows}))
