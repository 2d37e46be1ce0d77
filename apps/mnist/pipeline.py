"""Input pipelines of the MNIST app: a resumable, seeded batch stream, on tf.data or on NumPy.

The training stream is a pure function of ``(seed, global step)``: epoch ``e``
visits the training set in the order ``numpy.random.default_rng([seed, e])
.permutation(n)`` (``n // batch_size`` full batches, the remainder dropped so
every batch has a static shape), and the augmentation of the batch at global
step ``k`` draws its random numbers from ``numpy.random.default_rng([seed, k])``
(`augment_transforms`). A run restarted after an interruption can
therefore start the stream exactly at the step where its checkpoint stopped
(`train_stream` ``start_step``), and the resumed run sees the same
batches an uninterrupted run would have seen.

Two implementations give the same batches (tested equal):

- ``"tf"``: a ``tf.data`` pipeline (parallel gather + ``ImageProjectiveTransformV3``,
  prefetch), used with the TensorFlow backend;
- ``"numpy"``: a Python iterator of NumPy batches with the same bilinear,
  zero-filled affine warp written in NumPy (`affine_numpy`), prefetched
  by one background thread; used with every other backend, so the app runs
  under ``KERAS_BACKEND=jax`` where TensorFlow cannot be imported.

`choose_pipeline` picks one (``"auto"``: ``"tf"`` with the TensorFlow
backend, ``"numpy"`` otherwise). TensorFlow is imported only by the ``"tf"`` path.
"""

from __future__ import annotations

import math
import queue
import threading

import numpy as np

__all__ = ["AugmentConfig", "PIPELINES", "choose_pipeline", "augment_transforms", "affine_numpy", "affine_tf",
           "train_stream", "eval_data", "steps_per_epoch"]

PIPELINES = ("auto", "tf", "numpy")


class AugmentConfig:
    """Light geometric augmentation: random rotation, scaling and shift per image.

    Args:
        rotation: maximum rotation in degrees (uniform in ``[-rotation, rotation]``).
        scale: maximum relative zoom (uniform in ``[1 - scale, 1 + scale]``).
        shift: maximum translation in pixels along each axis.
        hflip: also flip horizontally with probability 1/2 (right for
            Fashion-MNIST's clothes and CIFAR's objects, wrong for digits).
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


def choose_pipeline(kind: str = "auto") -> str:
    """``"tf"`` or ``"numpy"`` for ``kind`` (``"auto"``: ``"tf"`` with the TensorFlow backend, else ``"numpy"``).

    Raises:
        ValueError: an unknown ``kind``, or ``"tf"`` where TensorFlow cannot be imported.
    """
    if kind not in PIPELINES:
        raise ValueError(f"`pipeline` must be one of {', '.join(map(repr, PIPELINES))}. Received: pipeline={kind!r}")
    if kind == "auto":
        import keras

        return "tf" if keras.backend.backend() == "tensorflow" else "numpy"
    if kind == "tf":
        try:
            import tensorflow  # noqa: F401
        except ImportError as exc:
            raise ValueError(f"pipeline 'tf' needs TensorFlow, which cannot be imported ({exc}); use 'numpy' or "
                             "'auto'. Received: pipeline='tf'") from None
    return kind


def augment_transforms(seed: int, step: int, batch: int, config: AugmentConfig, height: int, width: int) -> np.ndarray:
    """The affine transforms of the batch at global ``step``: float32 ``(batch, 6)``.

    Each row ``(a0, a1, a2, b0, b1, b2)`` maps output pixel ``(x, y)`` to the input
    point ``(a0 x + a1 y + a2, b0 x + b1 y + b2)`` (the convention of
    ``ImageProjectiveTransformV3``): a rotation by up to ``config.rotation``
    degrees and a zoom by up to ``config.scale`` about the centre, a shift of up
    to ``config.shift`` pixels, and a mirror with probability 1/2 if ``config.hflip``.
    The random numbers come from ``numpy.random.default_rng([seed, step])``, so
    both pipelines and a resumed run draw the same ones.
    """
    u = np.random.default_rng([int(seed), int(step)]).uniform(-1.0, 1.0, (batch, 5))
    angle = u[:, 0] * (config.rotation * math.pi / 180.0)
    zoom = 1.0 + u[:, 1] * config.scale
    tx, ty = u[:, 2] * config.shift, u[:, 3] * config.shift
    flip = np.where(u[:, 4] > 0, -1.0, 1.0) if config.hflip else np.ones_like(zoom)
    # in = A @ (out - c) + c - t, with A = R(angle) / zoom (and a mirrored x for flips).
    cos, sin = np.cos(angle) / zoom, np.sin(angle) / zoom
    cx, cy = (width - 1.0) / 2.0, (height - 1.0) / 2.0
    a0, a1 = cos * flip, -sin
    b0, b1 = sin * flip, cos
    a2 = cx - a0 * cx - a1 * cy - tx
    b2 = cy - b0 * cx - b1 * cy - ty
    return np.stack([a0, a1, a2, b0, b1, b2], axis=1).astype(np.float32)


def affine_numpy(images: np.ndarray, transforms: np.ndarray) -> np.ndarray:
    """Warp float32 ``images`` ``(B, H, W, C)`` by ``transforms`` ``(B, 6)``: bilinear, zero outside.

    The same arithmetic as ``tf.raw_ops.ImageProjectiveTransformV3(interpolation="BILINEAR",
    fill_mode="CONSTANT", fill_value=0)``: each of the four neighbours of the
    input point that lies outside the image counts as 0.
    """
    images = np.asarray(images, np.float32)
    b, h, w, c = images.shape
    pad = 2  # neighbours up to 2 pixels outside read the zero border; farther points are clipped onto it
    hp, wp = h + 2 * pad, w + 2 * pad
    padded = np.zeros((b, hp, wp, c), np.float32)
    padded[:, pad:pad + h, pad:pad + w] = images
    flat = padded.reshape(-1, c)
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    t = np.asarray(transforms, np.float32)
    a0, a1, a2, b0, b1, b2 = (t[:, i, None, None] for i in range(6))
    x_in = a0 * xs + a1 * ys + a2
    y_in = b0 * xs + b1 * ys + b2
    x0, y0 = np.floor(x_in), np.floor(y_in)
    fx, fy = (x_in - x0)[..., None], (y_in - y0)[..., None]
    x0 = np.clip(x0, -pad, w + pad - 2).astype(np.int64) + pad
    y0 = np.clip(y0, -pad, h + pad - 2).astype(np.int64) + pad
    base = (np.arange(b, dtype=np.int64) * (hp * wp))[:, None, None] + y0 * wp + x0
    top = flat[base] * (1 - fx) + flat[base + 1] * fx
    bottom = flat[base + wp] * (1 - fx) + flat[base + wp + 1] * fx
    return top * (1 - fy) + bottom * fy


def affine_tf(images, transforms):
    """`affine_numpy` with ``ImageProjectiveTransformV3`` on ``tf`` tensors (TensorFlow only)."""
    import tensorflow as tf

    shape = tf.shape(images)
    zeros = tf.zeros_like(transforms[:, :2])
    return tf.raw_ops.ImageProjectiveTransformV3(
        images=images, transforms=tf.concat([transforms, zeros], axis=1), output_shape=shape[1:3],
        fill_value=0.0, interpolation="BILINEAR", fill_mode="CONSTANT",
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


def _batch_indices(num_examples: int, batch_size: int, epochs: int, seed: int, start_step: int) -> np.ndarray:
    spe = steps_per_epoch(num_examples, batch_size)
    rows = []
    for epoch in range(start_step // spe, epochs):
        order = np.random.default_rng([seed, epoch]).permutation(num_examples)
        rows.append(order[: spe * batch_size].reshape(spe, batch_size))
    if not rows:
        return np.zeros((0, batch_size), np.int32)
    return np.concatenate(rows)[start_step % spe:].astype(np.int32)


class _NumpyStream:
    """An iterator of NumPy ``(images, one-hot targets)`` batches, one background thread ahead."""

    def __init__(self, x, y, indices, first_step, seed, augment, num_classes, prefetch=2):
        self._x, self._y, self._indices = x, y, indices
        self._first, self._seed, self._augment, self._classes = first_step, seed, augment, num_classes
        self._queue: queue.Queue = queue.Queue(maxsize=max(1, prefetch))
        self._stop = threading.Event()
        self._thread = None

    def __len__(self) -> int:
        return len(self._indices)

    def batch(self, i: int):
        """The batch at position ``i`` of the stream (global step ``first_step + i``)."""
        idx = self._indices[i]
        images = self._x[idx].astype(np.float32)
        if self._augment is not None and self._augment.enabled:
            transforms = augment_transforms(self._seed, self._first + i, len(idx), self._augment,
                                            images.shape[1], images.shape[2])
            images = affine_numpy(images, transforms)
        targets = np.eye(self._classes, dtype=np.float32)[self._y[idx]]
        return images, targets

    def _produce(self):
        try:
            for i in range(len(self._indices)):
                item = self.batch(i)
                while not self._stop.is_set():
                    try:
                        self._queue.put(item, timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if self._stop.is_set():
                    return
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer, raised there
            self._queue.put(exc)

    def __iter__(self):
        self.close()
        self._stop = threading.Event()
        self._queue = queue.Queue(maxsize=self._queue.maxsize)
        self._thread = threading.Thread(target=self._produce, name="mnist-numpy-stream", daemon=True)
        self._thread.start()
        for _ in range(len(self._indices)):
            item = self._queue.get()
            if isinstance(item, BaseException):
                raise item
            yield item

    def close(self):
        if self._thread is not None:
            self._stop.set()
            self._thread.join(timeout=5)
            self._thread = None


def _as_nhwc(x) -> np.ndarray:
    x = np.asarray(x)
    return x[..., None] if x.ndim == 3 else x


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
    pipeline: str = "auto",
):
    """The training batches from global step ``start_step`` to the end of ``epochs``.

    Args:
        x: uint8 images ``(N, H, W)`` or ``(N, H, W, C)``.
        y: integer labels ``(N,)``.
        batch_size: global batch size.
        epochs: total epochs of the run (the stream has ``epochs * N // batch_size`` batches).
        seed: the run's seed.
        augment: optional `AugmentConfig`.
        start_step: first global step to produce (for resuming).
        num_classes: classes of the one-hot targets.
        pipeline: ``"auto"``, ``"tf"`` or ``"numpy"`` (`choose_pipeline`).

    Returns:
        ``"tf"``: a ``tf.data.Dataset``; ``"numpy"``: an iterable of NumPy
        batches (with ``len``). Either yields ``(float32 images in [0, 255] of
        shape (B, H, W, C), float32 one-hot targets (B, num_classes))``, the same
        values from both; label smoothing is the loss's job.
    """
    kind = choose_pipeline(pipeline)
    x = _as_nhwc(x)
    y = np.asarray(y).astype(np.int64)
    indices = _batch_indices(len(x), batch_size, epochs, seed, start_step)
    if kind == "numpy":
        return _NumpyStream(x, y, indices, start_step, seed, augment, num_classes)

    import tensorflow as tf

    images = tf.constant(x)
    labels = tf.constant(y.astype(np.int32))
    height, width = int(x.shape[1]), int(x.shape[2])

    def transforms_of(step):
        return augment_transforms(seed, int(step), batch_size, augment, height, width)

    def load(step, idx):
        batch = tf.cast(tf.gather(images, idx), tf.float32)
        if augment is not None and augment.enabled:
            transforms = tf.numpy_function(transforms_of, [step], tf.float32, stateful=False)
            transforms.set_shape((batch_size, 6))
            batch = affine_tf(batch, transforms)
        return batch, tf.one_hot(tf.gather(labels, idx), num_classes)

    options = tf.data.Options()
    options.deterministic = True
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    # Fixed parallelism, no autotuner: deleting an autotuned iterator when fit returns waits for
    # its tuning thread (0.1-2 s a fit for captioning under load; for MNIST no difference was
    # measured on the idle machine: docs/benchmarks.md). The batches are the same either way.
    options.autotune.enabled = False
    ds = tf.data.Dataset.zip(
        tf.data.Dataset.range(start_step, start_step + len(indices)),
        tf.data.Dataset.from_tensor_slices(indices),
    )
    return ds.map(load, num_parallel_calls=2).prefetch(2).with_options(options)


def eval_data(x, y=None, *, num_classes: int = 10, batch_size: int = 500, pipeline: str = "auto"):
    """Evaluation data in order: float32 images in [0, 255] (and one-hot labels if ``y`` is given).

    Returns:
        ``"tf"``: a batched ``tf.data.Dataset``; ``"numpy"``: ``(images, targets)``
        arrays (or the images alone) to pass with ``batch_size``.
    """
    kind = choose_pipeline(pipeline)
    x = _as_nhwc(x).astype(np.float32)
    targets = None if y is None else np.eye(num_classes, dtype=np.float32)[np.asarray(y).astype(np.int64)]
    if kind == "numpy":
        return x if targets is None else (x, targets)
    import tensorflow as tf

    ds = tf.data.Dataset.from_tensor_slices(x if targets is None else (x, targets))
    options = tf.data.Options()
    options.autotune.enabled = False
    return ds.batch(batch_size).prefetch(1).with_options(options)
