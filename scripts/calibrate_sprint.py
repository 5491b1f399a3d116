#!/usr/bin/env python3
"""Calibrate SPRINT's theta per layer and head on all-MiniLM-L6-v2 (golden/sprint/calibrate.py).

Runs the float model on the calibration sentences (scripts/data/calibration.txt, held out from
the evaluation set) and writes golden/sprint/minilm_theta.json: for each keep fraction, the
theta of every (layer, head) and the fraction it keeps on the calibration pairs. Offline
(HF_HUB_OFFLINE=1); needs the eval extra.

Usage: python scripts/calibrate_sprint.py [--sentences FILE] [--out FILE]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from golden.sprint.calibrate import THETA_FILE, calibrate, collect_scores  # noqa: E402

CALIBRATION = ROOT / "scripts" / "data" / "calibration.txt"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sentences", type=Path, default=CALIBRATION)
    parser.add_argument("--out", type=Path, default=THETA_FILE)
    args = parser.parse_args(argv)
    if not args.sentences.is_file():
        print(f"calibrate_sprint.py: error: sentences file {args.sentences} does not exist.", file=sys.stderr)
        return 2
    from golden import hf
    from golden.sprint.hf import HF_CONFIG
    sentences = [s.strip() for s in args.sentences.read_text().splitlines() if s.strip()]
    hf.discover()
    tokenizer, model = hf.load_minilm("exact")
    data = calibrate(collect_scores(model, tokenizer, sentences, HF_CONFIG))
    try:
        source = args.sentences.resolve().relative_to(ROOT).as_posix()
    except ValueError:
        source = str(args.sentences)
    data = {**data, "model": hf.MODEL_NAME, "sentences_file": source, "sentences": len(sentences),
            "config": {k: HF_CONFIG.to_dict()[k] for k in ("msb_bits", "q_bits", "data_width")}}
    args.out.write_text(json.dumps(data, separators=(",", ":")).replace("]],", "]],\n") + "\n")
    print(f"{args.out}: theta for keep fractions {', '.join(data['theta'])} from {len(sentences)} sentences")
    return 0


if __name__ == "__main__":
    sys.exit(main())
