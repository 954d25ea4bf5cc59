"""Spec variants: a base spec with fields changed by dotted YAML path, checked like a spec file.

``spec_variant("default", {"tile.adc.bits": 6})`` returns a :class:`twin.ChipSpec` that passed the
spec loader's checks, with every ``auto`` field (``docs/energy-models.md``) resolved for the changed
spec. Paths are the YAML keys of ``docs/spec.md`` (``tile.adc.t_convert_ns``, in ns like the YAML;
``tile.device.params.g_max_us``).

This module is the study package's only door to spec changes. It calls ``twin.spec.with_changes``
when the spec package provides one, and otherwise changes the base spec's YAML mapping and loads it
with ``twin.spec.loads``, which applies every rule of the loader.
"""

from __future__ import annotations

import dataclasses
import difflib
import hashlib
import typing
from functools import lru_cache
from pathlib import Path
from typing import Any, Mapping

import yaml

import twin
import twin.spec
from twin.errors import SpecError
from twin.spec import ChipSpec, DeviceSpec, catalog, iter_fields
from twin.spec.energy_models import AUTO_FIELDS, resolve_auto

SPEC_AXIS = "spec"
"""Pseudo-field of a study axis whose values are spec names or paths (the base spec changes)."""


@dataclasses.dataclass(frozen=True)
class BaseSpec:
    """A base spec's YAML text and the name errors use."""

    name: str
    """Catalog name or file name."""
    text: str
    """The YAML text."""

    @property
    def sha256(self) -> str:
        """SHA-256 of the YAML text."""
        return hashlib.sha256(self.text.encode()).hexdigest()


def read_base(spec: str | Path, relative_to: Path | None = None) -> BaseSpec:
    """The YAML text of a bundled spec name (``default``, ``published/xue2020_macro``) or a file path
    (relative paths are taken from *relative_to*, e.g. the study file's folder, when they exist there)."""
    path = Path(spec)
    if relative_to is not None and not path.is_absolute() and (relative_to / path).is_file():
        path = relative_to / path
    if not path.suffix and not path.exists():
        path = catalog.path(str(spec))
    try:
        return BaseSpec(str(spec), path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SpecError(str(spec), None, "", "no such file") from None


@lru_cache(maxsize=1)
def field_types() -> dict[str, Any]:
    """YAML path → type hint of every spec field a variant may change (device params of every model)."""
    from twin.devices import DEVICE_MODELS

    out: dict[str, Any] = {}
    for path, f, hint in iter_fields(ChipSpec):
        if hint is DeviceSpec:
            out[path + ".model"] = str
            for model in DEVICE_MODELS.values():
                hints = typing.get_type_hints(model.Params)
                for pf in dataclasses.fields(model.Params):
                    key = pf.name[:-3] + "_ns" if pf.name.endswith("_ps") else pf.name
                    out[f"{path}.params.{key}"] = hints[pf.name]
        else:
            out[path] = hint
    return out


def unknown_field_message(path: str) -> str:
    """``unknown spec field X (did you mean Y?)`` for a path that is not a spec field."""
    close = difflib.get_close_matches(path, [*field_types(), SPEC_AXIS], n=1, cutoff=0.6)
    return f"unknown spec field {path}" + (f" (did you mean {close[0]}?)" if close else " (see docs/spec.md)")


def _set_path(mapping: dict, path: str, value: Any) -> None:
    node = mapping
    parts = path.split(".")
    for part in parts[:-1]:
        child = node.get(part)
        if not isinstance(child, dict):
            child = {}
            node[part] = child
        node = child
    node[parts[-1]] = list(value) if isinstance(value, tuple) else value


def describe_changes(changes: Mapping[str, Any]) -> str:
    """``tile.adc.bits=6, tile.adc.count=32`` (for names and messages)."""
    return ", ".join(f"{k}={v}" for k, v in changes.items())


def spec_variant(base: BaseSpec | str | Path, changes: Mapping[str, Any] | None = None) -> ChipSpec:
    """The base spec with *changes* (YAML path → value) applied and every loader check passed.

    Raises :class:`twin.SpecError` naming the variant (``default{tile.adc.bits=0}``) and the field
    for an unknown path or a value the loader refuses. ``auto`` is accepted where the spec accepts it.
    """
    base = base if isinstance(base, BaseSpec) else read_base(base)
    changes = dict(changes or {})
    label = f"{base.name}{{{describe_changes(changes)}}}" if changes else base.name
    for path in changes:
        if path not in field_types():
            raise SpecError(label, None, path, unknown_field_message(path))
    with_changes = getattr(twin.spec, "with_changes", None)
    if with_changes is not None:  # the spec package's own override (checked by its loader)
        spec = with_changes(twin.spec.loads(base.text, base.name), changes)
        auto = tuple(p for p in spec.auto_fields if p not in changes) + \
            tuple(p for p, v in changes.items() if v == "auto" and p in AUTO_FIELDS)
        return resolve_auto(spec, auto) if auto else spec
    data = yaml.safe_load(base.text)
    if not isinstance(data, dict):
        raise SpecError(base.name, 1, "", "the spec is not a YAML mapping")
    for path, value in changes.items():
        _set_path(data, path, value)
    text = yaml.safe_dump(data, sort_keys=False)
    try:
        return twin.spec.loads(text, label)
    except SpecError as err:  # the line would be of the generated text: name the variant and field only
        raise SpecError(label, None, err.field, err.message) from None


def spec_hash(spec: ChipSpec) -> str:
    """SHA-256 (first 16 hex digits) of everything that defines the chip (not where it was loaded from)."""
    core = dataclasses.replace(spec, source="", sha256="")
    return hashlib.sha256(repr(core).encode()).hexdigest()[:16]


__all__ = ["BaseSpec", "SPEC_AXIS", "read_base", "field_types", "spec_variant", "spec_hash", "describe_changes",
           "unknown_field_message"]
