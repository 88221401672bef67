"""The fill functions against `nninit fill`, byte for byte: every scheme, f32 and f16 numpy
arrays, bf16 (through ml_dtypes or torch), explicit streams, names and the default streams."""

import numpy as np
import pytest

import nninit
import nninit.torch as init
from conftest import HAVE_TORCH, cli_fill, needs_torch

# (function, scheme as the CLI names it, shape, PyTorch's parameters as keywords)
CASES = [
    (init.uniform_, "uniform", (33, 17), {"a": -0.5, "b": 2.0}),
    (init.normal_, "normal", (64, 31), {"mean": 0.25, "std": 0.02}),
    (init.trunc_normal_, "trunc_normal", (7, 5, 9), {"mean": 0.0, "std": 0.02, "a": -0.04, "b": 0.04}),
    (init.xavier_uniform_, "xavier_uniform", (20, 30), {"gain": 1.5}),
    (init.xavier_normal_, "xavier_normal", (8, 4, 3, 3), {"gain": 0.5}),
    (init.kaiming_uniform_, "kaiming_uniform", (16, 8, 3), {"a": 5**0.5, "mode": "fan_in", "nonlinearity": "leaky_relu"}),
    (init.kaiming_normal_, "kaiming_normal", (40, 12), {"a": 0.0, "mode": "fan_out", "nonlinearity": "relu"}),
    (init.orthogonal_, "orthogonal", (12, 20), {"gain": 2.0}),
    (init.sparse_, "sparse", (30, 11), {"sparsity": 0.3, "std": 0.5}),
    (init.constant_, "constant", (5, 5), {"val": -1.75}),
    (init.ones_, "ones", (9,), {}),
    (init.zeros_, "zeros", (4, 4), {}),
    (init.eye_, "eye", (6, 9), {}),
    (init.dirac_, "dirac", (6, 3, 3, 3), {"groups": 2}),
]
RANDOM = {"uniform", "normal", "trunc_normal", "xavier_uniform", "xavier_normal", "kaiming_uniform", "kaiming_normal", "orthogonal", "sparse"}


def _call(function, scheme, x, params, **stream):
    return function(x, **params, **stream) if scheme in RANDOM else function(x, **params)


@pytest.mark.parametrize("function,scheme,shape,params", CASES, ids=[c[1] for c in CASES])
@pytest.mark.parametrize("dtype", ["f32", "f16"])
def test_numpy_equals_the_cli(tmp_path, function, scheme, shape, params, dtype):
    x = np.full(shape, np.nan, dtype=np.float32 if dtype == "f32" else np.float16)
    out = _call(function, scheme, x, params, seed=1234, stream=77)
    assert out is x, "fills in place and returns its argument"
    stream = 77 if scheme in RANDOM else 0
    assert x.tobytes() == cli_fill(tmp_path, scheme, shape, 1234, stream, dtype, **params)


def _bf16_array(shape):
    ml_dtypes = pytest.importorskip("ml_dtypes", reason="bf16 numpy arrays need ml_dtypes")
    return np.zeros(shape, dtype=ml_dtypes.bfloat16)


def test_bf16_numpy_equals_the_cli(tmp_path):
    x = _bf16_array((37, 29))
    init.kaiming_normal_(x, mode="fan_out", nonlinearity="relu", seed=5, stream=9)
    assert x.tobytes() == cli_fill(tmp_path, "kaiming_normal", (37, 29), 5, 9, "bf16", mode="fan_out", nonlinearity="relu")


@needs_torch
@pytest.mark.parametrize("function,scheme,shape,params", CASES, ids=[c[1] for c in CASES])
@pytest.mark.parametrize("dtype", ["f32", "f16", "bf16"])
def test_torch_equals_the_cli(tmp_path, function, scheme, shape, params, dtype):
    import torch

    t = torch.full(shape, float("nan"), dtype={"f32": torch.float32, "f16": torch.float16, "bf16": torch.bfloat16}[dtype])
    assert _call(function, scheme, t, params, seed=99, stream=3) is t
    raw = t.view(torch.uint8).numpy().tobytes() if t.dim() else t.numpy().tobytes()
    stream = 3 if scheme in RANDOM else 0
    assert raw == cli_fill(tmp_path, scheme, shape, 99, stream, dtype, **params)


def test_name_is_the_name_stream(tmp_path):
    # FNV-1a 64 of "a", from the algorithm's published test vectors.
    assert nninit.name_stream("a") == 0xAF63DC4C8601EC8C
    x = np.empty((10, 10), np.float32)
    init.normal_(x, seed=3, name="layers.0.weight")
    assert x.tobytes() == cli_fill(tmp_path, "normal", (10, 10), 3, nninit.name_stream("layers.0.weight"), mean=0.0, std=1.0)
    with pytest.raises(ValueError, match="stream or name, not both"):
        init.normal_(x, seed=3, name="w", stream=1)


def test_default_seed_and_streams(tmp_path):
    nninit.manual_seed(11)
    a, b = np.empty(64, np.float32), np.empty(64, np.float32)
    init.uniform_(a)
    init.uniform_(b)
    assert a.tobytes() == cli_fill(tmp_path, "uniform", (64,), 11, 0, a=0.0, b=1.0)
    assert b.tobytes() == cli_fill(tmp_path, "uniform", (64,), 11, 1, a=0.0, b=1.0)
    nninit.manual_seed(11)
    c = np.empty(64, np.float32)
    init.uniform_(c)
    assert c.tobytes() == a.tobytes(), "manual_seed restarts the default streams"
    with pytest.raises(RuntimeError):
        init.uniform_(c, 1.0, 0.0)
    init.uniform_(c)
    assert c.tobytes() == b.tobytes(), "a failed fill takes no default stream"
    assert nninit.initial_seed() == 11
    with pytest.raises(ValueError, match=r"seed must be in \[0, 2\*\*64\)"):
        nninit.manual_seed(-1)


def test_threads_do_not_change_values():
    x = np.empty((513, 1001), np.float32)
    y = np.empty_like(x)
    nninit.set_num_threads(1)
    try:
        assert nninit.get_num_threads() == 1
        init.trunc_normal_(x, std=0.02, a=-0.04, b=0.04, seed=8, stream=2)
    finally:
        nninit.set_num_threads(None)
    init.trunc_normal_(y, std=0.02, a=-0.04, b=0.04, seed=8, stream=2)
    assert x.tobytes() == y.tobytes()


def test_padding_row_through_the_extension(tmp_path):
    # What init_module_ uses for nn.Embedding(padding_idx): the CLI's --padding-idx.
    from nninit import _nninit

    x = np.empty((12, 8), np.float32)
    _nninit.fill_raw(x.ctypes.data, x.nbytes, "f32", "normal", {"mean": 0.0, "std": 1.0}, [12, 8], 4, 5, None, -3)
    assert x.tobytes() == cli_fill(tmp_path, "normal", (12, 8), 4, 5, padding_idx=-3, mean=0.0, std=1.0)
    assert not x[9].any()


def test_statistics_of_a_large_normal():
    # A sanity check of the wiring, independent of the CLI: mean and std of 4M values within 5
    # standard errors of N(0.5, 2^2).
    x = np.empty(1 << 22, np.float32)
    init.normal_(x, 0.5, 2.0, seed=2024, stream=1)
    n = x.size
    assert abs(x.mean() - 0.5) < 5 * 2.0 / n**0.5
    assert abs(x.std() - 2.0) < 5 * 2.0 / (2 * n) ** 0.5


def test_torch_is_optional():
    # nninit.torch imports without torch; only init_module_ and tensors need it.
    assert callable(init.normal_)
    if not HAVE_TORCH:
        with pytest.raises(ImportError):
            init.init_module_(object(), 0)
