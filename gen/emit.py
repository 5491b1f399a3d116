"""Turn a unit and its config into Verilog plus the files a flow needs around it."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from amaranth.back import verilog
from amaranth.lib import wiring

__all__ = ["Artifacts", "emit_unit", "artifacts_in", "port_list", "verilog_text", "compact_zero_init", "core_text"]


@dataclass(frozen=True)
class Artifacts:
    """Members: ``verilog`` (the .v), ``filelist`` (.f), ``manifest`` (.json: config, ports),
    ``core`` (.core: FuseSoC CAPI2 description of the .v), ``waivers`` (.vlt: Verilator
    waivers for Yosys-written constructs, used by the core's lint target)."""

    verilog: Path
    filelist: Path
    manifest: Path
    core: Path
    waivers: Path


#: Verilator waivers for constructs Yosys writes (each with its reason); copied next to each .v.
WAIVERS = Path(__file__).resolve().parent.parent / "verif" / "lint" / "waivers.vlt"

# Yosys writes a memory's initial contents as one assignment per word, even when every word is
# zero (Amaranth's ``init=[]``): a 196,608-word map buffer becomes 196,608 lines. The block is
# rewritten as an equivalent loop when every word is zero; other contents are kept as written.
_NAME = r"(?:\\\S+ |[A-Za-z_][\w$]*)"   # a plain or an escaped (ends at a space) identifier
_INIT_BLOCK = re.compile(r"^  initial begin\n((?:    " + _NAME + r"\[\d+\] = \d+'h[0-9a-fA-F]+;\n)+)  end\n", re.M)
_INIT_LINE = re.compile(r"^    (" + _NAME + r")\[(\d+)\] = (\d+)'h([0-9a-fA-F]+);$")


def compact_zero_init(text: str) -> str:
    """Replace each all-zero memory initialisation block of Yosys output with a loop."""
    count = 0

    def repl(match):
        nonlocal count
        lines = match.group(1).splitlines()
        parsed = [_INIT_LINE.match(line).groups() for line in lines]
        names = {name for name, _, _, _ in parsed}
        if (len(names) != 1 or any(int(value, 16) for _, _, _, value in parsed)
                or [int(i) for _, i, _, _ in parsed] != list(range(len(parsed)))):
            return match.group(0)
        name, _, width, _ = parsed[0]
        block, count = f"zero_init_{count}", count + 1
        return (f"  initial begin : {block}\n    integer i;\n"
                f"    for (i = 0; i < {len(parsed)}; i = i + 1)\n"
                f"      {name}[i] = {width}'h0;\n  end\n")

    return _INIT_BLOCK.sub(repl, text)


def core_text(name: str, unit_name: str, summary: str, version: str, dsp: str = "generic") -> str:
    """A FuseSoC CAPI2 core for ``<name>.v`` (VLNV ``attnforge:unit:<name>:<version>``). The
    ``--dsp ecp5`` form has no lint target: its MULT18X18D cells are defined by the ECP5 cell
    library of the synthesis tool, which a lint run does not read."""
    quoted = summary.replace('"', "'") + (" (MULT18X18D multipliers: ECP5 only)" if dsp == "ecp5" else "")
    lint = (f"  lint:\n    filesets: [rtl, waivers]\n    toplevel: {name}\n    default_tool: verilator\n"
            f"    tools:\n      verilator:\n        mode: lint-only\n        verilator_options: [-Wall]\n")
    return (f"CAPI=2:\n"
            f"name: attnforge:unit:{name}:{version}\n"
            f"description: \"attnforge {unit_name}: {quoted}\"\n\n"
            f"filesets:\n  rtl:\n    files:\n      - {name}.v\n    file_type: verilogSource\n"
            f"  waivers:\n    files:\n      - {name}.vlt\n    file_type: vlt\n\n"
            f"targets:\n  default: &default\n    filesets: [rtl]\n    toplevel: {name}\n"
            + (lint if dsp == "generic" else "") +
            f"  synth:\n    <<: *default\n    default_tool: yosys\n"
            f"    tools:\n      yosys:\n        arch: ecp5\n")


def port_list(component) -> list[dict]:
    """Verilog ports of a component: name, direction, width (plus clk and rst)."""
    ports = [{"name": "clk", "direction": "input", "width": 1},
             {"name": "rst", "direction": "input", "width": 1}]
    for path, member, value in component.signature.flatten(component):
        ports.append({"name": "__".join(str(p) for p in path),
                      "direction": "input" if member.flow == wiring.In else "output",
                      "width": len(value.as_value() if hasattr(value, "as_value") else value)})
    return ports


def verilog_text(unit, cfg, name: str | None = None) -> str:
    """Verilog of ``unit`` at ``cfg``; the top module is called ``name`` (default: the unit name)."""
    return compact_zero_init(verilog.convert(unit.build(cfg), name=name or unit.name, emit_src=False))


def emit_unit(unit, cfg, out_dir: Path, name: str | None = None, blackbox: bool = False,
              dsp: str = "generic") -> Artifacts:
    """Write ``<name>.v``, ``<name>.f``, ``<name>.json``, ``<name>.core`` and ``<name>.vlt``
    into ``out_dir``. ``dsp`` names the multiplier primitive (:mod:`hw.common.dsp`): with
    ``"ecp5"`` the Verilog instantiates Lattice MULT18X18D cells (Yosys's ECP5 cell library,
    or Lattice's, resolves them)."""
    from hw.common.dsp import TARGETS
    from importlib.metadata import version
    name = name or unit.name
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    component = unit.build(cfg)
    if blackbox:
        if unit.blackbox is None:
            raise ValueError(f"unit {unit.name} has no black-box form.")
        text = unit.blackbox(cfg, name)
        component._MustUse__silence = True  # only its ports are read; Amaranth would warn it was never elaborated
    else:
        text = compact_zero_init(verilog.convert(component, name=name, platform=TARGETS[dsp], emit_src=False))
    art = artifacts_in(out_dir, name)
    art.verilog.write_text(text)
    art.filelist.write_text(f"{art.verilog.resolve()}\n")
    manifest = {
        "unit": unit.name, "top": name, "blackbox": blackbox, "dsp": dsp, "config_class": type(cfg).__name__,
        "config": cfg.to_dict(), "config_key": cfg.key, "ports": port_list(component),
        "clock": "clk (rising edge)", "reset": "rst (synchronous, active high)",
        "generator": {"attnforge": version("attnforge"), "amaranth": version("amaranth")},
    }
    art.manifest.write_text(json.dumps(manifest, indent=2) + "\n")
    art.core.write_text(core_text(name, unit.name, unit.summary, version("attnforge"), dsp))
    art.waivers.write_text(WAIVERS.read_text())
    return art


def artifacts_in(out_dir: Path, name: str) -> Artifacts:
    """The paths :func:`emit_unit` writes for top ``name`` into ``out_dir``."""
    out_dir = Path(out_dir)
    return Artifacts(verilog=out_dir / f"{name}.v", filelist=out_dir / f"{name}.f",
                     manifest=out_dir / f"{name}.json", core=out_dir / f"{name}.core",
                     waivers=out_dir / f"{name}.vlt")
