"""Commands a host sends to the chip, and the Result each one returns.

Commands are frozen dataclasses checked in two steps, both before anything runs:

1. on creation (``__post_init__``): shapes and types that need no spec;
2. ``check(spec, index)``: addresses inside the tile, voltages and widths inside the spec's limits.

Either step raises :class:`~twin.errors.CommandError` naming the command, its tile and the first bad
address, and no chip state changes. Every command serializes to one JSON object (``to_json`` /
:func:`command_from_json`).

Cell addresses: *rows* and *cols* broadcast against each other numpy-style, so ``rows=[0, 1], cols=[5, 6]``
addresses two cells and ``rows=[[0], [1]], cols=[0, 1, 2]`` a 2 x 3 block. Per-cell parameters
(polarity, amplitude, width, gate voltage) broadcast to the same shape.
"""

from __future__ import annotations

import enum
import functools
import math
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, ClassVar, Union

import numpy as np

from twin.errors import CommandError
from twin.physics.scan import copy_in_range
from twin.spec.chipspec import ChipSpec


class Polarity(str, enum.Enum):
    """Direction of a programming pulse."""

    SET = "set"
    """Raise the conductance (positive pulse on the bit line)."""
    RESET = "reset"
    """Lower the conductance (positive pulse on the source line)."""


def _frozen(arr: np.ndarray) -> np.ndarray:
    arr.setflags(write=False)
    return arr


_INT64, _UINT64, _FLOAT64 = np.dtype(np.int64), np.dtype(np.uint64), np.dtype(np.float64)
_SHARED_MAX = 4096
"""Most arrays each memo table below keeps."""
_SET, _RESET = _frozen(np.array(True)), _frozen(np.array(False))
"""The 0-d bool arrays Pulse stores for one polarity for all cells."""

# Read-only arrays shared by every command given the same plain number (pure memo tables).


@functools.lru_cache(_SHARED_MAX)
def _int_scalar(value: int) -> np.ndarray:
    """A read-only 0-d int64 array of *value*."""
    return _frozen(np.array(value, dtype=np.int64))


@functools.lru_cache(_SHARED_MAX)
def _int_single(value: int) -> np.ndarray:
    """A read-only shape (1,) int64 array of *value*, for one-element lists such as ``rows=[3]``."""
    return _frozen(np.array([value], dtype=np.int64))


@functools.lru_cache(_SHARED_MAX)
def _float_scalar(value: float) -> np.ndarray:
    """A read-only 0-d float64 array of *value* (never asked for 0, which would also serve -0.0)."""
    return _frozen(np.array(value, dtype=np.float64))


def _int_array(cmd: str, name: str, value: Any, tile: Any) -> np.ndarray:
    if type(value) is int:  # fast paths for the common scalar and one-element list
        return _int_scalar(value)
    if type(value) is list and len(value) == 1 and type(value[0]) is int:
        return _int_single(value[0])
    if isinstance(value, np.ndarray) and value.dtype == _INT64:
        if not value.flags.writeable:
            return value  # already converted (e.g. by another command)
        if type(value) is np.ndarray:
            return _frozen(value.astype(np.int64))  # needs only a copy of its own
    arr = np.asarray(value)
    if arr.dtype == bool or not (np.issubdtype(arr.dtype, np.integer) or arr.size == 0):
        if arr.dtype.kind == "f" and arr.size and np.all(np.isfinite(arr)) and np.all(arr == np.round(arr)):
            arr = arr.astype(np.int64)
        else:
            raise CommandError(cmd, f"{name} must be integers, not {arr.dtype} {np.array2string(arr.ravel()[:4])}",
                               tile=tile)
    out = arr.astype(np.int64, copy=True)
    out.setflags(write=False)
    return out


def _float_array(cmd: str, name: str, value: Any, tile: Any) -> np.ndarray:
    if type(value) in (float, int) and math.isfinite(value):  # fast path for the common scalar
        return _float_scalar(value) if value else _frozen(np.array(value, dtype=np.float64))
    try:
        arr = np.array(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise CommandError(cmd, f"{name} must be numbers, not {value!r}", tile=tile) from None
    if arr.size and not np.isfinite(arr).all():
        _raise_not_finite(cmd, name, arr, tile)
    arr.setflags(write=False)
    return arr


def _raise_not_finite(cmd: str, name: str, arr: np.ndarray, tile: Any) -> None:
    """CommandError naming the first NaN or infinite element of *arr*."""
    flat = arr.ravel()
    k = int(np.flatnonzero(~np.isfinite(flat))[0])
    where = f" (element {k})" if flat.size > 1 else ""
    raise CommandError(cmd, f"{name} must be finite numbers, not {flat[k]}{where}", tile=tile)


def _check_tile(cmd: "Command", spec: ChipSpec, index: int | None) -> None:
    if type(cmd.tile) is int and 0 <= cmd.tile < spec.n_tiles:
        return
    if not (isinstance(cmd.tile, (int, np.integer)) and not isinstance(cmd.tile, bool)) \
            or not 0 <= cmd.tile < spec.n_tiles:
        raise CommandError(type(cmd).__name__, f"tile must be in [0, {spec.n_tiles - 1}], not {cmd.tile!r}",
                           index=index)


def _filled(size: int, value: int) -> np.ndarray:
    """A read-only int64 array of *size* copies of *value* (the rows of a one-row command); shared when small."""
    if size <= 1024:
        return _filled_shared(size, value)
    return _frozen(np.full(size, value, dtype=np.int64))


@functools.lru_cache(512)
def _filled_shared(size: int, value: int) -> np.ndarray:
    return _frozen(np.full(size, value, dtype=np.int64))


def _set_cells(cmd: Any, name: str) -> None:
    """Convert rows and cols, and cache the broadcast cell shape and flat addresses on *cmd*."""
    rows = _int_array(name, "rows", cmd.rows, cmd.tile)
    cols = _int_array(name, "cols", cmd.cols, cmd.tile)
    if rows.shape == cols.shape:
        shape = rows.shape
        flat_rows, flat_cols = (rows, cols) if rows.ndim == 1 else (rows.ravel(), cols.ravel())
    elif rows.size == 1 and rows.ndim <= 1 and cols.ndim == 1:  # one row, several columns
        shape, flat_rows, flat_cols = cols.shape, _filled(cols.size, rows.item()), cols
    elif cols.size == 1 and cols.ndim <= 1 and rows.ndim == 1:  # several rows, one column
        shape, flat_rows, flat_cols = rows.shape, rows, _filled(rows.size, cols.item())
    else:
        try:
            b_rows, b_cols = np.broadcast_arrays(rows, cols)
        except ValueError:
            raise CommandError(name, f"rows {rows.shape} and cols {cols.shape} do not broadcast", tile=cmd.tile) from None
        shape, flat_rows, flat_cols = b_rows.shape, b_rows.ravel(), b_cols.ravel()
    # Commands are frozen: fields are set through the instance dict while they are built.
    cmd.__dict__.update(rows=rows, cols=cols, _shape=shape, _flat=(flat_rows, flat_cols))


def _in_bounds(addresses: np.ndarray, n: int) -> bool:
    """Whether every one of *addresses* is in [0, n)."""
    if addresses.size == 1:
        return 0 <= addresses.item() < n
    if addresses.size <= 8:  # Python's min/max beat numpy's on a handful of values
        values = addresses.ravel().tolist()
        return not values or (0 <= min(values) and max(values) < n)
    unsigned = addresses.view(_UINT64)  # negative addresses wrap around to huge values: one pass checks both ends
    return unsigned.item(unsigned.argmax()) < n


def _check_cells(cmd: Any, spec: ChipSpec, index: int | None, unique: bool) -> None:
    rows, cols = cmd._flat
    n_rows, n_cols = spec.tile.array.rows, spec.tile.array.cols
    if rows.size == 1 and 0 <= rows.item() < n_rows and 0 <= cols.item() < n_cols:  # fast path: one good cell
        return
    name = type(cmd).__name__
    # rows and cols as given: the same values as the broadcast addresses when those are not empty, fewer of them
    for what, given, arr, n in (("row", cmd.rows, rows, n_rows), ("col", cmd.cols, cols, n_cols)):
        if not _in_bounds(given, n) and arr.size:
            k = np.flatnonzero((arr < 0) | (arr >= n))[0]
            raise CommandError(name, f"{what} must be in [0, {n - 1}], not {arr[k]}", index=index,
                               tile=cmd.tile, address=f"row {rows[k]} col {cols[k]}")
    if unique and rows.size > 1:
        flat = rows * n_cols + cols
        uniq, first, counts = np.unique(flat, return_index=True, return_counts=True)
        if uniq.size != flat.size:
            k = first[np.flatnonzero(counts > 1)[0]]
            raise CommandError(name, "a cell may appear only once per command", index=index, tile=cmd.tile,
                               address=f"row {rows[k]} col {cols[k]}")


def _check_range(cmd: Any, index: int | None, what: str, values: np.ndarray, lo: float, hi: float,
                 unit: str, scale: float = 1.0) -> None:
    """CommandError at the first cell whose *values* fall outside [lo, hi]."""
    if values.size == 1:
        if lo <= values.item() <= hi:
            return
    elif values.size and lo <= values.min() and values.max() <= hi:
        return
    full = values if values.shape == (cmd.cells()[0].size,) else np.broadcast_to(values, cmd.shape).ravel()
    bad = np.flatnonzero((full < lo) | (full > hi))
    if bad.size:
        rows, cols = cmd._flat
        k = bad[0]
        raise CommandError(type(cmd).__name__,
                           f"{what} must be in [{lo / scale:g}, {hi / scale:g}] {unit}, not {full[k] / scale:g}",
                           index=index, tile=cmd.tile, address=f"row {rows[k]} col {cols[k]}")


@dataclass(frozen=True, eq=False)
class Pulse:
    """SET or RESET programming pulses on cells of one tile; per-cell arrays allowed.

    *polarity* is ``"set"``/``"reset"`` (or a :class:`Polarity`), or an array of them, one per cell.
    *v_pulse_v* is the pulse magnitude (positive for both polarities), *width_ps* its width and
    *v_gate_v* the access transistor's gate voltage (SET compliance).
    """

    kind: ClassVar[str] = "pulse"
    """The op name in logs and JSON."""

    tile: int
    rows: Any
    cols: Any
    polarity: Any
    v_pulse_v: Any
    width_ps: Any
    v_gate_v: Any

    def __post_init__(self) -> None:
        name = "Pulse"
        _set_cells(self, name)
        shape = self._shape
        pol = self.polarity
        if type(pol) is str or isinstance(pol, Polarity):  # fast path: one polarity for all cells
            name_ = pol.value if isinstance(pol, Polarity) else pol
            is_set = _SET if name_ == "set" else _RESET if name_ == "reset" else None
            if is_set is None:
                raise CommandError(name, f"polarity must be 'set' or 'reset', not {name_!r}", tile=self.tile)
        else:
            pol = np.asarray(pol, dtype=object)
            if pol.size and all(isinstance(p, (bool, np.bool_)) for p in pol.ravel()):
                is_set = pol.astype(bool)
            else:
                names = [p.value if isinstance(p, Polarity) else str(p) for p in pol.ravel()]
                bad = [n for n in names if n not in ("set", "reset")]
                if bad:
                    raise CommandError(name, f"polarity must be 'set' or 'reset', not {bad[0]!r}", tile=self.tile)
                is_set = np.array([n == "set" for n in names], dtype=bool).reshape(pol.shape)
            is_set = _frozen(np.array(is_set, dtype=bool))
        v = _float_array(name, "v_pulse_v", self.v_pulse_v, self.tile)
        width = _int_array(name, "width_ps", self.width_ps, self.tile)
        gate = _float_array(name, "v_gate_v", self.v_gate_v, self.tile)
        n_cells = self._flat[0].size
        if n_cells == 1 and not (is_set.ndim or v.ndim or width.ndim or gate.ndim):  # one cell, scalar settings
            self.__dict__.update(polarity=is_set, v_pulse_v=v, width_ps=width, v_gate_v=gate, _cells=(
                *self._flat, is_set.reshape(1), v.reshape(1), width.reshape(1), gate.reshape(1)))
            return
        flat = []
        for what, a in zip(("polarity", "v_pulse_v", "width_ps", "v_gate_v"), (is_set, v, width, gate)):
            if a.ndim == 0:
                flat.append(a.reshape(1) if n_cells == 1 else _frozen(np.full(n_cells, a)))
                continue
            try:
                ok = np.broadcast_shapes(a.shape, shape) == shape
            except ValueError:
                ok = False
            if not ok:
                raise CommandError(name, f"{what} of shape {a.shape} does not broadcast to the "
                                         f"cells' shape {shape}", tile=self.tile)
            flat.append(a.reshape(-1) if a.shape == shape else np.broadcast_to(a, shape).ravel())
        self.__dict__.update(polarity=is_set, v_pulse_v=v, width_ps=width, v_gate_v=gate, _cells=(*self._flat, *flat))

    @property
    def shape(self) -> tuple[int, ...]:
        """Shape of the addressed cell set."""
        return self._shape

    def cells(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Flat per-cell arrays: rows, cols, is_set, v_pulse_v, width_ps, v_gate_v."""
        return self._cells

    def check(self, spec: ChipSpec, index: int | None = None) -> None:
        """Raise CommandError naming the first bad address or value; never touches chip state."""
        _check_tile(self, spec, index)
        _check_cells(self, spec, index, unique=True)
        p = spec.tile.programming
        is_set, v, width, gate = self.polarity, self.v_pulse_v, self.width_ps, self.v_gate_v
        if not (is_set.ndim or v.ndim or width.ndim or gate.ndim):  # fast path: one setting for all cells, all good
            v_lo, v_hi = p.v_set_range_v if is_set.item() else p.v_reset_range_v
            if (v_lo <= v.item() <= v_hi and p.width_range_ps[0] <= width.item() <= p.width_range_ps[1]
                    and p.v_gate_range_v[0] <= gate.item() <= p.v_gate_range_v[1]):
                return
        if self.polarity.ndim == 0 and self.v_pulse_v.ndim == 0:  # one polarity and amplitude for all cells
            rng, what = ((p.v_set_range_v, "SET v_pulse_v") if self.polarity.item()
                         else (p.v_reset_range_v, "RESET v_pulse_v"))
            _check_range(self, index, what, self.v_pulse_v, rng[0], rng[1], "V")
        else:
            _, _, is_set, v, _, _ = self._cells
            for pol_mask, rng, what in ((is_set, p.v_set_range_v, "SET v_pulse_v"),
                                        (~is_set, p.v_reset_range_v, "RESET v_pulse_v")):
                _check_range(self, index, what, np.where(pol_mask, v, rng[0]), rng[0], rng[1], "V")
        _check_range(self, index, "width_ps", self.width_ps, *p.width_range_ps, "ns", scale=1000.0)
        _check_range(self, index, "v_gate_v", self.v_gate_v, *p.v_gate_range_v, "V")

    def to_json(self) -> dict:
        return {"op": self.kind, "tile": int(self.tile), "rows": self.rows.tolist(), "cols": self.cols.tolist(),
                "polarity": np.where(self.polarity, "set", "reset").tolist(), "v_pulse_v": self.v_pulse_v.tolist(),
                "width_ps": self.width_ps.tolist(), "v_gate_v": self.v_gate_v.tolist()}


@dataclass(frozen=True, eq=False)
class Read:
    """Conductances of cells of one tile, as the sense path measures them (µS).

    The controller drives one row at a time at the read voltage and converts the selected columns
    with the tile's ADCs (read range); the values include read noise, telegraph noise and ADC
    quantization where the spec enables them.
    """

    kind: ClassVar[str] = "read"
    """The op name in logs and JSON."""

    tile: int
    rows: Any
    cols: Any

    def __post_init__(self) -> None:
        _set_cells(self, "Read")

    @property
    def shape(self) -> tuple[int, ...]:
        """Shape of the addressed cell set (and of the result values)."""
        return self._shape

    def cells(self) -> tuple[np.ndarray, np.ndarray]:
        """Flat rows and cols."""
        return self._flat

    def check(self, spec: ChipSpec, index: int | None = None) -> None:
        _check_tile(self, spec, index)
        _check_cells(self, spec, index, unique=False)

    def to_json(self) -> dict:
        return {"op": self.kind, "tile": int(self.tile), "rows": self.rows.tolist(), "cols": self.cols.tolist()}


@dataclass(frozen=True, eq=False)
class Mvm:
    """Matrix-vector multiplication on one tile: inputs through the DACs, currents out of the ADCs.

    *inputs* are in [-1, 1] (full scale = the read voltage), shape (n,) or (batch, n) with n the
    rows of *row_window*; each is quantized by the DACs to ``round(x · (2**(bits-1) - 1))``.
    Values come back as (batch, outputs) column currents in µA: an estimate of
    ``v_read · x @ G`` over the windows (column pairs subtracted when the spec's ADCs are differential).
    Windows are half-open ``(start, stop)`` ranges; None means the whole array.
    """

    kind: ClassVar[str] = "mvm"
    """The op name in logs and JSON."""

    tile: int
    inputs: Any
    row_window: Any = None
    col_window: Any = None

    def __post_init__(self) -> None:
        x = self.inputs
        # Our own copy, and whether every input is in [-1, 1] (which check() asks), in one pass.
        if type(x) is np.ndarray and x.dtype == _FLOAT64 and x.flags.c_contiguous:
            src = x
            x = np.empty(x.shape)
        else:
            try:
                src = x = np.array(x, dtype=np.float64, order="C")
            except (TypeError, ValueError):
                raise CommandError("Mvm", f"inputs must be numbers, not {self.inputs!r}", tile=self.tile) from None
        in_range = copy_in_range(src.reshape(-1), x.reshape(-1), -1.0, 1.0)
        if not in_range and not np.isfinite(x).all():
            _raise_not_finite("Mvm", "inputs", x, self.tile)
        x.setflags(write=False)
        if x.ndim == 1:
            x = x[None, :]
        if x.ndim != 2 or x.shape[0] == 0:
            raise CommandError("Mvm", f"inputs must have shape (rows,) or (batch, rows), not {np.shape(self.inputs)}",
                               tile=self.tile)
        self.__dict__.update(inputs=x, _in_range=in_range)
        for name in ("row_window", "col_window"):
            w = getattr(self, name)
            if w is not None:
                if (not isinstance(w, (tuple, list)) or len(w) != 2
                        or not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in w)):
                    raise CommandError("Mvm", f"{name} must be (start, stop) integers or None, not {w!r}", tile=self.tile)
                object.__setattr__(self, name, (int(w[0]), int(w[1])))

    @property
    def batch(self) -> int:
        """Number of input vectors."""
        return self.inputs.shape[0]

    def windows(self, spec: ChipSpec) -> tuple[tuple[int, int], tuple[int, int]]:
        """The (start, stop) row and column windows, Nones resolved to the whole array."""
        a = spec.tile.array
        return (self.row_window or (0, a.rows)), (self.col_window or (0, a.cols))

    def check(self, spec: ChipSpec, index: int | None = None) -> None:
        _check_tile(self, spec, index)
        (r0, r1), (c0, c1) = self.windows(spec)
        a = spec.tile.array
        for name, (lo, hi), n in (("row_window", (r0, r1), a.rows), ("col_window", (c0, c1), a.cols)):
            if not 0 <= lo < hi <= n:
                raise CommandError("Mvm", f"{name} must satisfy 0 <= start < stop <= {n}, not ({lo}, {hi})",
                                   index=index, tile=self.tile)
        if spec.tile.adc.differential != "none" and (c0 % 2 or c1 % 2):
            raise CommandError("Mvm", f"col_window must start and stop on even columns with differential ADCs, "
                                      f"not ({c0}, {c1})", index=index, tile=self.tile)
        if self.inputs.shape[1] != r1 - r0:
            raise CommandError("Mvm", f"inputs must have {r1 - r0} values per vector (row_window {r0}..{r1}), "
                                      f"not {self.inputs.shape[1]}", index=index, tile=self.tile)
        if self._in_range:
            return
        bad = np.argwhere(np.abs(self.inputs) > 1.0)
        if bad.size:
            b, i = bad[0]
            raise CommandError("Mvm", f"inputs must be in [-1, 1], not {self.inputs[b, i]:g}", index=index,
                               tile=self.tile, address=f"vector {b} row {r0 + i}")

    def to_json(self) -> dict:
        return {"op": self.kind, "tile": int(self.tile), "inputs": self.inputs.tolist(),
                "row_window": list(self.row_window) if self.row_window else None,
                "col_window": list(self.col_window) if self.col_window else None}


CONFIGURABLE = ("v_read_v", "adc_read_range_ua", "adc_mvm_range_ua")
"""Runtime settings a tile's controller exposes."""


@dataclass(frozen=True, eq=False)
class Configure:
    """Change runtime settings of one tile: read voltage and ADC ranges (None leaves a setting)."""

    kind: ClassVar[str] = "configure"
    """The op name in logs and JSON."""

    tile: int
    v_read_v: float | None = None
    adc_read_range_ua: tuple[float, float] | None = None
    adc_mvm_range_ua: tuple[float, float] | None = None

    def __post_init__(self) -> None:
        if self.v_read_v is not None:
            if isinstance(self.v_read_v, bool) or not isinstance(self.v_read_v, (int, float, np.floating)) \
                    or not np.isfinite(self.v_read_v):
                raise CommandError("Configure", f"v_read_v must be a number, not {self.v_read_v!r}", tile=self.tile)
            object.__setattr__(self, "v_read_v", float(self.v_read_v))
        for name in ("adc_read_range_ua", "adc_mvm_range_ua"):
            r = getattr(self, name)
            if r is None:
                continue
            ok = isinstance(r, (tuple, list)) and len(r) == 2 and all(
                isinstance(v, (int, float, np.floating)) and not isinstance(v, bool) and np.isfinite(v) for v in r)
            if not ok or r[0] >= r[1]:
                raise CommandError("Configure", f"{name} must be (low, high) numbers with low < high, not {r!r}",
                                   tile=self.tile)
            object.__setattr__(self, name, (float(r[0]), float(r[1])))

    def changes(self) -> dict[str, Any]:
        """The settings this command changes."""
        return {k: getattr(self, k) for k in CONFIGURABLE if getattr(self, k) is not None}

    def check(self, spec: ChipSpec, index: int | None = None) -> None:
        _check_tile(self, spec, index)
        if self.v_read_v is not None:
            lo, hi = spec.tile.read.v_read_range_v
            if not lo <= self.v_read_v <= hi:
                raise CommandError("Configure", f"v_read_v must be in [{lo:g}, {hi:g}] V, not {self.v_read_v:g}",
                                   index=index, tile=self.tile)

    def to_json(self) -> dict:
        return {"op": self.kind, "tile": int(self.tile),
                **{k: (list(v) if isinstance(v, tuple) else v) for k, v in self.changes().items()}}


Command = Union[Pulse, Read, Mvm, Configure]
COMMAND_TYPES: MappingProxyType[str, type] = MappingProxyType({cls.kind: cls for cls in (Pulse, Read, Mvm, Configure)})
"""Command classes by their op name (``kind``)."""


def command_from_json(data: dict) -> Command:
    """Rebuild a command from :meth:`to_json` output; CommandError if it is malformed."""
    if not isinstance(data, dict) or data.get("op") not in COMMAND_TYPES:
        raise CommandError("command", f"'op' must be one of {', '.join(COMMAND_TYPES)}, not "
                                      f"{data.get('op') if isinstance(data, dict) else data!r}")
    kwargs = {k: v for k, v in data.items() if k != "op"}
    cls = COMMAND_TYPES[data["op"]]
    if cls is Mvm:
        for w in ("row_window", "col_window"):
            if kwargs.get(w) is not None:
                kwargs[w] = tuple(kwargs[w])
    if cls is Configure:
        for r in ("adc_read_range_ua", "adc_mvm_range_ua"):
            if kwargs.get(r) is not None:
                kwargs[r] = tuple(kwargs[r])
    try:
        return cls(**kwargs)
    except TypeError as exc:
        raise CommandError(cls.__name__, f"bad fields: {exc}") from None


@dataclass(slots=True, eq=False)
class Result:
    """What a command returns: values, its times on the simulated clock, and its energy by component.

    ``start_ps`` is when the host issued the command and ``end_ps`` when its results reached the
    host; ``exec_start_ps``..``exec_end_ps`` is the tile's execution (after the command crossed the
    host link and waited for the tile).
    """

    command: Command
    index: int
    """Sequence number of the command on its chip (0, 1, 2, ...)."""
    values: np.ndarray | None
    start_ps: int
    end_ps: int
    exec_start_ps: int
    exec_end_ps: int
    energy_pj: dict[str, float]
    """Energy by component: cells, dac, adc, controller, host_link, static."""
    info: dict[str, Any] = field(default_factory=dict)
    """Counts behind the numbers (ADC conversions and saturations, pulse slots, ...)."""
    link_seq: int = 0
    """Host-link transfers booked before this command was issued (its place in the link's order; replay uses it)."""

    @property
    def duration_ps(self) -> int:
        """Issue to completion, ps."""
        return self.end_ps - self.start_ps

    @property
    def total_energy_pj(self) -> float:
        """Sum over components, pJ."""
        return float(sum(self.energy_pj.values()))
