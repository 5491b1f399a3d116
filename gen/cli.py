"""Command line: ``python -m gen UNIT [--field value ...] [--config FILE] [-o DIR]``.

Every field of the unit's config dataclass is a dashed option (``head_dim`` -> ``--head-dim``).
``--config FILE`` reads a JSON object of field values; options given on the command line win.
``python -m gen --defaults`` writes every unit at its default config.
Bad input gets one sentence on stderr and exit status 2, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from golden.config import ConfigError
from hw.units import all_units

__all__ = ["main", "parse_field"]


class UsageError(Exception):
    """A bad command line, config file or value; the message is one sentence."""


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        raise UsageError(f"{message}.")


def parse_field(kind: type, text: str):
    """Parse a command-line value for a config field of type ``kind``."""
    if kind is bool:
        lowered = text.lower()
        if lowered in ("1", "true", "yes", "on"):
            return True
        if lowered in ("0", "false", "no", "off"):
            return False
        raise ValueError(f"expected true or false, got {text!r}")
    if kind in (int, float, str):
        return kind(text)
    return json.loads(text)  # tuples/lists (e.g. layer groups) as JSON


DSP_CHOICES = ("generic", "ecp5")
DSP_HELP = ("multipliers: 'generic' (inferred '*', portable; the default) or 'ecp5' (Lattice MULT18X18D instances "
            "holding the pipeline registers themselves; Yosys leaves them in the fabric)")


def _build_parser(units) -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m gen", description="Write Verilog for an attnforge unit.",
                     epilog="Run 'python -m gen UNIT --help' for a unit's parameters.")
    parser.add_argument("--defaults", action="store_true", help="write every unit at its default config")
    parser.add_argument("-o", "--output", default="build/verilog", help="output directory (default: build/verilog)")
    parser.add_argument("--dsp", choices=DSP_CHOICES, default="generic", help=DSP_HELP)
    sub = parser.add_subparsers(dest="unit", metavar="UNIT", title="units")
    for unit in units.values():
        p = sub.add_parser(unit.name, help=unit.summary, description=unit.summary)
        p.add_argument("-o", "--output", default=argparse.SUPPRESS, help="output directory")
        p.add_argument("--config", metavar="FILE", help="JSON file of config field values")
        p.add_argument("--name", help="top-level module name (default: the unit name)")
        p.add_argument("--dsp", choices=DSP_CHOICES, default=argparse.SUPPRESS, help=DSP_HELP)
        if unit.blackbox is not None:
            p.add_argument("--blackbox", action="store_true", help="emit ports only, no body (ASIC macro stand-in)")
        helps = unit.config.field_help()
        for field, kind in unit.config.field_types().items():
            p.add_argument("--" + field.replace("_", "-"), dest=field, metavar=kind.__name__.upper(),
                           default=None, help=helps[field])
        # Amaranth's own validation of an odd parameter must not surface as a traceback.
        p.error = parser.error
    return parser


def _config_for(unit, args):
    values = {}
    if args.config:
        try:
            values = json.loads(Path(args.config).read_text())
        except FileNotFoundError:
            raise UsageError(f"config file {args.config} does not exist.")
        except json.JSONDecodeError as exc:
            raise UsageError(f"config file {args.config} is not valid JSON ({exc.msg} at line {exc.lineno}).")
        if not isinstance(values, dict):
            raise UsageError(f"config file {args.config} must hold a JSON object of field values.")
    for field, kind in unit.config.field_types().items():
        text = getattr(args, field, None)
        if text is None:
            continue
        try:
            values[field] = parse_field(kind, text)
        except (ValueError, json.JSONDecodeError):
            raise UsageError(f"--{field.replace('_', '-')} expects {kind.__name__}, got {text!r}.")
    return unit.config.from_dict(values)


def main(argv=None) -> int:
    units = all_units()
    parser = _build_parser(units)
    try:
        args = parser.parse_args(argv)
        from .emit import emit_unit
        out = Path(args.output)
        if args.defaults:
            for unit in units.values():
                art = emit_unit(unit, unit.config(), out, dsp=args.dsp)
                print(f"{unit.name}: {art.verilog} ({art.verilog.stat().st_size // 1024} KiB)")
            return 0
        if args.unit is None:
            parser.print_help()
            return 2
        unit = units[args.unit]
        cfg = _config_for(unit, args)
        art = emit_unit(unit, cfg, out, name=args.name, blackbox=getattr(args, "blackbox", False), dsp=args.dsp)
        print(f"{art.verilog}\n{art.filelist}\n{art.manifest}")
        return 0
    except (UsageError, ConfigError) as exc:
        print(f"gen: error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"gen: error: cannot write output ({exc.strerror}: {exc.filename}).", file=sys.stderr)
        return 2
