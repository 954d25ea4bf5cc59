"""Spec variants from Python, the plots and the ``memtwin study`` commands."""

from __future__ import annotations

import textwrap

import pytest

import twin
from memtwin.cli import main
from memtwin.study import spec_variant
from memtwin.study.plots import label, pareto_front


def test_spec_variant_checks_like_the_loader():
    s = spec_variant("default", {"tile.adc.bits": 6, "tile.device.params.g_max_us": 30.0, "tile.adc.t_convert_ns": 7.5})
    assert s.tile.adc.bits == 6 and s.tile.device.params.g_max_us == 30.0 and s.tile.adc.t_convert_ps == 7500
    with pytest.raises(twin.SpecError, match=r"default\{tile.adc.differential=anlog\}: tile.adc.differential: "
                                             r"must be one of 'none', 'analog', 'digital', not 'anlog'"):
        spec_variant("default", {"tile.adc.differential": "anlog"})
    with pytest.raises(twin.SpecError, match="unknown spec field tile.adc.bitz .did you mean tile.adc.bits.."):
        spec_variant("default", {"tile.adc.bitz": 6})
    with pytest.raises(twin.SpecError, match="tile.adc.count: must be <= tile.array.cols .32., not 64"):
        spec_variant("default", {"tile.array.cols": 32})


def test_units_and_pareto():
    assert label("energy_per_mvm_pj") == "energy_per_mvm_pj [pJ per MVM vector]"
    assert label("latency_p50_ns") == "latency_p50_ns [ns]" and label("tops_per_w") == "tops_per_w [TOPS/W]"
    assert label("area_chip_mm2") == "area_chip_mm2 [mm²]" and label("mvm_rmse_pct") == "mvm_rmse_pct [%]"
    pts = [(1, 5, "a"), (2, 3, "b"), (3, 4, "c"), (4, 1, "d"), (2, 6, "e")]
    assert [p[2] for p in pareto_front(pts)] == ["a", "b", "d"]
    assert [p[2] for p in pareto_front(pts, minimize_y=False)] == ["a", "e"]  # a: least x; e: most y


STUDY = """\
name: cli
base: tiny.yaml
axes:
  - field: tile.adc.bits
    values: [4, 6, 8]
seeds: 2
workloads:
  - kind: mvm
    batch: 4
"""


def test_study_commands(study_dir, tmp_path, capsys):
    pytest.importorskip("matplotlib")
    (study_dir / "study.yaml").write_text(STUDY)
    out = tmp_path / "res"
    assert main(["study", "check", str(study_dir / "study.yaml")]) == 0
    assert "3 points x 1 workload(s) x 2 seed(s) = 6 tasks; 3 valid spec(s), 0 invalid" in capsys.readouterr().out
    assert main(["study", "run", str(study_dir / "study.yaml"), "--out", str(out), "--local", "--quiet"]) == 0
    assert "6 tasks, 0 already in" in capsys.readouterr().out
    assert main(["study", "run", str(study_dir / "study.yaml"), "--out", str(out), "--local", "--quiet"]) == 0
    assert "6 already in" in capsys.readouterr().out
    assert main(["study", "table", str(out), "--by", "energy_per_mvm_pj", "--min", "--top", "2"]) == 0
    text = capsys.readouterr().out.splitlines()
    assert text[0].split()[:5] == ["point", "workload", "seed", "tile.adc.bits", "energy_per_mvm_pj"]
    assert len(text) == 3
    for extra in ([], ["--hue", "seed"]):
        assert main(["study", "plot", str(out), "--x", "tile.adc.bits", "--y", "latency_p50_ns", "--out",
                     str(tmp_path / "l.png"), *extra]) == 0
    assert main(["study", "plot", str(out), "--x", "tile.adc.bits", "--stack", "components", "--out",
                 str(tmp_path / "s.png")]) == 0
    assert main(["study", "plot", str(out), "--x", "mvm_rmse_pct", "--y", "energy_per_mvm_pj", "--pareto", "--out",
                 str(tmp_path / "p.png")]) == 0
    for name in ("l.png", "s.png", "p.png"):
        assert (tmp_path / name).stat().st_size > 1000
    capsys.readouterr()
    assert main(["study", "plot", str(out), "--x", "tile.adc.bitz", "--y", "latency_p50_ns", "--out",
                 str(tmp_path / "x.png")]) == 2
    err = capsys.readouterr().err
    assert "no column 'tile.adc.bitz'" in err and "did you mean 'tile.adc.bits'" in err


def test_a_bad_study_exits_2(study_dir, capsys):
    (study_dir / "study.yaml").write_text(STUDY.replace("tile.adc.bits", "tile.adc.bitz"))
    assert main(["study", "run", str(study_dir / "study.yaml"), "--out", str(study_dir / "o"), "--local"]) == 2
    assert capsys.readouterr().err.startswith("error: study.yaml:4: axes[0].field: unknown spec field tile.adc.bitz")
