"""``memtwin study run|check|plot|table``: design-space studies from the shell.

    memtwin study run examples/studies/adc_bits_x_mux.yaml --out results/
    memtwin study plot results/ --x tile.adc.bits --y energy_per_mvm_pj --hue tile.adc.count --out fig.png
    memtwin study table results/ --by tops_per_w --top 5
"""

from __future__ import annotations

import argparse
import math
import sys

import twin


def _err(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return 2


def _cmd_run(args: argparse.Namespace) -> int:
    from memtwin.study import load_study, run_study

    try:
        study = load_study(args.study)
    except twin.SpecError as err:
        return _err(str(err))
    workers = 0 if args.local else args.workers
    if args.scheduler and workers == 0:
        return _err("--scheduler runs on that cluster; leave out --local / --workers 0")
    run = run_study(study, args.out, workers=workers, scheduler=args.scheduler, fmt="csv" if args.csv else "parquet",
                    progress=not args.quiet, retry_failed=args.retry_failed,
                    notify=lambda m: print(m, file=sys.stderr), log_level=args.log_level)
    print(f"study {study.name}: {run.n_tasks} tasks, {run.n_skipped} already in {args.out}, {run.n_ok} ok, "
          f"{run.n_failed} failed; {run.mode}; {run.wall_s:.1f} s"
          + (f" (cluster start {run.start_s:.1f} s)" if run.start_s else ""))
    if run.n_failed:
        print(f"failed tasks are rows with status 'error' (memtwin study table {args.out} --failed)")
    return 0


def _cmd_check(args: argparse.Namespace) -> int:
    from memtwin.study import load_study, tasks
    from memtwin.study.variants import spec_variant

    try:
        study = load_study(args.study)
    except twin.SpecError as err:
        return _err(str(err))
    ts = tasks(study)
    points = {t.point: t for t in ts}
    bad = 0
    for t in points.values():
        try:
            spec_variant(t.base, t.changes)
        except twin.SpecError as err:
            bad += 1
            print(f"point {t.point}: invalid spec: {err}")
    print(f"study {study.name}: {len(points)} points x {len(study.workloads)} workload(s) x {len(study.seeds)} "
          f"seed(s) = {len(ts)} tasks; {len(points) - bad} valid spec(s), {bad} invalid")
    return 0


def _rows(out: str) -> list[dict]:
    from memtwin.study.results import read_rows

    return read_rows(out)


def _cmd_plot(args: argparse.Namespace) -> int:
    try:
        from memtwin.study import plots
    except ImportError as err:
        return _err(f"plots need matplotlib (pip install 'memtwin[plot]'): {err}")
    try:
        import matplotlib  # noqa: F401
    except ImportError as err:
        return _err(f"plots need matplotlib (pip install 'memtwin[plot]'): {err}")
    rows = [r for r in _rows(args.results) if r.get("status") == "ok"]
    if args.workload:
        rows = [r for r in rows if r.get("workload") == args.workload]
    if not rows:
        return _err(f"{args.results}: no finished rows" + (f" for workload {args.workload!r}" if args.workload else ""))
    for col in filter(None, (args.x, args.y, args.hue)):
        if not any(col in r for r in rows):
            cols = sorted({k for r in rows for k in r})
            import difflib

            close = difflib.get_close_matches(col, cols, n=1)
            return _err(f"no column {col!r} in {args.results}" + (f"; did you mean {close[0]!r}?" if close else "")
                        + " (memtwin study table RESULTS --columns lists them)")
    try:
        if args.stack:
            plots.plot_stacked_energy(rows, args.x, args.out, per="" if args.stack == "total" else "per_mvm",
                                      hue=args.hue)
        elif args.pareto:
            front = plots.plot_pareto(rows, args.x, args.y, args.out, hue=args.hue, maximize_y=args.maximize_y,
                                      maximize_x=args.maximize_x)
            print(f"Pareto front: {len(front)} point(s): " + ", ".join(str(r.get("point")) for r in front))
        else:
            if not args.y:
                return _err("--y is required (or --stack components)")
            plots.plot_lines(rows, args.x, args.y, args.out, hue=args.hue)
    except ValueError as err:
        return _err(str(err))
    print(f"plot written to {args.out}")
    return 0


def _fmt(v) -> str:
    if isinstance(v, float):
        return "nan" if math.isnan(v) else f"{v:.4g}"
    return str(v)


def _cmd_table(args: argparse.Namespace) -> int:
    rows = _rows(args.results)
    if not rows:
        return _err(f"{args.results}: no results")
    if args.columns:
        for c in sorted({k for r in rows for k in r}):
            print(c)
        return 0
    if args.failed:
        bad = [r for r in rows if r.get("status") != "ok"]
        for r in bad:
            print(f"point {r.get('point')} {r.get('workload')} seed {r.get('seed')}: {r.get('error')}")
        print(f"{len(bad)} failed of {len(rows)} rows")
        return 0
    rows = [r for r in rows if r.get("status") == "ok" and isinstance(r.get(args.by), (int, float))]
    if args.workload:
        rows = [r for r in rows if r.get("workload") == args.workload]
    if not rows:
        return _err(f"no finished rows with a number in {args.by!r}")
    rows.sort(key=lambda r: r[args.by], reverse=not args.min)
    swept = [c for c in rows[0] if "." in c or c == "spec"]
    shown = ["point", "workload", "seed", *swept, args.by,
             *[c for c in (args.show or "").split(",") if c and c != args.by]]
    widths = [max(len(c), *(len(_fmt(r.get(c))) for r in rows[:args.top])) for c in shown]
    print("  ".join(c.ljust(w) for c, w in zip(shown, widths)))
    for r in rows[:args.top]:
        print("  ".join(_fmt(r.get(c)).ljust(w) for c, w in zip(shown, widths)))
    return 0


def add_study_command(subparsers) -> None:
    """Register ``memtwin study`` on the CLI's subparsers."""
    p = subparsers.add_parser("study", help="design-space studies: run, check, plot, table")
    sub = p.add_subparsers(dest="study_command", required=True)
    run = sub.add_parser("run", help="run every point x workload x seed of a study file")
    run.add_argument("study", help="study YAML file (docs/studies.md)")
    run.add_argument("--out", required=True, help="results folder (rows already there are skipped)")
    run.add_argument("--workers", type=int, default=None, help="LocalCluster worker processes (default: cores)")
    run.add_argument("--local", action="store_true", help="run in this process (same as --workers 0)")
    run.add_argument("--scheduler", metavar="tcp://HOST:PORT", help="use an existing Dask scheduler")
    run.add_argument("--csv", action="store_true", help="write results.csv instead of Parquet parts")
    run.add_argument("--retry-failed", action="store_true", help="run again the tasks that failed before")
    run.add_argument("--quiet", action="store_true", help="no progress bar")
    run.set_defaults(func=_cmd_run)
    check = sub.add_parser("check", help="check a study file and every point's spec, run nothing")
    check.add_argument("study")
    check.set_defaults(func=_cmd_check)
    plot = sub.add_parser("plot", help="plot results: lines, stacked energy, Pareto front")
    plot.add_argument("results", help="results folder")
    plot.add_argument("--x", required=True, help="column for the x axis (a swept field)")
    plot.add_argument("--y", help="column for the y axis (a metric, e.g. energy_per_mvm_pj)")
    plot.add_argument("--hue", help="column whose values get one line each")
    plot.add_argument("--stack", choices=("components", "total"),
                      help="stacked energy by component (per MVM vector, or totals)")
    plot.add_argument("--pareto", action="store_true", help="scatter y vs x with the Pareto front (both minimized)")
    plot.add_argument("--maximize-y", action="store_true", help="Pareto: larger y is better (e.g. tops_per_w)")
    plot.add_argument("--maximize-x", action="store_true", help="Pareto: larger x is better")
    plot.add_argument("--workload", help="only rows of this workload label")
    plot.add_argument("--out", required=True, help="image file (png, svg, pdf)")
    plot.set_defaults(func=_cmd_plot)
    table = sub.add_parser("table", help="print the best points by a metric")
    table.add_argument("results")
    table.add_argument("--by", default="energy_per_mvm_pj", help="metric to rank by")
    table.add_argument("--min", action="store_true", help="smallest first (default: largest first)")
    table.add_argument("--top", type=int, default=10)
    table.add_argument("--show", help="more columns, comma-separated")
    table.add_argument("--workload", help="only rows of this workload label")
    table.add_argument("--failed", action="store_true", help="list the failed rows and their errors")
    table.add_argument("--columns", action="store_true", help="list the columns")
    table.set_defaults(func=_cmd_table)
