"""The firmware developer's view of a chip: open it, take tile handles, send commands.

Blocking calls (``tile.read(...)``) run the simulated clock until the result is back. ``*_proc``
variants are SimPy generators for programs that drive several tiles at once::

    def program(tile):
        result = yield from tile.mvm_proc(x)
        ...
    for i in range(4):
        chip.process(program(chip.tile(i)))
    chip.run()
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Generator

import numpy as np

import twin
from twin.commands import Configure, Mvm, Pulse, Read, Result


class TileHandle:
    """Commands to one tile. Every call returns a :class:`~twin.commands.Result`."""

    def __init__(self, chip: "ChipHandle", index: int) -> None:
        self.chip = chip
        """The chip handle this tile belongs to."""
        self.index = index
        """Tile number."""

    def __repr__(self) -> str:
        return f"TileHandle({self.index} of {self.chip.spec.name})"

    @property
    def shape(self) -> tuple[int, int]:
        """(rows, cols) of the tile's array."""
        a = self.chip.spec.tile.array
        return (a.rows, a.cols)

    # blocking ---------------------------------------------------------------------------------
    def pulse(self, rows: Any, cols: Any, polarity: Any, v_pulse_v: Any, width_ps: Any, v_gate_v: Any) -> Result:
        """SET or RESET pulses on the cells (rows, cols); per-cell arrays broadcast against the cells."""
        return self.chip.twin.execute(Pulse(self.index, rows, cols, polarity, v_pulse_v, width_ps, v_gate_v))

    def read(self, rows: Any, cols: Any) -> Result:
        """Measured conductances (µS) of the cells (rows, cols), in their broadcast shape."""
        return self.chip.twin.execute(Read(self.index, rows, cols))

    def mvm(self, inputs: Any, row_window: tuple[int, int] | None = None,
            col_window: tuple[int, int] | None = None) -> Result:
        """Column currents (µA), shape (batch, outputs), for inputs in [-1, 1] of shape (rows,) or (batch, rows)."""
        return self.chip.twin.execute(Mvm(self.index, inputs, row_window, col_window))

    def configure(self, **settings: Any) -> Result:
        """Change runtime settings: ``v_read_v``, ``adc_read_range_ua``, ``adc_mvm_range_ua``."""
        return self.chip.execute(Configure(self.index, **settings))

    # SimPy processes --------------------------------------------------------------------------
    def pulse_proc(self, *args: Any) -> Generator[Any, Any, Result]:
        """Process form of :meth:`pulse`: ``result = yield from tile.pulse_proc(...)``."""
        return (yield self.chip.submit(Pulse(self.index, *args)))

    def read_proc(self, rows: Any, cols: Any) -> Generator[Any, Any, Result]:
        """Process form of :meth:`read`."""
        return (yield self.chip.submit(Read(self.index, rows, cols)))

    def mvm_proc(self, inputs: Any, row_window: tuple[int, int] | None = None,
                 col_window: tuple[int, int] | None = None) -> Generator[Any, Any, Result]:
        """Process form of :meth:`mvm`."""
        return (yield self.chip.submit(Mvm(self.index, inputs, row_window, col_window)))

    def configure_proc(self, **settings: Any) -> Generator[Any, Any, Result]:
        """Process form of :meth:`configure`."""
        return (yield self.chip.submit(Configure(self.index, **settings)))


class ChipHandle:
    """An opened chip: tile handles, the clock, and the energy and timing records."""

    def __init__(self, chip: twin.Chip) -> None:
        self.twin = chip
        """The underlying :class:`twin.Chip` (ledger, trace, clock)."""
        self.spec = chip.spec
        self._tiles = [TileHandle(self, i) for i in range(chip.spec.n_tiles)]
        self.log = None
        """The :class:`~twin.log.recorder.CommandLog` recording this chip, if any."""

    def __repr__(self) -> str:
        return f"ChipHandle({self.spec.name!r}, seed={self.twin.seed}, now_ps={self.now_ps})"

    @property
    def now_ps(self) -> int:
        """Simulated time, ps."""
        return self.twin.now_ps

    @property
    def n_tiles(self) -> int:
        return len(self._tiles)

    @property
    def ledger(self):
        """The chip's :class:`~twin.ledger.EnergyLedger`."""
        return self.twin.ledger

    @property
    def trace(self):
        """The chip's :class:`~twin.trace.Trace`."""
        return self.twin.trace

    def tile(self, index: int) -> TileHandle:
        """Handle of tile *index*."""
        if isinstance(index, bool) or not isinstance(index, (int, np.integer)) or not 0 <= index < len(self._tiles):
            raise twin.CommandError("tile", f"tile must be in [0, {len(self._tiles) - 1}], not {index!r}")
        return self._tiles[index]

    def tiles(self) -> list[TileHandle]:
        """Handles of all tiles."""
        return list(self._tiles)

    def execute(self, cmd: Any) -> Result:
        """Send one command and wait for its result."""
        return self.twin.execute(cmd)

    def execute_cells(self, ops: twin.CellOps) -> twin.CellResults:
        """Send a run of one-cell reads and pulses on one tile, each when the previous one is back: the same
        results as one ``execute`` per op, in columns, many times faster (:mod:`twin.cell_ops`)."""
        return self.twin.execute_cells(ops)

    def submit(self, cmd: Any):
        """Send one command without waiting; returns a SimPy event whose value is the Result."""
        return self.twin.submit(cmd)

    def process(self, generator: Generator) -> Any:
        """Start a firmware program (a generator using ``*_proc`` calls) as a SimPy process."""
        return self.twin.env.process(generator)

    def run(self, until_ps: int | None = None) -> None:
        """Run the clock until every started process is done (or until *until_ps*)."""
        self.twin.run(until_ps)

    def wait(self, duration_ps: int) -> None:
        """Let *duration_ps* of simulated time pass (cells relax meanwhile)."""
        self.twin.run(self.now_ps + int(duration_ps))

    def mark(self) -> twin.ledger.Mark:
        """A mark of now (:meth:`twin.Chip.mark`): ``report(since=mark)`` covers only what happens after it."""
        return self.twin.mark()

    def report(self, since: twin.ledger.Mark | None = None) -> str:
        """Readable energy, timing and MVM table (of the commands completed after the mark *since*, if given)."""
        return self.twin.report(since)

    def record(self, path: str | Path, spec_yaml: str | None = None):
        """Record every command from now on into the JSON Lines log *path*; returns the
        :class:`~twin.log.recorder.CommandLog` (close it, or use it as a context manager, to finish)."""
        from twin.log.recorder import record

        self.log = record(self.twin, path, spec_yaml)
        return self.log


def open_chip(spec: str | Path | twin.ChipSpec = "default", seed: int = 0, *,
              log: str | Path | None = None) -> ChipHandle:
    """Open a chip built from a bundled spec name, a YAML path, or a loaded ChipSpec.

    With *log*, every command is recorded into that JSON Lines file (``docs/logs.md``).
    """
    chip_spec = spec if isinstance(spec, twin.ChipSpec) else twin.load_spec(spec)
    handle = ChipHandle(twin.build(chip_spec, seed))
    if log is not None:
        from twin.log.recorder import spec_yaml_of

        handle.record(log, spec_yaml_of(spec, chip_spec))
    return handle
