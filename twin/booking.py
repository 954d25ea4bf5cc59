"""Booking a command: what it moves over the host link, when it holds the link and its tile, its energy.

The host link and each tile are first-come first-served servers, booked at the simulated time each
request is made: a request at time t starts at ``max(t, when the server is free)``
(:meth:`HostLink.reserve <twin.hostlink.HostLink.reserve>`, :meth:`Tile.accept <twin.tile.Tile.accept>`),
exactly the schedule SimPy resources give, without their events (docs/architecture.md). A command is
booked in three steps (:func:`book_transfer_in`, ``Tile.accept``, ``HostLink.reserve``): its transfer to
the chip when the link is free and its tile's queue has a slot, its execution when it has arrived and
the tile is free, its results' transfer back when it has executed and the link is free. The chip books
every command so, through SimPy events or, on an idle clock, all at once.

A run of commands issued one after another, each when the previous one is back, on an otherwise idle
chip, has the same schedule in closed form (:func:`schedule_run`), which :mod:`twin.cell_ops` books
with :func:`book_run`.

Energy by component (:func:`energy_by_component_pj`) is one dict keyed by ``ledger.COMPONENTS``, for
one command (numbers) or a run (numpy columns) alike.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any, Callable, Mapping

import numpy as np

from twin.commands import Command, Configure, Mvm, Pulse, Read
from twin.hostlink import HostLink
from twin.ledger import COMPONENTS
from twin.spec import ChipSpec
from twin.tile import Tile
from twin.units import power_time_to_pj

_MAX_SHARED_SIZES = 4096
"""Most MVM transfer sizes a :func:`mvm_transfer_bytes_memo` keeps."""


def transfer_bytes(cmd: Command, spec: ChipSpec) -> tuple[int, int]:
    """(bytes to the chip, bytes back to the host) of *cmd*, headers included (see docs/timing.md)."""
    t = spec.tile
    header = spec.host_link.header_bytes
    if isinstance(cmd, Read):
        n_cells = cmd.cells()[0].size
        return header + 2 * (cmd.rows.size + cmd.cols.size), header + n_cells * -(-t.adc.bits // 8)
    if isinstance(cmd, Pulse):
        params = cmd.polarity.size + cmd.v_pulse_v.size + cmd.width_ps.size + cmd.v_gate_v.size
        return header + 2 * (cmd.rows.size + cmd.cols.size + params), header
    if isinstance(cmd, Mvm):
        return mvm_transfer_bytes(spec, *cmd.windows(spec), cmd.batch)
    if isinstance(cmd, Configure):
        return header + 8 * len(cmd.changes()), header
    raise TypeError(f"not a command: {cmd!r}")


def mvm_transfer_bytes(spec: ChipSpec, row_window: tuple[int, int], col_window: tuple[int, int],
                       batch: int) -> tuple[int, int]:
    """(bytes to the chip, bytes back) of an MVM of *batch* vectors over the (resolved) windows: DAC codes
    in, one output word per channel and vector back (wide enough for the combined bit planes)."""
    t = spec.tile
    header = spec.host_link.header_bytes
    (r0, r1), (c0, c1) = row_window, col_window
    planes = t.dac.bits - 1 if t.dac.input_mode == "bit_serial" else 1
    n_out = (c1 - c0) // (2 if t.adc.differential != "none" else 1)
    out_bits = t.adc.bits + planes - 1 + (1 if t.adc.differential == "digital" else 0)
    return header + batch * (r1 - r0) * -(-t.dac.bits // 8), header + batch * n_out * -(-out_bits // 8)


def mvm_transfer_bytes_memo(spec: ChipSpec) -> Callable[[Any, Any, int], tuple[int, int]]:
    """``sizes(row_window, col_window, batch)``: :func:`mvm_transfer_bytes` of an MVM's windows as it holds
    them (None: the whole array), kept by (windows, batch), all they depend on."""
    return functools.lru_cache(_MAX_SHARED_SIZES)(functools.partial(_mvm_sizes, spec))


def _mvm_sizes(spec: ChipSpec, row_window: Any, col_window: Any, batch: int) -> tuple[int, int]:
    """:func:`mvm_transfer_bytes` of windows as an Mvm holds them (None: the whole array)."""
    a = spec.tile.array
    return mvm_transfer_bytes(spec, row_window or (0, a.rows), col_window or (0, a.cols), batch)


# --- one command ------------------------------------------------------------------------------------
def book_transfer_in(link: HostLink, tile: Tile, requested_ps: int, n_bytes: int) -> tuple[int, int]:
    """Book a command's transfer to *tile*, requested at *requested_ps*: it starts when the link is free
    and the tile's queue has a slot (credit-based flow control). Returns (start_ps, end_ps)."""
    return link.reserve(tile.slot_free_ps(max(requested_ps, link.free_at_ps)), n_bytes)


def static_energy_pj(spec: ChipSpec, busy_ps: Any) -> Any:
    """A tile's static energy over its execution time *busy_ps* (a number or a numpy column), pJ."""
    return power_time_to_pj(spec.tile.p_static_mw, busy_ps)


def energy_by_component_pj(plan_pj: Mapping[str, Any], array_pj: Mapping[str, Any], host_link_pj: Any,
                           static_pj: Any) -> dict[str, Any]:
    """Energy of a command by component, keyed and ordered as ``ledger.COMPONENTS``: the plan's peripheral
    energies plus the array's (``cells``, and for MVMs the data-dependent ``dac``), the host link's and the
    tile's static energy. Values are numbers, or numpy columns for a run of commands."""
    energy: dict[str, Any] = {"cells": 0.0, "dac": 0.0, "adc": 0.0, "controller": 0.0, "host_link": host_link_pj,
                              "static": static_pj}  # the order of COMPONENTS
    energy.update(plan_pj)  # peripheral components only (tests/twin/test_controller.py)
    for component, e_pj in array_pj.items():
        energy[component] += e_pj
    return energy


# --- a run of commands, each issued when the previous one is back -------------------------------------
@dataclass(frozen=True, slots=True)
class RunSchedule:
    """Times of a run of commands on an otherwise idle chip, ps, one per command: each crosses the link
    (``start_ps`` to ``exec_start_ps``), executes (to ``exec_end_ps``) and sends its results back (to
    ``end_ps``) with nothing in between."""

    start_ps: np.ndarray
    exec_start_ps: np.ndarray
    exec_end_ps: np.ndarray
    end_ps: np.ndarray


def schedule_run(now_ps: int, issue_ps: np.ndarray | None, in_ps: np.ndarray, exec_ps: np.ndarray,
                 out_ps: np.ndarray) -> RunSchedule:
    """The schedule of commands issued in order from *now_ps*, command k at ``max(issue_ps[k], end of k-1)``
    (or as soon as k-1 is back, without *issue_ps*), holding the link for *in_ps*, the tile for *exec_ps*
    and the link again for *out_ps*: what booking them one by one gives when nothing else competes."""
    d_ps = in_ps + exec_ps + out_ps
    n = d_ps.size
    issue = np.full(n, now_ps, dtype=np.int64) if issue_ps is None else np.maximum(issue_ps, now_ps)
    before_ps = np.cumsum(d_ps) - d_ps
    # end_k = max(a_k, end_{k-1}) + d_k unrolls to S_k + max over j <= k of (a_j - S_{j-1}), S the cumulative sum of d.
    end_ps = before_ps + d_ps + np.maximum.accumulate(issue - before_ps)
    start_ps = end_ps - d_ps
    exec_start_ps = start_ps + in_ps
    return RunSchedule(start_ps, exec_start_ps, exec_start_ps + exec_ps, end_ps)


def book_run(link: HostLink, tile: Tile, schedule: RunSchedule) -> np.ndarray:
    """Book a scheduled run (:func:`schedule_run`) on the idle *link* and *tile*: two transfers per command.
    Returns each command's ``link_seq`` (the transfers booked before it)."""
    n = schedule.end_ps.size
    first_seq = link.book_run(2 * n, int(schedule.end_ps[-1]))
    tile.book_run(int(schedule.exec_end_ps[-1]))
    return first_seq + 2 * np.arange(n, dtype=np.int64)
