"""Sequences of single-cell commands, executed as columns: the fast path of cell-by-cell work.

Cell-by-cell programming loops and the replay of programming logs issue long runs of one-cell
``Read`` and ``Pulse`` commands, each sent when the previous one is back. :class:`CellOps` holds such
a run for one tile as numpy columns, and :meth:`twin.Chip.execute_cells` executes it with exactly
the values, times, energies, ledger and trace records that a loop of blocking
``chip.execute(command)`` calls would give (op *k* is issued at ``max(issue_ps[k], end of op k−1)``),
but without building command objects and SimPy events one by one:

- the schedule is :func:`twin.booking.schedule_run`, the closed form of booking each op on the host
  link and the tile (the chip is otherwise idle, so nothing competes for them), with the transfer
  sizes, plans and energies of :mod:`twin.booking` and the controller;
- the device model advances its cells op by op in one kernel call (``DeviceModel.cell_sequence``),
  drawing the same random numbers from the same streams;
- the link and the tile book the run (``book_run``), and :meth:`twin.Chip.commit_run` gives the ops
  their indices and one ledger and trace record each, as usual.

When the clock is not idle or the device model has no sequence path, ``execute_cells`` falls back to
that very loop of ``execute`` calls. Bad ops raise the CommandError their command would raise, before
anything changes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from twin.booking import book_run, energy_by_component_pj, schedule_run, static_energy_pj, transfer_bytes
from twin.commands import Pulse, Read, Result
from twin.errors import CommandError
from twin.ledger import COMPONENTS

_I64 = np.int64


@dataclass(frozen=True, eq=False)
class CellOps:
    """Single-cell reads and pulses on one tile, in issue order, as columns of length n.

    *is_read* marks reads; the pulse columns (*is_set*, *v_pulse_v*, *width_ps*, *v_gate_v*) are
    ignored for reads. *issue_ps* (optional) is the earliest time each op may be issued; without it
    every op is issued as soon as the previous one is back. *address_ndim* (optional, 0 or 1 per op)
    says whether the op's command addressed its cell with scalars (values of shape ``()``) or with
    one-element lists (shape ``(1,)``); it only shapes the values of :meth:`CellResults.result`.
    """

    tile: int
    is_read: np.ndarray
    rows: np.ndarray
    cols: np.ndarray
    is_set: np.ndarray
    v_pulse_v: np.ndarray
    width_ps: np.ndarray
    v_gate_v: np.ndarray
    issue_ps: np.ndarray | None = None
    address_ndim: np.ndarray | None = None

    def __post_init__(self) -> None:
        n = np.shape(self.is_read)[0] if np.ndim(self.is_read) == 1 else -1
        for name, dtype in (("is_read", bool), ("rows", _I64), ("cols", _I64), ("is_set", bool),
                            ("v_pulse_v", np.float64), ("width_ps", _I64), ("v_gate_v", np.float64),
                            ("issue_ps", _I64), ("address_ndim", _I64)):
            value = getattr(self, name)
            if value is None:
                continue
            arr = np.ascontiguousarray(value, dtype=dtype)
            if arr.shape != (n,):
                raise CommandError("CellOps", f"{name} must be a 1-D array as long as is_read ({n}), "
                                              f"not of shape {arr.shape}", tile=self.tile)
            object.__setattr__(self, name, arr)

    def __len__(self) -> int:
        return self.is_read.size

    @classmethod
    def from_commands(cls, commands: list[Any], issue_ps: Any = None) -> "CellOps":
        """Columns of one-cell Read and Pulse commands, all on one tile."""
        if not commands:
            raise CommandError("CellOps", "needs at least one command")
        tile = commands[0].tile
        n = len(commands)
        is_read, is_set = np.zeros(n, dtype=bool), np.zeros(n, dtype=bool)
        rows, cols, width, ndim = (np.zeros(n, dtype=_I64) for _ in range(4))
        v, gate = np.zeros(n), np.zeros(n)
        for k, cmd in enumerate(commands):
            if not isinstance(cmd, (Read, Pulse)) or cmd.tile != tile or cmd.cells()[0].size != 1 \
                    or len(cmd.shape) > 1:
                raise CommandError("CellOps", f"command {k} is not a one-cell Read or Pulse on tile {tile}: {cmd!r}")
            cells = cmd.cells()
            rows[k], cols[k], ndim[k] = cells[0][0], cells[1][0], len(cmd.shape)
            if isinstance(cmd, Read):
                is_read[k] = True
            else:
                is_set[k], v[k], width[k], gate[k] = cells[2][0], cells[3][0], cells[4][0], cells[5][0]
        return cls(tile, is_read, rows, cols, is_set, v, width, gate, issue_ps, ndim)

    def command(self, k: int) -> Read | Pulse:
        """Op *k* as the command object it stands for."""
        k = int(k)
        scalar = self.address_ndim is None or self.address_ndim[k] == 0
        r, c = int(self.rows[k]), int(self.cols[k])
        row, col = (r, c) if scalar else ([r], [c])
        if self.is_read[k]:
            return Read(self.tile, row, col)
        return Pulse(self.tile, row, col, "set" if self.is_set[k] else "reset", float(self.v_pulse_v[k]),
                     int(self.width_ps[k]), float(self.v_gate_v[k]))


@dataclass(frozen=True, eq=False)
class CellResults:
    """What a :class:`CellOps` run returned, per op: as the ops' Results, in columns."""

    ops: CellOps
    first_index: int
    """Command index of op 0 (op k is command ``first_index + k``)."""
    values: np.ndarray
    """Measured conductance of each read, µS; NaN for pulses."""
    start_ps: np.ndarray
    end_ps: np.ndarray
    exec_start_ps: np.ndarray
    exec_end_ps: np.ndarray
    energy_pj: np.ndarray
    """(n, 6): energy by component, in the order of ``twin.ledger.COMPONENTS``."""
    adc_saturated: np.ndarray
    link_seq: np.ndarray

    def __len__(self) -> int:
        return self.values.size

    def result(self, k: int) -> Result:
        """Op *k*'s :class:`~twin.commands.Result`, as ``chip.execute`` would have returned it."""
        k = int(k)
        cmd = self.ops.command(k)
        if self.ops.is_read[k]:
            values = np.array([self.values[k]]).reshape(cmd.shape)
            info = {"rows_driven": 1, "adc_conversions": 1, "adc_saturated": int(self.adc_saturated[k])}
        else:
            values, info = None, {"pulse_slots": 1, "cell_pulses": 1}
        return Result(cmd, self.first_index + k, values, int(self.start_ps[k]), int(self.end_ps[k]),
                      int(self.exec_start_ps[k]), int(self.exec_end_ps[k]),
                      dict(zip(COMPONENTS, self.energy_pj[k].tolist())), info, int(self.link_seq[k]))

    @classmethod
    def from_results(cls, ops: CellOps, results: list[Result]) -> "CellResults":
        """Columns of the Results of a loop of ``execute`` calls (the fallback path)."""
        def col(get, dtype=_I64):
            return np.array([get(r) for r in results], dtype=dtype)

        return cls(ops, results[0].index,
                   col(lambda r: np.nan if r.values is None else float(np.ravel(r.values)[0]), np.float64),
                   col(lambda r: r.start_ps), col(lambda r: r.end_ps), col(lambda r: r.exec_start_ps),
                   col(lambda r: r.exec_end_ps),
                   np.array([[r.energy_pj[c] for c in COMPONENTS] for r in results], dtype=np.float64).reshape(-1, 6),
                   col(lambda r: r.info.get("adc_saturated", 0)), col(lambda r: r.link_seq))


def check_cell_ops(chip: Any, ops: CellOps) -> None:
    """Raise the CommandError the first bad op's command would raise (named with its command index)."""
    spec = chip.spec
    n_rows, n_cols = spec.tile.array.rows, spec.tile.array.cols
    p = spec.tile.programming
    pulse = ~ops.is_read
    bad = (ops.rows < 0) | (ops.rows >= n_rows) | (ops.cols < 0) | (ops.cols >= n_cols)
    v_lo = np.where(ops.is_set, p.v_set_range_v[0], p.v_reset_range_v[0])
    v_hi = np.where(ops.is_set, p.v_set_range_v[1], p.v_reset_range_v[1])
    bad |= pulse & ~((ops.v_pulse_v >= v_lo) & (ops.v_pulse_v <= v_hi))
    bad |= pulse & ~((ops.width_ps >= p.width_range_ps[0]) & (ops.width_ps <= p.width_range_ps[1]))
    bad |= pulse & ~((ops.v_gate_v >= p.v_gate_range_v[0]) & (ops.v_gate_v <= p.v_gate_range_v[1]))
    if isinstance(ops.tile, bool) or not isinstance(ops.tile, (int, np.integer)) or not 0 <= ops.tile < spec.n_tiles:
        bad[:] = True
    if ops.issue_ps is not None:
        late = np.flatnonzero(ops.issue_ps < 0)
        if late.size:
            raise CommandError("CellOps", f"issue_ps must be >= 0, not {ops.issue_ps[late[0]]}",
                               index=chip.n_issued + int(late[0]), tile=ops.tile)
    if bad.any():
        k = int(np.flatnonzero(bad)[0])
        ops.command(k).check(spec, chip.n_issued + k)  # raises the command's own error
        raise CommandError("CellOps", "invalid op", index=chip.n_issued + k, tile=ops.tile)  # not reached


def execute_cells(chip: Any, ops: CellOps) -> CellResults:
    """:meth:`twin.Chip.execute_cells`: see the module docstring."""
    n = len(ops)
    if n == 0:
        raise CommandError("CellOps", "needs at least one op", tile=ops.tile)
    check_cell_ops(chip, ops)
    tile = chip.tiles[ops.tile]
    link = chip.host_link
    now_ps = int(chip.env.now)
    if not (chip.env.idle and link.free_at_ps <= now_ps and tile.free_at_ps <= now_ps):
        return _execute_one_by_one(chip, ops)

    # The schedule, in closed form: nothing else competes for the link or the tile.
    spec = chip.spec
    read_cmd = Read(ops.tile, 0, 0)
    read_plan = chip.controller.plan(read_cmd)
    read_in, read_out = transfer_bytes(read_cmd, spec)
    pulse_in, pulse_out = read_in, read_out
    is_read = ops.is_read
    exec_ps = np.full(n, read_plan.duration_ps, dtype=_I64)
    pulse_plans: dict[int, Any] = {}
    pulses = np.flatnonzero(~is_read)
    if pulses.size:
        widths, first = np.unique(ops.width_ps[pulses], return_index=True)
        for w, k in zip(widths.tolist(), pulses[first].tolist()):
            pulse_plans[w] = chip.controller.plan(ops.command(k))
        pulse_in, pulse_out = transfer_bytes(ops.command(int(pulses[0])), spec)
        exec_ps[pulses] = np.array([pulse_plans[w].duration_ps for w in widths.tolist()],
                                   dtype=_I64)[np.searchsorted(widths, ops.width_ps[pulses])]
    in_ps = np.where(is_read, link.duration_ps(read_in), link.duration_ps(pulse_in))
    out_ps = np.where(is_read, link.duration_ps(read_out), link.duration_ps(pulse_out))
    schedule = schedule_run(now_ps, ops.issue_ps, in_ps, exec_ps, out_ps)

    idx = ops.rows * tile.array.model.cols + ops.cols
    out = tile.array.execute_cell_sequence(is_read, idx, ops.is_set, ops.v_pulse_v, ops.width_ps, ops.v_gate_v,
                                           schedule.exec_start_ps, schedule.exec_end_ps, tile.settings,
                                           read_plan.phases[-1].duration_ps)
    if out is None:
        return _execute_one_by_one(chip, ops)
    values, cells_pj, saturated = out

    e_read = read_plan.energy_pj
    e_pulse = next(iter(pulse_plans.values())).energy_pj if pulse_plans else e_read
    plan_pj = {comp: np.where(is_read, e_read.get(comp, 0.0), e_pulse.get(comp, 0.0))
               for comp in e_read.keys() | e_pulse.keys()}
    energy_pj = energy_by_component_pj(
        plan_pj, {"cells": cells_pj},
        np.where(is_read, link.energy_pj(read_in + read_out), link.energy_pj(pulse_in + pulse_out)),
        static_energy_pj(spec, schedule.exec_end_ps - schedule.exec_start_ps))
    energy_columns = np.empty((n, len(COMPONENTS)))
    for j, comp in enumerate(COMPONENTS):
        energy_columns[:, j] = energy_pj[comp]

    link_seq = book_run(link, tile, schedule)
    result = CellResults(ops, chip.n_issued, values, schedule.start_ps, schedule.end_ps, schedule.exec_start_ps,
                         schedule.exec_end_ps, energy_columns, saturated, link_seq)
    zeros = np.zeros(n, dtype=_I64)
    phases = [read_plan.phases if r else pulse_plans[w].phases for r, w in zip(is_read.tolist(), ops.width_ps.tolist())]
    chip.commit_run(ops.tile, np.where(is_read, "read", "pulse"), schedule, phases, energy_pj,
                    {"macs": zeros, "vectors": zeros, "adc_conversions": is_read.astype(_I64),
                     "adc_saturated": saturated}, result.result)
    return result


def _execute_one_by_one(chip: Any, ops: CellOps) -> CellResults:
    """The reference semantics: a loop of blocking executes."""
    results = []
    for k in range(len(ops)):
        if ops.issue_ps is not None and ops.issue_ps[k] > chip.now_ps:
            chip.run(int(ops.issue_ps[k]))
        results.append(chip.execute(ops.command(k)))
    return CellResults.from_results(ops, results)
