"""The converters' modes by the names the chip spec uses: plain tuples, so the spec imports them without numba.

A kernel's integer id for a mode is the mode's index in its tuple.
"""

INPUT_MODES = ("bit_serial", "pwm", "amplitude")
"""How a DAC code drives a row: ``bit_serial`` (one read per magnitude bit plane), ``pwm`` (one read, the
row on for a fraction of the window), ``amplitude`` (one read, the row voltage proportional to the code)."""

PAIR_MODES = ("none", "analog", "digital")
"""How column pairs (2k, 2k+1) = (+, −) are combined: ``none`` (every column is its own output), ``analog``
(the ADC converts the difference of the pair's currents), ``digital`` (both converted, codes subtracted)."""
