"""The energy ledger: one append-only record per finished command, energy by component in pJ.

Queries answer the questions of energy studies: energy by component, by tile, by command kind, per
MVM vector, MAC/s and TOPS/W, latency percentiles. Records are appended as tuples (cheap on the hot
path) and turned into numpy columns when a query needs them. Chip-level static power is charged
over the elapsed simulated time when a report is made (``until_ps``), never to a command.

Every query takes ``since=``, a :class:`Mark` (``chip.mark()``): it then covers only the commands
completed after the mark, and chip static power only from the mark's time on.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from operator import itemgetter
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from twin.units import power_time_to_pj

COMPONENTS = ("cells", "dac", "adc", "controller", "host_link", "static")
"""Components energy is charged to, in report order."""

FIELDS = ("cmd_id", "kind", "tile", "start_ps", "end_ps", "exec_start_ps", "exec_end_ps", "macs", "vectors",
          "adc_conversions", "adc_saturated")
"""Per-command fields, followed in each record by one energy per component."""

_NAMES = (*FIELDS, *(f"{c}_pj" for c in COMPONENTS))
_energy_of = itemgetter(*COMPONENTS)
"""The energies of a by-component dict, in the order of COMPONENTS."""


@dataclass(frozen=True, slots=True)
class Mark:
    """A point of a chip's run to report from (``chip.mark()``)."""

    n_issued: int
    """Commands issued before the mark."""
    time_ps: int
    """Simulated time of the mark."""
    n_recorded: int
    """Commands completed (recorded in the ledger) before the mark."""


def _tuple_columns(records: list[tuple]) -> dict[str, np.ndarray]:
    """Columns of records given as tuples."""
    cols = list(zip(*records)) if records else [()] * len(_NAMES)
    return {n: np.asarray(c, dtype=object if n == "kind" else (np.float64 if n.endswith("_pj") else np.int64))
            for n, c in zip(_NAMES, cols)}


class EnergyLedger:
    """Append-only per-command records: times, counts, and energy (pJ) by component."""

    def __init__(self, p_static_chip_mw: float = 0.0) -> None:
        self.p_static_chip_mw = p_static_chip_mw
        """Always-on chip power, charged over elapsed time in reports."""
        self._records: list[tuple] = []
        """Commands recorded one by one since the last block."""
        self._done: list[list[tuple] | dict[str, np.ndarray]] = []
        """Earlier chunks in order: lists of records and blocks of columns (see :meth:`record_block`)."""
        self._n_done = 0
        self._columns: dict[str, np.ndarray] | None = None

    def __len__(self) -> int:
        """Number of commands recorded."""
        return self._n_done + len(self._records)

    def record(self, *, cmd_id: int, kind: str, tile: int, start_ps: int, end_ps: int, exec_start_ps: int,
               exec_end_ps: int, macs: int, vectors: int, adc_conversions: int, adc_saturated: int,
               energy_pj: Mapping[str, float]) -> None:
        """Record one finished command; *energy_pj* holds its energy by component (every one of COMPONENTS)."""
        self._records.append((cmd_id, kind, tile, start_ps, end_ps, exec_start_ps, exec_end_ps, macs, vectors,
                              adc_conversions, adc_saturated) + _energy_of(energy_pj))
        self._columns = None

    def record_block(self, columns: dict[str, np.ndarray]) -> None:
        """Record several finished commands at once, as equally long columns named as in :meth:`columns`
        (FIELDS, then ``<component>_pj``): no Python object per command."""
        if self._records:
            self._done.append(self._records)
            self._n_done += len(self._records)
            self._records = []
        self._done.append({name: np.asarray(columns[name]) for name in _NAMES})
        self._n_done += len(columns["cmd_id"])
        self._columns = None

    def columns(self) -> dict[str, np.ndarray]:
        """All records as numpy columns (FIELDS, then ``<component>_pj``), in order of completion."""
        if self._columns is None:
            chunks = [_tuple_columns(c) if isinstance(c, list) else c for c in (*self._done, self._records)]
            self._columns = {n: np.concatenate([c[n] for c in chunks]) for n in _NAMES}
            self._columns["kind"] = self._columns["kind"].astype(str)
            self._columns["energy_pj"] = sum((self._columns[f"{c}_pj"] for c in COMPONENTS), np.zeros(len(self)))
        return self._columns

    def _tuples(self) -> list[tuple]:
        """Every record as a tuple (FIELDS, then one energy per component)."""
        out: list[tuple] = []
        for chunk in (*self._done, self._records):
            out.extend(chunk if isinstance(chunk, list) else zip(*(chunk[n].tolist() for n in _NAMES)))
        return out

    # --- queries ------------------------------------------------------------------------------
    def _since(self, since: Mark | None) -> dict[str, np.ndarray]:
        """The columns of the commands completed after *since* (all of them without a mark)."""
        c = self.columns()
        if since is None:
            return c
        if not 0 <= since.n_recorded <= len(self):
            raise ValueError(f"a mark after {since.n_recorded} commands does not belong to this ledger of {len(self)}")
        return {name: column[since.n_recorded:] for name, column in c.items()}

    def chip_static_pj(self, until_ps: int, since: Mark | None = None) -> float:
        """Always-on static energy from time 0 (or the mark *since*) to *until_ps*."""
        return power_time_to_pj(self.p_static_chip_mw, until_ps if since is None else until_ps - since.time_ps)

    def by_component(self, until_ps: int | None = None, since: Mark | None = None) -> dict[str, float]:
        """Total energy per component; with *until_ps*, chip static power up to then is added to ``static``."""
        c = self._since(since)
        totals = {comp: float(c[f"{comp}_pj"].sum()) for comp in COMPONENTS}
        if until_ps is not None:
            totals["static"] += self.chip_static_pj(until_ps, since)
        return totals

    def by_tile(self, since: Mark | None = None) -> dict[int, float]:
        """Energy charged by commands of each tile (chip static power excluded)."""
        c = self._since(since)
        return {int(t): float(c["energy_pj"][c["tile"] == t].sum()) for t in np.unique(c["tile"])}

    def by_command(self, since: Mark | None = None) -> dict[str, dict[str, float]]:
        """Per command kind: count, total energy (pJ) and energy per command."""
        c = self._since(since)
        out = {}
        for kind in sorted(set(c["kind"].tolist())):
            sel = c["kind"] == kind
            total = float(c["energy_pj"][sel].sum())
            out[kind] = {"count": int(sel.sum()), "energy_pj": total, "energy_per_command_pj": total / sel.sum()}
        return out

    def mvm_stats(self, since: Mark | None = None) -> dict[str, float]:
        """MVM totals: vectors, MACs, energy per vector (pJ), MAC/s over the MVMs' span, TOPS/W.

        TOPS/W counts 2 operations per MAC over the energy charged to the MVM commands
        (1 TOPS/W = 1 operation per pJ).
        """
        c = self._since(since)
        sel = c["kind"] == "mvm"
        if not sel.any():
            return {"vectors": 0, "macs": 0, "energy_pj": 0.0, "energy_per_vector_pj": 0.0, "mac_per_s": 0.0,
                    "tops_per_w": 0.0}
        energy = float(c["energy_pj"][sel].sum())
        macs = int(c["macs"][sel].sum())
        vectors = int(c["vectors"][sel].sum())
        span_ps = int(c["exec_end_ps"][sel].max() - c["exec_start_ps"][sel].min())
        return {"vectors": vectors, "macs": macs, "energy_pj": energy, "energy_per_vector_pj": energy / vectors,
                "mac_per_s": macs / (span_ps * 1e-12) if span_ps else 0.0,
                "tops_per_w": 2 * macs / energy if energy else 0.0}

    def adc_saturation(self, since: Mark | None = None) -> dict[str, int]:
        """ADC conversions and saturated (clipped) conversions, over all commands."""
        c = self._since(since)
        return {"conversions": int(c["adc_conversions"].sum()), "saturated": int(c["adc_saturated"].sum())}

    def latency_percentiles_ps(self, percentiles: tuple[float, ...] = (50, 90, 99), since: Mark | None = None
                               ) -> dict[str, dict[str, float]]:
        """Per command kind: issue-to-completion latency percentiles, ps."""
        c = self._since(since)
        lat = c["end_ps"] - c["start_ps"] if c["end_ps"].size else np.zeros(0)
        return {kind: {f"p{p:g}": float(np.percentile(lat[c["kind"] == kind], p)) for p in percentiles}
                for kind in sorted(set(c["kind"].tolist()))}

    # --- export -------------------------------------------------------------------------------
    def rows(self) -> list[dict[str, Any]]:
        """One dict per command, sorted by id: times, kind, tile, counts and energy by component."""
        names = (*FIELDS, *(f"{c}_pj" for c in COMPONENTS))
        return [dict(zip(names, r)) for r in sorted(self._tuples())]

    def to_csv(self, path: str | Path) -> None:
        """Write one row per command (see :meth:`rows`)."""
        with open(path, "w", newline="") as fh:
            writer = csv.writer(fh)
            writer.writerow((*FIELDS, *(f"{c}_pj" for c in COMPONENTS)))
            writer.writerows(sorted(self._tuples()))

    def summary(self, until_ps: int, since: Mark | None = None) -> dict[str, Any]:
        """Everything the reports show, as plain data (JSON-ready)."""
        return {"elapsed_ps": until_ps if since is None else until_ps - since.time_ps,
                "commands": len(self) if since is None else len(self) - since.n_recorded,
                "energy_by_component_pj": self.by_component(until_ps, since),
                "energy_by_tile_pj": {str(k): v for k, v in self.by_tile(since).items()},
                "energy_by_command": self.by_command(since), "mvm": self.mvm_stats(since),
                "adc": self.adc_saturation(since), "latency_ps": self.latency_percentiles_ps(since=since)}

    def to_json(self, path: str | Path, until_ps: int) -> None:
        """Write :meth:`summary` plus the per-command rows."""
        Path(path).write_text(json.dumps({**self.summary(until_ps), "commands_detail": self.rows()}, indent=1))
