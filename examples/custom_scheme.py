"""A user-defined write-verify scheme in a few lines, run on the NeuRRAM preset.

A scheme is any object with ``start(ctx)`` and ``next_pulses(cells, g_us, ctx)``; the quickest is a
function wrapped in :class:`firmware.pulse_schemes.FunctionScheme`. This one uses an amplitude that
grows with the remaining error (a crude proportional controller) and is compared with NeuRRAM's
incremental recipe on the same cells.

    .venv/bin/python examples/custom_scheme.py
"""

import numpy as np

from firmware.driver import open_chip
from firmware.programming import write_verify
from firmware.pulse_schemes import FunctionScheme, IncrementalStep
from twin.logconfig import configure_logging


def proportional(g_us, targets_us):
    """SET below the target, RESET above it; 0.03 V more per uS of error, from 1.2 V / 1.5 V."""
    is_set = g_us < targets_us
    return is_set, np.where(is_set, 1.2, 1.5) + 0.03 * np.abs(targets_us - g_us)


def main() -> None:
    configure_logging("warning")
    rows, cols = np.arange(32)[:, None], np.arange(32)[None, :]
    targets = np.random.default_rng(0).uniform(2.0, 38.0, (32, 32))
    for scheme in (FunctionScheme(proportional, name="proportional"), IncrementalStep()):
        chip = open_chip("neurram2022", seed=0)
        report = write_verify(chip.tile(0), rows, cols, targets, scheme, tolerance_us=1.0, max_pulses=60)
        print(report.summary.to_text())
        print()


if __name__ == "__main__":
    main()
