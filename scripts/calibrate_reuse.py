#!/usr/bin/env python3
"""Calibrate head matching for map reuse on all-MiniLM-L6-v2 (golden/reuse/calibrate.py).

Runs the float model on the calibration sentences (scripts/data/calibration.txt, held out
from the evaluation set), measures how much each head of every layer overlaps each head of
every earlier layer, and writes golden/reuse/minilm_head_match.json: per (layer, earlier
layer) the best-matching earlier head for each head, and the mean overlaps with and without
matching. Offline (HF_HUB_OFFLINE=1); needs the eval extra.

Usage: python scripts/calibrate_reuse.py [--sentences FILE] [--out FILE]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from golden.reuse.calibrate import FORMAT, MATCH_FILE, collect_overlaps, match_heads  # noqa: E402

CALIBRATION = ROOT / "scripts" / "data" / "calibration.txt"


def calibrate(sentences_file: Path) -> dict:
    from golden import hf
    sentences = [s.strip() for s in sentences_file.read_text().splitlines() if s.strip()]
    tokenizer, model = hf.load_minilm("eager")
    overlap = collect_overlaps(model, tokenizer, sentences)
    layers = overlap.shape[0]
    match = [[list(match_heads(overlap[l, s])) for s in range(l)] for l in range(layers)]
    same = [[round(float(overlap[l, s].diagonal().mean()), 4) for s in range(l)] for l in range(layers)]
    best = [[round(float(overlap[l, s].amax(-1).mean()), 4) for s in range(l)] for l in range(layers)]
    try:
        source = sentences_file.resolve().relative_to(ROOT).as_posix()
    except ValueError:
        source = str(sentences_file)
    return {"format": FORMAT, "model": hf.MODEL_NAME, "sentences_file": source, "sentences": len(sentences),
            "metric": "1 - total variation distance per query row, mean over rows and sentences",
            "match": match, "overlap_same": same, "overlap_matched": best}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sentences", type=Path, default=CALIBRATION)
    parser.add_argument("--out", type=Path, default=MATCH_FILE)
    args = parser.parse_args(argv)
    if not args.sentences.is_file():
        print(f"calibrate_reuse.py: error: sentences file {args.sentences} does not exist.", file=sys.stderr)
        return 2
    data = calibrate(args.sentences)
    args.out.write_text(json.dumps(data, separators=(",", ":")).replace("]],", "]],\n") + "\n")
    print(f"{args.out}: head matching of {len(data['match'])} layers from {data['sentences']} sentences")
    for l, (same, best) in enumerate(zip(data["overlap_same"], data["overlap_matched"])):
        for s, (a, b) in enumerate(zip(same, best)):
            print(f"  layer {l} from layer {s}: overlap {a:.3f} same head, {b:.3f} matched")
    return 0


if __name__ == "__main__":
    sys.exit(main())
