"""Replay: twin logs replay bit-identically; divergences are found, located and reported."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
import structlog

import twin
from memtwin import demo
from memtwin.cli import main
from firmware.driver import open_chip
from firmware.programming import write_verify
from twin.log.replayer import replay
from memtwin_testing import CHIPSPECS, SPECS


@pytest.fixture(autouse=True)
def _unconfigured_logging():
    """The CLI configures structlog onto pytest's captured stderr; start and end every test unconfigured."""
    structlog.reset_defaults()
    yield
    structlog.reset_defaults()


@pytest.fixture(scope="module")
def noisy_spec_path(tmp_path_factory):
    """neurram2022 (rram_1t1r: c2c, read and telegraph noise, relaxation, variation) on one tile."""
    text = (CHIPSPECS / "neurram2022.yaml").read_text()
    path = tmp_path_factory.mktemp("specs") / "noisy.yaml"
    path.write_text(re.sub(r"(?m)^n_tiles: \d+", "n_tiles: 2", text))
    return path


def test_demo_replays_bit_identically(tmp_path, monkeypatch):
    """The demo's concurrent MVMs on four tiles (SimPy processes) replay exactly."""
    path = tmp_path / "demo.jsonl"
    opened = demo.open_chip
    monkeypatch.setattr(demo, "open_chip", lambda spec, seed=0, trace_detail=False: opened(spec, seed, log=path))
    result = demo.run_demo("default", seed=0, progress=False)
    result.chip.log.close()
    report = replay(path, csv_path=tmp_path / "demo.csv")
    assert not report.diverged and report.n_commands == len(result.chip.ledger)
    assert report.by_kind["mvm"].count == 4 and report.by_kind["mvm"].max_abs_diff == 0.0
    rows = (tmp_path / "demo.csv").read_text().splitlines()
    assert rows[0].startswith("index,op,tile") and len(rows) == 1 + report.n_commands


def test_full_tile_write_verify_replays_bit_identically(tmp_path, noisy_spec_path):
    path = tmp_path / "wv.jsonl"
    chip = open_chip(noisy_spec_path, seed=3, log=path)
    targets = np.random.default_rng(1).uniform(5.0, 30.0, (256, 256))
    write_verify(chip.tile(0), np.arange(256)[:, None], np.arange(256)[None, :], targets, tolerance_us=2.0,
                 max_pulses=4)
    chip.log.close()
    report = replay(path)
    assert not report.diverged, report.summary()
    assert report.by_kind["read"].n_values >= 65536 and report.by_kind["pulse"].count >= 4
    # The same log against another seed diverges at the first read, and says where.
    other = replay(path, seed=4)
    assert other.diverged and other.first_divergence.index == 0
    assert re.fullmatch(r"row \d+ col \d+", other.first_divergence.address)


def _same_time_log(path):
    """A blocking wait() lands exactly when another command's results are booked on the link."""
    chip = open_chip(SPECS / "tiny.yaml", seed=0, log=path)
    block = (np.arange(8)[:, None], np.arange(8))
    first = chip.tile(0).read(*block)
    event = chip.submit(twin.Read(0, *block))
    chip.wait(first.exec_end_ps - first.start_ps)
    chip.tile(1).read(*block)
    chip.run()
    chip.log.close()
    return event.value


def test_same_time_bookings_replay_in_their_recorded_order(tmp_path):
    path = tmp_path / "tie.jsonl"
    _same_time_log(path)
    assert not replay(path).diverged
    # Without link_seq the replay issues after everything else of the instant, and the schedule differs:
    # the recorded order is what makes the replay exact.
    lines = path.read_text().splitlines()
    stripped = [lines[0]] + [json.dumps({k: v for k, v in json.loads(x).items() if k != "link_seq"}) for x in lines[1:]]
    (tmp_path / "bare.jsonl").write_text("\n".join(stripped) + "\n")
    bare = replay(tmp_path / "bare.jsonl")
    assert bare.diverged and bare.first_divergence.address == "times differ"


def test_cli_exit_codes_and_truncated_prefix(tmp_path, noisy_spec_path, capsys):
    path = tmp_path / "run.jsonl"
    chip = open_chip(noisy_spec_path, seed=0, log=path)
    for k in range(5):
        chip.tile(0).read(k, np.arange(16))
    chip.log.close()
    assert main(["replay", str(path)]) == 0
    assert "identical within tolerance" in capsys.readouterr().out
    assert main(["replay", str(path), "--seed", "1"]) == 1
    out = capsys.readouterr().out
    assert "DIVERGED; first at command #0 (read, tile 0, log line 2) row 0 col" in out
    assert main(["replay", str(path), "--seed", "1", "--atol", "100"]) == 0
    text = path.read_text()
    path.write_text(text[:-25])
    assert main(["replay", str(path)]) == 2
    assert "run.jsonl:6: truncated line" in capsys.readouterr().err
    assert main(["replay", str(path), "--allow-truncated"]) == 0
    out = capsys.readouterr().out
    assert "4 commands" in out and "[truncated log: valid prefix only]" in out
    assert main(["replay", str(tmp_path / "nope.jsonl")]) == 2


def _mixed_cell_log(path, spec_path):
    """Runs of one-cell reads and pulses on two tiles with idle gaps, a multi-cell read and an MVM in
    between, and one-cell commands that overlap others (submitted together)."""
    chip = open_chip(spec_path, seed=2, log=path)
    spec = chip.spec
    p = spec.tile.programming
    rng = np.random.default_rng(8)
    x = rng.uniform(-1, 1, spec.tile.array.rows)

    def cells(tile, n):
        for _ in range(n):
            r, c = int(rng.integers(5)), int(rng.integers(5))
            if rng.random() < 0.5:
                tile.read(r, c) if rng.random() < 0.5 else tile.read([r], [c])
            else:
                tile.pulse(r, c, "set" if rng.random() < 0.6 else "reset", float(p.v_set_range_v[1]),
                           int(p.width_range_ps[0]), float(p.v_gate_range_v[1]))

    cells(chip.tile(0), 60)
    chip.wait(1_000_000)
    cells(chip.tile(1), 20)
    chip.tile(0).read(np.arange(4), 3)
    chip.tile(0).mvm(x)
    chip.submit(twin.Read(0, 1, 1))
    chip.submit(twin.Read(1, 2, 2))
    chip.submit(twin.Pulse(0, 3, 3, "set", float(p.v_set_range_v[1]), int(p.width_range_ps[0]),
                           float(p.v_gate_range_v[1])))
    chip.run()
    cells(chip.tile(0), 30)
    chip.log.close()


@pytest.mark.parametrize("seed", [None, 5], ids=["same-seed", "other-seed"])
def test_cell_runs_replay_exactly_as_the_event_path(tmp_path, noisy_spec_path, monkeypatch, seed):
    """Runs of one-cell commands take the column path; it reports what the event path reports, per command
    (the CSV) and overall, whether the replay matches (same seed) or diverges (another seed)."""
    path = tmp_path / "cells.jsonl"
    _mixed_cell_log(path, noisy_spec_path)
    fast = replay(path, seed=seed, csv_path=tmp_path / "fast.csv")
    import twin.log.replayer as replay_module

    monkeypatch.setattr(replay_module, "_cell_fields", lambda d, lineno: None)  # everything by events
    slow = replay(path, seed=seed, csv_path=tmp_path / "slow.csv")
    assert (tmp_path / "fast.csv").read_text() == (tmp_path / "slow.csv").read_text()
    assert fast.n_commands == slow.n_commands == 115 and fast.diverged == (seed is not None) == slow.diverged
    for op, k in slow.by_kind.items():
        f = fast.by_kind[op]
        assert (f.count, f.n_values, f.max_abs_diff, f.n_diverged) == (k.count, k.n_values, k.max_abs_diff, k.n_diverged)
        assert f.rms_diff == pytest.approx(k.rms_diff, rel=1e-12)
    if seed is not None:
        assert fast.first_divergence == slow.first_divergence
        assert fast.first_divergence.index == 0 and ",read,0,7,1," in (tmp_path / "fast.csv").read_text()
        assert re.search(r",read,\d+,\d+,1,[^\n]*,1,row \d+ col \d+\n", (tmp_path / "fast.csv").read_text())


def test_a_bad_one_cell_command_in_a_run_is_reported_as_rejected(tmp_path, noisy_spec_path, monkeypatch):
    path = tmp_path / "cells.jsonl"
    _mixed_cell_log(path, noisy_spec_path)
    lines = path.read_text().splitlines()
    rec = json.loads(lines[10])
    rec["cmd"]["rows"] = 999
    lines[10] = json.dumps(rec)
    path.write_text("\n".join(lines) + "\n")
    report = replay(path)
    d = report.first_divergence
    assert d.index == rec["i"] and d.line == 11 and d.address.startswith("rejected by the replay chip:")
    assert "row must be in [0, 255], not 999" in d.address
    # The replay stops there, as the event path does.
    import twin.log.replayer as replay_module

    assert report.n_commands == rec["i"] + 1
    monkeypatch.setattr(replay_module, "_cell_fields", lambda d, lineno: None)
    slow = replay(path)
    assert slow.n_commands == report.n_commands and slow.first_divergence == d


def test_hardware_cell_runs_replay_exactly_as_the_event_path(tmp_path, noisy_spec_path, monkeypatch):
    """A hardware log (one-cell events, plus same-time events that form multi-cell commands) gives the
    same per-command CSV and report through execute_cells as one blocking command at a time."""
    from twin.log.format import LogHeader, read_log, twin_records_to_hardware, write_jsonl
    import twin.log.replayer as replay_module

    twin_path = tmp_path / "cells.jsonl"
    _mixed_cell_log(twin_path, noisy_spec_path)
    with read_log(twin_path) as reader:
        header = reader.header
        events = [ev.to_json() for ev in twin_records_to_hardware(iter(reader))]
    events.insert(5, {**events[4], "rows": [4], "cols": [4]})  # joins event 4 into a two-cell command
    path = tmp_path / "hw.jsonl"
    write_jsonl(path, LogHeader(form="hardware", spec_name=header.spec_name, spec_sha256=header.spec_sha256,
                                spec_yaml=header.spec_yaml, seed=header.seed), events)
    fast = replay(path, seed=2, csv_path=tmp_path / "fast.csv")
    monkeypatch.setattr(replay_module, "_hardware_cell", lambda d, lineno: None)
    slow = replay(path, seed=2, csv_path=tmp_path / "slow.csv")
    assert (tmp_path / "fast.csv").read_text() == (tmp_path / "slow.csv").read_text()
    assert fast.n_commands == slow.n_commands == len(events) - 1 and fast.sim_ps == slow.sim_ps
    assert fast.first_divergence == slow.first_divergence and fast.diverged


def test_a_log_recorded_through_execute_cells_replays_bit_identically(tmp_path, noisy_spec_path):
    path = tmp_path / "cells.jsonl"
    chip = open_chip(noisy_spec_path, seed=4, log=path)
    rng = np.random.default_rng(3)
    p = chip.spec.tile.programming
    n = 200
    ops = twin.CellOps(1, rng.random(n) < 0.5, rng.integers(0, 4, n), rng.integers(0, 4, n), rng.random(n) < 0.7,
                       np.full(n, p.v_set_range_v[1]), np.full(n, p.width_range_ps[0]), np.full(n, p.v_gate_range_v[1]),
                       issue_ps=np.arange(n) * 500_000)
    res = chip.execute_cells(ops)
    chip.log.close()
    assert chip.log.n_written == n and np.isfinite(res.values[ops.is_read]).all()
    report = replay(path)
    assert not report.diverged and report.n_commands == n
    assert report.by_kind["read"].n_values == int(ops.is_read.sum())
