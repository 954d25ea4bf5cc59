"""Hand-checked timelines on the tiny spec (tests/specs/tiny.yaml).

Host link: 8 Gb/s (1 byte = 1,000 ps) + 10,000 ps latency per transfer, 8-byte headers.
Controller: 5,000 ps decode. One ADC per tile (8 columns each), 150 ps per conversion, 1,000 ps settle.
"""

import numpy as np

import twin
from twin import Mvm, Pulse, Read


def times(result):
    return (result.start_ps, result.exec_start_ps, result.exec_end_ps, result.end_ps)


def test_read_of_one_row(chip):
    """in: 8 + 2*(1 + 8) = 26 B -> 36,000; exec: 5,000 + 1,000 + 8 x 150 = 7,200; out: 8 + 8 B -> 26,000."""
    r = chip.execute(Read(0, [0], np.arange(8)))
    assert times(r) == (0, 36_000, 43_200, 69_200)
    assert chip.trace.for_command(0) == [("host_link", "read in", 0, 36_000), ("controller", "decode", 36_000, 41_000),
                                         ("array", "read", 41_000, 43_200), ("host_link", "read out", 43_200, 69_200)]


def test_read_of_cells_in_two_rows_settles_each_row():
    """Two rows, columns 0..2 and 0: 2 x 1,000 settle + (3 + 1) x 150 conversions."""
    chip = twin.build(twin.load_spec(__import__("memtwin_testing").SPECS / "tiny.yaml"))
    r = chip.execute(Read(0, [0, 0, 0, 1], [0, 1, 2, 0]))
    assert r.exec_end_ps - r.exec_start_ps == 5_000 + 2 * 1_000 + 4 * 150


def test_pulse_slots_follow_row_parallelism(chip):
    """5 cells of one row, at most 4 per slot -> 2 slots x (2,000 switch + 100,000 width) + 5,000 decode.
    in: 8 + 2 * (1 + 5 + 4 scalars) = 28 B -> 38,000; out: header only -> 18,000."""
    r = chip.execute(Pulse(0, [0], [0, 1, 2, 3, 4], "set", 2.0, 100_000, 2.0))
    assert times(r) == (0, 38_000, 247_000, 265_000)
    assert r.info["pulse_slots"] == 2 and r.info["cell_pulses"] == 5


def test_pulses_with_different_amplitudes_need_separate_slots_without_per_cell_amplitude(chip):
    r = chip.execute(Pulse(0, [0, 0], [0, 1], "set", [2.0, 2.5], 100_000, 2.0))
    assert r.info["pulse_slots"] == 2
    r = chip.execute(Pulse(0, [1, 2], [0, 0], "set", 2.0, 100_000, 2.0))  # two rows: two slots
    assert r.info["pulse_slots"] == 2


def test_bit_serial_mvm(chip):
    """4-bit inputs: 3 planes x (1,000 settle + 8 x 150) = 6,600 per vector; in 8 + 8 B; out 8 + 8 x 2 B."""
    r = chip.execute(Mvm(0, np.full(8, 0.5)))
    assert times(r) == (0, 26_000, 37_600, 71_600)
    assert r.info["adc_conversions"] == 24 and r.info["macs"] == 64


def test_mvm_batch_multiplies_vector_time(chip):
    r = chip.execute(Mvm(0, np.zeros((5, 8))))
    assert r.exec_end_ps - r.exec_start_ps == 5_000 + 5 * 6_600


def test_two_commands_on_one_tile_queue_behind_each_other(chip):
    """B crosses the link after A, then waits for the tile until A's 209,000 ps execution ends."""
    a = chip.submit(Pulse(0, [0], [0, 1, 2, 3, 4], "set", 2.0, 100_000, 2.0))
    b = chip.submit(Pulse(0, [1], [0, 1, 2, 3, 4], "set", 2.0, 100_000, 2.0))
    chip.run()
    assert times(a.value) == (0, 38_000, 247_000, 265_000)
    assert times(b.value) == (0, 247_000, 456_000, 474_000)
    assert ("queue", "wait", 76_000, 247_000) in chip.trace.for_command(1)


def test_two_tiles_run_in_parallel(chip):
    a = chip.submit(Pulse(0, [0], [0, 1, 2, 3, 4], "set", 2.0, 100_000, 2.0))
    b = chip.submit(Pulse(1, [0], [0, 1, 2, 3, 4], "set", 2.0, 100_000, 2.0))
    chip.run()
    assert times(a.value) == (0, 38_000, 247_000, 265_000)
    assert times(b.value) == (0, 76_000, 285_000, 303_000)  # executes while tile 0 does


def test_two_tiles_compete_for_the_host_link(chip):
    """A's results wait for B's inputs to cross the link; B's results wait for A's."""
    a = chip.submit(Read(0, [0], np.arange(8)))
    b = chip.submit(Read(1, [0], np.arange(8)))
    chip.run()
    assert times(a.value) == (0, 36_000, 43_200, 98_000)
    assert times(b.value) == (0, 72_000, 79_200, 124_000)


def test_full_queue_makes_the_host_wait(tiny_spec):
    """queue_depth 4: the fifth command on a busy tile waits at the queue, in order."""
    chip = twin.build(tiny_spec)
    events = [chip.submit(Pulse(0, [i], [0], "set", 2.0, 1_000_000, 2.0)) for i in range(6)]
    chip.run()
    exec_starts = [e.value.exec_start_ps for e in events]
    assert exec_starts == sorted(exec_starts)
    durations = {e.value.exec_end_ps - e.value.exec_start_ps for e in events}
    assert durations == {5_000 + 2_000 + 1_000_000}
    assert all(b.exec_start_ps == a.exec_end_ps for a, b in zip([e.value for e in events[1:]], [e.value for e in events[2:]]))


def test_configure_costs_decode_only_and_changes_settings(chip):
    r = chip.execute(twin.Configure(0, v_read_v=0.3))
    assert r.exec_end_ps - r.exec_start_ps == 5_000
    assert chip.tiles[0].settings.v_read_v == 0.3 and chip.tiles[1].settings.v_read_v == 0.2
