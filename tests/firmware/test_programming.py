"""write_verify: convergence, the report, the command pattern, failure behaviour and argument errors."""

import numpy as np
import pytest

import twin
from firmware.driver import open_chip
from firmware.programming import CONVERGED, STATUS, UNRESPONSIVE, write_verify
from firmware.pulse_schemes import IncrementalStep

from memtwin_testing import CHIPSPECS, ROOT, bench_module, block


_block = block


def test_default_chip_block_converges_and_the_report_adds_up():
    chip = open_chip("default", seed=0)
    tile = chip.tile(0)
    rows, cols = _block(8)
    targets = np.random.default_rng(0).uniform(5.0, 35.0, (8, 8))
    n_before = len(chip.ledger)
    rep = write_verify(tile, rows, cols, targets, IncrementalStep(), tolerance_us=1.0)
    s = rep.summary
    assert rep.shape == (8, 8) and rep.final_us.shape == (64,)
    assert s.n_converged == int(rep.converged.sum()) and s.convergence_rate == rep.converged.mean()
    assert rep.converged.mean() > 0.95 and np.all(np.abs(rep.error_us[rep.converged]) <= 1.0)
    assert s.pulses_histogram.sum() == 64 and s.mean_pulses == pytest.approx(rep.n_pulses.mean())
    assert s.n_commands == len(chip.ledger) - n_before
    assert s.time_ps == chip.now_ps  # the chip did nothing else
    led = chip.ledger.by_component(chip.now_ps)
    assert s.energy_pj == pytest.approx(sum(led.values()))
    assert s.rmse_pct_of_range == pytest.approx(100 * s.rmse_us / 39.0)
    cell = rep.cell(9)
    assert (cell.row, cell.col) == (1, 1) and cell.status == STATUS[rep.status[9]]
    assert f"converged: {s.n_converged}" in s.to_text()


def test_each_iteration_is_one_read_and_at_most_two_pulse_commands():
    chip = open_chip("neurram2022", seed=1)
    rows, cols = _block(16)
    targets = np.random.default_rng(1).uniform(2.0, 38.0, (16, 16))
    rep = write_verify(chip.tile(0), rows, cols, targets, "incremental", tolerance_us=1.0)
    kinds = chip.ledger.columns()["kind"]
    assert (kinds == "read").sum() == rep.summary.n_iterations
    assert (kinds == "pulse").sum() <= 2 * rep.summary.n_iterations
    assert rep.summary.convergence_rate > 0.95


def test_stuck_cells_are_reported_and_the_loop_ends():
    """Half the cells stuck: they are reported unresponsive after the no-progress window, never looped on."""
    text = (CHIPSPECS / "neurram2022.yaml").read_text().replace("p_stuck_low: 0.001", "p_stuck_low: 0.5")
    chip = open_chip(twin.loads_spec(text, "stuck.yaml"), seed=0)
    rows, cols = _block(8)
    rep = write_verify(chip.tile(0), rows, cols, np.full((8, 8), 30.0), "incremental", tolerance_us=1.0,
                       max_pulses=200, unresponsive_pulses=10)
    stuck = rep.status == UNRESPONSIVE
    assert 16 < stuck.sum() < 48
    assert np.all(rep.n_pulses[stuck] <= 10)
    assert rep.summary.n_status["unresponsive"] == stuck.sum()
    assert all(c.status == "unresponsive" for c in rep.failed() if not c.converged and c.n_pulses <= 10)


def test_unresponsive_spread_flags_only_cells_that_do_not_move():
    """A working cell that keeps stepping over its window (a SET/RESET ping-pong far above the tolerance)
    is flagged unresponsive by the no-progress rule alone, but not when unresponsive_spread_us asks that
    its reads also stayed put; stuck cells are flagged either way."""
    from firmware.pulse_schemes import FunctionScheme

    text = (CHIPSPECS / "neurram2022.yaml").read_text().replace("p_stuck_low: 0.001", "p_stuck_low: 0.5")
    targets = np.full((8, 8), 20.0)

    def ping_pong(g_us, targets_us):  # big steps both ways: moves a lot, never lands within 0.05 uS
        is_set = g_us < targets_us
        return is_set, np.where(is_set, 2.0, 2.2)

    out = {}
    for spread in (None, 3.0):
        chip = open_chip(twin.loads_spec(text, "stuck.yaml"), seed=0)
        rep = write_verify(chip.tile(0), *_block(8), targets, FunctionScheme(ping_pong), tolerance_us=0.05,
                           max_pulses=60, unresponsive_pulses=10, unresponsive_spread_us=spread)
        stuck = chip.twin.tiles[0].array.model.stuck[:8, :8].ravel() != 0
        out[spread] = (rep.status == UNRESPONSIVE, stuck)
    flagged, stuck = out[None]
    assert np.all(flagged[stuck]) and flagged[~stuck].sum() > 0  # the plain rule also catches moving cells
    flagged, stuck = out[3.0]
    assert np.array_equal(flagged, stuck)


def test_unreachable_targets_stop_at_max_pulses():
    chip = open_chip("neurram2022", seed=0)
    rep = write_verify(chip.tile(0), [0, 0], [0, 1], [40.0, 40.0], "incremental", tolerance_us=0.01,
                       max_pulses=5, unresponsive_pulses=None)
    assert rep.n_pulses.max() <= 5 and not rep.converged.all()
    assert {STATUS[s] for s in rep.status} <= {"converged", "max_pulses"}


@pytest.mark.parametrize("rows, cols, targets, message", [
    ([0, 1], [0, 1], [10.0, np.nan], "finite"),
    ([0, 1], [0, 1], [10.0, 99.0], r"inside the device's range \[1, 40\] uS, not 99"),
    ([0, 1], [0, 1], [10.0, 20.0, 30.0], r"shape \(2,\)"),
    ([0, 0], [1, 1], [10.0, 20.0], "only once"),
    ([0, 300], [0, 1], [10.0, 20.0], r"row must be in \[0, 255\]"),
    ([0.5], [0], [10.0], "integers"),
])
def test_bad_arguments_raise_before_any_command(rows, cols, targets, message):
    chip = open_chip("neurram2022", seed=0)
    with pytest.raises(ValueError, match=message):
        write_verify(chip.tile(0), rows, cols, targets)
    assert len(chip.ledger) == 0 and chip.now_ps == 0


@pytest.mark.parametrize("kwargs, message", [({"tolerance_us": 0.0}, "tolerance_us"), ({"max_pulses": 0}, "max_pulses"),
                                             ({"scheme": "nope"}, "unknown pulse scheme 'nope'"),
                                             ({"chunk_cells": 0}, "chunk_cells")])
def test_bad_options_raise_before_any_command(kwargs, message):
    chip = open_chip("neurram2022", seed=0)
    with pytest.raises(ValueError, match=message):
        write_verify(chip.tile(0), [0], [0], [10.0], **kwargs)
    assert len(chip.ledger) == 0


def test_chunks_program_cells_in_turn_with_the_same_outcome_kind():
    chip = open_chip("neurram2022", seed=2)
    rows, cols = _block(8)
    targets = np.random.default_rng(2).uniform(2.0, 38.0, (8, 8))
    rep = write_verify(chip.tile(0), rows, cols, targets, "incremental", chunk_cells=8)
    assert rep.summary.convergence_rate > 0.95
    assert rep.summary.n_iterations >= 8  # at least one iteration per chunk


@pytest.mark.slow
def test_neurram_reproduction_small():
    r = bench_module("reproduce_neurram2022")

    out = r.run(size=32, seed=0, passes=1)
    assert out["pulses"] == pytest.approx(8.52, rel=0.25)
    assert out["converged"] >= 0.97
    assert out["us_per_cell"] == pytest.approx(56, rel=0.25)


@pytest.mark.slow
def test_bench_programming_small_tile_is_fast():
    """The batched loop beats the cell-by-cell loop by a wide margin on the same cells."""
    import time

    chip = open_chip("rao2023", seed=0)
    from firmware.pulse_schemes import GateSet
    from firmware.quantize import uniform_levels

    levels = uniform_levels(50.0, 4144.0, 2048)
    t = levels.targets_us(np.random.default_rng(0).integers(0, 2048, (64, 64)))
    wall = time.perf_counter()
    rep = write_verify(chip.tile(0), *_block(64), t, GateSet(denoise_pulses=0), tolerance_us=0.5, max_pulses=60)
    assert time.perf_counter() - wall < 5 and rep.summary.convergence_rate > 0.97
