"""The command-log format (version 1): JSON Lines, one self-contained JSON object per line.

Two forms share the format (``docs/log-format.md`` is the reference):

- ``twin``: written by :class:`twin.log.recorder.CommandLog` — a header, then one line per command with
  its parameters, result values, start/end/execution times, energy and the host-link booking
  sequence number (``link_seq``) that makes replay of same-time events exact.
- ``hardware``: the minimal form real hardware can produce — pulses and reads with addresses,
  voltages, widths, timestamps and measured conductances, nothing twin-internal. It also exists as
  CSV (one row per cell event).

Arrays larger than :data:`INLINE_MAX` elements are stored as ``{"dtype", "shape", "b64"}`` (raw
little-endian bytes, base64) or ``{"dtype", "shape", "zb64"}`` (zlib first, used when it saves a
quarter or more), so every line stays one JSON object and a reader streams line by line.

Reading (:func:`read_log`) streams in constant memory and raises :class:`~twin.errors.LogError`
naming the file and line for a malformed or truncated line or an unknown version.
"""

from __future__ import annotations

import base64
import csv
import datetime as _dt
import json
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

import numpy as np

import twin
from twin.errors import CommandError, LogError

try:  # orjson parses a log line about twice as fast as json (ValueError subclasses on bad input)
    from orjson import loads as _loads
except ImportError:  # pragma: no cover - orjson is a dependency; keep reading logs without it
    _loads = json.loads

FORMAT_VERSION = 1
"""The log format version this memtwin writes and reads."""

FORMS = ("twin", "hardware")
"""Log forms: a full twin log, or the minimal hardware form."""

INLINE_MAX = 16
"""Arrays with more elements than this are stored base64-encoded."""

HARDWARE_CSV_COLUMNS = ("op", "t_ps", "tile", "row", "col", "polarity", "v_pulse_v", "width_ps", "v_gate_v", "g_us")
"""Columns of the CSV hardware form, one row per cell event."""

_ARRAY_FIELDS = ("rows", "cols", "polarity", "v_pulse_v", "width_ps", "v_gate_v", "inputs", "g_us")

_DTYPES = {"<f8", "<f4", "<i8", "<i4", "<i2", "|u1", "|b1", "<u2", "<u4", "<u8", "|i1"}


# --- arrays -------------------------------------------------------------------------------------
def encode_array(a: Any) -> Any:
    """JSON form of an array: a plain (nested) list when small, else base64 of its little-endian bytes."""
    if not isinstance(a, np.ndarray):
        return a
    if a.size <= INLINE_MAX:
        return a.tolist()
    le = a.astype(a.dtype.newbyteorder("<"), copy=False) if a.dtype.byteorder == ">" else a
    raw = np.ascontiguousarray(le).tobytes()
    out: dict[str, Any] = {"dtype": le.dtype.str, "shape": list(a.shape)}
    if a.dtype.kind in "iub" and len(raw) > 256:
        packed = zlib.compress(raw, 1)
        if len(packed) <= 0.75 * len(raw):
            out["zb64"] = base64.b64encode(packed).decode("ascii")
            return out
    out["b64"] = base64.b64encode(raw).decode("ascii")
    return out


def decode_array(v: Any) -> Any:
    """Inverse of :func:`encode_array` (plain lists and scalars are returned as they are)."""
    if not isinstance(v, dict):
        return v
    dtype = v.get("dtype")
    if dtype not in _DTYPES or not isinstance(v.get("shape"), list):
        raise ValueError(f"an encoded array needs a known dtype and a shape, not {str(v)[:60]!r}")
    if "zb64" in v:
        raw = zlib.decompress(base64.b64decode(v["zb64"]))
    elif "b64" in v:
        raw = base64.b64decode(v["b64"])
    else:
        raise ValueError("an encoded array needs 'b64' or 'zb64'")
    arr = np.frombuffer(raw, dtype=np.dtype(dtype))
    shape = tuple(int(s) for s in v["shape"])
    if arr.size != int(np.prod(shape, dtype=np.int64)):
        raise ValueError(f"array of shape {list(shape)} needs {int(np.prod(shape))} values, not {arr.size}")
    return arr.reshape(shape)


# --- commands -----------------------------------------------------------------------------------
def encode_command(cmd: Any) -> dict:
    """A command as a JSON object with the keys of its ``to_json``; large arrays encoded compactly."""
    if isinstance(cmd, twin.Pulse):
        pol = cmd.polarity
        polarity = ("set" if pol.item() else "reset") if pol.ndim == 0 else (
            encode_array(pol) if pol.size > INLINE_MAX else np.where(pol, "set", "reset").tolist())
        return {"op": "pulse", "tile": int(cmd.tile), "rows": encode_array(cmd.rows), "cols": encode_array(cmd.cols),
                "polarity": polarity, "v_pulse_v": encode_array(cmd.v_pulse_v),
                "width_ps": encode_array(cmd.width_ps), "v_gate_v": encode_array(cmd.v_gate_v)}
    if isinstance(cmd, twin.Read):
        return {"op": "read", "tile": int(cmd.tile), "rows": encode_array(cmd.rows), "cols": encode_array(cmd.cols)}
    if isinstance(cmd, twin.Mvm):
        d = cmd.to_json() if cmd.inputs.size <= INLINE_MAX else {
            "op": "mvm", "tile": int(cmd.tile), "inputs": None,
            "row_window": list(cmd.row_window) if cmd.row_window else None,
            "col_window": list(cmd.col_window) if cmd.col_window else None}
        d["inputs"] = encode_array(cmd.inputs)
        return d
    return cmd.to_json()


def decode_command(d: dict) -> Any:
    """Rebuild a command from :func:`encode_command` output (CommandError or ValueError if malformed)."""
    if not isinstance(d, dict):
        raise ValueError(f"'cmd' must be an object, not {d!r}")
    d = {k: (decode_array(v) if k in _ARRAY_FIELDS else v) for k, v in d.items()}
    return twin.command_from_json(d)


# --- header -------------------------------------------------------------------------------------
@dataclass
class LogHeader:
    """The first line of a log."""

    form: str = "twin"
    """``twin`` or ``hardware``."""
    spec_name: str | None = None
    spec_sha256: str | None = None
    spec_source: str | None = None
    spec_yaml: str | None = None
    """The spec's YAML text, when known: replay then needs no ``--spec``."""
    seed: int | None = None
    memtwin_version: str = twin.__version__
    created_utc: str = ""
    """Wall-clock time the log was started (ISO 8601, UTC)."""
    extra: dict = field(default_factory=dict)
    """Any further header keys (free text such as ``device`` for hardware logs)."""

    def to_json(self) -> dict:
        out = {"memtwin_log": FORMAT_VERSION, "form": self.form,
               "spec": {"name": self.spec_name, "sha256": self.spec_sha256, "source": self.spec_source},
               "seed": self.seed, "memtwin_version": self.memtwin_version,
               "created_utc": self.created_utc or now_utc()}
        if self.spec_yaml is not None:
            out["spec_yaml"] = self.spec_yaml
        out.update(self.extra)
        return out

    @classmethod
    def from_json(cls, d: dict) -> "LogHeader":
        spec = d.get("spec") or {}
        known = {"memtwin_log", "form", "spec", "seed", "memtwin_version", "created_utc", "spec_yaml"}
        return cls(form=d.get("form", "twin"), spec_name=spec.get("name"), spec_sha256=spec.get("sha256"),
                   spec_source=spec.get("source"), spec_yaml=d.get("spec_yaml"), seed=d.get("seed"),
                   memtwin_version=d.get("memtwin_version", "?"), created_utc=d.get("created_utc", ""),
                   extra={k: v for k, v in d.items() if k not in known})

    def load_spec(self) -> twin.ChipSpec | None:
        """The spec embedded in the header, or None."""
        if self.spec_yaml is None:
            return None
        return twin.loads_spec(self.spec_yaml, self.spec_source or self.spec_name or "<log header>")


def now_utc() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")


# --- records ------------------------------------------------------------------------------------
@dataclass
class LogRecord:
    """One command line of a twin log, decoded (``line`` is its 1-based line number in the file)."""

    index: int
    command: Any
    values: np.ndarray | None
    start_ps: int
    end_ps: int
    exec_start_ps: int
    exec_end_ps: int
    energy_pj: dict
    info: dict
    link_seq: int | None
    line: int


@dataclass
class HardwareEvent:
    """One line of a hardware log: a pulse or a read of one or more cells at *t_ps*."""

    op: str
    t_ps: int
    tile: int
    rows: np.ndarray
    cols: np.ndarray
    polarity: np.ndarray | None = None
    """True for SET (pulses only)."""
    v_pulse_v: np.ndarray | None = None
    width_ps: np.ndarray | None = None
    v_gate_v: np.ndarray | None = None
    g_us: np.ndarray | None = None
    """Measured conductances (reads only)."""
    line: int = 0

    def to_json(self) -> dict:
        d: dict[str, Any] = {"op": self.op, "t_ps": int(self.t_ps), "tile": int(self.tile),
                             "rows": encode_array(self.rows), "cols": encode_array(self.cols)}
        if self.op == "pulse":
            pol = np.asarray(self.polarity, dtype=bool)
            d["polarity"] = encode_array(pol) if pol.size > INLINE_MAX else np.where(pol, "set", "reset").tolist()
            d["v_pulse_v"] = encode_array(np.asarray(self.v_pulse_v, dtype=np.float64))
            d["width_ps"] = encode_array(np.asarray(self.width_ps, dtype=np.int64))
            d["v_gate_v"] = encode_array(np.asarray(self.v_gate_v, dtype=np.float64))
        else:
            d["g_us"] = encode_array(np.asarray(self.g_us, dtype=np.float64))
        return d


def _polarity(p: Any) -> np.ndarray:
    a = np.asarray(p)
    if a.dtype == bool:
        return a
    if a.dtype.kind in "US" or a.dtype == object:
        ok = np.isin(a, ["set", "reset"])
        if not np.all(ok):
            raise ValueError(f"polarity must be 'set' or 'reset', not {a[~ok].ravel()[0]!r}")
        return a == "set"
    raise ValueError(f"polarity must be 'set'/'reset' or booleans, not {a.dtype}")


def hardware_event(d: dict, line: int) -> HardwareEvent:
    """Decode one hardware-form line (ValueError/KeyError/TypeError when malformed)."""
    op = d["op"]
    if op not in ("pulse", "read"):
        raise ValueError(f"'op' must be 'pulse' or 'read' in a hardware log, not {op!r}")
    rows = np.atleast_1d(np.asarray(decode_array(d["rows"]), dtype=np.int64)).ravel()
    cols = np.atleast_1d(np.asarray(decode_array(d["cols"]), dtype=np.int64)).ravel()
    rows, cols = np.broadcast_arrays(rows, cols)
    n = rows.size

    def per_cell(key: str, dtype) -> np.ndarray:
        return np.broadcast_to(np.asarray(decode_array(d[key]), dtype=dtype), (n,)).ravel()

    ev = HardwareEvent(op, int(d["t_ps"]), int(d.get("tile", 0)), rows, cols, line=line)
    if op == "pulse":
        ev.polarity = np.broadcast_to(_polarity(decode_array(d["polarity"])), (n,)).ravel()
        ev.v_pulse_v = per_cell("v_pulse_v", np.float64)
        ev.width_ps = per_cell("width_ps", np.int64)
        ev.v_gate_v = per_cell("v_gate_v", np.float64)
    else:
        ev.g_us = per_cell("g_us", np.float64)
    return ev


def record_from_json(d: dict, line: int) -> LogRecord:
    """Decode one twin-form command line (ValueError/KeyError/TypeError/CommandError when malformed)."""
    values = d.get("values")
    if values is not None:
        values = decode_array(values)
        values = np.asarray(values, dtype=np.float64)
    return LogRecord(int(d["i"]), decode_command(d["cmd"]), values, int(d["start_ps"]), int(d["end_ps"]),
                     int(d["exec_start_ps"]), int(d["exec_end_ps"]), dict(d.get("energy_pj") or {}),
                     dict(d.get("info") or {}), d.get("link_seq"), line)


# --- reading ------------------------------------------------------------------------------------
class LogReader:
    """A streaming reader: the header is read on opening; iterating yields records one line at a time.

    Memory stays constant whatever the file size (one line at a time). A malformed line, a truncated
    last line or an unknown version raise :class:`~twin.errors.LogError` with file and line; with
    ``allow_truncated=True`` a truncated (or malformed) **last** line ends the iteration instead
    (``truncated`` then tells it happened).
    """

    def __init__(self, path: str | Path, allow_truncated: bool = False) -> None:
        self.path = Path(path)
        self.name = self.path.name
        self.allow_truncated = allow_truncated
        self.truncated = False
        """True when iteration stopped at a truncated last line (``allow_truncated``)."""
        self.lines_read = 0
        try:
            self._fh = open(self.path, "rb")
        except FileNotFoundError:
            raise LogError(str(path), 0, "no such file") from None
        first = self._fh.readline()
        if not first:
            self._fh.close()
            raise LogError(self.name, 1, "the log is empty (no header line)")
        try:
            d = json.loads(first)
        except ValueError:
            self._fh.close()
            raise LogError(self.name, 1, "the header is not a JSON object"
                           + ("" if first.endswith(b"\n") else " (truncated line)")) from None
        if not isinstance(d, dict) or "memtwin_log" not in d:
            self._fh.close()
            raise LogError(self.name, 1, "not a memtwin log: the header has no 'memtwin_log' version")
        version = d["memtwin_log"]
        if version != FORMAT_VERSION:
            self._fh.close()
            raise LogError(self.name, 1, f"unknown log format version {version}; this memtwin reads version "
                                         f"{FORMAT_VERSION}")
        if d.get("form", "twin") not in FORMS:
            self._fh.close()
            raise LogError(self.name, 1, f"form must be one of {', '.join(FORMS)}, not {d.get('form')!r}")
        self.header = LogHeader.from_json(d)

    @property
    def form(self) -> str:
        return self.header.form

    def close(self) -> None:
        self._fh.close()

    def __enter__(self) -> "LogReader":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def raw(self) -> Iterator[tuple[int, dict]]:
        """(line number, JSON object) of every line after the header."""
        lineno = 1
        for b in self._fh:
            lineno += 1
            try:
                d = _loads(b)
            except ValueError:
                d = None
            if type(d) is not dict:
                if not b.strip():
                    continue
                try:
                    d = json.loads(b)  # orjson refuses NaN and Infinity, which json.dumps writes
                    if not isinstance(d, dict):
                        raise ValueError
                except ValueError:
                    if not b.endswith(b"\n"):
                        if self.allow_truncated:
                            self.truncated = True
                            return
                        raise LogError(self.name, lineno, "truncated line (the file ends in the middle of a record); "
                                                          "--allow-truncated replays the valid prefix") from None
                    raise LogError(self.name, lineno, f"malformed line: not a JSON object: {b[:40]!r}") from None
            self.lines_read = lineno
            yield lineno, d

    def __iter__(self) -> Iterator[Any]:
        """Records (:class:`LogRecord` for twin logs, :class:`HardwareEvent` for hardware logs)."""
        hardware = self.form == "hardware"
        for lineno, d in self.raw():
            try:
                yield hardware_event(d, lineno) if hardware else record_from_json(d, lineno)
            except KeyError as exc:
                raise LogError(self.name, lineno, f"malformed record: missing field {exc.args[0]!r}") from None
            except (ValueError, TypeError, CommandError) as exc:
                raise LogError(self.name, lineno, f"malformed record: {exc}") from None


def read_log(path: str | Path, allow_truncated: bool = False) -> LogReader:
    """Open a log for streaming: ``with read_log(p) as log: for rec in log: ...`` (``log.header``)."""
    return LogReader(path, allow_truncated)


# --- CSV (hardware form) ------------------------------------------------------------------------
def hardware_events_to_csv(events: Iterator[HardwareEvent], path: str | Path, header: LogHeader | None = None) -> int:
    """Write hardware events as CSV, one row per cell; returns the rows written.

    Header information goes into leading ``# key: value`` comment lines.
    """
    n = 0
    with open(path, "w", newline="") as fh:
        if header is not None:
            fh.write(f"# memtwin_log: {FORMAT_VERSION}\n# form: hardware\n")
            for k, v in (("spec", header.spec_name), ("spec_sha256", header.spec_sha256), ("seed", header.seed),
                         ("created_utc", header.created_utc)):
                if v is not None:
                    fh.write(f"# {k}: {v}\n")
        w = csv.writer(fh)
        w.writerow(HARDWARE_CSV_COLUMNS)
        for ev in events:
            for k in range(ev.rows.size):
                if ev.op == "pulse":
                    w.writerow(("pulse", ev.t_ps, ev.tile, int(ev.rows[k]), int(ev.cols[k]),
                                "set" if ev.polarity[k] else "reset", repr(float(ev.v_pulse_v[k])),
                                int(ev.width_ps[k]), repr(float(ev.v_gate_v[k])), ""))
                else:
                    w.writerow(("read", ev.t_ps, ev.tile, int(ev.rows[k]), int(ev.cols[k]), "", "", "", "",
                                repr(float(ev.g_us[k]))))
                n += 1
    return n


def read_hardware_csv(path: str | Path) -> tuple[LogHeader, Iterator[HardwareEvent]]:
    """(header, events) of a CSV hardware log; one event per row, streamed. LogError names the line."""
    path = Path(path)
    name = path.name
    fh = open(path, newline="")
    meta: dict[str, str] = {}
    lineno = 0
    while True:
        pos = fh.tell()
        line = fh.readline()
        lineno += 1
        if not line.startswith("#"):
            fh.seek(pos)
            lineno -= 1
            break
        k, _, v = line[1:].partition(":")
        meta[k.strip()] = v.strip()
    if "memtwin_log" in meta and meta["memtwin_log"] != str(FORMAT_VERSION):
        fh.close()
        raise LogError(name, 1, f"unknown log format version {meta['memtwin_log']}; this memtwin reads version "
                                f"{FORMAT_VERSION}")
    header = LogHeader(form="hardware", spec_name=meta.get("spec"), spec_sha256=meta.get("spec_sha256"),
                       seed=int(meta["seed"]) if meta.get("seed", "").isdigit() else None,
                       created_utc=meta.get("created_utc", ""))

    def events() -> Iterator[HardwareEvent]:
        nonlocal lineno
        with fh:
            reader = csv.reader(fh)
            lineno += 1
            cols = next(reader, None)
            if cols is None or tuple(c.strip() for c in cols) != HARDWARE_CSV_COLUMNS:
                raise LogError(name, lineno, f"the column header must be {','.join(HARDWARE_CSV_COLUMNS)}")
            for row in reader:
                lineno += 1
                if not row:
                    continue
                try:
                    if len(row) != len(HARDWARE_CSV_COLUMNS):
                        raise ValueError(f"expected {len(HARDWARE_CSV_COLUMNS)} columns, not {len(row)}")
                    d = dict(zip(HARDWARE_CSV_COLUMNS, row))
                    rows = np.array([int(d["row"])]), np.array([int(d["col"])])
                    if d["op"] == "pulse":
                        yield HardwareEvent("pulse", int(d["t_ps"]), int(d["tile"]), *rows,
                                            polarity=_polarity(np.array([d["polarity"]])),
                                            v_pulse_v=np.array([float(d["v_pulse_v"])]),
                                            width_ps=np.array([int(d["width_ps"])]),
                                            v_gate_v=np.array([float(d["v_gate_v"])]), line=lineno)
                    elif d["op"] == "read":
                        yield HardwareEvent("read", int(d["t_ps"]), int(d["tile"]), *rows,
                                            g_us=np.array([float(d["g_us"])]), line=lineno)
                    else:
                        raise ValueError(f"op must be 'pulse' or 'read', not {d['op']!r}")
                except ValueError as exc:
                    raise LogError(name, lineno, f"malformed row: {exc}") from None

    return header, events()


def twin_records_to_hardware(records: Iterator[LogRecord]) -> Iterator[HardwareEvent]:
    """The hardware form of a twin log: pulses (stamped at the end of their execution, when the cells
    change) and reads (stamped at the start of their execution, when they are sampled); MVMs and
    Configure commands are dropped."""
    for rec in records:
        cmd = rec.command
        if isinstance(cmd, twin.Pulse):
            rows, cols, is_set, v, w, g = cmd.cells()
            yield HardwareEvent("pulse", rec.exec_end_ps, cmd.tile, rows, cols, polarity=is_set, v_pulse_v=v,
                                width_ps=w, v_gate_v=g)
        elif isinstance(cmd, twin.Read):
            rows, cols = cmd.cells()
            yield HardwareEvent("read", rec.exec_start_ps, cmd.tile, rows, cols,
                                g_us=np.asarray(rec.values, dtype=np.float64).ravel())


def write_jsonl(path: str | Path, header: LogHeader, lines: Iterator[dict]) -> int:
    """Write a header and JSON objects as a log file; returns the number of record lines."""
    n = 0
    with open(path, "w") as fh:
        fh.write(json.dumps(header.to_json(), separators=(",", ":")) + "\n")
        for d in lines:
            fh.write(json.dumps(d, separators=(",", ":")) + "\n")
            n += 1
    return n
