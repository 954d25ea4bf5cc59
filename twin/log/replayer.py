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
from twin.hostlink import HostLink
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


@dataclass(slots=True)
class _LinkOrder:
    """Where the recorded host-link bookings (``link_seq``) stand against the replay chip's: they differ by a
    constant offset, known from the first command that recorded one; and whether the replay stopped at a
    command the replay chip refused."""

    offset: int | None = None
    stopped: bool = False

    def align(self, link_seq: int, link: HostLink) -> None:
        """Fix the offset, if not yet known, from a command recorded as *link_seq* about to book *link*."""
        if self.offset is None:
            self.offset = link_seq - link.n_reserved

    def bookings_ahead(self, link_seq: int, link: HostLink) -> int:
        """How many bookings the replay chip's link must make before the one recorded as *link_seq*."""
        self.align(link_seq, link)
        return link_seq - self.offset - link.n_reserved


@dataclass(slots=True)
class _Pending:
    """The last line read of a twin log, held until the next line's start says whether it ran alone on the
    chip; one object refilled line after line (``raw`` None: nothing held yet)."""

    line: int = 0
    raw: dict | None = None
    record: LogRecord | None = None
    """The decoded record, for a line that is not a plain one-cell Read or Pulse (else None)."""
    start_ps: int = 0
    end_ps: int = 0
    idle: bool = False
    """Issued when every earlier command had finished."""
    tile: int = -1
    cell_ints: tuple | None = None
    """A one-cell Read or Pulse's integer columns (``_CELL_INTS``), else None."""
    cell_floats: tuple | None = None
    """Its float columns (``_CELL_FLOATS``)."""


def _replay_twin(chip: twin.Chip, reader: LogReader, comparator: _Comparator) -> None:
    """Replay in index order. Runs of one-cell reads and pulses that ran alone on the chip (each issued
    after everything before it had finished, and finished before the next was issued) go through
    :meth:`twin.Chip.execute_cells` in columns; everything else through the event-exact path."""
    link_order = _LinkOrder()
    run = _CellRun(check_times=True)
    slow: list[LogRecord] = []
    pending = _Pending()
    max_end = -1  # latest end of the records before the pending one

    def decode(lineno: int, d: dict) -> LogRecord:
        try:
            return record_from_json(d, lineno)
        except KeyError as exc:
            raise twin.LogError(reader.name, lineno, f"malformed record: missing field {exc.args[0]!r}") from None
        except (ValueError, TypeError, twin.CommandError) as exc:
            raise twin.LogError(reader.name, lineno, f"malformed record: {exc}") from None

    def settle(p: _Pending, next_idle: bool) -> None:
        """Decide the pending record: into the run of cell ops, or into the group for the event path."""
        if p.cell_ints is not None and p.idle and next_idle:
            if slow:
                _replay_twin_events(chip, slow, comparator, link_order)
                slow.clear()
            if not run.accepts(p.tile):
                run.flush(chip, comparator, link_order)
            run.add(p.tile, p.cell_ints, p.cell_floats)
        else:
            run.flush(chip, comparator, link_order)
            slow.append(p.record if p.record is not None else decode(p.line, p.raw))

    for lineno, d in reader.raw():
        if link_order.stopped:
            return
        cell = _cell_fields(d, lineno)
        if cell is None:
            rec = decode(lineno, d)
            tile, start, end, ints, floats = -1, rec.start_ps, rec.end_ps, None, None
        else:
            rec = None
            tile, start, end, ints, floats = cell
        if pending.raw is not None:
            p_end = pending.end_ps
            if pending.idle and start >= max_end and start >= p_end and pending.cell_ints is not None and not slow \
                    and run.accepts(pending.tile):
                run.add(pending.tile, pending.cell_ints, pending.cell_floats)  # the common case of settle(), inline
            else:
                settle(pending, start >= max_end and start >= p_end)
            if p_end > max_end:
                max_end = p_end
        pending.line, pending.raw, pending.record, pending.start_ps, pending.end_ps = lineno, d, rec, start, end
        pending.idle, pending.tile, pending.cell_ints, pending.cell_floats = start >= max_end, tile, ints, floats
    if pending.raw is not None and not link_order.stopped:
        settle(pending, True)
    if not link_order.stopped:
        run.flush(chip, comparator, link_order)
    if slow and not link_order.stopped:
        _replay_twin_events(chip, slow, comparator, link_order)


_CELL_INTS = np.dtype([(name, np.int64) for name in (
    "index", "tile", "row", "col", "address_ndim", "is_read", "is_set", "width_ps", "start_ps", "end_ps",
    "exec_start_ps", "exec_end_ps", "link_seq", "line")])
"""Integer columns of a one-cell command; ``start_ps`` is when it was issued (a hardware log's time stamp,
its other times and link_seq left 0)."""
_CELL_FLOATS = np.dtype([("v_pulse_v", np.float64), ("v_gate_v", np.float64), ("value", np.float64),
                         ("energy_pj", np.float64, (len(COMPONENTS),))])
"""Float columns of a one-cell command: pulse settings, the recorded value (NaN for pulses), the recorded
energy by component in the order of COMPONENTS (0 in hardware logs)."""
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


def _cell_fields(d: dict, lineno: int) -> tuple[int, int, int, tuple, tuple] | None:
    """(tile, start_ps, end_ps, integer columns, float columns) of a twin-log line holding a one-cell Read or
    Pulse in its plain form (columns as ``_CELL_INTS`` and ``_CELL_FLOATS`` name them), or None for anything
    else (which then takes the general path, with its checks and errors). Called once per line of a replay,
    so written for speed: plain type tests, no helper calls for the common scalar addresses."""
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
    return (tile, start, end, (index, tile, row, col, ndim, is_read, is_set, width, start, end, xs, xe, seq, lineno),
            (v, gate, value, *e))


class _CellRun:
    """One-cell reads and pulses of one tile waiting to be executed together (``execute_cells``), as flat lists
    of their columns (``_CELL_INTS``, ``_CELL_FLOATS``). With *check_times* (twin logs), recorded times and
    energies are compared too, and a run with an op the replay chip refuses is replayed one by one."""

    def __init__(self, check_times: bool) -> None:
        self.check_times = check_times
        self.ints: list[int] = []
        self.floats: list[float] = []
        self.hardware: list[tuple] = []
        """Hardware-log cells (``_hardware_cell``'s fields), turned into columns together at the flush."""
        self.indices: list[int] = []
        """The command index of each hardware-log cell."""
        self.tile: int | None = None
        self.n = 0

    def accepts(self, tile: int) -> bool:
        return self.n < _RUN_MAX and (self.tile is None or tile == self.tile)

    def add(self, tile: int, ints: tuple, floats: tuple) -> None:
        """Add a twin-log cell: its columns as ``_cell_fields`` gives them."""
        self.ints.extend(ints)
        self.floats.extend(floats)
        self.tile = tile
        self.n += 1

    def add_hardware(self, cell: tuple, index: int) -> None:
        """Add a hardware-log cell (``_hardware_cell``'s fields) as command *index*."""
        self.hardware.append(cell)
        self.indices.append(index)
        self.tile = cell[1]
        self.n += 1

    def _columns(self) -> tuple[np.ndarray, np.ndarray]:
        """The cells added so far as ``_CELL_INTS`` and ``_CELL_FLOATS`` records; empties the run."""
        if self.hardware:
            op, _, t_ps, row, col, is_set, v_pulse_v, width_ps, v_gate_v, g_us, line = zip(*self.hardware)
            ints, floats = np.zeros(self.n, dtype=_CELL_INTS), np.zeros(self.n, dtype=_CELL_FLOATS)
            ints["index"], ints["tile"], ints["row"], ints["col"] = self.indices, self.tile, row, col
            ints["is_read"], ints["is_set"], ints["width_ps"] = np.array(op) == "read", is_set, width_ps
            ints["start_ps"], ints["line"] = t_ps, line
            floats["v_pulse_v"], floats["v_gate_v"], floats["value"] = v_pulse_v, v_gate_v, g_us
        else:
            ints = np.array(self.ints, dtype=np.int64).view(_CELL_INTS)
            floats = np.array(self.floats, dtype=np.float64).view(_CELL_FLOATS)
        self.ints, self.floats, self.hardware, self.indices, self.n = [], [], [], [], 0
        return ints, floats

    def flush(self, chip: twin.Chip, comparator: "_Comparator", link_order: _LinkOrder | None = None) -> None:
        if not self.n:
            return
        tile = self.tile
        ints, floats = self._columns()
        self.tile = None
        ops = twin.CellOps(tile, ints["is_read"] == 1, ints["row"], ints["col"], ints["is_set"] == 1,
                           floats["v_pulse_v"], ints["width_ps"], floats["v_gate_v"], ints["start_ps"],
                           ints["address_ndim"])
        if not self.check_times:
            res = chip.execute_cells(ops)
            comparator.compare_cells(ints["index"], ops, ints["line"], floats["value"], res.values,
                                     np.ones(len(ops), dtype=bool), np.zeros(len(ops)))
            return
        link_order.align(int(ints["link_seq"][0]), chip.host_link)
        try:
            res = chip.execute_cells(ops)
        except twin.CommandError:  # a bad op: replay these one by one, so its error is reported as usual
            records = [LogRecord(int(i["index"]), ops.command(k),
                                 None if ops.is_read[k] == 0 else np.array(f["value"]).reshape(ops.command(k).shape),
                                 int(i["start_ps"]), int(i["end_ps"]), int(i["exec_start_ps"]), int(i["exec_end_ps"]),
                                 dict(zip(COMPONENTS, f["energy_pj"].tolist())), {}, int(i["link_seq"]),
                                 int(i["line"]))
                       for k, (i, f) in enumerate(zip(ints, floats))]
            _replay_twin_events(chip, records, comparator, link_order)
            return
        times_match = ((res.start_ps == ints["start_ps"]) & (res.end_ps == ints["end_ps"])
                       & (res.exec_start_ps == ints["exec_start_ps"]) & (res.exec_end_ps == ints["exec_end_ps"]))
        recorded_pj = floats["energy_pj"]
        recorded_total = recorded_pj[:, 0]
        replayed_total = res.energy_pj[:, 0]
        for j in range(1, len(COMPONENTS)):  # summed in component order, as Result.total_energy_pj does
            recorded_total = recorded_total + recorded_pj[:, j]
            replayed_total = replayed_total + res.energy_pj[:, j]
        comparator.compare_cells(ints["index"], ops, ints["line"], floats["value"], res.values, times_match,
                                 replayed_total - recorded_total)


def _replay_twin_events(chip: twin.Chip, records: list[LogRecord], comparator: _Comparator,
                        link_order: _LinkOrder) -> None:
    """Replay *records* (issued on an idle chip) through the event machinery, exactly in their recorded order."""
    env = chip.env
    link = chip.host_link
    anchors: dict[int, list[Event]] = {}
    refused: tuple[LogRecord, twin.CommandError] | None = None
    log_error: twin.LogError | None = None

    def finished(rec: LogRecord, event: Event) -> None:
        res = event.value
        times_match = (res.start_ps, res.end_ps, res.exec_start_ps, res.exec_end_ps) == \
            (rec.start_ps, rec.end_ps, rec.exec_start_ps, rec.exec_end_ps)
        e_diff = res.total_energy_pj - _total_pj(rec.energy_pj) if rec.energy_pj else 0.0
        comparator.compare(rec.index, rec.command.kind, rec.command.tile, rec.line, rec.values, res.values,
                           times_match, e_diff, read=rec.command if isinstance(rec.command, twin.Read) else None)

    def driver():
        nonlocal log_error
        try:
            yield from issue()
        except twin.LogError as exc:  # SimPy cannot re-raise it through the process; raise it after the run
            log_error = exc

    def issue():
        nonlocal refused
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
                need = link_order.bookings_ahead(rec.link_seq, link)
                if need > 0:
                    waiting = [a for a in anchors.get(env.now, ()) if not a.processed]
                    if waiting:
                        yield waiting[min(need, len(waiting)) - 1]
            else:
                yield env.timeout(0)  # no booking order recorded: after everything else of this instant
            try:
                event = chip.submit(rec.command)
            except twin.CommandError as exc:
                refused = (rec, exc)
                return
            event.callbacks.append(lambda ev, rec=rec: finished(rec, ev))
            if rec.link_seq is not None and rec.exec_end_ps >= env.now:
                # An anchor right behind this command's end-of-execution event: its results are booked
                # on the link just before the anchor fires.
                anchors.setdefault(rec.exec_end_ps, []).append(env.timeout(rec.exec_end_ps - env.now))

    env.process(driver())
    env.run()
    if log_error is not None:
        raise log_error
    if refused is not None:  # the replay stops at a command the replay chip refuses
        link_order.stopped = True
        rec, exc = refused
        comparator.compare(rec.index, rec.command.kind, rec.command.tile, rec.line, rec.values, None, False, 0.0,
                           rejected=f"rejected by the replay chip: {exc}")


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
    run = _CellRun(check_times=False)
    group: list[Any] = []  # HardwareEvents, or the fields of one-cell events (_hardware_cell)
    index = 0

    def key(item: Any) -> tuple:
        return (item.op, item.tile, item.t_ps) if isinstance(item, HardwareEvent) else item[:3]

    def emit() -> None:
        nonlocal index
        if len(group) == 1 and not isinstance(group[0], HardwareEvent):
            if not run.accepts(group[0][1]):
                run.flush(chip, comparator)
            run.add_hardware(group[0], index)
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
