"""``python -m gen``: every config field is an option, bad input is one sentence and exit 2."""

import json
import subprocess
import sys

import pytest

from verif.runner import ROOT


def gen(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "gen", *args], capture_output=True, text=True,
                          cwd=cwd or ROOT, env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})


def test_help_lists_units():
    out = gen("--help")
    assert out.returncode == 0 and "dense" in out.stdout


def test_unit_help_lists_every_config_field():
    from golden.dense import DenseConfig
    out = gen("dense", "--help")
    for field in DenseConfig.field_types():
        assert "--" + field.replace("_", "-") in out.stdout


def test_writes_verilog_filelist_and_manifest(tmp_path):
    out = gen("dense", "--lanes", "8", "--head-dim", "16", "--max-tokens", "32", "-o", str(tmp_path))
    assert out.returncode == 0, out.stderr
    text = (tmp_path / "dense.v").read_text()
    assert "module dense(" in text
    assert (tmp_path / "dense.f").read_text().strip().endswith("dense.v")
    manifest = json.loads((tmp_path / "dense.json").read_text())
    assert manifest["config"]["lanes"] == 8 and manifest["config"]["head_dim"] == 16
    ports = {p["name"]: p for p in manifest["ports"]}
    assert ports["k__payload"]["width"] == 16 * 8 + 1 and ports["o__ready"]["direction"] == "input"


def test_config_file_and_override(tmp_path):
    cfg = tmp_path / "c.json"
    cfg.write_text(json.dumps({"head_dim": 16, "lanes": 4, "max_tokens": 16}))
    out = gen("dense", "--config", str(cfg), "--lanes", "16", "-o", str(tmp_path))
    assert out.returncode == 0, out.stderr
    assert json.loads((tmp_path / "dense.json").read_text())["config"]["lanes"] == 16


def test_dsp_ecp5_instantiates_mult18x18d(tmp_path):
    """--dsp ecp5: one MULT18X18D per lane product of score and weighted sum plus the softmax's
    limb products; the default stays generic."""
    args = ["dense", "--lanes", "4", "--head-dim", "16", "--max-tokens", "16"]
    out = gen(*args, "--dsp", "ecp5", "-o", str(tmp_path / "ecp5"))
    assert out.returncode == 0, out.stderr
    text = (tmp_path / "ecp5" / "dense.v").read_text()
    # 4 + 4 lanes; softmax writer (21 x 32 bits: 2 x 2 limbs) and reader (16 x 25 bits: 1 x 2)
    assert text.count("MULT18X18D ") == 4 + 4 + 4 + 2
    assert json.loads((tmp_path / "ecp5" / "dense.json").read_text())["dsp"] == "ecp5"
    assert "lint:" not in (tmp_path / "ecp5" / "dense.core").read_text()  # Verilator has no MULT18X18D
    out = gen(*args, "-o", str(tmp_path / "generic"))
    text = (tmp_path / "generic" / "dense.v").read_text()
    assert "MULT18X18D" not in text
    assert json.loads((tmp_path / "generic" / "dense.json").read_text())["dsp"] == "generic"
    assert "lint:" in (tmp_path / "generic" / "dense.core").read_text()


@pytest.mark.parametrize("args, words", [
    (["dense", "--lanes", "0"], ["lanes=0", "out of range"]),
    (["dense", "--lanes", "5"], ["lanes=5", "head_dim=32"]),
    (["dense", "--lanes", "x"], ["--lanes", "int"]),
    (["dense", "--bogus", "1"], ["unrecognized", "--bogus"]),
    (["nosuchunit"], ["invalid choice", "nosuchunit"]),
    (["dense", "--config", "/nonexistent.json"], ["does not exist"]),
    (["dense", "--dsp", "xilinx"], ["--dsp", "invalid choice", "xilinx"]),
])
def test_bad_input_is_one_sentence(args, words, tmp_path):
    out = gen(*args, "-o", str(tmp_path))
    assert out.returncode == 2
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("gen: error:"), out.stderr
    assert "Traceback" not in out.stderr and all(w in lines[0] for w in words), lines[0]


def test_bad_config_file_contents(tmp_path):
    bad_json = tmp_path / "bad.json"
    bad_json.write_text("{lanes: 4}")
    not_object = tmp_path / "list.json"
    not_object.write_text("[1, 2]")
    unknown = tmp_path / "unknown.json"
    unknown.write_text('{"lane": 4}')
    for path, word in ((bad_json, "not valid JSON"), (not_object, "JSON object"), (unknown, "not a field")):
        out = gen("dense", "--config", str(path), "-o", str(tmp_path))
        assert out.returncode == 2 and word in out.stderr and len(out.stderr.strip().splitlines()) == 1, out.stderr
