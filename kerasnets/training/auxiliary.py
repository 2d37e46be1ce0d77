"""Auxiliary-classifier training (GoogLeNet, Inception-v3) for any multi-output Keras model.

Szegedy et al. 2014 ("Going Deeper with Convolutions", section 5): "During
training, their loss gets added to the total loss of the network with a
discount weight (the losses of the auxiliary classifiers were weighted by
0.3). At inference time, these auxiliary networks are discarded." So

    total = loss(main) + 0.3 * loss(aux1) + 0.3 * loss(aux2)

`aux_compile_kwargs` / `compile_with_aux_losses` set this up with
Keras's per-output ``loss``/``loss_weights``; `strip_aux_heads` returns
the inference model (main output only, same layers and weights);
`replicate_targets` repeats the labels once per output for ``fit``.
"""

from __future__ import annotations

from typing import Any

import keras

from kerasnets._compat import keras_history
from kerasnets.checks import check_positive_number

__all__ = ["aux_compile_kwargs", "compile_with_aux_losses", "strip_aux_heads", "replicate_targets"]


def _output_names(model: keras.Model) -> list[str]:
    return [keras_history(t).operation.name for t in model.outputs]


def _main_index(model: keras.Model, main_output: int | str | None) -> int:
    if not isinstance(model, keras.Model) or not getattr(model, "outputs", None):
        raise TypeError(f"`model` must be a built functional keras.Model. Received: model={model!r}")
    names = _output_names(model)
    if main_output is None:
        return 0
    if isinstance(main_output, str):
        if main_output not in names:
            raise ValueError(
                f"`main_output` must be the name of one of the model's outputs ({', '.join(names)}). "
                f"Received: main_output={main_output!r}"
            )
        return names.index(main_output)
    if isinstance(main_output, int) and not isinstance(main_output, bool) and 0 <= main_output < len(names):
        return main_output
    raise ValueError(
        f"`main_output` must be an output index in [0, {len(names) - 1}] or an output name. "
        f"Received: main_output={main_output!r}"
    )


def aux_compile_kwargs(
    model: keras.Model,
    *,
    loss: Any = "sparse_categorical_crossentropy",
    aux_weight: float = 0.3,
    metrics: Any = ("accuracy",),
    main_output: int | str | None = None,
) -> dict:
    """``compile`` arguments giving the paper's weighted total loss for a multi-output model.

    Every output gets ``loss``; the main output has weight 1 and every other
    (auxiliary) output ``aux_weight``, so Keras minimises ``loss(main) +
    aux_weight * sum(loss(aux_i))``. Metrics are tracked on the main output only.

    Args:
        model: functional model with one or more outputs (a single-output
            model gets the plain loss).
        loss: loss applied to every output (name or ``keras.losses.Loss``).
        aux_weight: weight of each auxiliary loss (GoogLeNet: 0.3).
        metrics: metrics for the main output.
        main_output: index or name of the main output (default: the first).

    Returns:
        dict with ``loss``, ``loss_weights`` and ``metrics`` (lists, one entry per output).

    Raises:
        ValueError: unknown ``main_output`` or negative ``aux_weight``.

    Examples:
        >>> import keras
        >>> x = keras.Input((4,))
        >>> model = keras.Model(x, [keras.layers.Dense(3, activation="softmax")(x),
        ...                         keras.layers.Dense(3, activation="softmax")(x)])
        >>> aux_compile_kwargs(model)["loss_weights"]
        [1.0, 0.3]
    """
    main = _main_index(model, main_output)
    aux_weight = check_positive_number("aux_weight", aux_weight, allow_zero=True)
    count = len(model.outputs)
    metrics = list(metrics or [])
    return {
        "loss": [loss] * count,
        "loss_weights": [1.0 if i == main else aux_weight for i in range(count)],
        "metrics": [metrics if i == main else [] for i in range(count)],
    }


def compile_with_aux_losses(
    model: keras.Model,
    *,
    optimizer: Any = "sgd",
    loss: Any = "sparse_categorical_crossentropy",
    aux_weight: float = 0.3,
    metrics: Any = ("accuracy",),
    main_output: int | str | None = None,
    **compile_kwargs: Any,
) -> keras.Model:
    """Compile a multi-output model with ``total = loss + aux_weight * (aux1 + aux2 + ...)``.

    GoogLeNet (Szegedy et al. 2014, section 5): auxiliary losses weighted by
    0.3; Inception-v3's single auxiliary head is commonly weighted 0.4
    (TF-slim). Fit with the labels repeated per output
    (`replicate_targets`); deploy `strip_aux_heads` ``(model)``.

    Args:
        model: functional model whose outputs are (main, aux1, aux2, ...).
        optimizer: optimiser for ``compile``.
        loss: loss for every output.
        aux_weight: weight of each auxiliary loss.
        metrics: metrics of the main output.
        main_output: index or name of the main output (default: the first).
        **compile_kwargs: other ``model.compile`` arguments (``jit_compile``...).

    Returns:
        The same model, compiled.

    Examples:
        >>> import keras
        >>> x = keras.Input((4,))
        >>> model = keras.Model(x, [keras.layers.Dense(3, activation="softmax")(x),
        ...                         keras.layers.Dense(3, activation="softmax")(x)])
        >>> compile_with_aux_losses(model, optimizer="sgd").compiled
        True
    """
    kwargs = aux_compile_kwargs(model, loss=loss, aux_weight=aux_weight, metrics=metrics, main_output=main_output)
    model.compile(optimizer=optimizer, **kwargs, **compile_kwargs)
    return model


def strip_aux_heads(model: keras.Model, *, main_output: int | str | None = None, name: str | None = None) -> keras.Model:
    """The inference model: the main output only, sharing layers and weights.

    "At inference time, these auxiliary networks are discarded" (Szegedy et
    al. 2014, section 5). The auxiliary heads' layers are not part of the
    returned model, so they are neither run nor exported.

    Args:
        model: functional multi-output model.
        main_output: index or name of the output to keep (default: the first).
        name: name of the new model (default: the model's name).

    Returns:
        ``keras.Model(model.inputs, main_output)``.

    Examples:
        >>> import keras
        >>> x = keras.Input((4,))
        >>> model = keras.Model(x, [keras.layers.Dense(3)(x), keras.layers.Dense(2)(x)])
        >>> len(strip_aux_heads(model).outputs)
        1
    """
    main = _main_index(model, main_output)
    return keras.Model(model.inputs, model.outputs[main], name=name or model.name)


def replicate_targets(targets: Any, model: keras.Model) -> Any:
    """Repeat ``targets`` once per model output (the aux heads predict the same labels).

    Args:
        targets: the labels of the batch.
        model: the multi-output model.

    Returns:
        ``targets`` for a single-output model, else a tuple with one copy per output.

    Examples:
        >>> import keras
        >>> x = keras.Input((4,))
        >>> model = keras.Model(x, [keras.layers.Dense(3)(x), keras.layers.Dense(3)(x)])
        >>> len(replicate_targets([0, 1], model))
        2
    """
    count = len(model.outputs)
    return targets if count == 1 else tuple(targets for _ in range(count))
