"""What a firmware developer writes against: open a chip, send commands to its tiles."""

from firmware.driver import ChipHandle, TileHandle, open_chip

__all__ = ["ChipHandle", "TileHandle", "open_chip"]
