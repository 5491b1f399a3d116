"""Golden vector files: regenerating them changes nothing; malformed files get one sentence."""

import json
import subprocess
import sys

import pytest

from verif.runner import ROOT
from verif.vectors import VECTOR_ROOT, VectorError, dump_vector, load_vector, unit_vectors_module, vector_files

UNITS = sorted(p.parent.name for p in (ROOT / "verif").glob("*/vectors.py"))


@pytest.mark.parametrize("unit", UNITS)
def test_regenerating_vectors_changes_nothing(unit):
    generated = {VECTOR_ROOT / unit / f"{v['name']}.json": dump_vector(v) for v in unit_vectors_module(unit).generate()}
    on_disk = {p: p.read_text() for p in vector_files(unit)}
    assert set(generated) == set(on_disk), "vector files differ from the generator's list; run make golden"
    changed = [p.name for p, text in generated.items() if on_disk[p] != text]
    assert not changed, f"regenerated vectors differ: {changed}; the golden model changed, run make golden"


@pytest.mark.parametrize("path", vector_files(), ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_committed_vectors_are_valid(path):
    load_vector(path)


def _broken(tmp_path, mutate):
    vector = json.loads(vector_files("dense")[0].read_text())
    mutate(vector)
    path = tmp_path / "v.json"
    path.write_text(json.dumps(vector))
    return path


@pytest.mark.parametrize("mutate, words", [
    (lambda v: v.update(format="other"), ["format"]),
    (lambda v: v.update(unit="nope"), ["unknown unit"]),
    (lambda v: v["config"].update(lanes=0), ["invalid config", "lanes=0"]),
    (lambda v: v["inputs"]["k"][0].append(1), ["inputs.k row 0"]),
    (lambda v: v["inputs"]["q"][0].__setitem__(0, 999), ["inputs.q", "999"]),
    (lambda v: v["expected"].update(cycles=0), ["expected.cycles"]),
    (lambda v: v["inputs"].pop("scale"), ["inputs.scale is missing"]),
])
def test_malformed_vector_is_one_sentence(tmp_path, mutate, words):
    with pytest.raises(VectorError) as info:
        load_vector(_broken(tmp_path, mutate))
    message = str(info.value)
    assert "\n" not in message and all(w in message for w in words), message


def test_not_json(tmp_path):
    path = tmp_path / "v.json"
    path.write_text("{")
    with pytest.raises(VectorError, match="not valid JSON"):
        load_vector(path)


def test_gen_vectors_rejects_unknown_unit():
    out = subprocess.run([sys.executable, "scripts/gen_vectors.py", "nope"], capture_output=True, text=True,
                         cwd=ROOT, env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
    assert out.returncode == 2 and "no vector generator" in out.stderr and "Traceback" not in out.stderr
