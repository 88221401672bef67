"""PyTorch's errors for bad parameters (its exception type and message, pinned from
torch.nn.init's source and checked against torch itself where it is importable), and the
refusals: what nninit does not fill, with a clear exception and nothing written."""

import math

import numpy as np
import pytest

import nninit.torch as init
from conftest import HAVE_TORCH, needs_torch

# (call on nninit.torch or torch.nn.init, shape, exception, message)
BAD = [
    (lambda m, t: m.uniform_(t, 1.0, 0.0), (4,), RuntimeError, "uniform_ expects to return a [from, to) range, but found from=1 > to=0"),
    (lambda m, t: m.normal_(t, 0.0, -1.0), (4,), RuntimeError, "normal expects std >= 0.0, but found std -1"),
    (lambda m, t: m.kaiming_uniform_(t), (5,), ValueError, "Fan in and fan out can not be computed for tensor with fewer than 2 dimensions"),
    (lambda m, t: m.xavier_normal_(t), (5,), ValueError, "Fan in and fan out can not be computed for tensor with fewer than 2 dimensions"),
    (lambda m, t: m.kaiming_normal_(t, mode="fan_avg"), (4, 4), ValueError, "Mode fan_avg not supported, please use one of ['fan_in', 'fan_out']"),
    (lambda m, t: m.kaiming_uniform_(t, nonlinearity="gelu"), (4, 4), ValueError, "Unsupported nonlinearity gelu"),
    (lambda m, t: m.eye_(t), (2, 2, 2), ValueError, "Only tensors with 2 dimensions are supported"),
    (lambda m, t: m.dirac_(t), (4, 4), ValueError, "Only tensors with 3, 4, or 5 dimensions are supported"),
    (lambda m, t: m.dirac_(t, 3), (4, 2, 3), ValueError, "dim 0 must be divisible by groups"),
    (lambda m, t: m.orthogonal_(t), (5,), ValueError, "Only tensors with 2 or more dimensions are supported"),
    (lambda m, t: m.sparse_(t, 0.5), (2, 2, 2), ValueError, "Only tensors with 2 dimensions are supported"),
]


@pytest.mark.parametrize("case", range(len(BAD)))
def test_pytorch_errors(case):
    call, shape, kind, message = BAD[case]
    x = np.full(shape, 7.0, np.float32)
    with pytest.raises(kind) as raised:
        call(init, x)
    assert str(raised.value) == message
    assert (x == 7.0).all(), "nothing written"
    if HAVE_TORCH:
        import torch

        with pytest.raises(kind) as theirs:
            call(torch.nn.init, torch.full(shape, 7.0))
        assert str(theirs.value) == str(raised.value), "torch says the same"


def test_calculate_gain():
    for name, param, want in [
        ("linear", None, 1.0),
        ("conv3d", None, 1.0),
        ("sigmoid", None, 1.0),
        ("tanh", None, 5.0 / 3),
        ("relu", None, math.sqrt(2.0)),
        ("leaky_relu", None, math.sqrt(2.0 / (1 + 0.01**2))),
        ("leaky_relu", 0.2, math.sqrt(2.0 / (1 + 0.2**2))),
        ("leaky_relu", 3, math.sqrt(2.0 / (1 + 9))),
        ("selu", None, 3.0 / 4),
    ]:
        assert init.calculate_gain(name, param) == want, name
    with pytest.raises(ValueError, match="^Unsupported nonlinearity gelu$"):
        init.calculate_gain("gelu")
    with pytest.raises(ValueError, match="^negative_slope True not a valid number$"):
        init.calculate_gain("leaky_relu", True)
    if HAVE_TORCH:
        import torch

        for name in ["linear", "tanh", "relu", "leaky_relu", "selu"]:
            assert init.calculate_gain(name) == torch.nn.init.calculate_gain(name)
        assert init.calculate_gain("leaky_relu", 0.3) == torch.nn.init.calculate_gain("leaky_relu", 0.3)


def test_kaiming_on_zero_elements_is_a_warned_no_op():
    x = np.zeros((0, 4), np.float32)
    with pytest.warns(UserWarning, match="Initializing zero-element tensors is a no-op"):
        init.kaiming_uniform_(x, mode="nonsense", seed=1)


def test_numpy_refusals():
    base = np.full((8, 8), 7.0, np.float32)
    with pytest.raises(ValueError, match="not C-contiguous"):
        init.normal_(base[:, ::2], seed=1)
    with pytest.raises(ValueError, match="not C-contiguous"):
        init.normal_(base.T, seed=1)
    frozen = base.copy()
    frozen.flags.writeable = False
    with pytest.raises(ValueError, match="read-only"):
        init.normal_(frozen, seed=1)
    for dtype in [np.int32, np.int64, np.float64, np.bool_]:
        with pytest.raises(TypeError, match="nninit fills float32, float16 and bfloat16 arrays"):
            init.normal_(np.zeros(4, dtype), seed=1)
    with pytest.raises(TypeError, match="not list"):
        init.normal_([1.0, 2.0], seed=1)
    with pytest.raises(ValueError, match="not from a torch.Generator"):
        init.normal_(base, 0.0, 1.0, object(), seed=1)
    assert (base == 7.0).all()
    # A contiguous slice of rows is a tensor of its own shape, as in torch.
    init.ones_(base[2:4])
    assert (base[2:4] == 1).all() and (base[:2] == 7).all() and (base[4:] == 7).all()


@needs_torch
def test_torch_refusals():
    import torch

    t = torch.full((8, 8), 7.0)
    with pytest.raises(ValueError, match="non-contiguous view"):
        init.normal_(t.t(), seed=1)
    with pytest.raises(ValueError, match="meta device: it has no memory"):
        init.normal_(torch.empty(4, 4, device="meta"), seed=1)
    for dtype in [torch.int64, torch.int8, torch.float64, torch.bool, torch.complex64]:
        with pytest.raises(TypeError, match="nninit fills float32, float16 and bfloat16 tensors"):
            init.zeros_(torch.zeros(4, dtype=dtype))
    with pytest.raises(ValueError, match="layout torch.sparse_coo"):
        init.normal_(torch.zeros(4, 4).to_sparse(), seed=1)
    # Inside the autograd graph: refused while grad mode is on.
    leaf = torch.zeros(4, 4, requires_grad=True)
    inner = leaf * 2
    with pytest.raises(RuntimeError, match="requires grad and is not a leaf"):
        init.normal_(inner, seed=1)
    assert (t == 7).all()


@needs_torch
def test_parameters_are_filled_and_autograd_sees_it():
    import torch

    w = torch.nn.Parameter(torch.zeros(16, 16))
    version = w._version
    init.xavier_uniform_(w, seed=1)
    assert w._version > version, "the version counter moves on"
    assert w.requires_grad and w.abs().sum() > 0
    # A tensor saved for backward and then filled: autograd notices, as with torch's in-place ops.
    x = torch.ones(16, requires_grad=True)
    y = (w @ x).sum()
    with torch.no_grad():
        init.normal_(w, seed=2)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.backward()
