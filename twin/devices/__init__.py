"""Device models, selectable by name in a chip spec (``device.model``)."""

from twin.devices.base import DEVICE_MODELS, DeviceModel, register_device_model
from twin.devices import ideal  # noqa: F401  (registers "ideal")

__all__ = ["DEVICE_MODELS", "DeviceModel", "register_device_model"]
