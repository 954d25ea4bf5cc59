"""Study runner throughput: a 200-point MVM study on a 2-worker LocalCluster vs in this process.

    python bench/bench_study.py [--points 200] [--workers 2]

Prints points per second in-process and on the cluster (with and without the cluster's start-up),
their ratio (target >= 1.6x on 2 cores), and the runner's overhead per point: wall time per point
in-process minus the mean time the workload itself took (its ``wall_s``, which includes building
the chip; target < 50 ms).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from memtwin.study import loads_study, run_study

STUDY = """\
name: bench
base: default
set:
  tile.adc.e_convert_pj: auto
  tile.adc.t_convert_ns: auto
combine: sample
samples: {points}
sample_seed: 0
axes:
  - field: tile.adc.bits
    between: [3, 10]
  - field: tile.adc.count
    values: [16, 32, 64, 128, 256]
  - field: tile.read.v_read_v
    between: [0.1, 0.4]
workloads:
  - kind: mvm
    batch: 8
    commands: 2
    rows: 128
    cols: 128
"""


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--points", type=int, default=200)
    p.add_argument("--workers", type=int, default=2)
    args = p.parse_args(argv)
    study = loads_study(STUDY.format(points=args.points), "bench.yaml")
    with tempfile.TemporaryDirectory() as tmp:
        run_study(study, Path(tmp) / "warm", workers=0, progress=False)  # numba caches, imports: not measured
    with tempfile.TemporaryDirectory() as tmp:
        t = time.perf_counter()
        local = run_study(study, Path(tmp) / "a", workers=0, progress=False, keep_rows=True)
        local_s = time.perf_counter() - t
        t = time.perf_counter()
        cluster = run_study(study, Path(tmp) / "b", workers=args.workers, progress=False)
        cluster_s = time.perf_counter() - t
    n = args.points
    assert local.n_ok == n and cluster.n_ok == n, (local.n_ok, cluster.n_ok, local.n_failed, cluster.n_failed)
    workload_s = sum(r["wall_s"] for r in local.rows) / n
    overhead_ms = (local_s / n - workload_s) * 1e3
    run_s = cluster_s - cluster.start_s
    print(f"{n}-point MVM study (128 x 128 window, 2 x 8 vectors per point)")
    print(f"  in-process:                 {local_s:7.2f} s  {n / local_s:7.2f} points/s")
    print(f"  LocalCluster, {args.workers} workers:     {cluster_s:7.2f} s  {n / cluster_s:7.2f} points/s "
          f"(start and warm-up {cluster.start_s:.2f} s)")
    print(f"  cluster after start-up:     {run_s:7.2f} s  {n / run_s:7.2f} points/s")
    print(f"  speed-up: {local_s / cluster_s:.2f}x with start-up, {local_s / run_s:.2f}x after it (target >= 1.6x)")
    print(f"  runner overhead per point: {overhead_ms:.1f} ms (wall {local_s / n * 1e3:.1f} ms - workload "
          f"{workload_s * 1e3:.1f} ms; target < 50 ms)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
