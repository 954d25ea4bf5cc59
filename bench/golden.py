"""Golden runs: one digest of every value, time and energy for fixed sessions on every bundled spec.

A refactoring that must not change results (issue 10's redesign step, say) is checked by running
this script before and after: the digests must be equal, scenario by scenario.

    python bench/golden.py                  # print the digests
    python bench/golden.py --save FILE      # store them as JSON
    python bench/golden.py --check FILE     # compare with stored digests; exit 1 on any difference

Scenarios, each on its own chip:

- ``session/<spec>``: every bundled spec, a mixed session: configure, reads, pulses (SET and RESET,
  per-cell arrays), MVMs (batch 1 and 32, windows), concurrent ``*_proc`` workers on two tiles, a
  wait, a run of one-cell ops (``execute_cells``);
- ``demo``: ``memtwin demo`` on the default spec;
- ``write_verify``: a full 256 × 256 tile programmed to 4 levels on the default spec;
- ``replay``: a session recorded to a log, replayed; the replayed chip's digest.

The digest hashes the result values, the four timestamps of every result, the ledger's columns
(times, counts, energy by component) and the final clock.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import tempfile
from pathlib import Path

import numpy as np

import firmware
import twin
from twin.spec.catalog import names as bundled_names


class Digest:
    """sha256 over arrays and numbers, with their dtype and shape."""

    def __init__(self) -> None:
        self._h = hashlib.sha256()

    def add(self, x) -> None:
        a = np.ascontiguousarray(np.asarray(x))
        if a.dtype == object:
            self._h.update(repr(a.tolist()).encode())
            return
        self._h.update(f"{a.dtype.str}{a.shape}".encode())
        self._h.update(a.tobytes())

    def add_result(self, r) -> None:
        self.add(r.values)
        self.add([r.index, r.start_ps, r.end_ps, r.exec_start_ps, r.exec_end_ps, r.link_seq])
        self.add([r.energy_pj[k] for k in sorted(r.energy_pj)])

    def add_chip(self, chip) -> None:
        cols = chip.ledger.columns()
        for name in sorted(cols):
            self.add(cols[name] if name != "kind" else cols[name].astype(str))
        self.add(chip.now_ps)

    def hexdigest(self) -> str:
        return self._h.hexdigest()


def _session(chip, d: Digest) -> None:
    """A mixed session through the firmware API."""
    rng = np.random.default_rng(7)
    t0 = chip.tile(0)
    rows, cols = t0.shape
    n = min(16, rows, cols)
    r, c = np.arange(n)[:, None], np.arange(n)[None, :]
    d.add_result(t0.configure(adc_mvm_range_ua=(-64.0, 64.0)))
    d.add_result(t0.read(r, c))
    d.add_result(t0.pulse(r, c, "set", 1.5, 100_000, rng.uniform(0.8, 1.5, (n, n))))
    d.add_result(t0.pulse(r[:4], c, "reset", 1.2, 50_000, 3.0))
    d.add_result(t0.read(r, c))
    d.add_result(t0.mvm(rng.uniform(-1, 1, rows)))
    d.add_result(t0.mvm(rng.uniform(-1, 1, (32, n)), row_window=(0, n), col_window=(0, n)))
    out = {}

    def worker(tile, x):
        yield from tile.configure_proc(adc_mvm_range_ua=(-32.0, 32.0))
        out[tile.index] = yield from tile.mvm_proc(x)
        out[(tile.index, "read")] = yield from tile.read_proc(0, np.arange(8))

    for i in range(min(2, chip.n_tiles)):
        chip.process(worker(chip.tile(i), rng.uniform(-1, 1, (4, rows))))
    chip.run()
    for k in sorted(out, key=str):
        d.add_result(out[k])
    chip.wait(5_000_000)
    d.add_result(t0.read(r, c))
    k = 64
    ops = twin.CellOps(0, rows=rng.integers(0, n, k), cols=rng.integers(0, n, k), is_read=rng.random(k) < 0.5,
                       is_set=rng.random(k) < 0.7, v_pulse_v=np.full(k, 1.4), width_ps=np.full(k, 100_000),
                       v_gate_v=np.full(k, 1.2))
    res = chip.execute_cells(ops)
    for name in ("values", "start_ps", "end_ps", "exec_start_ps", "exec_end_ps", "energy_pj", "link_seq"):
        d.add(getattr(res, name))
    d.add_chip(chip)


def golden() -> dict[str, str]:
    """Digest per scenario."""
    out: dict[str, str] = {}
    for name in bundled_names():
        d = Digest()
        _session(firmware.open_chip(name, seed=3), d)
        out[f"session/{name}"] = d.hexdigest()

    from memtwin.demo import run_demo

    demo = run_demo(progress=False)
    d = Digest()
    d.add(demo.final_us)
    d.add(demo.mvm_rel_error)
    d.add_chip(demo.chip)
    out["demo"] = d.hexdigest()

    from firmware.programming import write_verify

    chip = firmware.open_chip("default", seed=5)
    t0 = chip.tile(0)
    rows, cols = t0.shape
    targets = np.random.default_rng(1).choice([5.0, 15.0, 25.0, 35.0], (rows, cols))
    rep = write_verify(t0, np.arange(rows)[:, None], np.arange(cols)[None, :], targets, tolerance_us=1.0,
                       max_pulses=30, progress=False)
    d = Digest()
    d.add(rep.final_us)
    d.add_chip(chip)
    out["write_verify"] = d.hexdigest()

    from twin.log.replayer import replay

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "g.jsonl"
        chip = firmware.open_chip("default", seed=9, log=path)
        d = Digest()
        _session(chip, d)
        chip.log.close()
        out["record"] = d.hexdigest()
        rep = replay(path)
        out["replay"] = "identical" if not rep.diverged and rep.n_commands > 0 else f"DIVERGED {rep.n_commands}"
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--save", help="write the digests to this JSON file")
    p.add_argument("--check", help="compare with the digests in this JSON file")
    args = p.parse_args(argv)
    got = golden()
    for k, v in got.items():
        print(f"{k:<28} {v}")
    if args.save:
        Path(args.save).write_text(json.dumps(got, indent=1) + "\n")
    if args.check:
        want = json.loads(Path(args.check).read_text())
        bad = [k for k in sorted(set(want) | set(got)) if want.get(k) != got.get(k)]
        print(f"{len(want) - len(bad)} of {len(want)} scenarios identical" + (f"; differ: {bad}" if bad else ""))
        return 1 if bad else 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
