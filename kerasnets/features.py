"""Feature extraction from the registry's stage layers (timm ``feature_info`` semantics)."""

from __future__ import annotations

from typing import Any, Sequence

import keras

from kerasnets.models import get_spec

__all__ = ["feature_extractor"]


def feature_extractor(name: str, *, out_indices: Sequence[int] | None = None, **kwargs: Any) -> keras.Model:
    """A multi-output model returning the stage outputs listed in the registry.

    Args:
        name: a registered model name.
        out_indices: which stages to return (indices into the spec's ``features``);
            default: all of them.
        **kwargs: forwarded to the builder (``input_shape``, ``weights``, ...);
            ``include_top`` is always False.

    Returns:
        A ``keras.Model`` with one output per selected stage, in stage order,
        named after the stage layers. ``model.feature_info`` lists the
        [`FeatureInfo`][kerasnets.FeatureInfo] records of the outputs.

    Raises:
        ValueError: an unknown model, a model with no listed stages, or an
            index out of range.

    Examples:
        >>> import kerasnets
        >>> m = kerasnets.feature_extractor("vgg11", input_shape=(64, 64, 3))
        >>> [tuple(o.shape) for o in m.outputs][-1]
        (None, 2, 2, 512)
    """
    spec = get_spec(name)
    if not spec.features:
        raise ValueError(f"Model '{spec.name}' lists no feature stages. Received: name={name!r}")
    n = len(spec.features)
    if out_indices is None:
        out_indices = range(n)
    out_indices = list(out_indices)
    for i in out_indices:
        if isinstance(i, bool) or not isinstance(i, int) or not -n <= i < n:
            raise ValueError(
                f"`out_indices` must hold integers in [-{n}, {n - 1}] ({spec.name} has {n} stages). "
                f"Received: out_indices={out_indices!r}"
            )
    kwargs["include_top"] = False
    kwargs.pop("pooling", None)
    model = spec.builder(**kwargs)
    infos = [spec.features[i] for i in out_indices]
    outputs = [model.get_layer(info.layer).output for info in infos]
    # The builder's own input structure: one tensor for a single-input model (a list there would make
    # Keras warn at every call with one array that the structure of `inputs` does not match).
    inputs = model.inputs[0] if len(model.inputs) == 1 else model.inputs
    extractor = keras.Model(inputs, outputs, name=f"{model.name}_features")
    extractor.feature_info = infos
    return extractor
