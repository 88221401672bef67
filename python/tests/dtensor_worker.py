"""One rank of the DTensor test (test_dtensor.py starts WORLD of them): fills DTensors of every
placement on 1-D and 2-D meshes and checks that full_tensor() equals the unsharded fill bit for
bit. Usage: dtensor_worker.py RANK WORLD PORT. Exits non-zero on the first mismatch."""

import os
import sys

import torch
import torch.distributed as dist
from torch import nn
from torch.distributed.device_mesh import init_device_mesh
from torch.distributed.tensor import DTensor, Partial, Replicate, Shard, distribute_tensor

import nninit.torch as init


def bits(t):
    return t.contiguous().view(torch.int16 if t.element_size() == 2 else torch.int32)


def check(mesh, placements, shape, dtype, fill, what):
    whole = torch.full(shape, float("nan"), dtype=dtype)
    fill(whole)
    sharded = distribute_tensor(torch.full(shape, float("nan"), dtype=dtype), mesh, placements)
    out = fill(sharded)
    assert out is sharded, "returns its argument"
    got = sharded.full_tensor()
    if not torch.equal(bits(got), bits(whole)):
        raise AssertionError(f"{what} {placements} {shape} {dtype}: the shards differ from the unsharded fill")


def main(rank, world, port):
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    dist.init_process_group("gloo", rank=rank, world_size=world)
    meshes = [(init_device_mesh("cpu", (world,)), [[Shard(0)], [Shard(1)], [Replicate()]])]
    if world == 4:
        two_d = [[Shard(0), Shard(1)], [Shard(1), Shard(0)], [Shard(1), Replicate()], [Shard(0), Shard(0)], [Replicate(), Shard(1)]]
        meshes.append((init_device_mesh("cpu", (2, 2)), two_d))
    fills = {
        "normal": lambda t: init.normal_(t, 0.5, 2.0, seed=7, name="w"),
        "uniform": lambda t: init.uniform_(t, -1, 1, seed=7, stream=3),
        "trunc_normal": lambda t: init.trunc_normal_(t, std=0.02, a=-0.03, b=0.03, seed=7, stream=4),
        "kaiming_uniform": lambda t: init.kaiming_uniform_(t, a=5**0.5, seed=7, stream=5),
        "xavier_normal": lambda t: init.xavier_normal_(t, seed=7, stream=6),
        "orthogonal": lambda t: init.orthogonal_(t, seed=7, stream=8),
        "sparse": lambda t: init.sparse_(t, 0.4, seed=7, stream=9),
        "eye": lambda t: init.eye_(t),
        "constant": lambda t: init.constant_(t, 0.25),
    }
    checked = 0
    for mesh, placement_sets in meshes:
        for placements in placement_sets:
            # Even and uneven shards (torch.chunk's: some ranks hold fewer rows, or none).
            for shape in [(16, 12), (10, 7), (3, 5)]:
                for what, fill in fills.items():
                    check(mesh, placements, shape, torch.float32, fill, what)
                    checked += 1
            check(mesh, placements, (10, 7), torch.bfloat16, fills["normal"], "normal")
            check(mesh, placements, (6, 5, 3), torch.float16, fills["kaiming_uniform"], "kaiming_uniform")
            check(mesh, placements + [], (6, 5, 3), torch.float32, lambda t: init.dirac_(t), "dirac")
            checked += 3
    mesh = meshes[0][0]
    # Shard(2) of a 3-D tensor: a box cut on the last dimension.
    check(mesh, [Shard(2)], (4, 3, 9), torch.float32, fills["normal"], "normal")
    # A module whose parameters are DTensors: equal to the same module filled whole.
    torch.manual_seed(0)
    plain = nn.Sequential(nn.Linear(12, 10), nn.LayerNorm(10), nn.Linear(10, 6))
    sharded = nn.Sequential(nn.Linear(12, 10), nn.LayerNorm(10), nn.Linear(10, 6))
    for module in sharded:
        for name, p in list(module.named_parameters()):
            placements = [Shard(0)] if p.dim() == 2 else [Replicate()]
            setattr(module, name, nn.Parameter(distribute_tensor(p.detach(), mesh, placements)))
    init.init_module_(plain, seed=11)
    init.init_module_(sharded, seed=11)
    for (name, a), (_, b) in zip(plain.state_dict().items(), sharded.state_dict().items()):
        if not torch.equal(bits(a), bits(b.full_tensor())):
            raise AssertionError(f"init_module_ on DTensor parameters: {name} differs")
    # Partial placements are refused.
    partial = DTensor.from_local(torch.zeros(4, 4), mesh, [Partial()])
    try:
        init.normal_(partial, seed=1)
    except ValueError as e:
        assert "Shard(d) and Replicate" in str(e), e
    else:
        raise AssertionError("a Partial DTensor was filled")
    dist.barrier()
    dist.destroy_process_group()
    print(f"rank {rank}/{world}: {checked + 2} checks passed")


if __name__ == "__main__":
    main(int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]))
