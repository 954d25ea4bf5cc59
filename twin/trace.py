"""The trace: timeline records of every command, exportable to Chrome's trace-event format (Perfetto).

Each command leaves one record of its schedule; :meth:`Trace.records` expands it into phases:
``<kind> in`` and ``<kind> out`` on the host link, ``wait`` in the tile's queue, then the tile's
phases (``decode`` on the controller, the array operation).
"""

from __future__ import annotations

import json
from pathlib import Path
from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class _Block:
    """Schedules of several commands of one tile, in columns (see :meth:`Trace.add_block`)."""

    cmd_ids: np.ndarray
    tile: int
    kinds: list[str]
    in_ps: tuple[np.ndarray, np.ndarray]
    exec_start_ps: np.ndarray
    phases: list[tuple]
    out_ps: tuple[np.ndarray, np.ndarray]


class Trace:
    """Per-command schedules, expanded on demand into (cmd_id, tile, component, phase, start_ps, end_ps)."""

    def __init__(self) -> None:
        self._commands: list[tuple] = []
        self._n = 0

    def __len__(self) -> int:
        """Number of commands traced."""
        return self._n

    def add_command(self, cmd_id: int, tile: int, kind: str, in_ps: tuple[int, int], exec_start_ps: int,
                    phases: tuple, out_ps: tuple[int, int]) -> None:
        """Record one command's schedule; *phases* are its Plan phases (component, name, duration_ps)."""
        self._commands.append((cmd_id, tile, kind, in_ps, exec_start_ps, phases, out_ps))
        self._n += 1

    def add_block(self, cmd_ids: np.ndarray, tile: int, kinds: list[str], in_ps: tuple[np.ndarray, np.ndarray],
                  exec_start_ps: np.ndarray, phases: list[tuple], out_ps: tuple[np.ndarray, np.ndarray]) -> None:
        """Record several commands of one tile at once, as columns (expanded only when records are asked for)."""
        self._commands.append(_Block(cmd_ids, tile, kinds, in_ps, exec_start_ps, phases, out_ps))
        self._n += len(kinds)

    def _schedules(self):
        """Every command's (cmd_id, tile, kind, in_ps, exec_start_ps, phases, out_ps), blocks expanded."""
        for entry in self._commands:
            if isinstance(entry, _Block):
                b = entry
                yield from zip(b.cmd_ids.tolist(), [b.tile] * len(b.kinds), b.kinds,
                               zip(b.in_ps[0].tolist(), b.in_ps[1].tolist()), b.exec_start_ps.tolist(), b.phases,
                               zip(b.out_ps[0].tolist(), b.out_ps[1].tolist()))
            else:
                yield entry

    def records(self) -> list[tuple[int, int, str, str, int, int]]:
        """All phases as (cmd_id, tile, component, phase, start_ps, end_ps), command by command."""
        out = []
        for cmd_id, tile, kind, (in_start, in_end), t, phases, (out_start, out_end) in self._schedules():
            out.append((cmd_id, tile, "host_link", f"{kind} in", in_start, in_end))
            if t > in_end:
                out.append((cmd_id, tile, "queue", "wait", in_end, t))
            for phase in phases:
                name = kind if phase.component == "array" else phase.name
                out.append((cmd_id, tile, phase.component, name, t, t + phase.duration_ps))
                t += phase.duration_ps
            out.append((cmd_id, tile, "host_link", f"{kind} out", out_start, out_end))
        return out

    def for_command(self, cmd_id: int) -> list[tuple[str, str, int, int]]:
        """(component, phase, start_ps, end_ps) of one command, in time order."""
        out = [(c, p, s, e) for i, _, c, p, s, e in self.records() if i == cmd_id]
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
        """Write one JSON object per phase record."""
        keys = ("cmd_id", "tile", "component", "phase", "start_ps", "end_ps")
        with open(path, "w") as fh:
            for rec in self.records():
                fh.write(json.dumps(dict(zip(keys, rec))) + "\n")
