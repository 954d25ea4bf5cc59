"""Errors of the twin. Every message says what was expected and what was given."""

from __future__ import annotations


class TwinError(Exception):
    """Base class of every error memtwin raises on purpose."""


class SpecError(TwinError):
    """A chip spec is malformed: names the file, the line and the field path.

    ``str(err)`` reads ``bad.yaml:14: tile.adc.bits: must be an integer in [1, 16], not 0``.
    """

    def __init__(self, file: str, line: int | None, field: str, message: str) -> None:
        self.file = file
        """The spec's file name (or ``<string>``)."""
        self.line = line
        """1-based line of the offending field, or None when unknown."""
        self.field = field
        """Dotted path of the field, e.g. ``tile.adc.bits`` (empty for whole-file problems)."""
        self.message = message
        where = f"{file}:{line}" if line is not None else file
        super().__init__(f"{where}: {field}: {message}" if field else f"{where}: {message}")


class CommandError(TwinError):
    """A command is invalid for this chip: names the command, its tile and the address.

    ``str(err)`` reads ``Pulse #12 tile 0 row 3 col 300: col must be in [0, 255], not 300``.
    Raising it never changes chip state.
    """

    def __init__(self, command: str, message: str, *, index: int | None = None, tile: int | None = None,
                 address: str = "") -> None:
        self.command = command
        """The command kind, e.g. ``Pulse``."""
        self.index = index
        """The command's sequence number on its chip, when known."""
        self.tile = tile
        """The tile addressed, when known."""
        self.address = address
        """The offending cell or field, e.g. ``row 3 col 300``."""
        self.message = message
        head = command if index is None else f"{command} #{index}"
        if tile is not None:
            head += f" tile {tile}"
        if address:
            head += f" {address}"
        super().__init__(f"{head}: {message}")


class LogError(TwinError):
    """A command log is malformed: names the file and the line."""

    def __init__(self, file: str, line: int, message: str) -> None:
        self.file, self.line, self.message = file, line, message
        super().__init__(f"{file}:{line}: {message}")
