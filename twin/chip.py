"""The chip: one SimPy clock, a host link, tiles, an energy ledger and a trace.

``build(spec, seed)`` makes a :class:`Chip`. Commands enter through :meth:`Chip.submit` (returns a SimPy
event whose value is the :class:`~twin.commands.Result`) or :meth:`Chip.execute` (blocking). A command's
life: checked against the spec (an error here changes nothing) → crosses the host link → waits in its
tile's queue (a full queue holds the host back) → executes (controller decode, then the array
operation) → its results cross back.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from twin.array import Array
from twin.booking import (RunSchedule, book_transfer_in, energy_by_component_pj, mvm_transfer_bytes_memo,
                          static_energy_pj, transfer_bytes)
from twin.cell_ops import CellOps, CellResults, execute_cells
from twin.clock import Clock, Event
from twin.commands import COMMAND_TYPES, Command, Result
from twin.controller import Plan, TileController
from twin.periphery import TileSettings
from twin.hostlink import HostLink
from twin.ledger import COMPONENTS, EnergyLedger, Mark
from twin.rng import ChipRng
from twin.spec import ChipSpec
from twin.tile import Tile
from twin.trace import Trace

_COMMAND_CLASSES = frozenset(COMMAND_TYPES.values())


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
        self._mvm_transfer_bytes = mvm_transfer_bytes_memo(spec)

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
        cmd.check(self.spec, self._next_index)

    def submit(self, cmd: Command) -> Event:
        """Check *cmd* and issue it now; the returned event's value is its Result.

        Raises CommandError at once (and changes nothing) if the command is invalid.
        """
        job = self._issue(cmd, self.env.event())
        self.env.timeout(job.exec_end_ps - job.start_ps).callbacks.append(lambda _event: self._results_ready(job))
        return job.done

    def execute(self, cmd: Command) -> Result:
        """Submit *cmd* and run the clock until its result is back; returns the Result.

        When nothing else is scheduled on the clock, no other request can come between this command's
        steps, so its whole schedule is booked at once and the clock jumps to its end: the same
        times, energies and values as going through the events, at a fraction of the cost.
        """
        env = self.env
        if not env.idle:
            event = self.submit(cmd)
            env.step_until(event)
            return event.value
        job = self._issue(cmd, None)
        job.out_start_ps, job.out_end_ps = self.host_link.reserve(job.exec_end_ps, job.bytes_out)
        env.advance_idle(job.out_end_ps)
        return self._complete(job)

    def execute_cells(self, ops: CellOps) -> CellResults:
        """Execute single-cell reads and pulses on one tile, each issued when the previous one is back.

        The same values, times, energies, ledger and trace as ``execute`` called once per op (see
        :mod:`twin.cell_ops`), in columns, at a small fraction of the cost on an otherwise idle chip.
        Raises CommandError for the first bad op before anything runs.
        """
        return execute_cells(self, ops)

    def _issue(self, cmd: Command, done: Event | None) -> "_Job":
        """Check *cmd*, give it its index, book its transfer in and its tile, and apply its physics."""
        if type(cmd) not in _COMMAND_CLASSES:
            raise TypeError(f"not a command: {cmd!r}")
        kind = cmd.kind
        cmd.check(self.spec, self._next_index)
        index = self._next_index
        self._next_index += 1
        now_ps = self.env.now
        tile = self.tiles[cmd.tile]
        if kind == "mvm":
            bytes_in, bytes_out = self._mvm_transfer_bytes(cmd.row_window, cmd.col_window, cmd.batch)
        else:
            bytes_in, bytes_out = transfer_bytes(cmd, self.spec)
        link = self.host_link
        link_seq = link.n_reserved
        in_start_ps, in_end_ps = book_transfer_in(link, tile, now_ps, bytes_in)
        plan = self.controller.plan(cmd)
        exec_start_ps, exec_end_ps, values, array_pj, info = tile.accept(cmd, plan, in_end_ps)
        return _Job(cmd, kind, index, now_ps, in_start_ps, in_end_ps, exec_start_ps, exec_end_ps, plan, values,
                    array_pj, info, bytes_in, bytes_out, done, link_seq)

    def run(self, until_ps: int | None = None) -> None:
        """Run the clock until nothing is left to do, or until *until_ps*."""
        if until_ps is None:
            self.env.run()
        else:
            self.env.run_until(until_ps)

    def _results_ready(self, job: "_Job") -> None:
        """At the end of execution: book the result transfer back to the host."""
        now_ps = self.env.now
        job.out_start_ps, job.out_end_ps = self.host_link.reserve(now_ps, job.bytes_out)
        self.env.timeout(job.out_end_ps - now_ps).callbacks.append(lambda _event: self._complete(job))

    def _complete(self, job: "_Job") -> Result:
        """Results are at the host: charge energy, record the trace, deliver the Result."""
        cmd, plan, info = job.cmd, job.plan, job.info
        energy_pj = energy_by_component_pj(plan.energy_pj, job.array_energy_pj,
                                           self.host_link.energy_pj(job.bytes_in + job.bytes_out),
                                           static_energy_pj(self.spec, job.exec_end_ps - job.exec_start_ps))
        counts = plan.counts
        kind = job.kind
        self.ledger.record(cmd_id=job.index, kind=kind, tile=cmd.tile, start_ps=job.start_ps, end_ps=job.out_end_ps,
                           exec_start_ps=job.exec_start_ps, exec_end_ps=job.exec_end_ps, macs=counts.get("macs", 0),
                           vectors=cmd.batch if kind == "mvm" else 0,
                           adc_conversions=counts.get("adc_conversions", 0),
                           adc_saturated=info.get("adc_saturated", 0), energy_pj=energy_pj)
        self.trace.add_command(job.index, cmd.tile, kind, (job.in_start_ps, job.in_end_ps), job.exec_start_ps,
                               plan.phases, (job.out_start_ps, job.out_end_ps))
        result = Result(cmd, job.index, job.values, job.start_ps, job.out_end_ps, job.exec_start_ps, job.exec_end_ps,
                        energy_pj, {**counts, **info}, job.link_seq)
        for callback in self._listeners:
            callback(result)
        if job.done is not None:
            job.done.succeed(result)
        return result

    def commit_run(self, tile: int, kinds: np.ndarray, schedule: RunSchedule, phases: list[tuple],
                   energy_pj: dict[str, np.ndarray], counts: dict[str, np.ndarray],
                   result: Callable[[int], Result]) -> None:
        """Record a run of commands on *tile* that executed on an otherwise idle chip, booked together on the
        host link and the tile (``twin.booking.book_run``; :mod:`twin.cell_ops`): give them the next
        command indices, record them in the ledger (*energy_pj* by component, *counts* ``macs``, ``vectors``,
        ``adc_conversions``, ``adc_saturated``) and the trace (their Plan *phases*), move the clock to the
        end of the last, and hand each one's Result (``result(k)`` for the k-th) to the listeners."""
        n = kinds.size
        first = self._next_index
        self._next_index += n
        ids = np.arange(first, first + n, dtype=np.int64)
        self.ledger.record_block({
            "cmd_id": ids, "kind": kinds, "tile": np.full(n, tile, dtype=np.int64), "start_ps": schedule.start_ps,
            "end_ps": schedule.end_ps, "exec_start_ps": schedule.exec_start_ps, "exec_end_ps": schedule.exec_end_ps,
            **counts, **{f"{comp}_pj": energy_pj[comp] for comp in COMPONENTS}})
        self.trace.add_block(ids, tile, kinds.tolist(), (schedule.start_ps, schedule.exec_start_ps),
                             schedule.exec_start_ps, phases, (schedule.exec_end_ps, schedule.end_ps))
        self.env.advance_idle(int(schedule.end_ps[-1]))
        if self._listeners:
            for k in range(n):
                res = result(k)
                for callback in self._listeners:
                    callback(res)

    # --- reports ------------------------------------------------------------------------------
    def mark(self) -> Mark:
        """A mark of now, to report one phase of a run: ``report(since=mark)`` and the ledger's queries with
        ``since=mark`` cover only the commands completed after it, and chip static power from now on."""
        return Mark(self._next_index, self.now_ps, len(self.ledger))

    def report(self, since: Mark | None = None) -> str:
        """A readable table: energy by component, tile and command kind, MVM figures and latencies (of the
        commands completed after the mark *since*, and static power since then, when given)."""
        now = self.now_ps
        led = self.ledger
        out = io.StringIO()
        w = out.write
        by_comp = led.by_component(now, since)
        total = sum(by_comp.values())
        if since is None:
            w(f"chip {self.spec.name} (seed {self.seed}): {len(led)} commands, {now / 1e6:,.3f} us simulated, "
              f"{total / 1e3:,.3f} nJ\n\n")
        else:
            w(f"chip {self.spec.name} (seed {self.seed}) since {since.time_ps / 1e6:,.3f} us: "
              f"{len(led) - since.n_recorded} commands, {(now - since.time_ps) / 1e6:,.3f} us simulated, "
              f"{total / 1e3:,.3f} nJ\n\n")
        w(f"{'component':<12}{'energy nJ':>14}{'share':>9}\n")
        for comp, e_pj in by_comp.items():
            w(f"{comp:<12}{e_pj / 1e3:>14,.3f}{(e_pj / total if total else 0):>9.1%}\n")
        w(f"\n{'command':<12}{'count':>8}{'energy nJ':>14}{'per cmd pJ':>14}{'p50 us':>10}{'p99 us':>10}\n")
        lat = led.latency_percentiles_ps(since=since)
        for kind, row in sorted(led.by_command(since).items()):
            w(f"{kind:<12}{row['count']:>8}{row['energy_pj'] / 1e3:>14,.3f}{row['energy_per_command_pj']:>14,.1f}"
              f"{lat[kind]['p50'] / 1e6:>10,.3f}{lat[kind]['p99'] / 1e6:>10,.3f}\n")
        w(f"\n{'tile':<12}{'energy nJ':>14}\n")
        for tile, e_pj in led.by_tile(since).items():
            w(f"{tile:<12}{e_pj / 1e3:>14,.3f}\n")
        m = led.mvm_stats(since)
        if m["vectors"]:
            w(f"\nMVM: {m['vectors']} vectors, {m['macs']:,} MACs, {m['energy_per_vector_pj'] / 1e3:,.3f} nJ per vector, "
              f"{m['mac_per_s'] / 1e9:,.2f} GMAC/s, {m['tops_per_w']:,.2f} TOPS/W\n")
        sat = led.adc_saturation(since)
        if sat["conversions"]:
            w(f"ADC: {sat['conversions']:,} conversions, {sat['saturated']:,} saturated "
              f"({sat['saturated'] / sat['conversions']:.2%})\n")
        return out.getvalue()


@dataclass(slots=True, eq=False)
class _Job:
    """A command in flight: its schedule (ps) and what its tile computed when it accepted it."""

    cmd: Command
    kind: str
    index: int
    start_ps: int
    in_start_ps: int
    in_end_ps: int
    exec_start_ps: int
    exec_end_ps: int
    plan: Plan
    values: Any
    array_energy_pj: dict[str, float]
    info: dict
    bytes_in: int
    bytes_out: int
    done: Event | None
    link_seq: int
    out_start_ps: int = 0
    out_end_ps: int = 0


def build(spec: ChipSpec, seed: int = 0) -> Chip:
    """Build a chip from a spec; the same spec and seed always give the same chip."""
    return Chip(spec, seed)
