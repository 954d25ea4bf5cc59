"""The runner on Dask: a LocalCluster and an existing scheduler on 127.0.0.1 give the in-process rows."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from memtwin.study import load_study, run_study

pytest.importorskip("distributed")

ROOT = Path(__file__).resolve().parents[3]

STUDY = """\
name: d
base: tiny.yaml
axes:
  - field: tile.adc.bits
    values: [4, 8]
  - field: tile.adc.count
    values: [1, 16]      # 16: invalid, an error row
seeds: [0, 1]
workloads:
  - kind: mvm
    batch: 4
"""


def _strip(rows):
    return sorted(({k: v for k, v in r.items() if k != "wall_s"} for r in rows), key=lambda r: r["key"])


def _study(folder):
    p = folder / "study.yaml"
    p.write_text(textwrap.dedent(STUDY))
    return load_study(p)


def test_local_cluster_rows_equal_in_process_rows(study_dir, tmp_path):
    s = _study(study_dir)
    here = run_study(s, tmp_path / "a", workers=0, progress=False, keep_rows=True)
    messages = []
    there = run_study(s, tmp_path / "b", workers=2, progress=False, keep_rows=True, notify=messages.append)
    assert there.mode.startswith("LocalCluster, 2 worker")
    assert messages and "dashboard" in messages[0]
    assert (there.n_ok, there.n_failed) == (4, 4)
    assert _strip(here.rows) == _strip(there.rows)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_an_existing_scheduler_on_loopback(study_dir, tmp_path):
    port = _free_port()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "tests" / "helpers"),
                                                       os.environ.get("PYTHONPATH", "")])}
    addr = f"tcp://127.0.0.1:{port}"
    sched = subprocess.Popen([sys.executable, "-m", "distributed.cli.dask_scheduler", "--host", "127.0.0.1",
                              "--port", str(port), "--no-dashboard"], env=env,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    worker = None
    try:
        worker = subprocess.Popen([sys.executable, "-m", "distributed.cli.dask_worker", addr, "--nthreads", "1",
                                   "--nworkers", "1", "--host", "127.0.0.1", "--no-dashboard"], env=env,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        s = _study(study_dir)
        deadline = time.monotonic() + 60
        while True:  # the scheduler takes a moment to listen
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        there = run_study(s, tmp_path / "s", scheduler=addr, progress=False, keep_rows=True)
        assert there.mode == f"scheduler {addr}"
        here = run_study(s, tmp_path / "h", workers=0, progress=False, keep_rows=True)
        assert _strip(here.rows) == _strip(there.rows)
    finally:
        for p in (worker, sched):
            if p is not None:
                p.terminate()
                try:
                    p.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait(timeout=10)
