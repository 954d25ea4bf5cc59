"""Command logs: recording and replay speed for single-cell commands, and memory while reading 1 GB.

    .venv/bin/python bench/bench_logs.py [--commands 20000] [--gb 1.0] [--spec default]

Prints commands/s for recording and replay, a baseline (plain ``json.loads`` of every line of the same
file, and the chip alone executing the same commands without any log), the ratios, and the peak
resident memory of a fresh process that streams a log of about ``--gb`` GB (every record decoded).
The 1 GB file is written to a temporary folder and deleted afterwards.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import orjson

import twin
from firmware.driver import open_chip
from twin.log.format import LogHeader, read_log, twin_records_to_hardware, write_jsonl
from twin.log.replayer import replay
from twin.logconfig import configure_logging


def single_cell_commands(spec: twin.ChipSpec, n: int, seed: int = 0) -> list:
    """Alternating single-cell SET pulses and reads on random cells of tile 0."""
    rng = np.random.default_rng(seed)
    a = spec.tile.array
    p = spec.tile.programming
    cmds = []
    for k in range(n):
        r, c = int(rng.integers(a.rows)), int(rng.integers(a.cols))
        if k % 2 == 0:
            cmds.append(twin.Pulse(0, r, c, "set", float(p.v_set_range_v[1]), int(p.width_range_ps[0]),
                                   float(p.v_gate_range_v[1])))
        else:
            cmds.append(twin.Read(0, r, c))
    return cmds


def _stream_child(path: str) -> None:
    """Child process: stream *path*, decode every record, print peak RSS (MB) and records."""
    import resource

    from twin.log.format import read_log

    n = 0
    t = time.perf_counter()
    with read_log(path) as log:
        for _ in log:
            n += 1
    wall = time.perf_counter() - t
    # VmHWM: peak RSS of this process image (ru_maxrss would carry the parent's peak across fork + exec).
    try:
        hwm_kb = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM"))
    except (OSError, StopIteration):
        hwm_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"records": n, "wall_s": wall, "max_rss_mb": hwm_kb / 1024}))


def big_log(path: Path, gb: float, spec_name: str) -> int:
    """Write a log of about *gb* GB: a recorded header, full-tile reads and single-cell commands, repeated."""
    small = path.with_suffix(".seed.jsonl")
    chip = open_chip(spec_name, 0, log=small)
    tile = chip.tile(0)
    rows, cols = tile.shape
    tile.read(np.arange(rows)[:, None], np.arange(cols))
    for cmd in single_cell_commands(chip.spec, 200):
        chip.execute(cmd)
    chip.log.close()
    lines = small.read_bytes().splitlines(keepends=True)
    small.unlink()
    header, body = lines[0], b"".join(lines[1:])
    target = int(gb * 1e9)
    with open(path, "wb") as fh:
        fh.write(header)
        size = len(header)
        while size < target:
            fh.write(body)
            size += len(body)
    return size


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--commands", type=int, default=20_000)
    ap.add_argument("--gb", type=float, default=1.0, help="size of the log read for the memory check (0: skip)")
    ap.add_argument("--spec", default="default")
    ap.add_argument("--stream-child", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.stream_child:
        _stream_child(args.stream_child)
        return
    configure_logging("warning")
    tmp = Path(tempfile.mkdtemp(prefix="memtwin_bench_logs_"))
    spec = twin.load_spec(args.spec)
    cmds = single_cell_commands(spec, args.commands)

    chip = twin.build(spec, 0)
    for cmd in cmds[:200]:  # warm-up (first calls, caches)
        chip.execute(cmd)
    chip = twin.build(spec, 0)
    t = time.perf_counter()
    for cmd in cmds:
        chip.execute(cmd)
    bare = time.perf_counter() - t

    path = tmp / "cells.jsonl"
    handle = open_chip(args.spec, 0, log=path)
    t = time.perf_counter()
    for cmd in cmds:
        handle.execute(cmd)
    handle.log.close()
    rec = time.perf_counter() - t

    def parse_time(loads) -> float:
        """Best of 3: seconds to read and decode every line of the log."""
        best = float("inf")
        for _ in range(3):
            t = time.perf_counter()
            with open(path, "rb") as fh:
                for line in fh:
                    loads(line)
            best = min(best, time.perf_counter() - t)
        return best

    with open(path, "rb") as fh:
        n_lines = sum(1 for _ in fh) - 1
    parse, parse_orjson = parse_time(json.loads), parse_time(orjson.loads)

    report = min((replay(path) for _ in range(3)), key=lambda r: r.wall_s)
    assert not report.diverged, report.summary()
    hw_path = tmp / "cells_hw.jsonl"
    with read_log(path) as reader:
        header = reader.header
        write_jsonl(hw_path, LogHeader(form="hardware", spec_name=header.spec_name, spec_sha256=header.spec_sha256,
                                       spec_yaml=header.spec_yaml, seed=header.seed),
                    (ev.to_json() for ev in twin_records_to_hardware(iter(reader))))
    hw_report = min((replay(hw_path) for _ in range(3)), key=lambda r: r.wall_s)
    n = len(cmds)
    print(f"single-cell commands: {n:,} on spec {args.spec!r} ({path.stat().st_size / n:,.0f} bytes per line)")
    print(f"  chip alone (execute, no log)      {n / bare:>12,.0f} commands/s")
    print(f"  recording (execute + log)         {n / rec:>12,.0f} commands/s  ({bare / rec:.2f} x chip alone)")
    print(f"  baseline: json.loads per line     {n_lines / parse:>12,.0f} lines/s (best of 3, like the replay)")
    print(f"  replay (parse, re-issue, compare) {report.commands_per_s:>12,.0f} commands/s  "
          f"({report.commands_per_s / (n_lines / parse):.3f} x json baseline, "
          f"{report.commands_per_s / (n / bare):.2f} x chip alone); target 100,000/s")
    print(f"    (orjson.loads per line, the parser replay uses: {n_lines / parse_orjson:,.0f} lines/s)")
    print(f"  replay of the same run as a hardware log {hw_report.commands_per_s:>6,.0f} commands/s  "
          f"({hw_path.stat().st_size / n:,.0f} bytes per line)")
    if args.gb > 0:
        big = tmp / "big.jsonl"
        size = big_log(big, args.gb, args.spec)
        out = subprocess.run([sys.executable, __file__, "--stream-child", str(big)], capture_output=True, text=True,
                             check=True)
        r = json.loads(out.stdout.strip().splitlines()[-1])
        big.unlink()
        print(f"streaming a {size / 1e9:.2f} GB log: {r['records']:,} records decoded in {r['wall_s']:.1f} s "
              f"({size / 1e6 / r['wall_s']:,.0f} MB/s), peak RSS {r['max_rss_mb']:.0f} MB (limit 200 MB)")
    path.unlink()
    hw_path.unlink()
    os.rmdir(tmp)


if __name__ == "__main__":
    main()
