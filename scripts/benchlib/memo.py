"""Bench adapter of MEMO (hw/memo, docs/memo.md): a layer's signature looks up an earlier,
similar input's attention maps, which stream over AXI into the weighted sum.

MEMO spans requests, so it does not replay the captured sentences: it runs its own workload,
MEMO's recurring-request stream (scripts/data/memo_requests.txt, the preset's prefix of it),
one request per forward pass in file order, with the committed selective policy
(golden/memo/minilm_policy.json), as scripts/bench_memo.py does (:func:`bench_memo.run_memo`).
Knobs: tau (the lookup's Hamming radius, a runtime register) and E (table entries, one RTL build
each).

- Fidelity: the bit-exact golden unit in MiniLM over the requests; each request's embedding
  against ``exact``'s (:func:`benchlib.core.request_fidelity`).
- RTL: the golden run records, per (request, layer), the host's signature, the golden table's
  answer and every head's int Q/K/V; tb_memo's ``workload`` case replays them in order on the
  unit (N = :func:`benchlib.core.fit_tokens`: 16, the requests are 8-12 tokens): the lookup (answer checked
  against the golden table and the captured answer), then per head a HIT packet (stored map
  over AXI) or a COMPUTE packet (stores its map when a miss allocated); outputs exact. The
  preset's heads are replayed (0; 0 and 1 in full) and scaled to 12 like the other techniques,
  an estimate here: the policy enables heads selectively (head 0 in 5 of 6 layers, 58 of the 72
  (layer, head) pairs overall). The RTL replays about 15 packets a second.
  Cycles: each packet's ``perf.cycles`` plus, once per layer, the lookup (request to answer);
  the signature's token sum and hasher (a separate unit, verif/hasher) are not counted.
- Bytes: map bytes read over AXI (counted on the unit's read port) plus the operands streamed
  in (Q, K, V into a compute packet, V into a hit). "vs dense": the dense unit with the same
  lanes and N on the same packets (golden/dense/cycles.py, equal to its RTL).
"""

from __future__ import annotations

import json

from .core import (CACHE, PRESETS, Measured, Point, cached, dense_baseline, fit_tokens, read_requests,
                   request_fidelity, stream_bytes)

NAME = "memo"
UNIT = "memo"
DESCRIPTION = ("MEMO: per layer a signature lookup; hits take the stored maps over AXI (recurring-request "
               "stream, in order)")

#: AXI memory latency per burst in cycles (scripts/bench_memo.py's default).
AXI_LATENCY = 16
#: golden.memo.hf.HF_CONFIG's tau and E.
DEFAULT = (12, 1024)
SWEEP = {
    "ci": [DEFAULT],
    "default": [(8, 1024), DEFAULT, (12, 128)],
    "full": [(0, 1024), (4, 1024), (8, 1024), DEFAULT, (16, 1024), (24, 1024), (12, 64), (12, 128), (12, 256)],
}


def _name(tau: int, entries: int) -> str:
    return f"tau={tau} E={entries}"


def points(preset) -> list[Point]:
    return [Point(NAME, _name(tau, e), {"tau": tau, "entries": e}, (tau, e) == DEFAULT, {"tau": tau, "entries": e})
            for tau, e in SWEEP[preset.name]]


def golden_config(point: Point):
    """MEMO's MiniLM config with the point's knobs and the committed policy's mask; the head mask."""
    from bench_memo import policy_config
    from golden.memo.hf import HF_CONFIG
    return policy_config(HF_CONFIG.replace(tau=point.params["tau"], entries=point.params["entries"]))


def capture(point: Point, preset) -> dict:
    """The golden run over the preset's requests (cached): ``embeddings``, and per (request,
    layer) ``lookups`` (request, layer, n, sig, answer) and ``heads`` (int q, k, v [12, n, d],
    softmax scale register per head)."""
    texts = read_requests(preset)
    cfg, head_mask = golden_config(point)

    def run():
        from bench_memo import run_memo
        from golden import hf
        from golden.memo.model import hidden_signature
        from golden.quant import quantize, softmax_scale_tensor
        import torch
        hf.discover()
        lookups, heads = [], []

        def tap(ctx, q, k, v, softmax_scale, db):
            if q.shape[0] != 1:
                raise ValueError("the MEMO capture needs one request per forward pass.")
            event = db.events[-1]
            # The dense unit's per-head quantization, as golden.memo.model.dense_heads_int.
            (qi, sq), (ki, sk), (vi, _) = (quantize(t[0], cfg.data_width) for t in (q, k, v))
            scale = softmax_scale_tensor(sq, sk, softmax_scale)[..., 0].reshape(-1)
            lookups.append({"request": len(lookups) // ctx.num_layers, "layer": ctx.layer_idx, "n": event.n,
                            "sig": str(hidden_signature(ctx.hidden_states[0], cfg)),
                            "answer": event.lookup.as_dict(), "memo_heads": list(event.memo_heads)})
            heads.append({name: t.to(torch.int8).numpy() for name, t in (("q", qi), ("k", ki), ("v", vi))}
                         | {"scale": scale.to(torch.int64).numpy()})

        emb, _ = run_memo(texts, cfg, head_mask, f"bench-memo-tau{cfg.tau}-e{cfg.entries}", tap)
        return {"embeddings": emb.numpy(), "lookups": lookups, "heads": heads}
    return cached("memo-capture", {"texts": texts, "config": cfg.to_dict(), "head_mask": head_mask}, run, "pickle")


def fidelity(point: Point, preset) -> dict:
    return request_fidelity(preset, capture(point, preset)["embeddings"])


def fidelity_impl(point: Point) -> str:
    return f"memo {point.name}"  # measured by :func:`fidelity` on the request stream


def config(point: Point, lengths):
    from golden.memo import MemoConfig
    from golden.memo.hf import HF_CONFIG
    return MemoConfig(head_dim=HF_CONFIG.head_dim, contexts=HF_CONFIG.contexts, max_tokens=fit_tokens(lengths),
                      entries=point.params["entries"])


def measure(point: Point, workload, run_name: str) -> Measured:
    from verif.workloads import WorkloadPacket, run_rtl
    preset = PRESETS[workload.preset]
    cap = capture(point, preset)
    gcfg, head_mask = golden_config(point)
    cfg = config(point, [x["n"] for x in cap["lookups"]])
    packets = []
    for item, h in zip(cap["lookups"], cap["heads"]):
        for head in preset.heads:
            packets.append(WorkloadPacket(sentence=item["request"], layer=item["layer"], head=head, n=item["n"],
                                          q=h["q"][head].tolist(), k=h["k"][head].tolist(), v=h["v"][head].tolist(),
                                          scale=int(h["scale"][head])))
    stream = {"tau": gcfg.tau, "mask": sum(bit << c for c, bit in enumerate(gcfg.mask)), "head_mask": head_mask,
              "lookups": cap["lookups"]}
    path = CACHE / "memo-runs" / f"{run_name}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(stream))
    results = run_rtl("memo", cfg, packets, "verif.memo.tb_memo", name=run_name,
                      env={"ATTNFORGE_MEMO_STREAM": str(path), "ATTNFORGE_AXI_LATENCY": str(AXI_LATENCY)})
    expected = {(x["request"], x["layer"]): set(x["memo_heads"]) for x in cap["lookups"]}
    for r in results:
        if (r["mode"] == "hit") != (r["head"] in expected[r["sentence"], r["layer"]]):
            raise AssertionError(f"memo packet {r}: the golden model {'did not take' if r['mode'] == 'hit' else 'took'} "
                                 f"the stored map")
        r["packet_cycles"] = r["cycles"]
        r["cycles"] += r["lookup_cycles"]
        r["bytes"] = r["axi_read_bytes"] + stream_bytes(cfg, r["n"], 3 if r["mode"] == "compute" else 1)
        r.update(dense_baseline(r["n"], cfg.max_tokens))
    texts = read_requests(preset)
    heads = (f"head{'s' if len(preset.heads) > 1 else ''} {', '.join(map(str, preset.heads))} on the RTL (scaled "
             f"to 12: an estimate, the policy enables 58 of 72 (layer, head) pairs)")
    return Measured(UNIT, {**cfg.to_dict(), "tau": gcfg.tau, "mask": list(gcfg.mask), "axi_latency": AXI_LATENCY},
                    1 + cfg.ws_factor, results,
                    "map bytes read over AXI (counted on the read port) + Q, K, V streamed into compute packets, V "
                    "into hits",
                    baseline=f"the dense unit (lanes {cfg.lanes}, N={cfg.max_tokens} as this build) on the same "
                             "packets (golden/dense/cycles.py, equal to its RTL): cycles and Q, K, V streamed in",
                    workload=f"MEMO's request stream, {'all' if preset.requests is None else 'first'} {len(texts)} "
                             f"requests in order, {heads}; a pass is a request")

