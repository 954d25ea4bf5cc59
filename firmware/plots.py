"""Plots of a write-verify run (needs matplotlib, the optional extra ``plot``)."""

from __future__ import annotations

import numpy as np


def plot_programming(report, levels, level_index: np.ndarray, path: str) -> None:
    """Save a figure: conductance histograms per level (final verify reads) and pulses per cell."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax_g, ax_p) = plt.subplots(1, 2, figsize=(12, 4.5))
    g = report.final_us
    span = levels.range_us[1] - levels.range_us[0]
    bins = np.linspace(levels.range_us[0] - 0.05 * span, levels.range_us[1] + 0.05 * span,
                       min(40 * levels.n, 2000) + 1)
    step = max(1, levels.n // 64)  # at most 64 levels drawn
    for k in range(0, levels.n, step):
        sel = level_index == k
        if sel.any():
            ax_g.hist(g[sel], bins=bins, histtype="stepfilled", alpha=0.6)
    ax_g.set_xlabel("conductance (uS)")
    ax_g.set_ylabel("cells")
    ax_g.set_title(f"{levels.n} levels" + (f" (every {step}th drawn)" if step > 1 else ""))
    hist = report.summary.pulses_histogram
    ax_p.bar(np.arange(hist.size), hist, width=1.0)
    ax_p.set_xlabel("pulses per cell")
    ax_p.set_ylabel("cells")
    ax_p.set_title(f"{report.summary.scheme}: mean {report.summary.mean_pulses:.2f}, "
                   f"{report.summary.convergence_rate:.1%} converged")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
