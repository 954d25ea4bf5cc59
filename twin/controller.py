"""Timing and peripheral energy of each command: pure arithmetic from the spec, no SimPy, no cell state.

``TileController.plan(command, settings)`` returns a :class:`Plan`: the phases the tile goes through
(each with its component and duration), the total execution time, the peripheral energies and the
counts behind them. Every formula here is written out in ``docs/timing.md``.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

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
"""Most plans a controller keeps for reuse."""


class TileController:
    """Plans commands for the tiles of one chip spec."""

    def __init__(self, spec: ChipSpec) -> None:
        self.spec = spec
        t = spec.tile
        self._decode = Phase("controller", "decode", spec.controller.t_command_ps)
        self._mux = t.adc_mux_ratio
        self._mvm_timing: dict[tuple, tuple] = {}
        self._shared: dict[tuple, Plan] = {}
        """Plans that follow from a few numbers, by those numbers: one-cell reads, one-row reads (by their
        columns), one-cell pulses (by width) and MVMs (by windows and batch)."""

    def plan(self, cmd, settings=None) -> Plan:
        """The Plan of *cmd* (already checked against the spec)."""
        if isinstance(cmd, Read):
            rows, cols = cmd.cells()
            if rows.size == 1:
                key = ("read cell",)
            elif cmd.rows.size == 1 and cols.size <= self.spec.tile.array.cols:  # one row
                key = ("read row", cols.tobytes())
            else:
                return self._plan_read(cmd)
            make = self._plan_read
        elif isinstance(cmd, Pulse):
            if cmd.cells()[0].size != 1:
                return self._plan_pulse(cmd)
            key, make = ("pulse cell", cmd.width_ps.item()), self._plan_pulse
        elif isinstance(cmd, Mvm):
            key, make = ("mvm", cmd.row_window, cmd.col_window, cmd.batch), self._plan_mvm
        elif isinstance(cmd, Configure):
            return Plan((self._decode,), {"controller": self.spec.controller.e_command_pj}, {})
        else:
            raise TypeError(f"not a command: {cmd!r}")
        plan = self._shared.get(key)
        if plan is None:
            plan = make(cmd)
            if len(self._shared) < _MAX_SHARED_PLANS:
                self._shared[key] = plan
        return plan

    def _plan_read(self, cmd: Read) -> Plan:
        t = self.spec.tile
        rows, cols = cmd.cells()
        if rows.size == 1:  # one cell: one settle, one conversion
            n_rows, rounds = 1, 1
            duration = t.dac.t_settle_ps + t.adc.t_convert_ps
            energy = {"controller": self.spec.controller.e_command_pj, "dac": t.dac.e_convert_pj,
                      "adc": t.adc.e_convert_pj}
            return Plan((self._decode, Phase("array", "read", duration)), energy,
                        {"rows_driven": 1, "adc_conversions": 1})
        small = rows.size <= 32  # Python sets beat numpy on a handful of cells
        if (len(set(rows.tolist())) == 1) if small else (rows.min() == rows.max()):
            # one row: its distinct columns, ADCs in parallel
            if small:
                rounds = max(Counter(c // self._mux for c in set(cols.tolist())).values())
            else:  # mark the distinct columns, count them per ADC (column c is served by ADC c // mux)
                n_adc = -(-t.array.cols // self._mux)
                mask = np.zeros(n_adc * self._mux, dtype=bool)
                mask[cols] = True
                rounds = int(mask.reshape(n_adc, self._mux).sum(axis=1).max())
            energy = {"controller": self.spec.controller.e_command_pj, "dac": t.dac.e_convert_pj,
                      "adc": rows.size * t.adc.e_convert_pj}
            return Plan((self._decode, Phase("array", "read", t.dac.t_settle_ps + rounds * t.adc.t_convert_ps)),
                        energy, {"rows_driven": 1, "adc_conversions": int(rows.size)})
        # One row at a time: settle the read voltage, then convert its (distinct) columns, ADCs in parallel.
        n_adc = -(-t.array.cols // self._mux)
        cells = np.unique(rows * t.array.cols + cols)
        adc_of_cell = (cells // t.array.cols) * n_adc + (cells % t.array.cols) // self._mux
        keys, per_adc = np.unique(adc_of_cell, return_counts=True)
        row_of_key = keys // n_adc
        starts = np.flatnonzero(np.r_[True, row_of_key[1:] != row_of_key[:-1]])
        n_rows = int(starts.size)
        rounds = int(np.maximum.reduceat(per_adc, starts).sum()) if n_rows else 0
        duration = n_rows * t.dac.t_settle_ps + rounds * t.adc.t_convert_ps
        n_conv = rows.size
        energy = {"controller": self.spec.controller.e_command_pj, "dac": n_rows * t.dac.e_convert_pj,
                  "adc": n_conv * t.adc.e_convert_pj}
        phases = (self._decode, Phase("array", "read", duration))
        return Plan(phases, energy, {"rows_driven": n_rows, "adc_conversions": n_conv})

    def _plan_pulse(self, cmd: Pulse) -> Plan:
        p = self.spec.tile.programming
        slot_widths = pulse_slot_widths_ps(cmd, self.spec)
        duration = int(slot_widths.size * p.t_switch_ps + slot_widths.sum())
        n_cells = cmd.cells()[0].size
        energy = {"controller": self.spec.controller.e_command_pj, "dac": n_cells * p.e_driver_pj}
        return Plan((self._decode, Phase("array", "pulses", duration)), energy,
                    {"pulse_slots": int(slot_widths.size), "cell_pulses": n_cells})

    def mvm_timing(self, cmd: Mvm) -> tuple[int, int, int, int, int]:
        """(planes per vector, output channels, conversion rounds per plane, time per vector in ps, MACs per
        vector); it depends only on the windows, so it is computed once per pair of windows."""
        windows = cmd.windows(self.spec)
        timing = self._mvm_timing.get(windows)
        if timing is None:
            timing = self._mvm_timing[windows] = self._compute_mvm_timing(*windows)
        return timing

    def _compute_mvm_timing(self, row_window: tuple[int, int], col_window: tuple[int, int]) -> tuple:
        t = self.spec.tile
        (r0, r1), (c0, c1) = row_window, col_window
        planes = t.dac.bits - 1 if t.dac.input_mode == "bit_serial" else 1
        channel_cols = np.arange(c0, c1, 2 if t.adc.differential == "analog" else 1)
        rounds = adc_rounds(channel_cols, self._mux)
        t_load = -(-(r1 - r0) // t.dac.count) * t.dac.t_settle_ps
        t_pwm = (2 ** (t.dac.bits - 1) - 1) * t.dac.t_lsb_ps if t.dac.input_mode == "pwm" else 0
        t_vector = planes * (t_load + t_pwm + rounds * t.adc.t_convert_ps)
        return planes, int(channel_cols.size), rounds, t_vector, (r1 - r0) * (c1 - c0)

    def _plan_mvm(self, cmd: Mvm) -> Plan:
        t = self.spec.tile
        planes, channels, rounds, t_vector, macs_per_vector = self.mvm_timing(cmd)
        n_conv = cmd.batch * planes * channels
        # The DAC energy depends on the data (rows actually driven): the array's DacBank counts the drives.
        energy = {"controller": self.spec.controller.e_command_pj, "adc": n_conv * t.adc.e_convert_pj}
        phases = (self._decode, Phase("array", "mvm", cmd.batch * t_vector))
        return Plan(phases, energy, {"adc_conversions": n_conv, "planes": planes,
                                     "conversion_rounds": rounds, "vector_ps": t_vector,
                                     "macs": cmd.batch * macs_per_vector})
