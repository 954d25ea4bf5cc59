"""Time and energy of one phase of a run (programming, calibration, inference), from the chip's ledger."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class PhaseCost:
    """Simulated time and energy of a phase; energy by component includes chip static power over it."""

    time_ps: int
    energy_pj: float
    energy_by_component_pj: dict[str, float]
    n_commands: int
    energy_by_tile_pj: dict[int, float]
    """Energy of the phase's commands per tile (chip static power not included)."""
    busy_by_tile_ps: dict[int, int]
    """Span from the first command's issue to the last command's end, per tile."""

    def per(self, n: int) -> "PhaseCost":
        """The same cost divided by *n* (e.g. per inference)."""
        n = max(int(n), 1)
        return PhaseCost(self.time_ps // n, self.energy_pj / n,
                         {k: v / n for k, v in self.energy_by_component_pj.items()}, self.n_commands,
                         {k: v / n for k, v in self.energy_by_tile_pj.items()},
                         {k: v // n for k, v in self.busy_by_tile_ps.items()})

    def to_text(self) -> str:
        by = ", ".join(f"{k} {v:,.1f}" for k, v in self.energy_by_component_pj.items() if v)
        return f"{self.time_ps / 1e6:,.3f} us, {self.energy_pj / 1e3:,.3f} nJ ({by} pJ)"


class Meter:
    """Marks the ledger and clock at construction; :meth:`cost` gives what happened since."""

    def __init__(self, chip) -> None:
        self.chip = chip
        self.first = len(chip.ledger)
        self.start_ps = chip.now_ps

    def cost(self) -> PhaseCost:
        chip = self.chip
        end_ps = chip.now_ps
        cols = chip.ledger.columns() if len(chip.ledger) > self.first else None
        by: dict[str, float] = {}
        by_tile: dict[int, float] = {}
        busy: dict[int, int] = {}
        if cols is not None:
            sel = slice(self.first, None)
            by = {k[:-3]: float(v[sel].sum()) for k, v in cols.items() if k.endswith("_pj") and k != "energy_pj"}
            tiles = cols["tile"][sel]
            energy = cols["energy_pj"][sel]
            for t in np.unique(tiles):
                m = tiles == t
                by_tile[int(t)] = float(energy[m].sum())
                busy[int(t)] = int(cols["end_ps"][sel][m].max() - cols["start_ps"][sel][m].min())
        by["static"] = by.get("static", 0.0) + chip.ledger.chip_static_pj(end_ps - self.start_ps)
        return PhaseCost(int(end_ps - self.start_ps), float(sum(by.values())), by, len(chip.ledger) - self.first,
                         by_tile, busy)
