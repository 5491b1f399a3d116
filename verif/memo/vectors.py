"""Golden vectors of the MEMO unit's lookup engine: one file is a sequence of lookups on a
cleared table after one register write (tau, mask), with every answer and the cycle count of
the back-to-back run (lookups + LOOKUP_LATENCY). They run on the ``memo`` unit's lookup ports (the engine
inside it is the ``memo_lookup`` unit, which verif/memo/tb_memo_lookup.py tests alone)."""

from __future__ import annotations

import random

from golden.memo import MemoConfig, MemoTable
from golden.memo.cycles import lookup_cycles
from verif.vectors import FORMAT, VectorError

__all__ = ["CONFIGS", "generate", "check"]

UNIT = "memo"
#: Both configs also run in verif/memo/test_rtl.py (MEMO_CONFIGS: no extra build).
CONFIGS = {"small": MemoConfig(head_dim=8, max_tokens=16, lanes=4, heads=2, sig_bits=8, entries=16, ways=4, tau=2,
                               contexts=3, max_burst=4),
           "d32": MemoConfig(max_tokens=32, heads=2, entries=64)}
SEED = 2027


def _vector(name, cfg, tau, mask, lookups, seed):
    table = MemoTable(cfg)
    table.write_registers(tau, mask)
    answers = [table.lookup(*x).as_dict() for x in lookups]
    return {"format": FORMAT, "unit": UNIT, "name": name, "seed": seed, "config": cfg.to_dict(),
            "inputs": {"tau": tau, "mask": mask, "lookups": [list(x) for x in lookups]},
            "expected": {"answers": answers, "cycles": lookup_cycles(len(lookups))}}


def _near(r, cfg, pool, count, lengths, contexts):
    out = []
    for _ in range(count):
        sig = r.choice(pool)
        for _ in range(r.choice([0, 1, 2, cfg.sig_bits // 3])):
            sig ^= 1 << r.randrange(cfg.sig_bits)
        out.append((sig, r.choice(lengths), r.randrange(contexts)))
    return out


def generate() -> list[dict]:
    vectors = []
    small, default = CONFIGS["small"], CONFIGS["d32"]
    r = random.Random(SEED)
    pool = [r.getrandbits(8) for _ in range(10)]
    vectors.append(_vector("small-random", small, 2, 0b011, _near(r, small, pool, 80, [1, 2, 16], 4), SEED))
    same = r.getrandbits(8)
    vectors.append(_vector("small-all-equal", small, 0, 0b111, [(same, 3, 0)] * 12, SEED))
    low = same & 3
    fill = [((r.getrandbits(8) >> 2) << 2 | low, 1, 0) for _ in range(12)]
    vectors.append(_vector("small-full-set", small, 0, 0b001, fill + fill[::-1], SEED))
    vectors.append(_vector("small-tau-s", small, 8, 0b111, [(same, 1, 0), (same ^ 0xFF, 1, 0), (same, 2, 0),
                                                           (same ^ 0x0F, 2, 0), (same, 1, 1)], SEED))
    r = random.Random(SEED + 1)
    pool = [r.getrandbits(64) for _ in range(300)]
    vectors.append(_vector("d32-random", default, 12, 0b111101,
                           _near(r, default, pool, 400, [16, 17, 31, 32], 6), SEED + 1))
    return vectors


def check(vector: dict, cfg: MemoConfig, path) -> None:
    inputs, expected = vector["inputs"], vector["expected"]
    for key in ("tau", "mask", "lookups"):
        if key not in inputs:
            raise VectorError(f"{path}: inputs.{key} is missing.")
    if not isinstance(inputs["tau"], int) or not 0 <= inputs["tau"] <= cfg.sig_bits:
        raise VectorError(f"{path}: inputs.tau must be an integer 0 to {cfg.sig_bits}.")
    if not isinstance(inputs["mask"], int) or not 0 <= inputs["mask"] < (1 << cfg.contexts):
        raise VectorError(f"{path}: inputs.mask must be an integer of {cfg.contexts} bits.")
    lookups = inputs["lookups"]
    if not isinstance(lookups, list) or not lookups:
        raise VectorError(f"{path}: inputs.lookups must be a non-empty list of [sig, length, ctx].")
    for i, x in enumerate(lookups):
        if (not isinstance(x, list) or len(x) != 3 or any(isinstance(v, bool) or not isinstance(v, int) for v in x)
                or not 0 <= x[0] < (1 << cfg.sig_bits) or not 0 <= x[1] <= cfg.max_tokens
                or not 0 <= x[2] < (1 << cfg.ctx_bits)):
            raise VectorError(f"{path}: inputs.lookups[{i}] must be [sig, length, ctx] within the config's widths.")
    answers = expected.get("answers")
    if not isinstance(answers, list) or len(answers) != len(lookups):
        raise VectorError(f"{path}: expected.answers must hold one answer per lookup.")
    keys = {"hit", "dist", "ptr", "alloc", "evict"}
    for i, a in enumerate(answers):
        if not isinstance(a, dict) or set(a) != keys:
            raise VectorError(f"{path}: expected.answers[{i}] must have the fields {', '.join(sorted(keys))}.")
