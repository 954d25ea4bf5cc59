"""Paths and helpers shared by the tests (importable because pytest puts tests/ on sys.path)."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SPECS = ROOT / "tests" / "specs"
CHIPSPECS = ROOT / "chipspecs"


def chip_state(chip) -> tuple:
    """Everything a rejected command must leave unchanged."""
    return (chip.now_ps, len(chip.ledger), len(chip.trace), chip._next_index,
            tuple(t.array.conductance_us(chip.now_ps).tobytes() for t in chip.tiles),
            tuple(repr(t.settings) for t in chip.tiles))
