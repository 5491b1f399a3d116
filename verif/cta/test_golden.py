"""Golden models of the CTA engine: clustering rules, float and integer models, cycle model, configs."""

from __future__ import annotations

import math
import random

import pytest
import torch

from golden.attention import attention_float, attention_int
from golden.config import ConfigError
from golden.cta import CtaConfig, cluster_ids, cta_float, cta_int, cta_quantized, log2_bias
from golden.cta.cycles import cta_cycles
from golden.cta.model import cta_int_head
from golden.dense.cycles import dense_cycles
from golden.dense import DenseConfig

from .packets import case_packets, clustered_packet, distinct_tokens, expected

SEED = 77
SMALL = CtaConfig(head_dim=8, max_tokens=16, lanes=4, hash_bits=4, max_clusters=6)


# --- clustering ------------------------------------------------------------------------------

def test_clusters_first_appearance_order():
    c = cluster_ids([5, 3, 5, 9, 3], 8)
    assert c.ids == (0, 1, 0, 2, 1) and c.counts == (2, 2, 1) and c.hashes == (5, 3, 9)


def test_nearest_hash_rule_beyond_c():
    # open 0b0000, 0b0011; 0b0001 is 1 away from both: lowest cluster wins; 0b0111 nearest 0b0011
    c = cluster_ids([0b0000, 0b0011, 0b0001, 0b0111, 0b0011], 2)
    assert c.ids == (0, 1, 0, 1, 1) and c.counts == (2, 3)


def test_int_centroids_round_half_up():
    cfg = SMALL.replace(compress="keys")
    k = torch.tensor([[1] * 8, [2] * 8, [-3] * 8, [-4] * 8])
    # make all four one cluster: same hash needs same sign pattern; use scaled copies
    k = torch.tensor([[1] * 8, [2] * 8, [3] * 8, [4] * 8])
    from golden.cta.model import centroids_int, cluster_tokens
    cl = cluster_tokens(k, cfg)
    assert cl.n == 1
    assert centroids_int(k, cl).tolist() == [[3] * 8]  # 10/4 = 2.5 -> 3
    cl2 = cluster_tokens(-k, cfg)
    assert centroids_int(-k, cl2).tolist() == [[-2] * 8]  # -2.5 -> -2 (half up)


def test_log2_bias_lut():
    b = log2_bias([1, 2, 4, 3], SMALL).tolist()
    x = SMALL.exp_lut_bits
    assert b == [0, 1 << x, 2 << x, round(math.log2(3) * (1 << x))]


# --- the hardware's centroid division (golden.cta.divide) -------------------------------------

def _spec_centroid(s_biased, n, w):
    s = s_biased - n * (1 << (w - 1))
    return torch.div(2 * s + n, 2 * n, rounding_mode="floor")


@pytest.mark.parametrize("w, n_max", [(8, 128), (4, 16), (2, 9), (3, 1)])
def test_centroid_divide_exhaustive(w, n_max):
    """Every count n <= N and every biased sum S' in [0, n (2^W - 1)]: the restoring division on
    S' + floor(n/2) equals floor((2 S + n) / (2 n)) (the default config is (8, 128))."""
    from golden.cta.divide import centroid_divide
    for n in range(1, n_max + 1):
        s = torch.arange(0, n * ((1 << w) - 1) + 1, dtype=torch.int64)
        got = centroid_divide(s, n, w)
        want = _spec_centroid(s, n, w)
        assert torch.equal(got, want), f"w={w} n={n}: first mismatch at S'={s[(got != want).nonzero()[0]].item()}"
        assert got.min() >= -(1 << (w - 1)) and got.max() < (1 << (w - 1))


@pytest.mark.parametrize("w, n_max", [(16, 4096), (8, 4096), (12, 1000)])
def test_centroid_divide_extremes(w, n_max):
    """The widest configs: every n, the numerator's extremes and the values around every
    rounding step near them."""
    from golden.cta.divide import centroid_divide
    n = torch.arange(1, n_max + 1, dtype=torch.int64)
    top = n * ((1 << w) - 1)
    for s in (torch.zeros_like(n), torch.ones_like(n).minimum(top), top, top - 1, top - n // 2, top - (n + 1) // 2,
              n // 2, (n + 1) // 2, n * (1 << (w - 1)) - n // 2, n * (1 << (w - 1)) + (n - 1) // 2):
        s = s.clamp(min=0).minimum(top)
        assert torch.equal(centroid_divide(s, n, w), _spec_centroid(s, n, w))


def test_centroid_divide_int():
    from golden.cta.divide import centroid_divide
    # 4 members summing to 10 (biased by 4 * 128): 2.5 -> 3; to -10: -2.5 -> -2
    assert centroid_divide(10 + 512, 4, 8) == 3 and centroid_divide(-10 + 512, 4, 8) == -2


# --- float model ------------------------------------------------------------------------------

@pytest.mark.parametrize("compress", ["keys", "queries", "both"])
def test_float_identical_members_equal_exact(compress):
    """Clusters of identical tokens: CTA equals exact attention (the ln n_c bias)."""
    g = torch.Generator().manual_seed(SEED)
    cfg = CtaConfig(head_dim=16, max_tokens=64, lanes=4, hash_bits=16, max_clusters=64, compress=compress)
    protos_k = torch.randn(5, 16, generator=g)
    protos_q = torch.randn(4, 16, generator=g)
    pick_k = torch.randint(0, 5, (40,), generator=g)
    k = protos_k[pick_k]
    v = torch.randn(5, 16, generator=g)[pick_k]   # values equal within a key cluster
    q = protos_q[torch.randint(0, 4, (30,), generator=g)]
    torch.testing.assert_close(cta_float(q, k, v, cfg), attention_float(q, k, v), rtol=1e-5, atol=1e-6)


def test_float_padding_ignores_padded_tokens():
    g = torch.Generator().manual_seed(SEED)
    cfg = CtaConfig(head_dim=8, max_tokens=32, lanes=4, hash_bits=3, max_clusters=4)
    q, k, v = (torch.randn(1, 2, 12, 8, generator=g) for _ in range(3))
    mask = torch.zeros(1, 2, 12, dtype=torch.bool)
    mask[..., :9] = True
    full = cta_float(q, k, v, cfg, key_mask=mask)
    short = cta_float(q[..., :9, :], k[..., :9, :], v[..., :9, :], cfg)
    torch.testing.assert_close(full[..., :9, :], short)


@pytest.mark.parametrize("seed", range(3))
def test_kmeans_reference_finds_separated_groups_and_is_exact_on_them(seed):
    """golden/cta/oracle.py: k-means with as many clusters as well-separated groups recovers the
    groups (numbered in first-appearance order), and CTA on them is exact attention."""
    from golden.cta.oracle import kmeans_attention, kmeans_clusters
    g = torch.Generator().manual_seed(seed)
    protos = torch.randn(4, 16, generator=g) * 10
    pick = torch.randint(0, 4, (40,), generator=g)
    pick[:4] = torch.arange(4)  # every group present
    x = protos[pick] + 0.01 * torch.randn(40, 16, generator=g)
    c = kmeans_clusters(x, 4, seed=seed)
    first = {}
    expected = [first.setdefault(int(p), len(first)) for p in pick]
    assert list(c.ids) == expected and sum(c.counts) == 40, f"seed={seed}"
    assert kmeans_clusters(x, 99).n <= 40
    k, v = protos[pick], torch.randn(4, 16, generator=g)[pick]  # values equal within a cluster
    q = torch.randn(4, 16, generator=g)[pick]

    class Ctx:
        record = {}
    out = kmeans_attention(q[None, None], k[None, None], v[None, None], None, None, Ctx, ratio=10)
    torch.testing.assert_close(out[0, 0], attention_float(q, k, v), rtol=1e-5, atol=1e-5)
    assert Ctx.record["pairs"] == (16, 1600), f"seed={seed}"


# --- integer model ----------------------------------------------------------------------------

def test_int_no_compression_equals_dense_when_every_token_is_its_own_cluster():
    rng = random.Random(SEED)
    cfg = SMALL.replace(hash_bits=8, max_clusters=12)
    k = torch.tensor(distinct_tokens(cfg, rng, 12))
    q = torch.tensor(distinct_tokens(cfg, rng, 12))
    v = torch.randint(-128, 128, (12, 8))
    scale = torch.full((12,), 1 << 20)
    assert torch.equal(cta_int_head(q, k, v, scale, cfg), attention_int(q, k, v, scale, cfg.formats))


def test_int_one_cluster_equals_dense():
    cfg = SMALL
    tok = torch.randint(-128, 128, (1, 8), generator=torch.Generator().manual_seed(3))
    k = tok.expand(7, 8)
    v = torch.randint(-128, 128, (1, 8)).expand(7, 8)
    q = tok.expand(5, 8)
    scale = torch.full((5,), 1 << 22)
    out = cta_int_head(q, k, v, scale, cfg)
    assert torch.equal(out, attention_int(q, k, v, scale, cfg.formats))


def test_int_padding_equals_truncated_packet():
    rng = random.Random(SEED)
    p = clustered_packet(SMALL, rng, 16, 3)
    t = lambda x: torch.tensor(x)
    mask = torch.tensor([True] * 11 + [False] * 5)
    full = cta_int(t(p.q), t(p.k), t(p.v), t(p.scale), SMALL, key_mask=mask)
    short = cta_int_head(t(p.q[:11]), t(p.k[:11]), t(p.v[:11]), t(p.scale[:11]), SMALL)
    assert torch.equal(full[:11], short) and not full[11:].any()


def test_int_close_to_float():
    """The integer engine tracks the float CTA model on clustered data (loosely: int8 outputs
    of averaged values are coarse, and a few hashes flip under quantization)."""
    g = torch.Generator().manual_seed(SEED)
    cfg = CtaConfig(head_dim=32, max_tokens=64, hash_bits=8, max_clusters=32)
    protos = torch.randn(6, 32, generator=g)
    x = protos[torch.randint(0, 6, (48,), generator=g)] + 0.01 * torch.randn(48, 32, generator=g)
    v = torch.randn(48, 32, generator=g)
    out, _ = cta_quantized(x, x, v, cfg)
    ref = cta_float(x, x, v, cfg)
    assert torch.nn.functional.cosine_similarity(out.flatten(), ref.flatten(), dim=0) > 0.9


# --- cycle model ------------------------------------------------------------------------------

def test_cycles_unclustered_keys_and_queries_match_dense_plus_nothing():
    """compress=keys with every key its own cluster costs the hashing front end more than dense."""
    cfg = CtaConfig(compress="keys")
    dense = dense_cycles(DenseConfig(), 32, 32).cycles
    assert cta_cycles(cfg, 32, 32, 32, 32).cycles > dense
    assert cta_cycles(cfg, 32, 32, 4, 32).cycles < dense


def test_cycles_fewer_clusters_fewer_cycles():
    cfg = CtaConfig()
    a = cta_cycles(cfg, 100, 100, 30, 30)
    b = cta_cycles(cfg, 100, 100, 10, 10)
    assert b.cycles < a.cycles and b.mac_cycles == 2 * 10 * 10 * cfg.chunks


def test_cluster_pipeline_latency():
    """The clustering unit's latencies follow its stages (golden.cta.cycles)."""
    from golden.cta.cycles import SUMS_STAGES, EMIT_READ_STAGES, cluster_cycles, decide_latency, emit_latency
    cfg = CtaConfig()   # H=8: one distance stage; C=32: 5 argmin stages; W=8 division stages
    assert decide_latency(cfg) == 1 + 5 + 1
    assert emit_latency(cfg) == decide_latency(cfg) + SUMS_STAGES + EMIT_READ_STAGES + 8 + 1
    assert decide_latency(cfg.replace(max_clusters=1)) == 2
    assert decide_latency(cfg.replace(hash_bits=16, max_clusters=100)) == 2 + 7 + 1
    from golden.timing import hasher_latency
    assert cluster_cycles(cfg, 10, 3) == 10 * cfg.chunks + hasher_latency(cfg.lanes) + emit_latency(cfg) + 3


def test_case_packets_cover_the_issue():
    names = {p.name for p in case_packets(SMALL, random.Random(1))}
    assert {"one_cluster", "own_clusters", "over_c", "n1", "nN"} <= names
    for p in case_packets(SMALL, random.Random(1)):
        _, info = expected(SMALL, p)
        assert info["keys"].n <= SMALL.max_clusters and info["queries"].n <= SMALL.max_clusters


# --- configs ----------------------------------------------------------------------------------

@pytest.mark.parametrize("fields, text", [
    ({"hash_bits": 0}, "hash_bits=0 is out of range"),
    ({"max_clusters": 200}, "max_clusters=200 exceeds max_tokens=128"),
    ({"lanes": 5}, "lanes=5 does not fit head_dim=32"),
    ({"compress": "values"}, "compress='values' is not allowed"),
])
def test_invalid_configs(fields, text):
    with pytest.raises(ConfigError, match=text):
        CtaConfig(**fields)
