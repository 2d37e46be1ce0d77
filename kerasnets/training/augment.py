"""Training-time image augmentation from the papers, as backend-agnostic Keras layers.

* [`PCALighting`][kerasnets.training.PCALighting] -- AlexNet's colour ("lighting") augmentation
  (Krizhevsky, Sutskever & Hinton 2012, section 4.1), with `rgb_pca` to
  compute the eigenvectors/eigenvalues of the RGB covariance of a training set.
* `ScaleJitter` -- VGG's single-scale (S fixed) and multi-scale
  (S random in [S_min, S_max]) training crops (Simonyan & Zisserman 2015, sec. 3.1).
* `RandomResizedCrop` -- GoogLeNet's crops of 8%..100% of the image area
  with aspect ratio in [3/4, 4/3] (Szegedy et al. 2014, section 6).
* `alexnet_augmentation`, `vgg_augmentation`,
  `inception_augmentation`, `cifar_augmentation`,
  `mnist_augmentation` -- the papers' pipelines as ``keras.Sequential``
  stacks of preprocessing layers.

The layers subclass Keras's data-layer base, so they run in a model, on a
batch of arrays, and inside a ``tf.data`` pipeline under every backend (in a
``tf.data`` graph they switch to TensorFlow ops, as Keras's own
``RandomCrop``/``RandomFlip`` do). Random draws use a seeded
``keras.random.SeedGenerator``; with ``training=False`` the random layers are
deterministic (identity for the colour shift, a centre crop for the crops).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any

import keras
import numpy as np

from kerasnets.checks import (
    check_choice,
    check_positive_int,
    check_positive_number,
)

from kerasnets._compat import DataLayer as _DataLayer

__all__ = [
    "IMAGENET_PCA_EIGENVALUES",
    "IMAGENET_PCA_EIGENVECTORS",
    "rgb_pca",
    "pca_lighting",
    "PCALighting",
    "RandomPadCrop",
    "ScaleJitter",
    "RandomResizedCrop",
    "alexnet_augmentation",
    "vgg_augmentation",
    "inception_augmentation",
    "cifar_augmentation",
    "mnist_augmentation",
]

# Eigen-decomposition of the RGB covariance of ImageNet training pixels scaled to
# [0, 1], as published with fb.resnet.torch (datasets/imagenet.lua) and used by
# most AlexNet/ResNet re-implementations. Columns of the matrix are eigenvectors
# (R, G, B components), ordered by decreasing eigenvalue.
IMAGENET_PCA_EIGENVALUES = (0.2175, 0.0188, 0.0045)
IMAGENET_PCA_EIGENVECTORS = (
    (-0.5675, 0.7192, 0.4009),
    (-0.5808, -0.0045, -0.8140),
    (-0.5836, -0.6948, 0.4203),
)


def _check_value_range(value_range: Any) -> tuple[float, float]:
    if (
        not isinstance(value_range, (tuple, list))
        or len(value_range) != 2
        or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value_range)
        or not value_range[1] > value_range[0]
    ):
        raise ValueError(
            "`value_range` must be a pair (low, high) of numbers with low < high, e.g. (0, 255) "
            f"or (0, 1). Received: value_range={value_range!r}"
        )
    return float(value_range[0]), float(value_range[1])


def _check_eigen(eigenvalues: Any, eigenvectors: Any) -> tuple[np.ndarray, np.ndarray]:
    values = np.asarray(eigenvalues, dtype="float64")
    vectors = np.asarray(eigenvectors, dtype="float64")
    if values.shape != (3,) or not np.all(np.isfinite(values)) or np.any(values < 0):
        raise ValueError(
            "`eigenvalues` must be 3 finite numbers >= 0 (one per RGB principal component). "
            f"Received: eigenvalues={eigenvalues!r}"
        )
    if vectors.shape != (3, 3) or not np.all(np.isfinite(vectors)):
        raise ValueError(
            "`eigenvectors` must be a 3x3 matrix whose columns are the RGB eigenvectors. "
            f"Received: eigenvectors={eigenvectors!r}"
        )
    return values, vectors


# ---------------------------------------------------------------------------
# PCA lighting (AlexNet)
# ---------------------------------------------------------------------------


def rgb_pca(
    data: Any,
    *,
    value_range: Sequence[float] = (0, 255),
    max_batches: int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Eigenvalues and eigenvectors of the RGB pixel covariance of a data set.

    Krizhevsky et al. 2012 ("ImageNet Classification with Deep Convolutional
    Neural Networks", section 4.1) "perform PCA on the set of RGB pixel values
    throughout the ImageNet training set"; [`PCALighting`][kerasnets.training.PCALighting] then shifts
    every pixel along those principal components. The covariance is
    accumulated exactly (float64 sums of x and x x^T) over all pixels, so any
    number of batches can be streamed through.

    Pixels are first mapped from ``value_range`` to [0, 1], so the eigenvalues
    are on the scale of the published ImageNet values
    ([`IMAGENET_PCA_EIGENVALUES`][kerasnets.training.IMAGENET_PCA_EIGENVALUES]) whatever the storage scale.

    Args:
        data: a NumPy array ``(N, H, W, 3)`` (or ``(H, W, 3)``, or ``(P, 3)``
            pixels), or an iterable of such batches -- e.g. a ``tf.data``
            dataset yielding images or ``(images, labels)`` pairs.
        value_range: ``(low, high)`` range of the pixel values in ``data``.
        max_batches: stop after this many batches of an iterable (None: all).

    Returns:
        ``(eigenvalues, eigenvectors)``: float64 arrays of shape ``(3,)``,
        sorted in decreasing order, and ``(3, 3)`` whose *columns* are the
        unit eigenvectors; each column's largest-magnitude component is made
        positive so the result is deterministic.

    Raises:
        ValueError: if the last axis is not 3 (RGB), or fewer than 2 pixels.

    Examples:
        >>> import numpy as np
        >>> images = np.random.default_rng(0).uniform(0, 255, (8, 16, 16, 3))
        >>> values, vectors = rgb_pca(images, value_range=(0, 255))
        >>> values.shape, vectors.shape
        ((3,), (3, 3))
    """
    low, high = _check_value_range(value_range)
    if max_batches is not None:
        max_batches = check_positive_int("max_batches", max_batches)
    if isinstance(data, np.ndarray) or hasattr(data, "shape") and hasattr(data, "dtype"):
        batches: Iterable[Any] = [data]
    else:
        batches = data
    count = 0
    total = np.zeros(3)
    outer = np.zeros((3, 3))
    for index, batch in enumerate(batches):
        if max_batches is not None and index >= max_batches:
            break
        if isinstance(batch, (tuple, list)):
            batch = batch[0]
        pixels = np.asarray(batch, dtype="float64")
        if pixels.ndim < 2 or pixels.shape[-1] != 3:
            raise ValueError(
                "`data` must hold RGB images with 3 channels last, e.g. shape (N, H, W, 3). "
                f"Received: data with shape {pixels.shape}"
            )
        pixels = (pixels.reshape(-1, 3) - low) / (high - low)
        count += pixels.shape[0]
        total += pixels.sum(axis=0)
        outer += pixels.T @ pixels
    if count < 2:
        raise ValueError(f"`data` must contain at least 2 pixels. Received: data with {count} pixels")
    mean = total / count
    covariance = (outer - count * np.outer(mean, mean)) / (count - 1)
    values, vectors = np.linalg.eigh(covariance)
    order = np.argsort(values)[::-1]
    values = np.clip(values[order], 0.0, None)
    vectors = vectors[:, order]
    signs = np.sign(vectors[np.argmax(np.abs(vectors), axis=0), np.arange(3)])
    return values, vectors * signs


def pca_lighting(
    images: Any,
    alpha: Any,
    *,
    eigenvalues: Sequence[float] = IMAGENET_PCA_EIGENVALUES,
    eigenvectors: Sequence[Sequence[float]] = IMAGENET_PCA_EIGENVECTORS,
    value_range: Sequence[float] = (0, 255),
) -> Any:
    """Add AlexNet's PCA colour shift for given coefficients ``alpha``.

    Krizhevsky et al. 2012, section 4.1: to each RGB pixel
    ``I_xy = [I^R, I^G, I^B]^T`` add ``[p1, p2, p3] [a1 l1, a2 l2, a3 l3]^T``,
    where ``p_i, l_i`` are the i-th eigenvector and eigenvalue of the RGB
    covariance and ``a_i`` is drawn once per image. The shift is computed in
    [0, 1] pixel units (the scale of the eigenvalues, see `rgb_pca`) and
    multiplied by ``high - low`` of ``value_range``.

    Args:
        images: ``(batch, H, W, 3)`` or ``(H, W, 3)`` float tensor.
        alpha: coefficients, shape ``(batch, 3)`` (or ``(3,)`` for one image).
        eigenvalues: the three eigenvalues ``l``.
        eigenvectors: 3x3 matrix whose columns are ``p1, p2, p3``.
        value_range: ``(low, high)`` pixel range of ``images``.

    Returns:
        ``images`` plus the per-image colour shift (same shape).

    Examples:
        >>> import numpy as np
        >>> out = pca_lighting(np.zeros((1, 2, 2, 3), "float32"), np.array([[1.0, 0, 0]]),
        ...                    eigenvalues=(0.5, 0, 0), eigenvectors=np.eye(3), value_range=(0, 1))
        >>> out[0, 0, 0].tolist()
        [0.5, 0.0, 0.0]
    """
    low, high = _check_value_range(value_range)
    values, vectors = _check_eigen(eigenvalues, eigenvectors)
    return _lighting(keras.ops, images, alpha, values, vectors, high - low)


def _lighting(np_ops: Any, images: Any, alpha: Any, values: np.ndarray, vectors: np.ndarray, span: float) -> Any:
    """``images + alpha @ (P diag(l))^T * span`` with the NumPy-like ops module ``np_ops``."""
    images = np_ops.array(images) if not hasattr(images, "dtype") else images
    dtype = images.dtype
    scaled = np_ops.array((vectors * values[None, :] * span).T, dtype=dtype)
    shift = np_ops.matmul(np_ops.array(alpha, dtype=dtype), scaled)  # (..., 3): sum_i a_i l_i p_i
    if len(images.shape) == 4:
        shift = np_ops.reshape(shift, (-1, 1, 1, 3))
    return np_ops.add(images, shift)


@keras.saving.register_keras_serializable(package="kerasnets")
class PCALighting(_DataLayer):
    """AlexNet's PCA colour ("lighting") augmentation as a preprocessing layer.

    Krizhevsky et al. 2012, section 4.1: for each training image draw
    ``a ~ N(0, stddev)`` (three values, ``stddev = 0.1`` in the paper) and add
    ``[p1, p2, p3] [a1 l1, a2 l2, a3 l3]^T`` to every pixel, ``p_i``/``l_i``
    being the eigenvectors/eigenvalues of the RGB covariance of the training
    set (compute them with `rgb_pca`; the default is the ImageNet
    decomposition). "This scheme approximately captures ... that object
    identity is invariant to changes in the intensity and color of the
    illumination" and reduced AlexNet's top-1 error by over 1%.

    Only active with ``training=True`` (the default of a direct call, as for
    Keras's random preprocessing layers; ``model.fit`` passes it, ``predict``
    does not). Backend-agnostic and usable inside ``tf.data``.

    Args:
        eigenvalues: the three eigenvalues (on the [0, 1] pixel scale).
        eigenvectors: 3x3 matrix whose columns are the eigenvectors.
        stddev: standard deviation of the Gaussian coefficients ``a``.
        value_range: ``(low, high)`` pixel range of the inputs; the shift is
            scaled by ``high - low``.
        seed: integer seed for reproducible draws.
        **kwargs: base layer arguments (``name``, ``dtype``).

    Raises:
        ValueError: malformed eigen-decomposition, ``stddev < 0`` or a bad
            ``value_range``.

    Examples:
        >>> import numpy as np
        >>> layer = PCALighting(value_range=(0, 255), seed=0)
        >>> layer(np.full((2, 4, 4, 3), 128.0, "float32")).shape
        (2, 4, 4, 3)
    """

    def __init__(
        self,
        eigenvalues: Sequence[float] = IMAGENET_PCA_EIGENVALUES,
        eigenvectors: Sequence[Sequence[float]] = IMAGENET_PCA_EIGENVECTORS,
        stddev: float = 0.1,
        value_range: Sequence[float] = (0, 255),
        seed: int | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self._values, self._vectors = _check_eigen(eigenvalues, eigenvectors)
        self.stddev = check_positive_number("stddev", stddev, allow_zero=True)
        self.value_range = _check_value_range(value_range)
        self.seed = seed
        self.generator = keras.random.SeedGenerator(seed)

    def call(self, inputs: Any, training: bool = True) -> Any:
        if not training or self.stddev == 0:
            return inputs
        shape = self.backend.shape(inputs)
        alpha_shape = (shape[0], 3) if len(inputs.shape) == 4 else (3,)
        alpha = self.backend.random.normal(
            alpha_shape, mean=0.0, stddev=self.stddev, dtype=self.compute_dtype,
            seed=self._get_seed_generator(self.backend._backend),
        )
        low, high = self.value_range
        return _lighting(self.backend.numpy, inputs, alpha, self._values, self._vectors, high - low)

    def compute_output_shape(self, input_shape: Any) -> Any:
        return input_shape

    def get_config(self) -> dict:
        config = super().get_config()
        config.update(
            {
                "eigenvalues": self._values.tolist(),
                "eigenvectors": self._vectors.tolist(),
                "stddev": self.stddev,
                "value_range": list(self.value_range),
                "seed": self.seed,
            }
        )
        return config


# ---------------------------------------------------------------------------
# Crops: scale jittering (VGG) and random-resized crops (GoogLeNet)
# ---------------------------------------------------------------------------


def _crop_resize(backend: Any, images: Any, box: tuple, size: tuple[int, int], interpolation: str) -> Any:
    """Crop the box ``(y0, x0, h, w)`` (per-image float tensors, input pixels) and resize it to ``size``.

    One projective-transform call for the whole batch, with the half-pixel
    convention of ``keras.ops.image.resize``: output pixel ``(i, j)`` samples
    input ``(y0 + (i + 0.5) h / H - 0.5, x0 + (j + 0.5) w / W - 0.5)``; edge
    pixels are replicated where the sampling point falls just outside.
    """
    out_h, out_w = size
    y0, x0, h, w = box
    sy = h / out_h
    sx = w / out_w
    zeros = backend.numpy.zeros_like(sx)
    transform = backend.numpy.stack(
        [sx, zeros, x0 + 0.5 * sx - 0.5, zeros, sy, y0 + 0.5 * sy - 0.5, zeros, zeros], axis=-1
    )
    height, width = images.shape[1], images.shape[2]
    if height is None or width is None or height < out_h or width < out_w:
        dyn = backend.shape(images)
        pad_h = backend.numpy.maximum(out_h - dyn[1], 0)
        pad_w = backend.numpy.maximum(out_w - dyn[2], 0)
        if height is not None and width is not None:
            pad_h, pad_w = max(out_h - height, 0), max(out_w - width, 0)
        images = backend.numpy.pad(images, [[0, 0], [0, pad_h], [0, pad_w], [0, 0]], mode="constant")
    out = backend.image.affine_transform(
        images, backend.cast(transform, "float32"), interpolation=interpolation, fill_mode="nearest"
    )
    return out[:, :out_h, :out_w, :]


class _RandomCropLayer(_DataLayer):
    """Shared batching/unbatching and flipping-free plumbing of the crop layers."""

    def __init__(self, size: Any, interpolation: str, seed: int | None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if isinstance(size, int) and not isinstance(size, bool):
            size = (size, size)
        if not isinstance(size, (tuple, list)) or len(size) != 2:
            raise ValueError(f"`crop_size` must be an int or a (height, width) pair. Received: crop_size={size!r}")
        self.crop_size = tuple(check_positive_int("crop_size", s) for s in size)
        self.interpolation = check_choice("interpolation", interpolation, ("bilinear", "nearest"))
        self.seed = seed
        self.generator = keras.random.SeedGenerator(seed)

    def call(self, inputs: Any, training: bool = True) -> Any:
        unbatched = len(inputs.shape) == 3
        images = self.backend.numpy.expand_dims(inputs, 0) if unbatched else inputs
        dyn = self.backend.shape(images)
        batch = dyn[0]
        height = self.backend.cast(dyn[1], "float32")
        width = self.backend.cast(dyn[2], "float32")
        box = self._box(batch, height, width, training)
        out = _crop_resize(self.backend, images, box, self.crop_size, self.interpolation)
        return out[0] if unbatched else out

    def _uniform(self, batch: Any, low: Any = 0.0, high: Any = 1.0) -> Any:
        return self.backend.random.uniform(
            (batch,), minval=0.0, maxval=1.0, dtype="float32",
            seed=self._get_seed_generator(self.backend._backend),
        ) * (high - low) + low

    def compute_output_shape(self, input_shape: Any) -> Any:
        return (*input_shape[:-3], *self.crop_size, input_shape[-1])

    def get_config(self) -> dict:
        config = super().get_config()
        config.update({"crop_size": list(self.crop_size), "interpolation": self.interpolation, "seed": self.seed})
        return config


@keras.saving.register_keras_serializable(package="kerasnets")
class RandomPadCrop(_DataLayer):
    """Zero-pad each side by ``padding``, then crop a random ``crop_size`` window, per image.

    ResNet's CIFAR augmentation (He et al. 2015, section 4.2): "4 pixels are padded on each side,
    and a 32x32 crop is randomly sampled from the padded image". Each image of a batch gets its own
    integer offset. At inference (``training=False``) the centre window is taken, which is the
    image itself when ``crop_size`` is the input size, so the layer can sit in front of a model
    used for ``fit`` (Keras's ``RandomCrop`` returns the padded image unchanged at inference,
    which then no longer fits the model). Backend-agnostic and usable inside ``tf.data``.

    Args:
        padding: zero padding per side (pixels).
        crop_size: ``(height, width)`` or an int; ``None`` crops the input's own size.
        seed: integer seed.

    Examples:
        >>> import numpy as np
        >>> RandomPadCrop(4, seed=0)(np.ones((2, 32, 32, 3)), training=True).shape
        (2, 32, 32, 3)
    """

    def __init__(self, padding: int = 4, crop_size: Any = None, seed: int | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.padding = check_positive_int("padding", padding, minimum=0)
        if isinstance(crop_size, int) and not isinstance(crop_size, bool):
            crop_size = (crop_size, crop_size)
        if crop_size is not None and (not isinstance(crop_size, (tuple, list)) or len(crop_size) != 2):
            raise ValueError(f"`crop_size` must be None, an int or a (height, width) pair. Received: crop_size={crop_size!r}")
        self.crop_size = None if crop_size is None else tuple(check_positive_int("crop_size", c) for c in crop_size)
        self.seed = seed
        self.generator = keras.random.SeedGenerator(seed)

    def call(self, inputs: Any, training: bool = True) -> Any:
        b = self.backend
        unbatched = len(inputs.shape) == 3
        images = b.numpy.expand_dims(inputs, 0) if unbatched else inputs
        p = self.padding
        height, width = (images.shape[1], images.shape[2]) if self.crop_size is None else self.crop_size
        if height is None or width is None:
            dyn = b.shape(images)
            height, width = dyn[1], dyn[2]
        static = (images.shape[1], images.shape[2])
        if None not in static and self.crop_size is not None and (
            static[0] + 2 * p < height or static[1] + 2 * p < width
        ):
            raise ValueError(
                f"`crop_size` must fit in the padded image ({static[0] + 2 * p}x{static[1] + 2 * p}: "
                f"{static[0]}x{static[1]} plus padding={p} per side). Received: crop_size={list(self.crop_size)}"
            )
        padded = b.numpy.pad(images, [[0, 0], [p, p], [p, p], [0, 0]], mode="constant") if p else images
        dyn = b.shape(padded)
        room_h = b.cast(dyn[1] - height, "float32")
        room_w = b.cast(dyn[2] - width, "float32")
        if training:
            seed = self._get_seed_generator(b._backend)
            u = b.random.uniform((dyn[0], 2), minval=0.0, maxval=1.0, dtype="float32", seed=seed)
            # floor(u * (room + 1)) is uniform over 0..room; the minimum guards u == 1.
            top = b.numpy.minimum(b.numpy.floor(u[:, 0] * (room_h + 1.0)), room_h)
            left = b.numpy.minimum(b.numpy.floor(u[:, 1] * (room_w + 1.0)), room_w)
        else:
            top = b.numpy.zeros((dyn[0],), "float32") + b.numpy.floor(room_h / 2.0)
            left = b.numpy.zeros((dyn[0],), "float32") + b.numpy.floor(room_w / 2.0)
        rows = b.cast(top, "int32")[:, None] + b.numpy.arange(height, dtype="int32")[None, :]
        cols = b.cast(left, "int32")[:, None] + b.numpy.arange(width, dtype="int32")[None, :]
        out = b.numpy.take_along_axis(padded, rows[:, :, None, None], axis=1)
        out = b.numpy.take_along_axis(out, cols[:, None, :, None], axis=2)
        return out[0] if unbatched else out

    def compute_output_shape(self, input_shape: Any) -> Any:
        if self.crop_size is None:
            return tuple(input_shape)
        return (*input_shape[:-3], *self.crop_size, input_shape[-1])

    def get_config(self) -> dict:
        config = super().get_config()
        config.update({"padding": self.padding, "crop_size": None if self.crop_size is None else list(self.crop_size),
                       "seed": self.seed})
        return config


@keras.saving.register_keras_serializable(package="kerasnets")
class ScaleJitter(_RandomCropLayer):
    """VGG's training-scale augmentation: isotropic rescale to S, then a random crop.

    Simonyan & Zisserman 2015 ("Very Deep Convolutional Networks for
    Large-Scale Image Recognition", section 3.1): the training image is
    isotropically rescaled so that its smallest side is S, and a fixed-size
    224x224 crop is taken at random. *Single-scale* training fixes S (256 or
    384: ``min_scale == max_scale``); *multi-scale* training ("scale
    jittering") samples S per image uniformly from [S_min, S_max] = [256, 512].
    ResNet (He et al. 2015) uses the same augmentation with S in [256, 480].

    Rescale and crop are done in one bilinear resampling per batch (only the
    crop is computed), equal to ``ops.image.resize`` followed by slicing.
    With ``training=False`` the crop is the centre crop at
    ``S = Q = (S_min + S_max) / 2`` (VGG's test scale for jittered models).

    Args:
        min_scale: S_min, smallest rescaled shorter side.
        max_scale: S_max (equal to ``min_scale`` for single-scale training).
        crop_size: output crop size, int or ``(height, width)``; at most ``min_scale``.
        interpolation: ``"bilinear"`` or ``"nearest"``.
        seed: integer seed.
        **kwargs: base layer arguments.

    Raises:
        ValueError: ``max_scale < min_scale`` or a crop larger than ``min_scale``.

    Examples:
        >>> import numpy as np
        >>> layer = ScaleJitter(min_scale=32, max_scale=64, crop_size=28, seed=1)
        >>> layer(np.zeros((2, 40, 50, 3), "float32")).shape
        (2, 28, 28, 3)
    """

    def __init__(
        self,
        min_scale: int = 256,
        max_scale: int = 512,
        crop_size: Any = 224,
        interpolation: str = "bilinear",
        seed: int | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(crop_size, interpolation, seed, **kwargs)
        self.min_scale = check_positive_int("min_scale", min_scale)
        self.max_scale = check_positive_int("max_scale", max_scale)
        if self.max_scale < self.min_scale:
            raise ValueError(
                "`max_scale` must be >= `min_scale` (use equal values for single-scale training). "
                f"Received: max_scale={max_scale!r}"
            )
        if max(self.crop_size) > self.min_scale:
            raise ValueError(
                f"`crop_size` must fit in the rescaled image (at most min_scale={self.min_scale}). "
                f"Received: crop_size={crop_size!r}"
            )

    def _box(self, batch: Any, height: Any, width: Any, training: bool) -> tuple:
        ops = self.backend.numpy
        shorter = ops.minimum(height, width)
        if training:
            # S uniform over the integers min_scale..max_scale.
            scale = ops.floor(self._uniform(batch, float(self.min_scale), float(self.max_scale) + 1.0))
            scale = ops.minimum(scale, float(self.max_scale))
        else:
            scale = ops.full((batch,), (self.min_scale + self.max_scale) / 2.0, dtype="float32")
        factor = scale / shorter  # input pixels -> rescaled pixels
        crop_h = self.crop_size[0] / factor
        crop_w = self.crop_size[1] / factor
        if training:
            # Integer offsets in the rescaled image, as a crop of the resized array would have.
            free_h = ops.floor(height * factor + 1e-4) - self.crop_size[0]
            free_w = ops.floor(width * factor + 1e-4) - self.crop_size[1]
            off_y = ops.floor(self._uniform(batch) * (free_h + 1.0))
            off_x = ops.floor(self._uniform(batch) * (free_w + 1.0))
            y0, x0 = off_y / factor, off_x / factor
        else:
            y0, x0 = (height - crop_h) / 2.0, (width - crop_w) / 2.0
        return y0, x0, crop_h, crop_w

    def get_config(self) -> dict:
        config = super().get_config()
        config.update({"min_scale": self.min_scale, "max_scale": self.max_scale})
        return config


@keras.saving.register_keras_serializable(package="kerasnets")
class RandomResizedCrop(_RandomCropLayer):
    """GoogLeNet's random crops of varying area and aspect ratio, resized to a fixed size.

    Szegedy et al. 2014 ("Going Deeper with Convolutions", section 6):
    "sampling of various sized patches of the image whose size is distributed
    evenly between 8% and 100% of the image area with aspect ratio constrained
    to the interval [3/4, 4/3]". The aspect ratio is drawn log-uniformly (as
    in torchvision's ``RandomResizedCrop``); a box larger than the image is
    clipped to it. With ``training=False``: the largest centred square, resized.

    Args:
        crop_size: output size, int or ``(height, width)``.
        area_range: ``(min, max)`` fraction of the image area.
        aspect_ratio_range: ``(min, max)`` width/height ratio.
        interpolation: ``"bilinear"`` or ``"nearest"``.
        seed: integer seed.
        **kwargs: base layer arguments.

    Examples:
        >>> import numpy as np
        >>> RandomResizedCrop(crop_size=24, seed=0)(np.zeros((2, 32, 40, 3), "float32")).shape
        (2, 24, 24, 3)
    """

    def __init__(
        self,
        crop_size: Any = 224,
        area_range: Sequence[float] = (0.08, 1.0),
        aspect_ratio_range: Sequence[float] = (3 / 4, 4 / 3),
        interpolation: str = "bilinear",
        seed: int | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(crop_size, interpolation, seed, **kwargs)
        self.area_range = _check_range("area_range", area_range, high=1.0)
        self.aspect_ratio_range = _check_range("aspect_ratio_range", aspect_ratio_range)

    def _box(self, batch: Any, height: Any, width: Any, training: bool) -> tuple:
        ops = self.backend.numpy
        if not training:
            side = ops.full((batch,), 1.0, dtype="float32") * ops.minimum(height, width)
            return (height - side) / 2.0, (width - side) / 2.0, side, side
        area = self._uniform(batch, *self.area_range) * height * width
        log_ratio = self._uniform(batch, math.log(self.aspect_ratio_range[0]), math.log(self.aspect_ratio_range[1]))
        ratio = ops.exp(log_ratio)
        crop_w = ops.minimum(ops.sqrt(area * ratio), width)
        crop_h = ops.minimum(ops.sqrt(area / ratio), height)
        y0 = self._uniform(batch) * (height - crop_h)
        x0 = self._uniform(batch) * (width - crop_w)
        return y0, x0, crop_h, crop_w

    def get_config(self) -> dict:
        config = super().get_config()
        config.update({"area_range": list(self.area_range), "aspect_ratio_range": list(self.aspect_ratio_range)})
        return config


def _check_range(arg: str, value: Any, high: float | None = None) -> tuple[float, float]:
    ok = (
        isinstance(value, (tuple, list))
        and len(value) == 2
        and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value)
        and 0 < value[0] <= value[1]
        and (high is None or value[1] <= high)
    )
    if not ok:
        bound = f" <= {high}" if high is not None else ""
        raise ValueError(f"`{arg}` must be a pair (low, high) with 0 < low <= high{bound}. Received: {arg}={value!r}")
    return float(value[0]), float(value[1])


# ---------------------------------------------------------------------------
# The papers' pipelines
# ---------------------------------------------------------------------------


def alexnet_augmentation(
    *,
    crop_size: int = 224,
    lighting_stddev: float = 0.1,
    eigenvalues: Sequence[float] = IMAGENET_PCA_EIGENVALUES,
    eigenvectors: Sequence[Sequence[float]] = IMAGENET_PCA_EIGENVECTORS,
    value_range: Sequence[float] = (0, 255),
    seed: int | None = None,
) -> keras.Sequential:
    """AlexNet's training augmentation: random 224 crop of the 256x256 image, flip, PCA lighting.

    Krizhevsky et al. 2012, section 4.1: "extracting random 224x224 patches
    (and their horizontal reflections) from the 256x256 images" (a factor 2048
    more training views), plus [`PCALighting`][kerasnets.training.PCALighting] with ``a ~ N(0, 0.1)``.
    Feed 256x256 images (shorter side rescaled to 256, centre 256 crop: e.g.
    ``keras.layers.Resizing(256, 256, crop_to_aspect_ratio=True)``). Apply it
    to training batches (``aug(x, training=True)``, e.g. in ``tf.data.map``), or
    put it in front of the model for ``fit``: the crop is [`RandomPadCrop`][kerasnets.training.RandomPadCrop] without
    padding (a window per image), and at inference the centre ``crop_size`` crop,
    so the model sees the same size either way (Keras's ``RandomCrop`` passes the
    whole image through at inference, which no longer fits the model).

    Args:
        crop_size: side of the random crop.
        lighting_stddev: standard deviation of the lighting coefficients (0 disables it).
        eigenvalues: RGB eigenvalues for the lighting (default: ImageNet).
        eigenvectors: RGB eigenvectors (columns) for the lighting.
        value_range: pixel range of the images.
        seed: integer seed; each layer gets a derived seed.

    Returns:
        ``keras.Sequential`` named ``alexnet_augmentation``.

    Examples:
        >>> import numpy as np
        >>> aug = alexnet_augmentation(crop_size=24, seed=0)
        >>> aug(np.zeros((2, 32, 32, 3), "float32"), training=True).shape
        (2, 24, 24, 3)
    """
    crop_size = check_positive_int("crop_size", crop_size)
    return keras.Sequential(
        [
            RandomPadCrop(0, crop_size, seed=_derived(seed, 0), name="random_crop"),
            keras.layers.RandomFlip("horizontal", seed=_derived(seed, 1), name="random_flip"),
            PCALighting(
                eigenvalues, eigenvectors, stddev=lighting_stddev, value_range=value_range,
                seed=_derived(seed, 2), name="pca_lighting",
            ),
        ],
        name="alexnet_augmentation",
    )


def vgg_augmentation(
    *,
    scale: int | Sequence[int] = (256, 512),
    crop_size: int = 224,
    lighting_stddev: float = 0.1,
    value_range: Sequence[float] = (0, 255),
    seed: int | None = None,
) -> keras.Sequential:
    """VGG's training augmentation: scale jittering + random 224 crop, flip, RGB colour shift.

    Simonyan & Zisserman 2015, section 3.1: crops "underwent random horizontal
    flipping and random RGB colour shift (Krizhevsky et al., 2012)". ``scale``
    is S: an int for single-scale training (256 or 384 in the paper) or
    ``(S_min, S_max)`` for multi-scale training ([256, 512]).

    Args:
        scale: S or ``(S_min, S_max)``.
        crop_size: side of the crop.
        lighting_stddev: PCA-lighting standard deviation (0 disables it).
        value_range: pixel range of the images.
        seed: integer seed.

    Returns:
        ``keras.Sequential`` named ``vgg_augmentation``.

    Examples:
        >>> import numpy as np
        >>> aug = vgg_augmentation(scale=(32, 48), crop_size=28, seed=0)
        >>> aug(np.zeros((2, 40, 60, 3), "float32"), training=True).shape
        (2, 28, 28, 3)
    """
    low, high = _scale_pair(scale)
    return keras.Sequential(
        [
            ScaleJitter(low, high, crop_size, seed=_derived(seed, 0), name="scale_jitter"),
            keras.layers.RandomFlip("horizontal", seed=_derived(seed, 1), name="random_flip"),
            PCALighting(stddev=lighting_stddev, value_range=value_range, seed=_derived(seed, 2), name="pca_lighting"),
        ],
        name="vgg_augmentation",
    )


def inception_augmentation(*, crop_size: int = 224, seed: int | None = None) -> keras.Sequential:
    """GoogLeNet's training augmentation: random-resized crop (8-100% area, aspect 3/4-4/3) and flip.

    Szegedy et al. 2014, section 6 (Inception-v3 trains at ``crop_size=299``).
    The paper's "photometric distortions" are left to the user: add e.g.
    ``keras.layers.RandomColorJitter`` to the returned stack.

    Args:
        crop_size: output side.
        seed: integer seed.

    Returns:
        ``keras.Sequential`` named ``inception_augmentation``.

    Examples:
        >>> import numpy as np
        >>> inception_augmentation(crop_size=16, seed=0)(np.zeros((1, 20, 20, 3)), training=True).shape
        (1, 16, 16, 3)
    """
    return keras.Sequential(
        [
            RandomResizedCrop(crop_size, seed=_derived(seed, 0), name="random_resized_crop"),
            keras.layers.RandomFlip("horizontal", seed=_derived(seed, 1), name="random_flip"),
        ],
        name="inception_augmentation",
    )


def cifar_augmentation(*, padding: int = 4, crop_size: int = 32, seed: int | None = None) -> keras.Sequential:
    """ResNet's CIFAR-10 augmentation: pad 4 pixels per side, random 32x32 crop, flip.

    He et al. 2015 ("Deep Residual Learning for Image Recognition", section
    4.2): "4 pixels are padded on each side, and a 32x32 crop is randomly
    sampled from the padded image or its horizontal flip".

    Args:
        padding: zero padding per side.
        crop_size: crop side (the image side).
        seed: integer seed.

    Returns:
        ``keras.Sequential`` named ``cifar_augmentation``: [`RandomPadCrop`][kerasnets.training.RandomPadCrop] then a random
        horizontal flip. At inference it is the identity (for ``crop_size`` equal to the image
        side), so it can be put in front of a model for ``fit``.

    Examples:
        >>> import numpy as np
        >>> cifar_augmentation(seed=0)(np.zeros((2, 32, 32, 3)), training=True).shape
        (2, 32, 32, 3)
    """
    padding = check_positive_int("padding", padding, minimum=0)
    crop_size = check_positive_int("crop_size", crop_size)
    return keras.Sequential(
        [
            RandomPadCrop(padding, crop_size, seed=_derived(seed, 0), name="pad_random_crop"),
            keras.layers.RandomFlip("horizontal", seed=_derived(seed, 1), name="random_flip"),
        ],
        name="cifar_augmentation",
    )


def mnist_augmentation(
    *, shift: float = 0.1, rotation_degrees: float = 10.0, zoom: float = 0.1, seed: int | None = None
) -> keras.Sequential:
    """Light augmentation for digits: small shifts, rotations and zooms (no flips).

    Digits are not mirror-symmetric, so only small affine jitter is used
    (as in Simard et al. 2003's distortions, without the elastic part).

    Args:
        shift: maximal translation as a fraction of the side (0 disables).
        rotation_degrees: maximal rotation in degrees (0 disables).
        zoom: maximal zoom fraction (0 disables).
        seed: integer seed.

    Returns:
        ``keras.Sequential`` named ``mnist_augmentation`` (possibly with no layers).

    Examples:
        >>> import numpy as np
        >>> mnist_augmentation(seed=0)(np.zeros((2, 28, 28, 1)), training=True).shape
        (2, 28, 28, 1)
    """
    shift = check_positive_number("shift", shift, allow_zero=True)
    rotation_degrees = check_positive_number("rotation_degrees", rotation_degrees, allow_zero=True)
    zoom = check_positive_number("zoom", zoom, allow_zero=True)
    layers = []
    if shift:
        layers.append(
            keras.layers.RandomTranslation(shift, shift, fill_mode="constant", seed=_derived(seed, 0), name="shift")
        )
    if rotation_degrees:
        layers.append(
            keras.layers.RandomRotation(
                rotation_degrees / 360.0, fill_mode="constant", seed=_derived(seed, 1), name="rotation"
            )
        )
    if zoom:
        layers.append(keras.layers.RandomZoom(zoom, fill_mode="constant", seed=_derived(seed, 2), name="zoom"))
    return keras.Sequential(layers, name="mnist_augmentation")


def _derived(seed: int | None, offset: int) -> int | None:
    return None if seed is None else int(seed) * 7919 + offset


def _scale_pair(scale: Any) -> tuple[int, int]:
    if isinstance(scale, (tuple, list)):
        if len(scale) != 2:
            raise ValueError(
                f"`scale` must be an int S or a pair (S_min, S_max). Received: scale={scale!r}"
            )
        return check_positive_int("scale", scale[0]), check_positive_int("scale", scale[1])
    value = check_positive_int("scale", scale)
    return value, value
