"""Load a chip spec from YAML: safe parsing, strict checks, errors that name file, line and field.

Every rule comes from the dataclasses of :mod:`twin.spec.chipspec` (types, and the range or choices
each field declares with :func:`~twin.spec.fields.spec_field`) and from the cross-field rules in
:func:`_check_consistency`. Times written in ns are converted once to integer ps here, and a value
that is not a whole number of ps is an error, never rounded.
"""

from __future__ import annotations

import dataclasses
import difflib
import hashlib
import math
import typing
from pathlib import Path
from typing import Any, Iterator

import structlog
import yaml

from twin.errors import SpecError
from twin.spec.chipspec import (AdcSpec, ArraySpec, ChipSpec, ControllerSpec, DacSpec, DeviceSpec, EffectsSpec,
                                HostLinkSpec, ProgrammingSpec, ReadSpec, TileSpec)
from twin.spec.energy_models import AUTO_FIELDS, resolve_auto
from twin.spec.fields import describe_rule, yaml_key
from twin.units import to_ps

log = structlog.get_logger(__name__)

_LOADER_SET = ("source", "sha256", "auto_fields")
"""ChipSpec fields the loader fills in; they may not appear in YAML."""

BEST_ADC_FOM_FJ = 0.354
"""Best Walden figure of merit in Murmann's ADC survey (fJ per conversion step), science.md §3."""


def loads(text: str, name: str = "<string>") -> ChipSpec:
    """Parse and check a chip spec given as YAML text; *name* is used in error messages."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        raise SpecError(name, mark.line + 1 if mark else None, "", f"YAML syntax error: {exc.problem}") from None
    if root is None:
        raise SpecError(name, 1, "", "the spec is empty")
    lines: dict[tuple, int] = {}
    _index_lines(root, (), lines, name)
    builder = _Builder(name, lines)
    spec = builder.build(ChipSpec, data, ())
    spec = dataclasses.replace(spec, source=name, sha256=hashlib.sha256(text.encode()).hexdigest())
    spec = resolve_auto(spec)  # fields written ``auto`` become their model's numbers (docs/energy-models.md)
    _check_consistency(spec, builder)
    return spec


def load(path_or_name: str | Path) -> ChipSpec:
    """Load a chip spec from a YAML file path, or a bundled spec by catalog name (``"default"``)."""
    from twin.spec import catalog

    path = Path(path_or_name)
    if not path.suffix and not path.exists():
        path = catalog.path(str(path_or_name))
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SpecError(str(path), None, "", "no such file") from None
    return loads(text, path.name)


def _index_lines(node: yaml.Node, path: tuple, lines: dict, name: str) -> None:
    """Record the 1-based line of every field path of a composed YAML tree; reject duplicate keys."""
    lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        seen: set = set()
        for key, value in node.value:
            k = key.value
            if k in seen:
                raise SpecError(name, key.start_mark.line + 1, ".".join(map(str, (*path, k))), "duplicate key")
            seen.add(k)
            _index_lines(value, (*path, k), lines, name)
            lines[(*path, k)] = key.start_mark.line + 1  # point at the key, not the value
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _index_lines(item, (*path, i), lines, name)


def _show(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return repr(value)
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "[" + ", ".join(_show(v) for v in value) + "]"
    if value is None:
        return "null"
    return str(value)


class _Builder:
    """Turns plain YAML data into spec dataclasses, raising SpecError at the first problem."""

    def __init__(self, name: str, lines: dict[tuple, int]) -> None:
        self.name = name
        self.lines = lines

    def error(self, path: tuple, message: str) -> SpecError:
        """A SpecError at *path* (the nearest enclosing line if the path itself has none)."""
        probe = path
        while probe not in self.lines and probe:
            probe = probe[:-1]
        return SpecError(self.name, self.lines.get(probe), ".".join(map(str, path)), message)

    def build(self, cls: type, data: Any, path: tuple) -> Any:
        if not isinstance(data, dict):
            raise self.error(path, f"must be a mapping, not {_show(data)}")
        hints = typing.get_type_hints(cls)
        fields = {yaml_key(f.name): f for f in dataclasses.fields(cls)
                  if not (cls is ChipSpec and f.name in _LOADER_SET)}
        for key in data:
            if key not in fields:
                close = difflib.get_close_matches(str(key), list(fields), n=1)
                hint = f"; did you mean {close[0]!r}?" if close else f"; known: {', '.join(sorted(fields))}"
                raise self.error((*path, key), f"unknown key{hint}")
        kwargs = {}
        for key, f in fields.items():
            fpath = (*path, key)
            if key not in data:
                hint = hints[f.name]
                if dataclasses.is_dataclass(hint) and hint is not DeviceSpec:
                    kwargs[f.name] = self._default_block(hint, fpath)  # a block of defaults may be left out
                elif f.default is dataclasses.MISSING:
                    raise self.error(fpath, "is required")
                continue
            kwargs[f.name] = self.value(f, hints[f.name], data[key], fpath)
        return cls(**kwargs)

    def _default_block(self, cls: type, path: tuple) -> Any:
        try:
            return self.build(cls, {}, path)
        except SpecError:
            raise self.error(path, "is required") from None

    def value(self, f: dataclasses.Field, hint: Any, raw: Any, path: tuple) -> Any:
        meta = f.metadata
        if raw == "auto" and ".".join(map(str, path)) in AUTO_FIELDS:
            return "auto"  # resolved by energy_models.resolve_auto once the whole spec is built
        if hint is DeviceSpec:
            return self.device(raw, path)
        if dataclasses.is_dataclass(hint):
            return self.build(hint, raw, path)
        if f.name.endswith("_ps"):
            return self.time_value(hint, raw, path)
        if hint is bool:
            if not isinstance(raw, bool):
                raise self.error(path, f"must be true or false, not {_show(raw)}")
            return raw
        if hint is str:
            choices = meta.get("choices")
            if not isinstance(raw, str):
                raise self.error(path, f"must be a string, not {_show(raw)}")
            if choices and raw not in choices:
                raise self.error(path, f"must be one of {', '.join(map(repr, choices))}, not {_show(raw)}")
            return raw
        if hint is int:
            return self.number(raw, path, meta, integer=True)
        if hint is float:
            return self.number(raw, path, meta, integer=False)
        if typing.get_origin(hint) is tuple:
            return self.pair(raw, path, integer=typing.get_args(hint)[0] is int)
        raise TypeError(f"spec field {f.name} has unsupported type {hint!r}")  # a bug in memtwin, not in the spec

    def number(self, raw: Any, path: tuple, meta: dict, integer: bool) -> int | float:
        rule = describe_rule(meta)
        what = ("an integer" if integer else "a number") + (f" {rule}" if rule else "")
        ok = isinstance(raw, int) and not isinstance(raw, bool) if integer else \
            isinstance(raw, (int, float)) and not isinstance(raw, bool) and math.isfinite(raw)
        if not ok:
            raise self.error(path, f"must be {what}, not {_show(raw)}")
        lo, hi = meta.get("lo"), meta.get("hi")
        if (lo is not None and (raw < lo or (meta.get("lo_open") and raw == lo))) or (hi is not None and raw > hi):
            raise self.error(path, f"must be {what}, not {_show(raw)}")
        return int(raw) if integer else float(raw)

    def time_value(self, hint: Any, raw: Any, path: tuple) -> int | tuple[int, int]:
        if typing.get_origin(hint) is tuple:
            pair = self.pair(raw, path, integer=False)
            return tuple(self.to_ps(x, path) for x in pair)  # type: ignore[return-value]
        if not isinstance(raw, (int, float)) or isinstance(raw, bool) or not math.isfinite(raw) or raw < 0:
            raise self.error(path, f"must be a time in ns >= 0, not {_show(raw)}")
        return self.to_ps(raw, path)

    def to_ps(self, raw: float, path: tuple) -> int:
        try:
            return to_ps(raw, "ns")
        except ValueError:
            raise self.error(path, f"must be a whole number of picoseconds, not {raw} ns") from None

    def pair(self, raw: Any, path: tuple, integer: bool) -> tuple:
        kind = "integers" if integer else "numbers"
        if (not isinstance(raw, list) or len(raw) != 2
                or not all(isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x) for x in raw)):
            raise self.error(path, f"must be a list [low, high] of two {kind}, not {_show(raw)}")
        if raw[0] > raw[1]:
            raise self.error(path, f"must have low <= high, not {_show(raw)}")
        return tuple(int(x) if integer else float(x) for x in raw)

    def device(self, raw: Any, path: tuple) -> DeviceSpec:
        from twin.devices import DEVICE_MODELS

        if not isinstance(raw, dict):
            raise self.error(path, f"must be a mapping, not {_show(raw)}")
        for key in raw:
            if key not in ("model", "params"):
                raise self.error((*path, key), "unknown key; known: model, params")
        if "model" not in raw:
            raise self.error((*path, "model"), "is required")
        model = raw["model"]
        if model not in DEVICE_MODELS:
            known = ", ".join(map(repr, sorted(DEVICE_MODELS)))
            raise self.error((*path, "model"), f"unknown model {_show(model)}; known: {known}")
        params_cls = DEVICE_MODELS[model].Params
        params = self.build(params_cls, raw.get("params") or {}, (*path, "params"))
        for field, message in params.check() if hasattr(params, "check") else []:
            raise self.error((*path, "params", field), message)
        return DeviceSpec(model=model, params=params)


def _check_consistency(spec: ChipSpec, b: _Builder) -> None:
    """Rules between fields; the first broken rule raises."""
    t = spec.tile
    a = t.array
    if t.adc.count > a.cols:
        raise b.error(("tile", "adc", "count"), f"must be <= tile.array.cols ({a.cols}), not {t.adc.count}")
    if t.dac.count > a.rows:
        raise b.error(("tile", "dac", "count"), f"must be <= tile.array.rows ({a.rows}), not {t.dac.count}")
    if t.adc.differential != "none" and a.cols % 2:
        raise b.error(("tile", "adc", "differential"),
                      f"needs an even number of columns (pairs 2k, 2k+1), not tile.array.cols = {a.cols}")
    for key in ("i_read_range_ua", "i_mvm_range_ua"):
        lo, hi = getattr(t.adc, key)
        if lo >= hi:
            raise b.error(("tile", "adc", key), f"must have low < high, not [{lo:g}, {hi:g}]")
    if t.dac.input_mode == "pwm" and t.dac.t_lsb_ps == 0:
        raise b.error(("tile", "dac", "t_lsb_ns"), "must be > 0 when tile.dac.input_mode is 'pwm', not 0")
    if t.dac.input_mode == "bit_serial" and t.dac.bits < 2:
        raise b.error(("tile", "dac", "bits"), "must be >= 2 for bit_serial inputs (a sign and a magnitude bit), not 1")
    lo, hi = t.read.v_read_range_v
    if not lo <= t.read.v_read_v <= hi:
        raise b.error(("tile", "read", "v_read_v"),
                      f"must be in tile.read.v_read_range_v [{lo:g}, {hi:g}], not {t.read.v_read_v:g}")
    if lo <= 0:
        raise b.error(("tile", "read", "v_read_range_v"), f"must be above 0 V, not [{lo:g}, {hi:g}]")
    p = t.programming
    for key in ("v_set_range_v", "v_reset_range_v", "v_gate_range_v"):
        if getattr(p, key)[0] < 0:
            raise b.error(("tile", "programming", key), f"must be magnitudes >= 0, not {list(getattr(p, key))}")
    if p.width_range_ps[0] <= 0:
        raise b.error(("tile", "programming", "width_range_ns"), f"must start above 0 ns, not {p.width_range_ps[0] / 1000:g}")
    line_len = {"cell": 1, "row": a.cols, "column": a.rows}[p.parallelism]
    if p.max_parallel_cells > line_len:
        raise b.error(("tile", "programming", "max_parallel_cells"),
                      f"must be <= {line_len} for {p.parallelism}-parallel pulses, not {p.max_parallel_cells}")
    e_best_pj = BEST_ADC_FOM_FJ * 2**t.adc.bits * 1e-3
    if t.adc.e_convert_pj < e_best_pj:
        log.warning("spec.adc_below_best_fom", spec=spec.name, e_convert_pj=t.adc.e_convert_pj,
                    best_pj=round(e_best_pj, 6), bits=t.adc.bits,
                    note="below the best Walden FOM of the ADC survey (0.354 fJ/step)")


def iter_fields(cls: type, prefix: str = "") -> Iterator[tuple[str, dataclasses.Field, Any]]:
    """Every (yaml path, field, type) of a spec dataclass, depth first (for docs and tests)."""
    hints = typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):
        if cls is ChipSpec and f.name in _LOADER_SET:
            continue
        path = prefix + yaml_key(f.name)
        hint = hints[f.name]
        if dataclasses.is_dataclass(hint) and hint is not DeviceSpec:
            yield from iter_fields(hint, path + ".")
        else:
            yield path, f, hint


__all__ = ["load", "loads", "iter_fields", "AdcSpec", "ArraySpec", "ChipSpec", "ControllerSpec", "DacSpec",
           "DeviceSpec", "EffectsSpec", "HostLinkSpec", "ProgrammingSpec", "ReadSpec", "TileSpec"]
