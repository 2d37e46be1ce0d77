"""Every argument check of kerasnets, with one wording per check.

Messages always say what was expected, then ``Received: <arg>=<value>``.
Builders, readers and CLIs call these before creating any layer or touching
any file, so bad input fails at the edge with a message that names the value.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from typing import Any

import keras

__all__ = [
    "check_choice",
    "check_positive_int",
    "check_positive_number",
    "check_fraction",
    "check_bool",
    "check_classes",
    "check_pooling",
    "check_weights",
    "check_existing_file",
    "check_input_shape",
    "check_channels_last",
    "check_activation",
    "check_same_length",
    "ACTIVATIONS",
]

# Activation names every builder accepts (see kerasnets.blocks.apply_activation).
ACTIVATIONS = (
    "relu",
    "leaky_relu",
    "prelu",
    "elu",
    "selu",
    "gelu",
    "swish",
    "silu",
    "mish",
    "crelu",
    "maxout",
    "tanh",
    "sigmoid",
    "dynamic_relu",
)


def check_choice(arg: str, value: Any, allowed: Iterable[Any]) -> Any:
    """Check ``value`` is one of ``allowed``; return it."""
    allowed = tuple(allowed)
    if value not in allowed:
        shown = ", ".join(repr(a) for a in allowed)
        raise ValueError(f"`{arg}` must be one of {shown}. Received: {arg}={value!r}")
    return value


def check_bool(arg: str, value: Any) -> bool:
    """Check ``value`` is a bool (not a truthy string or int); return it."""
    if not isinstance(value, bool):
        raise TypeError(f"`{arg}` must be True or False. Received: {arg}={value!r}")
    return value


def check_positive_int(arg: str, value: Any, *, minimum: int = 1) -> int:
    """Check ``value`` is an int >= ``minimum``; return it."""
    if isinstance(value, bool) or not isinstance(value, (int,)) and not _is_integer_like(value):
        raise TypeError(f"`{arg}` must be an integer >= {minimum}. Received: {arg}={value!r}")
    value = int(value)
    if value < minimum:
        raise ValueError(f"`{arg}` must be an integer >= {minimum}. Received: {arg}={value!r}")
    return value


def _is_integer_like(value: Any) -> bool:
    try:
        import numpy as np

        return isinstance(value, np.integer)
    except ImportError:  # pragma: no cover - numpy is a dependency
        return False


def check_positive_number(arg: str, value: Any, *, allow_zero: bool = False) -> float:
    """Check ``value`` is a real number > 0 (or >= 0); return it as float."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) and not _is_number_like(value):
        raise TypeError(f"`{arg}` must be a number. Received: {arg}={value!r}")
    value = float(value)
    if value < 0 or (value == 0 and not allow_zero) or value != value:
        bound = ">= 0" if allow_zero else "> 0"
        raise ValueError(f"`{arg}` must be a number {bound}. Received: {arg}={value!r}")
    return value


def _is_number_like(value: Any) -> bool:
    import numpy as np

    return isinstance(value, (np.integer, np.floating))


def check_fraction(arg: str, value: Any, *, inclusive_high: bool = False) -> float:
    """Check ``0 <= value < 1`` (or ``<= 1``); return it as float."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) and not _is_number_like(value):
        raise TypeError(f"`{arg}` must be a number in [0, 1{']' if inclusive_high else ')'}. Received: {arg}={value!r}")
    value = float(value)
    high_ok = value <= 1 if inclusive_high else value < 1
    if not (value >= 0 and high_ok):
        raise ValueError(
            f"`{arg}` must be a number in [0, 1{']' if inclusive_high else ')'}. Received: {arg}={value!r}"
        )
    return value


def check_classes(classes: Any) -> int:
    """Check the classifier size."""
    return check_positive_int("classes", classes)


def check_pooling(pooling: Any) -> Any:
    """Check ``pooling`` is None, "avg" or "max"."""
    return check_choice("pooling", pooling, (None, "avg", "max"))


def check_activation(activation: Any, arg: str = "activation") -> Any:
    """Check an activation spec: a name from ACTIVATIONS, or a (name, options) pair.

    ``("maxout", {"pieces": 3})`` and ``("leaky_relu", {"negative_slope": 0.1})``
    pass options to the layer.
    """
    name = activation
    if isinstance(activation, (tuple, list)) and len(activation) == 2 and isinstance(activation[1], dict):
        name = activation[0]
    if not isinstance(name, str):
        raise TypeError(
            f"`{arg}` must be an activation name or a (name, options) pair; "
            f"allowed names: {', '.join(ACTIVATIONS)}. Received: {arg}={activation!r}"
        )
    check_choice(arg, name.lower(), ACTIVATIONS + ("linear",))
    return activation


def check_existing_file(arg: str, path: Any, *, suffixes: Sequence[str] = ()) -> str:
    """Check ``path`` names an existing file (optionally with one of ``suffixes``)."""
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"`{arg}` must be a file path. Received: {arg}={path!r}")
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"`{arg}` must name an existing file. Received: {arg}={path!r}")
    if suffixes and not any(path.endswith(s) for s in suffixes):
        raise ValueError(f"`{arg}` must be a file ending in {' or '.join(suffixes)}. Received: {arg}={path!r}")
    return path


def check_weights(weights: Any) -> str | None:
    """Check ``weights`` is None or the path of an existing ``.weights.h5`` / ``.h5`` file.

    Raises:
        ValueError: for a string that is not a file (``"imagenet"`` included):
            kerasnets ships no pretrained download.
    """
    if weights is None:
        return None
    if not isinstance(weights, (str, os.PathLike)):
        raise TypeError(f"`weights` must be None or a path to a weights file. Received: weights={weights!r}")
    path = os.fspath(weights)
    if not os.path.isfile(path):
        if path.lower() in ("imagenet", "imagenet21k", "pretrained", "default"):
            raise ValueError(
                "kerasnets has no pretrained-weight download; `weights` must be None (random "
                "initialisation) or the path of a weights file, e.g. one saved with "
                "model.save_weights('model.weights.h5') or from the matching keras.applications "
                "model (see docs/models.md, 'Weights interchange'). Received: weights="
                f"{weights!r}"
            )
        raise ValueError(
            "`weights` must be None or the path of an existing weights file (.weights.h5). "
            f"No such file. Received: weights={weights!r}"
        )
    if not (path.endswith(".h5") or path.endswith(".hdf5")):
        raise ValueError(
            "`weights` must be a Keras weights file ending in .weights.h5 (or .h5). "
            f"Received: weights={weights!r}"
        )
    return path


def check_channels_last() -> None:
    """kerasnets builds channels_last models only."""
    fmt = keras.config.image_data_format()
    if fmt != "channels_last":
        raise ValueError(
            "kerasnets models are channels_last only; call "
            "keras.config.set_image_data_format('channels_last'). "
            f"Received: image_data_format={fmt!r}"
        )


def check_input_shape(
    input_shape: Any,
    *,
    input_tensor: Any,
    default_size: int,
    min_size: int,
    channels: int,
    include_top: bool,
    fixed_size: bool,
    model_name: str,
) -> tuple:
    """Resolve and check the input shape of a builder.

    Returns:
        ``(height, width, channels)`` where height/width may be None (any size)
        when ``include_top`` does not need a fixed size and the user gave None.

    Raises:
        ValueError: wrong rank, too few pixels (names the minimum), a fixed-size
            head with a non-default size, or a non-positive dimension.
    """
    if input_shape is None and input_tensor is not None:
        shape = tuple(input_tensor.shape)
        if len(shape) == 4:
            input_shape = shape[1:]
    if input_shape is None:
        return (default_size, default_size, channels)
    if not isinstance(input_shape, (tuple, list)) or len(input_shape) != 3:
        raise ValueError(
            "`input_shape` must be a tuple (height, width, channels) (channels_last). "
            f"Received: input_shape={input_shape!r}"
        )
    height, width, chans = (None if d is None else int(d) for d in input_shape)
    if chans is None or chans < 1:
        raise ValueError(
            f"`input_shape` must have a known, positive channel count. Received: input_shape={tuple(input_shape)!r}"
        )
    for side in (height, width):
        if side is not None and side < min_size:
            raise ValueError(
                f"`input_shape` is too small for {model_name}: height and width must be at least "
                f"{min_size}. Received: input_shape={tuple(input_shape)!r}"
            )
    if include_top and fixed_size and (height, width) != (default_size, default_size):
        raise ValueError(
            f"With include_top=True, {model_name}'s fully-connected head needs input_shape "
            f"({default_size}, {default_size}, {chans}); use include_top=False (with pooling) for "
            f"other sizes. Received: input_shape={tuple(input_shape)!r}"
        )
    return (height, width, chans)


def check_same_length(arg_a: str, a: Sequence, arg_b: str, b: Sequence) -> None:
    """Check two per-stage config lists have the same length."""
    if len(a) != len(b):
        raise ValueError(
            f"`{arg_a}` and `{arg_b}` must have one entry per stage (the same length). "
            f"Received: {arg_a}={tuple(a)!r}, {arg_b}={tuple(b)!r}"
        )
