"""Chip.execute_cells gives exactly what a loop of blocking execute calls gives, on every bundled spec."""

from __future__ import annotations

import numpy as np
import pytest

import twin
from twin.cell_ops import CellOps
from memtwin_testing import CHIPSPECS, SPECS

SPEC_PATHS = sorted(CHIPSPECS.glob("*.yaml")) + [SPECS / "tiny.yaml"]


def random_cell_commands(spec: twin.ChipSpec, n: int, seed: int = 0, tile: int = 0) -> list:
    """One-cell reads and pulses on a few cells (so cells repeat), scalar and one-element-list addresses,
    random polarities, amplitudes, widths and gate voltages inside the spec's limits."""
    rng = np.random.default_rng(seed)
    p = spec.tile.programming
    out = []
    for _ in range(n):
        r, c = int(rng.integers(6)), int(rng.integers(6))
        row, col = (r, c) if rng.random() < 0.5 else ([r], [c])
        if rng.random() < 0.5:
            out.append(twin.Read(tile, row, col))
        else:
            pol = "set" if rng.random() < 0.6 else "reset"
            lo, hi = p.v_set_range_v if pol == "set" else p.v_reset_range_v
            out.append(twin.Pulse(tile, row, col, pol, float(rng.uniform(lo, hi)),
                                  int(rng.integers(p.width_range_ps[0], p.width_range_ps[1] + 1)),
                                  float(rng.uniform(*p.v_gate_range_v))))
    return out


def loop_of_executes(chip: twin.Chip, commands: list, issue_ps: np.ndarray | None) -> list[twin.Result]:
    results = []
    for k, cmd in enumerate(commands):
        if issue_ps is not None and issue_ps[k] > chip.now_ps:
            chip.run(int(issue_ps[k]))
        results.append(chip.execute(cmd))
    return results


def assert_same_result(a: twin.Result, b: twin.Result) -> None:
    assert (a.index, a.start_ps, a.end_ps, a.exec_start_ps, a.exec_end_ps, a.link_seq) == \
        (b.index, b.start_ps, b.end_ps, b.exec_start_ps, b.exec_end_ps, b.link_seq)
    assert a.energy_pj == b.energy_pj and a.info == b.info
    if a.values is None:
        assert b.values is None
    else:
        assert np.shape(a.values) == np.shape(b.values) and np.array_equal(a.values, b.values)


def assert_same_chip(a: twin.Chip, b: twin.Chip) -> None:
    assert a.now_ps == b.now_ps and a.n_issued == b.n_issued
    ca, cb = a.ledger.columns(), b.ledger.columns()
    assert ca.keys() == cb.keys() and all(np.array_equal(ca[k], cb[k]) for k in ca)
    assert a.trace.records() == b.trace.records() and len(a.trace) == len(b.trace)
    for ta, tb in zip(a.tiles, b.tiles):
        assert np.array_equal(ta.array.conductance_us(a.now_ps), tb.array.conductance_us(b.now_ps))


@pytest.mark.parametrize("spec_path", SPEC_PATHS, ids=lambda p: p.stem)
def test_execute_cells_equals_a_loop_of_executes(spec_path):
    """Values, times, energies, ledger, trace and the cells afterwards (seen through an MVM) are identical,
    with and without issue times, on a chip whose whole-array caches already exist (an MVM first)."""
    spec = twin.load_spec(spec_path)
    commands = random_cell_commands(spec, 300, seed=1)
    x = np.random.default_rng(2).uniform(-1, 1, spec.tile.array.rows)
    issue = np.sort(np.random.default_rng(3).integers(0, 50_000_000, len(commands)))
    for issue_ps in (None, issue):
        a, b = twin.build(spec, 5), twin.build(spec, 5)
        a.execute(twin.Mvm(0, x))
        b.execute(twin.Mvm(0, x))
        expected = loop_of_executes(a, commands, issue_ps)
        got = b.execute_cells(CellOps.from_commands(commands, issue_ps))
        assert len(got) == len(expected)
        for k, res in enumerate(expected):
            assert_same_result(res, got.result(k))
        assert np.array_equal(a.execute(twin.Mvm(0, x)).values, b.execute(twin.Mvm(0, x)).values)
        assert_same_chip(a, b)


def test_execute_cells_on_a_busy_chip_falls_back_to_the_same_loop():
    """With an MVM of another tile still in flight, the ops compete with it exactly as executes would."""
    spec = twin.load_spec("default")
    commands = random_cell_commands(spec, 40, seed=4, tile=1)
    x = np.random.default_rng(5).uniform(-1, 1, (8, spec.tile.array.rows))
    a, b = twin.build(spec, 1), twin.build(spec, 1)
    a.submit(twin.Mvm(0, x))
    b.submit(twin.Mvm(0, x))
    expected = loop_of_executes(a, commands, None)
    got = b.execute_cells(CellOps.from_commands(commands))
    for k, res in enumerate(expected):
        assert_same_result(res, got.result(k))
    a.run()
    b.run()
    assert_same_chip(a, b)


def test_a_bad_op_raises_its_commands_error_and_changes_nothing():
    spec = twin.load_spec("default")
    commands = random_cell_commands(spec, 20, seed=6)
    p = spec.tile.programming
    bad = twin.Pulse(0, [2], [3], "set", p.v_set_range_v[1] + 0.5, p.width_range_ps[0], p.v_gate_range_v[0])
    chip, ref = twin.build(spec, 2), twin.build(spec, 2)
    with pytest.raises(twin.CommandError) as expected:
        ref.execute(bad)
    with pytest.raises(twin.CommandError) as got:
        chip.execute_cells(CellOps.from_commands(commands[:7] + [bad] + commands[7:]))
    assert str(got.value) == str(expected.value).replace("#0", "#7") and "row 2 col 3" in str(got.value)
    assert chip.n_issued == 0 and chip.now_ps == 0 and len(chip.ledger) == 0
    # Nothing moved, random streams included: the same commands now give what a fresh chip gives.
    fresh = twin.build(spec, 2)
    for k, res in enumerate(loop_of_executes(fresh, commands, None)):
        assert_same_result(res, chip.execute_cells(CellOps.from_commands([commands[k]])).result(0))


def test_listeners_receive_every_result():
    spec = twin.load_spec("default")
    commands = random_cell_commands(spec, 30, seed=7)
    a, b = twin.build(spec, 3), twin.build(spec, 3)
    seen: list[twin.Result] = []
    b.add_listener(seen.append)
    expected = loop_of_executes(a, commands, None)
    b.execute_cells(CellOps.from_commands(commands))
    assert len(seen) == len(expected)
    for res, got in zip(expected, seen):
        assert_same_result(res, got)


def test_cell_ops_reject_ragged_columns():
    with pytest.raises(twin.CommandError, match="rows must be a 1-D array as long as is_read"):
        CellOps(0, np.ones(3, bool), np.zeros(2), np.zeros(3), np.zeros(3, bool), np.zeros(3), np.zeros(3),
                np.zeros(3))
    with pytest.raises(twin.CommandError, match="not a one-cell Read or Pulse"):
        CellOps.from_commands([twin.Read(0, [1, 2], 3)])


def test_empty_runs_and_negative_issue_times_are_refused():
    chip = twin.build(twin.load_spec("default"), 0)
    empty = np.zeros(0)
    with pytest.raises(twin.CommandError, match="needs at least one op"):
        chip.execute_cells(CellOps(0, empty.astype(bool), empty, empty, empty.astype(bool), empty, empty, empty))
    ops = CellOps.from_commands([twin.Read(0, 1, 2), twin.Read(0, 3, 4)], issue_ps=[0, -5])
    with pytest.raises(twin.CommandError, match="issue_ps must be >= 0, not -5"):
        chip.execute_cells(ops)
    assert chip.n_issued == 0 and len(chip.ledger) == 0
