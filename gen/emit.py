"""Turn a unit and its config into Verilog plus the files a flow needs around it."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from amaranth.back import verilog
from amaranth.lib import wiring

__all__ = ["Artifacts", "emit_unit", "port_list", "verilog_text"]


@dataclass(frozen=True)
class Artifacts:
    """Members: ``verilog`` (the .v), ``filelist`` (.f), ``manifest`` (.json: config, ports)."""

    verilog: Path
    filelist: Path
    manifest: Path


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
    return verilog.convert(unit.build(cfg), name=name or unit.name, emit_src=False)


def emit_unit(unit, cfg, out_dir: Path, name: str | None = None, blackbox: bool = False) -> Artifacts:
    """Write ``<name>.v``, ``<name>.f`` and ``<name>.json`` into ``out_dir``."""
    from importlib.metadata import version
    name = name or unit.name
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    component = unit.build(cfg)
    if blackbox:
        if unit.blackbox is None:
            raise ValueError(f"unit {unit.name} has no black-box form.")
        text = unit.blackbox(cfg, name)
    else:
        text = verilog.convert(component, name=name, emit_src=False)
    v_path = out_dir / f"{name}.v"
    v_path.write_text(text)
    f_path = out_dir / f"{name}.f"
    f_path.write_text(f"{v_path.resolve()}\n")
    manifest = {
        "unit": unit.name, "top": name, "blackbox": blackbox, "config_class": type(cfg).__name__,
        "config": cfg.to_dict(), "config_key": cfg.key, "ports": port_list(component),
        "clock": "clk (rising edge)", "reset": "rst (synchronous, active high)",
        "generator": {"attnforge": version("attnforge"), "amaranth": version("amaranth")},
    }
    m_path = out_dir / f"{name}.json"
    m_path.write_text(json.dumps(manifest, indent=2) + "\n")
    return Artifacts(verilog=v_path, filelist=f_path, manifest=m_path)
