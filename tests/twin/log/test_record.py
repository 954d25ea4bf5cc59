"""Command logs: recording, streaming reading, errors that name the line, CSV conversion."""

from __future__ import annotations

import json

import numpy as np
import pytest
import structlog

import twin
from memtwin.cli import main
from firmware.driver import open_chip
from twin.log.format import (FORMAT_VERSION, decode_array, encode_array, read_hardware_csv, read_log)
from memtwin_testing import SPECS


@pytest.fixture(autouse=True)
def _unconfigured_logging():
    """The CLI configures structlog onto pytest's captured stderr; start and end every test unconfigured."""
    structlog.reset_defaults()
    yield
    structlog.reset_defaults()


def _record_small(path, n_reads: int = 3):
    chip = open_chip(SPECS / "tiny.yaml", seed=0, log=path)
    tile = chip.tile(0)
    tile.pulse([0, 1], [2, 3], "set", 1.5, 100_000, 2.0)
    results = [tile.read(np.arange(8)[:, None], np.arange(8)) for _ in range(n_reads)]
    chip.log.close()
    return chip, results


def test_header_and_records_round_trip_exactly(tmp_path):
    path = tmp_path / "run.jsonl"
    chip, results = _record_small(path)
    with read_log(path) as log:
        h = log.header
        assert (h.form, h.spec_name, h.spec_sha256, h.seed) == ("twin", "tiny", chip.spec.sha256, 0)
        assert h.memtwin_version == twin.__version__ and h.created_utc
        records = list(log)
    assert [r.index for r in records] == [0, 1, 2, 3]
    assert isinstance(records[0].command, twin.Pulse) and records[0].values is None
    for rec, res in zip(records[1:], results):
        assert rec.values.tobytes() == res.values.tobytes()
        assert (rec.start_ps, rec.end_ps, rec.exec_start_ps, rec.exec_end_ps) == \
            (res.start_ps, res.end_ps, res.exec_start_ps, res.exec_end_ps)
        assert rec.energy_pj == res.energy_pj
    assert "spec_yaml" in json.loads(path.read_text().splitlines()[0])


def test_large_arrays_are_stored_compactly_and_exactly():
    a = np.random.default_rng(0).normal(size=(256, 256))
    enc = encode_array(a)
    assert set(enc) == {"dtype", "shape", "b64"} and enc["shape"] == [256, 256]
    assert decode_array(enc).tobytes() == a.tobytes()
    idx = np.repeat(np.arange(256), 256).astype(np.int64)
    assert "zb64" in encode_array(idx) and np.array_equal(decode_array(encode_array(idx)), idx)
    assert encode_array(np.arange(3)) == [0, 1, 2]


def test_log_is_flushed_after_every_command(tmp_path):
    path = tmp_path / "run.jsonl"
    chip = open_chip(SPECS / "tiny.yaml", seed=0, log=path)
    for k in range(3):
        chip.tile(1).read(0, k)
        assert len(path.read_text().splitlines()) == 2 + k  # header + k+1 commands, before any close
    chip.log.close()


def test_truncated_last_line_is_an_error_naming_the_line_unless_allowed(tmp_path):
    path = tmp_path / "run.jsonl"
    _record_small(path)
    text = path.read_text()
    path.write_text(text[: len(text) - 40])  # a killed writer: the last line is cut
    with pytest.raises(twin.LogError) as err:
        list(read_log(path))
    assert str(err.value) == ("run.jsonl:5: truncated line (the file ends in the middle of a record); "
                              "--allow-truncated replays the valid prefix")
    log = read_log(path, allow_truncated=True)
    assert [r.index for r in log] == [0, 1, 2] and log.truncated


def test_corrupted_line_is_an_error_naming_the_line(tmp_path):
    path = tmp_path / "run.jsonl"
    _record_small(path)
    lines = path.read_text().splitlines(keepends=True)
    lines[2] = lines[2].replace(",", ";", 1)  # a flipped byte
    path.write_text("".join(lines))
    with pytest.raises(twin.LogError, match=r"^run\.jsonl:3: malformed line: not a JSON object"):
        list(read_log(path))
    lines = path.read_text().splitlines(keepends=True)
    lines[2] = json.dumps({"i": 1, "cmd": {"op": "read", "tile": 0, "rows": 0, "cols": 0}}) + "\n"
    path.write_text("".join(lines))
    with pytest.raises(twin.LogError) as err:
        list(read_log(path))
    assert str(err.value) == "run.jsonl:3: malformed record: missing field 'start_ps'"


def test_unknown_version_is_refused(tmp_path):
    path = tmp_path / "run.jsonl"
    _record_small(path)
    lines = path.read_text().splitlines(keepends=True)
    path.write_text(lines[0].replace(f'"memtwin_log":{FORMAT_VERSION}', '"memtwin_log":9') + "".join(lines[1:]))
    with pytest.raises(twin.LogError) as err:
        read_log(path)
    assert str(err.value) == "run.jsonl:1: unknown log format version 9; this memtwin reads version 1"


def test_stats_and_csv_conversion_both_ways(tmp_path, capsys):
    path = tmp_path / "run.jsonl"
    _, results = _record_small(path)
    assert main(["log", "stats", str(path)]) == 0
    out = capsys.readouterr().out
    assert "twin log, format version 1" in out and "read" in out and "192" in out
    csv_path, back = tmp_path / "run.csv", tmp_path / "back.jsonl"
    assert main(["log", "convert", str(path), str(csv_path)]) == 0
    assert main(["log", "convert", str(csv_path), str(back)]) == 0
    header, events = read_hardware_csv(csv_path)
    assert header.spec_name == "tiny"
    reads = [e.g_us[0] for e in read_log(back) if e.op == "read"]
    assert np.array_equal(reads, np.concatenate([r.values.ravel() for r in results]))
    assert main(["log", "stats", str(tmp_path / "missing.jsonl")]) == 2
