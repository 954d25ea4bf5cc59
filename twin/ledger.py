"""The energy ledger: append-only, columnar records of every command and every energy charge.

Queries answer the questions of energy studies: energy by component, by tile, by command kind, per
MVM, MAC/s and TOPS/W, latency percentiles. Chip-level static power is charged over the elapsed
simulated time when a report is made (``until_ps``), never per command.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import numpy as np

from twin.units import power_time_to_pj

COMPONENTS = ("cells", "dac", "adc", "controller", "host_link", "static")
"""Components energy is charged to, in report order."""


class EnergyLedger:
    """Append-only energy charges (pJ) and per-command records."""

    def __init__(self, p_static_chip_mw: float = 0.0) -> None:
        self.p_static_chip_mw = p_static_chip_mw
        """Always-on chip power, charged over elapsed time in reports."""
        # charges: one row per (command, component)
        self._c_cmd: list[int] = []
        self._c_tile: list[int] = []
        self._c_component: list[str] = []
        self._c_energy_pj: list[float] = []
        # commands: one row per command, in the order they finished
        self._cmd_id: list[int] = []
        self._cmd_kind: list[str] = []
        self._cmd_tile: list[int] = []
        self._cmd_start_ps: list[int] = []
        self._cmd_end_ps: list[int] = []
        self._cmd_exec_start_ps: list[int] = []
        self._cmd_exec_end_ps: list[int] = []
        self._cmd_macs: list[int] = []
        self._cmd_vectors: list[int] = []

    def __len__(self) -> int:
        """Number of commands recorded."""
        return len(self._cmd_kind)

    def record(self, *, cmd_id: int, kind: str, tile: int, start_ps: int, end_ps: int, exec_start_ps: int,
               exec_end_ps: int, energy_pj: dict[str, float], macs: int = 0, vectors: int = 0) -> None:
        """Record one finished command and its energy charges."""
        row = len(self._cmd_kind)  # commands finish out of id order when tiles run in parallel
        self._cmd_id.append(cmd_id)
        self._cmd_kind.append(kind)
        self._cmd_tile.append(tile)
        self._cmd_start_ps.append(start_ps)
        self._cmd_end_ps.append(end_ps)
        self._cmd_exec_start_ps.append(exec_start_ps)
        self._cmd_exec_end_ps.append(exec_end_ps)
        self._cmd_macs.append(macs)
        self._cmd_vectors.append(vectors)
        for component, e_pj in energy_pj.items():
            self._c_cmd.append(row)
            self._c_tile.append(tile)
            self._c_component.append(component)
            self._c_energy_pj.append(float(e_pj))

    # --- queries ------------------------------------------------------------------------------
    def chip_static_pj(self, until_ps: int) -> float:
        """Always-on static energy from time 0 to *until_ps*."""
        return power_time_to_pj(self.p_static_chip_mw, until_ps)

    def by_component(self, until_ps: int | None = None) -> dict[str, float]:
        """Total energy per component; with *until_ps*, chip static power up to then is added to ``static``."""
        totals = {c: 0.0 for c in COMPONENTS}
        for component, e_pj in zip(self._c_component, self._c_energy_pj):
            totals[component] = totals.get(component, 0.0) + e_pj
        if until_ps is not None:
            totals["static"] += self.chip_static_pj(until_ps)
        return totals

    def by_tile(self) -> dict[int, float]:
        """Energy charged by commands of each tile (chip static power excluded)."""
        totals: dict[int, float] = {}
        for tile, e_pj in zip(self._c_tile, self._c_energy_pj):
            totals[tile] = totals.get(tile, 0.0) + e_pj
        return dict(sorted(totals.items()))

    def by_command(self) -> dict[str, dict[str, float]]:
        """Per command kind: count, total energy (pJ) and energy per command."""
        out: dict[str, dict[str, float]] = {}
        energy = self._energy_per_command()
        for kind, e_pj in zip(self._cmd_kind, energy):
            row = out.setdefault(kind, {"count": 0, "energy_pj": 0.0})
            row["count"] += 1
            row["energy_pj"] += float(e_pj)
        for row in out.values():
            row["energy_per_command_pj"] = row["energy_pj"] / row["count"]
        return out

    def _energy_per_command(self) -> np.ndarray:
        return np.bincount(np.asarray(self._c_cmd, dtype=np.int64), weights=np.asarray(self._c_energy_pj),
                           minlength=len(self._cmd_kind))

    def mvm_stats(self) -> dict[str, float]:
        """MVM totals: vectors, MACs, energy per vector (pJ), MAC/s over the MVMs' span, TOPS/W.

        TOPS/W counts 2 operations per MAC over the energy charged to the MVM commands
        (1 TOPS/W = 1 operation per pJ).
        """
        kinds = np.asarray(self._cmd_kind)
        sel = kinds == "mvm"
        if not sel.any():
            return {"vectors": 0, "macs": 0, "energy_pj": 0.0, "energy_per_vector_pj": 0.0, "mac_per_s": 0.0,
                    "tops_per_w": 0.0}
        energy = self._energy_per_command()[sel].sum()
        macs = int(np.asarray(self._cmd_macs)[sel].sum())
        vectors = int(np.asarray(self._cmd_vectors)[sel].sum())
        span_ps = int(np.asarray(self._cmd_exec_end_ps)[sel].max() - np.asarray(self._cmd_exec_start_ps)[sel].min())
        return {"vectors": vectors, "macs": macs, "energy_pj": float(energy),
                "energy_per_vector_pj": float(energy / vectors),
                "mac_per_s": macs / (span_ps * 1e-12) if span_ps else 0.0,
                "tops_per_w": 2 * macs / energy if energy else 0.0}

    def latency_percentiles_ps(self, percentiles: tuple[float, ...] = (50, 90, 99)) -> dict[str, dict[str, float]]:
        """Per command kind: issue-to-completion latency percentiles, ps."""
        lat = np.asarray(self._cmd_end_ps, dtype=np.int64) - np.asarray(self._cmd_start_ps, dtype=np.int64)
        kinds = np.asarray(self._cmd_kind)
        out = {}
        for kind in sorted(set(self._cmd_kind)):
            values = lat[kinds == kind]
            out[kind] = {f"p{p:g}": float(np.percentile(values, p)) for p in percentiles}
        return out

    # --- export -------------------------------------------------------------------------------
    def rows(self) -> list[dict[str, Any]]:
        """One dict per command, sorted by id: times, kind, tile and energy by component."""
        per = [dict(cmd_id=i, kind=k, tile=t, start_ps=s, end_ps=e, exec_start_ps=xs, exec_end_ps=xe, macs=m)
               for i, k, t, s, e, xs, xe, m in (zip(self._cmd_id, self._cmd_kind, self._cmd_tile, self._cmd_start_ps,
                                                               self._cmd_end_ps, self._cmd_exec_start_ps,
                                                               self._cmd_exec_end_ps, self._cmd_macs))]
        for row in per:
            for c in COMPONENTS:
                row[f"{c}_pj"] = 0.0
        for cmd, component, e_pj in zip(self._c_cmd, self._c_component, self._c_energy_pj):
            per[cmd][f"{component}_pj"] += e_pj
        return sorted(per, key=lambda r: r["cmd_id"])

    def to_csv(self, path: str | Path) -> None:
        """Write one row per command (see :meth:`rows`)."""
        rows = self.rows()
        fields = ["cmd_id", "kind", "tile", "start_ps", "end_ps", "exec_start_ps", "exec_end_ps", "macs",
                  *(f"{c}_pj" for c in COMPONENTS)]
        with open(path, "w", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=fields)
            writer.writeheader()
            writer.writerows(rows)

    def summary(self, until_ps: int) -> dict[str, Any]:
        """Everything the reports show, as plain data (JSON-ready)."""
        return {"elapsed_ps": until_ps, "commands": len(self), "energy_by_component_pj": self.by_component(until_ps),
                "energy_by_tile_pj": {str(k): v for k, v in self.by_tile().items()},
                "energy_by_command": self.by_command(), "mvm": self.mvm_stats(),
                "latency_ps": self.latency_percentiles_ps()}

    def to_json(self, path: str | Path, until_ps: int) -> None:
        """Write :meth:`summary` plus the per-command rows."""
        Path(path).write_text(json.dumps({**self.summary(until_ps), "commands_detail": self.rows()}, indent=1))
