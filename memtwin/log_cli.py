"""``memtwin replay``, ``memtwin calibrate`` and ``memtwin log stats|convert``.

Exit codes: 0 success (replay: within tolerance), 1 replay diverged, 2 bad input (a malformed log,
a missing file, a spec error).
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

import twin

BASE_SPEC = {"rram_1t1r": "neurram2022"}
"""Bundled spec whose non-device blocks a calibration uses when no --spec is given, by model."""


def _error(err: Exception) -> int:
    print(f"error: {err}", file=sys.stderr)
    return 2


def _cmd_replay(args: argparse.Namespace) -> int:
    from twin.log.replayer import replay

    csv_path = args.csv or str(Path(args.log).with_suffix("")) + ".replay.csv"
    try:
        report = replay(args.log, spec=args.spec, seed=args.seed, atol=args.atol, rtol=args.rtol, csv_path=csv_path,
                        allow_truncated=args.allow_truncated)
    except (twin.LogError, twin.SpecError, OSError) as err:
        return _error(err)
    print(report.summary())
    print(f"per-command differences: {csv_path}")
    return 1 if report.diverged else 0


def _cmd_calibrate(args: argparse.Namespace) -> int:
    from memtwin.calibrate import calibrate, write_fitted_spec
    from twin.spec import catalog

    try:
        base_name = args.spec or BASE_SPEC.get(args.model)
        if base_name is None:
            raise twin.SpecError(args.model, None, "", "no bundled base spec for this model; pass --spec")
        base_path = Path(base_name)
        if not base_path.suffix and not base_path.exists():
            base_path = catalog.path(base_name)
        text = base_path.read_text(encoding="utf-8")
        base = twin.loads_spec(text, base_path.name)
        cal = calibrate(args.log, base, args.model)
        write_fitted_spec(text, cal, args.out, name=args.name)
    except (twin.LogError, twin.SpecError, OSError, ValueError) as err:
        return _error(err)
    print(cal.report())
    print(f"fitted spec written to {args.out} (base: {base_path.name})")
    return 0


def _cmd_log_stats(args: argparse.Namespace) -> int:
    from twin.log.format import read_hardware_csv, read_log

    path = Path(args.log)
    ops: Counter = Counter()
    cells: Counter = Counter()
    t_first = t_last = None
    try:
        if path.suffix == ".csv":
            header, items = read_hardware_csv(path)
            form = "hardware (CSV)"
            reader = None
        else:
            reader = read_log(path, allow_truncated=args.allow_truncated)
            header, items, form = reader.header, iter(reader), reader.form
        for item in items:
            if hasattr(item, "t_ps"):  # hardware event
                op, t, n = item.op, item.t_ps, item.rows.size
            else:
                cmd = item.command
                op, t = type(cmd).__name__.lower(), item.start_ps
                n = cmd.cells()[0].size if hasattr(cmd, "cells") else (cmd.batch if op == "mvm" else 0)
            ops[op] += 1
            cells[op] += n
            t_first = t if t_first is None else t_first
            t_last = t
        truncated = reader.truncated if reader is not None else False
        if reader is not None:
            reader.close()
    except (twin.LogError, OSError) as err:
        return _error(err)
    print(f"{path.name}: {form} log, format version 1, {path.stat().st_size:,} bytes"
          + (" [truncated last line]" if truncated else ""))
    print(f"spec {header.spec_name!r} (sha256 {str(header.spec_sha256)[:12]}...), seed {header.seed}, "
          f"memtwin {header.memtwin_version}, created {header.created_utc}")
    print(f"{'op':<12}{'lines':>10}{'cells/vectors':>16}")
    for op in sorted(ops):
        print(f"{op:<12}{ops[op]:>10}{cells[op]:>16}")
    if t_first is not None:
        print(f"simulated time {t_first / 1e6:,.3f} .. {t_last / 1e6:,.3f} us")
    return 0


def _cmd_log_convert(args: argparse.Namespace) -> int:
    from twin.log.format import (HardwareEvent, hardware_events_to_csv, read_hardware_csv, read_log,
                                     twin_records_to_hardware, write_jsonl)

    src, dst = Path(args.input), Path(args.output)
    try:
        if src.suffix == ".csv":
            if dst.suffix == ".csv":
                raise ValueError("converting CSV to CSV does nothing; write .jsonl")
            header, events = read_hardware_csv(src)
            n = write_jsonl(dst, header, (ev.to_json() for ev in events))
        else:
            with read_log(src, allow_truncated=args.allow_truncated) as reader:
                header = reader.header
                events = iter(reader) if reader.form == "hardware" else twin_records_to_hardware(iter(reader))
                if dst.suffix == ".csv":
                    n = hardware_events_to_csv(events, dst, header)
                else:
                    header.form = "hardware"
                    header.spec_yaml = None
                    n = write_jsonl(dst, header, (HardwareEvent.to_json(ev) for ev in events))
    except (twin.LogError, OSError, ValueError) as err:
        return _error(err)
    print(f"wrote {n:,} {'rows' if dst.suffix == '.csv' else 'lines'} to {dst} (hardware form)")
    return 0


def add_log_commands(sub: argparse._SubParsersAction) -> None:
    """Register ``replay``, ``calibrate`` and ``log stats|convert`` on the ``memtwin`` subparsers."""
    rp = sub.add_parser("replay", help="re-issue a command log on a fresh twin and compare (exit 0 same, 1 diverged, "
                                       "2 bad input)")
    rp.add_argument("log", metavar="LOG")
    rp.add_argument("--spec", help="spec name or YAML path (default: the log's)")
    rp.add_argument("--seed", type=int, help="chip seed (default: the log's)")
    rp.add_argument("--csv", metavar="OUT.csv", help="per-command differences (default: LOG.replay.csv)")
    rp.add_argument("--atol", type=float, default=0.0, help="absolute tolerance on values (default 0: bit-identical)")
    rp.add_argument("--rtol", type=float, default=0.0, help="relative tolerance on values")
    rp.add_argument("--allow-truncated", action="store_true", help="replay the valid prefix of a truncated log")
    rp.set_defaults(func=_cmd_replay)

    cal = sub.add_parser("calibrate", help="fit device-model parameters to a hardware-style log, write a spec")
    cal.add_argument("log", metavar="LOG")
    cal.add_argument("--model", default="rram_1t1r", help="device model to fit (default rram_1t1r)")
    cal.add_argument("--out", required=True, metavar="FITTED.yaml")
    cal.add_argument("--spec", help="base spec: start values, fixed parameters, other blocks (default: by model)")
    cal.add_argument("--name", help="name of the fitted spec (default: the base spec's)")
    cal.set_defaults(func=_cmd_calibrate)

    lg = sub.add_parser("log", help="inspect and convert command logs")
    lg_sub = lg.add_subparsers(dest="log_command", required=True)
    st = lg_sub.add_parser("stats", help="header and counts of a log")
    st.add_argument("log", metavar="LOG")
    st.add_argument("--allow-truncated", action="store_true")
    st.set_defaults(func=_cmd_log_stats)
    cv = lg_sub.add_parser("convert", help="JSON Lines <-> CSV (hardware form); twin logs become hardware logs")
    cv.add_argument("input", metavar="IN")
    cv.add_argument("output", metavar="OUT")
    cv.add_argument("--allow-truncated", action="store_true")
    cv.set_defaults(func=_cmd_log_convert)

