"""The chip's clock: a SimPy environment in integer picoseconds, and the only module that imports SimPy.

Its shortcuts need SimPy's private state (``Environment._now``, ``_queue``, ``Event._ok``,
``_value`` and the ``URGENT`` priority); they live here, together, and ``tests/twin/test_clock.py``
fails loudly if a SimPy release renames them.
"""

from __future__ import annotations

import simpy
from simpy import Event
from simpy.events import URGENT

__all__ = ["Clock", "Event"]


class Clock(simpy.Environment):
    """The simulated clock (``now`` in ps) with the shortcuts the chip and the log replayer use."""

    @property
    def idle(self) -> bool:
        """Whether nothing is scheduled (``peek() == Infinity`` without the exception it raises and catches)."""
        return not self._queue

    def advance_idle(self, to_ps: int) -> None:
        """Move the clock to *to_ps* with nothing scheduled: what stepping a lone timeout ending then does."""
        if self._queue or to_ps < self._now:
            raise RuntimeError(f"advance_idle({to_ps}) at {self._now} with {len(self._queue)} events scheduled")
        self._now = to_ps

    def run_until(self, until_ps: int) -> None:
        """Process every event before instant *until_ps* and move the clock there (nothing if it is not later).

        SimPy stops before the events of instant *until_ps* and re-queues its stop event at the head of
        the queue; one more step discards it (it has no callbacks left), so an idle clock looks idle.
        """
        if until_ps > self.now:
            self.run(until=until_ps)
            self.step()

    def step_until(self, event: Event) -> None:
        """Process events until *event* has been processed; raise its exception if it failed.

        Unlike ``run(until=event)``, stepping leaves no processed event behind in the queue (SimPy
        re-queues the event that stopped a run), so an idle clock stays recognizably idle.
        """
        while not event.processed:
            if self.idle:
                raise RuntimeError(f"no events left but {event} was not triggered (a process is waiting forever?)")
            self.step()
        if not event.ok:
            raise event.value

    def urgent_timeout(self, delay_ps: int) -> Event:
        """An event at now + *delay_ps*, processed before every normal event of that instant.

        Built as SimPy's own ``run(until=...)`` builds its stop event: already succeeded, scheduled URGENT.
        """
        event = Event(self)
        event._ok = True
        event._value = None
        self.schedule(event, URGENT, delay_ps)
        return event
