"""Training and deployment helpers of the Inception networks (moved here from the model modules).

- [compile_googlenet][kerasnets.training.compile_googlenet]: GoogLeNet's total loss
  ``loss + 0.3 aux1 + 0.3 aux2`` (Szegedy et al. 2014, section 5).
- [inference_model][kerasnets.training.inference_model]: the model without its
  auxiliary heads, for evaluation and export.
- [compile_inception_v3][kerasnets.training.compile_inception_v3]: Inception-v3's
  label-smoothing loss (sec. 7) plus the weighted auxiliary loss.

The old homes (``kerasnets.models.googlenet.compile_googlenet``, ...) keep working for one
release with a DeprecationWarning.
"""

from __future__ import annotations

import keras

from kerasnets.training.auxiliary import compile_with_aux_losses, strip_aux_heads
from kerasnets.training.losses import label_smoothing_loss

__all__ = ["compile_googlenet", "inference_model", "compile_inception_v3"]


def compile_googlenet(
    model: keras.Model,
    *,
    optimizer="sgd",
    loss="sparse_categorical_crossentropy",
    aux_weight=0.3,
    metrics=("accuracy",),
    **compile_kwargs,
):
    """Compile a GoogLeNet (or any model with auxiliary outputs) with the paper's total loss.

    ``total = loss(main) + 0.3 * loss(aux1) + 0.3 * loss(aux2)`` (Szegedy et al. 2014, section 5);
    a single-output model is compiled with the plain loss. Thin wrapper of
    [compile_with_aux_losses][kerasnets.training.compile_with_aux_losses]; fit with the labels
    repeated per output ([replicate_targets][kerasnets.training.replicate_targets]).

    Args:
        model: e.g. ``googlenet(aux_logits=True)``.
        optimizer: the optimiser (the paper: SGD, momentum 0.9, lr -4% every 8 epochs).
        loss: loss of every output.
        aux_weight: weight of each auxiliary loss (paper: 0.3; Inception-v3's TF-slim recipe: 0.4).
        metrics: metrics of the main output.
        **compile_kwargs: other ``model.compile`` arguments.

    Returns:
        The compiled model.

    Examples:
        >>> import kerasnets
        >>> from kerasnets.training.inception import compile_googlenet
        >>> compile_googlenet(kerasnets.googlenet(aux_logits=True, classes=10)).compiled
        True
    """
    return compile_with_aux_losses(
        model, optimizer=optimizer, loss=loss, aux_weight=aux_weight, metrics=metrics, **compile_kwargs
    )


def inference_model(model: keras.Model) -> keras.Model:
    """The model without its auxiliary heads (main output only, same layers and weights).

    "At inference time, these auxiliary networks are discarded" (Szegedy et al. 2014, section 5).
    Use it for evaluation and export of a model built with ``aux_logits=True``. Wraps
    [strip_aux_heads][kerasnets.training.strip_aux_heads].

    Examples:
        >>> import kerasnets
        >>> from kerasnets.training.inception import inference_model
        >>> len(inference_model(kerasnets.googlenet(aux_logits=True)).outputs)
        1
    """
    return strip_aux_heads(model)


def compile_inception_v3(
    model: keras.Model,
    *,
    optimizer="rmsprop",
    label_smoothing=0.1,
    aux_weight=0.4,
    from_logits=False,
    metrics=("accuracy",),
    **compile_kwargs,
):
    """Compile Inception-v3 with the paper's loss: label smoothing 0.1, plus the aux loss if present.

    ``total = LSR(main) + aux_weight * LSR(aux)`` with ``aux_weight`` 0.4 (TF-slim's recipe; the
    paper gives no weight). The paper trains with RMSProp (decay 0.9, epsilon 1.0), learning rate
    0.045 decayed by 0.94 every 2 epochs and gradient clipping at 2.0; pass such an optimiser.

    Args:
        model: an ``inception_v3`` model (one or two outputs).
        optimizer: the optimiser.
        label_smoothing: epsilon of [label_smoothing_loss][kerasnets.training.label_smoothing_loss]
            (0 for plain cross-entropy).
        aux_weight: weight of the auxiliary loss.
        from_logits: the model outputs logits (``classifier_activation=None``).
        metrics: metrics of the main output.
        **compile_kwargs: other ``model.compile`` arguments.

    Returns:
        The compiled model (sparse integer labels; repeat them per output for two outputs).

    Examples:
        >>> import kerasnets
        >>> from kerasnets.training.inception import compile_inception_v3
        >>> compile_inception_v3(kerasnets.inception_v3(classes=10)).compiled
        True
    """
    loss = label_smoothing_loss(label_smoothing, from_logits=from_logits)
    return compile_with_aux_losses(
        model, optimizer=optimizer, loss=loss, aux_weight=aux_weight, metrics=metrics, **compile_kwargs
    )
