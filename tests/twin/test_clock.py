"""The Clock's shortcuts, and the SimPy internals they rely on (a SimPy release that renames them fails here)."""

from __future__ import annotations

import pytest
import simpy

from twin.clock import Clock


def test_simpy_still_has_the_internals_the_clock_uses():
    """Environment._now and ._queue, Event._ok and ._value, the URGENT priority (below NORMAL)."""
    env = simpy.Environment(initial_time=5)
    assert env._now == 5 and env._queue == []
    env.timeout(3)
    assert len(env._queue) == 1 and env._queue[0][0] == 8
    event = simpy.Event(env)
    assert event._value is simpy.events.PENDING and not event.triggered
    event._ok, event._value = True, 7  # what urgent_timeout does: the public properties read these
    assert event.triggered and event.ok and event.value == 7
    assert simpy.events.URGENT < simpy.events.NORMAL


def test_advance_idle_moves_an_idle_clock_like_a_lone_timeout():
    clock, reference = Clock(), simpy.Environment()
    clock.advance_idle(1_000)
    reference.timeout(1_000)
    reference.step()
    assert clock.now == reference.now == 1_000
    assert clock.idle and reference.peek() == simpy.core.Infinity


def test_idle_is_an_empty_schedule():
    clock = Clock()
    assert clock.idle and clock.peek() == simpy.core.Infinity
    clock.timeout(5)
    assert not clock.idle and clock.peek() == 5
    clock.run()
    assert clock.idle


def test_advance_idle_refuses_a_busy_clock_and_going_back():
    clock = Clock()
    clock.timeout(10)
    with pytest.raises(RuntimeError, match="1 events scheduled"):
        clock.advance_idle(20)
    clock.run()
    with pytest.raises(RuntimeError):
        clock.advance_idle(5)
    assert clock.now == 10


def test_run_until_stops_before_the_instant_and_leaves_an_idle_clock_idle():
    clock = Clock()
    seen = []
    clock.timeout(100).callbacks.append(lambda _e: seen.append(clock.now))
    clock.run_until(100)
    assert clock.now == 100 and seen == [] and clock.peek() == 100  # the timeout of instant 100 is still due
    clock.run()
    assert seen == [100]
    clock.run_until(250)
    assert clock.now == 250 and clock.idle  # SimPy's stop event is not left in the queue
    clock.run_until(200)  # not later: nothing happens
    assert clock.now == 250


def test_step_until_stops_at_the_event_and_raises_its_failure():
    clock = Clock()
    first, second = clock.timeout(5, "a"), clock.timeout(7, "b")
    clock.step_until(first)
    assert clock.now == 5 and first.processed and not second.processed
    failing = clock.event()
    failing.fail(ValueError("bad"))
    failing.defused = True
    with pytest.raises(ValueError, match="bad"):
        clock.step_until(failing)
    never = clock.event()
    clock.run()
    with pytest.raises(RuntimeError, match="no events left"):
        clock.step_until(never)


def test_urgent_timeout_goes_before_the_normal_events_of_its_instant():
    clock = Clock()
    order = []
    clock.timeout(50).callbacks.append(lambda _e: order.append("normal"))  # scheduled first
    urgent = clock.urgent_timeout(50)
    urgent.callbacks.append(lambda _e: order.append("urgent"))
    assert urgent.triggered and urgent.ok and urgent.value is None
    clock.run()
    assert order == ["urgent", "normal"] and clock.now == 50
