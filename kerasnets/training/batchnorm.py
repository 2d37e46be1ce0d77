"""Re-estimating BatchNorm's inference statistics on data (backend-agnostic).

Ioffe & Szegedy 2015 ("Batch Normalization", section 3.1): at inference the
mini-batch statistics are replaced by population statistics,
``E[x] = E_B[mu_B]`` and ``Var[x] = m/(m-1) E_B[sigma_B^2]``, which in
practice are tracked by moving averages during training. After weight
averaging (SWA, Polyak averaging), fine-tuning, or a change of input
distribution, those moving averages no longer match the weights;
`recalibrate_batchnorm` recomputes them as true averages over data.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import keras
import numpy as np

from kerasnets.checks import check_positive_int

__all__ = ["batchnorm_layers", "recalibrate_batchnorm"]


def batchnorm_layers(model: keras.Model) -> list:
    """All ``keras.layers.BatchNormalization`` layers of a model, nested models included."""
    found = []
    for layer in model._flatten_layers(include_self=False, recursive=True):
        if isinstance(layer, keras.layers.BatchNormalization):
            found.append(layer)
    return found


def _batches(data: Any, batch_size: int) -> Iterable[Any]:
    if isinstance(data, np.ndarray) or (hasattr(data, "shape") and hasattr(data, "dtype")):
        for start in range(0, int(data.shape[0]), batch_size):
            yield data[start : start + batch_size]
        return
    for batch in data:
        yield batch[0] if isinstance(batch, (tuple, list)) else batch


def recalibrate_batchnorm(
    model: keras.Model,
    data: Any,
    *,
    batch_size: int = 32,
    steps: int | None = None,
) -> int:
    """Recompute every BatchNorm layer's moving mean and variance as averages over ``data``.

    For batch ``k`` of size ``n_k`` (``N_k`` examples seen before it) each
    BatchNormalization layer's momentum is set to ``N_k / (N_k + n_k)``, so
    Keras's update ``moving = momentum * moving + (1 - momentum) * batch_stat``
    leaves the *example-weighted average* of the batch statistics: the moving
    mean becomes exactly the data mean of the layer's inputs (as they are at
    that point of the pass), the moving variance the average within-batch
    variance (Keras's biased batch variance, as used in training). Only the
    BatchNorm layers run in training mode (batch statistics); dropout and
    random augmentation stay in inference mode. Frozen (``trainable=False``)
    BN layers are recalibrated too. Momenta and trainability are restored
    afterwards, also on error. The forward passes are eager calls, so the
    work costs about one inference epoch over ``data``.

    Args:
        model: the trained model.
        data: images: a NumPy array / tensor (split into ``batch_size``
            batches), or an iterable of batches (``x`` or ``(x, y, ...)``),
            e.g. a ``tf.data.Dataset``.
        batch_size: batch size for array data (larger batches give variance
            estimates closer to the population variance).
        steps: use at most this many batches.

    Returns:
        The number of examples used.

    Raises:
        ValueError: the model has no BatchNormalization layer, or ``data`` is empty.

    Examples:
        >>> import keras, numpy as np
        >>> model = keras.Sequential([keras.Input((3,)), keras.layers.BatchNormalization()])
        >>> x = np.arange(12, dtype="float32").reshape(4, 3)
        >>> recalibrate_batchnorm(model, x, batch_size=2)
        4
        >>> model.layers[0].moving_mean.numpy().tolist()
        [4.5, 5.5, 6.5]
    """
    if not isinstance(model, keras.Model):
        raise TypeError(f"`model` must be a keras.Model. Received: model={model!r}")
    batch_size = check_positive_int("batch_size", batch_size)
    if steps is not None:
        steps = check_positive_int("steps", steps)
    layers = batchnorm_layers(model)
    if not layers:
        raise ValueError(f"`model` has no BatchNormalization layer to recalibrate. Received: model={model.name!r}")

    saved = [(layer, layer.momentum, layer.trainable, layer.__dict__.get("call")) for layer in layers]
    seen = 0
    try:
        for layer in layers:
            layer.trainable = True
            original_call = type(layer).call.__get__(layer)

            def call_in_training(inputs, training=None, mask=None, _call=original_call):  # noqa: ARG001
                return _call(inputs, training=True, mask=mask)

            # Instance attribute: Layer.__call__ dispatches to self.call.
            object.__setattr__(layer, "call", call_in_training)
        for index, batch in enumerate(_batches(data, batch_size)):
            if steps is not None and index >= steps:
                break
            size = int(keras.ops.shape(batch)[0])
            if size == 0:
                continue
            momentum = seen / (seen + size)
            for layer in layers:
                layer.momentum = momentum
            model(batch, training=False)
            seen += size
    finally:
        for layer, momentum, trainable, call in saved:
            layer.momentum = momentum
            layer.trainable = trainable
            if call is None:
                layer.__dict__.pop("call", None)
            else:  # pragma: no cover - a call already patched by the user
                object.__setattr__(layer, "call", call)
    if seen == 0:
        raise ValueError("`data` must contain at least one example. Received: an empty data set")
    return seen
