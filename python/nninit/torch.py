"""``torch.nn.init`` on nninit's stream: the same names, parameters, defaults and error messages,
filled in place on all CPU cores with the GIL released.

Each function takes a ``torch.Tensor`` (a ``Parameter``, a DTensor) or a ``numpy.ndarray`` of
float32, float16 or bfloat16, fills it and returns it. Beyond PyTorch's parameters, the random
schemes take keyword-only ``seed`` and ``stream`` (or ``name``, hashed as ``nninit init`` hashes
tensor names): the values are ``nninit fill``'s for the same scheme, shape, seed and stream, byte
for byte. A ``generator`` is refused: nninit draws from (seed, stream), not from a torch
generator.

What is refused, with an exception and nothing written:

- a tensor that is not on the CPU: a meta tensor has no memory (materialize it first, e.g.
  ``module.to_empty(device="cpu")``), and a CUDA (or other device's) tensor is never filled
  through a hidden host copy: fill a CPU tensor and copy it, or use nninit's Rust library, which
  fills GPU buffers in place (``ValueError``);
- a non-contiguous view, a sparse tensor, a read-only array (``ValueError``);
- integer, bool and float64 dtypes (``TypeError``);
- a tensor inside the autograd graph (it requires grad and has a ``grad_fn``) while grad mode is
  on (``RuntimeError``). Leaf tensors that require grad (parameters) are filled, as
  ``torch.nn.init`` fills them under ``no_grad``, and their version counter moves on, so autograd
  sees the change.

DTensors (``torch.distributed.tensor``) placed by ``Shard(d)`` and ``Replicate`` on a mesh of
any dimensions: each rank fills its local shard from its global offsets, with no communication,
so ``full_tensor()`` is the unsharded fill bit for bit. Fans come from the global shape.
``orthogonal_`` and ``sparse_`` are not element-wise: every rank computes the whole matrix (QR)
or zero mask on its host and keeps its block, still without communication. ``Partial``
placements are refused.
"""

import math
import warnings

from . import _nninit
import nninit as _root

try:
    import torch as _torch
except ImportError:  # numpy arrays still work
    _torch = None
try:
    import numpy as _np
except ImportError:
    _np = None

__all__ = [
    "calculate_gain",
    "constant_",
    "dirac_",
    "eye_",
    "init_module_",
    "kaiming_normal_",
    "kaiming_uniform_",
    "normal_",
    "ones_",
    "orthogonal_",
    "sparse_",
    "trunc_normal_",
    "uniform_",
    "xavier_normal_",
    "xavier_uniform_",
    "zeros_",
]

# Stands for a parameter without a default (constant's val, sparse's sparsity).
_REQUIRED = object()

# Every scheme's parameters and PyTorch's defaults, by nninit's scheme name (the JSON form of
# rule files).
_DEFAULTS = {
    "uniform": {"a": 0.0, "b": 1.0},
    "normal": {"mean": 0.0, "std": 1.0},
    "trunc_normal": {"mean": 0.0, "std": 1.0, "a": -2.0, "b": 2.0},
    "constant": {"val": _REQUIRED},
    "ones": {},
    "zeros": {},
    "eye": {},
    "dirac": {"groups": 1},
    "xavier_uniform": {"gain": 1.0},
    "xavier_normal": {"gain": 1.0},
    "kaiming_uniform": {"a": 0.0, "mode": "fan_in", "nonlinearity": "leaky_relu"},
    "kaiming_normal": {"a": 0.0, "mode": "fan_in", "nonlinearity": "leaky_relu"},
    "orthogonal": {"gain": 1.0},
    "sparse": {"sparsity": _REQUIRED, "std": 0.01},
}


# ---------------------------------------------------------------------------------------------
# What is filled: a checked view of the caller's memory.


class _Target:
    """Host memory to fill: its address and size, its dtype, the logical (global) shape, the
    block of it that the memory holds (``None``: all of it), and what to tell torch afterwards."""

    __slots__ = ("address", "nbytes", "dtype", "shape", "block", "tensor", "keep")

    def __init__(self, address, nbytes, dtype, shape, block, tensor, keep):
        self.address = address
        self.nbytes = nbytes
        self.dtype = dtype
        self.shape = shape
        self.block = block
        self.tensor = tensor  # a torch tensor whose version counter moves on after the fill
        self.keep = keep  # keeps the memory alive during the call


def _torch_dtype(dtype):
    names = {_torch.float32: "f32", _torch.float16: "f16", _torch.bfloat16: "bf16"}
    if dtype not in names:
        raise TypeError(f"nninit fills float32, float16 and bfloat16 tensors, not {dtype}")
    return names[dtype]


def _is_dtensor(x):
    if _torch is None or not hasattr(_torch, "distributed") or not _torch.distributed.is_available():
        return False
    try:
        from torch.distributed.tensor import DTensor
    except ImportError:
        return False
    return isinstance(x, DTensor)


def _check_memory(t, what):
    """The checks on a torch tensor whose memory nninit writes."""
    if t.device.type == "meta":
        raise ValueError(
            f"{what} is on the meta device: it has no memory to fill; materialize it first "
            "(e.g. module.to_empty(device='cpu'))"
        )
    if t.device.type != "cpu":
        raise ValueError(
            f"{what} is on {t.device}: nninit's Python package fills CPU memory and never copies "
            "through a host buffer on its own; fill a CPU tensor and copy it (dst.copy_(src)), "
            "or fill GPU buffers in place with nninit's Rust library"
        )
    if t.layout != _torch.strided:
        raise ValueError(f"{what} has layout {t.layout}: nninit fills dense (strided) tensors")
    dtype = _torch_dtype(t.dtype)
    if not t.is_contiguous():
        raise ValueError(
            f"{what} is a non-contiguous view (shape {tuple(t.shape)}, strides {t.stride()}): "
            "nninit writes contiguous memory; fill a contiguous tensor and copy it into the view"
        )
    return dtype


def _check_autograd(t, what):
    if t.requires_grad and t.grad_fn is not None and _torch.is_grad_enabled():
        raise RuntimeError(
            f"{what} requires grad and is not a leaf (grad_fn {type(t.grad_fn).__name__}): filling it "
            "in place would hide the write from autograd; fill it under torch.no_grad() or fill the leaf"
        )


def _target(x):
    """The memory of ``x`` to fill, after every check."""
    if _torch is not None and isinstance(x, _torch.Tensor):
        if _is_dtensor(x):
            return _dtensor_target(x)
        _check_autograd(x, "the tensor")
        dtype = _check_memory(x, "the tensor")
        nbytes = x.numel() * x.element_size()
        return _Target(x.data_ptr(), nbytes, dtype, tuple(x.shape), None, x, x)
    if _np is not None and isinstance(x, _np.ndarray):
        names = {"float32": "f32", "float16": "f16", "bfloat16": "bf16"}
        if x.dtype.name not in names:
            raise TypeError(f"nninit fills float32, float16 and bfloat16 arrays, not {x.dtype.name}")
        if not x.flags.c_contiguous:
            raise ValueError(
                f"the array is not C-contiguous (shape {x.shape}, strides {x.strides}): nninit writes "
                "contiguous memory; fill a contiguous array and copy it into the view"
            )
        if not x.flags.writeable:
            raise ValueError("the array is read-only")
        return _Target(x.ctypes.data, x.nbytes, names[x.dtype.name], tuple(x.shape), None, None, x)
    raise TypeError(f"nninit fills a torch.Tensor or a numpy.ndarray, not {type(x).__name__}")


def _dtensor_target(x):
    """A DTensor's local shard: the block of the global tensor it holds on this rank."""
    from torch.distributed.tensor import Replicate, Shard
    from torch.distributed.tensor._utils import compute_local_shape_and_global_offset

    for placement in x.placements:
        if type(placement) not in (Shard, Replicate):
            raise ValueError(
                f"nninit fills DTensors placed by Shard(d) and Replicate, not {placement}: a Partial "
                "tensor's local values are summands of the tensor, not its elements"
            )
    _check_autograd(x, "the DTensor")
    with _torch.no_grad():
        local = x.to_local()
    dtype = _check_memory(local, "the DTensor's local shard")
    if local.dtype != x.dtype:
        raise TypeError(f"the DTensor's local shard is {local.dtype}, the DTensor {x.dtype}")
    shape = tuple(x.shape)
    local_shape, offset = compute_local_shape_and_global_offset(shape, x.device_mesh, x.placements)
    if tuple(local.shape) != tuple(local_shape):
        raise ValueError(f"the DTensor's local shard has shape {tuple(local.shape)}, its placements say {local_shape}")
    block = [(o, o + n) for o, n in zip(offset, local_shape)]
    nbytes = local.numel() * local.element_size()
    return _Target(local.data_ptr(), nbytes, dtype, shape, block, local, (x, local))


# ---------------------------------------------------------------------------------------------
# Seeds and streams.


def _seed_of(seed):
    return _root.initial_seed() if seed is None else _root._check_u64("seed", seed)


def _stream_of(stream, name):
    """The stream given, or ``None`` for the next default stream."""
    if stream is not None and name is not None:
        raise ValueError("give stream or name, not both")
    if name is not None:
        return _root.name_stream(name)
    if stream is not None:
        return _root._check_u64("stream", stream)
    return None


def _no_generator(generator):
    if generator is not None:
        raise ValueError(
            "nninit draws from (seed, stream), not from a torch.Generator: pass seed= and stream= (or name=)"
        )


def _fill(tensor, scheme, params, seed=0, stream=0, zero_row=None):
    """Fills ``tensor`` with ``scheme``: the tensor is checked, then the parameters against its
    shape (in Rust, PyTorch's messages), before anything is written."""
    target = _target(tensor)
    _nninit.fill_raw(
        target.address,
        target.nbytes,
        target.dtype,
        scheme,
        params,
        list(target.shape),
        seed,
        stream,
        target.block,
        zero_row,
        _root._threads,
    )
    if target.tensor is not None:
        _torch.autograd.graph.increment_version(target.tensor)
    return tensor


def _random(tensor, scheme, params, generator, seed, stream, name):
    _no_generator(generator)
    seed, stream = _seed_of(seed), _stream_of(stream, name)
    if stream is not None:
        return _fill(tensor, scheme, params, seed, stream)
    # The next default stream is taken only by a fill that succeeds.
    _fill(tensor, scheme, params, seed, _root._next_stream)
    _root._take_stream()
    return tensor


def _numbers(**values):
    """PyTorch's numeric parameters as floats (as its Python functions take them)."""
    return {key: float(value) for key, value in values.items()}


# ---------------------------------------------------------------------------------------------
# torch.nn.init's functions.


def calculate_gain(nonlinearity, param=None):
    """``torch.nn.init.calculate_gain``: the recommended gain for a nonlinearity."""
    if nonlinearity != "leaky_relu" or param is None:
        return _nninit.calculate_gain(nonlinearity, None)  # PyTorch ignores param elsewhere
    if isinstance(param, bool) or not isinstance(param, (int, float)):
        raise ValueError(f"negative_slope {param} not a valid number")
    return _nninit.calculate_gain(nonlinearity, float(param))


def uniform_(tensor, a=0.0, b=1.0, generator=None, *, seed=None, stream=None, name=None):
    """``torch.nn.init.uniform_``: values from U(a, b)."""
    return _random(tensor, "uniform", _numbers(a=a, b=b), generator, seed, stream, name)


def normal_(tensor, mean=0.0, std=1.0, generator=None, *, seed=None, stream=None, name=None):
    """``torch.nn.init.normal_``: values from N(mean, std^2)."""
    return _random(tensor, "normal", _numbers(mean=mean, std=std), generator, seed, stream, name)


def trunc_normal_(tensor, mean=0.0, std=1.0, a=-2.0, b=2.0, generator=None, *, seed=None, stream=None, name=None):
    """``torch.nn.init.trunc_normal_``: N(mean, std^2) truncated to [a, b] (absolute bounds)."""
    params = _numbers(mean=mean, std=std, a=a, b=b)
    return _random(tensor, "trunc_normal", params, generator, seed, stream, name)


def constant_(tensor, val):
    """``torch.nn.init.constant_``: every value ``val``."""
    return _fill(tensor, "constant", {"val": float(val)})


def ones_(tensor):
    """``torch.nn.init.ones_``."""
    return _fill(tensor, "ones", {})


def zeros_(tensor):
    """``torch.nn.init.zeros_``."""
    return _fill(tensor, "zeros", {})


def eye_(tensor):
    """``torch.nn.init.eye_``: the identity, for 2-D tensors."""
    return _fill(tensor, "eye", {})


def dirac_(tensor, groups=1):
    """``torch.nn.init.dirac_``: identity convolutions, for 3-, 4- and 5-D tensors."""
    if isinstance(groups, bool) or not isinstance(groups, int):
        raise TypeError(f"groups must be an int, not {type(groups).__name__}")
    return _fill(tensor, "dirac", {"groups": groups})


def xavier_uniform_(tensor, gain=1.0, generator=None, *, seed=None, stream=None, name=None):
    """``torch.nn.init.xavier_uniform_`` (Glorot & Bengio, 2010)."""
    return _random(tensor, "xavier_uniform", _numbers(gain=gain), generator, seed, stream, name)


def xavier_normal_(tensor, gain=1.0, generator=None, *, seed=None, stream=None, name=None):
    """``torch.nn.init.xavier_normal_`` (Glorot & Bengio, 2010)."""
    return _random(tensor, "xavier_normal", _numbers(gain=gain), generator, seed, stream, name)


def _kaiming(scheme, tensor, a, mode, nonlinearity, generator, seed, stream, name):
    if _numel(tensor) == 0:
        warnings.warn("Initializing zero-element tensors is a no-op", stacklevel=3)
    params = {"a": float(a), "mode": str(mode), "nonlinearity": str(nonlinearity)}
    return _random(tensor, scheme, params, generator, seed, stream, name)


def kaiming_uniform_(
    tensor, a=0, mode="fan_in", nonlinearity="leaky_relu", generator=None, *, seed=None, stream=None, name=None
):
    """``torch.nn.init.kaiming_uniform_`` (He et al., 2015)."""
    return _kaiming("kaiming_uniform", tensor, a, mode, nonlinearity, generator, seed, stream, name)


def kaiming_normal_(
    tensor, a=0, mode="fan_in", nonlinearity="leaky_relu", generator=None, *, seed=None, stream=None, name=None
):
    """``torch.nn.init.kaiming_normal_`` (He et al., 2015)."""
    return _kaiming("kaiming_normal", tensor, a, mode, nonlinearity, generator, seed, stream, name)


def orthogonal_(tensor, gain=1, generator=None, *, seed=None, stream=None, name=None):
    """``torch.nn.init.orthogonal_`` (Saxe et al., 2013): Householder QR on the host."""
    return _random(tensor, "orthogonal", _numbers(gain=gain), generator, seed, stream, name)


def sparse_(tensor, sparsity, std=0.01, generator=None, *, seed=None, stream=None, name=None):
    """``torch.nn.init.sparse_`` (Martens, 2010): normal values, ``ceil(sparsity * rows)`` zeros
    per column."""
    params = _numbers(sparsity=sparsity, std=std)
    return _random(tensor, "sparse", params, generator, seed, stream, name)


def _numel(x):
    n = 1
    for d in getattr(x, "shape", ()):
        n *= d
    return n


# ---------------------------------------------------------------------------------------------
# Whole modules.


def _scheme(spec):
    """A rule's scheme, in the JSON form of nninit's rule files (``{"scheme": "normal", "std":
    0.02}``), PyTorch's defaults filled in."""
    if not isinstance(spec, dict) or "scheme" not in spec:
        raise ValueError(f"a scheme is a dict with a 'scheme' key, e.g. {{'scheme': 'normal', 'std': 0.02}}, not {spec!r}")
    name = spec["scheme"]
    if name not in _DEFAULTS:
        raise ValueError(f"unknown scheme {name!r} (one of {', '.join(sorted(_DEFAULTS))})")
    for key in spec:
        if key != "scheme" and key not in _DEFAULTS[name]:
            raise ValueError(f"{name} has no parameter {key!r}")
    params = {key: spec.get(key, default) for key, default in _DEFAULTS[name].items()}
    # A required parameter left out is the extension's error ("constant: parameter val missing").
    return name, {key: value for key, value in params.items() if value is not _REQUIRED}


def _uniform_bound(fan_in):
    bound = 1.0 / math.sqrt(fan_in) if fan_in > 0 else 0.0
    return ("uniform", {"a": -bound, "b": bound})


_ONES = ("ones", {})
_ZEROS = ("zeros", {})
_KAIMING = ("kaiming_uniform", {"a": math.sqrt(5), "mode": "fan_in", "nonlinearity": "leaky_relu"})


_NORM = {"weight": _ONES, "bias": _ZEROS, "running_mean": _ZEROS, "running_var": _ONES, "num_batches_tracked": _ZEROS}


def _pytorch_defaults(module):
    """PyTorch's ``reset_parameters`` of ``module``'s own parameters and buffers: their schemes by
    local name, or ``None`` where PyTorch has none for the module's type."""
    nn = _torch.nn
    if isinstance(module, nn.MultiheadAttention):
        xavier = ("xavier_uniform", {"gain": 1.0})
        return {
            "in_proj_weight": xavier,
            "q_proj_weight": xavier,
            "k_proj_weight": xavier,
            "v_proj_weight": xavier,
            "in_proj_bias": _ZEROS,
            "bias_k": ("xavier_normal", {"gain": 1.0}),
            "bias_v": ("xavier_normal", {"gain": 1.0}),
        }
    convs = (nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.ConvTranspose1d, nn.ConvTranspose2d, nn.ConvTranspose3d)
    if isinstance(module, (nn.Linear,) + convs):
        weight = getattr(module, "weight", None)
        out = {"weight": _KAIMING}
        if weight is not None:
            out["bias"] = _uniform_bound(_nninit.fans(list(weight.shape))[0])
        return out
    if isinstance(module, nn.Bilinear):
        return {"weight": _uniform_bound(module.weight.shape[1]), "bias": _uniform_bound(module.weight.shape[1])}
    if isinstance(module, (nn.Embedding, nn.EmbeddingBag)):
        return {"weight": ("normal", {"mean": 0.0, "std": 1.0})}
    norms = (nn.modules.batchnorm._NormBase, nn.LayerNorm, nn.GroupNorm)
    name = type(module).__name__
    if isinstance(module, norms) or "LayerNorm" in name or "RMSNorm" in name:
        # Custom norms (transformers' LlamaRMSNorm...) are made with ones and zeros too.
        return _NORM
    if isinstance(module, nn.PReLU):
        return {"weight": ("constant", {"val": float(module.init)})}
    if isinstance(module, (nn.RNNBase, nn.RNNCellBase)):
        stdv = 1.0 / math.sqrt(module.hidden_size) if module.hidden_size > 0 else 0.0
        return {local: ("uniform", {"a": -stdv, "b": stdv}) for local, _ in module.named_parameters(recurse=False)}
    return None


def _transformers_defaults(module, std):
    """transformers' ``PreTrainedModel._init_weights`` for ``module``'s own tensors, as
    ``_pytorch_defaults``; ``None`` where it leaves the module as PyTorch made it."""
    nn = _torch.nn
    normal = ("normal", {"mean": 0.0, "std": std})
    if isinstance(module, (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.ConvTranspose1d, nn.ConvTranspose2d)):
        return {"weight": normal, "bias": _ZEROS}
    if isinstance(module, nn.LSTM):
        # Chosen by a word in the name, as transformers does.
        weight, bias = ("xavier_uniform", {"gain": 1.0}), ("constant", {"val": 0.0})
        return {
            local: weight if "weight" in local else bias
            for local, _ in module.named_parameters(recurse=False)
            if "weight" in local or "bias" in local
        }
    if isinstance(module, nn.Embedding):
        return {"weight": normal}
    norms = (nn.GroupNorm, nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d)
    name = type(module).__name__
    if isinstance(module, norms) or "LayerNorm" in name or "RMSNorm" in name:
        return _NORM
    return None


def _initializer_range(module, initializer_range):
    """transformers' std: the argument, else the model config's ``initializer_range`` (or
    ``init_std``, ``initializer_factor``), else 0.02."""
    if initializer_range is not None:
        return float(initializer_range)
    config = getattr(module, "config", None)
    if config is not None:
        if hasattr(config, "initializer_range"):
            return float(config.initializer_range or 0.02)
        for key in ("init_std", "initializer_factor"):
            if hasattr(config, key):
                return float(getattr(config, key))
    return 0.02


def _owned_tensors(module):
    """Every parameter and persistent buffer of ``module``, each tensor once (tied ones under
    their first ``state_dict`` name), with the submodule that owns it and its local name."""
    seen = set()
    out = []
    for prefix, sub in module.named_modules():
        own = [(n, t) for n, t in sub.named_parameters(recurse=False)]
        persistent = getattr(sub, "_non_persistent_buffers_set", set())
        own += [(n, t) for n, t in sub.named_buffers(recurse=False) if n not in persistent]
        for local, tensor in own:
            if tensor is None or id(tensor) in seen:
                continue
            seen.add(id(tensor))
            out.append((f"{prefix}.{local}" if prefix else local, sub, local, tensor))
    return out


def init_module_(module, seed, rules="pytorch", *, initializer_range=None, overrides=None):
    """Initializes every parameter and persistent buffer of ``module`` in place, each from the
    stream of its ``state_dict`` name (as ``nninit init``), and returns ``module``.

    ``rules``:

    - ``"pytorch"``: each module type's ``reset_parameters`` (Linear, Conv*d, ConvTranspose*d,
      Bilinear, Embedding and EmbeddingBag with their ``padding_idx`` row zeroed, the norms and
      their running statistics, MultiheadAttention, PReLU, RNN/LSTM/GRU and their cells);
    - ``"transformers"``: transformers' ``_init_weights``: Linear and convolution weights and
      Embeddings ``normal(0, initializer_range)`` (the padding row zeroed), their biases zeros,
      norms (GroupNorm, BatchNorm, any ``*LayerNorm``/``*RMSNorm`` class) ones and zeros,
      LSTM weights ``xavier_uniform`` and biases zeros; every other module as PyTorch's rules.
      ``initializer_range`` defaults to the module's ``config.initializer_range`` (else 0.02).

    ``overrides`` maps name globs (nninit's: ``*`` matches dots too) to a scheme in the JSON form
    of nninit's rule files, ``{"scheme": "normal", "std": 0.02}``, or to ``None`` to leave the
    tensor as it is; the first matching glob wins over the rules. A tensor that neither covers
    is an error naming it, and nothing is written.

    Integer buffers (``num_batches_tracked``) are zeroed. Non-persistent buffers are not in the
    ``state_dict`` and are left as they are, except transformers' rotary embeddings
    (``*RotaryEmbedding`` with ``original_inv_freq``), which the model's own ``_init_weights``
    recomputes, as transformers does. Parameters may be DTensors (each rank fills its shard).

    Works on a model built on the meta device and materialized with ``to_empty(device="cpu")``,
    so that PyTorch's own initialization never runs. ``to_empty`` unties shared parameters; a
    transformers model (one with ``config`` and ``tie_weights``) is tied again first, through its
    ``tie_weights``, as transformers' ``init_weights`` does; tie other modules' yourself before.
    """
    if _torch is None:
        raise ImportError("init_module_ needs torch")
    if not isinstance(module, _torch.nn.Module):
        raise TypeError(f"init_module_ takes a torch.nn.Module, not {type(module).__name__}")
    if rules not in ("pytorch", "transformers"):
        raise ValueError(f"rules must be 'pytorch' or 'transformers', not {rules!r}")
    seed = _root._check_u64("seed", seed)
    std = _initializer_range(module, initializer_range) if rules == "transformers" else None
    overrides = dict(overrides or {})
    for value in overrides.values():
        if value is not None:
            _scheme(value)

    # to_empty unties shared parameters (it makes one new tensor per module); a transformers
    # model ties again what its config ties, as its own init_weights does.
    tie_weights = getattr(module, "tie_weights", None)
    if callable(tie_weights) and getattr(module, "config", None) is not None:
        tie_weights()

    # Plan everything first: an uncovered or refused tensor writes nothing.
    planned = []
    uncovered = []
    mha_out_bias = set()
    for _, sub in module.named_modules():
        if isinstance(sub, _torch.nn.MultiheadAttention) and sub.out_proj.bias is not None:
            mha_out_bias.add(id(sub.out_proj.bias))
    for full, owner, local, tensor in _owned_tensors(module):
        chosen = _MISSING
        for glob, spec in overrides.items():
            if _nninit.glob_match(glob, full):
                chosen = None if spec is None else _scheme(spec)
                break
        if chosen is _MISSING:
            if id(tensor) in mha_out_bias:
                chosen = _ZEROS  # MultiheadAttention._reset_parameters
            else:
                table = _transformers_defaults(owner, std) if rules == "transformers" else None
                chosen = (table or {}).get(local)
                if chosen is None:
                    chosen = (_pytorch_defaults(owner) or {}).get(local)
                if chosen is None:
                    uncovered.append(f"{full} ({type(owner).__name__}, shape {tuple(tensor.shape)})")
                    continue
        if chosen is None:
            continue
        zero_row = None
        if local == "weight" and isinstance(owner, (_torch.nn.Embedding, _torch.nn.EmbeddingBag)):
            zero_row = owner.padding_idx
        planned.append((full, tensor, chosen, zero_row))
    if uncovered:
        raise ValueError(
            "no rule covers " + ", ".join(uncovered) + ": give it a scheme with overrides={glob: {'scheme': ...}} "
            "(or None to leave it)"
        )
    for full, tensor, (scheme, params), _ in planned:
        if tensor.is_floating_point():
            _target(tensor)  # every check before anything is written
        elif scheme != "zeros":
            raise TypeError(f"{full} is {tensor.dtype}: nninit writes only zeros into integer tensors")

    with _torch.no_grad():
        for full, tensor, (scheme, params), zero_row in planned:
            if not tensor.is_floating_point():
                tensor.zero_()
                continue
            _fill(tensor, scheme, dict(params), seed, _root.name_stream(full), zero_row)
        init_weights = getattr(module, "_init_weights", None)
        if init_weights is not None:
            for _, sub in module.named_modules():
                if "RotaryEmbedding" in type(sub).__name__ and hasattr(sub, "original_inv_freq"):
                    init_weights(sub)
    return module


_MISSING = object()
