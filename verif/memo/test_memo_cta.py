"""Golden model of MEMO in front of CTA (golden/memo/cta.py): a hit equals MEMO's hit path, a
miss equals CTA's bit-exact output, and the record receives the CTA-expanded map."""

from __future__ import annotations

import pytest
import torch

from golden.config import ConfigError
from golden.cta import CtaConfig, cta_quantized
from golden.memo import MemoConfig, MemoDatabase, memo_layer_int
from golden.memo.cta import expanded_map, memo_cta_layer_int
from golden.cta.model import cta_int_head

MEMO = MemoConfig(sig_bits=8, entries=16, ways=4, tau=2, contexts=2, max_tokens=16, head_dim=8, lanes=4)
CTA = CtaConfig(head_dim=8, max_tokens=16, lanes=4, compress="both", hash_bits=3, max_clusters=4)
HEADS, N = 3, 12


def _qkv(seed):
    g = torch.Generator().manual_seed(seed)
    return [torch.randn(HEADS, N, 8, generator=g) for _ in range(3)]


@pytest.mark.parametrize("compress", ["both", "keys", "queries"])
def test_miss_equals_cta_bit_exact_and_stores_expanded_map(compress):
    cta = CTA.replace(compress=compress)
    q, k, v = _qkv(1)
    db = MemoDatabase(MEMO)
    out = memo_cta_layer_int(q, k, v, 0x5A, 0, db, [1] * HEADS, cta)
    ref, _ = cta_quantized(q.unsqueeze(0), k.unsqueeze(0), v.unsqueeze(0), cta)
    assert torch.equal(out, ref[0])
    e = db.events[-1]
    assert not e.lookup.hit and e.lookup.alloc and e.memo_heads == () and len(e.clusters) == HEADS
    maps = db.records[e.lookup.ptr]
    assert maps.shape == (HEADS, N, N)
    one = 1 << MEMO.formats.prob_frac
    # Rows of the expanded map sum to about one (rounding of p_c / n_c per member key).
    assert (maps.sum(-1) - one).abs().max() <= N


def test_expanded_map_spreads_cluster_probability_over_members():
    g = torch.Generator().manual_seed(3)
    qi, ki, vi = (torch.randint(-128, 128, (N, 8), generator=g) for _ in range(3))
    _, info = cta_int_head(qi, ki, vi, 1 << 28, CTA, return_info=True)
    m = expanded_map(info["probs"], info["keys"], info["queries"])
    kc, qc = info["keys"], info["queries"]
    for i in range(N):
        for j in range(N):
            p, c = int(info["probs"][qc.ids[i], kc.ids[j]]), kc.counts[kc.ids[j]]
            assert int(m[i, j]) == (2 * p + c) // (2 * c)


def test_hit_equals_memo_hit_path_and_other_heads_run_cta():
    q, k, v = _qkv(2)
    stored = torch.randint(0, 1 << MEMO.formats.prob_frac, (HEADS, N, N))
    mask = [1, 0, 1]
    dbs = [MemoDatabase(MEMO), MemoDatabase(MEMO)]
    for db in dbs:  # allocate the entry, then seed its record with the same maps
        a, _ = db.lookup(0x33, N, 1)
        db.store(a.ptr, stored.clone())
    q2, k2, v2 = _qkv(5)  # other tokens, same signature: the hit takes the stored maps
    out = memo_cta_layer_int(q2, k2, v2, 0x33, 1, dbs[0], mask, CTA)
    ref = memo_layer_int(q2, k2, v2, 0x33, 1, dbs[1], mask)
    e = dbs[0].events[-1]
    assert e.lookup.hit and e.memo_heads == (0, 2) and len(e.clusters) == 1
    for h in (0, 2):
        assert torch.equal(out[h], ref[h])
    cta, _ = cta_quantized(q2.unsqueeze(0), k2.unsqueeze(0), v2.unsqueeze(0), CTA)
    assert torch.equal(out[1], cta[0, 1])


def test_second_request_hits_the_cta_expanded_record():
    q, k, v = _qkv(4)
    db = MemoDatabase(MEMO)
    memo_cta_layer_int(q, k, v, 0x11, 0, db, [1] * HEADS, CTA)
    maps = db.records[db.events[-1].lookup.ptr].clone()
    out = memo_cta_layer_int(q, k, v, 0x11, 0, db, [1] * HEADS, CTA)
    assert db.events[-1].lookup.hit and db.events[-1].clusters == ()
    ref = memo_layer_int(q, k, v, 0x11, 0, _seeded(maps, 0x11, 0), [1] * HEADS)
    assert torch.equal(out, ref)
    # The same request through the expanded map stays close to CTA's own output.
    cta, _ = cta_quantized(q.unsqueeze(0), k.unsqueeze(0), v.unsqueeze(0), CTA)
    assert torch.allclose(out, cta[0], atol=0.1 * float(v.abs().max()))


def _seeded(maps, sig, ctx):
    db = MemoDatabase(MEMO)
    a, _ = db.lookup(sig, N, ctx)
    db.store(a.ptr, maps)
    return db


def test_mismatched_configs_are_one_sentence_errors():
    with pytest.raises(ConfigError, match="same max_tokens"):
        memo_cta_layer_int(*_qkv(1), 1, 0, MemoDatabase(MEMO), [1] * HEADS, CTA.replace(max_tokens=32))
