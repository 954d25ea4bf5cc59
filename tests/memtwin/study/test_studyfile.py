"""Study files: what loads, and the file:line errors for mistakes."""

from __future__ import annotations

import textwrap

import pytest

from memtwin.study import StudyError, load_study, loads_study

GOOD = """\
name: s
base: tiny.yaml
axes:
  - field: tile.adc.bits
    values: [4, 6]
workloads:
  - kind: mvm
    batch: 2
"""


def _load(folder, text):
    p = folder / "study.yaml"
    p.write_text(textwrap.dedent(text))
    return load_study(p)


def test_a_good_study_loads(study_dir):
    s = _load(study_dir, GOOD)
    assert s.name == "s" and s.combine == "grid" and s.seeds == (0,)
    assert s.axes[0].field == "tile.adc.bits" and s.axes[0].values == (4, 6)
    assert s.workloads[0].options["batch"] == 2 and s.workloads[0].options["inputs"] == "uniform"


def test_the_error_of_the_issue(study_dir):
    text = GOOD.replace("tile.adc.bits", "tile.adc.bitz")
    with pytest.raises(StudyError) as e:
        _load(study_dir, text)
    assert str(e.value) == "study.yaml:4: axes[0].field: unknown spec field tile.adc.bitz (did you mean tile.adc.bits?)"


MISTAKES = [
    # (what, replace this, with this, file:line and the start of the message)
    ("unknown top key", "name: s", "nmae: s", "study.yaml:1: nmae: unknown key; did you mean 'name'?"),
    ("missing base", "base: tiny.yaml\n", "", "study.yaml:1: base: is required"),
    ("unknown base spec", "base: tiny.yaml", "base: tinny", "study.yaml:2: base: no bundled spec named 'tinny'"),
    ("bad combine", "axes:", "combine: grdi\naxes:", "study.yaml:3: combine: must be one of 'grid', 'zip', 'sample'"),
    ("value of the wrong type", "values: [4, 6]", "values: [4, six]", "study.yaml:5: axes[0].values[1]: tile.adc.bits must be an integer"),
    ("empty values", "values: [4, 6]", "values: []", "study.yaml:5: axes[0].values: must be a non-empty list"),
    ("no values at all", "    values: [4, 6]\n", "", "study.yaml:4: axes[0]: needs exactly one of values, range or between"),
    ("between outside sample mode", "values: [4, 6]", "between: [4, 6]", "study.yaml:5: axes[0].between: is for combine: sample only"),
    ("unknown workload", "kind: mvm", "kind: mmv", "study.yaml:7: workloads[0].kind: unknown workload 'mmv'; did you mean 'mvm'?"),
    ("unknown workload option", "batch: 2", "bacth: 2", "study.yaml:8: workloads[0].bacth: unknown key; did you mean 'batch'?"),
    ("option of the wrong type", "batch: 2", "batch: two", "study.yaml:8: workloads[0].batch: must be an integer"),
    ("option not in its choices", "batch: 2", "inputs: unifrom", "study.yaml:8: workloads[0].inputs: must be one of"),
    ("no workloads", "workloads:\n  - kind: mvm\n    batch: 2\n", "", "study.yaml:1: workloads: must be a non-empty list"),
    ("bad seeds", "axes:", "seeds: [0, -1]\naxes:", "study.yaml:3: seeds: must be a count >= 1 or a list"),
    ("samples without sample mode", "axes:", "samples: 4\naxes:", "study.yaml:3: samples: is for combine: sample only"),
    ("duplicate key", "name: s", "name: s\nname: t", "study.yaml:2: name: duplicate key"),
    ("YAML syntax", "values: [4, 6]", "values: [4, 6", "study.yaml:6: YAML syntax error"),
    ("unknown field under set", "axes:", "set:\n  tile.adc.e_convrt_pj: auto\naxes:",
     "study.yaml:4: set.tile.adc.e_convrt_pj: unknown spec field tile.adc.e_convrt_pj (did you mean tile.adc.e_convert_pj?)"),
    ("auto where no model exists", "axes:", "set:\n  tile.adc.bits: auto\naxes:", "study.yaml:4: set.tile.adc.bits: tile.adc.bits must be an integer, not 'auto'"),
    ("range with both step and num", "values: [4, 6]", "range: {start: 4, stop: 8, step: 2, num: 3}",
     "study.yaml:5: axes[0].range: needs exactly one of step or num"),
    ("missing replay log", "kind: mvm\n    batch: 2", "kind: replay\n    log: nothere.jsonl",
     "study.yaml:8: workloads[0].log: no such log file"),
    ("program callable not importable", "kind: mvm\n    batch: 2", "kind: program\n    callable: no_such_module_x:run",
     "study.yaml:8: workloads[0].callable: cannot import 'no_such_module_x:run'"),
    ("nn without the networks package", "kind: mvm\n    batch: 2", "kind: nn", "study.yaml:7: workloads[0].kind: workload 'nn' needs"),
]


@pytest.mark.parametrize("what,old,new,expected", MISTAKES, ids=[m[0] for m in MISTAKES])
def test_mistakes_name_file_line_and_key(study_dir, what, old, new, expected):
    assert old in GOOD
    text = GOOD.replace(old, new)
    if what == "nn without the networks package":
        pytest.importorskip("memtwin")  # keeps the id; skipped below if a networks package provides nn
        try:
            import firmware.nn.study  # noqa: F401
            pytest.skip("firmware.nn provides the nn workload here")
        except ImportError:
            pass
    with pytest.raises(StudyError) as e:
        _load(study_dir, text)
    assert str(e.value).startswith(expected), str(e.value)


def test_zip_needs_axes_of_equal_length(study_dir):
    text = GOOD.replace("axes:", "combine: zip\naxes:").replace(
        "    values: [4, 6]\n", "    values: [4, 6]\n  - field: tile.adc.count\n    values: [1]\n")
    with pytest.raises(StudyError, match=r"study.yaml:7: axes\[1\]: zip needs axes of equal length"):
        _load(study_dir, text)


def test_the_same_field_twice(study_dir):
    text = GOOD.replace("    values: [4, 6]\n", "    values: [4, 6]\n  - field: tile.adc.bits\n    values: [8]\n")
    with pytest.raises(StudyError, match=r"study.yaml:6: axes\[1\].field: tile.adc.bits is already swept by axes\[0\]"):
        _load(study_dir, text)


def test_a_missing_study_file(tmp_path):
    with pytest.raises(StudyError, match="nothere.yaml: no such file"):
        load_study(tmp_path / "nothere.yaml")


def test_ranges_and_spec_axes(study_dir):
    s = loads_study(textwrap.dedent("""\
        base: default
        axes:
          - field: tile.adc.bits
            range: {start: 4, stop: 10, step: 2}
          - field: tile.read.v_read_v
            range: {start: 0.1, stop: 0.4, num: 4, log: true}
          - field: spec
            values: [default, kim2021]
        workloads: [{kind: mvm}]
        """), "s.yaml")
    assert s.axes[0].values == (4, 6, 8, 10)
    assert s.axes[1].values == pytest.approx((0.1, 0.1587401, 0.2519842, 0.4))
    assert set(s.bases) == {"default", "kim2021"}
