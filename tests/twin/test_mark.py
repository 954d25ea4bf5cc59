"""Reports of one phase: ``chip.mark()`` and ``since=`` (tiny spec, hand-checked).

The phase after the mark is one read of an unprogrammed cell (1 uS) issued at the mark time T:
12 bytes in (T to T + 22,000 ps), decode 5,000 + settle 1,000 + one conversion 150 (to T + 28,150),
9 bytes back (to T + 47,150). Its energy: host link (12 + 9) x 8 bits x 0.5 pJ = 84 pJ, controller 1 pJ,
DAC 0.5 pJ, ADC 2 pJ, tile static 1 mW x 6,150 ps = 6.15 pJ, cells 0.2 V x 0.2 V x 1 uS x 1,150 ps =
4.6e-5 pJ; chip static 2 mW over the 47,150 ps since the mark = 94.3 pJ.
"""

from __future__ import annotations

import dataclasses

import pytest

from firmware.driver import open_chip
from twin import Pulse, Read
from twin.ledger import Mark

READ_PJ = 84.0 + 1.0 + 0.5 + 2.0 + 6.15 + 4.6e-5
CHIP_STATIC_PJ = 2.0 * 47_150 * 1e-3


def program_then_settle(chip) -> None:
    """The phase before the mark: four SET pulses, then a 10 us settling wait."""
    for col in range(4):
        chip.execute(Pulse(0, 0, col, "set", 2.0, 100_000, 2.0))
    chip.run(chip.now_ps + 10_000_000)


def test_mark_records_where_the_run_stands(chip):
    program_then_settle(chip)
    mark = chip.mark()
    assert mark == Mark(n_issued=4, time_ps=chip.now_ps, n_recorded=4)
    with pytest.raises(dataclasses.FrozenInstanceError):
        mark.time_ps = 0


def test_report_since_a_mark_covers_only_the_phase_after_it(chip):
    program_then_settle(chip)
    mark = chip.mark()
    read = chip.execute(Read(0, 1, 5))
    assert chip.now_ps - mark.time_ps == 47_150
    by_comp = chip.ledger.by_component(chip.now_ps, since=mark)
    assert by_comp == pytest.approx({"cells": 4.6e-5, "dac": 0.5, "adc": 2.0, "controller": 1.0, "host_link": 84.0,
                                     "static": 6.15 + CHIP_STATIC_PJ})
    assert sum(read.energy_pj.values()) == pytest.approx(READ_PJ)
    assert chip.ledger.by_command(since=mark) == {"read": pytest.approx(
        {"count": 1, "energy_pj": READ_PJ, "energy_per_command_pj": READ_PJ})}
    assert chip.ledger.by_tile(since=mark) == pytest.approx({0: READ_PJ})
    assert chip.ledger.latency_percentiles_ps(since=mark) == {"read": {"p50": 47_150.0, "p90": 47_150.0,
                                                                       "p99": 47_150.0}}
    assert chip.ledger.adc_saturation(since=mark) == {"conversions": 1, "saturated": 0}
    assert chip.ledger.mvm_stats(since=mark)["vectors"] == 0
    summary = chip.ledger.summary(chip.now_ps, since=mark)
    assert (summary["elapsed_ps"], summary["commands"]) == (47_150, 1)
    text = chip.report(since=mark)
    assert text.startswith(f"chip tiny (seed 0) since {mark.time_ps / 1e6:,.3f} us: 1 commands, 0.047 us simulated, "
                           "0.188 nJ")
    assert "pulse" not in text and "read" in text
    # the whole run: the pulses too, and chip static power over all of it
    whole = chip.ledger.by_component(chip.now_ps)
    assert whole["static"] == pytest.approx(chip.ledger.columns()["static_pj"].sum() + 2.0 * chip.now_ps * 1e-3)
    assert "pulse" in chip.report()


def test_a_command_in_flight_at_the_mark_counts_after_it(chip):
    """A read submitted at 0, marked at 30,000 ps (executing), back at 47,150: chip static over 17,150 ps."""
    event = chip.submit(Read(0, 1, 5))
    chip.run(30_000)
    mark = chip.mark()
    assert (mark.n_issued, mark.n_recorded) == (1, 0)
    chip.run()
    assert event.value.end_ps == 47_150
    by_comp = chip.ledger.by_component(chip.now_ps, since=mark)
    assert by_comp["static"] == pytest.approx(6.15 + 2.0 * 17_150 * 1e-3)
    assert chip.ledger.by_command(since=mark)["read"]["count"] == 1


def test_a_mark_of_another_ledger_is_refused(chip):
    with pytest.raises(ValueError, match="does not belong"):
        chip.ledger.by_component(since=Mark(n_issued=9, time_ps=0, n_recorded=9))


def test_firmware_handle_marks_and_reports_since(tiny_spec):
    handle = open_chip(tiny_spec, seed=0)
    tile = handle.tile(0)
    tile.pulse(0, 0, "set", 2.0, 100_000, 2.0)
    handle.wait(10_000_000)
    mark = handle.mark()
    tile.read(1, 5)
    assert (mark.n_issued, mark.n_recorded) == (1, 1)
    assert handle.report(since=mark) == handle.twin.report(since=mark)
    assert "1 commands, 0.047 us simulated" in handle.report(since=mark)
    assert handle.report() == handle.twin.report()
