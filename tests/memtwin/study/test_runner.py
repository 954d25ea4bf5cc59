"""Running studies in this process: rows, resume, failures, CSV, every workload."""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

import numpy as np
import pytest

import firmware
from memtwin.study import expand, load_study, loads_study, read_rows, run_study, tasks

HERE = Path(__file__).parent

STUDY = """\
name: t
base: tiny.yaml
axes:
  - field: tile.adc.bits
    values: [4, 8]
  - field: tile.adc.count
    values: [1, 2, 16]     # 16 > 8 columns: an invalid spec, recorded per point
seeds: 2
workloads:
  - kind: mvm
    batch: 4
    commands: 2
"""


def _study(folder, text=STUDY):
    p = folder / "study.yaml"
    p.write_text(textwrap.dedent(text))
    return load_study(p)


def test_grid_zip_and_sample_expansion(study_dir):
    s = _study(study_dir)
    pts = expand(s)
    assert [p.values for p in pts][:3] == [{"tile.adc.bits": 4, "tile.adc.count": 1},
                                           {"tile.adc.bits": 4, "tile.adc.count": 2},
                                           {"tile.adc.bits": 4, "tile.adc.count": 16}]
    assert len(pts) == 6 and len(tasks(s)) == 12
    z = _study(study_dir, STUDY.replace("axes:", "combine: zip\naxes:").replace("[4, 8]", "[4, 6, 8]"))
    assert [tuple(p.values.values()) for p in expand(z)] == [(4, 1), (6, 2), (8, 16)]
    sample = STUDY.replace("axes:", "combine: sample\nsamples: 50\nsample_seed: 3\naxes:").replace(
        "values: [4, 8]", "between: [2, 12]").replace("values: [1, 2, 16]", "values: [1, 2]")
    a, b = expand(_study(study_dir, sample)), expand(_study(study_dir, sample))
    assert [p.values for p in a] == [p.values for p in b]  # seeded
    bits = [p.values["tile.adc.bits"] for p in a]
    assert all(isinstance(v, int) and 2 <= v <= 12 for v in bits) and len(set(bits)) > 5
    other = expand(_study(study_dir, sample.replace("sample_seed: 3", "sample_seed: 4")))
    assert [p.values for p in other] != [p.values for p in a]


def test_run_in_process_records_failures_and_resumes(study_dir, tmp_path):
    s = _study(study_dir)
    out = tmp_path / "res"
    run = run_study(s, out, workers=0, progress=False)
    assert (run.n_tasks, run.n_ok, run.n_failed, run.n_skipped) == (12, 8, 4, 0)
    rows = read_rows(out)
    assert len(rows) == 12
    bad = [r for r in rows if r["status"] == "error"]
    assert {r["tile.adc.count"] for r in bad} == {16}
    assert all("tile.adc.count: must be <= tile.array.cols (8), not 16" in r["error"] for r in bad)
    ok = [r for r in rows if r["status"] == "ok"]
    for r in ok:
        assert r["mvm_vectors"] == 8 and r["energy_per_mvm_pj"] > 0 and r["tops_per_w"] > 0
        assert r["latency_p50_ns"] <= r["latency_p99_ns"]
        assert r["energy_per_mvm_pj"] == pytest.approx(sum(r[f"energy_{c}_per_mvm_pj"] for c in
                                                          ("cells", "dac", "adc", "controller", "host_link", "static")))
        assert r["area_chip_mm2"] > 0 and r["memtwin_version"] and len(r["spec_hash"]) == 16
    # more ADCs, fewer conversion rounds: MVMs get faster
    t = {(r["tile.adc.bits"], r["tile.adc.count"]): r["time_per_mvm_ns"] for r in ok if r["seed"] == 0}
    assert t[(8, 2)] < t[(8, 1)]
    again = run_study(s, out, workers=0, progress=False)
    assert (again.n_skipped, again.n_ok, again.n_failed) == (12, 0, 0)
    retry = run_study(s, out, workers=0, progress=False, retry_failed=True)
    assert (retry.n_skipped, retry.n_failed) == (8, 4)


def test_a_killed_study_resumes_where_it_stopped(study_dir, tmp_path):
    s = _study(study_dir)
    out = tmp_path / "res"
    first = tasks(s)[:5]
    from memtwin.study.measure import run_task
    from memtwin.study.results import ResultSink

    sink = ResultSink(out)
    for t in first:
        sink.add(run_task(t))
    sink.close()  # as if killed after five tasks
    run = run_study(s, out, workers=0, progress=False)
    assert run.n_skipped == 5 and run.n_ok + run.n_failed == 7
    assert sorted(r["key"] for r in read_rows(out)) == sorted(t.key for t in tasks(s))


def test_rows_are_the_same_when_run_twice(study_dir, tmp_path):
    s = _study(study_dir)
    a = run_study(s, tmp_path / "a", workers=0, progress=False, keep_rows=True).rows
    b = run_study(s, tmp_path / "b", workers=0, progress=False, keep_rows=True).rows
    strip = lambda rows: [{k: v for k, v in r.items() if k != "wall_s"} for r in rows]  # noqa: E731
    assert strip(a) == strip(b)


def test_csv_results(study_dir, tmp_path):
    s = _study(study_dir, STUDY.replace("[1, 2, 16]", "[1]"))
    run_study(s, tmp_path / "c", workers=0, progress=False, fmt="csv")
    assert (tmp_path / "c" / "results.csv").is_file()
    rows = read_rows(tmp_path / "c")
    assert len(rows) == 4 and {r["tile.adc.bits"] for r in rows} == {4, 8}


def test_write_verify_program_and_replay_workloads(study_dir, tmp_path):
    shutil.copy(HERE / "user_program.py", study_dir / "user_program_h6.py")
    log = study_dir / "run.jsonl"
    chip = firmware.open_chip(study_dir / "tiny.yaml", seed=1, log=log)
    chip.tile(0).mvm(np.full((2, 8), 0.5))
    chip.tile(0).read(np.arange(8)[:, None], np.arange(8))
    chip.log.close()
    s = _study(study_dir, """\
        base: tiny.yaml
        axes:
          - field: tile.adc.bits
            values: [6, 8]
        workloads:
          - kind: write_verify
            levels: 4
            rows: 4
            cols: 4
          - kind: program
            callable: user_program_h6:reads
            options: {n: 2}
          - kind: program
            name: failing
            callable: user_program_h6:reads
            options: {n: 99}
          - kind: replay
            log: run.jsonl
        """)
    rows = run_study(s, tmp_path / "r", workers=0, progress=False, keep_rows=True).rows
    by = {(r["workload"], r["tile.adc.bits"]): r for r in rows}
    wv = by[("write_verify", 8)]
    assert wv["status"] == "ok" and wv["pulses_per_cell"] > 0 and 0 <= wv["rmse_pct"] < 100
    assert wv["program_time_per_cell_ns"] > 0 and wv["program_energy_per_cell_pj"] > 0
    assert by[("program", 8)]["reads"] == 2 and by[("program", 8)]["mean_g_us"] > 0
    assert by[("failing", 8)]["status"] == "error" and "RuntimeError: asked to fail" in by[("failing", 8)]["error"]
    assert by[("replay", 8)]["replay_commands"] == 2 and by[("replay", 8)]["replay_rms_diff"] < 1e-9
    assert by[("replay", 6)]["replay_rms_diff"] > 0  # a 6-bit ADC reads differently


def test_mvm_with_written_weights_and_tiles(study_dir, tmp_path):
    s = _study(study_dir, """\
        base: tiny.yaml
        workloads:
          - kind: mvm
            weights: write_verify
            levels: 4
            tiles: 2
            batch: 8
          - kind: mvm
            name: too_many_tiles
            tiles: 3
        """)
    rows = {r["workload"]: r for r in run_study(s, tmp_path / "m", workers=0, progress=False, keep_rows=True).rows}
    r = rows["mvm"]
    assert r["status"] == "ok" and r["mvm_vectors"] == 2 * 8 * 4 and r["program_pulses_per_cell"] > 0
    assert 0 < r["mvm_rmse_pct"] < 20
    assert rows["too_many_tiles"]["status"] == "error" and "3 tiles asked, the chip has 2" in rows["too_many_tiles"]["error"]


def test_the_example_studies_load():
    for p in sorted((Path(__file__).parents[3] / "examples" / "studies").glob("*.yaml")):
        s = load_study(p)
        assert tasks(s), p.name
