"""Run :func:`firmware.write_verify` on several tiles at once, on the chip's simulated clock.

``write_verify`` is a blocking program: it calls ``tile.read`` and ``tile.pulse`` and waits for each
result. To let several tiles program at the same simulated time, each call runs in its own Python
thread against a :class:`_BridgedTile`, whose ``read``/``pulse`` hand the command to a SimPy process
(one per tile) that issues it with ``chip.submit`` and hands the Result back. Exactly one side runs at
any moment (the process waits for its thread's next command before the clock moves on), so the
commands, their order, and every number are deterministic, and the clock sees the tiles working in
parallel exactly as ``*_proc`` programs would. The threads only exist to keep ``write_verify`` itself
unchanged: the same code programs one tile or many.
"""

from __future__ import annotations

import queue
import threading
from dataclasses import dataclass
from typing import Any

from firmware.driver import ChipHandle, TileHandle
from firmware.programming import WriteVerifyReport, write_verify
from twin.commands import Pulse, Read


class _BridgedTile(TileHandle):
    """A tile handle whose blocking calls are served by a SimPy process on the chip's clock."""

    def __init__(self, chip: ChipHandle, index: int) -> None:
        super().__init__(chip, index)
        self.requests: queue.Queue = queue.Queue(maxsize=1)
        self.replies: queue.Queue = queue.Queue(maxsize=1)

    def _ask(self, cmd) -> Any:
        self.requests.put(("cmd", cmd))
        kind, value = self.replies.get()
        if kind == "error":
            raise value
        return value

    def read(self, rows, cols):
        return self._ask(Read(self.index, rows, cols))

    def pulse(self, rows, cols, polarity, v_pulse_v, width_ps, v_gate_v):
        return self._ask(Pulse(self.index, rows, cols, polarity, v_pulse_v, width_ps, v_gate_v))

    def mvm(self, *args, **kwargs):
        raise RuntimeError("a bridged tile serves write_verify's reads and pulses only")


@dataclass
class ProgramJob:
    """One write-verify call: the cells of one tile and ``write_verify``'s keyword arguments."""

    tile: int
    rows: Any
    cols: Any
    targets_us: Any
    options: dict


def write_verify_tiles(chip: ChipHandle, jobs: list[ProgramJob]) -> list[WriteVerifyReport]:
    """Run one ``write_verify`` per job, each on its own tile, all at the same simulated time.

    Returns the reports in the order of *jobs*. The reports' ``summary.time_ps`` and energies are those
    of the whole concurrent run (the ledger is shared); per-tile figures come from the ledger's ``tile``
    column. Raises the first error any call raised, after every call has ended.
    """
    tiles = [job.tile for job in jobs]
    if len(set(tiles)) != len(tiles):
        raise ValueError(f"each tile may appear in one job only, not {tiles}")
    outcomes: list[tuple[str, Any]] = [("error", RuntimeError("not run"))] * len(jobs)

    def worker(tile: _BridgedTile, job: ProgramJob) -> None:
        try:
            report = write_verify(tile, job.rows, job.cols, job.targets_us, **job.options)
        except BaseException as err:  # handed to the main thread, raised there
            tile.requests.put(("error", err))
        else:
            tile.requests.put(("done", report))

    def serve(k: int, job: ProgramJob):
        tile = _BridgedTile(chip, job.tile)
        thread = threading.Thread(target=worker, args=(tile, job), name=f"write_verify-tile{job.tile}", daemon=True)
        thread.start()
        while True:
            kind, value = tile.requests.get()  # the clock waits for the thread's next command
            if kind != "cmd":
                break
            try:
                event = chip.submit(value)
            except Exception as err:  # an invalid command: raise it inside write_verify
                tile.replies.put(("error", err))
                continue
            result = yield event
            tile.replies.put(("ok", result))
        thread.join()
        outcomes[k] = (kind, value)

    for k, job in enumerate(jobs):
        chip.process(serve(k, job))
    chip.run()
    for kind, value in outcomes:
        if kind == "error":
            raise value
    return [value for _, value in outcomes]
