"""Figures of study results (matplotlib): lines, stacked energy breakdowns, Pareto fronts.

Every axis is labelled with its unit, taken from the column name's suffix (``_pj`` → pJ, ...).
Rows of the same x (and hue) are averaged over seeds; error bars show their min and max.
"""

from __future__ import annotations

import math
from collections import defaultdict
from pathlib import Path
from typing import Any

from twin.ledger import COMPONENTS

UNIT_SUFFIXES = (("_per_mvm_pj", "pJ per MVM vector"), ("_pj", "pJ"), ("_ns", "ns"), ("_us", "µS"),
                 ("_mm2", "mm²"), ("_um2", "µm²"), ("_pct", "%"), ("_frac", "fraction"), ("_per_s", "1/s"),
                 ("_s", "s"), ("tops_per_w", "TOPS/W"), ("tops_per_mm2", "TOPS/mm²"), ("tops", "TOPS"))


def label(column: str) -> str:
    """Axis label with its unit: ``energy_per_mvm_pj`` → ``energy_per_mvm_pj [pJ per MVM vector]``."""
    for suffix, unit in UNIT_SUFFIXES:
        if column.endswith(suffix):
            return f"{column} [{unit}]"
    return column


def _num(v: Any) -> float | None:
    if isinstance(v, bool) or v is None:
        return None
    if isinstance(v, (int, float)):
        return None if math.isnan(v) else float(v)
    return None


def group_mean(rows: list[dict], x: str, y: str, hue: str | None = None) -> dict[Any, list[tuple]]:
    """hue value → sorted [(x, mean y, min y, max y)] over the rows with numeric x and y."""
    acc: dict[Any, dict[Any, list[float]]] = defaultdict(lambda: defaultdict(list))
    for r in rows:
        yv = _num(r.get(y))
        if yv is None or r.get(x) is None:
            continue
        acc[r.get(hue) if hue else None][r[x]].append(yv)
    out = {}
    for h, by_x in acc.items():
        pts = [(xv, sum(v) / len(v), min(v), max(v)) for xv, v in by_x.items()]
        out[h] = sorted(pts, key=lambda p: (not isinstance(p[0], (int, float)), p[0] if isinstance(p[0], (int, float)) else str(p[0])))
    return out


def pareto_front(points: list[tuple[float, float, Any]], minimize_x: bool = True, minimize_y: bool = True) -> list:
    """The points no other point beats in both x and y (each minimized or maximized), sorted by x."""
    sx = 1 if minimize_x else -1
    sy = 1 if minimize_y else -1
    best: list = []
    for p in sorted(points, key=lambda p: (sx * p[0], sy * p[1])):
        if not best or sy * p[1] < sy * best[-1][1]:
            best.append(p)
    return best


def _figure():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_lines(rows: list[dict], x: str, y: str, out: str | Path, hue: str | None = None, title: str = "") -> None:
    """y against x, one line per hue value, mean over seeds with min–max bars."""
    plt = _figure()
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    groups = group_mean(rows, x, y, hue)
    if not groups:
        raise ValueError(f"no rows have numbers in both {x!r} and {y!r}")
    categorical = any(not isinstance(p[0], (int, float)) for pts in groups.values() for p in pts)
    for h, pts in sorted(groups.items(), key=lambda kv: str(kv[0])):
        xs = [str(p[0]) for p in pts] if categorical else [p[0] for p in pts]
        ys = [p[1] for p in pts]
        err = [[p[1] - p[2] for p in pts], [p[3] - p[1] for p in pts]]
        ax.errorbar(xs, ys, yerr=err, marker="o", capsize=3, label=f"{hue} = {h}" if hue else None)
    ax.set_xlabel(label(x))
    ax.set_ylabel(label(y))
    ax.grid(alpha=0.3)
    if hue:
        ax.legend(fontsize=8)
    ax.set_title(title or f"{y} vs {x}", fontsize=10)
    fig.tight_layout()
    fig.savefig(out, dpi=120)
    plt.close(fig)


def plot_stacked_energy(rows: list[dict], x: str, out: str | Path, per: str = "per_mvm", hue: str | None = None,
                        title: str = "") -> None:
    """Energy by component stacked against x (``energy_<comp>_per_mvm_pj``, or ``energy_<comp>_pj`` with
    per=""); with *hue*, one group of bars per hue value."""
    plt = _figure()
    suffix = f"_{per}_pj" if per else "_pj"
    cols = [f"energy_{c}{suffix}" for c in COMPONENTS if any(_num(r.get(f"energy_{c}{suffix}")) for r in rows)]
    if not cols:
        raise ValueError(f"no energy_<component>{suffix} columns in the results")
    hues = sorted({r.get(hue) for r in rows}, key=str) if hue else [None]
    xs_all = sorted({r.get(x) for r in rows if r.get(x) is not None}, key=lambda v: (isinstance(v, str), v))
    fig, ax = plt.subplots(figsize=(max(6.4, 0.5 * len(xs_all) * len(hues)), 4.2))
    width = 0.8 / len(hues)
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for j, h in enumerate(hues):
        sub = [r for r in rows if not hue or r.get(hue) == h]
        bottom = [0.0] * len(xs_all)
        for k, c in enumerate(cols):
            g = group_mean(sub, x, c).get(None, [])
            means = {p[0]: p[1] for p in g}
            vals = [means.get(xv, 0.0) for xv in xs_all]
            pos = [i + (j - (len(hues) - 1) / 2) * width for i in range(len(xs_all))]
            ax.bar(pos, vals, width, bottom=bottom, color=colors[k % len(colors)],
                   label=c.removeprefix("energy_").removesuffix(suffix) if j == 0 else None,
                   edgecolor="black" if hue else None, linewidth=0.3)
            bottom = [b + v for b, v in zip(bottom, vals)]
    ax.set_xticks(range(len(xs_all)))
    ax.set_xticklabels([str(v) for v in xs_all])
    ax.set_xlabel(label(x) + (f"; bar groups: {hue} = {', '.join(map(str, hues))}" if hue else ""))
    ax.set_ylabel("energy [pJ per MVM vector]" if per == "per_mvm" else "energy [pJ]")
    ax.legend(fontsize=8)
    ax.set_title(title or f"energy by component vs {x}", fontsize=10)
    fig.tight_layout()
    fig.savefig(out, dpi=120)
    plt.close(fig)


def plot_pareto(rows: list[dict], x: str, y: str, out: str | Path, hue: str | None = None, maximize_y: bool = False,
                maximize_x: bool = False, title: str = "") -> list[dict]:
    """Every point (mean over seeds) of y against x, and their Pareto front; returns the front's rows."""
    plt = _figure()
    keyed: dict[tuple, list[dict]] = defaultdict(list)
    for r in rows:
        if _num(r.get(x)) is not None and _num(r.get(y)) is not None:
            keyed[(r.get("point"), r.get("workload"))].append(r)
    if not keyed:
        raise ValueError(f"no rows have numbers in both {x!r} and {y!r}")
    pts = []
    for rs in keyed.values():
        pts.append((sum(r[x] for r in rs) / len(rs), sum(r[y] for r in rs) / len(rs), rs[0]))
    front = pareto_front(pts, minimize_x=not maximize_x, minimize_y=not maximize_y)
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    if hue:
        for h in sorted({p[2].get(hue) for p in pts}, key=str):
            sel = [p for p in pts if p[2].get(hue) == h]
            ax.scatter([p[0] for p in sel], [p[1] for p in sel], s=18, label=f"{hue} = {h}")
        ax.legend(fontsize=8)
    else:
        ax.scatter([p[0] for p in pts], [p[1] for p in pts], s=18, color="0.5")
    ax.plot([p[0] for p in front], [p[1] for p in front], "r-o", ms=4, lw=1.2, label="Pareto front")
    ax.set_xlabel(label(x))
    ax.set_ylabel(label(y))
    ax.grid(alpha=0.3)
    ax.set_title(title or f"Pareto front: {y} vs {x}", fontsize=10)
    fig.tight_layout()
    fig.savefig(out, dpi=120)
    plt.close(fig)
    return [p[2] for p in front]


__all__ = ["label", "group_mean", "pareto_front", "plot_lines", "plot_stacked_energy", "plot_pareto"]
