"""Run a study: every task on a Dask cluster (a LocalCluster by default) or in this process.

``run_study(study, "results/")`` starts a ``distributed.LocalCluster`` with one single-threaded
worker process per core, submits one task per point × workload × seed, and writes each row as it
arrives (``memtwin.study.results``). ``scheduler="tcp://host:8786"`` uses an existing cluster
instead (its workers need memtwin installed); ``workers=0`` runs in this process. Tasks already in
the results folder (same content hash) are skipped, so a killed study resumes. The library prints
nothing: progress is a tqdm bar on stderr, and messages for the user (the dashboard link) go to the
*notify* callback.
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from tqdm import tqdm

from memtwin.study.measure import run_task
from memtwin.study.points import Task, tasks
from memtwin.study.results import ResultSink, read_rows
from memtwin.study.studyfile import Study

CLUSTER_TIMEOUT_S = 60.0
"""Longest wait for a cluster to start or a scheduler to answer."""


WORKER_ENVIRON = {"OMP_NUM_THREADS": 1, "MKL_NUM_THREADS": 1, "OPENBLAS_NUM_THREADS": 1}
"""Environment of LocalCluster workers: one BLAS thread each (one worker per core), and *not* Dask's
default ``MALLOC_TRIM_THRESHOLD_=65536``, which turns off glibc's dynamic mmap threshold so that every
numpy array above 128 KB is a fresh mmap with its page faults: the MVM workloads ran 1.5x slower
with it (bench/bench_study.py)."""


@dataclass
class StudyRun:
    """What a run did."""

    n_tasks: int
    """Tasks in the study (points × workloads × seeds)."""
    n_skipped: int
    """Tasks found in the results folder and not run again."""
    n_ok: int = 0
    n_failed: int = 0
    wall_s: float = 0.0
    """Whole run, cluster start included, s."""
    start_s: float = 0.0
    """Cluster start (or connection) and worker warm-up, s."""
    mode: str = "in-process"
    dashboard: str | None = None
    rows: list[dict] = field(default_factory=list)
    """Rows of the tasks run now (not the skipped ones), in completion order."""


def pending_tasks(study: Study, out: str | Path, retry_failed: bool = False) -> tuple[list[Task], int]:
    """The tasks of *study* not yet in *out* (failed ones count as done unless *retry_failed*), and the
    number skipped."""
    all_tasks = tasks(study)
    done = set()
    if Path(out).is_dir():
        for r in read_rows(out):
            if r.get("key") and (r.get("status") == "ok" or not retry_failed):
                done.add(r["key"])
    todo = [t for t in all_tasks if t.key not in done]
    return todo, len(all_tasks) - len(todo)


def _warm_worker(log_level: str = "warning") -> int:
    """Set the worker's log level and import the twin and build a small chip once per worker (numba caches
    load here, not in a task)."""
    import firmware
    from twin.logconfig import configure_logging

    configure_logging(log_level)

    chip = firmware.open_chip("kim2021", seed=0)
    chip.tile(0).mvm([0.5] * chip.tile(0).shape[0])
    return os.getpid()


def _dashboard_address() -> str | None:
    try:
        import bokeh  # noqa: F401  (the dashboard needs it)
    except ImportError:
        return None
    return ":0"


def run_study(study: Study, out: str | Path, *, workers: int | None = None, scheduler: str | None = None,
              fmt: str = "parquet", progress: bool = True, retry_failed: bool = False,
              notify: Callable[[str], None] | None = None, flush_s: float = 2.0,
              keep_rows: bool = False, log_level: str = "warning") -> StudyRun:
    """Run every pending task of *study*, writing rows to *out*.

    *workers*: worker processes of the LocalCluster (default: one per core); 0 runs in this process.
    *scheduler*: address of an existing Dask scheduler (then *workers* is ignored).
    *notify*: called with one-line messages for the user (cluster started, dashboard link).
    *keep_rows*: also return the new rows in :attr:`StudyRun.rows`.
    *log_level*: structlog level set in the cluster's workers (this process keeps its own configuration).
    """
    say = notify or (lambda message: None)
    wall = time.perf_counter()
    todo, skipped = pending_tasks(study, out, retry_failed)
    run = StudyRun(n_tasks=len(todo) + skipped, n_skipped=skipped)
    sink = ResultSink(out, fmt, flush_s)
    bar = tqdm(total=len(todo), desc=f"study {study.name}", unit="task", disable=not progress or not todo,
               leave=False)

    def take(row: dict) -> None:
        sink.add(row)
        if row["status"] == "ok":
            run.n_ok += 1
        else:
            run.n_failed += 1
        if keep_rows:
            run.rows.append(row)
        bar.update(1)

    try:
        if not todo:
            pass
        elif scheduler is None and workers == 0:
            run.mode = "in-process"
            for t in todo:
                take(run_task(t))
        else:
            _run_dask(todo, take, run, scheduler, workers, say, log_level)
    finally:
        bar.close()
        sink.close()
    run.wall_s = time.perf_counter() - wall
    return run


def _run_dask(todo: list[Task], take: Callable[[dict], None], run: StudyRun, scheduler: str | None,
              workers: int | None, say: Callable[[str], None], log_level: str) -> None:
    import dask
    from distributed import Client, LocalCluster, as_completed

    t0 = time.perf_counter()
    cluster = None
    if scheduler is None:
        n = workers or os.cpu_count() or 1
        with dask.config.set({"distributed.nanny.pre-spawn-environ": WORKER_ENVIRON}):
            cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True,
                                   dashboard_address=_dashboard_address(), silence_logs=logging.ERROR)
        client = Client(cluster, timeout=CLUSTER_TIMEOUT_S)
        run.mode = f"LocalCluster, {n} worker process(es)"
    else:
        client = Client(scheduler, timeout=CLUSTER_TIMEOUT_S)
        run.mode = f"scheduler {scheduler}"
    try:
        n_workers = len(client.scheduler_info().get("workers", {}))
        if n_workers == 0:
            client.wait_for_workers(1, timeout=CLUSTER_TIMEOUT_S)
        client.run(_warm_worker, log_level)
        run.start_s = time.perf_counter() - t0
        if cluster is not None and cluster.dashboard_link and _dashboard_address() is not None:
            run.dashboard = cluster.dashboard_link
        elif cluster is None:
            run.dashboard = client.dashboard_link
        say(f"{run.mode}; dashboard: {run.dashboard or 'unavailable (pip install bokeh)'}")
        futures = [client.submit(run_task, t, key=f"task-{t.key}-{i}", pure=False, retries=0)
                   for i, t in enumerate(todo)]
        for fut in as_completed(futures):
            try:
                row = fut.result()
            except Exception as exc:  # a worker died: the task's own errors come back as rows
                t = todo[futures.index(fut)]
                row = {"study": t.study, "point": t.point, "key": t.key, "workload": t.workload.label,
                       "kind": t.workload.kind, "seed": t.seed, "status": "error",
                       "error": f"worker failure: {type(exc).__name__}: {exc}", **t.values}
            take(row)
            fut.release()
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


__all__ = ["StudyRun", "run_study", "pending_tasks", "CLUSTER_TIMEOUT_S"]
