"""A small numpy trainer for MLPs and a small CNN, with optional noise injection, cached on disk by hash.

Training: softmax cross-entropy, Adam, mini-batches, everything seeded. Noise injection
(hardware-aware training): in every forward pass of training, each weight gets an independent
Gaussian perturbation of ``noise_rel × max|W|`` of its layer (the programming error expressed as a
fraction of the largest weight; e.g. a σ of 1.8 % of the conductance range is ``noise_rel = 0.018``
with the largest weight at the top of the range). Gradients are taken at the perturbed weights.

The cache: a trained model is saved as ``.npz`` under ``$MEMTWIN_CACHE_DIR`` (default
``~/.cache/memtwin/nn``) with a name that is the SHA-256 of the architecture, the hyper-parameters,
the seed and the training data; a second call with the same arguments loads it.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import numpy as np
import structlog

from firmware.nn.datasets import Dataset, load
from firmware.nn.layers import AvgPool2d, Conv2d, Dense, Flatten, Model, ReLU, im2col, load_npz, save_npz

log = structlog.get_logger(__name__)
TRAINER_VERSION = 1
"""Part of the cache key: bump when training changes."""


def cache_dir() -> Path:
    return Path(os.environ.get("MEMTWIN_CACHE_DIR", Path.home() / ".cache" / "memtwin" / "nn"))


def mlp(n_in: int, hidden: tuple[int, ...], n_out: int, rng: np.random.Generator) -> Model:
    """An MLP with He-initialised weights: Dense–ReLU–…–Dense."""
    layers, sizes = [], (n_in, *hidden, n_out)
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(Dense(rng.normal(0, np.sqrt(2 / a), (a, b)), np.zeros(b)))
        if i < len(sizes) - 2:
            layers.append(ReLU())
    return Model(layers, (n_in,))


def cnn(image_shape: tuple[int, int, int], channels: int, n_out: int, rng: np.random.Generator) -> Model:
    """Conv 3×3 (padding 1) – ReLU – 2×2 average pooling – flatten – Dense."""
    c, h, w = image_shape
    conv = Conv2d(rng.normal(0, np.sqrt(2 / (9 * c)), (channels, c, 3, 3)), np.zeros(channels), 1, 1)
    n_flat = channels * (h // 2) * (w // 2)
    return Model([conv, ReLU(), AvgPool2d(2), Flatten(),
                  Dense(rng.normal(0, np.sqrt(1 / n_flat), (n_flat, n_out)), np.zeros(n_out))], image_shape)


def _forward(model: Model, x: np.ndarray, weights: list[np.ndarray]) -> tuple[np.ndarray, list]:
    """Forward pass keeping what the backward pass needs; *weights* per matrix layer (possibly noisy)."""
    tape, h, k = [], x, 0
    for layer in model.layers:
        if isinstance(layer, (Dense, Conv2d)):
            rows, ctx = layer.rows_of(h)
            W = weights[k]
            tape.append((layer, rows, ctx, h.shape, W))
            h = layer.assemble(rows @ W + layer.b, h.shape[0], ctx)
            k += 1
        else:
            tape.append((layer, h))
            h = layer.forward(h)
    return h, tape


def _backward(tape: list, grad: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    """Gradients (dW as the (inputs, outputs) matrix, db) per matrix layer, in layer order."""
    grads = []
    for entry in reversed(tape):
        layer = entry[0]
        if isinstance(layer, (Dense, Conv2d)):
            _, rows, ctx, in_shape, W = entry
            g = grad if isinstance(layer, Dense) else grad.transpose(0, 2, 3, 1).reshape(-1, W.shape[1])
            grads.append((rows.T @ g, g.sum(axis=0)))
            d_rows = g @ W.T
            if isinstance(layer, Dense):
                grad = d_rows
            else:
                grad = _col2im(d_rows, in_shape, layer)
        elif isinstance(layer, ReLU):
            grad = grad * (entry[1] > 0)
        elif isinstance(layer, AvgPool2d):
            h = entry[1]
            k = layer.size
            up = np.repeat(np.repeat(grad, k, axis=2), k, axis=3) / (k * k)
            full = np.zeros_like(h)
            full[:, :, :up.shape[2], :up.shape[3]] = up
            grad = full
        elif isinstance(layer, Flatten):
            grad = grad.reshape(entry[1].shape)
        else:
            raise ValueError(f"train: no backward pass for {layer.kind} layers")
    return grads[::-1]


def _col2im(d_rows: np.ndarray, in_shape: tuple, layer: Conv2d) -> np.ndarray:
    n, c, h, w = in_shape
    _, _, kh, kw = layer.W.shape
    p, s = layer.padding, layer.stride
    oh, ow = (h + 2 * p - kh) // s + 1, (w + 2 * p - kw) // s + 1
    d = d_rows.reshape(n, oh, ow, c, kh, kw)
    out = np.zeros((n, c, h + 2 * p, w + 2 * p))
    for i in range(kh):
        for j in range(kw):
            out[:, :, i:i + s * oh:s, j:j + s * ow:s] += d[:, :, :, :, i, j].transpose(0, 3, 1, 2)
    return out[:, :, p:p + h, p:p + w]


def train(model: Model, x: np.ndarray, y: np.ndarray, *, epochs: int = 30, batch: int = 64, lr: float = 3e-3,
          noise_rel: float = 0.0, weight_decay: float = 1e-4, seed: int = 0) -> Model:
    """Train *model* in place (softmax cross-entropy, Adam); returns it."""
    rng = np.random.default_rng(seed)
    mats = model.matrix_layers
    params = [[layer.matrix.copy(), layer.b] for layer in mats]
    m = [[np.zeros_like(p) for p in pair] for pair in params]
    v = [[np.zeros_like(p) for p in pair] for pair in params]
    step = 0
    x = model.check_inputs(x)
    for _ in range(epochs):
        order = rng.permutation(len(x))
        for s in range(0, len(x), batch):
            idx = order[s:s + batch]
            Ws = [p[0] + (noise_rel * np.abs(p[0]).max() * rng.standard_normal(p[0].shape) if noise_rel else 0.0)
                  for p in params]
            out, tape = _forward(model, x[idx], Ws)
            z = out - out.max(axis=1, keepdims=True)
            prob = np.exp(z)
            prob /= prob.sum(axis=1, keepdims=True)
            prob[np.arange(len(idx)), y[idx]] -= 1.0
            grads = _backward(tape, prob / len(idx))
            step += 1
            for k, (gw, gb) in enumerate(grads):
                for j, g in enumerate((gw + weight_decay * params[k][0], gb)):
                    m[k][j] = 0.9 * m[k][j] + 0.1 * g
                    v[k][j] = 0.999 * v[k][j] + 0.001 * g * g
                    mh, vh = m[k][j] / (1 - 0.9 ** step), v[k][j] / (1 - 0.999 ** step)
                    params[k][j] = params[k][j] - lr * mh / (np.sqrt(vh) + 1e-8)
            for layer, (W, b) in zip(mats, params):
                layer.b = b
                if isinstance(layer, Dense):
                    layer.W = W
                else:
                    layer.W = W.T.reshape(layer.W.shape)
    return model


def accuracy(outputs: np.ndarray, labels: np.ndarray) -> float:
    return float(np.mean(np.argmax(outputs, axis=1) == labels))


def trained(arch: str, data: Dataset | str = "digits", *, hidden: tuple[int, ...] = (32,), channels: int = 8,
            epochs: int = 40, noise_rel: float = 0.0, seed: int = 0, cache: bool = True) -> Model:
    """A model trained on *data* (``mlp`` or ``cnn``), loaded from the cache when it was trained before."""
    ds = load(data, seed) if isinstance(data, str) else data
    x_train = ds.x_train
    h = hashlib.sha256()
    h.update(json.dumps({"arch": arch, "hidden": list(hidden), "channels": channels, "epochs": epochs,
                         "noise_rel": noise_rel, "seed": seed, "version": TRAINER_VERSION}).encode())
    h.update(np.ascontiguousarray(x_train).tobytes())
    h.update(np.ascontiguousarray(ds.y_train).tobytes())
    path = cache_dir() / f"{ds.name}-{arch}-{h.hexdigest()[:20]}.npz"
    if cache and path.exists():
        return load_npz(path)
    rng = np.random.default_rng(seed)
    if arch == "mlp":
        model = mlp(int(np.prod(ds.image_shape)), tuple(hidden), ds.n_classes, rng)
        x = x_train.reshape(len(x_train), -1)
    elif arch == "cnn":
        model = cnn(ds.image_shape, channels, ds.n_classes, rng)
        x = x_train
    else:
        raise ValueError(f"unknown architecture {arch!r}; use 'mlp' or 'cnn'")
    train(model, x, ds.y_train, epochs=epochs, noise_rel=noise_rel, seed=seed)
    if cache:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp.npz")
        save_npz(model, tmp)
        tmp.replace(path)
        log.info("nn.trained", arch=arch, path=str(path))
    return model
