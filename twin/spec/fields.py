"""Field declarations shared by every spec dataclass: range, choices and YAML key.

A spec field is a dataclass field whose metadata says what values are allowed. The loader
(:mod:`twin.spec.load`) reads this metadata, so the rules live next to the field they govern.
Fields named ``*_ps`` are written in YAML as ``*_ns`` and converted once, at load.
"""

from __future__ import annotations

import dataclasses
from typing import Any

_MISSING = dataclasses.MISSING


def spec_field(default: Any = _MISSING, *, lo: float | None = None, hi: float | None = None,
               lo_open: bool = False, choices: tuple[str, ...] | None = None) -> Any:
    """A dataclass field with its allowed range (``lo <= x <= hi``; ``lo < x`` if *lo_open*) or choices."""
    meta = {"lo": lo, "hi": hi, "lo_open": lo_open, "choices": choices}
    if default is _MISSING:
        return dataclasses.field(metadata=meta)
    if isinstance(default, (list, dict)):
        raise TypeError("mutable spec defaults are not allowed")
    return dataclasses.field(default=default, metadata=meta)


def yaml_key(field_name: str) -> str:
    """The YAML key of a dataclass field: ``t_settle_ps`` is written ``t_settle_ns``."""
    if field_name.endswith("_ps"):
        return field_name[:-3] + "_ns"
    return field_name


def describe_rule(meta: dict) -> str:
    """Human text of a field's range, e.g. ``in [1, 16]`` or ``> 0``."""
    lo, hi, lo_open = meta.get("lo"), meta.get("hi"), meta.get("lo_open")
    if lo is not None and hi is not None:
        return f"in {'(' if lo_open else '['}{_num(lo)}, {_num(hi)}]"
    if lo is not None:
        return f"{'>' if lo_open else '>='} {_num(lo)}"
    if hi is not None:
        return f"<= {_num(hi)}"
    return ""


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() and abs(x) < 1e15 else repr(x)
