"""A tile: a first-in first-out server of commands with a bounded queue, its settings and its array."""

from __future__ import annotations

from collections import deque
from typing import Any

from twin.array import Array
from twin.commands import Configure
from twin.controller import Plan
from twin.periphery import TileSettings


class Tile:
    """One crossbar tile.

    Commands reach a tile in the order they cross the host link, and it executes them in that order,
    each as soon as it has arrived and the previous one has finished. The host sends a command only
    when the tile's queue has a free slot (credit-based flow control): a slot is taken when the
    transfer starts and freed when the command starts executing.
    """

    def __init__(self, index: int, array: Array, settings: TileSettings, queue_depth: int) -> None:
        self.index = index
        self.array = array
        """The tile's cells and converters."""
        self.settings = settings
        """Runtime settings (read voltage, ADC ranges); changed only by Configure commands."""
        self.queue_depth = queue_depth
        self.free_at_ps = 0
        """When the tile finishes its last accepted command (kept by :meth:`accept` and :meth:`book_run`)."""
        self._waiting_starts_ps: deque[int] = deque()
        """Execution start times of accepted commands, ascending (those not yet started hold queue slots)."""

    def slot_free_ps(self, at_ps: int) -> int:
        """Earliest time >= *at_ps* when the queue has a free slot."""
        waiting = self._waiting_starts_ps
        while waiting and waiting[0] <= at_ps:
            waiting.popleft()
        if len(waiting) < self.queue_depth:
            return at_ps
        return waiting[len(waiting) - self.queue_depth]

    def accept(self, cmd: Any, plan: Plan, arrival_ps: int) -> tuple[int, int, Any, dict[str, float], dict]:
        """Schedule *cmd* (arriving at *arrival_ps*) after the tile's previous command and apply it.

        The array applies each command's physics once, when it is accepted, stamped with its execution
        time; commands on a tile are strictly ordered, so this equals applying it at that time.
        Returns (exec_start_ps, exec_end_ps, values, the array's energy by component in pJ, counts).
        """
        start_ps = max(arrival_ps, self.free_at_ps)
        end_ps = start_ps + plan.duration_ps
        self.free_at_ps = end_ps
        self._waiting_starts_ps.append(start_ps)
        if isinstance(cmd, Configure):
            for key, value in cmd.changes().items():
                setattr(self.settings, key, value)
            return start_ps, end_ps, None, {}, {}
        values, energy_pj, info = self.array.execute(cmd, plan, self.settings, start_ps, end_ps)
        return start_ps, end_ps, values, energy_pj, info

    def book_run(self, free_at_ps: int) -> None:
        """Book a run of commands scheduled together in closed form on the idle tile
        (``twin.booking.schedule_run``), the last ending at *free_at_ps*: all have started, none holds a slot."""
        if free_at_ps < self.free_at_ps:
            raise ValueError(f"a run ending at {free_at_ps} ps cannot follow the tile's commands up to "
                             f"{self.free_at_ps} ps")
        self.free_at_ps = free_at_ps
        self._waiting_starts_ps.clear()
