"""The chip: one SimPy clock, a host link, tiles, an energy ledger and a trace.

``build(spec, seed)`` makes a :class:`Chip`. Commands enter through :meth:`Chip.submit` (returns a SimPy
event whose value is the :class:`~twin.commands.Result`) or :meth:`Chip.execute` (blocking). A command's
life: checked against the spec (an error here changes nothing) → crosses the host link → waits in its
tile's queue (a full queue holds the host back) → executes (controller decode, then the array
operation) → its results cross back.
"""

from __future__ import annotations

import io
from typing import Any

import numpy as np
import simpy
from twin.array import Array
from twin.cell_ops import CellOps, CellResults, execute_cells
from twin.commands import Command, Configure, Mvm, Pulse, Read, Result
from twin.controller import TileController
from twin.periphery import TileSettings
from twin.hostlink import HostLink
from twin.ledger import EnergyLedger
from twin.rng import ChipRng
from twin.spec import ChipSpec
from twin.tile import Tile
from twin.trace import Trace

KIND = {Pulse: "pulse", Read: "read", Mvm: "mvm", Configure: "configure"}


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
        (r0, r1), (c0, c1) = cmd.windows(spec)
        planes = t.dac.bits - 1 if t.dac.input_mode == "bit_serial" else 1
        n_out = (c1 - c0) // (2 if t.adc.differential != "none" else 1)
        out_bits = t.adc.bits + planes - 1 + (1 if t.adc.differential == "digital" else 0)
        return (header + cmd.batch * (r1 - r0) * -(-t.dac.bits // 8),
                header + cmd.batch * n_out * -(-out_bits // 8))
    if isinstance(cmd, Configure):
        return header + 8 * len(cmd.changes()), header
    raise TypeError(f"not a command: {cmd!r}")


class Clock(simpy.Environment):
    """The chip's SimPy environment (integer ps), with a shortcut for blocking commands on an idle clock."""

    def advance_idle(self, to_ps: int) -> None:
        """Move the clock to *to_ps* with nothing scheduled: what stepping a lone timeout ending then does."""
        if self._queue or to_ps < self._now:
            raise RuntimeError(f"advance_idle({to_ps}) at {self._now} with {len(self._queue)} events scheduled")
        self._now = to_ps


class Chip:
    """A simulated chip. Owns the clock (``env``, integer ps), the tiles, the ledger and the trace.

    Each command costs three SimPy events: its completion event and two timeouts (end of execution,
    end of the result transfer); a blocking ``execute`` on an otherwise idle clock books everything at
    once and costs none. The host link and the tiles are FIFO servers booked at the simulated
    time each request is made, which gives exactly the first-come first-served schedule of SimPy
    resources at a fraction of the cost (see docs/architecture.md).
    """

    def __init__(self, spec: ChipSpec, seed: int = 0) -> None:
        self.spec = spec
        self.seed = seed
        self.env = Clock()
        """The simulated clock; ``env.now`` is in ps."""
        self.rng = ChipRng(seed)
        self.host_link = HostLink(spec.host_link)
        self.ledger = EnergyLedger(spec.p_static_mw)
        self.trace = Trace()
        self.controller = TileController(spec)
        t = spec.tile
        self.tiles: list[Tile] = [
            Tile(i, Array(spec, i, self.rng), TileSettings(t.read.v_read_v, t.adc.i_read_range_ua, t.adc.i_mvm_range_ua),
                 spec.controller.queue_depth)
            for i in range(spec.n_tiles)]
        self._next_index = 0
        self._listeners: list[Any] = []
        self._p_static_tile_mw = t.p_static_mw
        self._mvm_bytes: dict[tuple, tuple[int, int]] = {}
        """transfer_bytes of MVMs by (row_window, col_window, batch), the only things they depend on."""

    @property
    def now_ps(self) -> int:
        """Simulated time, ps."""
        return int(self.env.now)

    @property
    def n_issued(self) -> int:
        """Commands issued so far (the index the next command will get)."""
        return self._next_index

    def add_listener(self, callback) -> None:
        """Call ``callback(result)`` for every finished command (used by command logs)."""
        self._listeners.append(callback)

    def remove_listener(self, callback) -> None:
        self._listeners.remove(callback)

    # --- commands -----------------------------------------------------------------------------
    def check(self, cmd: Command) -> None:
        """Raise CommandError if *cmd* is invalid for this chip; changes nothing."""
        cmd.check(self.spec, None, self._next_index)

    def submit(self, cmd: Command) -> simpy.Event:
        """Check *cmd* and issue it now; the returned event's value is its Result.

        Raises CommandError at once (and changes nothing) if the command is invalid.
        """
        job = self._issue(cmd, self.env.event())
        self.env.timeout(job.exec_end - job.start).callbacks.append(lambda _event: self._results_ready(job))
        return job.done

    def execute(self, cmd: Command) -> Result:
        """Submit *cmd* and run the clock until its result is back; returns the Result.

        When nothing else is scheduled on the clock, no other request can come between this command's
        steps, so its whole schedule is booked at once and the clock jumps to its end: the same
        times, energies and values as going through the events, at a fraction of the cost.
        """
        env = self.env
        if env.peek() != simpy.core.Infinity:
            event = self.submit(cmd)
            self._step_until(event)
            return event.value
        job = self._issue(cmd, None)
        job.out_start, job.out_end = self.host_link.reserve(job.exec_end, job.bytes_out)
        env.advance_idle(job.out_end)
        return self._complete(job)

    def execute_cells(self, ops: CellOps) -> CellResults:
        """Execute single-cell reads and pulses on one tile, each issued when the previous one is back.

        The same values, times, energies, ledger and trace as ``execute`` called once per op (see
        :mod:`twin.cell_ops`), in columns, at a small fraction of the cost on an otherwise idle chip.
        Raises CommandError for the first bad op before anything runs.
        """
        return execute_cells(self, ops)

    def _step_until(self, event: simpy.Event) -> None:
        """Process events until *event* has been processed.

        Unlike ``env.run(until=...)``, stepping leaves no processed event behind in SimPy's queue (4.1
        re-queues the event that stopped a run), so an idle clock stays recognizably idle.
        """
        env = self.env
        while not event.processed:
            if env.peek() == simpy.core.Infinity:
                raise RuntimeError(f"no events left but {event} was not triggered (a process is waiting forever?)")
            env.step()
        if not event.ok:
            raise event.value

    def _issue(self, cmd: Command, done: simpy.Event | None) -> "_Job":
        """Check *cmd*, give it its index, book its transfer in and its tile, and apply its physics."""
        kind = KIND.get(type(cmd))
        if kind is None:
            raise TypeError(f"not a command: {cmd!r}")
        cmd.check(self.spec, None, self._next_index)
        index = self._next_index
        self._next_index += 1
        now = self.env.now
        tile = self.tiles[cmd.tile]
        if kind == "mvm":
            key = (cmd.row_window, cmd.col_window, cmd.batch)
            sizes = self._mvm_bytes.get(key)
            if sizes is None:
                sizes = transfer_bytes(cmd, self.spec)
                if len(self._mvm_bytes) < 4096:
                    self._mvm_bytes[key] = sizes
            bytes_in, bytes_out = sizes
        else:
            bytes_in, bytes_out = transfer_bytes(cmd, self.spec)
        link = self.host_link
        link_seq = link.n_reserved
        in_start, in_end = link.reserve(tile.slot_free_ps(max(now, link.free_at_ps)), bytes_in)
        plan = self.controller.plan(cmd)
        exec_start, exec_end, values, cells_pj, info = tile.accept(cmd, plan, in_end)
        return _Job(cmd, kind, index, now, in_start, in_end, exec_start, exec_end, plan, values, cells_pj, info,
                    bytes_in, bytes_out, done, link_seq)

    def run(self, until_ps: int | None = None) -> None:
        """Run the clock until nothing is left to do, or until *until_ps*."""
        if until_ps is None:
            self.env.run()
        elif until_ps > self.env.now:
            # SimPy stops before the events of instant until_ps, and re-queues its stop event at the head
            # of the queue; one step discards it (it has no callbacks left) so an idle clock looks idle.
            self.env.run(until=until_ps)
            self.env.step()

    def _results_ready(self, job: "_Job") -> None:
        """At the end of execution: book the result transfer back to the host."""
        job.out_start, job.out_end = self.host_link.reserve(self.env.now, job.bytes_out)
        self.env.timeout(job.out_end - self.env.now).callbacks.append(lambda _event: self._complete(job))

    def _complete(self, job: "_Job") -> Result:
        """Results are at the host: charge energy, record the trace, deliver the Result."""
        cmd, plan, info = job.cmd, job.plan, job.info
        e = plan.energy_pj
        dac_pj = e.get("dac", 0.0)
        saturated = 0
        if info:
            dac_pj += info.pop("dac_energy_pj", 0.0)
            saturated = info.get("adc_saturated", 0)
        cells_pj, adc_pj, controller_pj = job.cells_pj, e.get("adc", 0.0), e.get("controller", 0.0)
        link_pj = self.host_link.energy_pj(job.bytes_in + job.bytes_out)
        static_pj = self._p_static_tile_mw * (job.exec_end - job.exec_start) * 1e-3
        counts = plan.counts
        kind = job.kind
        self.ledger.record(job.index, kind, cmd.tile, job.start, job.out_end, job.exec_start, job.exec_end,
                           counts.get("macs", 0), cmd.batch if kind == "mvm" else 0, counts.get("adc_conversions", 0),
                           saturated, (cells_pj, dac_pj, adc_pj, controller_pj, link_pj, static_pj))
        self.trace.add_command(job.index, cmd.tile, kind, (job.in_start, job.in_end), job.exec_start, plan.phases,
                               (job.out_start, job.out_end))
        energy_pj = {"cells": cells_pj, "dac": dac_pj, "adc": adc_pj, "controller": controller_pj,  # ledger.COMPONENTS
                     "host_link": link_pj, "static": static_pj}
        result = Result(cmd, job.index, job.values, job.start, job.out_end, job.exec_start, job.exec_end, energy_pj,
                        {**counts, **info}, job.link_seq)
        for callback in self._listeners:
            callback(result)
        if job.done is not None:
            job.done.succeed(result)
        return result

    # --- reports ------------------------------------------------------------------------------
    def report(self) -> str:
        """A readable table: energy by component, tile and command kind, MVM figures and latencies."""
        now = self.now_ps
        led = self.ledger
        out = io.StringIO()
        w = out.write
        by_comp = led.by_component(now)
        total = sum(by_comp.values())
        w(f"chip {self.spec.name} (seed {self.seed}): {len(led)} commands, {now / 1e6:,.3f} us simulated, "
          f"{total / 1e3:,.3f} nJ\n\n")
        w(f"{'component':<12}{'energy nJ':>14}{'share':>9}\n")
        for comp, e_pj in by_comp.items():
            w(f"{comp:<12}{e_pj / 1e3:>14,.3f}{(e_pj / total if total else 0):>9.1%}\n")
        w(f"\n{'command':<12}{'count':>8}{'energy nJ':>14}{'per cmd pJ':>14}{'p50 us':>10}{'p99 us':>10}\n")
        lat = led.latency_percentiles_ps()
        for kind, row in sorted(led.by_command().items()):
            w(f"{kind:<12}{row['count']:>8}{row['energy_pj'] / 1e3:>14,.3f}{row['energy_per_command_pj']:>14,.1f}"
              f"{lat[kind]['p50'] / 1e6:>10,.3f}{lat[kind]['p99'] / 1e6:>10,.3f}\n")
        w(f"\n{'tile':<12}{'energy nJ':>14}\n")
        for tile, e_pj in led.by_tile().items():
            w(f"{tile:<12}{e_pj / 1e3:>14,.3f}\n")
        m = led.mvm_stats()
        if m["vectors"]:
            w(f"\nMVM: {m['vectors']} vectors, {m['macs']:,} MACs, {m['energy_per_vector_pj'] / 1e3:,.3f} nJ per vector, "
              f"{m['mac_per_s'] / 1e9:,.2f} GMAC/s, {m['tops_per_w']:,.2f} TOPS/W\n")
        sat = led.adc_saturation()
        if sat["conversions"]:
            w(f"ADC: {sat['conversions']:,} conversions, {sat['saturated']:,} saturated "
              f"({sat['saturated'] / sat['conversions']:.2%})\n")
        return out.getvalue()


class _Job:
    """A command in flight: its schedule and the values computed when its tile accepted it."""

    __slots__ = ("cmd", "kind", "index", "start", "in_start", "in_end", "exec_start", "exec_end", "plan", "values",
                 "cells_pj", "info", "bytes_in", "bytes_out", "done", "out_start", "out_end", "link_seq")

    def __init__(self, cmd, kind, index, start, in_start, in_end, exec_start, exec_end, plan, values, cells_pj, info,
                 bytes_in, bytes_out, done, link_seq) -> None:
        self.cmd, self.kind, self.index, self.start = cmd, kind, index, start
        self.in_start, self.in_end, self.exec_start, self.exec_end = in_start, in_end, exec_start, exec_end
        self.plan, self.values, self.cells_pj, self.info = plan, values, cells_pj, info
        self.bytes_in, self.bytes_out, self.done = bytes_in, bytes_out, done
        self.out_start = self.out_end = 0
        self.link_seq = link_seq


def build(spec: ChipSpec, seed: int = 0) -> Chip:
    """Build a chip from a spec; the same spec and seed always give the same chip."""
    return Chip(spec, seed)
