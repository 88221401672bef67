"""DTensor shards (torch.distributed on the gloo backend, CPU processes): every rank fills its
local shard from its global offsets with no communication, and full_tensor() equals the
unsharded fill bit for bit, on 2 and 4 processes, 1-D and 2-D meshes, row, column and nested
shards, even and uneven (dtensor_worker.py does the checks)."""

import pathlib
import socket
import subprocess
import sys

import pytest

pytest.importorskip("torch", reason="torch is not importable")
import torch.distributed  # noqa: E402

if not torch.distributed.is_available() or not torch.distributed.is_gloo_available():
    pytest.skip("torch.distributed with gloo is not available", allow_module_level=True)

WORKER = pathlib.Path(__file__).with_name("dtensor_worker.py")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize("world", [2, 4])
def test_shards_equal_the_unsharded_fill(world):
    port = free_port()
    ranks = [
        subprocess.Popen([sys.executable, str(WORKER), str(r), str(world), str(port)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        for r in range(world)
    ]
    outputs = []
    for rank in ranks:
        try:
            out, _ = rank.communicate(timeout=600)
        except subprocess.TimeoutExpired:
            for r in ranks:
                r.kill()
            raise
        outputs.append((rank.returncode, out))
    for r, (code, out) in enumerate(outputs):
        assert code == 0, f"rank {r} of {world} failed:\n{out}"
        assert f"rank {r}/{world}:" in out and "checks passed" in out
