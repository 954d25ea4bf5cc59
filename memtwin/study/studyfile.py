"""Study files: YAML in, a checked :class:`Study` out, errors naming file, line and key.

A study is a base spec, axes of spec fields with their values, how the axes combine (``grid``,
``zip`` or seeded ``sample``), replicate seeds and workloads. Reference: ``docs/studies.md``.
Errors read like the spec loader's:
``study.yaml:12: axes[1].field: unknown spec field tile.adc.bitz (did you mean tile.adc.bits?)``.
"""

from __future__ import annotations

import difflib
import math
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from memtwin.study.variants import SPEC_AXIS, BaseSpec, field_types, read_base, unknown_field_message
from memtwin.study.workloads import WorkloadSpec, check_workload
from twin.area import AreaTech
from twin.errors import SpecError
from twin.spec.energy_models import AUTO_FIELDS

COMBINES = ("grid", "zip", "sample")


class StudyError(SpecError):
    """A study file is malformed: ``study.yaml:12: axes[1].field: message`` (same form as spec errors)."""


@dataclass(frozen=True)
class Axis:
    """One swept spec field and the values it takes (``between`` for sampled axes)."""

    field: str
    """YAML path of the spec field, or ``spec`` for a list of spec names or paths."""
    values: tuple = ()
    """The values, in order (grid and zip; sampled uniformly from them in sample mode)."""
    between: tuple[float, float] | None = None
    """Sample mode only: draw uniformly from [low, high] (integers for integer fields)."""
    log: bool = False
    """Sample mode with ``between``: draw log-uniformly."""
    integer: bool = False
    """Whether the field is an integer field (sampled values are rounded)."""
    fields: tuple[str, ...] = ()
    """A bundled axis: several fields that change together (each value is a tuple, one item per field)."""

    @property
    def paths(self) -> tuple[str, ...]:
        """The field paths this axis sets."""
        return self.fields or (self.field,)


@dataclass(frozen=True)
class Study:
    """A checked study file."""

    name: str
    path: Path | None
    base: BaseSpec
    axes: tuple[Axis, ...]
    combine: str
    seeds: tuple[int, ...]
    workloads: tuple[WorkloadSpec, ...]
    fixed: dict = field(default_factory=dict)
    """Changes applied to every point (``set:``)."""
    samples: int = 0
    sample_seed: int = 0
    area: AreaTech = field(default_factory=AreaTech)
    description: str = ""
    bases: dict = field(default_factory=dict)
    """Spec name → BaseSpec for a ``spec`` axis."""

    @property
    def folder(self) -> Path:
        """Folder relative paths in the study are taken from."""
        return self.path.parent if self.path is not None else Path.cwd()


_TOP_KEYS = ("name", "description", "base", "combine", "samples", "sample_seed", "seeds", "set", "axes",
             "workloads", "area")


def _show(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return repr(value)
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return "null" if value is None else str(value)


class _Reader:
    """Line lookups and errors for one study file."""

    def __init__(self, name: str, lines: dict[tuple, int]) -> None:
        self.name = name
        self.lines = lines

    def error(self, path: tuple, message: str) -> StudyError:
        probe = path
        while probe not in self.lines and probe:
            probe = probe[:-1]
        return StudyError(self.name, self.lines.get(probe), _dotted(path), message)


def _dotted(path: tuple) -> str:
    out = ""
    for p in path:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out


def _index_lines(node: yaml.Node, path: tuple, lines: dict, name: str) -> None:
    lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        seen: set = set()
        for key, value in node.value:
            k = key.value
            if k in seen:
                raise StudyError(name, key.start_mark.line + 1, _dotted((*path, k)), "duplicate key")
            seen.add(k)
            _index_lines(value, (*path, k), lines, name)
            lines[(*path, k)] = key.start_mark.line + 1
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _index_lines(item, (*path, i), lines, name)


def check_keys(r: _Reader, data: dict, path: tuple, known: tuple[str, ...]) -> None:
    """StudyError at the first key of *data* not in *known*, with a did-you-mean."""
    for key in data:
        if key not in known:
            close = difflib.get_close_matches(str(key), list(known), n=1)
            hint = f"; did you mean {close[0]!r}?" if close else f"; known: {', '.join(known)}"
            raise r.error((*path, key), f"unknown key{hint}")


def _is_int(x: Any) -> bool:
    return isinstance(x, int) and not isinstance(x, bool)


def _is_num(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


def _check_value(r: _Reader, fpath: str, value: Any, where: tuple) -> Any:
    """Type-check one value for spec field *fpath* (ranges are the spec loader's, per point)."""
    if fpath == SPEC_AXIS:
        if not isinstance(value, str):
            raise r.error(where, f"must be a spec name or path, not {_show(value)}")
        return value
    hint = field_types()[fpath]
    if fpath.endswith("_ns") and hint is int:
        hint = float  # times are written in ns; the loader checks they are whole picoseconds
    if value == "auto" and fpath in AUTO_FIELDS:
        return value
    ok = {bool: lambda v: isinstance(v, bool), int: _is_int, float: _is_num, str: lambda v: isinstance(v, str)}
    if hint in ok:
        if not ok[hint](value):
            kind = {bool: "true or false", int: "an integer", float: "a number", str: "a string"}[hint]
            extra = " or 'auto'" if fpath in AUTO_FIELDS else ""
            raise r.error(where, f"{fpath} must be {kind}{extra}, not {_show(value)}")
        return value if hint is float and fpath.endswith("_ns") else (float(value) if hint is float else value)
    if typing.get_origin(hint) is tuple:
        if not (isinstance(value, list) and len(value) == 2 and all(_is_num(v) for v in value)):
            raise r.error(where, f"{fpath} must be a list [low, high] of two numbers, not {_show(value)}")
        return tuple(value)
    return value


def _expand_range(r: _Reader, spec: Any, where: tuple, integer: bool) -> list:
    if not isinstance(spec, dict):
        raise r.error(where, f"must be a mapping {{start, stop, step}} or {{start, stop, num[, log]}}, not {_show(spec)}")
    check_keys(r, spec, where, ("start", "stop", "step", "num", "log"))
    for k in ("start", "stop"):
        if k not in spec:
            raise r.error((*where, k), "is required")
        if not _is_num(spec[k]):
            raise r.error((*where, k), f"must be a number, not {_show(spec[k])}")
    start, stop = spec["start"], spec["stop"]
    if ("step" in spec) == ("num" in spec):
        raise r.error(where, "needs exactly one of step or num")
    if "step" in spec:
        step = spec["step"]
        if not _is_num(step) or step == 0 or (stop - start) / step < 0:
            raise r.error((*where, "step"), f"must be a non-zero number that goes from start to stop, not {_show(step)}")
        n = int(math.floor((stop - start) / step + 1e-9)) + 1
        vals = [start + i * step for i in range(n)]
    else:
        num = spec["num"]
        if not _is_int(num) or num < 1:
            raise r.error((*where, "num"), f"must be an integer >= 1, not {_show(num)}")
        if spec.get("log"):
            if start <= 0 or stop <= 0:
                raise r.error(where, "log ranges need start and stop above 0")
            vals = [start * (stop / start) ** (i / (num - 1)) if num > 1 else start for i in range(num)]
        else:
            vals = [start + (stop - start) * i / (num - 1) if num > 1 else start for i in range(num)]
    if integer:
        vals = [int(round(v)) for v in vals]
        vals = list(dict.fromkeys(vals))
    return vals


WORKLOAD_PREFIX = "workload."
"""Axis fields ``workload.<option>`` sweep an option of the study's workloads instead of a spec field."""


def _check_option(r: _Reader, fpath: str, value: Any, where: tuple, workloads: list) -> Any:
    from memtwin.study.workloads import _kind_text, _type_ok, get_workload

    name = fpath[len(WORKLOAD_PREFIX):]
    owners = [w for w in workloads if name in get_workload(w.kind).options]
    if not owners:
        raise r.error(where, f"no workload of this study has an option {name!r}")
    for w in owners:
        opt = get_workload(w.kind).options[name]
        if not _type_ok(opt, value) or (opt.choices and value not in opt.choices):
            extra = f" (one of {', '.join(map(repr, opt.choices))})" if opt.choices else ""
            raise r.error(where, f"{fpath} must be {_kind_text(opt)}{extra}, not {_show(value)}")
    return value


def _bundle(r: _Reader, raw: dict, where: tuple, combine: str, workloads: list) -> Axis:
    fields = raw["fields"]
    if not isinstance(fields, list) or len(fields) < 2 or not all(isinstance(f, str) for f in fields):
        raise r.error((*where, "fields"), f"must be a list of two or more field paths, not {_show(fields)}")
    for j, f in enumerate(fields):
        if f.startswith(WORKLOAD_PREFIX) or f == SPEC_AXIS or f not in field_types():
            raise r.error((*where, "fields", j), unknown_field_message(f) if not f.startswith(WORKLOAD_PREFIX)
                          else "bundled axes take spec fields only")
    if "values" not in raw or not isinstance(raw["values"], list) or not raw["values"]:
        raise r.error((*where, "values"), "a bundled axis needs values: a list of [one value per field] lists")
    values = []
    for j, v in enumerate(raw["values"]):
        if not isinstance(v, list) or len(v) != len(fields):
            raise r.error((*where, "values", j), f"must be a list of {len(fields)} values (one per field), not {_show(v)}")
        values.append(tuple(_check_value(r, f, x, (*where, "values", j)) for f, x in zip(fields, v)))
    return Axis("+".join(fields), tuple(values), fields=tuple(fields))


def _axis(r: _Reader, raw: Any, i: int, combine: str, folder: Path, bases: dict, workloads: list) -> Axis:
    where = ("axes", i)
    if not isinstance(raw, dict):
        raise r.error(where, f"must be a mapping with field and values, not {_show(raw)}")
    check_keys(r, raw, where, ("field", "fields", "values", "range", "between", "log"))
    if "fields" in raw:
        if "field" in raw or "range" in raw or "between" in raw:
            raise r.error(where, "a bundled axis (fields:) takes values: only")
        return _bundle(r, raw, where, combine, workloads)
    if "field" not in raw:
        raise r.error(where, "field is required (a spec field path such as tile.adc.bits, or spec)")
    fpath = raw["field"]
    if not isinstance(fpath, str):
        raise r.error((*where, "field"), f"must be a spec field path, not {_show(fpath)}")
    if fpath.startswith(WORKLOAD_PREFIX):
        if "values" not in raw:
            raise r.error(where, "a workload-option axis takes values: only")
        vals = raw["values"]
        if not isinstance(vals, list) or not vals:
            raise r.error((*where, "values"), f"must be a non-empty list, not {_show(vals)}")
        return Axis(fpath, tuple(_check_option(r, fpath, v, (*where, "values", j), workloads)
                                 for j, v in enumerate(vals)))
    if fpath != SPEC_AXIS and fpath not in field_types():
        raise r.error((*where, "field"), unknown_field_message(fpath))
    hint = field_types().get(fpath)
    integer = hint is int
    forms = [k for k in ("values", "range", "between") if k in raw]
    if len(forms) != 1:
        raise r.error(where, "needs exactly one of values, range or between" + (f", not {' and '.join(forms)}" if forms else ""))
    if "between" in raw:
        if combine != "sample":
            raise r.error((*where, "between"), f"is for combine: sample only (this study combines by {combine})")
        b = raw["between"]
        if hint not in (int, float) or not (isinstance(b, list) and len(b) == 2 and all(_is_num(v) for v in b)) \
                or b[0] > b[1]:
            raise r.error((*where, "between"), f"must be [low, high] with low <= high for a numeric field, not {_show(b)}")
        if raw.get("log") and b[0] <= 0:
            raise r.error((*where, "between"), "log sampling needs low > 0")
        return Axis(fpath, (), (float(b[0]), float(b[1])), bool(raw.get("log", False)), integer)
    if "log" in raw:
        raise r.error((*where, "log"), "goes with between (sample mode) or inside range")
    if "range" in raw:
        if hint not in (int, float):
            raise r.error((*where, "range"), f"needs a numeric field, not {fpath}")
        values = _expand_range(r, raw["range"], (*where, "range"), integer)
        values = [_check_value(r, fpath, v, (*where, "range")) for v in values]
    else:
        vals = raw["values"]
        if not isinstance(vals, list) or not vals:
            raise r.error((*where, "values"), f"must be a non-empty list, not {_show(vals)}")
        values = [_check_value(r, fpath, v, (*where, "values", j)) for j, v in enumerate(vals)]
        if fpath == SPEC_AXIS:
            for j, v in enumerate(values):
                try:
                    bases[v] = read_base(v, folder)
                except SpecError as err:
                    raise r.error((*where, "values", j), err.message if err.message else str(err)) from None
    return Axis(fpath, tuple(values), None, False, integer)


def _seeds(r: _Reader, raw: Any) -> tuple[int, ...]:
    if _is_int(raw) and raw >= 1:
        return tuple(range(raw))
    if isinstance(raw, list) and raw and all(_is_int(s) and s >= 0 for s in raw):
        if len(set(raw)) != len(raw):
            raise r.error(("seeds",), "must not repeat a seed")
        return tuple(raw)
    raise r.error(("seeds",), f"must be a count >= 1 or a list of non-negative integers, not {_show(raw)}")


def _area(r: _Reader, raw: Any) -> AreaTech:
    import dataclasses

    if not isinstance(raw, dict):
        raise r.error(("area",), f"must be a mapping of area-model parameters, not {_show(raw)}")
    names = tuple(f.name for f in dataclasses.fields(AreaTech))
    check_keys(r, raw, ("area",), names)
    for k, v in raw.items():
        if not _is_num(v) or v <= 0:
            raise r.error(("area", k), f"must be a number > 0, not {_show(v)}")
    return AreaTech(**{k: float(v) for k, v in raw.items()})


def loads_study(text: str, name: str = "<string>", path: Path | None = None) -> Study:
    """Parse and check a study given as YAML text (*name* for messages, *path* for relative files)."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        raise StudyError(name, mark.line + 1 if mark else None, "", f"YAML syntax error: {exc.problem}") from None
    if root is None:
        raise StudyError(name, 1, "", "the study is empty")
    lines: dict[tuple, int] = {}
    _index_lines(root, (), lines, name)
    r = _Reader(name, lines)
    if not isinstance(data, dict):
        raise r.error((), "a study must be a YAML mapping")
    check_keys(r, data, (), _TOP_KEYS)
    folder = path.parent if path is not None else Path.cwd()
    if "base" not in data:
        raise r.error(("base",), "is required (a bundled spec name or a spec file path)")
    if not isinstance(data["base"], str):
        raise r.error(("base",), f"must be a spec name or path, not {_show(data['base'])}")
    try:
        base = read_base(data["base"], folder)
    except SpecError as err:
        raise r.error(("base",), err.message) from None
    combine = data.get("combine", "grid")
    if combine not in COMBINES:
        raise r.error(("combine",), f"must be one of {', '.join(map(repr, COMBINES))}, not {_show(combine)}")
    samples = data.get("samples", 0)
    if combine == "sample":
        if not _is_int(samples) or samples < 1:
            raise r.error(("samples",), f"must be an integer >= 1 with combine: sample, not {_show(samples)}")
    elif "samples" in data:
        raise r.error(("samples",), f"is for combine: sample only (this study combines by {combine})")
    sample_seed = data.get("sample_seed", 0)
    if not _is_int(sample_seed) or sample_seed < 0:
        raise r.error(("sample_seed",), f"must be a non-negative integer, not {_show(sample_seed)}")
    seeds = _seeds(r, data.get("seeds", [0]))
    fixed = data.get("set", {}) or {}
    if not isinstance(fixed, dict):
        raise r.error(("set",), f"must be a mapping of spec field paths to values, not {_show(fixed)}")
    checked_fixed = {}
    for k, v in fixed.items():
        if k not in field_types():
            raise r.error(("set", k), unknown_field_message(str(k)))
        checked_fixed[k] = _check_value(r, k, v, ("set", k))
    wl_raw = data.get("workloads")
    if not isinstance(wl_raw, list) or not wl_raw:
        raise r.error(("workloads",), "must be a non-empty list of workloads (kind: mvm, write_verify, replay, program, ...)")
    workloads = tuple(check_workload(r, w, ("workloads", i), folder) for i, w in enumerate(wl_raw))
    labels = [w.label for w in workloads]
    for i, lab in enumerate(labels):
        if labels.index(lab) != i:
            raise r.error(("workloads", i), f"two workloads are labelled {lab!r}; give one a distinct name:")
    axes_raw = data.get("axes", []) or []
    if not isinstance(axes_raw, list):
        raise r.error(("axes",), f"must be a list of axes, not {_show(axes_raw)}")
    bases: dict = {}
    axes = tuple(_axis(r, a, i, combine, folder, bases, list(workloads)) for i, a in enumerate(axes_raw))
    seen: dict[str, int] = {}
    for i, a in enumerate(axes):
        for fp in a.paths:
            if fp in seen:
                raise r.error(("axes", i, "field"), f"{fp} is already swept by axes[{seen[fp]}]")
            if fp in checked_fixed:
                raise r.error(("axes", i, "field"), f"{fp} is also fixed under set:")
            seen[fp] = i
    if combine == "zip" and axes:
        n = len(axes[0].values)
        for i, a in enumerate(axes):
            if len(a.values) != n:
                raise r.error(("axes", i), f"zip needs axes of equal length: axes[0] has {n} values, this one {len(a.values)}")
    area = _area(r, data["area"]) if "area" in data else AreaTech()
    study_name = data.get("name", Path(name).stem)
    if not isinstance(study_name, str):
        raise r.error(("name",), f"must be a string, not {_show(study_name)}")
    return Study(name=study_name, path=path, base=base, axes=axes, combine=combine, seeds=seeds, workloads=workloads,
                 fixed=checked_fixed, samples=int(samples), sample_seed=int(sample_seed), area=area,
                 description=str(data.get("description", "")), bases=bases)


def load_study(path: str | Path) -> Study:
    """Load and check a study file."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise StudyError(str(p), None, "", "no such file") from None
    return loads_study(text, p.name, p.resolve())


__all__ = ["Axis", "Study", "StudyError", "COMBINES", "WORKLOAD_PREFIX", "load_study", "loads_study", "check_keys"]
