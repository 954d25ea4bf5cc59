"""Replay a command log on a fresh twin and compare, command by command, with what was recorded.

A twin log replays bit-identically with the same spec and seed: command *k* is issued at its
recorded ``start_ps``, in index order, and — using the recorded host-link booking count
``link_seq`` — at the same place among the other events of that instant (results being sent back
at the same simulated time), so the FIFO host link and tiles see the requests in the original
order. A hardware log (the minimal form) is replayed as blocking commands, each issued at its
recorded time or as soon as the previous one is back.

:func:`replay` returns a :class:`ReplayReport`: per command kind the count and the max and RMS
differences of the values, the first diverging command with its address, and whether everything
stayed within tolerance. It can also write one CSV row per command.
"""

from __future__ import annotations

import csv
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import simpy
import structlog

import twin
from firmware.log_format import HardwareEvent, LogRecord, read_log

log = structlog.get_logger(__name__)

CSV_COLUMNS = ("index", "op", "tile", "line", "n_values", "max_abs_diff", "rms_diff", "times_match",
               "energy_diff_pj", "diverged", "address")
"""Columns of the per-command CSV written by :func:`replay`."""


@dataclass
class CommandDiff:
    """How one replayed command differs from its recording."""

    index: int
    op: str
    tile: int
    line: int
    n_values: int
    max_abs_diff: float
    sum_sq_diff: float
    times_match: bool
    energy_diff_pj: float
    diverged: bool
    address: str
    """Where the largest value difference is (``row 3 col 7``, ``vector 0 output 5``), or what diverged."""

    @property
    def rms_diff(self) -> float:
        return math.sqrt(self.sum_sq_diff / self.n_values) if self.n_values else 0.0

    def row(self) -> tuple:
        return (self.index, self.op, self.tile, self.line, self.n_values, repr(self.max_abs_diff),
                repr(self.rms_diff), int(self.times_match), repr(self.energy_diff_pj), int(self.diverged),
                self.address)


@dataclass
class KindStats:
    """Differences of the commands of one kind."""

    count: int = 0
    n_values: int = 0
    max_abs_diff: float = 0.0
    sum_sq_diff: float = 0.0
    n_diverged: int = 0

    @property
    def rms_diff(self) -> float:
        return math.sqrt(self.sum_sq_diff / self.n_values) if self.n_values else 0.0


@dataclass
class ReplayReport:
    """The outcome of a replay."""

    log_name: str
    form: str
    spec_name: str
    seed: int
    n_commands: int = 0
    by_kind: dict[str, KindStats] = field(default_factory=dict)
    first_divergence: CommandDiff | None = None
    truncated: bool = False
    """The log ended in a truncated line and only its valid prefix was replayed."""
    wall_s: float = 0.0
    sim_ps: int = 0

    @property
    def diverged(self) -> bool:
        return self.first_divergence is not None

    @property
    def commands_per_s(self) -> float:
        return self.n_commands / self.wall_s if self.wall_s > 0 else float("inf")

    @property
    def rms_diff(self) -> float:
        """RMS value difference over every compared value of every command."""
        n = sum(k.n_values for k in self.by_kind.values())
        return math.sqrt(sum(k.sum_sq_diff for k in self.by_kind.values()) / n) if n else 0.0

    def add(self, d: CommandDiff) -> None:
        self.n_commands += 1
        k = self.by_kind.setdefault(d.op, KindStats())
        k.count += 1
        k.n_values += d.n_values
        k.max_abs_diff = max(k.max_abs_diff, d.max_abs_diff)
        k.sum_sq_diff += d.sum_sq_diff
        if d.diverged:
            k.n_diverged += 1
            if self.first_divergence is None or d.index < self.first_divergence.index:
                self.first_divergence = d

    def summary(self) -> str:
        """A readable table."""
        lines = [f"replay of {self.log_name} ({self.form} log) on spec {self.spec_name!r}, seed {self.seed}: "
                 f"{self.n_commands} commands in {self.wall_s:.2f} s wall-clock "
                 f"({self.commands_per_s:,.0f} commands/s), {self.sim_ps / 1e6:,.3f} us simulated"
                 + (" [truncated log: valid prefix only]" if self.truncated else ""),
                 f"{'command':<10}{'count':>9}{'values':>11}{'max |diff|':>14}{'RMS diff':>14}{'diverged':>10}"]
        for op, k in sorted(self.by_kind.items()):
            lines.append(f"{op:<10}{k.count:>9}{k.n_values:>11}{k.max_abs_diff:>14.6g}{k.rms_diff:>14.6g}"
                         f"{k.n_diverged:>10}")
        d = self.first_divergence
        if d is None:
            lines.append("result: identical within tolerance")
        else:
            lines.append(f"result: DIVERGED; first at command #{d.index} ({d.op}, tile {d.tile}, log line {d.line}) "
                         f"{d.address}: max |diff| {d.max_abs_diff:.6g}, times {'match' if d.times_match else 'differ'}")
        return "\n".join(lines)


class _Comparator:
    def __init__(self, report: ReplayReport, atol: float, rtol: float, check_times: bool, csv_path: Path | None):
        self.report, self.atol, self.rtol, self.check_times = report, atol, rtol, check_times
        self._fh = open(csv_path, "w", newline="") if csv_path is not None else None
        self._csv = csv.writer(self._fh) if self._fh else None
        if self._csv:
            self._csv.writerow(CSV_COLUMNS)

    def compare(self, index: int, op: str, tile: int, line: int, recorded: Any, replayed: Any,
                times_match: bool = True, energy_diff_pj: float = 0.0) -> CommandDiff:
        n, max_abs, sum_sq, address, diverged = 0, 0.0, 0.0, "", False
        if recorded is None and replayed is None:
            pass
        elif recorded is None or replayed is None or np.shape(recorded) != np.shape(replayed):
            diverged, address = True, f"values of shape {np.shape(recorded)} replayed as {np.shape(replayed)}"
        else:
            rec = np.asarray(recorded, dtype=np.float64)
            rep = np.asarray(replayed, dtype=np.float64)
            diff = np.abs(rep - rec)
            n = diff.size
            if n:
                k = int(np.argmax(np.where(np.isnan(diff), np.inf, diff)))
                max_abs = float(diff.flat[k])
                sum_sq = float(np.sum(diff * diff))
                bad = ~(diff <= self.atol + self.rtol * np.abs(rec))
                if bad.any():
                    diverged = True
                    k = int(np.flatnonzero(bad.ravel())[0])
                    address = _address(op, recorded, k, np.shape(rec))
        if self.check_times and not times_match:
            diverged = True
            address = address or "times differ"
        if self.check_times and self.atol == 0 and self.rtol == 0 and energy_diff_pj != 0:
            diverged = True
            address = address or "energy differs"
        d = CommandDiff(index, op, tile, line, n, max_abs, sum_sq, times_match, energy_diff_pj, diverged, address)
        self.report.add(d)
        if self._csv:
            self._csv.writerow(d.row())
        return d

    def close(self) -> None:
        if self._fh:
            self._fh.close()


def _address(op: str, recorded: Any, k: int, shape: tuple) -> str:
    if op == "mvm" and len(shape) == 2:
        b, j = np.unravel_index(k, shape)
        return f"vector {b} output {j}"
    return f"cell {k}"


def _read_address(cmd: Any, k: int) -> str:
    rows, cols = cmd.cells()
    return f"row {int(rows[k])} col {int(cols[k])}" if k < rows.size else ""


def _urgent(env: simpy.Environment, delay: int) -> simpy.Event:
    """An event at now + *delay* processed before every normal event of that instant."""
    ev = simpy.Event(env)
    ev._ok = True
    ev._value = None
    env.schedule(ev, simpy.events.URGENT, delay)
    return ev


def replay(path: str | Path, spec: str | Path | twin.ChipSpec | None = None, seed: int | None = None, *,
           atol: float = 0.0, rtol: float = 0.0, csv_path: str | Path | None = None,
           allow_truncated: bool = False, check_times: bool | None = None) -> ReplayReport:
    """Replay the log *path* on a fresh twin and compare every command with its recording.

    *spec* and *seed* default to the log header's (the spec's YAML is embedded in twin logs of bundled
    or file specs). A value diverges when ``|replayed − recorded| > atol + rtol·|recorded|``; for twin
    logs, differing times or energies also count as divergence unless *check_times* is False (the
    default for hardware logs, whose timing is the hardware's). Raises LogError on bad input.
    """
    reader = read_log(path, allow_truncated=allow_truncated)
    try:
        header = reader.header
        if spec is None:
            chip_spec = header.load_spec()
            if chip_spec is None:
                if header.spec_name is None:
                    raise twin.LogError(reader.name, 1, "the log names no spec; pass --spec")
                chip_spec = twin.load_spec(header.spec_name)
        else:
            chip_spec = spec if isinstance(spec, twin.ChipSpec) else twin.load_spec(spec)
        seed = int(header.seed or 0) if seed is None else int(seed)
        chip = twin.build(chip_spec, seed)
        report = ReplayReport(reader.name, reader.form, chip_spec.name, seed)
        if check_times is None:
            check_times = reader.form == "twin"
        comparator = _Comparator(report, atol, rtol, check_times, Path(csv_path) if csv_path else None)
        wall = time.perf_counter()
        try:
            if reader.form == "twin":
                _replay_twin(chip, iter(reader), comparator)
            else:
                _replay_hardware(chip, iter(reader), comparator)
        finally:
            comparator.close()
        report.wall_s = time.perf_counter() - wall
        report.sim_ps = chip.now_ps
        report.truncated = reader.truncated
    finally:
        reader.close()
    if report.diverged:
        d = report.first_divergence
        log.warning("replay.diverged", log=report.log_name, index=d.index, op=d.op, tile=d.tile, address=d.address,
                    max_abs_diff=d.max_abs_diff, n_diverged=sum(k.n_diverged for k in report.by_kind.values()))
    return report


def _replay_twin(chip: twin.Chip, records: Any, comparator: _Comparator) -> None:
    env = chip.env
    link = chip.host_link
    anchors: dict[int, list[simpy.Event]] = {}
    state = {"offset": None, "error": None}

    def finished(rec: LogRecord, event: simpy.Event) -> None:
        res = event.value
        times_match = (res.start_ps, res.end_ps, res.exec_start_ps, res.exec_end_ps) == \
            (rec.start_ps, rec.end_ps, rec.exec_start_ps, rec.exec_end_ps)
        e_diff = res.total_energy_pj - float(sum(rec.energy_pj.values())) if rec.energy_pj else 0.0
        d = comparator.compare(rec.index, type(rec.command).__name__.lower(), rec.command.tile, rec.line,
                               rec.values, res.values, times_match, e_diff)
        if d.diverged and d.n_values and isinstance(rec.command, twin.Read) and d.address.startswith("cell "):
            d.address = _read_address(rec.command, int(d.address[5:]))

    def driver():
        try:
            yield from issue()
        except twin.LogError as exc:  # SimPy cannot re-raise it through the process; raise it after the run
            state["log_error"] = exc

    def issue():
        last_t = None
        for rec in records:
            t = rec.start_ps
            if t > env.now or (t == env.now and last_t is None):
                # Wake before every normal event of instant t; link_seq then says how many of them go first.
                yield _urgent(env, t - env.now)
                for old in [k for k in anchors if k < t]:
                    del anchors[old]
            last_t = t
            if rec.link_seq is not None:
                if state["offset"] is None:
                    state["offset"] = rec.link_seq - link.n_reserved
                need = rec.link_seq - state["offset"] - link.n_reserved
                if need > 0:
                    waiting = [a for a in anchors.get(env.now, ()) if not a.processed]
                    if waiting:
                        yield waiting[min(need, len(waiting)) - 1]
            else:
                yield env.timeout(0)  # no booking order recorded: after everything else of this instant
            try:
                event = chip.submit(rec.command)
            except twin.CommandError as exc:
                state["error"] = (rec, exc)
                return
            event.callbacks.append(lambda ev, rec=rec: finished(rec, ev))
            if rec.link_seq is not None and rec.exec_end_ps >= env.now:
                # An anchor right behind this command's end-of-execution event: its results are booked
                # on the link just before the anchor fires.
                anchors.setdefault(rec.exec_end_ps, []).append(env.timeout(rec.exec_end_ps - env.now))

    env.process(driver())
    env.run()
    if state.get("log_error") is not None:
        raise state["log_error"]
    if state["error"] is not None:
        rec, exc = state["error"]
        comparator.compare(rec.index, type(rec.command).__name__.lower(), rec.command.tile, rec.line, rec.values,
                           None, False, 0.0).address = f"rejected by the replay chip: {exc}"


def _hardware_command(ev: HardwareEvent) -> Any:
    if ev.op == "pulse":
        return twin.Pulse(ev.tile, ev.rows, ev.cols, ev.polarity, ev.v_pulse_v, ev.width_ps, ev.v_gate_v)
    return twin.Read(ev.tile, ev.rows, ev.cols)


def _replay_hardware(chip: twin.Chip, events: Any, comparator: _Comparator) -> None:
    """Group runs of events with the same op, tile and time into one command; issue each blocking."""
    group: list[HardwareEvent] = []
    index = 0

    def flush() -> None:
        nonlocal index
        if not group:
            return
        first = group[0]
        ev = first if len(group) == 1 else HardwareEvent(
            first.op, first.t_ps, first.tile, np.concatenate([g.rows for g in group]),
            np.concatenate([g.cols for g in group]),
            *(None if getattr(first, k) is None else np.concatenate([getattr(g, k) for g in group])
              for k in ("polarity", "v_pulse_v", "width_ps", "v_gate_v", "g_us")), line=first.line)
        group.clear()
        if ev.t_ps > chip.now_ps:
            chip.run(ev.t_ps)
        cmd = _hardware_command(ev)
        res = chip.execute(cmd)
        d = comparator.compare(index, ev.op, ev.tile, ev.line, ev.g_us if ev.op == "read" else None,
                               None if res.values is None else np.asarray(res.values).ravel())
        if d.n_values and d.address.startswith("cell "):
            d.address = _read_address(cmd, int(d.address[5:]))
        index += 1

    for ev in events:
        if group and (ev.op != group[0].op or ev.tile != group[0].tile or ev.t_ps != group[0].t_ps):
            flush()
        group.append(ev)
    flush()
