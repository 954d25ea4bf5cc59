"""Device models, selectable by name in a chip spec (``device.model``)."""

from twin.devices.base import DEVICE_MODELS, DeviceModel, register_device_model
from twin.devices import ideal  # noqa: F401  (registers "ideal")
from twin.devices import rram_1t1r  # noqa: F401

__all__ = ["DEVICE_MODELS", "DeviceModel", "register_device_model"]
