"""init_module_ against `nninit init`: PyTorch's module defaults equal `init --like` of the same
model's state_dict file, transformers' rules equal `init --model config.json` (and `--like` with
a rules file), byte for byte; meta + to_empty equals an eagerly built model; padding rows,
attention, recurrent layers, tied weights, overrides, and what is refused."""

import json

import pytest

from conftest import cli_fill, read_safetensors, run_cli, write_safetensors

torch = pytest.importorskip("torch", reason="torch is not importable")
from torch import nn  # noqa: E402

import nninit  # noqa: E402
import nninit.torch as init  # noqa: E402

DTYPES = {torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16", torch.int64: "I64"}


def raw(t):
    t = t.detach().contiguous().reshape(-1)
    return t.view(torch.uint8).numpy().tobytes() if t.numel() else b""


def save(module, path):
    """The module's state_dict as a safetensors file (tied tensors once, as save_pretrained)."""
    seen, tensors = set(), {}
    for name, t in module.state_dict(keep_vars=True).items():
        if id(t) in seen:
            continue
        seen.add(id(t))
        tensors[name] = (DTYPES[t.dtype], list(t.shape), raw(t))
    write_safetensors(path, tensors)


def state(module):
    return {name: raw(t) for name, t in module.state_dict().items()}


class Net(nn.Module):
    """Every kind `init --like` infers from names: embedding, conv, batch norm, transposed conv,
    linear, layer norm, a linear without bias, a 1-D conv."""

    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(50, 16)
        self.conv = nn.Conv2d(3, 8, 3)
        self.bn = nn.BatchNorm2d(8)
        self.convt = nn.ConvTranspose2d(8, 4, 2)
        self.fc1 = nn.Linear(16, 32)
        self.ln = nn.LayerNorm(32)
        self.fc2 = nn.Linear(32, 10, bias=False)
        self.head = nn.Conv1d(4, 6, 5)


def test_pytorch_rules_equal_init_like(tmp_path):
    model = Net()
    save(model, tmp_path / "net.safetensors")
    init.init_module_(model, seed=17)
    run_cli("init", "--like", tmp_path / "net.safetensors", "--seed", 17, "--device", "cpu", "--out", tmp_path / "like.safetensors")
    like = read_safetensors(tmp_path / "like.safetensors")
    ours = state(model)
    assert sorted(like) == sorted(ours)
    for name, (_, _, data) in like.items():
        assert ours[name] == data, name
    # PyTorch's defaults, independently: the bias bound 1/sqrt(fan_in), the norms' ones.
    assert model.fc1.bias.abs().max() <= 1 / 16**0.5
    assert (model.bn.running_var == 1).all() and (model.ln.weight == 1).all()


def test_meta_then_to_empty_equals_eager():
    eager = init.init_module_(Net(), seed=5)
    with torch.device("meta"):
        lazy = Net()
    lazy.to_empty(device="cpu")
    init.init_module_(lazy, seed=5)
    assert state(lazy) == state(eager)


def test_half_precision_modules(tmp_path):
    model = Net().to(torch.bfloat16)
    save(model, tmp_path / "net.safetensors")
    init.init_module_(model, seed=2)
    run_cli("init", "--like", tmp_path / "net.safetensors", "--seed", 2, "--device", "cpu", "--out", tmp_path / "like.safetensors")
    like = read_safetensors(tmp_path / "like.safetensors")
    assert {n: d for n, (_, _, d) in like.items()} == state(model)


def test_padding_attention_recurrent_and_tied(tmp_path):
    class Mixed(nn.Module):
        def __init__(self):
            super().__init__()
            self.embed = nn.Embedding(20, 8, padding_idx=3)
            self.attn = nn.MultiheadAttention(8, 2)
            self.rnn = nn.LSTM(8, 6)
            self.act = nn.PReLU(init=0.1)
            self.head = nn.Linear(8, 20, bias=False)
            self.head.weight = self.embed.weight  # tied

    m = init.init_module_(Mixed(), seed=9)
    stream = nninit.name_stream
    # The padding row, through the CLI's --padding-idx.
    want = cli_fill(tmp_path, "normal", (20, 8), 9, stream("embed.weight"), padding_idx=3, mean=0.0, std=1.0)
    assert raw(m.embed.weight) == want
    assert m.head.weight is m.embed.weight, "tied weights stay tied, filled once under the first name"
    assert raw(m.attn.in_proj_weight) == cli_fill(tmp_path, "xavier_uniform", (24, 8), 9, stream("attn.in_proj_weight"), gain=1.0)
    assert (m.attn.in_proj_bias == 0).all() and (m.attn.out_proj.bias == 0).all()
    want = cli_fill(tmp_path, "kaiming_uniform", (8, 8), 9, stream("attn.out_proj.weight"), a=5**0.5, mode="fan_in", nonlinearity="leaky_relu")
    assert raw(m.attn.out_proj.weight) == want
    bound = 1 / 6**0.5
    for name, p in m.rnn.named_parameters():
        assert raw(p) == cli_fill(tmp_path, "uniform", tuple(p.shape), 9, stream(f"rnn.{name}"), a=-bound, b=bound), name
    assert (m.act.weight == torch.tensor(0.1)).all()


def test_overrides_and_uncovered_tensors():
    class Custom(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(4, 4)
            self.scale = nn.Parameter(torch.full((4,), 7.0))

    m = Custom()
    before = state(m)
    with pytest.raises(ValueError, match=r"no rule covers scale \(Custom, shape \(4,\)\)"):
        init.init_module_(m, seed=1)
    assert state(m) == before, "nothing written"
    init.init_module_(m, seed=1, overrides={"scale": {"scheme": "constant", "val": 0.5}, "fc.bias": None})
    assert (m.scale == 0.5).all()
    assert raw(m.fc.bias) == before["fc.bias"], "None leaves the tensor as it is"
    with pytest.raises(ValueError, match="unknown scheme 'gaussian'"):
        init.init_module_(m, seed=1, overrides={"scale": {"scheme": "gaussian"}})
    with pytest.raises(ValueError, match="rules must be 'pytorch' or 'transformers'"):
        init.init_module_(m, seed=1, rules="jax")
    with torch.device("meta"):
        lazy = Custom()
    with pytest.raises(ValueError, match="meta device"):
        init.init_module_(lazy, seed=1, overrides={"scale": None})


@pytest.fixture
def llama(tmp_path):
    transformers = pytest.importorskip("transformers")
    config = transformers.LlamaConfig(
        vocab_size=128,
        hidden_size=64,
        intermediate_size=176,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        tie_word_embeddings=False,
        pad_token_id=0,
        initializer_range=0.03,
    )
    config.save_pretrained(tmp_path / "cfg")
    return transformers, config, tmp_path / "cfg" / "config.json"


def test_transformers_rules_equal_init_config(tmp_path, llama):
    transformers, config, path = llama
    with torch.device("meta"):
        model = transformers.LlamaForCausalLM(config)
    model.to_empty(device="cpu")
    init.init_module_(model, seed=3, rules="transformers")
    run_cli("init", "--model", path, "--seed", 3, "--device", "cpu", "--dtype", "f32", "--out", tmp_path / "cfg.safetensors")
    theirs = read_safetensors(tmp_path / "cfg.safetensors")
    ours = state(model)
    assert set(theirs) == set(ours)
    for name, (_, _, data) in theirs.items():
        assert ours[name] == data, name
    assert not model.model.embed_tokens.weight[0].any(), "pad_token_id's row"
    # And `init --like` of the same state_dict with transformers' rules in a rules file.
    save(model, tmp_path / "llama.safetensors")
    rules = [
        {"kind": "linear", "param": "weight", "init": {"scheme": "normal", "std": 0.03}},
        {"kind": "embedding", "param": "weight", "init": {"scheme": "normal", "std": 0.03}},
        {"kind": "norm", "param": "weight", "init": {"scheme": "ones"}},
    ]
    (tmp_path / "rules.json").write_text(json.dumps(rules))
    out = tmp_path / "like.safetensors"
    run_cli("init", "--like", tmp_path / "llama.safetensors", "--rules", tmp_path / "rules.json", "--seed", 3, "--device", "cpu", "--out", out)
    like = read_safetensors(out)
    for name, (_, _, data) in like.items():
        if name != "model.embed_tokens.weight":  # --like knows no padding row
            assert ours[name] == data, name


def test_transformers_model_runs_after_meta_init(llama):
    transformers, config, _ = llama
    eager = transformers.LlamaForCausalLM(config)
    with torch.device("meta"):
        model = transformers.LlamaForCausalLM(config)
    model.to_empty(device="cpu")
    init.init_module_(model, seed=3, rules="transformers")
    rotary = model.model.rotary_emb
    assert torch.equal(rotary.inv_freq, eager.model.rotary_emb.inv_freq), "rotary buffers recomputed"
    ids = torch.tensor([[1, 5, 9, 2]])
    logits = model(ids).logits
    assert torch.isfinite(logits).all()
    # The std is the config's initializer_range.
    w = model.model.layers[0].mlp.up_proj.weight
    assert abs(w.std().item() - 0.03) < 0.03 * 0.05


def test_tied_embeddings_are_tied_again(tmp_path, llama):
    transformers, config, _ = llama
    config.tie_word_embeddings = True
    config.save_pretrained(tmp_path / "tied")
    with torch.device("meta"):
        model = transformers.LlamaForCausalLM(config)
    model.to_empty(device="cpu")
    assert model.lm_head.weight is not model.model.embed_tokens.weight, "to_empty unties (PyTorch)"
    init.init_module_(model, seed=4, rules="transformers")
    assert model.lm_head.weight is model.model.embed_tokens.weight
    out = tmp_path / "tied.safetensors"
    run_cli("init", "--model", tmp_path / "tied" / "config.json", "--seed", 4, "--device", "cpu", "--dtype", "f32", "--out", out)
    theirs = read_safetensors(out)
    assert "lm_head.weight" not in theirs
    assert theirs["model.embed_tokens.weight"][2] == raw(model.lm_head.weight)
