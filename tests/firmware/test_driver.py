"""The firmware API: blocking calls, concurrent processes, handles and errors."""

import numpy as np
import pytest

import firmware
import twin
from memtwin_testing import SPECS


@pytest.fixture
def chip():
    return firmware.open_chip(SPECS / "tiny.yaml", seed=0)


def test_open_chip_by_name_path_or_spec():
    assert firmware.open_chip("default").spec.name == "default"
    spec = twin.load_spec(SPECS / "tiny.yaml")
    assert firmware.open_chip(spec).n_tiles == 2


def test_blocking_calls_return_results_and_advance_the_clock(chip):
    t = chip.tile(1)
    r = t.pulse([0, 1], [2, 3], "set", 2.0, 100_000, 2.0)
    assert r.values is None and chip.now_ps == r.end_ps
    r = t.read([0, 1], [2, 3])
    assert np.allclose(r.values, 2.0, atol=0.2)
    r = t.mvm(np.zeros(8))
    assert r.values.shape == (1, 8)
    r = t.mvm(np.zeros((4, 8)))
    assert r.values.shape == (4, 8)
    assert t.configure(v_read_v=0.25).exec_end_ps > 0


def test_proc_variants_run_tiles_concurrently(chip):
    done = {}

    def program(tile):
        r = yield from tile.pulse_proc([0], [0], "set", 2.0, 1_000_000, 2.0)
        done[tile.index] = r

    for t in chip.tiles():
        chip.process(program(t))
    chip.run()
    a, b = done[0], done[1]
    assert a.exec_start_ps < b.exec_end_ps and b.exec_start_ps < a.exec_end_ps  # overlapping execution


def test_wait_lets_time_pass(chip):
    chip.wait(1_000_000)
    assert chip.now_ps == 1_000_000


def test_bad_tile_handle(chip):
    with pytest.raises(twin.CommandError, match=r"tile must be in \[0, 1\], not 2"):
        chip.tile(2)


def test_bad_command_through_the_api_names_address(chip):
    with pytest.raises(twin.CommandError, match=r"^Read #0 tile 0 row 8 col 0: row must be in \[0, 7\], not 8$"):
        chip.tile(0).read([8], [0])
