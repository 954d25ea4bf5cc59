"""Replay: twin logs replay bit-identically; divergences are found, located and reported."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
import structlog

import twin
from firmware import demo
from firmware.cli import main
from firmware.driver import open_chip
from firmware.programming import write_verify
from firmware.replay import replay
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
