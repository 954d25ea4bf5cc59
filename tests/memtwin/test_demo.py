"""The demo programs its pattern and runs MVMs on several tiles."""

import json

import numpy as np

from memtwin.cli import main
from memtwin.demo import run_demo


def test_demo_programs_pattern_and_runs_mvms():
    result = run_demo("default", seed=0, progress=False)
    tol = 0.025 * 39.0
    assert np.mean(np.abs(result.final_us - result.targets_us) <= tol) >= 0.97
    assert "TOPS/W" in result.text and "MVMs" in result.text
    assert result.chip.ledger.mvm_stats()["vectors"] == 4 * 16


def test_demo_cli_writes_a_trace(tmp_path, capsys):
    out = tmp_path / "trace.json"
    assert main(["demo", "--quiet", "--trace", str(out)]) == 0
    events = json.loads(out.read_text())["traceEvents"]
    assert any(e.get("name") == "mvm" for e in events)
    assert "energy nJ" in capsys.readouterr().out
