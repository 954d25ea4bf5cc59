"""``memtwin program``: runs, prints the summary, refuses bad patterns, plots when matplotlib is there."""

import numpy as np
import pytest

from memtwin.cli import main


def test_program_prints_the_summary(capsys):
    assert main(["program", "--spec", "kim2021", "--levels", "8", "--size", "8", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "scheme reset_voltage: 64 cells" in out and "RMSE" in out and "pulses per cell" in out


def test_program_checkerboard_and_npy_pattern(tmp_path, capsys):
    assert main(["program", "--spec", "neurram2022", "--levels", "4", "--size", "4", "--pattern", "checkerboard",
                 "--quiet"]) == 0
    path = tmp_path / "levels.npy"
    np.save(path, np.arange(16).reshape(4, 4) % 4)
    assert main(["program", "--spec", "neurram2022", "--levels", "4", "--pattern", str(path), "--quiet",
                 "--scheme", "incremental"]) == 0
    assert "4x4 cells" in capsys.readouterr().out


def test_program_refuses_a_bad_pattern_before_programming(capsys):
    assert main(["program", "--spec", "kim2021", "--pattern", "zebra", "--quiet"]) == 2
    assert "--pattern must be 'random', 'checkerboard' or a .npy file, not 'zebra'" in capsys.readouterr().err


def test_program_plot(tmp_path):
    pytest.importorskip("matplotlib")
    out = tmp_path / "p.png"
    assert main(["program", "--spec", "kim2021", "--size", "8", "--quiet", "--plot", str(out)]) == 0
    assert out.stat().st_size > 1000


def test_program_plot_many_levels_pools_the_deviations(tmp_path):
    """With thousands of levels the per-level histograms would be hairlines: the deviations are pooled."""
    pytest.importorskip("matplotlib")
    from memtwin.plots import MAX_LEVELS_DRAWN

    out = tmp_path / "many.png"
    assert main(["program", "--spec", "kim2021", "--levels", str(4 * MAX_LEVELS_DRAWN), "--size", "8", "--quiet",
                 "--plot", str(out)]) == 0
    assert out.stat().st_size > 1000
