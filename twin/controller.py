"""Timing and peripheral energy of each command: pure arithmetic from the spec, no SimPy, no cell state.

``TileController.plan(command)`` returns a :class:`Plan`: the phases the tile goes through
(each with its component and duration), the total execution time, the peripheral energies and the
counts behind them. Every formula here is written out in ``docs/timing.md``.
"""

from __future__ import annotations

import functools
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from twin.commands import Configure, Mvm, Pulse, Read
from twin.spec.chipspec import ChipSpec


@dataclass(frozen=True, slots=True)
class Phase:
    """One step of a command's execution on its tile."""

    component: str
    """Who is busy: ``controller``, ``dac``, ``adc``, ``array``."""
    name: str
    """What it does, e.g. ``decode``, ``pulses``, ``read``, ``mvm``."""
    duration_ps: int


@dataclass(frozen=True, slots=True)
class Plan:
    """Execution of one command on its tile: phases in order, peripheral energies and counts.

    Commands with the same plan may share one Plan object: never change its dicts.
    """

    phases: tuple[Phase, ...]
    energy_pj: dict[str, float]
    """Peripheral energy by component (``controller``, ``dac``, ``adc``); cells and static come later."""
    counts: dict[str, int] = field(default_factory=dict)
    plane_ps: int = 0
    """MVMs: the time the cells conduct per input plane, over which the array charges their energy."""
    duration_ps: int = field(init=False)
    """Total execution time on the tile (the sum of the phases)."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "duration_ps", sum(p.duration_ps for p in self.phases))


def adc_rounds(channel_cols: np.ndarray, mux_ratio: int) -> int:
    """Conversion rounds needed to convert the columns *channel_cols* (one per output channel).

    Column c is served by ADC ``c // mux_ratio``; ADCs convert in parallel, each its channels in turn.
    """
    if channel_cols.size == 0:
        return 0
    return int(np.bincount(channel_cols // mux_ratio).max())


def pulse_slot_widths_ps(cmd: Pulse, spec: ChipSpec) -> np.ndarray:
    """The width of each slot of simultaneous pulses a Pulse needs (the longest pulse in the slot), ps.

    Cells share a slot when the spec's parallelism allows it (same row, same column, or never), they have
    the same polarity, and, unless ``per_cell_amplitude``, the same amplitude, width and gate voltage;
    slots hold at most ``max_parallel_cells`` cells.
    """
    p = spec.tile.programming
    rows, cols, is_set, v, width, gate = cmd.cells()
    if rows.size == 1 or p.parallelism == "cell":
        return width.copy()
    line = rows if p.parallelism == "row" else cols
    keys = [line, is_set]
    if not p.per_cell_amplitude:
        keys = [line, is_set, v, width, gate]
    order = np.lexsort(keys[::-1])  # sort by line, then polarity, then the pulse parameters
    sorted_keys = [np.asarray(k)[order] for k in keys]
    new_group = np.zeros(rows.size, dtype=bool)
    new_group[0] = True
    for k in sorted_keys:
        new_group[1:] |= k[1:] != k[:-1]
    group_start = np.flatnonzero(new_group)
    position = np.arange(rows.size) - np.repeat(group_start, np.diff(np.r_[group_start, rows.size]))
    new_slot = position % p.max_parallel_cells == 0
    return np.maximum.reduceat(width[order], np.flatnonzero(new_slot))


_MAX_SHARED_PLANS = 4096
"""Most plans of each kind a controller keeps for reuse."""


class TileController:
    """Plans commands for the tiles of one chip spec.

    Plans that follow from a few numbers are built once and shared (``functools.lru_cache`` around
    pure functions of the spec): one-cell reads, one-row reads (by their columns), one-cell pulses (by
    width), MVMs (by windows and batch) and Configure.
    """

    def __init__(self, spec: ChipSpec) -> None:
        self.spec = spec
        self._read_cell_plan = plan_read(spec, np.zeros(1, dtype=np.int64), np.zeros(1, dtype=np.int64))
        self._configure_plan = plan_configure(spec)
        self._row_read_plan = functools.lru_cache(_MAX_SHARED_PLANS)(functools.partial(_plan_row_read, spec))
        self._pulse_cell_plan = functools.lru_cache(_MAX_SHARED_PLANS)(functools.partial(_plan_pulse_cell, spec))
        self._mvm_plan = functools.lru_cache(_MAX_SHARED_PLANS)(functools.partial(_plan_mvm_windows, spec))

    def plan(self, cmd) -> Plan:
        """The Plan of *cmd* (already checked against the spec)."""
        if isinstance(cmd, Read):
            rows, cols = cmd.cells()
            if rows.size == 1:
                return self._read_cell_plan
            if cmd.rows.size == 1 and cols.size <= self.spec.tile.array.cols:  # one row
                return self._row_read_plan(cols.tobytes())
            return plan_read(self.spec, rows, cols)
        if isinstance(cmd, Pulse):
            if cmd.cells()[0].size == 1:
                return self._pulse_cell_plan(cmd.width_ps.item())
            return plan_pulse(self.spec, cmd)
        if isinstance(cmd, Mvm):
            return self._mvm_plan(cmd.row_window, cmd.col_window, cmd.batch)
        if isinstance(cmd, Configure):
            return self._configure_plan
        raise TypeError(f"not a command: {cmd!r}")


def _decode(spec: ChipSpec) -> Phase:
    """The controller's decode phase, first in every plan."""
    return Phase("controller", "decode", spec.controller.t_command_ps)


def plan_configure(spec: ChipSpec) -> Plan:
    """A Configure: decode only."""
    return Plan((_decode(spec),), {"controller": spec.controller.e_command_pj}, {})


def plan_read(spec: ChipSpec, rows: np.ndarray, cols: np.ndarray) -> Plan:
    """A Read of the cells (*rows*, *cols*) (flat addresses, repeats allowed)."""
    t = spec.tile
    mux = t.adc_mux_ratio
    decode = _decode(spec)
    if rows.size == 1:  # one cell: one settle, one conversion
        duration_ps = t.dac.t_settle_ps + t.adc.t_convert_ps
        energy = {"controller": spec.controller.e_command_pj, "dac": t.dac.e_convert_pj, "adc": t.adc.e_convert_pj}
        return Plan((decode, Phase("array", "read", duration_ps)), energy, {"rows_driven": 1, "adc_conversions": 1})
    small = rows.size <= 32  # Python sets beat numpy on a handful of cells
    if (len(set(rows.tolist())) == 1) if small else (rows.min() == rows.max()):
        # one row: its distinct columns, ADCs in parallel
        if small:
            rounds = max(Counter(c // mux for c in set(cols.tolist())).values())
        else:  # mark the distinct columns, count them per ADC (column c is served by ADC c // mux)
            n_adc = -(-t.array.cols // mux)
            mask = np.zeros(n_adc * mux, dtype=bool)
            mask[cols] = True
            rounds = int(mask.reshape(n_adc, mux).sum(axis=1).max())
        energy = {"controller": spec.controller.e_command_pj, "dac": t.dac.e_convert_pj,
                  "adc": rows.size * t.adc.e_convert_pj}
        return Plan((decode, Phase("array", "read", t.dac.t_settle_ps + rounds * t.adc.t_convert_ps)),
                    energy, {"rows_driven": 1, "adc_conversions": int(rows.size)})
    # One row at a time: settle the read voltage, then convert its (distinct) columns, ADCs in parallel.
    n_adc = -(-t.array.cols // mux)
    cells = np.unique(rows * t.array.cols + cols)
    adc_of_cell = (cells // t.array.cols) * n_adc + (cells % t.array.cols) // mux
    keys, per_adc = np.unique(adc_of_cell, return_counts=True)
    row_of_key = keys // n_adc
    starts = np.flatnonzero(np.r_[True, row_of_key[1:] != row_of_key[:-1]])
    n_rows = int(starts.size)
    rounds = int(np.maximum.reduceat(per_adc, starts).sum()) if n_rows else 0
    duration_ps = n_rows * t.dac.t_settle_ps + rounds * t.adc.t_convert_ps
    n_conv = rows.size
    energy = {"controller": spec.controller.e_command_pj, "dac": n_rows * t.dac.e_convert_pj,
              "adc": n_conv * t.adc.e_convert_pj}
    return Plan((decode, Phase("array", "read", duration_ps)), energy,
                {"rows_driven": n_rows, "adc_conversions": n_conv})


def _plan_row_read(spec: ChipSpec, cols_bytes: bytes) -> Plan:
    """A Read of one row's columns given as the bytes of an int64 array (which row does not matter)."""
    cols = np.frombuffer(cols_bytes, dtype=np.int64)
    return plan_read(spec, np.zeros(cols.size, dtype=np.int64), cols)


def plan_pulse(spec: ChipSpec, cmd: Pulse) -> Plan:
    """A Pulse: its slots of simultaneous pulses (see :func:`pulse_slot_widths_ps`)."""
    return _pulse_plan(spec, pulse_slot_widths_ps(cmd, spec), cmd.cells()[0].size)


def _plan_pulse_cell(spec: ChipSpec, width_ps: int) -> Plan:
    """A one-cell Pulse of *width_ps*: one slot."""
    return _pulse_plan(spec, np.array([width_ps], dtype=np.int64), 1)


def _pulse_plan(spec: ChipSpec, slot_widths_ps: np.ndarray, n_cells: int) -> Plan:
    """Pulses of *n_cells* cells in slots of the given widths, each slot a switch time plus its longest pulse."""
    p = spec.tile.programming
    duration_ps = int(slot_widths_ps.size * p.t_switch_ps + slot_widths_ps.sum())
    energy = {"controller": spec.controller.e_command_pj, "dac": n_cells * p.e_driver_pj}
    return Plan((_decode(spec), Phase("array", "pulses", duration_ps)), energy,
                {"pulse_slots": int(slot_widths_ps.size), "cell_pulses": n_cells})


@dataclass(frozen=True, slots=True)
class MvmTiming:
    """Time and work of one MVM input vector; it depends only on the row and column windows."""

    planes: int
    """Input planes per vector (DAC bits - 1 for bit-serial inputs, else 1)."""
    channels: int
    """Output channels converted per plane."""
    rounds: int
    """ADC conversion rounds per plane."""
    plane_ps: int
    """Time the cells conduct per plane (the DAC settle and the conversions, or the PWM window)."""
    vector_ps: int
    """Time per vector: its planes, each loading, (PWM) driving and converting."""
    macs: int
    """Multiply-accumulates per vector."""


def mvm_timing(spec: ChipSpec, row_window: tuple[int, int], col_window: tuple[int, int]) -> MvmTiming:
    """The :class:`MvmTiming` of an MVM over the half-open *row_window* and *col_window*."""
    t = spec.tile
    (r0, r1), (c0, c1) = row_window, col_window
    planes = t.dac.bits - 1 if t.dac.input_mode == "bit_serial" else 1
    channel_cols = np.arange(c0, c1, 2 if t.adc.differential == "analog" else 1)
    rounds = adc_rounds(channel_cols, t.adc_mux_ratio)
    load_ps = -(-(r1 - r0) // t.dac.count) * t.dac.t_settle_ps
    pwm_ps = (2 ** (t.dac.bits - 1) - 1) * t.dac.t_lsb_ps if t.dac.input_mode == "pwm" else 0
    convert_ps = rounds * t.adc.t_convert_ps
    plane_ps = pwm_ps if t.dac.input_mode == "pwm" else load_ps + convert_ps
    return MvmTiming(planes, int(channel_cols.size), rounds, plane_ps, planes * (load_ps + pwm_ps + convert_ps),
                     (r1 - r0) * (c1 - c0))


def _plan_mvm_windows(spec: ChipSpec, row_window: Any, col_window: Any, batch: int) -> Plan:
    """:func:`plan_mvm` of windows as an Mvm holds them (None: the whole array)."""
    a = spec.tile.array
    return plan_mvm(spec, row_window or (0, a.rows), col_window or (0, a.cols), batch)


def plan_mvm(spec: ChipSpec, row_window: tuple[int, int], col_window: tuple[int, int], batch: int) -> Plan:
    """An MVM of *batch* vectors over the windows; the DAC energy depends on the data (rows actually
    driven), so the array adds it."""
    timing = mvm_timing(spec, row_window, col_window)
    n_conv = batch * timing.planes * timing.channels
    energy = {"controller": spec.controller.e_command_pj, "adc": n_conv * spec.tile.adc.e_convert_pj}
    phases = (_decode(spec), Phase("array", "mvm", batch * timing.vector_ps))
    return Plan(phases, energy, {"adc_conversions": n_conv, "planes": timing.planes,
                                 "conversion_rounds": timing.rounds, "vector_ps": timing.vector_ps,
                                 "macs": batch * timing.macs}, plane_ps=timing.plane_ps)
