"""Data sets without a deep-learning framework: scikit-learn's 8×8 digits, and MNIST from IDX files.

Pixels are scaled to [0, 1]. Splits are fixed by a seed (a permutation from ``numpy.random.default_rng``).
"""

from __future__ import annotations

import gzip
from dataclasses import dataclass
from pathlib import Path

import numpy as np


@dataclass
class Dataset:
    """Train and test images (n, 1, H, W) in [0, 1] with integer labels."""

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray

    @property
    def image_shape(self) -> tuple[int, ...]:
        return tuple(self.x_train.shape[1:])

    @property
    def n_classes(self) -> int:
        return int(max(self.y_train.max(), self.y_test.max())) + 1

    def flat(self) -> tuple[np.ndarray, np.ndarray]:
        """(x_train, x_test) flattened to (n, pixels)."""
        return self.x_train.reshape(len(self.x_train), -1), self.x_test.reshape(len(self.x_test), -1)


def digits(n_test: int = 360, seed: int = 0) -> Dataset:
    """scikit-learn's bundled 1,797 8×8 digits (needs the ``nn`` extra): *n_test* test images, the rest to train."""
    try:
        from sklearn.datasets import load_digits
    except ImportError as err:  # pragma: no cover - depends on the install
        raise ImportError("the digits data set needs scikit-learn: pip install 'memtwin[nn]'") from err
    d = load_digits()
    x = (d.images / 16.0)[:, None, :, :]
    y = d.target.astype(np.int64)
    order = np.random.default_rng(seed).permutation(len(y))
    test, train = order[:n_test], order[n_test:]
    return Dataset("digits", x[train], y[train], x[test], y[test])


def read_idx(path: str | Path) -> np.ndarray:
    """An IDX file (MNIST's format; ``.gz`` accepted) as a numpy array."""
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as f:
        raw = f.read()
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0:
        raise ValueError(f"{path}: not an IDX file (the magic number must start with two zero bytes)")
    dtypes = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
    if raw[2] not in dtypes:
        raise ValueError(f"{path}: unknown IDX data type 0x{raw[2]:02x}")
    ndim = raw[3]
    dims = [int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
    data = np.frombuffer(raw, dtype=dtypes[raw[2]], offset=4 + 4 * ndim)
    if data.size != int(np.prod(dims)):
        raise ValueError(f"{path}: header says {dims} ({int(np.prod(dims))} values) but the file holds {data.size}")
    return data.reshape(dims).astype(np.dtype(dtypes[raw[2]]).newbyteorder("="))


def write_idx(path: str | Path, array: np.ndarray) -> None:
    """Write *array* (uint8) as an IDX file (used by the tests to make tiny MNIST files)."""
    a = np.asarray(array, dtype=np.uint8)
    header = bytes([0, 0, 0x08, a.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in a.shape)
    Path(path).write_bytes(header + a.tobytes())


def _find(directory: Path, stem: str) -> Path:
    for name in (stem, stem + ".gz", stem.replace("-idx", ".idx"), stem.replace("-idx", ".idx") + ".gz"):
        if (directory / name).exists():
            return directory / name
    raise FileNotFoundError(f"{directory}: no {stem} (or .gz) file; MNIST needs train-images-idx3-ubyte, "
                            "train-labels-idx1-ubyte, t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte")


def mnist(directory: str | Path, n_train: int | None = None, n_test: int | None = None) -> Dataset:
    """MNIST from the four IDX files the user already has in *directory* (28×28, optionally subsampled
    to the first *n_train* / *n_test* images)."""
    d = Path(directory)
    xs, ys = {}, {}
    for part, prefix in (("train", "train"), ("test", "t10k")):
        x = read_idx(_find(d, f"{prefix}-images-idx3-ubyte"))
        y = read_idx(_find(d, f"{prefix}-labels-idx1-ubyte"))
        if x.ndim != 3 or y.ndim != 1 or x.shape[0] != y.shape[0]:
            raise ValueError(f"{d}: {part} images {x.shape} and labels {y.shape} do not match")
        keep = n_train if part == "train" else n_test
        xs[part] = (x[:keep].astype(np.float64) / 255.0)[:, None, :, :]
        ys[part] = y[:keep].astype(np.int64)
    return Dataset("mnist", xs["train"], ys["train"], xs["test"], ys["test"])


def load(name: str, seed: int = 0) -> Dataset:
    """``digits`` or ``mnist:DIR``."""
    if name == "digits":
        return digits(seed=seed)
    if name.startswith("mnist:"):
        return mnist(name.split(":", 1)[1])
    raise ValueError(f"unknown data set {name!r}; use 'digits' or 'mnist:DIR'")
