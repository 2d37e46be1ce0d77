"""tf.data input pipelines for the MNIST app: a resumable, seeded batch stream.

TensorFlow-only (tf.data, tf.raw_ops); the model code stays pure Keras.

The training stream is a pure function of ``(seed, global step)``: epoch ``e``
visits the training set in the order ``numpy.random.default_rng([seed, e])
.permutation(n)`` (``n // batch_size`` full batches, the remainder dropped so
every batch has a static shape), and the augmentation of the batch at global
step ``k`` draws its random numbers from the stateless seed ``(seed, k)``. A run
restarted after an interruption can therefore start the stream exactly at the
step where its checkpoint stopped (:func:`train_stream` ``start_step``), and
the resumed run sees the same batches an uninterrupted run would have seen.
"""

from __future__ import annotations

import math

import numpy as np
import tensorflow as tf

__all__ = ["AugmentConfig", "random_affine", "train_stream", "eval_dataset", "steps_per_epoch"]


class AugmentConfig:
    """Light geometric augmentation: random rotation, scaling and shift per image.

    Args:
        rotation: maximum rotation in degrees (uniform in ``[-rotation, rotation]``).
        scale: maximum relative zoom (uniform in ``[1 - scale, 1 + scale]``).
        shift: maximum translation in pixels along each axis.
        hflip: also flip horizontally with probability 1/2 (right for
            Fashion-MNIST's clothes, wrong for digits).
    """

    def __init__(self, rotation: float = 10.0, scale: float = 0.1, shift: float = 2.0, hflip: bool = False):
        self.rotation = float(rotation)
        self.scale = float(scale)
        self.shift = float(shift)
        self.hflip = bool(hflip)

    @property
    def enabled(self) -> bool:
        return bool(self.rotation or self.scale or self.shift or self.hflip)

    def to_dict(self) -> dict:
        return {"rotation": self.rotation, "scale": self.scale, "shift": self.shift, "hflip": self.hflip}

    def __repr__(self) -> str:  # pragma: no cover - debugging aid
        return f"AugmentConfig({self.to_dict()})"


def random_affine(images, seed, config: AugmentConfig):
    """Apply one random affine transform per image (bilinear, zero fill).

    Args:
        images: float tensor ``(batch, height, width, channels)``.
        seed: stateless seed, int32 tensor of shape ``(2,)``.
        config: the :class:`AugmentConfig`.

    Returns:
        The transformed images, same shape and dtype.
    """
    shape = tf.shape(images)
    batch = shape[0]
    height = tf.cast(shape[1], tf.float32)
    width = tf.cast(shape[2], tf.float32)
    u = tf.random.stateless_uniform((batch, 5), seed=seed, minval=-1.0, maxval=1.0)
    angle = u[:, 0] * (config.rotation * math.pi / 180.0)
    zoom = 1.0 + u[:, 1] * config.scale
    tx, ty = u[:, 2] * config.shift, u[:, 3] * config.shift
    flip = tf.where(u[:, 4] > 0, -1.0, 1.0) if config.hflip else tf.ones_like(zoom)
    # The transform maps output coordinates (x, y) to input coordinates:
    # in = A @ (out - c) + c - t, with A = R(angle) / zoom (and a mirrored x for flips).
    cos, sin = tf.cos(angle) / zoom, tf.sin(angle) / zoom
    cx, cy = (width - 1.0) / 2.0, (height - 1.0) / 2.0
    a0, a1 = cos * flip, -sin
    b0, b1 = sin * flip, cos
    a2 = cx - a0 * cx - a1 * cy - tx
    b2 = cy - b0 * cx - b1 * cy - ty
    zeros = tf.zeros_like(a0)
    transforms = tf.stack([a0, a1, a2, b0, b1, b2, zeros, zeros], axis=1)
    return tf.raw_ops.ImageProjectiveTransformV3(
        images=images,
        transforms=transforms,
        output_shape=shape[1:3],
        fill_value=0.0,
        interpolation="BILINEAR",
        fill_mode="CONSTANT",
    )


def steps_per_epoch(num_examples: int, batch_size: int) -> int:
    """Full batches per epoch (the remainder is dropped, a different one each epoch)."""
    steps = num_examples // batch_size
    if steps < 1:
        raise ValueError(
            f"`batch_size` must not exceed the number of training examples ({num_examples}). "
            f"Received: batch_size={batch_size}"
        )
    return steps


def _batch_indices(num_examples: int, batch_size: int, epochs: int, seed: int) -> np.ndarray:
    spe = steps_per_epoch(num_examples, batch_size)
    rows = []
    for epoch in range(epochs):
        order = np.random.default_rng([seed, epoch]).permutation(num_examples)
        rows.append(order[: spe * batch_size].reshape(spe, batch_size))
    return np.concatenate(rows).astype(np.int32)


def train_stream(
    x,
    y,
    *,
    batch_size: int,
    epochs: int,
    seed: int,
    augment: AugmentConfig | None = None,
    start_step: int = 0,
    num_classes: int = 10,
):
    """The training batches from global step ``start_step`` to the end of ``epochs``.

    Args:
        x: uint8 images ``(N, H, W)`` or ``(N, H, W, 1)``.
        y: integer labels ``(N,)``.
        batch_size: global batch size.
        epochs: total epochs of the run (the stream has ``epochs * N // batch_size`` batches).
        seed: the run's seed.
        augment: optional :class:`AugmentConfig`.
        start_step: first global step to produce (for resuming).
        num_classes: classes of the one-hot targets.

    Returns:
        A ``tf.data.Dataset`` of ``(float32 images in [0, 255] of shape (B, H, W, 1),
        float32 one-hot targets (B, num_classes))``; label smoothing is the loss's job.
    """
    x = np.asarray(x)
    if x.ndim == 3:
        x = x[..., None]
    indices = _batch_indices(len(x), batch_size, epochs, seed)[start_step:]
    images = tf.constant(x)
    labels = tf.constant(np.asarray(y).astype(np.int32))

    def load(step, idx):
        batch = tf.cast(tf.gather(images, idx), tf.float32)
        if augment is not None and augment.enabled:
            batch = random_affine(batch, tf.stack([tf.constant(seed, tf.int64), step]), augment)
        return batch, tf.one_hot(tf.gather(labels, idx), num_classes)

    options = tf.data.Options()
    options.deterministic = True
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    ds = tf.data.Dataset.zip(
        tf.data.Dataset.range(start_step, start_step + len(indices)),
        tf.data.Dataset.from_tensor_slices(indices),
    )
    return ds.map(load, num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE).with_options(options)


def eval_dataset(x, y=None, *, batch_size: int = 500, num_classes: int = 10):
    """Batches of ``(float32 images in [0, 255], one-hot labels)`` in order (images only if ``y`` is None)."""
    x = np.asarray(x)
    if x.ndim == 3:
        x = x[..., None]
    images = tf.data.Dataset.from_tensor_slices(x).map(lambda im: tf.cast(im, tf.float32))
    if y is None:
        return images.batch(batch_size).prefetch(tf.data.AUTOTUNE)
    labels = np.asarray(y).astype(np.int32)
    targets = tf.data.Dataset.from_tensor_slices(labels).map(lambda t: tf.one_hot(t, num_classes))
    return tf.data.Dataset.zip(images, targets).batch(batch_size).prefetch(tf.data.AUTOTUNE)
