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


def bench_module(name: str):
    """Import bench/<name>.py (the benchmark and reproduction scripts are not a package)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(name, ROOT / "bench" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def block(n: int):
    """Row and column indices of the n x n block at the origin, ready to broadcast."""
    import numpy as np

    return np.arange(n)[:, None], np.arange(n)[None, :]
