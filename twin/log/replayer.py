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
from operator import itemgetter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import structlog

import twin
from twin.clock import Event
from twin.log.format import HardwareEvent, LogReader, LogRecord, hardware_event, read_log, record_from_json
from twin.ledger import COMPONENTS

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
                times_match: bool = True, energy_diff_pj: float = 0.0, read: Any = None,
                rejected: str | None = None) -> CommandDiff:
        """Compare one command's values (and times and energy); *read*, the Read command when the values
        are conductances of its cells, lets a divergence be placed at its row and column; *rejected* says
        why the replay chip refused the command (a divergence)."""
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
                    address = _read_address(read, k) if read is not None else _address(op, recorded, k, np.shape(rec))
        if rejected is not None:
            diverged, address = True, rejected
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

    def compare_cells(self, index: np.ndarray, ops: twin.CellOps, line: np.ndarray, recorded: np.ndarray,
                      replayed: np.ndarray, times_match: np.ndarray, energy_diff_pj: np.ndarray) -> None:
        """:meth:`compare` for a run of one-cell commands at once (reads compare one value, pulses none)."""
        is_read = ops.is_read
        diff = np.where(is_read, np.abs(replayed - recorded), 0.0)
        sum_sq = diff * diff
        bad_value = is_read & ~(diff <= self.atol + self.rtol * np.abs(np.where(is_read, recorded, 0.0)))
        diverged = bad_value.copy()
        if self.check_times:
            diverged |= ~times_match
            if self.atol == 0 and self.rtol == 0:
                diverged |= energy_diff_pj != 0
        report = self.report
        report.n_commands += index.size
        for op, sel in (("read", is_read), ("pulse", ~is_read)):
            n = int(np.count_nonzero(sel))
            if not n:
                continue
            k = report.by_kind.setdefault(op, KindStats())
            k.count += n
            k.n_values += n if op == "read" else 0
            k.max_abs_diff = max(k.max_abs_diff, float(diff[sel].max()))
            k.sum_sq_diff += float(sum_sq[sel].sum())
            k.n_diverged += int(np.count_nonzero(diverged & sel))
        first = np.flatnonzero(diverged)
        if first.size and (report.first_divergence is None or index[first[0]] < report.first_divergence.index):
            report.first_divergence = self._cell_diff(first[0], index, ops, line, diff, sum_sq, bad_value, times_match,
                                                      energy_diff_pj, diverged)
        if self._csv:
            for j in range(index.size):
                self._csv.writerow(self._cell_diff(j, index, ops, line, diff, sum_sq, bad_value, times_match,
                                                   energy_diff_pj, diverged).row())

    @staticmethod
    def _cell_diff(j, index, ops, line, diff, sum_sq, bad_value, times_match, energy_diff_pj, diverged) -> CommandDiff:
        read = bool(ops.is_read[j])
        if bad_value[j]:
            address = f"row {int(ops.rows[j])} col {int(ops.cols[j])}"
        elif diverged[j]:
            address = "times differ" if not times_match[j] else "energy differs"
        else:
            address = ""
        return CommandDiff(int(index[j]), "read" if read else "pulse", int(ops.tile), int(line[j]), int(read),
                           float(diff[j]), float(sum_sq[j]), bool(times_match[j]), float(energy_diff_pj[j]),
                           bool(diverged[j]), address)

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
                _replay_twin(chip, reader, comparator)
            else:
                _replay_hardware(chip, reader, comparator)
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


def _replay_twin(chip: twin.Chip, reader: LogReader, comparator: _Comparator) -> None:
    """Replay in index order. Runs of one-cell reads and pulses that ran alone on the chip (each issued
    after everything before it had finished, and finished before the next was issued) go through
    :meth:`twin.Chip.execute_cells` in columns; everything else through the event-exact path."""
    link_state: dict[str, Any] = {"offset": None}
    run = _CellRun()
    slow: list[LogRecord] = []
    pending: tuple | None = None  # (line, raw dict, cell fields or None, decoded record or None, start, end, idle)
    max_end = -1  # latest end of the records before the pending one

    def decode(lineno: int, d: dict) -> LogRecord:
        try:
            return record_from_json(d, lineno)
        except KeyError as exc:
            raise twin.LogError(reader.name, lineno, f"malformed record: missing field {exc.args[0]!r}") from None
        except (ValueError, TypeError, twin.CommandError) as exc:
            raise twin.LogError(reader.name, lineno, f"malformed record: {exc}") from None

    def settle(next_idle: bool) -> None:
        """Decide the pending record: into the run of cell ops, or into the group for the event path."""
        lineno, d, cell, rec, _, _, idle = pending
        if cell is not None and idle and next_idle:
            if slow:
                _replay_twin_events(chip, slow, comparator, link_state)
                slow.clear()
            if not run.accepts(cell):
                run.flush(chip, comparator, link_state)
            run.add(cell)
        else:
            run.flush(chip, comparator, link_state)
            slow.append(rec if rec is not None else decode(lineno, d))

    for lineno, d in reader.raw():
        if link_state.get("stopped"):
            return
        cell = _cell_fields(d, lineno)
        if cell is None:
            rec = decode(lineno, d)
            start, end = rec.start_ps, rec.end_ps
        else:
            rec, start, end = None, cell[0][_START], cell[0][_END]
        if pending is not None:
            p_end = pending[5]
            if pending[6] and start >= max_end and start >= p_end and pending[2] is not None and not slow \
                    and run.accepts(pending[2]):
                run.add(pending[2])  # the common case of settle(), inline
            else:
                settle(start >= max_end and start >= p_end)
            if p_end > max_end:
                max_end = p_end
        pending = (lineno, d, cell, rec, start, end, start >= max_end)
    if pending is not None and not link_state.get("stopped"):
        settle(True)
    if not link_state.get("stopped"):
        run.flush(chip, comparator, link_state)
    if slow and not link_state.get("stopped"):
        _replay_twin_events(chip, slow, comparator, link_state)


# Columns of a one-cell command line, as _cell_fields returns them: integers, then floats.
(_INDEX, _TILE, _ROW, _COL, _NDIM, _IS_READ, _IS_SET, _WIDTH, _START, _END, _EXEC_START, _EXEC_END, _LINK_SEQ,
 _LINE) = range(14)
(_V_PULSE, _V_GATE, _VALUE) = range(3)
_ENERGY = 3  # floats 3..8: energy by component, in the order of twin.ledger.COMPONENTS
_RUN_MAX = 8192
"""Cell ops executed per execute_cells call (memory stays bounded on long runs)."""


def _unwrap_int(x: Any) -> tuple[int, int] | None:
    """(value, ndim) of an address given as an int or a one-element list of an int."""
    if type(x) is int:
        return x, 0
    if type(x) is list and len(x) == 1 and type(x[0]) is int:
        return x[0], 1
    return None


def _number(x: Any) -> float | None:
    if type(x) is float or type(x) is int:
        return float(x)
    if type(x) is list and len(x) == 1 and (type(x[0]) is float or type(x[0]) is int):
        return float(x[0])
    return None


_RECORD_FIELDS = itemgetter("cmd", "i", "start_ps", "end_ps", "exec_start_ps", "exec_end_ps", "link_seq", "energy_pj",
                            "values")
_ENERGY_FIELDS = itemgetter(*COMPONENTS)


def _cell_fields(d: dict, lineno: int) -> tuple[tuple, tuple] | None:
    """(integer fields, float fields) of a twin-log line holding a one-cell Read or Pulse in its plain
    form, or None for anything else (which then takes the general path, with its checks and errors).
    Called once per line of a replay, so written for speed: plain type tests, no helper calls for the
    common scalar addresses."""
    try:
        cmd, index, start, end, xs, xe, seq, energy, value = _RECORD_FIELDS(d)
        op, tile, row, col = cmd["op"], cmd["tile"], cmd["rows"], cmd["cols"]
        e = _ENERGY_FIELDS(energy)
    except (KeyError, TypeError):
        return None
    if type(start) is not int or type(end) is not int or type(xs) is not int or type(xe) is not int \
            or type(seq) is not int or type(index) is not int or type(tile) is not int or len(energy) != 6:
        return None
    ndim = 0
    if type(row) is not int or type(col) is not int:
        row, col = _unwrap_int(row), _unwrap_int(col)
        if row is None or col is None:
            return None
        ndim = row[1] | col[1]
        row, col = row[0], col[0]
    if op == "read":
        if len(cmd) != 4:
            return None
        is_read, is_set, width, v, gate = 1, 0, 0, 0.0, 0.0
        if ndim:
            value = value[0] if type(value) is list and len(value) == 1 else None
        if type(value) is not float:
            if type(value) is not int:
                return None
            value = float(value)
    elif op == "pulse":
        if len(cmd) != 8 or value is not None:
            return None
        pol, v, width, gate = cmd["polarity"], cmd["v_pulse_v"], cmd["width_ps"], cmd["v_gate_v"]
        if type(v) is not float or type(gate) is not float:
            v, gate = _number(v), _number(gate)
        if type(pol) is list and len(pol) == 1:
            pol = pol[0]
        if type(width) is list and len(width) == 1:
            width = width[0]
        if (pol != "set" and pol != "reset") or type(width) is not int or v is None or gate is None:
            return None
        is_read, is_set, value = 0, int(pol == "set"), math.nan
    else:
        return None
    if type(e[0]) is not float or type(e[1]) is not float or type(e[2]) is not float or type(e[3]) is not float \
            or type(e[4]) is not float or type(e[5]) is not float:
        return None
    return ((index, tile, row, col, ndim, is_read, is_set, width, start, end, xs, xe, seq, lineno),
            (v, gate, value, *e))


class _CellRun:
    """One-cell reads and pulses of one tile waiting to be executed together, as flat lists of fields."""

    def __init__(self) -> None:
        self.ints: list[int] = []
        self.floats: list[float] = []
        self.tile: int | None = None
        self.n = 0

    def accepts(self, cell: tuple) -> bool:
        return self.n < _RUN_MAX and (self.tile is None or cell[0][_TILE] == self.tile)

    def add(self, cell: tuple) -> None:
        self.ints.extend(cell[0])
        self.floats.extend(cell[1])
        self.tile = cell[0][_TILE]
        self.n += 1

    def flush(self, chip: twin.Chip, comparator: "_Comparator", link_state: dict) -> None:
        if not self.n:
            return
        ints = np.array(self.ints, dtype=np.int64).reshape(self.n, -1)
        floats = np.array(self.floats, dtype=np.float64).reshape(self.n, -1)
        tile = self.tile
        self.ints, self.floats, self.tile, self.n = [], [], None, 0
        ops = twin.CellOps(tile, ints[:, _IS_READ] == 1, ints[:, _ROW], ints[:, _COL], ints[:, _IS_SET] == 1,
                           floats[:, _V_PULSE], ints[:, _WIDTH], floats[:, _V_GATE], ints[:, _START], ints[:, _NDIM])
        if link_state["offset"] is None:
            link_state["offset"] = int(ints[0, _LINK_SEQ]) - chip.host_link.n_reserved
        try:
            res = chip.execute_cells(ops)
        except twin.CommandError:  # a bad op: replay these one by one, so its error is reported as usual
            records = [LogRecord(int(i[_INDEX]), ops.command(k),
                                 None if ops.is_read[k] == 0 else np.array(f[_VALUE]).reshape(ops.command(k).shape),
                                 int(i[_START]), int(i[_END]), int(i[_EXEC_START]), int(i[_EXEC_END]),
                                 dict(zip(COMPONENTS, f[_ENERGY:].tolist())), {}, int(i[_LINK_SEQ]), int(i[_LINE]))
                       for k, (i, f) in enumerate(zip(ints, floats))]
            _replay_twin_events(chip, records, comparator, link_state)
            return
        times_match = ((res.start_ps == ints[:, _START]) & (res.end_ps == ints[:, _END])
                       & (res.exec_start_ps == ints[:, _EXEC_START]) & (res.exec_end_ps == ints[:, _EXEC_END]))
        recorded_total = floats[:, _ENERGY]
        replayed_total = res.energy_pj[:, 0]
        for j in range(1, len(COMPONENTS)):  # summed in component order, as Result.total_energy_pj does
            recorded_total = recorded_total + floats[:, _ENERGY + j]
            replayed_total = replayed_total + res.energy_pj[:, j]
        comparator.compare_cells(ints[:, _INDEX], ops, ints[:, _LINE], floats[:, _VALUE], res.values, times_match,
                                 replayed_total - recorded_total)


def _replay_twin_events(chip: twin.Chip, records: list[LogRecord], comparator: _Comparator,
                        link_state: dict) -> None:
    """Replay *records* (issued on an idle chip) through the event machinery, exactly in their recorded order."""
    env = chip.env
    link = chip.host_link
    anchors: dict[int, list[Event]] = {}
    state = {"offset": link_state["offset"], "error": None}

    def finished(rec: LogRecord, event: Event) -> None:
        res = event.value
        times_match = (res.start_ps, res.end_ps, res.exec_start_ps, res.exec_end_ps) == \
            (rec.start_ps, rec.end_ps, rec.exec_start_ps, rec.exec_end_ps)
        e_diff = res.total_energy_pj - _total_pj(rec.energy_pj) if rec.energy_pj else 0.0
        comparator.compare(rec.index, type(rec.command).__name__.lower(), rec.command.tile, rec.line,
                           rec.values, res.values, times_match, e_diff,
                           read=rec.command if isinstance(rec.command, twin.Read) else None)

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
                yield env.urgent_timeout(t - env.now)
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
    link_state["offset"] = state["offset"]
    if state.get("log_error") is not None:
        raise state["log_error"]
    if state["error"] is not None:  # the replay stops at a command the replay chip refuses
        link_state["stopped"] = True
        rec, exc = state["error"]
        comparator.compare(rec.index, type(rec.command).__name__.lower(), rec.command.tile, rec.line, rec.values,
                           None, False, 0.0, rejected=f"rejected by the replay chip: {exc}")


def _total_pj(energy_pj: dict) -> float:
    """A recorded energy breakdown's total, summed in the order of COMPONENTS (as a Result sums it), then
    any other keys."""
    total = 0
    for comp in COMPONENTS:
        total += energy_pj.get(comp, 0.0)
    for key, value in energy_pj.items():
        if key not in COMPONENTS:
            total += value
    return float(total)


def _hardware_command(ev: HardwareEvent) -> Any:
    if ev.op == "pulse":
        return twin.Pulse(ev.tile, ev.rows, ev.cols, ev.polarity, ev.v_pulse_v, ev.width_ps, ev.v_gate_v)
    return twin.Read(ev.tile, ev.rows, ev.cols)


def _replay_hardware(chip: twin.Chip, reader: LogReader, comparator: _Comparator) -> None:
    """Group runs of events with the same op, tile and time into one command; issue each blocking at its
    time (or when the previous one is back). Runs of one-cell commands go through ``execute_cells``."""
    run = _HardwareCellRun()
    group: list[Any] = []  # HardwareEvents, or the fields of one-cell events (_hardware_cell)
    index = 0

    def key(item: Any) -> tuple:
        return (item.op, item.tile, item.t_ps) if isinstance(item, HardwareEvent) else item[:3]

    def emit() -> None:
        nonlocal index
        if len(group) == 1 and not isinstance(group[0], HardwareEvent):
            if not run.accepts(group[0]):
                run.flush(chip, comparator)
            run.add(group[0], index)
        else:
            run.flush(chip, comparator)
            _replay_hardware_group([g if isinstance(g, HardwareEvent) else _cell_event(g) for g in group], index,
                                   chip, comparator)
        index += 1
        group.clear()

    for lineno, d in reader.raw():
        item = _hardware_cell(d, lineno)
        if item is None:
            try:
                item = hardware_event(d, lineno)
            except KeyError as exc:
                raise twin.LogError(reader.name, lineno, f"malformed record: missing field {exc.args[0]!r}") from None
            except (ValueError, TypeError, twin.CommandError) as exc:
                raise twin.LogError(reader.name, lineno, f"malformed record: {exc}") from None
        if group and key(item) != key(group[0]):
            emit()
        group.append(item)
    if group:
        emit()
    run.flush(chip, comparator)


def _hardware_cell(d: dict, lineno: int) -> tuple | None:
    """(op, tile, t_ps, row, col, is_set, v_pulse_v, width_ps, v_gate_v, g_us, line) of a hardware-log line
    on one cell in its plain form, or None for anything else (decoded by the general path)."""
    try:
        op, t, tile = d["op"], d["t_ps"], d.get("tile", 0)
        row, col = _unwrap_int(d["rows"]), _unwrap_int(d["cols"])
        if op == "read":
            g = _number(d["g_us"])
            pulse = (0, 0.0, 0, 0.0)
            ok = g is not None
        elif op == "pulse":
            pol, width = d["polarity"], d["width_ps"]
            pol = pol[0] if type(pol) is list and len(pol) == 1 else pol
            width = width[0] if type(width) is list and len(width) == 1 else width
            v, gate, g = _number(d["v_pulse_v"]), _number(d["v_gate_v"]), math.nan
            pulse = (int(pol == "set"), v, width, gate)
            ok = pol in ("set", "reset") and type(width) is int and v is not None and gate is not None
        else:
            return None
    except (KeyError, TypeError):
        return None
    if not ok or row is None or col is None or type(t) is not int or type(tile) is not int:
        return None
    return (op, tile, t, row[0], col[0], *pulse, g, lineno)


def _cell_event(cell: tuple) -> HardwareEvent:
    """The HardwareEvent of one-cell fields (when it joins a multi-cell group)."""
    op, tile, t, row, col, is_set, v, width, gate, g, line = cell
    one = (lambda x, dtype: np.array([x], dtype=dtype))
    if op == "read":
        return HardwareEvent(op, t, tile, one(row, np.int64), one(col, np.int64), g_us=one(g, np.float64), line=line)
    return HardwareEvent(op, t, tile, one(row, np.int64), one(col, np.int64), one(bool(is_set), bool),
                         one(v, np.float64), one(width, np.int64), one(gate, np.float64), line=line)


class _HardwareCellRun:
    """One-cell hardware events of one tile, each its own command, waiting to run together."""

    def __init__(self) -> None:
        self.cells: list[tuple] = []
        self.indices: list[int] = []

    def accepts(self, cell: tuple) -> bool:
        return len(self.cells) < _RUN_MAX and (not self.cells or cell[1] == self.cells[0][1])

    def add(self, cell: tuple, index: int) -> None:
        self.cells.append(cell)
        self.indices.append(index)

    def flush(self, chip: twin.Chip, comparator: _Comparator) -> None:
        if not self.cells:
            return
        ops_, tiles, t, rows, cols, is_set, v, width, gate, g, line = zip(*self.cells)
        index = np.array(self.indices, dtype=np.int64)
        self.cells, self.indices = [], []
        is_read = np.array(ops_) == "read"
        ops = twin.CellOps(tiles[0], is_read, rows, cols, np.array(is_set, dtype=bool), v, width, gate, t)
        res = chip.execute_cells(ops)
        n = index.size
        comparator.compare_cells(index, ops, np.array(line, dtype=np.int64), np.array(g, dtype=np.float64),
                                 res.values, np.ones(n, dtype=bool), np.zeros(n))


def _replay_hardware_group(group: list[HardwareEvent], index: int, chip: twin.Chip, comparator: _Comparator) -> None:
    """One command made of *group* (events of one op, tile and time), issued blocking at that time."""
    first = group[0]
    ev = first if len(group) == 1 else HardwareEvent(
        first.op, first.t_ps, first.tile, np.concatenate([g.rows for g in group]),
        np.concatenate([g.cols for g in group]),
        *(None if getattr(first, k) is None else np.concatenate([getattr(g, k) for g in group])
          for k in ("polarity", "v_pulse_v", "width_ps", "v_gate_v", "g_us")), line=first.line)
    if ev.t_ps > chip.now_ps:
        chip.run(ev.t_ps)
    cmd = _hardware_command(ev)
    res = chip.execute(cmd)
    comparator.compare(index, ev.op, ev.tile, ev.line, ev.g_us if ev.op == "read" else None,
                       None if res.values is None else np.asarray(res.values).ravel(),
                       read=cmd if ev.op == "read" else None)
