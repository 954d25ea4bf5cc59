"""Chips share no mutable state: two chips run in two threads give what they give run one after the other."""

import threading

import numpy as np

import twin
from memtwin_testing import CHIPSPECS
from twin import Mvm, Pulse, Read


def _session(spec, seed):
    """Pulses, reads and MVMs of batch 1 and batch 64 (the fused and the BLAS path) on one chip;
    returns every result's values, times and energies."""
    chip = twin.build(spec, seed=seed)
    rng = np.random.default_rng(seed)
    rows, cols = spec.tile.array.rows, spec.tile.array.cols
    out = []
    for step in range(24):
        if step % 6 == 0:
            r, c = rng.integers(0, rows, 8), rng.permutation(cols)[:8]
            out.append(chip.execute(Pulse(0, r, c, "set", 2.0, 1_000_000, 3.0)))
            out.append(chip.execute(Read(0, r, c)))
        batch = 1 if step % 3 == 0 else 64
        out.append(chip.execute(Mvm(0, rng.uniform(-1, 1, (batch, rows)))))
    return [(r.values.tobytes() if r.values is not None else None, r.start_ps, r.end_ps,
             tuple(r.energy_pj.items())) for r in out]


def test_two_chips_in_two_threads_equal_the_serial_run():
    spec = twin.load_spec(CHIPSPECS / "default.yaml")
    seeds = (1, 2)
    serial = {seed: _session(spec, seed) for seed in seeds}
    threaded = {}
    errors = []

    def run(seed):
        try:
            threaded[seed] = _session(spec, seed)
        except BaseException as exc:  # surfaced below: a thread's exception would otherwise be lost
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(seed,)) for seed in seeds]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    for seed in seeds:
        differ = [k for k, (a, b) in enumerate(zip(serial[seed], threaded[seed])) if a != b]
        assert not differ, f"seed {seed}: results {differ} differ from the serial run"
