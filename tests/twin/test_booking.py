"""twin.booking against hand arithmetic on the tiny spec.

Tiny spec: host link 1,000 ps per byte plus 10,000 ps latency, 0.5 pJ per bit, 8-byte headers; 8-bit ADCs,
4-bit bit-serial DACs (3 planes); tiles draw 1 mW of static power.
"""

from __future__ import annotations

import numpy as np
import pytest

from twin import Configure, Mvm, Pulse, Read
from twin.booking import (book_run, book_transfer_in, energy_by_component_pj, mvm_transfer_bytes,
                          mvm_transfer_bytes_memo, schedule_run, static_energy_pj, transfer_bytes)
from twin.hostlink import HostLink
from twin.ledger import COMPONENTS


def test_transfer_bytes(tiny_spec):
    """Header plus 2 bytes per address and pulse parameter in; header plus one byte per 8-bit read value back;
    MVM: one byte per 4-bit input code in, 2 bytes per 10-bit output (8 ADC bits + 3 planes - 1) back."""
    assert transfer_bytes(Read(0, 3, 4), tiny_spec) == (8 + 2 * 2, 8 + 1)
    assert transfer_bytes(Read(0, [0], np.arange(8)), tiny_spec) == (8 + 2 * 9, 8 + 8)
    assert transfer_bytes(Pulse(0, 1, 2, "set", 2.0, 100_000, 2.0), tiny_spec) == (8 + 2 * 6, 8)
    assert transfer_bytes(Mvm(0, np.zeros((2, 8))), tiny_spec) == (8 + 2 * 8, 8 + 2 * 8 * 2)
    assert transfer_bytes(Mvm(0, np.zeros(4), (4, 8), (0, 2)), tiny_spec) == (8 + 4, 8 + 2 * 2)
    assert mvm_transfer_bytes(tiny_spec, (4, 8), (0, 2), 1) == (8 + 4, 8 + 2 * 2)
    assert transfer_bytes(Configure(0, v_read_v=0.3), tiny_spec) == (8 + 8, 8)
    with pytest.raises(TypeError, match="not a command"):
        transfer_bytes("read", tiny_spec)


def test_mvm_transfer_sizes_are_kept_by_windows_and_batch(tiny_spec):
    sizes = mvm_transfer_bytes_memo(tiny_spec)
    for cmd in (Mvm(0, np.zeros((3, 8))), Mvm(0, np.zeros(2), (0, 2), (2, 6)), Mvm(1, np.zeros(8), None, (0, 4))):
        assert sizes(cmd.row_window, cmd.col_window, cmd.batch) == transfer_bytes(cmd, tiny_spec)
    assert sizes(None, None, 1) == sizes((0, 8), (0, 8), 1)


def test_energy_by_component_adds_parts_by_name_in_ledger_order():
    energy = energy_by_component_pj({"controller": 1.0, "dac": 0.5, "adc": 2.0}, {"cells": 0.25, "dac": 3.0}, 84.0,
                                    7.2)
    assert list(energy) == list(COMPONENTS)
    assert energy == {"cells": 0.25, "dac": 3.5, "adc": 2.0, "controller": 1.0, "host_link": 84.0, "static": 7.2}
    columns = energy_by_component_pj({"dac": np.array([0.5, 1.0])}, {"cells": np.array([0.1, 0.2])},
                                     np.array([84.0, 72.0]), np.array([7.2, 7.3]))
    assert np.array_equal(columns["dac"], [0.5, 1.0]) and np.array_equal(columns["host_link"], [84.0, 72.0])
    assert columns["adc"] == 0.0
    with pytest.raises(KeyError):
        energy_by_component_pj({}, {"dacs": 1.0}, 0.0, 0.0)


def test_static_energy(tiny_spec):
    """1 mW over 7,200 ps: 7.2 pJ."""
    assert static_energy_pj(tiny_spec, 7_200) == pytest.approx(7.2)
    assert np.allclose(static_energy_pj(tiny_spec, np.array([1_000, 2_000])), [1.0, 2.0])


def test_one_command_books_link_tile_and_link(chip):
    """A one-cell read issued at 0 on the tiny chip: 12 bytes in (0-22,000), decode and read (22,000-28,150),
    9 bytes back (28,150-47,150). A second request made at 5,000 waits for the link."""
    link, tile = chip.host_link, chip.tiles[0]
    assert book_transfer_in(link, tile, 0, 12) == (0, 22_000)
    cmd = Read(0, 3, 4)
    exec_start, exec_end, *_ = tile.accept(cmd, chip.controller.plan(cmd), 22_000)
    assert (exec_start, exec_end) == (22_000, 28_150)
    assert link.reserve(exec_end, 9) == (28_150, 47_150)
    assert book_transfer_in(link, chip.tiles[1], 5_000, 12) == (47_150, 69_150)
    assert link.n_reserved == 3


def test_schedule_run_by_hand():
    """Each op holds the link 10 ps, the tile 5 ps, the link 3 ps (18 in all); issued from 100, the second
    asks at 50 (waits for the first: 118), the third at 200 (the chip is idle by then)."""
    d = np.full(3, 1, dtype=np.int64)
    s = schedule_run(100, np.array([0, 50, 200]), 10 * d, 5 * d, 3 * d)
    assert s.start_ps.tolist() == [100, 118, 200]
    assert s.exec_start_ps.tolist() == [110, 128, 210]
    assert s.exec_end_ps.tolist() == [115, 133, 215]
    assert s.end_ps.tolist() == [118, 136, 218]
    back_to_back = schedule_run(100, None, 10 * d, 5 * d, 3 * d)
    assert back_to_back.start_ps.tolist() == [100, 118, 136]


def test_book_run_books_two_transfers_per_command(chip):
    link, tile = chip.host_link, chip.tiles[0]
    link.reserve(0, 12)
    d = np.full(2, 1, dtype=np.int64)
    schedule = schedule_run(50_000, None, 10 * d, 5 * d, 3 * d)
    assert book_run(link, tile, schedule).tolist() == [1, 3]
    assert (link.n_reserved, link.free_at_ps, tile.free_at_ps) == (5, 50_036, 50_033)
    assert tile.slot_free_ps(50_000) == 50_000  # every command of the run has started


def test_runs_cannot_go_back_in_time(tiny_spec, chip):
    link = HostLink(tiny_spec.host_link)
    link.reserve(0, 12)
    with pytest.raises(ValueError, match="cannot follow"):
        link.book_run(2, 1_000)
    tile = chip.tiles[0]
    cmd = Read(0, 3, 4)
    tile.accept(cmd, chip.controller.plan(cmd), 0)
    with pytest.raises(ValueError, match="cannot follow"):
        tile.book_run(10)
