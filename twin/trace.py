"""The trace: timeline records of every command, exportable to Chrome's trace-event format (Perfetto).

One record per phase of a command: ``host_in`` and ``host_out`` on the host link, ``queue`` while it
waits for its tile, then the tile's phases (``decode``, ``read``/``pulses``/``mvm``). With
``detail=True`` the tile also records per-slot, per-row or per-vector sub-phases.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


class Trace:
    """Columnar timeline records: (cmd_id, tile, component, phase, start_ps, end_ps)."""

    def __init__(self, detail: bool = False) -> None:
        self.detail = detail
        """Whether tiles record sub-phases (pulse slots, MVM vectors)."""
        self._cmd: list[int] = []
        self._tile: list[int] = []
        self._component: list[str] = []
        self._phase: list[str] = []
        self._start_ps: list[int] = []
        self._end_ps: list[int] = []

    def __len__(self) -> int:
        return len(self._cmd)

    def add(self, cmd_id: int, tile: int, component: str, phase: str, start_ps: int, end_ps: int) -> None:
        """Append one record."""
        self._cmd.append(cmd_id)
        self._tile.append(tile)
        self._component.append(component)
        self._phase.append(phase)
        self._start_ps.append(start_ps)
        self._end_ps.append(end_ps)

    def records(self) -> list[tuple[int, int, str, str, int, int]]:
        """All records as (cmd_id, tile, component, phase, start_ps, end_ps) tuples, in insertion order."""
        return list(zip(self._cmd, self._tile, self._component, self._phase, self._start_ps, self._end_ps))

    def for_command(self, cmd_id: int) -> list[tuple[str, str, int, int]]:
        """(component, phase, start_ps, end_ps) of one command, in time order."""
        out = [(c, p, s, e) for i, c, p, s, e in zip(self._cmd, self._component, self._phase, self._start_ps,
                                                      self._end_ps) if i == cmd_id]
        return sorted(out, key=lambda r: (r[2], r[3]))

    def chrome_events(self) -> list[dict[str, Any]]:
        """Complete ('X') events in µs, one process per tile (pid = tile + 1; the host link is pid 0),
        one thread per component."""
        events: list[dict[str, Any]] = []
        named_pids: set[int] = set()
        named_threads: set[tuple[int, str]] = set()
        comp_ids: dict[str, int] = {}
        for cmd, tile, comp, phase, start, end in self.records():
            pid = 0 if comp == "host_link" else tile + 1
            tid = comp_ids.setdefault(comp, len(comp_ids) + 1)
            if pid not in named_pids:
                named_pids.add(pid)
                events.append({"name": "process_name", "ph": "M", "pid": pid,
                               "args": {"name": "host link" if pid == 0 else f"tile {tile}"}})
            if (pid, comp) not in named_threads:
                named_threads.add((pid, comp))
                events.append({"name": "thread_name", "ph": "M", "pid": pid, "tid": tid, "args": {"name": comp}})
            events.append({"name": phase, "cat": comp, "ph": "X", "pid": pid, "tid": tid, "ts": start / 1e6,
                           "dur": (end - start) / 1e6, "args": {"cmd": cmd, "tile": tile}})
        return events

    def to_chrome(self, path: str | Path) -> None:
        """Write the trace as Chrome trace-event JSON (open it in https://ui.perfetto.dev)."""
        Path(path).write_text(json.dumps({"traceEvents": self.chrome_events(), "displayTimeUnit": "ns"}))

    def to_jsonl(self, path: str | Path) -> None:
        """Write one JSON object per record."""
        keys = ("cmd_id", "tile", "component", "phase", "start_ps", "end_ps")
        with open(path, "w") as fh:
            for rec in self.records():
                fh.write(json.dumps(dict(zip(keys, rec))) + "\n")
