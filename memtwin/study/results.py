"""Results folders: rows written as tasks finish (Parquet parts or one CSV), read back as one table.

Parquet: every flush writes a new ``part-<run>-<n>.parquet``; reading concatenates the parts (columns
missing from a part are null). CSV: ``results.csv``, rewritten whole at each flush (a crash leaves
the previous complete file). Both carry the same columns; ``read_results`` reads either.
"""

from __future__ import annotations

import math
import os
import time
import uuid
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from memtwin.study.measure import ID_COLUMNS

CSV_NAME = "results.csv"


def _columns(rows: list[dict]) -> list[str]:
    cols: dict[str, None] = dict.fromkeys(c for c in ID_COLUMNS if any(c in r for r in rows))
    for r in rows:
        for k in r:
            cols.setdefault(k, None)
    return list(cols)


def _normalize(v: Any) -> Any:
    if isinstance(v, tuple):
        return str(list(v))
    return v


def rows_to_table(rows: list[dict]) -> pa.Table:
    """A pyarrow table of *rows* (dicts), with the union of their keys; numbers as float64 where any row
    has a float in that column, so that parts written at different times concatenate."""
    cols = _columns(rows)
    arrays = {}
    for c in cols:
        vals = [_normalize(r.get(c)) for r in rows]
        present = [v for v in vals if v is not None]
        if present and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in present) \
                and any(isinstance(v, float) for v in present):
            arrays[c] = pa.array([float(v) if v is not None else None for v in vals], pa.float64())
        elif present and all(isinstance(v, (int, float, bool, str)) for v in present) and \
                len({type(v) for v in present}) > 1:
            arrays[c] = pa.array([str(v) if v is not None else None for v in vals], pa.string())
        else:
            arrays[c] = pa.array(vals)
    return pa.table(arrays)


class ResultSink:
    """Collects rows and writes them to *out* (``parquet`` or ``csv``) every *flush_s* seconds and on close."""

    def __init__(self, out: str | Path, fmt: str = "parquet", flush_s: float = 2.0) -> None:
        if fmt not in ("parquet", "csv"):
            raise ValueError(f"format must be 'parquet' or 'csv', not {fmt!r}")
        self.out = Path(out)
        self.out.mkdir(parents=True, exist_ok=True)
        self.fmt = fmt
        self.flush_s = flush_s
        self._pending: list[dict] = []
        self._run = uuid.uuid4().hex[:8]
        self._part = 0
        self._last = time.monotonic()
        self.n_written = 0

    def add(self, row: dict) -> None:
        """Queue one row; flushes when *flush_s* has passed since the last flush."""
        self._pending.append(row)
        if time.monotonic() - self._last >= self.flush_s:
            self.flush()

    def flush(self) -> None:
        """Write the queued rows."""
        self._last = time.monotonic()
        if not self._pending:
            return
        if self.fmt == "parquet":
            path = self.out / f"part-{self._run}-{self._part:05d}.parquet"
            tmp = path.with_suffix(".tmp")
            pq.write_table(rows_to_table(self._pending), tmp)
            os.replace(tmp, path)
            self._part += 1
        else:
            existing = read_rows(self.out)
            table = rows_to_table(existing + self._pending)
            tmp = self.out / (CSV_NAME + ".tmp")
            pacsv.write_csv(table, tmp)
            os.replace(tmp, self.out / CSV_NAME)
        self.n_written += len(self._pending)
        self._pending = []

    def close(self) -> None:
        """Write what is left."""
        self.flush()


def read_results(out: str | Path) -> pa.Table:
    """Every row in the results folder *out* (Parquet parts and/or ``results.csv``) as one table."""
    out = Path(out)
    tables = [pq.read_table(p) for p in sorted(out.glob("part-*.parquet"))]
    if (out / CSV_NAME).is_file():
        tables.append(pacsv.read_csv(out / CSV_NAME))
    if not tables:
        return pa.table({})
    if len(tables) == 1:
        return tables[0]
    return pa.concat_tables(tables, promote_options="permissive")


def read_rows(out: str | Path) -> list[dict]:
    """The rows of :func:`read_results` as dicts (NaN-free: missing values are None)."""
    rows = read_results(out).to_pylist()
    for r in rows:
        for k, v in r.items():
            if isinstance(v, float) and math.isnan(v):
                r[k] = None
    return rows


__all__ = ["ResultSink", "read_results", "read_rows", "rows_to_table", "CSV_NAME"]
