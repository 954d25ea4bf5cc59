"""Neural networks on the chip: map a trained model onto tiles, program it, run inference.

The flow (``docs/networks.md``)::

    from firmware import open_chip
    from firmware import nn
    chip = open_chip("default", seed=1)
    model = nn.trained_mlp("digits", hidden=(32,))           # or nn.load_npz("model.npz")
    dep = nn.deploy(chip, model, levels=8)                    # plan: nothing sent yet
    print(dep.plan.to_text())
    dep.program("incremental")                                # write_verify, tiles concurrently
    dep.calibrate(x_train[:256])                              # input scales, ADC ranges
    pred = dep.predict(x_test)                                # outputs + time/energy per inference

Modules: :mod:`~firmware.nn.layers` (models), :mod:`~firmware.nn.mapping` (quantization, slicing,
tiling, placement), :mod:`~firmware.nn.concurrent` (write_verify on several tiles at once),
:mod:`~firmware.nn.deploy` (programming, calibration, inference), :mod:`~firmware.nn.metering`
(per-phase time and energy), :mod:`~firmware.nn.datasets`, :mod:`~firmware.nn.train`.
"""

from firmware.nn.concurrent import ProgramJob, write_verify_tiles
from firmware.nn.deploy import (CalibrationReport, Deployment, InferenceReport, LayerCalibration, Prediction,
                                ProgramReport, dac_quantize, deploy)
from firmware.nn.layers import (AvgPool2d, Conv2d, Dense, Flatten, Identity, MaxPool2d, Model, ReLU, Sign, im2col,
                                load_npz, save_npz, sequential)
from firmware.nn.mapping import Block, LayerPlan, MappingConfig, Plan, QuantizedMatrix, plan, quantize_matrix
from firmware.nn.metering import Meter, PhaseCost

__all__ = [
    "AvgPool2d", "Block", "CalibrationReport", "Conv2d", "Dense", "Deployment", "Flatten", "Identity",
    "InferenceReport", "LayerCalibration", "LayerPlan", "MappingConfig", "MaxPool2d", "Meter", "Model", "PhaseCost",
    "Plan", "Prediction", "ProgramJob", "ProgramReport", "QuantizedMatrix", "ReLU", "Sign", "dac_quantize", "deploy",
    "im2col", "load_npz", "plan", "quantize_matrix", "save_npz", "sequential", "write_verify_tiles",
]
