"""Golden-model tests of SPRINT: config errors, macro model, recompute, bookkeeping, cycles."""

import math
import random

import pytest
import torch

from golden.attention import attention_int
from golden.config import ConfigError
from golden.dense.cycles import dense_cycles
from golden.dense import DenseConfig
from golden.sprint import SprintConfig
from golden.sprint.cycles import sprint_cycles
from golden.sprint.model import (analog_scores, bookkeeping, keep_masks, noise, sprint_float, sprint_int,
                                 sprint_quantized)
from verif.sprint.packets import memory_image, random_packet

SMALL = SprintConfig(head_dim=8, max_tokens=16, lanes=4, buffer_bytes=128, xbar_latency=4)


@pytest.mark.parametrize("changes, words", [
    ({"msb_bits": 9}, ["msb_bits=9", "data_width=8"]),
    ({"q_bits": 12}, ["q_bits=12"]),
    ({"buffer_bytes": 63}, ["buffer_bytes=63", "64"]),
    ({"reuse": "lru"}, ["reuse='lru'", "previous"]),
    ({"axi_data_width": 96}, ["axi_data_width=96", "power of two"]),
    ({"xbar_latency": 1}, ["xbar_latency=1", "2 to"]),
    ({"sigma": -1}, ["sigma=-1"]),
])
def test_invalid_config_is_one_sentence(changes, words):
    with pytest.raises(ConfigError) as info:
        SprintConfig(**changes)
    message = str(info.value)
    assert "\n" not in message and all(w in message for w in words), message


def test_derived_sizes():
    cfg = SprintConfig()
    assert (cfg.pair_bytes, cfg.slots, cfg.row_words, cfg.pair_stride) == (64, 256, 4, 64)
    assert SprintConfig(head_dim=8, lanes=4, axi_data_width=32).row_words == 2


def test_analog_scores_shift_msbs():
    cfg = SprintConfig(head_dim=2, lanes=1, max_tokens=4)
    q = torch.tensor([[127, -128]])
    k = torch.tensor([[16, -1], [-17, 0]])
    # q_hat = [7, -8]; k_msb = [[1, -1], [-2, 0]]
    assert analog_scores(q, k, cfg).tolist() == [[15, -14]]


def test_keep_fallback_takes_first_maximum():
    a = torch.tensor([[3, 9, 9, 1], [5, 5, 5, 5]])
    assert keep_masks(a, 100).int().tolist() == [[0, 1, 0, 0], [1, 0, 0, 0]]
    assert keep_masks(a, 5).int().tolist() == [[0, 1, 1, 0], [1, 1, 1, 1]]
    masked = keep_masks(a, 100, torch.tensor([True, False, True, True]))
    assert masked.int().tolist() == [[0, 0, 1, 0], [1, 0, 0, 0]]


def test_noise_range_and_reproducible():
    cfg = SMALL.replace(sigma=20)
    n = noise(cfg, 40, 16)
    assert n.min() >= -20 and n.max() < 20 and n.float().std() > 5
    assert torch.equal(n, noise(cfg, 40, 16))
    assert not torch.equal(n, noise(cfg.replace(seed=2), 40, 16))
    assert noise(SMALL, 3, 3).abs().sum() == 0


def test_all_survive_equals_dense():
    r = random.Random(1)
    p = random_packet(SMALL, r, n=16)
    out = sprint_int(p.q, p.k, p.v, p.scale, SMALL.theta_min, SMALL)
    t = lambda x: torch.tensor(x)
    dense = attention_int(t(p.q), t(p.k), t(p.v), t(p.scale), SMALL.formats)
    assert torch.equal(out, dense)


def test_recompute_over_survivors_only():
    r = random.Random(2)
    p = random_packet(SMALL, r, n=12, fraction=0.3)
    res = sprint_int(p.q, p.k, p.v, p.scale, p.theta, SMALL, return_all=True)
    for i, row in enumerate(res["keep"]):
        idx = row.nonzero().flatten()
        want = attention_int(torch.tensor(p.q[i:i + 1]), torch.tensor(p.k)[idx], torch.tensor(p.v)[idx],
                             torch.tensor(p.scale[i:i + 1]), SMALL.formats)
        assert torch.equal(res["out"][i:i + 1], want)
    assert 0 < res["keep"].float().mean() < 1


def test_quantized_batch_matches_per_head_model():
    torch.manual_seed(0)
    cfg = SMALL.replace(sigma=6)
    q, k, v = (torch.randn(2, 3, 10, 8) for _ in range(3))
    theta = torch.tensor([[0, 10, -5], [3, 3, 3]])
    _, ints = sprint_quantized(q, k, v, theta, cfg)
    for b in range(2):
        for h in range(3):
            res = sprint_int(ints["q"][b, h], ints["k"][b, h], ints["v"][b, h], int(ints["scale"][b, h, 0]),
                             int(theta[b, h]), cfg, return_all=True)
            assert torch.equal(res["out"], ints["out"][b, h])
            assert torch.equal(res["keep"], ints["keep"][b, h])


def test_float_model_with_everything_kept_is_exact_attention():
    torch.manual_seed(1)
    q, k, v = (torch.randn(4, 8) for _ in range(3))
    keep = torch.ones(4, 4, dtype=torch.bool)
    ref = torch.nn.functional.scaled_dot_product_attention(q[None], k[None], v[None])[0]
    assert torch.allclose(sprint_float(q, k, v, keep), ref, atol=1e-6)


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("leave", [0.0, 0.1, 0.5])
def test_oracle_keeps_the_fewest_largest_keys_holding_the_mass(seed, leave):
    from golden.sprint.oracle import key_coverage, oracle_keep
    g = torch.Generator().manual_seed(seed)
    q, k = torch.randn(2, 3, 12, 8, generator=g) * 2, torch.randn(2, 3, 10, 8, generator=g) * 2
    key_mask = torch.ones(2, 10, dtype=torch.bool)
    key_mask[1, 7:] = False
    keep = oracle_keep(q, k, leave, key_mask=key_mask.unsqueeze(1), softmax_scale=0.5)
    logits = (q @ k.transpose(-1, -2) * 0.5).masked_fill(~key_mask[:, None, None, :], float("-inf"))
    p = torch.softmax(logits, dim=-1)
    kept_mass = (p * keep).sum(-1)
    smallest_kept = p.masked_fill(~keep, 2.0).amin(-1)
    largest_dropped = p.masked_fill(keep, -1.0).amax(-1)
    where = f"seed={seed} leave={leave}"
    assert not keep[1, ..., 7:].any(), where
    assert (kept_mass >= 1 - leave - 1e-6).all(), where
    assert (smallest_kept >= largest_dropped).all(), where  # largest first
    # the fewest: without its smallest kept key, a row holding more than one falls short
    assert ((kept_mass - smallest_kept < 1 - leave + 1e-6) | (keep.sum(-1) == 1)).all(), where
    uniform = oracle_keep(torch.zeros_like(q), k, leave, key_mask=key_mask.unsqueeze(1))
    assert (uniform[0].sum(-1) == math.ceil(10 * (1 - leave) - 1e-9)).all(), where
    assert key_coverage(uniform[0, 0], 10) == math.ceil(10 * (1 - leave) - 1e-9) / 10, where
    with pytest.raises(ValueError, match="leave=1"):
        oracle_keep(q, k, 1.0)
    # the golden.hf implementation: the same keep set, and float attention over it alone
    from types import SimpleNamespace
    from golden.sprint.oracle import oracle_attention
    v, ctx = torch.randn(2, 3, 10, 8, generator=g), SimpleNamespace(record={})
    out = oracle_attention(q, k, v, key_mask.unsqueeze(1), 0.5, ctx, leave=leave)
    assert torch.equal(ctx.record["ints"]["keep"], keep), where
    reference = torch.softmax(logits.masked_fill(~keep, float("-inf")), dim=-1) @ v
    assert torch.allclose(out, reference, atol=1e-6), where


def test_bookkeeping_previous_and_all_policies():
    keep = torch.tensor([[1, 1, 0, 0], [0, 1, 1, 0], [1, 1, 1, 0]], dtype=torch.bool)
    big = SMALL  # 8 slots >= 4 tokens
    prev = bookkeeping(keep, big)
    assert prev.per_query == [(2, 0), (1, 1), (1, 2)]  # token 0 dropped by query 1: fetched again
    every = bookkeeping(keep, big.replace(reuse="all"))
    assert every.per_query == [(2, 0), (1, 1), (0, 3)]


def test_bookkeeping_slot_collisions():
    cfg = SMALL.replace(buffer_bytes=32)  # 2 slots: token j in slot j % 2
    keep = torch.tensor([[1, 1, 1, 1], [1, 1, 1, 1]], dtype=torch.bool)
    book = bookkeeping(keep, cfg)
    # query 0 leaves tokens 2, 3 in the slots; query 1 finds 0 and 1 evicted, then refetches 2, 3
    assert book.per_query == [(4, 0), (4, 0)]
    assert bookkeeping(keep, cfg.replace(buffer_bytes=128)).per_query == [(4, 0), (0, 4)]


def test_memory_image_layout():
    cfg = SMALL.replace(axi_data_width=32)
    p = random_packet(cfg, random.Random(3), n=2)
    image = memory_image(cfg, p)
    assert len(image) == 2 * cfg.pair_stride
    assert list(image[:8]) == [x & 0xFF for x in p.k[0]]
    assert list(image[8:16]) == [x & 0xFF for x in p.v[0]]


def test_cycle_model_counts_and_trends():
    r = random.Random(4)
    cfg = SprintConfig(max_tokens=64)
    p = random_packet(cfg, r, n=64, n_queries=64)
    few = sprint_int(p.q, p.k, p.v, p.scale, cfg.theta_max, cfg, return_all=True)
    many = sprint_int(p.q, p.k, p.v, p.scale, cfg.theta_min, cfg, return_all=True)
    c_few = sprint_cycles(cfg, few["keep"].tolist(), n_keys=64, latency=5)
    c_many = sprint_cycles(cfg, many["keep"].tolist(), n_keys=64, latency=5)
    assert c_few.mac_cycles == 2 * 64 * cfg.chunks and c_many.mac_cycles == 2 * 64 * 64 * cfg.chunks
    assert c_few.cycles < c_many.cycles
    # everything kept and reused: within 25% of the dense pipeline after the first query's
    # fetches. SPRINT runs each query as a packet of its own through the stages, so every query
    # pays their fill latency, which grew with the Fmax pipelining (was within 15% before).
    dense = dense_cycles(DenseConfig(max_tokens=64), 64, 64).cycles
    assert c_many.cycles < 1.25 * dense + 64 * 8 + 100, (c_many.cycles, dense)
    assert (c_many.fetched, c_many.reused) == (64, 63 * 64)


def test_macro_blackbox_has_the_ports_and_no_body(tmp_path):
    from gen.emit import emit_unit
    from hw.units import get_unit
    art = emit_unit(get_unit("reram_macro"), SMALL, tmp_path, blackbox=True)
    text = art.verilog.read_text()
    assert "(* blackbox *)" in text and "assign" not in text and "always" not in text
    for name in ("clk", "rst", "k__payload", "q__valid", "mask__payload", "theta", "theta_we", "n_keys"):
        assert f" {name}" in text, name
    assert "[15:0] mask__payload" not in text and "[16:0] mask__payload" in text  # N keep bits + last


def test_units_registered():
    from hw.units import all_units
    units = all_units()
    assert units["sprint"].config is SprintConfig and units["reram_macro"].blackbox is not None
