"""Same spec + seed + commands: bit-identical values, times and energies."""

import numpy as np

import twin
from memtwin_testing import CHIPSPECS, SPECS
from twin import Mvm, Pulse, Read


def _noisy_tiny():
    text = (SPECS / "tiny.yaml").read_text().replace("    i_mvm_range_ua: [-64.0, 64.0]",
                                                     "    i_mvm_range_ua: [-64.0, 64.0]\n    noise_ua: 0.3")
    return twin.loads_spec(text, "noisy.yaml")


def _script(spec, seed):
    chip = twin.build(spec, seed)
    rng = np.random.default_rng(1)
    out = []
    for step in range(6):
        rows = rng.integers(0, spec.tile.array.rows, 4)
        cols = rng.permutation(spec.tile.array.cols)[:4]
        out.append(chip.execute(Pulse(step % spec.n_tiles, rows, cols, "set", 1.8, 200_000, 2.0)))
        out.append(chip.execute(Read(step % spec.n_tiles, rows, cols)))
        out.append(chip.execute(Mvm(0, rng.uniform(-1, 1, (3, spec.tile.array.rows)))))
    return [(r.values.tobytes() if r.values is not None else None, r.start_ps, r.end_ps, tuple(r.energy_pj.items()))
            for r in out]


def test_same_seed_is_bit_identical():
    spec = _noisy_tiny()
    assert _script(spec, 7) == _script(spec, 7)


def test_other_seed_differs_where_noise_is_on():
    spec = _noisy_tiny()
    assert [v for v, *_ in _script(spec, 7)] != [v for v, *_ in _script(spec, 8)]


def test_default_spec_is_deterministic():
    spec = twin.load_spec(CHIPSPECS / "default.yaml")
    chip_a, chip_b = twin.build(spec, 5), twin.build(spec, 5)
    x = np.random.default_rng(0).uniform(-1, 1, (2, 256))
    for chip in (chip_a, chip_b):
        chip.execute(Pulse(1, np.arange(16), 3, "set", 2.0, 1_000_000, 3.0))
    a, b = chip_a.execute(Mvm(1, x)), chip_b.execute(Mvm(1, x))
    assert a.values.tobytes() == b.values.tobytes() and a.energy_pj == b.energy_pj
