"""Plots of a write-verify run (needs matplotlib, the optional extra ``plot``)."""

from __future__ import annotations

import numpy as np

MAX_LEVELS_DRAWN = 16
"""Up to this many levels, each level's histogram is drawn on the conductance axis; with more, levels
2 µS apart on a range of mS are invisible at any readable scale, so the deviations from the targets
are pooled over all levels and drawn in units of the level spacing."""


def plot_programming(report, levels, level_index: np.ndarray, path: str) -> None:
    """Save a figure: per-level conductance histograms (few levels) or the pooled deviation from the
    targets in level spacings with the midpoints to the neighbouring levels (many levels), both from the
    final verify reads; and the pulses-per-cell histogram."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax_g, ax_p) = plt.subplots(1, 2, figsize=(12, 4.5))
    g = np.asarray(report.final_us, dtype=np.float64).ravel()
    idx = np.asarray(level_index).ravel()
    ok = np.isfinite(g)
    spacing_us = float(np.min(levels.spacing_us)) if levels.n > 1 else max(float(np.nanstd(g[ok])), 1.0)
    if levels.n <= MAX_LEVELS_DRAWN:
        lo, hi = levels.range_us
        bins = np.arange(lo - spacing_us, hi + spacing_us, spacing_us / 25)
        colors = plt.get_cmap("tab10" if levels.n <= 10 else "tab20")
        for k in range(levels.n):
            sel = ok & (idx == k)
            if sel.any():
                ax_g.hist(g[sel], bins=bins, histtype="stepfilled", alpha=0.6, color=colors(k % colors.N))
        for t in levels.table_us:
            ax_g.axvline(t, color="0.3", lw=0.6, ls=":")
        ax_g.set_xlabel("conductance at the last verify read (µS); dotted: targets")
        ax_g.set_title(f"{levels.n} levels, {spacing_us:.3g} µS apart")
    else:
        dev = (g[ok] - levels.targets_us(idx[ok])) / spacing_us
        past = float(np.mean(np.abs(dev) > 0.5)) if dev.size else float("nan")
        lim = max(1.5, min(float(np.percentile(np.abs(dev), 99.5)) * 1.2 if dev.size else 1.5, 10.0))
        ax_g.hist(np.clip(dev, -lim, lim), bins=np.linspace(-lim, lim, 121), color="tab:blue")
        for x in (-0.5, 0.5):
            ax_g.axvline(x, color="tab:red", lw=1.2, ls="--")
        ax_g.set_xlabel(f"last verify read − target (level spacings of {spacing_us:.3g} µS); "
                        "dashed: midpoints to the neighbours")
        ax_g.set_title(f"{levels.n} levels, all pooled: {past:.2%} of cells past a midpoint")
        ax_g.text(0.99, 0.97, f"beyond ±{lim:.3g}: in the end bins", transform=ax_g.transAxes, ha="right", va="top",
                  fontsize=8, color="0.3")
    ax_g.set_ylabel("cells")
    hist = report.summary.pulses_histogram
    ax_p.bar(np.arange(hist.size), hist, width=1.0, color="tab:gray")
    ax_p.set_xlabel("pulses per cell (denoising pulses not counted)")
    ax_p.set_ylabel("cells")
    ax_p.set_title(f"{report.summary.scheme}: mean {report.summary.mean_pulses:.2f} pulses, "
                   f"{report.summary.convergence_rate:.1%} converged")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
