"""Models as sequences of layers given by numpy arrays, with their float forward pass.

Layout conventions: a batch comes first. ``Dense(W, b)`` computes ``x @ W + b`` with ``W`` of shape
(in_features, out_features). ``Conv2d(W, b, stride, padding)`` takes images (batch, channels, height,
width) and ``W`` of shape (out_channels, in_channels, kh, kw); it is lowered to one matrix product per
output position (im2col, :func:`im2col`), so on the chip it is a Dense layer of shape
(in_channels·kh·kw, out_channels). Activations (:class:`ReLU`, :class:`Sign`, :class:`Identity`),
:class:`Flatten` and pooling (:class:`MaxPool2d`, :class:`AvgPool2d`) run on the host.

``.npz`` files (:func:`load_npz`, :func:`save_npz`): one entry ``layers`` (a string array of layer
kinds, e.g. ``["dense", "relu", "dense"]``) and, for layer *i*, ``{i}.W``, ``{i}.b`` (weights, bias),
``{i}.stride``, ``{i}.padding`` (conv) and ``{i}.size`` (pooling), ``input_shape`` (the shape of one
input without the batch axis).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np


def _as_weights(name: str, value, ndim: int, layer: str) -> np.ndarray:
    a = np.asarray(value, dtype=np.float64)
    if a.ndim != ndim:
        raise ValueError(f"{layer}: {name} must have {ndim} dimensions, not shape {a.shape}")
    if a.size == 0:
        raise ValueError(f"{layer}: {name} is empty (shape {a.shape})")
    bad = ~np.isfinite(a)
    if bad.any():
        k = tuple(int(i) for i in np.argwhere(bad)[0])
        raise ValueError(f"{layer}: {name} must be finite numbers, not {a[k]} (index {k}; {int(bad.sum())} bad)")
    return a


def im2col(x: np.ndarray, kh: int, kw: int, stride: int, padding: int) -> tuple[np.ndarray, int, int]:
    """Patches of images *x* (batch, C, H, W) as rows: (batch·out_h·out_w, C·kh·kw), and (out_h, out_w).

    The column order is (channel, kernel row, kernel column), i.e. ``W.reshape(out_channels, -1)``.
    """
    n, c, h, w = x.shape
    if padding:
        x = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    out_h = (h + 2 * padding - kh) // stride + 1
    out_w = (w + 2 * padding - kw) // stride + 1
    s = x.strides
    patches = np.lib.stride_tricks.as_strided(
        x, (n, out_h, out_w, c, kh, kw), (s[0], s[2] * stride, s[3] * stride, s[1], s[2], s[3]), writeable=False)
    return patches.reshape(n * out_h * out_w, c * kh * kw), out_h, out_w


@dataclass
class Dense:
    """Fully connected layer ``y = x @ W + b``; W (in_features, out_features), b (out_features,)."""

    W: np.ndarray
    b: np.ndarray | None = None
    name: str = "dense"

    def __post_init__(self) -> None:
        self.W = _as_weights("W", self.W, 2, self.name)
        self.b = np.zeros(self.W.shape[1]) if self.b is None else _as_weights("b", self.b, 1, self.name)
        if self.b.shape[0] != self.W.shape[1]:
            raise ValueError(f"{self.name}: b has {self.b.shape[0]} values but W has {self.W.shape[1]} outputs")

    kind = "dense"

    @property
    def matrix(self) -> np.ndarray:
        """The weights as the (inputs, outputs) matrix the chip holds."""
        return self.W

    def out_shape(self, in_shape: tuple[int, ...]) -> tuple[int, ...]:
        if in_shape != (self.W.shape[0],):
            raise ValueError(f"{self.name}: expects inputs of shape ({self.W.shape[0]},), not {in_shape}")
        return (self.W.shape[1],)

    def rows_of(self, x: np.ndarray) -> tuple[np.ndarray, tuple]:
        """The vectors the matrix multiplies, and what :meth:`assemble` needs to shape the outputs."""
        return x, ()

    def assemble(self, y: np.ndarray, n: int, ctx: tuple) -> np.ndarray:
        return y

    def forward(self, x: np.ndarray, W: np.ndarray | None = None) -> np.ndarray:
        W = self.W if W is None else W
        return x @ W + self.b


@dataclass
class Conv2d:
    """2-D convolution; W (out_channels, in_channels, kh, kw), b (out_channels,), NCHW images."""

    W: np.ndarray
    b: np.ndarray | None = None
    stride: int = 1
    padding: int = 0
    name: str = "conv2d"

    kind = "conv2d"

    def __post_init__(self) -> None:
        self.W = _as_weights("W", self.W, 4, self.name)
        self.b = np.zeros(self.W.shape[0]) if self.b is None else _as_weights("b", self.b, 1, self.name)
        if self.b.shape[0] != self.W.shape[0]:
            raise ValueError(f"{self.name}: b has {self.b.shape[0]} values but W has {self.W.shape[0]} out channels")
        for f in ("stride", "padding"):
            v = getattr(self, f)
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < (1 if f == "stride" else 0):
                raise ValueError(f"{self.name}: {f} must be an integer >= {1 if f == 'stride' else 0}, not {v!r}")
            setattr(self, f, int(v))

    @property
    def matrix(self) -> np.ndarray:
        """(in_channels·kh·kw, out_channels): the im2col form of the kernel."""
        return self.W.reshape(self.W.shape[0], -1).T

    def out_shape(self, in_shape: tuple[int, ...]) -> tuple[int, ...]:
        o, c, kh, kw = self.W.shape
        if len(in_shape) != 3 or in_shape[0] != c:
            raise ValueError(f"{self.name}: expects inputs of shape ({c}, H, W), not {in_shape}")
        h = (in_shape[1] + 2 * self.padding - kh) // self.stride + 1
        w = (in_shape[2] + 2 * self.padding - kw) // self.stride + 1
        if h < 1 or w < 1:
            raise ValueError(f"{self.name}: a {kh}x{kw} kernel does not fit inputs of shape {in_shape}")
        return (o, h, w)

    def rows_of(self, x: np.ndarray) -> tuple[np.ndarray, tuple]:
        _, _, kh, kw = self.W.shape
        cols, oh, ow = im2col(x, kh, kw, self.stride, self.padding)
        return cols, (oh, ow)

    def assemble(self, y: np.ndarray, n: int, ctx: tuple) -> np.ndarray:
        oh, ow = ctx
        return y.reshape(n, oh, ow, -1).transpose(0, 3, 1, 2)

    def forward(self, x: np.ndarray, W: np.ndarray | None = None) -> np.ndarray:
        M = self.matrix if W is None else W
        rows, ctx = self.rows_of(x)
        return self.assemble(rows @ M + self.b, x.shape[0], ctx)


@dataclass
class _Elementwise:
    name: str = ""

    def out_shape(self, in_shape: tuple[int, ...]) -> tuple[int, ...]:
        return in_shape


@dataclass
class ReLU(_Elementwise):
    """max(x, 0)."""

    kind = "relu"

    def forward(self, x: np.ndarray) -> np.ndarray:
        return np.maximum(x, 0.0)


@dataclass
class Sign(_Elementwise):
    """Step activation: +1 where x >= 0, -1 elsewhere (binary networks)."""

    kind = "sign"

    def forward(self, x: np.ndarray) -> np.ndarray:
        return np.where(x >= 0, 1.0, -1.0)


@dataclass
class Identity(_Elementwise):
    """No activation."""

    kind = "identity"

    def forward(self, x: np.ndarray) -> np.ndarray:
        return x


@dataclass
class Flatten(_Elementwise):
    """Everything after the batch axis as one vector."""

    kind = "flatten"

    def out_shape(self, in_shape: tuple[int, ...]) -> tuple[int, ...]:
        return (int(np.prod(in_shape)),)

    def forward(self, x: np.ndarray) -> np.ndarray:
        return x.reshape(x.shape[0], -1)


@dataclass
class _Pool2d:
    size: int = 2
    name: str = ""

    def __post_init__(self) -> None:
        if isinstance(self.size, bool) or not isinstance(self.size, (int, np.integer)) or self.size < 1:
            raise ValueError(f"{self.name or self.kind}: size must be an integer >= 1, not {self.size!r}")
        self.size = int(self.size)

    def out_shape(self, in_shape: tuple[int, ...]) -> tuple[int, ...]:
        if len(in_shape) != 3 or in_shape[1] < self.size or in_shape[2] < self.size:
            raise ValueError(f"{self.name or self.kind}: expects (C, H, W) inputs of at least {self.size}x{self.size}, "
                             f"not {in_shape}")
        return (in_shape[0], in_shape[1] // self.size, in_shape[2] // self.size)

    def _windows(self, x: np.ndarray) -> np.ndarray:
        n, c, h, w = x.shape
        k = self.size
        return x[:, :, :h // k * k, :w // k * k].reshape(n, c, h // k, k, w // k, k)


@dataclass
class MaxPool2d(_Pool2d):
    """Non-overlapping max pooling over size x size windows."""

    kind = "maxpool2d"

    def forward(self, x: np.ndarray) -> np.ndarray:
        return self._windows(x).max(axis=(3, 5))


@dataclass
class AvgPool2d(_Pool2d):
    """Non-overlapping average pooling over size x size windows."""

    kind = "avgpool2d"

    def forward(self, x: np.ndarray) -> np.ndarray:
        return self._windows(x).mean(axis=(3, 5))


LAYER_KINDS = {cls.kind: cls for cls in (Dense, Conv2d, ReLU, Sign, Identity, Flatten, MaxPool2d, AvgPool2d)}
"""Layer classes by the kind names used in ``.npz`` files."""


def is_matrix_layer(layer) -> bool:
    """Whether *layer* holds weights that go onto the chip (Dense, Conv2d)."""
    return isinstance(layer, (Dense, Conv2d))


@dataclass
class Model:
    """A sequence of layers applied in order to inputs of shape (batch, *input_shape)."""

    layers: list
    input_shape: tuple[int, ...]
    names: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not self.layers:
            raise ValueError("a model needs at least one layer")
        self.input_shape = tuple(int(s) for s in np.atleast_1d(self.input_shape))
        counts: dict[str, int] = {}
        for layer in self.layers:
            if not layer.name:
                layer.name = layer.kind
            counts[layer.name] = counts.get(layer.name, 0) + 1
        seen: dict[str, int] = {}
        for i, layer in enumerate(self.layers):
            if counts[layer.name] > 1:  # number repeated names: dense0, dense1, ...
                base = layer.name
                layer.name = f"{base}{seen.get(base, 0)}"
                seen[base] = seen.get(base, 0) + 1
        self.names = [layer.name for layer in self.layers]
        self.shapes()  # validates the chain

    def shapes(self) -> list[tuple[int, ...]]:
        """Input shape of every layer, then the output shape (ValueError naming the layer on a mismatch)."""
        out = [self.input_shape]
        for layer in self.layers:
            out.append(layer.out_shape(out[-1]))
        return out

    @property
    def matrix_layers(self) -> list:
        return [layer for layer in self.layers if is_matrix_layer(layer)]

    def check_inputs(self, x) -> np.ndarray:
        """*x* as float64 (batch, *input_shape); ValueError for a wrong shape or non-finite values."""
        a = np.asarray(x, dtype=np.float64)
        if a.shape[1:] != self.input_shape:
            if a.shape == self.input_shape:
                a = a[None]
            elif a.ndim >= 1 and a.shape[1:] and int(np.prod(a.shape[1:])) == int(np.prod(self.input_shape)):
                a = a.reshape(a.shape[0], *self.input_shape)
            else:
                raise ValueError(f"inputs: expected shape (batch, {', '.join(map(str, self.input_shape))}), "
                                 f"not {a.shape}")
        if a.shape[0] == 0:
            raise ValueError("inputs: the batch is empty")
        bad = ~np.isfinite(a)
        if bad.any():
            k = int(np.flatnonzero(bad.reshape(a.shape[0], -1).any(axis=1))[0])
            raise ValueError(f"inputs: must be finite numbers (vector {k} has {a[k][~np.isfinite(a[k])][0]})")
        return a

    def forward(self, x, weights: dict[str, np.ndarray] | None = None) -> np.ndarray:
        """Float inference; *weights* optionally replaces layers' matrices by name (e.g. quantized ones)."""
        h = self.check_inputs(x)
        for layer in self.layers:
            if is_matrix_layer(layer):
                h = layer.forward(h, None if weights is None else weights.get(layer.name))
            else:
                h = layer.forward(h)
        return h

    def predict_classes(self, x) -> np.ndarray:
        return np.argmax(self.forward(x), axis=1)


def sequential(layers: Sequence, input_shape) -> Model:
    """A :class:`Model` from a list of layers."""
    return Model(list(layers), tuple(np.atleast_1d(input_shape)))


def save_npz(model: Model, path: str | Path) -> None:
    """Write *model* to *path* in the format of :func:`load_npz`."""
    out: dict[str, np.ndarray] = {"layers": np.array([layer.kind for layer in model.layers]),
                                  "input_shape": np.array(model.input_shape)}
    for i, layer in enumerate(model.layers):
        if is_matrix_layer(layer):
            out[f"{i}.W"], out[f"{i}.b"] = layer.W, layer.b
        if isinstance(layer, Conv2d):
            out[f"{i}.stride"], out[f"{i}.padding"] = np.array(layer.stride), np.array(layer.padding)
        if isinstance(layer, _Pool2d):
            out[f"{i}.size"] = np.array(layer.size)
    np.savez(path, **out)


def load_npz(path: str | Path) -> Model:
    """A model from an ``.npz`` file (names in the module docstring); ValueError naming a missing entry."""
    with np.load(path, allow_pickle=False) as f:
        data = {k: f[k] for k in f.files}
    for key in ("layers", "input_shape"):
        if key not in data:
            raise ValueError(f"{path}: no '{key}' entry (expected: layers, input_shape, and <i>.W, <i>.b per layer)")
    layers = []
    for i, kind in enumerate(str(k) for k in data["layers"]):
        if kind not in LAYER_KINDS:
            raise ValueError(f"{path}: layer {i} has unknown kind {kind!r}; known: {', '.join(LAYER_KINDS)}")

        def get(name: str, i=i, kind=kind):
            if f"{i}.{name}" not in data:
                raise ValueError(f"{path}: layer {i} ({kind}) needs an entry '{i}.{name}'")
            return data[f"{i}.{name}"]

        if kind == "dense":
            layers.append(Dense(get("W"), get("b")))
        elif kind == "conv2d":
            layers.append(Conv2d(get("W"), get("b"), int(get("stride")), int(get("padding"))))
        elif kind in ("maxpool2d", "avgpool2d"):
            layers.append(LAYER_KINDS[kind](int(get("size"))))
        else:
            layers.append(LAYER_KINDS[kind]())
    return Model(layers, tuple(int(s) for s in data["input_shape"]))
