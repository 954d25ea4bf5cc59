"""The spec reference (``docs/spec.md``), generated from the spec dataclasses themselves.

Every key's type, unit, range and meaning come from the field declarations and the docstring under
each field, so the reference cannot drift from the loader. ``memtwin spec doc`` prints it; a test
checks that ``docs/spec.md`` is up to date.
"""

from __future__ import annotations

import ast
import dataclasses
import inspect
import textwrap
import typing

from twin.spec.chipspec import ChipSpec, DeviceSpec
from twin.spec.energy_models import AUTO_FIELDS
from twin.spec.fields import describe_rule, yaml_key

_UNITS = {"_ps": "ns (stored as integer ps)", "_us": "µS", "_v": "V", "_ua": "µA", "_ohm": "Ω", "_pj": "pJ",
          "_mw": "mW", "_bps": "bit/s", "_per_v": "1/V"}


def field_docs(cls: type) -> dict[str, str]:
    """The docstring written under each field of dataclass *cls* (by parsing its source)."""
    tree = ast.parse(textwrap.dedent(inspect.getsource(cls)))
    body = tree.body[0].body  # type: ignore[attr-defined]
    docs = {}
    for node, nxt in zip(body, body[1:]):
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and isinstance(nxt, ast.Expr) \
                and isinstance(nxt.value, ast.Constant) and isinstance(nxt.value.value, str):
            docs[node.target.id] = " ".join(nxt.value.value.split())
    return docs


def _unit(name: str) -> str:
    for suffix, unit in _UNITS.items():
        if name.endswith(suffix) or name.endswith(suffix.replace("_ps", "_range_ps")):
            return unit
    if "range_ps" in name:
        return _UNITS["_ps"]
    return ""


def _type_text(hint) -> str:
    if typing.get_origin(hint) is tuple:
        return "[low, high]"
    return {int: "integer", float: "number", bool: "true/false", str: "string"}.get(hint, getattr(hint, "__name__", str(hint)))


def _default_text(f: dataclasses.Field) -> str:
    if f.default is dataclasses.MISSING:
        return "required"
    value = f.default
    if f.name.endswith("_ps") and value is not None:
        value = tuple(v / 1000 for v in value) if isinstance(value, tuple) else value / 1000
    if isinstance(value, tuple):
        return "[" + ", ".join(f"{v:g}" for v in value) + "]"
    if isinstance(value, bool):
        return "true" if value else "false"
    return f"{value:g}" if isinstance(value, (int, float)) else repr(value)


def table(cls: type, prefix: str = "") -> list[str]:
    """Markdown rows for every leaf key of *cls* (nested blocks expanded, in declaration order)."""
    hints = typing.get_type_hints(cls)
    docs = field_docs(cls)
    rows = []
    for f in dataclasses.fields(cls):
        if cls is ChipSpec and f.name in ("source", "sha256", "auto_fields"):
            continue
        hint = hints[f.name]
        key = prefix + yaml_key(f.name)
        if dataclasses.is_dataclass(hint) and hint is not DeviceSpec:
            rows += table(hint, key + ".")
            continue
        if hint is DeviceSpec:
            rows.append(f"| `{key}` | mapping | | required | `model: <name>` and `params:` of that model (below) |")
            continue
        rule = describe_rule(f.metadata)
        if f.name.endswith("_ps"):
            rule = "" if typing.get_origin(hint) is tuple else ">= 0"
            hint = hint if typing.get_origin(hint) is tuple else float
        choices = f.metadata.get("choices")
        allowed = ", ".join(f"`{c}`" for c in choices) if choices else rule
        rows.append(f"| `{key}` | {_type_text(hint)} {allowed} | {_unit(f.name)} | {_default_text(f)} | "
                    f"{docs.get(f.name, '')} |")
    return rows


HEADER = "| key | type and range | unit | default | meaning |\n|---|---|---|---|---|"


def reference_markdown() -> str:
    """The whole spec reference as Markdown."""
    from twin.devices import DEVICE_MODELS

    parts = ["# Chip spec reference", "",
             "Generated from `twin/spec/chipspec.py` by `memtwin spec doc` (a test keeps this file in step). "
             "Keys ending in `_ns` are converted to integer picoseconds at load; a value that is not a whole number "
             "of picoseconds is an error. Unknown keys, wrong types and out-of-range values are errors that name "
             "the file, line and key. A block whose keys all have defaults may be left out.", "",
             "## Chip", "", HEADER, *table(ChipSpec), "",
             "## Cross-field rules", "",
             "- `tile.adc.count` <= `tile.array.cols`; `tile.dac.count` <= `tile.array.rows`.",
             "- `tile.adc.differential` other than `none` needs an even number of columns.",
             "- ADC ranges need low < high; `tile.read.v_read_v` must lie in `tile.read.v_read_range_v`, which must be above 0 V.",
             "- `tile.dac.t_lsb_ns` > 0 with `pwm` inputs; `tile.dac.bits` >= 2 with `bit_serial` inputs.",
             "- `tile.programming.max_parallel_cells` <= the cells of one line for `row` / `column` parallelism (1 for `cell`).",
             "- Programming voltage ranges are magnitudes >= 0; widths start above 0 ns.",
             "- An ADC whose energy per conversion is below the best Walden figure of merit of Murmann's survey "
             "(0.354 fJ per conversion step x 2^bits) is accepted with a warning (`spec.adc_below_best_fom`).",
             "- `auto` is accepted for " + ", ".join(f"`{p}`" for p in AUTO_FIELDS) + ": the number is derived "
             "at load from the rest of the spec (ADC bits, columns, voltages); models and sources in `docs/energy-models.md`.", ""]
    for name, model in sorted(DEVICE_MODELS.items()):
        parts += [f"## Device model `{name}`", "", " ".join((model.__doc__ or "").split()), "",
                  HEADER, *table(model.Params, "tile.device.params."), ""]
    return "\n".join(parts)
