"""nninit for Python: ``torch.nn.init``'s functions, whole modules and DTensor shards, filled in
place on all CPU cores by nninit's counter-based Philox stream.

Every value is a pure function of (seed, stream, element index): the same as ``nninit fill`` and
``nninit init`` write, byte for byte, whatever the number of threads or the sharding. The
functions live in :mod:`nninit.torch`::

    import torch, nninit.torch as init
    w = torch.empty(4096, 4096)
    init.kaiming_normal_(w, mode="fan_out", nonlinearity="relu", seed=42, name="layer1.weight")
    init.init_module_(model, seed=0, rules="transformers")

This module holds the settings they share: the default seed and stream, and the threads.
"""

from . import _nninit

__all__ = [
    "STREAM_VERSION",
    "__version__",
    "get_num_threads",
    "initial_seed",
    "manual_seed",
    "name_stream",
    "set_num_threads",
]

#: The version of the stream contract the values follow (docs/contract.md in the repository).
STREAM_VERSION: int = _nninit.STREAM_VERSION
__version__: str = _nninit.__version__

_U64 = 1 << 64
_seed = 0
_next_stream = 0
_threads = None


def _check_u64(what, value):
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{what} must be an int, not {type(value).__name__}")
    if not 0 <= value < _U64:
        raise ValueError(f"{what} must be in [0, 2**64), got {value}")
    return value


def manual_seed(seed: int) -> None:
    """Sets the seed used when a fill is given none, and restarts the default streams at 0.

    Without it the default seed is 0. A fill given neither ``stream`` nor ``name`` takes the next
    default stream (0, 1, 2, ...), so successive calls draw different values, reproducibly for
    the same sequence of calls (and on every rank that makes the same calls).
    """
    global _seed, _next_stream
    _seed = _check_u64("seed", seed)
    _next_stream = 0


def initial_seed() -> int:
    """The seed a fill uses when given none (``manual_seed``'s, or 0)."""
    return _seed


def _take_stream() -> int:
    global _next_stream
    stream = _next_stream
    _next_stream = (_next_stream + 1) % _U64
    return stream


def name_stream(name: str) -> int:
    """The stream of the tensor named ``name``, as ``nninit init`` derives it: the 64-bit FNV-1a
    hash of its UTF-8 bytes."""
    if not isinstance(name, str):
        raise TypeError(f"name must be a str, not {type(name).__name__}")
    return _nninit.name_stream(name)


def set_num_threads(threads) -> None:
    """Runs fills on ``threads`` threads (``None``: every core the OS reports, the default)."""
    global _threads
    if threads is not None:
        _check_u64("threads", threads)
        if threads < 1:
            raise ValueError(f"threads must be at least 1, got {threads}")
    _threads = threads


def get_num_threads() -> int:
    """The number of threads fills run on."""
    return _threads if _threads is not None else _nninit.default_threads()
