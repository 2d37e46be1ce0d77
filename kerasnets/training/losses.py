"""Label-smoothing regularisation (Inception-v3) as a backend-agnostic Keras loss.

Szegedy et al. 2015 ("Rethinking the Inception Architecture for Computer
Vision", section 7): replace the one-hot target ``delta_{k,y}`` by

    q'(k) = (1 - eps) * delta_{k,y} + eps / K

(``u(k) = 1/K`` uniform, ``eps = 0.1``, ``K = 1000``), which gave "about 0.2%
absolute" top-1 and top-5 improvement. For one-hot targets this is exactly
``keras.losses.CategoricalCrossentropy(label_smoothing=eps)``;
[`LabelSmoothingCrossentropy`][kerasnets.training.LabelSmoothingCrossentropy] adds integer (sparse) labels, which
Keras's ``SparseCategoricalCrossentropy`` cannot smooth.
"""

from __future__ import annotations

from typing import Any

import keras
from keras import ops

from kerasnets.checks import check_bool, check_fraction

__all__ = ["smooth_labels", "LabelSmoothingCrossentropy", "label_smoothing_loss"]


def smooth_labels(labels: Any, epsilon: float = 0.1, *, num_classes: int | None = None) -> Any:
    """The smoothed target distribution ``q'(k) = (1 - eps) delta_{k,y} + eps / K``.

    Args:
        labels: integer labels ``(batch,)`` (then ``num_classes`` is required)
            or one-hot/probability targets ``(batch, K)``.
        epsilon: smoothing ``eps`` in [0, 1].
        num_classes: ``K`` for integer labels.

    Returns:
        Float tensor ``(batch, K)``.

    Raises:
        ValueError: ``epsilon`` outside [0, 1], or integer labels without ``num_classes``.

    Examples:
        >>> [round(float(v), 3) for v in smooth_labels([1], 0.1, num_classes=4)[0]]
        [0.025, 0.925, 0.025, 0.025]
    """
    epsilon = check_fraction("epsilon", epsilon, inclusive_high=True)
    labels = ops.convert_to_tensor(labels)
    if len(labels.shape) == 1 or (len(labels.shape) == 2 and labels.shape[-1] == 1 and num_classes):
        if num_classes is None:
            raise ValueError(
                "`num_classes` is required with integer labels. Received: num_classes=None"
            )
        labels = ops.one_hot(ops.cast(ops.reshape(labels, (-1,)), "int32"), int(num_classes))
    labels = ops.cast(labels, "float32")
    classes = labels.shape[-1]
    return labels * (1.0 - epsilon) + epsilon / classes


@keras.saving.register_keras_serializable(package="kerasnets")
class LabelSmoothingCrossentropy(keras.losses.Loss):
    """Cross-entropy against label-smoothed targets (Inception-v3's LSR), sparse or one-hot.

    ``loss = -sum_k q'(k) log p(k)`` with ``q'(k) = (1 - eps) delta_{k,y} +
    eps / K`` (Szegedy et al. 2015, section 7), ``K`` taken from the last
    axis of the predictions. Equivalently ``(1 - eps) H(delta, p) + eps H(u, p)``.

    Args:
        epsilon: smoothing ``eps`` in [0, 1] (0.1 in the paper).
        sparse: True for integer labels ``(batch,)`` / ``(batch, 1)``, False
            for one-hot targets ``(batch, K)``.
        from_logits: whether predictions are logits (a log-softmax is then
            used, numerically stable) or probabilities.
        reduction: Keras loss reduction.
        name: loss name.
        dtype: loss dtype.

    Examples:
        >>> import numpy as np
        >>> loss = LabelSmoothingCrossentropy(0.1, sparse=True)
        >>> round(float(loss(np.array([0]), np.array([[0.5, 0.5]]))), 4)  # -log 0.5
        0.6931
    """

    def __init__(
        self,
        epsilon: float = 0.1,
        *,
        sparse: bool = True,
        from_logits: bool = False,
        reduction: str = "sum_over_batch_size",
        name: str = "label_smoothing_crossentropy",
        dtype: Any = None,
    ) -> None:
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        self.epsilon = check_fraction("epsilon", epsilon, inclusive_high=True)
        self.sparse = check_bool("sparse", sparse)
        self.from_logits = check_bool("from_logits", from_logits)

    def call(self, y_true: Any, y_pred: Any) -> Any:
        y_pred = ops.convert_to_tensor(y_pred)
        classes = y_pred.shape[-1]
        if self.sparse:
            labels = ops.cast(ops.reshape(y_true, ops.shape(y_pred)[:-1]), "int32")
            target = ops.one_hot(labels, classes, dtype=y_pred.dtype)
        else:
            target = ops.cast(y_true, y_pred.dtype)
        target = target * (1.0 - self.epsilon) + self.epsilon / classes
        if self.from_logits:
            log_p = ops.log_softmax(y_pred, axis=-1)
        else:
            probs = y_pred / ops.sum(y_pred, axis=-1, keepdims=True)
            log_p = ops.log(ops.clip(probs, keras.config.epsilon(), 1.0))
        return -ops.sum(target * log_p, axis=-1)

    def get_config(self) -> dict:
        config = super().get_config()
        config.update({"epsilon": self.epsilon, "sparse": self.sparse, "from_logits": self.from_logits})
        return config


def label_smoothing_loss(
    epsilon: float = 0.1, *, sparse: bool = True, from_logits: bool = False
) -> keras.losses.Loss:
    """A ready loss for ``model.compile`` with Inception-v3's label smoothing.

    With ``epsilon == 0`` this is Keras's plain (sparse) categorical
    cross-entropy; otherwise [`LabelSmoothingCrossentropy`][kerasnets.training.LabelSmoothingCrossentropy].

    Args:
        epsilon: smoothing in [0, 1] (Inception-v3: 0.1).
        sparse: integer labels (True) or one-hot targets (False).
        from_logits: predictions are logits.

    Returns:
        A ``keras.losses.Loss``.

    Examples:
        >>> label_smoothing_loss(0.1).epsilon
        0.1
    """
    epsilon = check_fraction("epsilon", epsilon, inclusive_high=True)
    check_bool("sparse", sparse)
    check_bool("from_logits", from_logits)
    if epsilon == 0:
        if sparse:
            return keras.losses.SparseCategoricalCrossentropy(from_logits=from_logits)
        return keras.losses.CategoricalCrossentropy(from_logits=from_logits)
    return LabelSmoothingCrossentropy(epsilon, sparse=sparse, from_logits=from_logits)
