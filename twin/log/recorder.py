"""Recording command logs: every command a chip executes, with its result, as JSON Lines.

``open_chip(spec, seed, log="run.jsonl")`` or ``chip.record("run.jsonl")`` attach a
:class:`CommandLog` to a chip. The log is append-only and flushed after every command, so a killed
process leaves a readable prefix; lines are written in command-index order (a command that
finishes before an earlier one waits in a small reorder buffer). The format is described in
``docs/log-format.md``; :mod:`twin.log.format` reads it back, :mod:`twin.log.replayer` replays it.

Besides each command's result, the log stores ``link_seq``: how many host-link transfers the chip had
booked when the command was issued. The host link is a FIFO server booked at request time, so two
requests at the same simulated time are served in the order they were made; ``link_seq`` lets a
replay reproduce that order exactly (``docs/logs.md``).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import twin
from twin.log.format import LogHeader, encode_array, encode_command, now_utc
from twin.spec import catalog

def _json_scalar(v: Any) -> Any:
    if hasattr(v, "item"):
        return v.item()
    return v


def find_spec_yaml(spec: twin.ChipSpec) -> str | None:
    """The YAML text of *spec* if it is a bundled spec (matched by its sha256), else None."""
    for candidate in dict.fromkeys((Path(spec.source or "").stem, spec.name)):
        try:
            text = catalog.path(candidate).read_text(encoding="utf-8")
        except (twin.SpecError, OSError):
            continue
        if hashlib.sha256(text.encode()).hexdigest() == spec.sha256:
            return text
    return None


class CommandLog:
    """Records every command of one chip into a JSON Lines file.

    Attach with :meth:`attach` (``ChipHandle.record`` does it); :meth:`close` writes what is still
    buffered and detaches. Commands issued before attaching are not recorded.
    """

    def __init__(self, path: str | Path, chip: twin.Chip, spec_yaml: str | None = None) -> None:
        self.path = Path(path)
        self.chip = chip
        self._fh = open(self.path, "w")
        spec = chip.spec
        self.header = LogHeader(form="twin", spec_name=spec.name, spec_sha256=spec.sha256, spec_source=spec.source,
                                spec_yaml=spec_yaml if spec_yaml is not None else find_spec_yaml(spec),
                                seed=int(chip.seed), created_utc=now_utc())
        self._fh.write(json.dumps(self.header.to_json(), separators=(",", ":")) + "\n")
        self._fh.flush()
        self._pending: dict[int, dict] = {}
        self._first = self._next_write = 0
        self._attached = False
        self.n_written = 0
        """Command lines written so far."""

    # --- attaching ------------------------------------------------------------------------------
    def attach(self) -> "CommandLog":
        """Start recording: every command issued from now on is written when its result is back."""
        self._first = self._next_write = self.chip.n_issued
        self.chip.add_listener(self._on_result)
        self._attached = True
        return self

    def close(self) -> None:
        """Write any buffered lines (out of order if a gap remains), detach and close the file."""
        if self._fh.closed:
            return
        for index in sorted(self._pending):
            self._write(self._pending.pop(index))
        if self._attached:
            self.chip.remove_listener(self._on_result)
            self._attached = False
        self._fh.close()

    def __enter__(self) -> "CommandLog":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # --- writing --------------------------------------------------------------------------------
    def _on_result(self, result: twin.Result) -> None:
        index = result.index
        if index < self._first:
            return  # issued before recording started
        line = {"i": index, "cmd": encode_command(result.command), "start_ps": int(result.start_ps),
                "end_ps": int(result.end_ps), "exec_start_ps": int(result.exec_start_ps),
                "exec_end_ps": int(result.exec_end_ps), "link_seq": int(result.link_seq),
                "energy_pj": {k: float(v) for k, v in result.energy_pj.items()},
                "info": {k: _json_scalar(v) for k, v in result.info.items()},
                "values": None if result.values is None else encode_array(result.values)}
        if index == self._next_write:
            self._write(line)
            self._next_write = index + 1
            pending = self._pending
            while self._next_write in pending:
                self._write(pending.pop(self._next_write))
                self._next_write += 1
        else:
            self._pending[index] = line

    def _write(self, line: dict) -> None:
        self._fh.write(json.dumps(line, separators=(",", ":")) + "\n")
        self._fh.flush()
        self.n_written += 1


def record(chip: twin.Chip, path: str | Path, spec_yaml: str | None = None) -> CommandLog:
    """Start recording every command of *chip* into *path*; returns the attached :class:`CommandLog`."""
    return CommandLog(path, chip, spec_yaml).attach()


def spec_yaml_of(spec: Any, loaded: twin.ChipSpec) -> str | None:
    """The YAML text behind *spec* (a bundled name, a path or a ChipSpec), if it matches *loaded*."""
    text = None
    if isinstance(spec, (str, Path)):
        path = Path(spec)
        try:
            if not path.suffix and not path.exists():
                path = catalog.path(str(spec))
            text = path.read_text(encoding="utf-8")
        except (twin.SpecError, OSError):
            text = None
    if text is not None and hashlib.sha256(text.encode()).hexdigest() == loaded.sha256:
        return text
    return find_spec_yaml(loaded)
